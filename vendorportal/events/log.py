"""Writing to the event log, and publishing after commit.

`record_event` is the one way services append to the log. It must run inside the
service's transaction; subscribers (live streams, webhooks, test capture) are called only
once that transaction commits, so a rolled-back change publishes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

from vendorportal.events.models import Event

Subscriber = Callable[[Event], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> Callable[[], None]:
    """Register a callable to receive each event after its transaction commits."""
    _subscribers.append(subscriber)

    def unsubscribe() -> None:
        if subscriber in _subscribers:
            _subscribers.remove(subscriber)

    return unsubscribe


def _publish(event: Event) -> None:
    for subscriber in list(_subscribers):
        subscriber(event)


def record_event(
    *,
    kind: str,
    vendor_id: int,
    summary: str,
    order_id: int | None = None,
    actor_id: int | None = None,
    revision: int | None = None,
    internal: bool = False,
    data: dict[str, Any] | None = None,
) -> Event:
    if not connection.in_atomic_block:
        raise RuntimeError("record_event must run inside the service's transaction.")
    event = Event.objects.create(
        kind=kind,
        vendor_id=vendor_id,
        order_id=order_id,
        actor_id=actor_id,
        revision=revision,
        internal=internal,
        summary=summary[:500],
        data=data or {},
    )
    transaction.on_commit(lambda: _publish(event))
    return event
