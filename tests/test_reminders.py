"""Reminders and the daily digest (issue 15): made by the schedule, each at most once,
gathered per order, sent at each login's local morning, through a real SMTP server."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.factories import make_order
from tests.smtp import parts
from vendorportal.collaboration import services as collaboration
from vendorportal.events.models import Notification, NotificationStatus
from vendorportal.events.notify import notifier, preferences, reminders
from vendorportal.purchasing import services


def _quiet() -> None:
    """Tell everyone about the setup now, so that only reminders remain to be seen."""
    notifier.run_once()


def _sent(smtp, now=None):
    smtp.inbox.clear()
    notifier.send_due(now=now)
    return smtp.inbox.messages


@pytest.mark.django_db
def test_an_unacknowledged_revision_is_reminded_once_after_the_wait(
    smtp, settings, vendor_a, buyer, alice, amos
):
    settings.ACK_REMINDER_HOURS = 48
    order = make_order(vendor=vendor_a, by=buyer)
    _quiet()
    now = timezone.now()
    assert reminders.run(now + dt.timedelta(hours=47))["acknowledge"] == 0
    later = now + dt.timedelta(hours=49)
    assert reminders.run(later)["acknowledge"] == 2  # Alice and Amos
    messages = _sent(smtp, later)
    assert sorted(str(m["To"]) for m in messages) == ["alice@acme.example", "amos@acme.example"]
    assert messages[0]["Subject"] == (
        f"Reminder: {order.number} revision 1 waits for your acknowledgement"
    )
    # Never twice: the next runs find it made.
    assert reminders.run(later + dt.timedelta(hours=1))["acknowledge"] == 0
    assert reminders.run(later + dt.timedelta(days=3))["acknowledge"] == 0
    # Acknowledged: nothing more; a new revision starts its own wait.
    collaboration.acknowledgement_record(order=order, revision=1, response="accepted", by=alice)
    assert reminders.run(later + dt.timedelta(days=4))["acknowledge"] == 0


@pytest.mark.django_db
def test_deliveries_due_soon_without_a_promise_are_gathered_per_order_once_each(
    smtp, settings, vendor_a, buyer, alice
):
    settings.DUE_REMINDER_DAYS = 3
    today = timezone.localdate()
    order = make_order(
        vendor=vendor_a,
        by=buyer,
        lines=[("10", "1"), ("20", "1"), ("30", "1")],
        due=today + dt.timedelta(days=2),
    )
    far = order.deliveries.get(line__line_number=30)
    services.order_revise(
        order=order,
        changes=[services.SetDelivery(30, 1, "due_date", today + dt.timedelta(days=10))],
        by=buyer,
    )
    confirmed = order.deliveries.get(line__line_number=20)
    collaboration.delivery_confirm(delivery=confirmed, by=alice)
    _quiet()
    now = timezone.now()
    assert reminders.run(now)["promise"] == 1
    (message,) = _sent(smtp, now)
    text, html = parts(message)
    assert "Line 10 delivery 1: 10 EA due" in text
    assert "Line 10 delivery 1: 10 EA due" in html
    assert "Line 20" not in text and "Line 30" not in text  # confirmed, not due soon
    assert reminders.run(now + dt.timedelta(hours=1))["promise"] == 0
    # The far delivery comes within the window: only it is reminded, in a new message.
    services.order_revise(
        order=order,
        changes=[services.SetDelivery(30, 1, "due_date", today + dt.timedelta(days=1))],
        by=buyer,
    )
    _quiet()
    assert reminders.run(now + dt.timedelta(hours=2))["promise"] == 1
    (message,) = _sent(smtp, now + dt.timedelta(hours=2))
    text, _ = parts(message)
    assert "Line 30 delivery 1" in text and "Line 10" not in text
    assert far.pk in [
        n.data.get("delivery") for n in Notification.objects.filter(kind="reminder_promise")
    ]


@pytest.mark.django_db
def test_overdue_deliveries_go_to_the_digest_at_the_local_morning(
    smtp, settings, vendor_a, buyer, alice
):
    settings.DIGEST_HOUR = 7
    preferences.preferences_set(user=alice, choices={}, time_zone="America/Los_Angeles", by=alice)
    today = timezone.localdate()
    order = make_order(vendor=vendor_a, by=buyer, due=today - dt.timedelta(days=4))
    delivery = order.deliveries.get()
    services.receipt_record(
        order=order,
        lines=[services.ReceiptLineInput(delivery=delivery, quantity=Decimal("40"))],
        by=buyer,
    )
    _quiet()
    smtp.inbox.clear()
    # 09:30 UTC is 01:30 in Los Angeles: the overdue reminder (a digest kind) waits.
    now = timezone.now()
    made = reminders.run(now)
    assert made["overdue"] == 1 and made["digests"] == 0
    assert _sent(smtp, now) == []
    morning = now + dt.timedelta(hours=6)  # 07:30 in Los Angeles
    assert reminders.run(morning)["digests"] == 1
    (digest,) = _sent(smtp, morning)
    text, html = parts(digest)
    assert digest["Subject"].startswith("Your day at Vendor Portal: ")
    assert "60 EA open" in text and "4 days late" in text  # 100 ordered, 40 received
    assert "60 EA open" in html
    assert digest["List-Unsubscribe"] is None  # a digest is not one kind
    # One digest per local day; its entries are marked as sent in it.
    assert reminders.run(morning + dt.timedelta(hours=1))["digests"] == 0
    waiting = Notification.objects.filter(recipient=alice, status=NotificationStatus.IN_DIGEST)
    assert not waiting.exists()


@pytest.mark.django_db
def test_buyers_are_reminded_of_proposals_waiting_for_an_answer(
    smtp, settings, vendor_a, buyer, alice
):
    settings.PROPOSAL_REMINDER_HOURS = 24
    preferences.preferences_set(user=buyer, choices={"reminder_proposals": "at_once"}, by=buyer)
    order = make_order(vendor=vendor_a, by=buyer)
    delivery = order.deliveries.get()
    collaboration.proposal_create(
        order=order,
        line=delivery.line,
        delivery=delivery,
        due_date=delivery.due_date + dt.timedelta(days=7),
        reason="Capacity",
        by=alice,
    )
    _quiet()
    later = timezone.now() + dt.timedelta(hours=25)
    assert reminders.run(later)["proposals"] == 1
    (message,) = _sent(smtp, later)
    assert str(message["To"]) == "buyer@example.com"
    assert "Capacity" in parts(message)[0]
    assert reminders.run(later + dt.timedelta(hours=1))["proposals"] == 0


@pytest.mark.django_db
def test_the_schedule_is_a_task_that_enqueues_its_next_run_and_heals_itself(vendor_a):
    DBTaskResult.objects.all().delete()
    reminders.ensure_scheduled()
    reminders.ensure_scheduled()
    waiting = DBTaskResult.objects.filter(task_path=reminders.run_schedule.module_path)
    assert waiting.filter(status="READY").count() == 1  # one chain, however often asked
    waiting.delete()
    reminders.run_schedule.call()
    (next_run,) = DBTaskResult.objects.filter(
        task_path=reminders.run_schedule.module_path, status="READY"
    )
    assert next_run.run_after is not None and next_run.run_after > timezone.now()
    assert next_run.run_after.minute % reminders.SCHEDULE_MINUTES == 0
