"""Reminders and the daily digest: what the schedule makes, each at most once.

The schedule is a django-tasks task (`run_schedule`) that runs every SCHEDULE_MINUTES and
enqueues its own next run before it returns. Why this and not cron or a separate beat
process: the task queue is already the worker's, its rows live in the database (a restart
of the worker, or of the machine, finds the next run waiting), and nothing else has to be
installed or kept running. `ensure_scheduled` (called by every notifier run) enqueues a
run when none is waiting, so the chain heals itself if a run ever failed before
re-enqueueing.

Never twice: every reminder is a row keyed by what it reminds of, per login —
`remind:ack:<order>:<revision>`, `remind:promise:<delivery>:<due date>`,
`remind:overdue:<delivery>:<due date>`, `remind:proposal:<proposal>` — under the unique
(recipient, key) constraint. One message per order gathers that order's new reminders of a
kind (the per-delivery rows are its entries). Runs are serialised by a lock on their cursor
row, so two workers do not race to make the same reminder.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_scopes import scopes_disabled
from django_tasks import task

from vendorportal.accounts.models import VENDOR_ROLES, Role
from vendorportal.collaboration.models import ChangeProposal, ProposalStatus
from vendorportal.events.models import (
    Delivery as Choice,
)
from vendorportal.events.models import (
    Follow,
    LogCursor,
    Notification,
    NotificationStatus,
)
from vendorportal.events.notify import messages
from vendorportal.events.notify.preferences import choices_for, local_zone
from vendorportal.purchasing.access import acknowledged_current_order_ids
from vendorportal.purchasing.models import (
    Delivery,
    LineStatus,
    OrderStatus,
    PurchaseOrder,
    Revision,
)

SCHEDULE_MINUTES = 15
LOCK = "reminders"


def _today(now: dt.datetime) -> dt.date:
    return timezone.localtime(now).date()


def _vendor_logins(vendor_ids: Iterable[int]) -> dict[int, list[Any]]:
    logins: dict[int, list[Any]] = defaultdict(list)
    for user in (
        get_user_model()
        .objects.filter(is_active=True, role__in=VENDOR_ROLES, vendor_id__in=set(vendor_ids))
        .order_by("id")
    ):
        logins[user.vendor_id or 0].append(user)
    return logins


def _existing(keys: Iterable[str]) -> set[tuple[int, str]]:
    return set(Notification.objects.filter(key__in=set(keys)).values_list("recipient_id", "key"))


def _make(
    kind: str,
    per_order: dict[int, list[tuple[str, dict[str, Any]]]],
    people: dict[int, list[Any]],
    vendors: dict[int, int],
    now: dt.datetime,
) -> int:
    """For each order, each person: one message row gathering the reminders (key, data)
    that person has not had yet. Returns how many messages were made."""
    all_keys = [key for items in per_order.values() for key, _ in items]
    done = _existing(all_keys)
    users = [u for group in people.values() for u in group]
    choice = choices_for({u.pk: u for u in users}.values(), kind) if users else {}
    made = 0
    for order_id, items in per_order.items():
        for user in people.get(order_id, []):
            fresh = [(key, data) for key, data in items if (user.pk, key) not in done]
            if not fresh or choice.get(user.pk) == Choice.OFF:
                continue
            at_once = choice.get(user.pk) == Choice.AT_ONCE
            parent = Notification.objects.create(
                recipient=user,
                vendor_id=vendors[order_id],
                kind=kind,
                key=f"{fresh[0][0]}:message",
                order_id=order_id,
                data={"items": [data for _, data in fresh]},
                status=NotificationStatus.PENDING if at_once else NotificationStatus.IN_DIGEST,
                next_attempt_at=now if at_once else None,
                message_id=messages.new_message_id(),
            )
            Notification.objects.bulk_create(
                Notification(
                    recipient=user,
                    vendor_id=vendors[order_id],
                    kind=kind,
                    key=key,
                    order_id=order_id,
                    data=data,
                    status=NotificationStatus.DIGESTED,  # told in the parent message
                    digest=parent,
                    message_id="",
                )
                for key, data in fresh
            )
            made += 1
    return made


def remind_acknowledgements(now: dt.datetime) -> int:
    """Revisions not acknowledged after ACK_REMINDER_HOURS: the vendor's logins."""
    cutoff = now - dt.timedelta(hours=settings.ACK_REMINDER_HOURS)
    orders = (
        PurchaseOrder.objects.filter(status=OrderStatus.ISSUED)
        .exclude(pk__in=acknowledged_current_order_ids())
        .values_list("pk", "vendor_id", "revision")
    )
    waiting = {pk: (vendor_id, revision) for pk, vendor_id, revision in orders}
    old_enough = set(
        Revision.objects.filter(order_id__in=waiting, created_at__lte=cutoff).values_list(
            "order_id", "number"
        )
    )
    per_order = {
        pk: [(f"remind:ack:{pk}:{revision}", {"revision": revision})]
        for pk, (vendor_id, revision) in waiting.items()
        if (pk, revision) in old_enough
    }
    vendors = {pk: waiting[pk][0] for pk in per_order}
    logins = _vendor_logins(vendors.values())
    people = {pk: logins[vendors[pk]] for pk in per_order}
    return _make("reminder_acknowledge", per_order, people, vendors, now)


def _delivery_reminders(kind: str, prefix: str, deliveries: Any, now: dt.datetime) -> int:
    per_order: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    vendors: dict[int, int] = {}
    for pk, order_id, vendor_id, due in deliveries.values_list(
        "pk", "order_id", "vendor_id", "due_date"
    ).order_by("order_id", "line__line_number", "delivery_number"):
        per_order[order_id].append(
            (f"remind:{prefix}:{pk}:{due.isoformat()}", {"delivery": pk, "due": due.isoformat()})
        )
        vendors[order_id] = vendor_id
    logins = _vendor_logins(vendors.values())
    people = {pk: logins[vendors[pk]] for pk in per_order}
    return _make(kind, dict(per_order), people, vendors, now)


def open_deliveries() -> Any:
    return Delivery.objects.filter(status=LineStatus.OPEN, order__status=OrderStatus.ISSUED)


def remind_promises(now: dt.datetime) -> int:
    """Deliveries due within DUE_REMINDER_DAYS without a promised date."""
    today = _today(now)
    soon = open_deliveries().filter(
        promised_date__isnull=True,
        due_date__gte=today,
        due_date__lte=today + dt.timedelta(days=settings.DUE_REMINDER_DAYS),
    )
    return _delivery_reminders("reminder_promise", "promise", soon, now)


def remind_overdue(now: dt.datetime) -> int:
    """Deliveries past their due date with quantity still open (once per due date)."""
    late = open_deliveries().filter(due_date__lt=_today(now))
    return _delivery_reminders("reminder_overdue", "overdue", late, now)


def remind_proposals(now: dt.datetime) -> int:
    """Buyers: proposals waiting for an answer after PROPOSAL_REMINDER_HOURS."""
    cutoff = now - dt.timedelta(hours=settings.PROPOSAL_REMINDER_HOURS)
    waiting = ChangeProposal.objects.filter(
        status=ProposalStatus.PENDING, created_at__lte=cutoff
    ).values_list("pk", "order_id", "vendor_id", "order__buyer_id")
    per_order: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    vendors: dict[int, int] = {}
    buyers: dict[int, set[int]] = defaultdict(set)
    for pk, order_id, vendor_id, buyer_id in waiting:
        per_order[order_id].append((f"remind:proposal:{pk}", {"proposal": pk}))
        vendors[order_id] = vendor_id
        if buyer_id:
            buyers[order_id].add(buyer_id)
    if not per_order:
        return 0
    for user_id, vendor_id, order_id in Follow.objects.filter(
        Q(vendor_id__in=set(vendors.values())) | Q(order_id__in=set(per_order))
    ).values_list("user_id", "vendor_id", "order_id"):
        for pk in per_order:
            if order_id == pk or (vendor_id and vendors[pk] == vendor_id):
                buyers[pk].add(user_id)
    found = {
        u.pk: u
        for u in get_user_model().objects.filter(
            pk__in=set().union(*buyers.values()), is_active=True, role=Role.BUYER
        )
    }
    people = {pk: [found[i] for i in sorted(ids) if i in found] for pk, ids in buyers.items()}
    return _make("reminder_proposals", dict(per_order), people, vendors, now)


def make_digests(now: dt.datetime) -> int:
    """One digest per login and local day, once its local time has passed DIGEST_HOUR,
    gathering what waits for it (rows in the digest state not yet in a digest)."""
    waiting = (
        Notification.objects.filter(status=NotificationStatus.IN_DIGEST, digest__isnull=True)
        .exclude(kind="digest")
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    users = get_user_model().objects.filter(pk__in=list(waiting), is_active=True)
    made = 0
    for user in users:
        local = now.astimezone(local_zone(user))
        if local.hour < settings.DIGEST_HOUR:
            continue
        key = f"digest:{local.date().isoformat()}"
        if Notification.objects.filter(recipient=user, key=key).exists():
            continue  # today's went out; what came since waits for tomorrow's
        digest = Notification.objects.create(
            recipient=user,
            vendor_id=user.vendor_id,
            kind="digest",
            key=key,
            status=NotificationStatus.PENDING,
            next_attempt_at=now,
            message_id=messages.new_message_id(),
        )
        Notification.objects.filter(
            recipient=user, status=NotificationStatus.IN_DIGEST, digest__isnull=True
        ).exclude(pk=digest.pk).update(digest=digest)
        made += 1
    return made


def run(now: dt.datetime | None = None) -> dict[str, int]:
    """One run of the schedule (serialised: one at a time across workers)."""
    now = now or timezone.now()
    with scopes_disabled(), transaction.atomic():
        cursor, _ = LogCursor.objects.get_or_create(name=LOCK)
        LogCursor.objects.select_for_update().get(pk=cursor.pk)
        return {
            "acknowledge": remind_acknowledgements(now),
            "promise": remind_promises(now),
            "overdue": remind_overdue(now),
            "proposals": remind_proposals(now),
            "digests": make_digests(now),
        }


@task()
def run_schedule() -> dict[str, int]:
    """The worker's schedule: reminders and digests, then the next run and the sending."""
    from vendorportal.events.notify import notifier

    try:
        made = run()
    finally:
        _enqueue_next()
    notifier.send_notifications.enqueue()
    return made


def _enqueue_next() -> None:
    now = timezone.now()
    step = dt.timedelta(minutes=SCHEDULE_MINUTES)
    # On the quarter hour, so that every worker's chain lands on the same times.
    start = now.replace(second=0, microsecond=0)
    start -= dt.timedelta(minutes=start.minute % SCHEDULE_MINUTES)
    run_schedule.using(run_after=start + step).enqueue()


def ensure_scheduled() -> None:
    """Enqueue a run when none is waiting (a new installation, or a chain that broke)."""
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(
        task_path=f"{run_schedule.module_path}", status="READY"
    ).exists()
    if not waiting:
        run_schedule.enqueue()
