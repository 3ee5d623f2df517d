"""Outbound webhooks, driven by the event log so that none is lost while a receiver (or
the worker) is down.

1. `fan_out` walks each active subscription's place in the event log forward and writes
   one delivery row per new event of its kinds (event ids follow commit order, so the walk
   never passes over an event that committed late).
2. `send_due` posts the deliveries that are due: JSON, signed, 10 s timeout. A 2xx answer
   delivers it; anything else schedules the next attempt with exponential backoff
   (WEBHOOK_RETRY_BASE_SECONDS doubling, at most WEBHOOK_RETRY_MAX_SECONDS apart) until
   WEBHOOK_MAX_ATTEMPTS, then it is marked failed (a buyer can redeliver it).
3. The background worker (django-tasks: `vendorportal db_worker`) runs both in the
   `deliver_webhooks` task, enqueued after every committed event and again when the next
   retry falls due.

Signature (header `X-VendorPortal-Signature: t=<unix seconds>,v1=<hex>`): HMAC-SHA256 with
the subscription's secret over `<t>.<raw body>`. The receiver recomputes it, compares in
constant time, and rejects a `t` older than a few minutes (docs/webhooks.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled
from django_tasks import task

from vendorportal.audit import log as audit
from vendorportal.events.models import (
    DeliveryStatus,
    Event,
    WebhookDelivery,
    WebhookSubscription,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-VendorPortal-Signature"
FAN_OUT_BATCH = 1000
SEND_BATCH = 200
TIMEOUT_SECONDS = 10


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """The receiver's check (also what docs/webhooks.md shows): right secret, fresh."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), f"t={timestamp},v1={parts['v1']}")


def payload(event: Event) -> dict[str, Any]:
    return {
        "id": event.pk,
        "kind": event.kind,
        "created_at": event.created_at,
        "vendor": {"code": event.vendor.code, "external_id": event.vendor.external_id},
        "order": (
            {"number": event.order.number, "external_id": event.order.external_id}
            if event.order
            else None
        ),
        "revision": event.revision,
        "internal": event.internal,
        "summary": event.summary,
        "data": event.data,
    }


def fan_out() -> int:
    """Write the delivery rows of events not yet fanned out; returns how many."""
    made = 0
    with scopes_disabled():
        for subscription_id in WebhookSubscription.objects.filter(active=True).values_list(
            "pk", flat=True
        ):
            with transaction.atomic():
                subscription = WebhookSubscription.objects.select_for_update().get(
                    pk=subscription_id
                )
                events = list(
                    Event.objects.filter(id__gt=subscription.last_event_id)
                    .order_by("id")
                    .values_list("id", "kind")[:FAN_OUT_BATCH]
                )
                if not events:
                    continue
                now = timezone.now()
                rows = [
                    WebhookDelivery(
                        subscription=subscription, event_id=event_id, next_attempt_at=now
                    )
                    for event_id, kind in events
                    if subscription.wants(kind)
                ]
                WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
                subscription.last_event_id = events[-1][0]
                subscription.save(update_fields=["last_event_id"])
                made += len(rows)
    return made


def _backoff(attempts: int) -> dt.timedelta:
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.WEBHOOK_RETRY_MAX_SECONDS))


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    # URLField also accepts ftp://; urllib would open file:// or ftp:// too. Only http(s).
    if urllib.parse.urlsplit(url).scheme.lower() not in {"http", "https"}:
        return None, "refused: the address must start with https:// or http://"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        # The scheme was checked above: http(s) only.
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310  # nosec B310
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, f"{type(error).__name__}: {error}"[:500]


def deliver(delivery: WebhookDelivery, *, now: dt.datetime) -> bool:
    """One attempt at one delivery (the row is locked by the caller)."""
    subscription, event = delivery.subscription, delivery.event
    body = json.dumps(payload(event), cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    status, error = _post(
        subscription.url,
        body,
        {
            "Content-Type": "application/json",
            "User-Agent": "VendorPortal-Webhooks/1",
            "X-VendorPortal-Event": event.kind,
            "X-VendorPortal-Event-Id": str(event.pk),
            "X-VendorPortal-Delivery": str(delivery.pk),
            SIGNATURE_HEADER: sign(subscription.secret, int(now.timestamp()), body),
        },
    )
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_response_status = status
    ok = status is not None and 200 <= status < 300
    if ok:
        delivery.status, delivery.delivered_at, delivery.last_error = (
            DeliveryStatus.DELIVERED,
            now,
            "",
        )
    else:
        delivery.last_error = error or f"HTTP {status}"
        if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
        else:
            delivery.next_attempt_at = now + _backoff(delivery.attempts)
    delivery.save()
    return ok


def send_due(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Attempt every delivery that is due; returns (delivered, failed attempts)."""
    now = now or timezone.now()
    delivered = failed = 0
    with scopes_disabled():
        while True:
            with transaction.atomic():
                due = list(
                    WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("subscription", "event__vendor", "event__order")
                    .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
                    .filter(subscription__active=True)
                    .order_by("event_id", "id")[:SEND_BATCH]
                )
                for delivery in due:
                    if deliver(delivery, now=now):
                        delivered += 1
                    else:
                        failed += 1
            if len(due) < SEND_BATCH:
                return delivered, failed


def next_due() -> dt.datetime | None:
    return (
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, subscription__active=True)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def run_once(*, now: dt.datetime | None = None) -> tuple[int, int]:
    fan_out()
    return send_due(now=now)


@task()
def deliver_webhooks() -> dict[str, int]:
    """The worker's job: fan out new events, send what is due, and come back when the
    next retry is due."""
    delivered, failed = run_once()
    upcoming = next_due()
    if upcoming is not None and upcoming > timezone.now():
        deliver_webhooks.using(run_after=upcoming).enqueue()
    return {"delivered": delivered, "failed_attempts": failed}


def redeliver(delivery: WebhookDelivery) -> None:
    """Manual redelivery (the back office): due now, with its attempts starting over."""
    with transaction.atomic():
        old_status = delivery.status
        delivery.status = DeliveryStatus.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = timezone.now()
        delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
        audit.record(
            action="webhook.redelivered",
            object_type="webhook_delivery",
            object_id=delivery.pk,
            object_label=f"event {delivery.event_id} to subscription {delivery.subscription_id}",
            changes={"status": [old_status, DeliveryStatus.PENDING]},
        )
        transaction.on_commit(deliver_webhooks.enqueue)


SUBSCRIPTION_FIELDS = ("name", "url", "kinds", "active")


def subscription_save(
    *, subscription: WebhookSubscription, by: Any = None, before: dict[str, Any] | None = None
) -> WebhookSubscription:
    """Save a subscription made or edited in the back office, with its audit row.

    A new one starts at the end of the event log, not at its beginning. `before` holds the
    field values as they were (for an edit); the secret is never copied to the trail.
    """
    with transaction.atomic():
        created = subscription.pk is None
        if created:
            with scopes_disabled():
                subscription.last_event_id = (
                    Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
                )
        subscription.save()
        old = before or {}
        changes = {
            name: [old.get(name), getattr(subscription, name)]
            for name in SUBSCRIPTION_FIELDS
            if created or old.get(name) != getattr(subscription, name)
        }
        audit.record(
            action="webhook.subscription_created" if created else "webhook.subscription_changed",
            actor=by,
            object_type="webhook_subscription",
            object_id=subscription.pk,
            object_label=subscription.name,
            changes=changes,
        )
    return subscription


def subscription_delete(*, subscription: WebhookSubscription, by: Any = None) -> None:
    """Remove a subscription (its delivery log goes with it), with its audit row."""
    with transaction.atomic():
        pk, name = subscription.pk, subscription.name
        subscription.delete()
        audit.record(
            action="webhook.subscription_deleted",
            actor=by,
            object_type="webhook_subscription",
            object_id=pk,
            object_label=name,
            changes={"url": [subscription.url, None]},
        )


def on_event_committed(event: Event) -> None:
    """Subscriber of the event log (events/apps.py): wake the worker when someone listens."""
    if WebhookSubscription.objects.filter(active=True).exists():
        deliver_webhooks.enqueue()
