"""Property-based tests: random sequences of service calls keep the purchasing rules.

Each example runs a random program of service calls (creating, issuing, revising,
releasing, receiving, returning, closing, cancelling, invoicing, paying) against a fresh
database and checks, after every call:

- open quantity is never negative, and an open delivery still has something to receive;
- what a delivery received never goes beyond its quantity plus the tolerance;
- a blanket line's releases never exceed the committed quantity (a standard line's
  schedule always equals its quantity);
- each revision's change list replays the previous revision into the next, and the last
  one equals the order as it is in the database;
- exactly one event per successful call, and for a refused call no event and no change
  at all anywhere in the database.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from tests.factories import ItemFactory, UserFactory, VendorFactory
from vendorportal.errors import DomainError
from vendorportal.events.models import Event
from vendorportal.purchasing import revisions, services
from vendorportal.purchasing.models import (
    Delivery,
    Invoice,
    InvoiceLine,
    Item,
    Line,
    LineStatus,
    OrderKind,
    Payment,
    PurchaseOrder,
    Receipt,
    ReceiptLine,
    Revision,
    ShipNotice,
    ShipNoticeLine,
    Vendor,
)

TODAY = dt.date(2026, 11, 1)
TOLERANCE = Decimal("10")

quantities = st.one_of(
    st.integers(min_value=1, max_value=40).map(Decimal),
    st.decimals(min_value=Decimal("0.5"), max_value=Decimal("40"), places=2),
)
prices = st.integers(min_value=0, max_value=5000).map(lambda cents: Decimal(cents) / 100)
index = st.integers(min_value=0, max_value=50)
days = st.integers(min_value=-30, max_value=120)

line_specs = st.lists(
    st.tuples(quantities, prices, st.integers(min_value=1, max_value=3)), min_size=1, max_size=3
)

operations = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(["standard", "blanket"]), line_specs),
    st.tuples(st.just("issue"), index),
    st.tuples(st.just("due_date"), index, index, days),
    st.tuples(st.just("delivery_quantity"), index, index, quantities),
    st.tuples(st.just("line_quantity"), index, index, quantities),
    st.tuples(st.just("price"), index, index, prices),
    st.tuples(st.just("add_line"), index, quantities, prices),
    st.tuples(st.just("cancel_line"), index, index),
    st.tuples(st.just("add_delivery"), index, index, quantities, days),
    st.tuples(st.just("cancel_delivery"), index, index),
    st.tuples(st.just("terms"), index, st.sampled_from(["Net 30", "Net 45", "2/10 Net 30"])),
    st.tuples(st.just("release"), index, index, quantities, days),
    st.tuples(st.just("close_line"), index, index),
    st.tuples(st.just("close_order"), index),
    st.tuples(st.just("cancel_order"), index),
    st.tuples(st.just("receive"), index, index, quantities),
    st.tuples(st.just("receive"), index, index, quantities),
    st.tuples(st.just("return"), index, index, quantities),
    st.tuples(st.just("invoice"), index, index, quantities, prices),
    st.tuples(st.just("pay"), index, quantities),
)

TABLES = (
    Vendor,
    Item,
    PurchaseOrder,
    Line,
    Delivery,
    Revision,
    Receipt,
    ReceiptLine,
    ShipNotice,
    ShipNoticeLine,
    Invoice,
    InvoiceLine,
    Payment,
    Event,
)


def fingerprint() -> list[Any]:
    """Every row of every purchasing table: equal before and after a refused call."""
    return [sorted(map(repr, model.objects.values_list())) for model in TABLES]


def pick(items: list[Any], i: int) -> Any | None:
    return items[i % len(items)] if items else None


class Program:
    """Interprets one operation tuple as one service call (or none, if nothing fits)."""

    def __init__(self) -> None:
        self.vendor = VendorFactory(code="PROP")
        self.buyer = UserFactory(email="prop-buyer@example.com")
        self.item = ItemFactory(part_number="PROP-1")
        self.count = 0
        # Start from an issued standard order, an issued blanket order and a draft, so that
        # most calls of a short program have something to act on.
        self._call(
            ("create", "standard", [(Decimal(20), Decimal("2.5"), 2), (Decimal(5), Decimal(10), 1)])
        )
        self._call(
            (
                "create",
                "blanket",
                [(Decimal(100), Decimal("1.25"), 2), (Decimal(30), Decimal(4), 1)],
            )
        )
        self._call(("create", "standard", [(Decimal(8), Decimal(3), 1)]))
        self._call(("issue", 0))
        self._call(("issue", 1))

    # Targets are chosen among what exists, so most calls are meaningful.
    def orders(self) -> list[PurchaseOrder]:
        return list(PurchaseOrder.objects.order_by("pk"))

    def order(self, i: int) -> PurchaseOrder | None:
        return pick(self.orders(), i)

    def line(self, i: int, j: int) -> Line | None:
        order = self.order(i)
        return pick(list(order.lines.order_by("line_number")), j) if order else None

    def delivery(self, i: int, j: int) -> Delivery | None:
        order = self.order(i)
        return pick(list(order.deliveries.order_by("pk")), j) if order else None

    def call(self, op: tuple[Any, ...]) -> bool | None:
        """Run `op`; True if it succeeded, False if refused, None if no call was made."""
        try:
            return self._call(op)
        except DomainError:
            return False

    def _call(self, op: tuple[Any, ...]) -> bool | None:
        name, *args = op
        by = self.buyer
        if name == "create":
            kind, specs = args
            self.count += 1
            lines = []
            for qty, price, splits in specs:
                if kind == "standard":
                    part = (qty / splits).quantize(Decimal("0.01"))
                    schedule = [
                        services.DeliveryInput(part, TODAY + dt.timedelta(days=7 * n))
                        for n in range(splits - 1)
                    ]
                    schedule.append(services.DeliveryInput(qty - part * (splits - 1), TODAY))
                    schedule = [d for d in schedule if d.quantity > 0]
                else:
                    schedule = [services.DeliveryInput(qty / 2, TODAY)] if splits > 1 else []
                lines.append(
                    services.LineInput(
                        item=self.item, quantity=qty, unit_price=price, deliveries=schedule
                    )
                )
            services.order_create(
                vendor=self.vendor,
                by=by,
                kind=kind,
                number=f"PO-P{self.count}",
                lines=lines,
                order_date=TODAY,
            )
            return True
        if name == "issue":
            order = self.order(args[0])
            if order is None:
                return None
            services.order_issue(order=order, by=by)
            return True
        if name in {"due_date", "delivery_quantity", "cancel_delivery"}:
            delivery = self.delivery(args[0], args[1])
            if delivery is None:
                return None
            line_no, number = delivery.line.line_number, delivery.delivery_number
            change: services.OrderChange
            if name == "due_date":
                change = services.SetDelivery(
                    line_no, number, "due_date", TODAY + dt.timedelta(days=args[2])
                )
            elif name == "delivery_quantity":
                change = services.SetDelivery(line_no, number, "quantity", args[2])
            else:
                change = services.CancelDelivery(line_no, number)
            services.order_revise(order=delivery.order, changes=[change], by=by)
            return True
        if name in {"line_quantity", "price", "cancel_line", "close_line"}:
            line = self.line(args[0], args[1])
            if line is None:
                return None
            if name == "line_quantity":
                services.order_revise(
                    order=line.order,
                    changes=[services.SetLine(line.line_number, "quantity", args[2])],
                    by=by,
                )
            elif name == "price":
                services.order_revise(
                    order=line.order,
                    changes=[services.SetLine(line.line_number, "unit_price", args[2])],
                    by=by,
                )
            elif name == "cancel_line":
                services.line_cancel(line=line, by=by)
            else:
                services.line_close(line=line, by=by)
            return True
        if name == "add_line":
            order = self.order(args[0])
            if order is None:
                return None
            new_line = services.LineInput(
                item=self.item,
                quantity=args[1],
                unit_price=args[2],
                due_date=TODAY if order.kind == OrderKind.STANDARD else None,
            )
            services.order_revise(order=order, changes=[services.AddLine(new_line)], by=by)
            return True
        if name in {"add_delivery", "release"}:
            line = self.line(args[0], args[1])
            if line is None:
                return None
            due = TODAY + dt.timedelta(days=args[3])
            if name == "release":
                services.release_add(line=line, quantity=args[2], due_date=due, by=by)
            else:
                services.order_revise(
                    order=line.order,
                    changes=[services.AddDelivery(line.line_number, args[2], due)],
                    by=by,
                )
            return True
        if name == "terms":
            order = self.order(args[0])
            if order is None:
                return None
            services.order_revise(
                order=order, changes=[services.SetHeader("payment_terms", args[1])], by=by
            )
            return True
        if name in {"close_order", "cancel_order"}:
            order = self.order(args[0])
            if order is None:
                return None
            if name == "close_order":
                services.order_close(order=order, by=by)
            else:
                services.order_cancel(order=order, by=by)
            return True
        if name in {"receive", "return"}:
            delivery = self.delivery(args[0], args[1])
            if delivery is None:
                return None
            entry = [services.ReceiptLineInput(delivery, args[2])]
            if name == "receive":
                services.receipt_record(order=delivery.order, lines=entry, by=by)
            else:
                services.return_record(
                    order=delivery.order, lines=entry, by=by, reason="Damaged in transit"
                )
            return True
        if name == "invoice":
            line = self.line(args[0], args[1])
            if line is None:
                return None
            services.invoice_record(
                vendor=self.vendor,
                number=f"INV-{Invoice.objects.count() + 1}",
                lines=[services.InvoiceLineInput(line, args[2], args[3])],
                by=by,
                invoice_date=TODAY,
            )
            return True
        if name == "pay":
            invoice = pick(list(Invoice.objects.order_by("pk")), args[0])
            if invoice is None:
                return None
            services.payment_record(
                invoice=invoice, amount=args[1].quantize(Decimal("0.01")), by=by
            )
            return True
        raise AssertionError(f"unknown operation {name}")


def check_invariants() -> None:
    limit_factor = 1 + TOLERANCE / 100
    for delivery in Delivery.objects.select_related("line"):
        received = ReceiptLine.objects.filter(delivery=delivery).aggregate(total=Sum("quantity"))[
            "total"
        ] or Decimal(0)
        assert delivery.received_quantity == received, "received differs from the receipts"
        assert delivery.received_quantity >= 0
        assert delivery.open_quantity >= 0
        assert delivery.received_quantity <= delivery.quantity * limit_factor
        if delivery.status == LineStatus.OPEN:
            assert delivery.received_quantity < delivery.quantity
            assert delivery.line.status == LineStatus.OPEN
    for line in Line.objects.select_related("order").exclude(status=LineStatus.CANCELLED):
        scheduled = line.deliveries.exclude(status=LineStatus.CANCELLED).aggregate(
            total=Sum("quantity")
        )["total"] or Decimal(0)
        if line.order.kind == OrderKind.BLANKET:
            assert scheduled <= line.quantity, "releases beyond the committed quantity"
        else:
            assert scheduled == line.quantity, "standard schedule differs from line quantity"
    for order in PurchaseOrder.objects.all():
        history = list(order.revisions.order_by("number"))
        assert [r.number for r in history] == list(range(1, order.revision + 1))
        snapshot = revisions.empty_snapshot()
        for revision in history:
            snapshot = revisions.apply_changes(snapshot, revision.changes)
            assert snapshot == revision.snapshot, f"revision {revision.number} does not replay"
        if history:
            assert snapshot == revisions.order_snapshot(order), "last revision is not the order"
    for invoice in Invoice.objects.all():
        assert 0 <= invoice.paid_amount <= invoice.total_amount


@override_settings(OVER_RECEIPT_TOLERANCE_PERCENT=TOLERANCE)
class ServiceSequenceProperties(TestCase):
    @settings(
        max_examples=60,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(program=st.lists(operations, min_size=3, max_size=30))
    def test_random_service_sequences_keep_the_rules(self, program: list[tuple[Any, ...]]) -> None:
        interpreter = Program()
        for op in program:
            before_events = Event.objects.count()
            before = fingerprint()
            outcome = interpreter.call(op)
            if outcome is True:
                assert Event.objects.count() == before_events + 1, f"{op}: not exactly one event"
            else:
                assert fingerprint() == before, f"{op}: refused or skipped call changed data"
            check_invariants()
