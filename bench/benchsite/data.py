"""Load the open-lines bench data into an empty, migrated database; print a JSON summary.

    DJANGO_SETTINGS_MODULE=bench.benchsite.settings DATABASE_URL=... \
    BENCH_EMAIL=... BENCH_PASSWORD=... python -m bench.benchsite.data

Bench data, so it bypasses the services and writes rows with bulk_create in one
transaction, but keeps them consistent the way the services would:

- 200 vendors and exactly 100,000 deliveries in total; every line, delivery, revision,
  acknowledgement, proposal, receipt and event carries its parent order's vendor;
- standard orders only: line quantity = sum of its deliveries' quantities;
- issued and closed orders have revision 1 ("Issued", with its snapshot) and an
  `order.issued` event; some of the target vendor's orders have a revision 2 (one delivery
  moved), with the changes between the two snapshots; received quantities are backed by
  receipts; closed orders are received in full;
- the target vendor (V0001, with one vendor_user login) has exactly 500 open deliveries on
  100 issued orders of 5 lines (one of them, the "big" order, with 10 deliveries per line =
  50 deliveries, for the order page), plus received deliveries, closed orders and drafts
  that the open-lines page must leave out; acknowledgement states cover acknowledged, not
  acknowledged (an older revision acknowledged) and never acknowledged, and 10 deliveries
  have a pending change proposal.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections import defaultdict
from decimal import Decimal
from typing import Any

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_scopes import scopes_disabled  # noqa: E402

from vendorportal.accounts.models import Role, User  # noqa: E402
from vendorportal.collaboration.models import (  # noqa: E402
    Acknowledgement,
    AcknowledgementResponse,
    ChangeProposal,
    Comment,
    ProposalStatus,
)
from vendorportal.events.models import Event  # noqa: E402
from vendorportal.purchasing import revisions  # noqa: E402
from vendorportal.purchasing.models import (  # noqa: E402
    Delivery,
    Item,
    Line,
    LineStatus,
    OrderKind,
    OrderStatus,
    PurchaseOrder,
    Receipt,
    ReceiptLine,
    Revision,
    Vendor,
)

VENDORS = 200
TOTAL_DELIVERIES = 100_000
ITEMS = 5_000
TARGET_OPEN = 500
TARGET_ISSUED_ORDERS = 100
LINES_PER_ORDER = 5
BIG_ORDER_DELIVERIES_PER_LINE = 10  # 5 x 10 = 50 deliveries on the order page
TARGET_CLOSED_ORDERS = 20
TARGET_DRAFT_ORDERS = 5
OTHER_DELIVERIES_PER_LINE = 2
BATCH = 2_000

TODAY = timezone.localdate()
NOW = timezone.now()


def _price(n: int) -> Decimal:
    # Mostly cents, every 7th with 4 places (the formatter's slow path), never zero.
    cents = Decimal(100 + (n * 7919) % 90_000) / 100
    return cents + Decimal("0.0025") if n % 7 == 0 else cents


def _due(n: int) -> dt.date:
    # Between 30 days overdue and 150 days ahead.
    return TODAY + dt.timedelta(days=(n * 37) % 180 - 30)


class Plan:
    """Unsaved rows, built in memory, then bulk-inserted parents first."""

    def __init__(self) -> None:
        self.orders: list[PurchaseOrder] = []
        self.lines: dict[int, list[Line]] = defaultdict(list)  # id(order) -> its lines
        self.deliveries: dict[int, list[Delivery]] = defaultdict(list)  # id(line) -> its deliveries
        self.order_count = 0
        self.line_count = 0
        self.delivery_count = 0

    def order(self, vendor: Vendor, status: str, buyer: User) -> PurchaseOrder:
        self.order_count += 1
        n = self.order_count
        order = PurchaseOrder(
            number=f"PO{n:06d}",
            vendor=vendor,
            buyer=buyer,
            kind=OrderKind.STANDARD,
            status=status,
            revision=0 if status == OrderStatus.DRAFT else 1,
            order_date=TODAY - dt.timedelta(days=60 + n % 200),
            currency="USD" if n % 10 else "EUR",
            payment_terms="Net 30",
            incoterms="FCA" if n % 3 else "",
            ship_to="Plant 1\nDock 3",
            notes_to_vendor="Please quote the PO number on every packing slip.",
            internal_notes="BENCH-INTERNAL-SENTINEL",
            issued_at=None if status == OrderStatus.DRAFT else NOW - dt.timedelta(days=30),
            closed_at=NOW - dt.timedelta(days=2) if status == OrderStatus.CLOSED else None,
        )
        self.orders.append(order)
        return order

    def line(self, order: PurchaseOrder, number: int, items: list[Item]) -> Line:
        self.line_count += 1
        n = self.line_count
        item = items[(n * 7919) % len(items)]
        line = Line(
            order=order,
            vendor=order.vendor,
            line_number=number * 10,
            item=item,
            description=f"{item.description} <per drawing {n % 97}> & spec",
            vendor_part_number=f"VP-{n:07d}",
            unit_of_measure=item.unit_of_measure,
            quantity=Decimal(0),  # the sum of its deliveries, set below
            unit_price=_price(n),
            status=LineStatus.CLOSED if order.status == OrderStatus.CLOSED else LineStatus.OPEN,
        )
        self.lines[id(order)].append(line)
        return line

    def delivery(
        self, line: Line, number: int, *, received_fraction: Decimal = Decimal(0)
    ) -> Delivery:
        self.delivery_count += 1
        n = self.delivery_count
        quantity = Decimal(10 + n % 240)
        received = (quantity * received_fraction).quantize(Decimal(1))
        closed = received >= quantity
        delivery = Delivery(
            order=line.order,
            line=line,
            vendor=line.vendor,
            delivery_number=number,
            quantity=quantity,
            due_date=_due(n),
            promised_date=_due(n) + dt.timedelta(days=n % 5) if n % 2 else None,
            received_quantity=received,
            status=LineStatus.CLOSED if closed else LineStatus.OPEN,
        )
        line.quantity += quantity
        self.deliveries[id(line)].append(delivery)
        return delivery


def build(email: str, password: str) -> dict[str, Any]:
    started = time.perf_counter()
    vendors = Vendor.objects.bulk_create(
        [
            Vendor(
                code=f"V{i:04d}",
                name=f"Supplier {i} & Sons <GmbH>",
                contact_name=f"Contact {i}",
                contact_email=f"sales@v{i:04d}.bench.example",
                internal_notes="BENCH-INTERNAL-SENTINEL",
                rating=1 + i % 5,
            )
            for i in range(1, VENDORS + 1)
        ]
    )
    target = vendors[0]
    items = Item.objects.bulk_create(
        [
            Item(
                part_number=f"P-{i:05d}",
                description=f"Bracket {i}, steel, zinc plated",
                unit_of_measure="EA" if i % 4 else "KG",
                standard_cost=Decimal("1.2345"),
            )
            for i in range(1, ITEMS + 1)
        ],
        batch_size=BATCH,
    )
    buyer = User(username="buyer@bench.example", email="buyer@bench.example", role=Role.BUYER)
    buyer.set_unusable_password()
    vendor_user = User(username=email, email=email, role=Role.VENDOR_USER, vendor=target)
    vendor_user.set_password(password)
    buyer.save()
    vendor_user.save()

    plan = Plan()
    # -- the target vendor ---------------------------------------------------------------
    target_issued = [
        plan.order(target, OrderStatus.ISSUED, buyer) for _ in range(TARGET_ISSUED_ORDERS)
    ]
    big = target_issued[0]
    small_deliveries = 0
    for order in target_issued:
        for ln in range(1, LINES_PER_ORDER + 1):
            line = plan.line(order, ln, items)
            if order is big:
                for dn in range(1, BIG_ORDER_DELIVERIES_PER_LINE + 1):
                    partly = Decimal("0.4") if dn == 1 else Decimal(0)
                    plan.delivery(line, dn, received_fraction=partly)
                continue
            small_deliveries += 1
            # Every 11th is received in full (closed): 495 - 45 = 450 open; every 7th
            # partly received.
            if small_deliveries % 11 == 0:
                fraction = Decimal(1)
            elif small_deliveries % 7 == 0:
                fraction = Decimal("0.4")
            else:
                fraction = Decimal(0)
            plan.delivery(line, 1, received_fraction=fraction)
    for _ in range(TARGET_CLOSED_ORDERS):
        order = plan.order(target, OrderStatus.CLOSED, buyer)
        for ln in range(1, LINES_PER_ORDER + 1):
            plan.delivery(plan.line(order, ln, items), 1, received_fraction=Decimal(1))
    for _ in range(TARGET_DRAFT_ORDERS):
        order = plan.order(target, OrderStatus.DRAFT, buyer)
        for ln in range(1, LINES_PER_ORDER + 1):
            plan.delivery(plan.line(order, ln, items), 1)
    target_deliveries = plan.delivery_count

    # -- the other 199 vendors share the rest ----------------------------------------------
    per_order = LINES_PER_ORDER * OTHER_DELIVERIES_PER_LINE
    remaining = TOTAL_DELIVERIES - target_deliveries
    k = 0
    while remaining > 0:
        vendor = vendors[1 + k % (VENDORS - 1)]
        status = (
            OrderStatus.DRAFT if k % 20 == 0 else OrderStatus.CLOSED if k % 20 == 1 else
            OrderStatus.ISSUED
        )  # fmt: skip
        order = plan.order(vendor, status, buyer)
        fraction = Decimal(1) if status == OrderStatus.CLOSED else Decimal(0)
        n_deliveries = min(per_order, remaining)
        ln = 0
        while n_deliveries > 0:
            ln += 1
            line = plan.line(order, ln, items)
            for dn in range(1, min(OTHER_DELIVERIES_PER_LINE, n_deliveries) + 1):
                plan.delivery(line, dn, received_fraction=fraction)
                n_deliveries -= 1
                remaining -= 1
        k += 1

    # -- insert orders, lines, deliveries --------------------------------------------------
    PurchaseOrder.objects.bulk_create(plan.orders, batch_size=BATCH)
    all_lines = [line for order in plan.orders for line in plan.lines[id(order)]]
    for line in all_lines:
        line.order_id = line.order.pk
    Line.objects.bulk_create(all_lines, batch_size=BATCH)
    all_deliveries = [d for line in all_lines for d in plan.deliveries[id(line)]]
    for delivery in all_deliveries:
        delivery.order_id = delivery.order.pk
        delivery.line_id = delivery.line.pk
    Delivery.objects.bulk_create(all_deliveries, batch_size=BATCH)
    assert len(all_deliveries) == TOTAL_DELIVERIES, len(all_deliveries)

    # -- revisions (with snapshots), a second revision on a third of the target's orders ---
    def snapshot_of(order: PurchaseOrder) -> revisions.Snapshot:
        header = {
            "currency": order.currency,
            "payment_terms": order.payment_terms,
            "incoterms": order.incoterms,
            "ship_to": order.ship_to,
            "valid_from": None,
            "valid_to": None,
            "notes_to_vendor": order.notes_to_vendor,
            "cancelled": False,
        }
        lines: dict[str, Any] = {}
        for line in plan.lines[id(order)]:
            entry = revisions.line_snapshot(line)
            entry["deliveries"] = {
                str(d.delivery_number): revisions.delivery_snapshot(d)
                for d in plan.deliveries[id(line)]
            }
            lines[str(line.line_number)] = entry
        return {"header": header, "lines": lines}

    revision_rows: list[Revision] = []
    event_rows: list[Event] = []
    ack_rows: list[Acknowledgement] = []
    revised_ids: set[int] = set()
    to_revise = {id(order) for order in target_issued[::3]}
    for order in plan.orders:
        if order.status == OrderStatus.DRAFT:
            continue
        current = snapshot_of(order)
        revised = id(order) in to_revise
        first = current
        if revised:
            # Revision 2 moved the first delivery's due date out by a week.
            first = json.loads(json.dumps(current))
            first_line = next(iter(first["lines"].values()))
            first_delivery = next(iter(first_line["deliveries"].values()))
            moved = dt.date.fromisoformat(first_delivery["due_date"]) - dt.timedelta(days=7)
            first_delivery["due_date"] = moved.isoformat()
        revision_rows.append(
            Revision(
                order=order,
                vendor_id=order.vendor_id,
                number=1,
                created_by=buyer,
                reason="Issued",
                changes=revisions.diff_snapshots(revisions.empty_snapshot(), first),
                snapshot=first,
            )
        )
        event_rows.append(
            Event(
                kind="order.issued",
                vendor_id=order.vendor_id,
                order=order,
                actor=buyer,
                revision=1,
                summary=f"Order {order.number} issued with {LINES_PER_ORDER} line(s).",
                data={"order": order.number, "revision": 1},
            )
        )
        if revised:
            order.revision = 2
            revised_ids.add(order.pk)
            changes = revisions.diff_snapshots(first, current)
            revision_rows.append(
                Revision(
                    order=order,
                    vendor_id=order.vendor_id,
                    number=2,
                    created_by=buyer,
                    reason="Due dates moved at the supplier's request",
                    changes=changes,
                    snapshot=current,
                )
            )
            event_rows.append(
                Event(
                    kind="order.revised",
                    vendor_id=order.vendor_id,
                    order=order,
                    actor=buyer,
                    revision=2,
                    summary=f"Revision 2: {len(changes)} change(s)",
                    data={"order": order.number, "revision": 2},
                )
            )
    PurchaseOrder.objects.filter(pk__in=revised_ids).update(revision=2)
    Revision.objects.bulk_create(revision_rows, batch_size=BATCH)

    # -- acknowledgements: acknowledged / older revision only / never ----------------------
    for index, order in enumerate(target_issued):
        if index % 3 == 2:
            continue  # never acknowledged
        acked = 1 if order.revision == 2 and index % 2 == 0 else order.revision
        response = (
            AcknowledgementResponse.ACCEPTED
            if index % 5
            else AcknowledgementResponse.ACCEPTED_WITH_CHANGES
        )
        ack_rows.append(
            Acknowledgement(
                order=order,
                vendor=target,
                revision=acked,
                response=response,
                comment="Confirmed." if response == AcknowledgementResponse.ACCEPTED else
                "Line 10 ships in two parts.",
                user=vendor_user,
            )
        )  # fmt: skip
        event_rows.append(
            Event(
                kind="acknowledgement.recorded",
                vendor=target,
                order=order,
                actor=vendor_user,
                revision=acked,
                summary=f"Revision {acked} {response.label.lower()} by {email}",
                data={"order": order.number, "revision": acked, "response": str(response)},
            )
        )
    Acknowledgement.objects.bulk_create(ack_rows)

    # -- pending change proposals on 10 open deliveries of the target ----------------------
    open_target = [
        d
        for order in target_issued
        for line in plan.lines[id(order)]
        for d in plan.deliveries[id(line)]
        if d.status == LineStatus.OPEN
    ]
    assert len(open_target) == TARGET_OPEN, len(open_target)
    proposals = []
    for d in open_target[3::50]:
        proposals.append(
            ChangeProposal(
                order=d.order,
                vendor=target,
                line=d.line,
                delivery=d,
                proposed_due_date=d.due_date + dt.timedelta(days=14),
                current_due_date=d.due_date,
                reason="Raw material arrives late.",
                status=ProposalStatus.PENDING,
                revision=d.order.revision,
                created_by=vendor_user,
            )
        )
    ChangeProposal.objects.bulk_create(proposals)
    for proposal in proposals:
        event_rows.append(
            Event(
                kind="proposal.created",
                vendor=target,
                order=proposal.order,
                actor=vendor_user,
                revision=proposal.revision,
                summary=f"Change proposed on line {proposal.line.line_number}",
                data={
                    "order": proposal.order.number,
                    "proposal": proposal.pk,
                    "line": proposal.line.line_number,
                },
            )
        )

    # -- receipts behind every received quantity -------------------------------------------
    receipts: list[Receipt] = []
    receipt_lines: list[ReceiptLine] = []
    for order in plan.orders:
        received = [
            d
            for line in plan.lines[id(order)]
            for d in plan.deliveries[id(line)]
            if d.received_quantity > 0
        ]
        if not received:
            continue
        receipt = Receipt(
            number=f"GR{len(receipts) + 1:07d}",
            vendor_id=order.vendor_id,
            order=order,
            receipt_date=TODAY - dt.timedelta(days=3),
            packing_slip=f"PS-{order.number}",
            created_by=buyer,
        )
        receipts.append(receipt)
        receipt_lines += [
            ReceiptLine(
                receipt=receipt,
                vendor_id=order.vendor_id,
                delivery=d,
                line=d.line,
                quantity=d.received_quantity,
            )
            for d in received
        ]
    Receipt.objects.bulk_create(receipts, batch_size=BATCH)
    for rl in receipt_lines:
        rl.receipt_id = rl.receipt.pk
    ReceiptLine.objects.bulk_create(receipt_lines, batch_size=BATCH)

    # -- a few shared comments on the big order --------------------------------------------
    comments = Comment.objects.bulk_create(
        [
            Comment(
                order=big,
                vendor=target,
                author=vendor_user if i % 2 else buyer,
                body=f"Comment {i}: <b>not bold</b> & escaped",
                line=plan.lines[id(big)][i % LINES_PER_ORDER] if i % 3 else None,
            )
            for i in range(4)
        ]
    )
    for comment in comments:
        event_rows.append(
            Event(
                kind="comment.added",
                vendor=target,
                order=big,
                actor=comment.author,
                summary=f"Comment by {comment.author.email}",
                data={"order": big.number, "comment": comment.pk, "line": None},
            )
        )
    Event.objects.bulk_create(event_rows, batch_size=BATCH)

    return {
        "email": email,
        "vendor_id": target.pk,
        "vendor_code": target.code,
        "order_number": big.number,
        "order_deliveries": len(
            [d for line in plan.lines[id(big)] for d in plan.deliveries[id(line)]]
        ),
        "open_deliveries": len(open_target),
        "vendors": len(vendors),
        "orders": len(plan.orders),
        "lines": len(all_lines),
        "deliveries": len(all_deliveries),
        "revisions": len(revision_rows),
        "acknowledgements": len(ack_rows),
        "proposals": len(proposals),
        "receipts": len(receipts),
        "events": len(event_rows),
        "build_seconds": round(time.perf_counter() - started, 1),
    }


def verify(summary: dict[str, Any]) -> None:
    """Check the invariants the bench relies on, with the database's own answers."""
    from django.db.models import Count, F, Sum

    target = summary["vendor_id"]
    assert Delivery.objects.count() == TOTAL_DELIVERIES
    assert Vendor.objects.count() == VENDORS
    open_count = Delivery.objects.filter(
        vendor_id=target, status=LineStatus.OPEN, order__status=OrderStatus.ISSUED
    ).count()
    assert open_count == TARGET_OPEN, open_count
    assert not Delivery.objects.exclude(vendor_id=F("order__vendor_id")).exists()
    assert not Delivery.objects.exclude(vendor_id=F("line__vendor_id")).exists()
    assert not Line.objects.exclude(vendor_id=F("order__vendor_id")).exists()
    mismatched = (
        Line.objects.annotate(total=Sum("deliveries__quantity"))
        .exclude(quantity=F("total"))
        .count()
    )
    assert mismatched == 0, mismatched
    big = PurchaseOrder.objects.get(number=summary["order_number"])
    assert big.deliveries.count() == summary["order_deliveries"]
    states = PurchaseOrder.objects.filter(vendor_id=target, status=OrderStatus.ISSUED).aggregate(
        n=Count("pk")
    )["n"]
    assert states == TARGET_ISSUED_ORDERS, states


def plan_note(vendor_id: int) -> str:
    """How PostgreSQL plans the open-lines rows query (the bare page's SQL, which has the
    product query's joins and subqueries): its sample-based statistics can flip the plan."""
    from bench.benchsite.urls import BARE_SQL

    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        (cost,) = cursor.fetchone()
        cursor.execute("EXPLAIN " + BARE_SQL, [vendor_id])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    line_join = (
        f"seq scan + hash of all {Line._meta.db_table} rows"
        if f"Seq Scan on {Line._meta.db_table}" in plan
        else "index lookups"
    )
    return f"random_page_cost={cost}; open-lines query joins lines by {line_join}"


def main() -> None:
    email = os.environ["BENCH_EMAIL"]
    password = os.environ["BENCH_PASSWORD"]
    with scopes_disabled():
        with transaction.atomic():
            summary = build(email, password)
        verify(summary)
    if connection.vendor == "postgresql":
        # What autovacuum would have done a minute after a load this size.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        summary["plan"] = plan_note(summary["vendor_id"])
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
