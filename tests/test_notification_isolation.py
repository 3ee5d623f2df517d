"""The isolation rule in e-mail (issue 15): every message kind a supplier can get, the
reminders and the digest, built from a world with sentinels in internal fields and in
another vendor's records: none of them reaches a supplier's mailbox."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from tests.smtp import parts
from tests.test_isolation import SENTINELS, world  # noqa: F401 - the shared fixture
from vendorportal.collaboration import services as collaboration
from vendorportal.events.models import Notification
from vendorportal.events.notify import notifier, preferences, reminders
from vendorportal.events.notify.kinds import SUPPLIER_KINDS
from vendorportal.purchasing import services

pytestmark = pytest.mark.django_db
D = Decimal

# What vendor A's order holds that vendor B must never read either.
A_ONLY = ("PO-A-100", "Acme Components", "Holiday shutdown", "Shared question")


def _everything_happens(w, buyer, alice, amos) -> None:
    order = w["order"]
    services.order_revise(
        order=order,
        changes=[
            services.SetDelivery(20, 1, "due_date", dt.date(2026, 12, 21)),
            services.SetLine(10, "internal_notes", "SENTINEL-LINE-INTERNAL changed"),
        ],
        by=buyer,
        reason="Moved a week",
    )
    collaboration.proposal_reject(proposal=w["proposal"], by=buyer, note="We need it sooner")
    collaboration.comment_add(order=order, by=buyer, body="When does it ship?")
    collaboration.comment_add(
        order=order, by=buyer, body="SENTINEL-COMMENT-INTERNAL again", internal=True
    )
    services.return_record(
        order=order,
        by=buyer,
        lines=[services.ReceiptLineInput(w["delivery"], D("5"))],
        reason="Damaged",
    )
    services.invoice_dispute(invoice=w["invoice"], by=buyer, reason="Price differs")
    services.invoice_resolve_dispute(invoice=w["invoice"], by=buyer)
    services.payment_record(invoice=w["invoice"], amount=D("10"), by=buyer)
    collaboration.proposal_create(
        order=order,
        line=w["delivery"].line,
        delivery=w["delivery"],
        by=amos,
        due_date=dt.date(2027, 1, 5),
        reason="Capacity",
    )
    # A shipment announced, received short and closed by the buyer with a reason.
    notice = services.ship_notice_create(
        order=order,
        by=amos,
        lines=[services.ShipNoticeLineInput(w["delivery"], D("2"))],
        expected_date=dt.date(2026, 12, 3),
        carrier="DHL",
        tracking_number="TRACK-ME-1",
    )
    services.receipt_record(
        order=order,
        by=buyer,
        ship_notice=notice,
        lines=[services.ReceiptLineInput(w["delivery"], D("1"))],
    )
    services.ship_notice_close(notice=notice, by=buyer, reason="One damaged on arrival")
    # An invoice from the order, sent by the supplier and approved by the buyer.
    sent = services.invoice_submit(
        order=order,
        number="INV-A-PORTAL",
        by=amos,
        lines=[services.InvoiceLineInput(w["delivery"].line, D("1"), D("2.5"))],
        accept_exceptions=True,
    )
    services.invoice_approve(invoice=sent, by=buyer)


def test_no_message_to_a_supplier_holds_an_internal_field_or_another_vendors_data(
    smtp,
    settings,
    world,
    buyer,
    alice,
    amos,
    bob,
):
    settings.DUE_REMINDER_DAYS = 10
    w = world
    everything = {kind.key: "at_once" for kind in SUPPLIER_KINDS}
    preferences.preferences_set(user=alice, choices=everything, by=alice)
    preferences.preferences_set(user=amos, choices=dict.fromkeys(everything, "digest"), by=amos)
    preferences.preferences_set(user=bob, choices=everything, by=bob)
    _everything_happens(w, buyer, alice, amos)
    notifier.run_once()
    with time_machine.travel(timezone.now() + dt.timedelta(days=16), tick=False):
        made = reminders.run()
        notifier.send_due()
    assert made["acknowledge"] and made["promise"] and made["overdue"] and made["digests"]

    to_a = smtp.inbox.to("alice@acme.example") + smtp.inbox.to("amos@acme.example")
    kinds_told = set(
        Notification.objects.filter(recipient=alice, status="sent").values_list("kind", flat=True)
    )
    # Every kind a supplier can get was sent (so every one was searched).
    assert kinds_told == {kind.key for kind in SUPPLIER_KINDS}, kinds_told
    assert any(m["Subject"].startswith("Your day at Vendor Portal") for m in to_a)  # Amos
    for message in to_a:
        text, html = parts(message)
        whole = message.as_string() + text + html
        found = [s for s in SENTINELS if s in whole]
        assert not found, (message["Subject"], found)
    for message in smtp.inbox.to("bob@bolt.example"):
        whole = message.as_string() + "".join(parts(message))
        assert not [s for s in A_ONLY if s in whole], message["Subject"]
    # The buyer is told of the supplier's proposal, and never of what it did itself.
    to_buyer = ["".join(parts(m)) for m in smtp.inbox.to("buyer@example.com")]
    assert any("Capacity" in body for body in to_buyer)
    assert any("TRACK-ME-1" in body and "is on its way" in body for body in to_buyer)
    assert any(
        "One damaged on arrival" in "".join(parts(m)) for m in smtp.inbox.to("alice@acme.example")
    )
    assert not any("When does it ship?" in body for body in to_buyer)
