"""The live streams (`/portal/events`, `/buying/events`) and the live health endpoint.

A stream is a server-sent event response held open by an async view under the ASGI
server. It is authorized by the session cookie like any page: a vendor login gets its own
vendor's shared events on `/portal/events`, a buyer every event on `/buying/events`; the
other side answers 404 and an anonymous visitor 403.

Resuming: the browser's `Last-Event-ID` header (or `?after=N` on a page's first
connection, the newest event the page was rendered with) makes the stream replay every
event after N from the event table, in id order, before going live. The stream registers
with the hub *before* it replays, and skips live notices it already sent, so nothing falls
between the replay and the live feed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from vendorportal.events import live
from vendorportal.events.notices import Notice
from vendorportal.purchasing import access

# How many missed events one replay query fetches (it repeats until caught up).
REPLAY_BATCH = 500


def _resume_point(request: HttpRequest) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or ""
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def _missed(viewer: access.Viewer, after: int) -> list[Notice]:
    """The events the viewer may see with an id after `after`, oldest first."""
    try:
        with access.scope_for(viewer.user):
            events = (
                access.events(viewer)
                .filter(id__gt=after)
                .only("id", "kind", "vendor_id", "internal", "order_id", "data")
                .order_by("id")[:REPLAY_BATCH]
            )
            return [Notice.of(event) for event in events]
    finally:
        close_old_connections()
        connections["default"].close()


def _clamped(viewer: access.Viewer, after: int) -> int:
    """`after`, but never beyond the newest event the viewer may see. A Last-Event-ID from
    the future (a typo, a restored database, another installation's id) would otherwise
    make the stream skip every live event up to it, silently."""
    try:
        with access.scope_for(viewer.user):
            newest = access.events(viewer).aggregate(newest=Max("id"))["newest"] or 0
        return min(after, newest)
    finally:
        close_old_connections()
        connections["default"].close()


async def _replay(viewer: access.Viewer, after: int) -> AsyncIterator[Notice]:
    while True:
        batch = await sync_to_async(_missed, thread_sensitive=False)(viewer, after)
        for notice in batch:
            yield notice
            after = notice.id
        if len(batch) < REPLAY_BATCH:
            return


def _release_request_connection() -> None:
    """Give the request's database connection back (to the pool, on PostgreSQL).

    Django's ASGI handler runs a request's sync parts (middleware: session, user) in a
    thread kept for the whole response, and that thread keeps its connection until the
    response ends, which for a stream is when the page closes: without this, each open
    stream pinned one pooled connection, and a process held at most pool-size streams
    (bench/live_streams.py found it). The replay and the guard borrow their own.
    """
    connections["default"].close()


async def _events(
    viewer: access.Viewer, subscription: live.Subscription, hub: live.Hub, last: int | None
) -> AsyncIterator[bytes]:
    """The body of a stream: replay, then live notices and heartbeats, until the login
    ends or the client goes away (the ASGI handler then cancels this generator)."""
    heartbeat = settings.LIVE_HEARTBEAT_SECONDS
    # Thread-sensitive: runs in this request's own thread, whose connection it releases.
    await sync_to_async(_release_request_connection)()
    hub.add(subscription)  # before the replay: what commits meanwhile is queued
    try:
        # Reconnect hint for the browser, and a first byte so proxies see a live response.
        yield b"retry: 2000\n: connected\n\n"
        if last is not None:
            last = await sync_to_async(_clamped, thread_sensitive=False)(viewer, last)
            async for notice in _replay(viewer, last):
                yield notice.to_sse()
                last = notice.id
        while True:
            try:
                item = await asyncio.wait_for(subscription.queue.get(), timeout=heartbeat)
            except TimeoutError:
                yield b": heartbeat\n\n"
                continue
            if item == live.CLOSE:
                return
            if item == live.CATCH_UP:
                if last is not None:
                    async for notice in _replay(viewer, last):
                        yield notice.to_sse()
                        last = notice.id
                continue
            assert isinstance(item, Notice)  # noqa: S101 - the queue holds notices otherwise
            if last is not None and item.id <= last:
                continue  # already sent by a replay
            yield item.to_sse()
            last = item.id
    finally:
        hub.remove(subscription)


async def _stream(request: HttpRequest, *, internal: bool) -> HttpResponseBase:
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(
            "Log in to receive live updates.", status=403, content_type="text/plain"
        )
    viewer = access.viewer_for(user)
    if viewer is None or viewer.internal != internal or not request.session.session_key:
        raise Http404("No such page.")
    hub = live.hub()
    subscription = live.Subscription(
        user_id=user.pk, session_key=request.session.session_key, vendor_id=viewer.vendor_id
    )
    response = StreamingHttpResponse(
        _events(viewer, subscription, hub, _resume_point(request)),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response


@never_cache
@require_safe
async def portal_events(request: HttpRequest) -> HttpResponseBase:
    return await _stream(request, internal=False)


@never_cache
@require_safe
async def buying_events(request: HttpRequest) -> HttpResponseBase:
    return await _stream(request, internal=True)


@require_safe
async def live_health(request: HttpRequest) -> HttpResponse:
    """The live stream's state in this process: 200 when events can flow, else 503."""
    hub = live.hub()
    await hub.wait_until_listening(timeout=1.0)
    body = {"status": "ok" if hub.healthy else "degraded", **hub.health()}
    return HttpResponse(
        json.dumps(body), status=200 if hub.healthy else 503, content_type="application/json"
    )
