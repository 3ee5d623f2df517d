"""Writing to the event log, and publishing after commit: the outbox.

`record_event` is the one way services append to the log. It must run inside the
service's transaction, and nothing is published before that transaction commits, so a
rolled-back change publishes nothing:

- on PostgreSQL the event's notice is sent with `pg_notify` inside the transaction;
  PostgreSQL delivers it to every listening web process at commit, in commit order, and
  drops it on rollback;
- in-process subscribers (the live hub on SQLite, tests) are called from `on_commit`.

Event ids are in commit order on both databases (SQLite has one writer at a time; on
PostgreSQL a transaction-scoped advisory lock is taken just before the id is drawn and held
to commit). That is what lets a reconnecting stream resume with "every event after id N"
and never skip an event that committed late with a smaller id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

from vendorportal.audit import log as audit
from vendorportal.events.models import Event
from vendorportal.events.notices import CHANNEL, Notice

Subscriber = Callable[[Event], None]
_subscribers: list[Subscriber] = []

# The advisory lock that orders event ids by commit ("VP" + 1; any constant will do, as
# long as nothing else in the database uses it).
EVENT_ORDER_LOCK = 0x5650_0001


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
    actor: Any = None,
    changes: dict[str, list[Any]] | None = None,
) -> Event:
    """Append an event (and its audit row: one per service write, same transaction).

    `actor` is the User who acted (its id and e-mail go to the audit row without a
    query); `changes` is what changed as field → [old, new], for the audit trail only.
    """
    if actor is not None:
        actor_id = actor.pk
    if not connection.in_atomic_block:
        raise RuntimeError("record_event must run inside the service's transaction.")
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVENT_ORDER_LOCK])
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
    audit.record_for_event(event, actor=actor, changes=changes)
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, Notice.of(event).to_payload()])
    transaction.on_commit(lambda: _publish(event))
    return event
