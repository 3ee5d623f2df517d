"""The purchasing services: each rule, its message, and what it writes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from tests.factories import ItemFactory, make_order
from tests.test_purchasing_properties import fingerprint
from vendorportal.errors import DomainError
from vendorportal.events.models import Event
from vendorportal.purchasing import revisions, services
from vendorportal.purchasing.models import (
    InvoiceStatus,
    LineStatus,
    MatchStatus,
    OrderStatus,
    ReceiptKind,
)

pytestmark = pytest.mark.django_db
D = Decimal


def receive(order, line_number, quantity, by, delivery_number=1):
    delivery = order.deliveries.get(line__line_number=line_number, delivery_number=delivery_number)
    return services.receipt_record(
        order=order, by=by, lines=[services.ReceiptLineInput(delivery, D(quantity))]
    )


def refused(call, *, message, field=None):
    """Assert `call` is refused with `message` (a substring) and changes nothing at all."""
    before = fingerprint()
    with pytest.raises(DomainError) as caught:
        call()
    assert message in caught.value.message, caught.value.message
    if field is not None:
        assert caught.value.field == field
    assert fingerprint() == before
    return caught.value


class TestOrders:
    def test_draft_is_edited_without_revisions_and_issue_makes_revision_one(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer, issue=False)
        assert (order.status, order.revision) == (OrderStatus.DRAFT, 0)
        services.order_revise(
            order=order, by=buyer, changes=[services.SetLine(10, "unit_price", D("3"))]
        )
        order.refresh_from_db()
        assert order.revision == 0 and not order.revisions.exists()
        assert [e.kind for e in Event.objects.filter(order=order)] == [
            "order.created",
            "order.draft_updated",
        ]
        assert all(e.internal for e in Event.objects.filter(order=order))

        services.order_issue(order=order, by=buyer)
        order.refresh_from_db()
        assert (order.status, order.revision) == (OrderStatus.ISSUED, 1)
        first = order.revisions.get()
        assert first.snapshot == revisions.order_snapshot(order)
        assert {c["op"] for c in first.changes} == {"set", "add"}
        issued = Event.objects.filter(order=order).last()
        assert issued.kind == "order.issued" and not issued.internal and issued.revision == 1

    def test_revision_lists_each_change_with_old_and_new(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer, lines=[("100", "2.50"), ("10", "9")])
        services.order_revise(
            order=order,
            by=buyer,
            reason="Customer pulled in demand",
            changes=[
                services.SetDelivery(10, 1, "due_date", dt.date(2026, 12, 1)),
                services.SetLine(20, "unit_price", D("8.75")),
                services.SetHeader("payment_terms", "Net 45"),
            ],
        )
        order.refresh_from_db()
        assert order.revision == 2
        revision = order.revisions.get(number=2)
        assert revision.reason == "Customer pulled in demand"
        assert revision.changes == [
            {"op": "set", "target": "header", "field": "payment_terms", "old": "", "new": "Net 45"},
            {
                "op": "set",
                "target": "delivery",
                "line": 10,
                "delivery": 1,
                "field": "due_date",
                "old": "2026-12-15",
                "new": "2026-12-01",
            },
            {
                "op": "set",
                "target": "line",
                "line": 20,
                "field": "unit_price",
                "old": "9",
                "new": "8.75",
            },
        ]
        words = [revisions.describe_change(c) for c in revision.changes]
        assert words[1] == "Line 10 delivery 1 due date: 15 Dec 2026 → 1 Dec 2026"
        event = Event.objects.filter(order=order).last()
        assert event.kind == "order.revised" and event.revision == 2

    def test_standard_line_quantity_follows_its_single_delivery(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer)
        services.order_revise(
            order=order, by=buyer, changes=[services.SetLine(10, "quantity", D("120"))]
        )
        delivery = order.deliveries.get()
        assert delivery.quantity == D("120") and delivery.line.quantity == D("120")

    def test_internal_notes_change_is_not_a_revision(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer)
        services.order_revise(
            order=order, by=buyer, changes=[services.SetHeader("internal_notes", "Dual source")]
        )
        order.refresh_from_db()
        assert order.revision == 1 and order.internal_notes == "Dual source"
        event = Event.objects.filter(order=order).last()
        assert event.kind == "order.internal_updated" and event.internal

    def test_a_no_op_revision_is_refused(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer, due=dt.date(2026, 12, 15))
        refused(
            lambda: services.order_revise(
                order=order,
                by=buyer,
                changes=[services.SetDelivery(10, 1, "due_date", dt.date(2026, 12, 15))],
            ),
            message="Nothing to change",
        )

    def test_bad_values_name_the_field(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer)
        refused(
            lambda: services.order_revise(
                order=order, by=buyer, changes=[services.SetLine(10, "unit_price", "-1")]
            ),
            message="Line 10 unit price must not be negative",
            field="unit_price",
        )
        refused(
            lambda: services.order_revise(
                order=order, by=buyer, changes=[services.SetDelivery(10, 1, "due_date", "soon")]
            ),
            message="due date must be a date",
            field="due_date",
        )
        refused(
            lambda: services.order_revise(
                order=order, by=buyer, changes=[services.SetLine(30, "quantity", "5")]
            ),
            message="has no line 30",
        )

    def test_cancel_line_with_receipts_is_refused_close_cuts_to_received(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer, lines=[("100", "2"), ("50", "1")])
        receive(order, 10, "40", buyer)
        line = order.lines.get(line_number=10)
        refused(
            lambda: services.line_cancel(line=line, by=buyer),
            message="has goods received; close it instead",
        )
        services.line_close(line=line, by=buyer, reason="Rest no longer needed")
        line.refresh_from_db()
        assert line.status == LineStatus.CLOSED and line.quantity == D("40")
        order.refresh_from_db()
        assert order.status == OrderStatus.ISSUED and order.revision == 2
        services.line_close(line=order.lines.get(line_number=20), by=buyer)
        order.refresh_from_db()
        # Nothing received on line 20: closing it cancels it; the order is then closed.
        assert order.lines.get(line_number=20).status == LineStatus.CANCELLED
        assert order.status == OrderStatus.CLOSED

    def test_cancel_order_only_without_receipts(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer)
        services.order_cancel(order=order, by=buyer, reason="Project stopped")
        order.refresh_from_db()
        assert order.status == OrderStatus.CANCELLED and order.revision == 2
        assert order.revisions.get(number=2).changes[0]["field"] == "cancelled"
        other = make_order(vendor=vendor_a, by=buyer)
        receive(other, 10, "1", buyer)
        refused(lambda: services.order_cancel(order=other, by=buyer), message="has goods received")


class TestBlanketReleases:
    def test_releases_up_to_the_commitment(self, vendor_a, buyer):
        order = make_order(
            vendor=vendor_a,
            by=buyer,
            kind="blanket",
            lines=[("1000", "1.10")],
            valid_from=dt.date(2026, 1, 1),
            valid_to=dt.date(2026, 12, 31),
        )
        line = order.lines.get()
        services.release_add(line=line, quantity=D("600"), due_date=dt.date(2026, 11, 1), by=buyer)
        services.release_add(line=line, quantity=D("400"), due_date=dt.date(2026, 12, 1), by=buyer)
        order.refresh_from_db()
        assert order.revision == 3
        error = refused(
            lambda: services.release_add(
                line=line, quantity=D("1"), due_date=dt.date(2026, 12, 2), by=buyer
            ),
            message="releases would total 1,001, beyond the committed quantity of 1,000",
        )
        assert error.code == "over_commitment"

    def test_release_after_the_agreement_ends_is_refused(self, vendor_a, buyer):
        order = make_order(
            vendor=vendor_a,
            by=buyer,
            kind="blanket",
            lines=[("10", "1")],
            valid_to=dt.date(2026, 12, 31),
        )
        refused(
            lambda: services.release_add(
                line=order.lines.get(), quantity=D("1"), due_date=dt.date(2027, 1, 5), by=buyer
            ),
            message="after the agreement ends on 31 Dec 2026",
            field="due_date",
        )

    def test_committed_quantity_cannot_drop_below_releases(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer, kind="blanket", lines=[("100", "1")])
        line = order.lines.get()
        services.release_add(line=line, quantity=D("80"), due_date=dt.date(2026, 12, 1), by=buyer)
        refused(
            lambda: services.order_revise(
                order=order, by=buyer, changes=[services.SetLine(10, "quantity", D("50"))]
            ),
            message="releases would total 80, beyond the committed quantity of 50",
        )

    def test_release_on_a_standard_order_is_refused(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer)
        refused(
            lambda: services.release_add(
                line=order.lines.get(), quantity=D("1"), due_date=dt.date(2026, 12, 1), by=buyer
            ),
            message="is not a blanket order",
        )


class TestReceipts:
    @pytest.fixture(autouse=True)
    def _tolerance(self, settings):
        settings.OVER_RECEIPT_TOLERANCE_PERCENT = D("5")

    def test_partial_then_full_receipt_closes_delivery_line_and_order(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer)
        receive(order, 10, "60", buyer)
        delivery = order.deliveries.get()
        assert (delivery.received_quantity, delivery.open_quantity) == (D("60"), D("40"))
        assert delivery.status == LineStatus.OPEN
        receipt = receive(order, 10, "40", buyer)
        assert receipt.number == f"GR-{order.number}-2"
        order.refresh_from_db()
        delivery.refresh_from_db()
        assert delivery.status == LineStatus.CLOSED and delivery.open_quantity == 0
        assert order.lines.get().status == LineStatus.CLOSED
        assert order.status == OrderStatus.CLOSED and order.closed_at is not None
        assert order.revision == 1  # receipts are facts, not revisions

    def test_over_receipt_within_tolerance_only(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer)
        error = refused(
            lambda: receive(order, 10, "105.01", buyer),
            message="beyond the 100 ordered plus 5% tolerance (at most 105 more)",
            field="quantity",
        )
        assert error.code == "over_receipt"
        receive(order, 10, "105", buyer)
        assert order.deliveries.get().received_quantity == D("105")

    def test_receipt_on_draft_or_closed_delivery_is_refused(self, vendor_a, buyer):
        draft = make_order(vendor=vendor_a, by=buyer, issue=False)
        refused(lambda: receive(draft, 10, "1", buyer), message="is draft")
        order = make_order(vendor=vendor_a, by=buyer, lines=[("10", "1"), ("10", "1")])
        receive(order, 10, "10", buyer)
        refused(lambda: receive(order, 10, "1", buyer), message="is closed")

    def test_return_needs_a_reason_and_reopens(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer)
        receive(order, 10, "100", buyer)
        delivery = order.deliveries.get()
        entry = [services.ReceiptLineInput(delivery, D("15"))]
        refused(
            lambda: services.return_record(order=order, lines=entry, reason=" ", by=buyer),
            message="Reason for the return is required",
            field="reason",
        )
        refused(
            lambda: services.return_record(
                order=order,
                lines=[services.ReceiptLineInput(delivery, D("101"))],
                reason="Wrong part",
                by=buyer,
            ),
            message="only 100 was received",
        )
        ret = services.return_record(order=order, lines=entry, reason="Scratched", by=buyer)
        assert ret.kind == ReceiptKind.RETURN and ret.lines.get().quantity == D("-15")
        order.refresh_from_db()
        delivery.refresh_from_db()
        assert delivery.open_quantity == D("15") and order.status == OrderStatus.ISSUED
        event = Event.objects.filter(order=order).last()
        assert event.kind == "return.recorded" and "Scratched" in event.summary

    def test_delivery_listed_twice_is_refused(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer)
        delivery = order.deliveries.get()
        entry = services.ReceiptLineInput(delivery, D("1"))
        refused(
            lambda: services.receipt_record(order=order, lines=[entry, entry], by=buyer),
            message="listed twice",
        )

    def test_delivery_of_another_order_is_refused(self, vendor_a, vendor_b, buyer):
        mine = make_order(vendor=vendor_a, by=buyer)
        theirs = make_order(vendor=vendor_b, by=buyer)
        entry = services.ReceiptLineInput(theirs.deliveries.get(), D("1"))
        refused(
            lambda: services.receipt_record(order=mine, lines=[entry], by=buyer),
            message="not on order",
        )


class TestInvoices:
    def test_three_way_match_and_payments(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer, lines=[("100", "2.50"), ("10", "9")])
        receive(order, 10, "100", buyer)
        line10, line20 = order.lines.order_by("line_number")
        invoice = services.invoice_record(
            vendor=vendor_a,
            number="INV-1",
            by=buyer,
            lines=[
                services.InvoiceLineInput(line10, D("100"), D("2.50")),
                services.InvoiceLineInput(line20, D("10"), D("9.50")),
            ],
        )
        first, second = invoice.lines.order_by("id")
        assert first.match_status == MatchStatus.MATCHED
        # Line 20: nothing received yet and priced above the order.
        assert second.match_status == MatchStatus.QUANTITY_AND_PRICE
        assert second.price_variance == D("5")
        assert invoice.total_amount == D("345.00")

        receive(order, 20, "10", buyer)
        second.refresh_from_db()
        assert second.match_status == MatchStatus.PRICE_VARIANCE
        assert second.received_quantity == D("10")

        services.payment_record(invoice=invoice, amount=D("100"), by=buyer)
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.PARTIALLY_PAID
        assert invoice.outstanding_amount == D("245")
        refused(
            lambda: services.payment_record(invoice=invoice, amount=D("245.01"), by=buyer),
            message="exceeds the 245.00 outstanding",
            field="amount",
        )
        services.payment_record(invoice=invoice, amount=D("245"), by=buyer)
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.PAID

    def test_quantity_is_matched_cumulatively(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer)
        receive(order, 10, "60", buyer)
        line = order.lines.get()
        first = services.invoice_record(
            vendor=vendor_a,
            number="A",
            by=buyer,
            lines=[services.InvoiceLineInput(line, D("50"), D("2.5"))],
        )
        second = services.invoice_record(
            vendor=vendor_a,
            number="B",
            by=buyer,
            lines=[services.InvoiceLineInput(line, D("50"), D("2.5"))],
        )
        assert first.lines.get().match_status == MatchStatus.MATCHED
        late = second.lines.get()
        assert late.match_status == MatchStatus.QUANTITY_EXCEPTION
        assert (late.invoiced_quantity, late.received_quantity) == (D("100"), D("60"))

    def test_duplicate_number_and_foreign_line_are_refused(self, vendor_a, vendor_b, buyer):
        order = make_order(vendor=vendor_a, by=buyer)
        line = order.lines.get()
        entry = [services.InvoiceLineInput(line, D("1"), D("2.5"))]
        services.invoice_record(vendor=vendor_a, number="INV-9", by=buyer, lines=entry)
        refused(
            lambda: services.invoice_record(vendor=vendor_a, number="INV-9", by=buyer, lines=entry),
            message="already has an invoice numbered INV-9",
            field="number",
        )
        refused(
            lambda: services.invoice_record(vendor=vendor_b, number="X", by=buyer, lines=entry),
            message="is not an order line of vendor BOLT",
        )

    def test_price_change_on_the_order_rematches(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer)
        receive(order, 10, "100", buyer)
        invoice = services.invoice_record(
            vendor=vendor_a,
            number="P",
            by=buyer,
            lines=[services.InvoiceLineInput(order.lines.get(), D("100"), D("2.75"))],
        )
        assert invoice.lines.get().match_status == MatchStatus.PRICE_VARIANCE
        services.order_revise(
            order=order, by=buyer, changes=[services.SetLine(10, "unit_price", D("2.75"))]
        )
        assert invoice.lines.get().match_status == MatchStatus.MATCHED

    def test_dispute_blocks_payment_until_resolved(self, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer)
        invoice = services.invoice_record(
            vendor=vendor_a,
            number="D",
            by=buyer,
            lines=[services.InvoiceLineInput(order.lines.get(), D("10"), D("2.5"))],
        )
        services.invoice_dispute(invoice=invoice, by=buyer, reason="Not received")
        refused(
            lambda: services.payment_record(invoice=invoice, amount=D("1"), by=buyer),
            message="is disputed",
        )
        services.invoice_resolve_dispute(invoice=invoice, by=buyer)
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.OPEN


@pytest.mark.django_db(transaction=True)
class TestEventsAfterCommit:
    def test_events_publish_only_after_commit(self, vendor_a, buyer, published):
        order = make_order(vendor=vendor_a, by=buyer)
        assert published.kinds() == ["order.created", "order.issued"]
        with transaction.atomic():
            receive(order, 10, "5", buyer)
            assert published.kinds() == ["order.created", "order.issued"]
        assert published.kinds()[-1] == "receipt.recorded"

    def test_rolled_back_change_publishes_nothing(self, vendor_a, buyer, published):
        order = make_order(vendor=vendor_a, by=buyer)
        count = Event.objects.count()
        with pytest.raises(RuntimeError), transaction.atomic():
            receive(order, 10, "5", buyer)
            raise RuntimeError("the caller failed after the service succeeded")
        assert published.kinds() == ["order.created", "order.issued"]
        assert Event.objects.count() == count
        assert order.deliveries.get().received_quantity == 0

    def test_refused_change_publishes_nothing(self, vendor_a, buyer, published):
        order = make_order(vendor=vendor_a, by=buyer)
        with pytest.raises(DomainError):
            receive(order, 10, "500", buyer)
        assert published.kinds() == ["order.created", "order.issued"]


@pytest.mark.django_db(transaction=True)
def test_record_event_outside_a_transaction_is_refused(vendor_a):
    from vendorportal.events.log import record_event

    with pytest.raises(RuntimeError, match="inside the service's transaction"):
        record_event(kind="x", vendor_id=vendor_a.pk, summary="not atomic")
    assert not Event.objects.exists()


def test_items_keep_their_uom_on_lines(vendor_a, buyer):
    item = ItemFactory(part_number="CABLE-1", unit_of_measure="M", description="Cable")
    order = services.order_create(
        vendor=vendor_a,
        by=buyer,
        lines=[
            services.LineInput(
                item=item, quantity=D("250"), unit_price=D("0.4"), due_date=dt.date(2026, 12, 1)
            )
        ],
    )
    line = order.lines.get()
    assert (line.description, line.unit_of_measure) == ("Cable", "M")
    assert order.number.startswith("PO-")
