"""The notifier: from the event log to the recipients' mailboxes, nothing lost, nothing
made twice.

1. `fan_out` moves the notifier's cursor (`LogCursor "notifications"`) forward through the
   event log in id order (commit order, events/log.py) and writes one row per recipient and
   event, in the same transaction as the cursor: a crash either keeps both or neither.
   Each login's choice for the kind decides the row: at once (pending), digest (kept for
   the digest) or off (no row).
2. `send_due` claims the due rows (status "sending", committed), sends each through one
   SMTP connection, and marks it sent at once. A transient refusal (4xx, a connection
   that fails) is retried with backoff; a permanent one (5xx) is recorded on the row and
   shown in the back office. A row claimed by a worker that died is claimed again after
   NOTIFY_CLAIM_SECONDS and sent with its own Message-ID, so even the message of the crash
   moment shows once in the mailbox.
3. The background worker runs both in the `send_notifications` task, enqueued after every
   committed event that can notify anyone, and again when the next retry is due.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import smtplib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection as db_connection
from django.db import connections as db_connections
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_scopes import scopes_disabled
from django_tasks import task

from vendorportal.audit import log as audit
from vendorportal.events.models import (
    Delivery,
    Event,
    LogCursor,
    Notification,
    NotificationStatus,
)
from vendorportal.events.notify import messages
from vendorportal.events.notify.kinds import NOTIFYING_EVENTS
from vendorportal.events.notify.preferences import choices_for
from vendorportal.events.notify.recipients import recipients

logger = logging.getLogger(__name__)

CURSOR = "notifications"
FAN_OUT_BATCH = 500
SEND_BATCH = 100


def fan_out() -> int:
    """Write the rows of the events not yet fanned out; returns how many rows."""
    made = 0
    with scopes_disabled():
        while True:
            with transaction.atomic():
                cursor, _ = LogCursor.objects.get_or_create(name=CURSOR)
                cursor = LogCursor.objects.select_for_update().get(pk=cursor.pk)
                events = list(
                    Event.objects.filter(id__gt=cursor.last_event_id)
                    .select_related("actor", "order")
                    .order_by("id")[:FAN_OUT_BATCH]
                )
                if not events:
                    return made
                rows = _rows_for(recipients(e for e in events if e.kind in NOTIFYING_EVENTS))
                Notification.objects.bulk_create(rows, ignore_conflicts=True)
                cursor.last_event_id = events[-1].pk
                cursor.save(update_fields=["last_event_id"])
                made += len(rows)
            if len(events) < FAN_OUT_BATCH:
                return made


def _rows_for(found: list[Any]) -> list[Notification]:
    by_kind: dict[str, list[Any]] = {}
    for recipient in found:
        by_kind.setdefault(recipient.kind, []).append(recipient.user)
    choices = {kind: choices_for(users, kind) for kind, users in by_kind.items()}
    now = timezone.now()
    rows = []
    for recipient in found:
        choice = choices[recipient.kind][recipient.user.pk]
        if choice == Delivery.OFF:
            continue
        event = recipient.event
        rows.append(
            Notification(
                recipient=recipient.user,
                vendor_id=event.vendor_id,
                kind=recipient.kind,
                key=f"event:{event.pk}",
                event=event,
                order_id=event.order_id,
                status=NotificationStatus.PENDING
                if choice == Delivery.AT_ONCE
                else NotificationStatus.IN_DIGEST,
                next_attempt_at=now if choice == Delivery.AT_ONCE else None,
                message_id=messages.new_message_id(),
            )
        )
    return rows


def _backoff(attempts: int) -> dt.timedelta:
    seconds = settings.NOTIFY_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.NOTIFY_RETRY_MAX_SECONDS))


def _permanent(error: Exception) -> bool:
    """A refusal that sending again will not change (SMTP 5xx for this message)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def _claim(now: dt.datetime) -> list[int]:
    stale = now - dt.timedelta(seconds=settings.NOTIFY_CLAIM_SECONDS)
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=NotificationStatus.PENDING, next_attempt_at__lte=now)
                | Q(status=NotificationStatus.SENDING, last_attempt_at__lt=stale)
            )
            .order_by("id")
            .values_list("id", flat=True)[:SEND_BATCH]
        )
        Notification.objects.filter(pk__in=ids).update(
            status=NotificationStatus.SENDING, last_attempt_at=now
        )
    return ids


def _skip(row: Notification, reason: str) -> None:
    row.status, row.last_error = NotificationStatus.SKIPPED, reason[:500]
    row.save(update_fields=["status", "last_error"])


def send_due(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Send every row that is due; returns (sent, failed attempts)."""
    sent = failed = 0
    with scopes_disabled():
        while True:
            at = now or timezone.now()
            ids = _claim(at)
            if not ids:
                return sent, failed
            for batch_sent, batch_failed in _send_claimed(ids, at):
                sent, failed = sent + batch_sent, failed + batch_failed
            if len(ids) < SEND_BATCH:
                return sent, failed


def _send_claimed(ids: list[int], at: dt.datetime) -> list[tuple[int, int]]:
    """Send claimed rows over NOTIFY_SMTP_CONNECTIONS connections at once: each message
    waits for four SMTP round trips, which other connections' messages overlap. (Only on
    PostgreSQL, outside a transaction: each thread has its own database connection, and
    SQLite has one writer at a time anyway.)"""
    parallel = settings.NOTIFY_SMTP_CONNECTIONS
    if parallel <= 1 or len(ids) < 2 * parallel or not _threads_can_share_the_work():
        return [_send_rows(ids, at)]
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="notify") as pool:
        return list(
            pool.map(
                _send_rows_in_thread, [ids[i::parallel] for i in range(parallel)], [at] * parallel
            )
        )


def _threads_can_share_the_work() -> bool:
    return db_connection.vendor == "postgresql" and not db_connection.in_atomic_block


def _send_rows_in_thread(ids: list[int], at: dt.datetime) -> tuple[int, int]:
    try:
        with scopes_disabled():
            return _send_rows(ids, at)
    finally:
        db_connections.close_all()  # this thread's own


def _send_rows(ids: list[int], at: dt.datetime) -> tuple[int, int]:
    sent = failed = 0
    rows = (
        Notification.objects.filter(pk__in=ids)
        .select_related("recipient", "event__actor", "order__vendor")
        .order_by("id")
    )
    # One SMTP connection for these rows (opened here, or send_messages opens and closes
    # one per message); a message that breaks it opens it again.
    connection = get_connection(fail_silently=False)
    try:
        with messages.batch():
            for row in rows:
                if _send_one(row, connection, at):
                    sent += 1
                elif row.status != NotificationStatus.SKIPPED:
                    failed += 1
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            connection.close()
    return sent, failed


def _send_one(row: Notification, connection: Any, now: dt.datetime) -> bool:
    recipient = row.recipient
    if not recipient.is_active:
        _skip(row, "The login was deactivated before the message was sent.")
        return False
    entries = None
    if row.kind == "digest":
        entries = list(
            row.entries.select_related("recipient", "event__actor", "order__vendor").order_by("id")
        )
    try:
        message = messages.render(row, entries)
    except (messages.NotForThisRecipient, LookupError) as error:
        # LookupError: the object it names is gone (or was never this vendor's).
        logger.warning("Notification %s not sent: %s", row.pk, error)
        _skip(row, f"Nothing to send: {error}")
        return False
    row.attempts += 1
    try:
        connection.open()  # a no-op while it is open
        connection.send_messages([message])
    except (TimeoutError, smtplib.SMTPException, OSError) as error:
        row.last_error = f"{type(error).__name__}: {error}"[:500]
        if _permanent(error) or row.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
            row.status = NotificationStatus.FAILED
        else:
            row.status = NotificationStatus.PENDING
            row.next_attempt_at = now + _backoff(row.attempts)
        row.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
        # A broken connection is opened again for the next message.
        with contextlib.suppress(OSError, smtplib.SMTPException):
            connection.close()
        return False
    row.status, row.sent_at, row.last_error = NotificationStatus.SENT, timezone.now(), ""
    # One UPDATE at once: the message is sent, and a crash from here on sends it no more.
    Notification.objects.filter(pk=row.pk).update(
        attempts=row.attempts, status=row.status, sent_at=row.sent_at, last_error=""
    )
    if entries:
        Notification.objects.filter(pk__in=[e.pk for e in entries]).update(
            status=NotificationStatus.DIGESTED, sent_at=row.sent_at
        )
    return True


def next_due() -> dt.datetime | None:
    with scopes_disabled():  # the worker's own bookkeeping, every vendor's
        return (
            Notification.objects.filter(status=NotificationStatus.PENDING)
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first()
        )


def run_once(*, now: dt.datetime | None = None) -> tuple[int, int]:
    fan_out()
    return send_due(now=now)


def _ensure_scheduled() -> None:
    from vendorportal.events.notify import reminders

    reminders.ensure_scheduled()


@task()
def send_notifications() -> dict[str, int]:
    """The worker's job: fan out new events, send what is due, come back for retries."""
    sent, failed = run_once()
    _ensure_scheduled()
    upcoming = next_due()
    if upcoming is not None and upcoming > timezone.now():
        send_notifications.using(run_after=upcoming).enqueue()
    return {"sent": sent, "failed_attempts": failed}


def on_event_committed(event: Event) -> None:
    """Subscriber of the event log (events/apps.py): wake the worker for what can notify."""
    if event.kind in NOTIFYING_EVENTS:
        send_notifications.enqueue()


def cursor_at_end() -> None:
    """Start the notifier at the end of the log (a new installation's demo data or an
    imported history tells nobody of the past)."""
    with scopes_disabled(), transaction.atomic():
        last = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
        LogCursor.objects.update_or_create(name=CURSOR, defaults={"last_event_id": last})


def resend(row: Notification, *, by: Any = None) -> None:
    """The back office: send a failed or skipped row again, its attempts starting over."""
    with scopes_disabled(), transaction.atomic():
        old_status = row.status
        Notification.objects.filter(pk=row.pk).update(
            status=NotificationStatus.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        audit.record(
            action="notification.resent",
            actor=by,
            vendor_id=row.vendor_id,
            object_type="notification",
            object_id=row.pk,
            object_label=f"{row.kind} to {row.recipient_id}",
            changes={"status": [old_status, NotificationStatus.PENDING.value]},
        )
        transaction.on_commit(send_notifications.enqueue)
