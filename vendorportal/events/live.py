"""The live hub: one per web process, fanning event notices out to its open streams.

Where notices come from:

- PostgreSQL: one `LISTEN` connection per process (not one per stream). Every web
  process receives every committed event, whichever process committed it. If the
  connection drops, the hub reconnects with backoff and tells every stream to catch up
  from the event table, so nothing is lost while it was away.
- SQLite: the process that commits publishes to its own hub (`on_commit`); there is no
  fan-out to other processes, which is why production runs on PostgreSQL.

A guard task re-checks every few seconds, in one query for all streams, that each
stream's session still exists, has not timed out (idle or absolute, see
`vendorportal.accounts.sessions`) and still belongs to an active user with the same
password; a stream whose login ended (logout, timeout, deactivation, password change) is
closed.

The hub only routes; streams decide nothing about visibility beyond what
`Subscription.wants` says, and pages re-fetch what a notice touches through the ordinary
views.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from vendorportal.events import log
from vendorportal.events.models import Event
from vendorportal.events.notices import CHANNEL, Notice

logger = logging.getLogger(__name__)

# What a stream's queue holds besides notices.
CATCH_UP = "catch-up"  # the listener was away: replay from the event table
CLOSE = "close"  # the login behind the stream has ended


@dataclass(eq=False)
class Subscription:
    """One open stream: who it is for and its queue of notices."""

    user_id: int
    session_key: str
    vendor_id: int | None  # None: a buyer, who sees every vendor's events
    queue: asyncio.Queue[Notice | str] = field(default_factory=asyncio.Queue)

    def wants(self, notice: Notice) -> bool:
        if self.vendor_id is None:
            return True
        return notice.vendor_id == self.vendor_id and not notice.internal


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.subscriptions: set[Subscription] = set()
        self.postgres = connections["default"].vendor == "postgresql"
        self.listener_connected = False
        self.listener_error = ""
        self.notices_received = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Any = None
        self._listening = asyncio.Event()

    # -- life cycle ---------------------------------------------------------------

    def start(self) -> None:
        if self.postgres:
            self._tasks.append(self.loop.create_task(self._listen(), name="live-listener"))
        else:
            self._unsubscribe = log.subscribe(self._publish_from_thread)
        self._tasks.append(self.loop.create_task(self._guard(), name="live-guard"))

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for subscription in list(self.subscriptions):
            subscription.queue.put_nowait(CLOSE)

    # -- streams ------------------------------------------------------------------

    def add(self, subscription: Subscription) -> None:
        self.subscriptions.add(subscription)

    def remove(self, subscription: Subscription) -> None:
        self.subscriptions.discard(subscription)

    def deliver(self, notice: Notice) -> None:
        """Route one notice to the streams that may see it (runs in the hub's loop)."""
        self.notices_received += 1
        for subscription in self.subscriptions:
            if subscription.wants(notice):
                subscription.queue.put_nowait(notice)

    def _publish_from_thread(self, event: Event) -> None:
        # Called on commit in whichever thread committed (SQLite only).
        notice = Notice.of(event)
        if self.loop.is_closed():
            return
        if _in_loop(self.loop):
            self.deliver(notice)
        else:
            self.loop.call_soon_threadsafe(self.deliver, notice)

    def health(self) -> dict[str, Any]:
        if self.postgres:
            listener = "connected" if self.listener_connected else "disconnected"
        else:
            listener = "in-process (SQLite)"
        return {
            "process": os.getpid(),
            "database": "postgresql" if self.postgres else "sqlite",
            "listener": listener,
            "listener_error": self.listener_error,
            "open_streams": len(self.subscriptions),
            "notices_received": self.notices_received,
        }

    async def wait_until_listening(self, timeout: float) -> None:
        """Give a just-started listener a moment to connect (PostgreSQL)."""
        if self.postgres and not self.listener_connected:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listening.wait(), timeout)

    @property
    def healthy(self) -> bool:
        return self.listener_connected or not self.postgres

    # -- PostgreSQL LISTEN ----------------------------------------------------------

    async def _listen(self) -> None:
        import psycopg  # PostgreSQL only

        delay = 0.1
        ever_connected = False
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(**_conninfo(), autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listener_connected, self.listener_error, delay = True, "", 0.1
                    self._listening.set()
                    if ever_connected:
                        # Events may have committed while no one listened: every stream
                        # replays from the event table what it has not sent yet.
                        self._broadcast(CATCH_UP)
                    ever_connected = True
                    async for message in conn.notifies():
                        try:
                            self.deliver(Notice.from_payload(message.payload))
                        except (ValueError, KeyError, TypeError):
                            logger.exception("Ignoring a malformed notice: %r", message.payload)
            except asyncio.CancelledError:
                self.listener_connected = False
                raise
            except Exception as error:  # any failure: reconnect, never die
                self.listener_error = f"{type(error).__name__}: {error}"[:300]
                logger.warning("Live listener lost its connection (%s); retrying.", error)
            self.listener_connected = False
            self._listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _broadcast(self, item: str) -> None:
        for subscription in self.subscriptions:
            subscription.queue.put_nowait(item)

    # -- the guard ------------------------------------------------------------------

    async def _guard(self) -> None:
        while True:
            await asyncio.sleep(settings.LIVE_AUTH_CHECK_SECONDS)
            subscriptions = list(self.subscriptions)
            if not subscriptions:
                continue
            try:
                valid = await sync_to_async(_valid_logins, thread_sensitive=False)(
                    {(s.session_key, s.user_id) for s in subscriptions}
                )
            except Exception:  # a failed check closes nothing; retry later
                logger.exception("Checking the logins of open streams failed.")
                continue
            for subscription in subscriptions:
                if (subscription.session_key, subscription.user_id) not in valid:
                    subscription.queue.put_nowait(CLOSE)


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _conninfo() -> dict[str, Any]:
    """Connection parameters of the default database, for the listening connection."""
    params = dict(connections["default"].settings_dict)
    info = {
        "dbname": params.get("NAME") or "postgres",
        "user": params.get("USER") or None,
        "password": params.get("PASSWORD") or None,
        "host": params.get("HOST") or None,
        "port": params.get("PORT") or None,
    }
    options = {
        key: value
        for key, value in (params.get("OPTIONS") or {}).items()
        if key not in {"pool", "server_side_binding", "isolation_level", "assume_role"}
    }
    return {key: value for key, value in {**info, **options}.items() if value is not None}


def _valid_logins(pairs: Iterable[tuple[str, int]]) -> set[tuple[str, int]]:
    """The (session key, user id) pairs whose session is still that user's, logged in
    with the current password, and whose user is still active."""
    from vendorportal.accounts.models import User
    from vendorportal.accounts.sessions import expired

    pairs = set(pairs)
    try:
        store_class = import_module(settings.SESSION_ENGINE).SessionStore
        users = {
            user.pk: user
            for user in User.objects.filter(pk__in={uid for _, uid in pairs}, is_active=True)
        }
        if hasattr(store_class, "get_model_class"):  # database-backed: one query for all
            model = store_class.get_model_class()
            found = {
                row.session_key: row.get_decoded()
                for row in model.objects.filter(
                    session_key__in={key for key, _ in pairs}, expire_date__gt=timezone.now()
                )
            }
        else:
            found = {key: store_class(session_key=key).load() for key, _ in pairs}
        valid = set()
        for key, user_id in pairs:
            data, user = found.get(key) or {}, users.get(user_id)
            if (
                user is not None
                and str(data.get("_auth_user_id")) == str(user_id)
                and not expired(data)
                and constant_time_compare(
                    data.get("_auth_user_hash", ""), user.get_session_auth_hash()
                )
            ):
                valid.add((key, user_id))
        return valid
    finally:
        close_old_connections()
        connections["default"].close()


# -- the process's hub ------------------------------------------------------------------

_hub: Hub | None = None
_hub_lock = threading.Lock()


def hub() -> Hub:
    """The hub of the running event loop, started on first use."""
    global _hub
    loop = asyncio.get_running_loop()
    with _hub_lock:
        if _hub is None or _hub.loop is not loop:
            if _hub is not None and _hub._unsubscribe is not None:
                _hub._unsubscribe()  # a hub of a loop that has ended (tests)
            _hub = Hub(loop)
            _hub.start()
        return _hub


def current_hub() -> Hub | None:
    return _hub
