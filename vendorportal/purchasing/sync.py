"""Master data from the buying company's ERP: idempotent upserts by external id.

Each function takes the full record as the ERP has it and makes the portal agree: it
creates the row if the external id is new, changes only the fields that differ, and
changes nothing (not even `updated_at`) when everything already agrees, so a nightly full
re-sync is a no-op. It answers what it did: "created", "updated" or "unchanged".

A vendor's change is recorded as an internal event on that vendor (buyers see it; master
data is not the supplier's business). Items belong to no vendor and have no timeline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.db import IntegrityError

from vendorportal.accounts.models import User
from vendorportal.audit import log as audit
from vendorportal.errors import DomainError
from vendorportal.events.log import record_event
from vendorportal.purchasing import rules, services
from vendorportal.purchasing.models import (
    Delivery,
    Invoice,
    Item,
    LineStatus,
    OrderKind,
    OrderStatus,
    Payment,
    PurchaseOrder,
    Receipt,
    ShipNotice,
    Vendor,
)
from vendorportal.scoping import service

Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class VendorRecord:
    external_id: str
    code: str
    name: str
    contact_name: str = ""
    contact_email: str = ""
    phone: str = ""
    address: str = ""
    active: bool = True


@dataclass(frozen=True)
class ItemRecord:
    external_id: str
    part_number: str
    description: str
    unit_of_measure: str = "EA"
    active: bool = True
    standard_cost: Decimal | None = None


def _required(value: str, *, field: str, label: str, limit: int) -> str:
    return rules.text(value, field=field, label=label, max_length=limit, required=True)


def _apply(obj: Any, values: dict[str, Any]) -> list[str]:
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    return changed


def _save_unique(obj: Any, *, field: str, message: str) -> None:
    try:
        obj.save()
    except IntegrityError:
        raise DomainError(message, field=field, code="conflict") from None


@service
def vendor_upsert(*, record: VendorRecord, by: User | None) -> tuple[Vendor, Outcome]:
    external_id = _required(record.external_id, field="external_id", label="external_id", limit=100)
    values = {
        "code": rules.identifier(record.code, field="code", label="A vendor code"),
        "name": _required(record.name, field="name", label="A vendor name", limit=200),
        "contact_name": rules.text(
            record.contact_name, field="contact_name", label="A contact name", max_length=200
        ),
        "contact_email": rules.text(
            record.contact_email, field="contact_email", label="A contact e-mail", max_length=254
        ),
        "phone": rules.text(record.phone, field="phone", label="A phone number", max_length=50),
        "address": rules.text(record.address, field="address", label="An address", max_length=2000),
        "active": record.active,
    }
    vendor = Vendor.objects.select_for_update().filter(external_id=external_id).first()
    outcome: Outcome
    before: dict[str, Any] = {}
    if vendor is None:
        vendor, outcome, changed = (
            Vendor(external_id=external_id, **values),
            "created",
            list(values),
        )
    else:
        before = {name: getattr(vendor, name) for name in values}
        changed = _apply(vendor, values)
        if not changed:
            return vendor, "unchanged"
        outcome = "updated"
    _save_unique(
        vendor, field="code", message=f"Vendor code {values['code']} belongs to another vendor."
    )
    record_event(
        kind=f"vendor.{outcome}",
        vendor_id=vendor.pk,
        actor=by,
        internal=True,
        summary=f"Vendor {vendor.code} {outcome} from the ERP"
        + (f": {', '.join(changed)}" if outcome == "updated" else ""),
        data={"external_id": external_id, "fields": changed},
        changes={name: [before.get(name), values[name]] for name in changed},
    )
    return vendor, outcome


@service
def item_upsert(*, record: ItemRecord, by: User | None) -> tuple[Item, Outcome]:
    external_id = _required(record.external_id, field="external_id", label="external_id", limit=100)
    cost = record.standard_cost
    if cost is not None and cost < 0:
        raise DomainError("A standard cost cannot be negative.", field="standard_cost")
    values = {
        "part_number": _required(
            record.part_number, field="part_number", label="A part number", limit=64
        ),
        "description": _required(
            record.description, field="description", label="A description", limit=300
        ),
        "unit_of_measure": _required(
            record.unit_of_measure, field="unit_of_measure", label="A unit of measure", limit=16
        ),
        "active": record.active,
        "standard_cost": cost,
    }
    item = Item.objects.select_for_update().filter(external_id=external_id).first()
    before: dict[str, Any] = {}
    if item is None:
        item, outcome = Item(external_id=external_id, **values), "created"
        changed = list(values)
    else:
        before = {name: getattr(item, name) for name in values}
        changed = _apply(item, values)
        if not changed:
            return item, "unchanged"
        outcome = "updated"
    _save_unique(
        item,
        field="part_number",
        message=f"Part number {values['part_number']} belongs to another item.",
    )
    # Items are not vendor data and record no event; the audit row is the only trace.
    audit.record(
        action=f"item.{outcome}",
        actor=by,
        object_type="item",
        object_id=item.pk,
        object_label=item.part_number,
        changes={name: [before.get(name), values[name]] for name in changed},
        summary=f"Item {item.part_number} {outcome} from the ERP",
    )
    return item, outcome  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------
# Orders
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRecord:
    delivery_number: int
    quantity: Decimal
    due_date: dt.date


@dataclass(frozen=True)
class LineRecord:
    line_number: int
    quantity: Decimal
    unit_price: Decimal
    item_external_id: str | None = None
    description: str = ""
    vendor_part_number: str = ""
    unit_of_measure: str = ""
    internal_notes: str = ""
    deliveries: tuple[DeliveryRecord, ...] = ()


@dataclass(frozen=True)
class OrderRecord:
    external_id: str
    number: str
    vendor_external_id: str
    lines: tuple[LineRecord, ...]
    kind: str = OrderKind.STANDARD
    status: str = OrderStatus.ISSUED  # "draft" or "issued"
    order_date: dt.date | None = None
    currency: str = "USD"
    payment_terms: str = ""
    incoterms: str = ""
    ship_to: str = ""
    notes_to_vendor: str = ""
    internal_notes: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    def header(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in sorted(services.HEADER_EDITABLE)}


LINE_TEXT_FIELDS = ("description", "vendor_part_number", "unit_of_measure", "internal_notes")


def _items_of(record: OrderRecord) -> dict[str, Item]:
    wanted = {line.item_external_id for line in record.lines if line.item_external_id}
    items = {i.external_id: i for i in Item.objects.filter(external_id__in=wanted)}
    for index, line in enumerate(record.lines):
        if line.item_external_id and line.item_external_id not in items:
            raise DomainError(
                f"Line {line.line_number}: no item with external id {line.item_external_id}; "
                "sync the item first.",
                field=f"lines.{index}.item_external_id",
            )
    return items  # type: ignore[return-value]


def _check_schedule(record: OrderRecord) -> None:
    numbers = [line.line_number for line in record.lines]
    if len(set(numbers)) != len(numbers):
        raise DomainError("Each line number may appear once.", field="lines")
    for index, line in enumerate(record.lines):
        where = f"lines.{index}"
        delivery_numbers = [d.delivery_number for d in line.deliveries]
        if len(set(delivery_numbers)) != len(delivery_numbers):
            raise DomainError(
                f"Line {line.line_number}: each delivery number may appear once.",
                field=f"{where}.deliveries",
            )
        if record.kind == OrderKind.STANDARD:
            if not line.deliveries:
                raise DomainError(
                    f"Line {line.line_number} needs at least one delivery.",
                    field=f"{where}.deliveries",
                )
            total = sum((d.quantity for d in line.deliveries), Decimal(0))
            if total != line.quantity:
                raise DomainError(
                    f"Line {line.line_number}: its deliveries add up to {total}, not its "
                    f"quantity {line.quantity}.",
                    field=f"{where}.quantity",
                )


def _line_input(line: LineRecord, items: dict[str, Item]) -> services.LineInput:
    return services.LineInput(
        line_number=line.line_number,
        quantity=line.quantity,
        unit_price=line.unit_price,
        item=items.get(line.item_external_id or ""),
        description=line.description,
        vendor_part_number=line.vendor_part_number,
        unit_of_measure=line.unit_of_measure,
        internal_notes=line.internal_notes,
        deliveries=[
            services.DeliveryInput(quantity=d.quantity, due_date=d.due_date)
            for d in sorted(line.deliveries, key=lambda d: d.delivery_number)
        ],
    )


def _changes(
    order: PurchaseOrder, record: OrderRecord, items: dict[str, Item]
) -> list[services.OrderChange]:
    """What the order must change to agree with the record (nothing if it does)."""
    changes: list[services.OrderChange] = [
        services.SetHeader(name, value)
        for name, value in record.header().items()
        if getattr(order, name) != value
    ]
    # No ORDER BY: Delivery's default ordering joins the line and the order, and without
    # fresh statistics PostgreSQL plans that join as a scan of every line in the database.
    lines = {line.line_number: line for line in order.lines.order_by()}
    deliveries: dict[int, dict[int, Delivery]] = {number: {} for number in lines}
    by_id = {line.pk: line.line_number for line in lines.values()}
    for delivery in order.deliveries.order_by():
        deliveries[by_id[delivery.line_id]][delivery.delivery_number] = delivery
    for wanted in record.lines:
        line = lines.get(wanted.line_number)
        if line is None:
            changes.append(services.AddLine(_line_input(wanted, items)))
            continue
        if line.status == LineStatus.CANCELLED:
            continue  # a cancelled line stays cancelled; the ERP's copy is history
        item = items.get(wanted.item_external_id or "")
        if (item.pk if item else None) != line.item_id:
            raise DomainError(
                f"Line {line.line_number} is for another item; cancel it and add a new line.",
                field="lines",
            )
        for name in LINE_TEXT_FIELDS:
            value = getattr(wanted, name) or (
                getattr(item, name, "") if name in {"description", "unit_of_measure"} else ""
            )
            if value and getattr(line, name) != value:
                changes.append(services.SetLine(line.line_number, name, value))
        if line.unit_price != wanted.unit_price:
            changes.append(services.SetLine(line.line_number, "unit_price", wanted.unit_price))
        if order.kind == OrderKind.BLANKET and line.quantity != wanted.quantity:
            changes.append(services.SetLine(line.line_number, "quantity", wanted.quantity))
        present = deliveries[line.line_number]
        for d in sorted(wanted.deliveries, key=lambda d: d.delivery_number):
            current = present.get(d.delivery_number)
            if current is None:
                changes.append(services.AddDelivery(line.line_number, d.quantity, d.due_date))
                continue
            if current.status == LineStatus.CANCELLED:
                continue
            if current.due_date != d.due_date and current.status != LineStatus.CLOSED:
                changes.append(
                    services.SetDelivery(
                        line.line_number, d.delivery_number, "due_date", d.due_date
                    )
                )
            if current.quantity != d.quantity:
                changes.append(
                    services.SetDelivery(
                        line.line_number, d.delivery_number, "quantity", d.quantity
                    )
                )
        if order.kind == OrderKind.STANDARD:
            sent = {d.delivery_number for d in wanted.deliveries}
            for number, current in present.items():
                if number not in sent and current.status == LineStatus.OPEN:
                    changes.append(services.CancelDelivery(line.line_number, number))
    sent_lines = {line.line_number for line in record.lines}
    for number, line in lines.items():
        if number not in sent_lines and line.status == LineStatus.OPEN:
            changes.append(services.CancelLine(number))
    return changes


def _locked_order(external_id: str) -> PurchaseOrder | None:
    return PurchaseOrder.objects.select_for_update().filter(external_id=external_id).first()


def _order_create(
    record: OrderRecord,
    *,
    external_id: str,
    vendor: Vendor,
    items: dict[str, Item],
    by: User | None,
) -> PurchaseOrder:
    return services.order_create(
        vendor=vendor,
        by=by,
        lines=[_line_input(line, items) for line in record.lines],
        kind=record.kind,
        number=record.number,
        order_date=record.order_date,
        external_id=external_id,
        issue=record.status == OrderStatus.ISSUED,
        reason="Issued from the ERP",
        **record.header(),
    )


@service
def order_upsert(*, record: OrderRecord, by: User | None) -> tuple[PurchaseOrder, Outcome]:
    """Make the order with this external id agree with the ERP's record.

    New: created (and issued, if the record says so). Known: every difference becomes one
    `order_revise` call, so an issued order gets one new revision whose change list is the
    diff; a record that already agrees changes nothing at all. The order's number, vendor
    and kind never change; cancelled lines and deliveries stay cancelled.
    """
    external_id = _required(record.external_id, field="external_id", label="external_id", limit=100)
    if record.status not in (OrderStatus.DRAFT, OrderStatus.ISSUED, OrderStatus.CANCELLED):
        raise DomainError("An order is synced as draft, issued or cancelled.", field="status")
    vendor = Vendor.objects.filter(external_id=record.vendor_external_id).first()
    if vendor is None:
        raise DomainError(
            f"No vendor with external id {record.vendor_external_id}; sync the vendor first.",
            field="vendor_external_id",
        )
    _check_schedule(record)
    items = _items_of(record)
    order = _locked_order(external_id)
    if order is None and record.status == OrderStatus.CANCELLED:
        raise DomainError(
            f"No order has external id {external_id}, so there is nothing to cancel.",
            field="status",
        )
    if order is None:
        try:
            order = _order_create(
                record, external_id=external_id, vendor=vendor, items=items, by=by
            )
        except DomainError as error:
            # Two syncs of the same new order at once: order_create looks for duplicates
            # under order creation's lock, so the second waits for the first to commit and
            # is refused here as a duplicate. It then goes on with the first one's order as
            # a known order (usually "unchanged").
            order = _locked_order(external_id) if error.code == "duplicate" else None
            if order is None:
                raise
        else:
            return order, "created"
    if order.number != record.number or order.vendor_id != vendor.pk or order.kind != record.kind:
        raise DomainError(
            f"Order {order.number} keeps its number, vendor and kind; cancel it and send a "
            "new order instead.",
            field="number",
            code="conflict",
        )
    if order.status in (OrderStatus.CANCELLED, OrderStatus.CLOSED):
        # Finished orders are history: nothing the ERP sends changes them.
        return order, "unchanged"
    if record.status == OrderStatus.CANCELLED:
        # The whole order is withdrawn; the lines sent along do not matter any more.
        return services.order_cancel(order=order, by=by, reason="Cancelled in the ERP"), "updated"
    changes = _changes(order, record, items)
    issue = order.status == OrderStatus.DRAFT and record.status == OrderStatus.ISSUED
    if not changes and not issue:
        return order, "unchanged"
    if changes:
        try:
            order = services.order_revise(order=order, changes=changes, by=by, reason="ERP sync")
        except DomainError as error:
            if error.code != "no_change" or issue:
                raise
            return order, "unchanged"  # differences the order's own rules normalise away
    if issue:
        order = services.order_issue(order=order, by=by, reason="Issued from the ERP")
    return order, "updated"


# ---------------------------------------------------------------------------------------
# Receipts, invoices and payments: facts, recorded once
# ---------------------------------------------------------------------------------------
#
# A receipt, an invoice or a payment is a fact, not a document the ERP edits: sending the
# same external id again answers "unchanged" when it agrees with what was recorded and is
# refused (409) when it does not, naming how to correct it (a return, voiding the invoice).


@dataclass(frozen=True)
class ReceiptLineRecord:
    line_number: int
    delivery_number: int
    quantity: Decimal


@dataclass(frozen=True)
class ReceiptRecord:
    external_id: str
    order_external_id: str
    lines: tuple[ReceiptLineRecord, ...]
    kind: str = "receipt"  # or "return" (positive quantities, returned)
    receipt_date: dt.date | None = None
    packing_slip: str = ""
    reason: str = ""
    # The portal's number of the ship notice the goods came under (scanned at the dock).
    ship_notice_number: str = ""


@dataclass(frozen=True)
class ShipNoticeRecord:
    """A ship notice created in the ERP (or a supplier's EDI 856 translated there)."""

    external_id: str
    order_external_id: str
    lines: tuple[ReceiptLineRecord, ...]
    expected_date: dt.date
    ship_date: dt.date | None = None
    carrier: str = ""
    tracking_number: str = ""
    packing_slip: str = ""
    note: str = ""


@dataclass(frozen=True)
class InvoiceLineRecord:
    order_external_id: str
    line_number: int
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class InvoiceRecord:
    external_id: str
    vendor_external_id: str
    number: str
    lines: tuple[InvoiceLineRecord, ...]
    invoice_date: dt.date | None = None
    due_date: dt.date | None = None
    currency: str | None = None


@dataclass(frozen=True)
class PaymentRecord:
    external_id: str
    invoice_external_id: str
    amount: Decimal
    paid_on: dt.date | None = None
    reference: str = ""


def _conflict(what: str, external_id: str, remedy: str) -> DomainError:
    return DomainError(
        f"{what} {external_id} was already recorded differently; {remedy}",
        field="external_id",
        code="conflict",
    )


def _order_by_external_id(external_id: str, field: str) -> PurchaseOrder:
    order = PurchaseOrder.objects.filter(external_id=external_id).first()
    if order is None:
        raise DomainError(f"No order with external id {external_id}.", field=field)
    return order


@service
def receipt_upsert(*, record: ReceiptRecord, by: User | None) -> tuple[Receipt, Outcome]:
    external_id = _required(record.external_id, field="external_id", label="external_id", limit=100)
    if record.kind not in ("receipt", "return"):
        raise DomainError("A receipt's kind is receipt or return.", field="kind")
    sign = -1 if record.kind == "return" else 1
    wanted = sorted(
        (line.line_number, line.delivery_number, line.quantity * sign) for line in record.lines
    )
    existing = Receipt.objects.filter(external_id=external_id).first()
    if existing is None:
        # The same receipt sent twice at once: both would find none and record it (the
        # second failing on the unique index). Lock the order, as receipt_record does, and
        # look again: the second waits for the first, then finds its receipt.
        order = _order_by_external_id(record.order_external_id, "order_external_id")
        order = PurchaseOrder.objects.select_for_update().get(pk=order.pk)
        existing = Receipt.objects.filter(external_id=external_id).first()
    if existing is not None:
        recorded = sorted(
            (rl.line.line_number, rl.delivery.delivery_number, rl.quantity)
            for rl in existing.lines.select_related("line", "delivery")
        )
        if recorded == wanted and existing.kind == record.kind:
            return existing, "unchanged"
        raise _conflict("Receipt", external_id, "record a return or a new receipt to correct it.")
    deliveries = {
        (d.line.line_number, d.delivery_number): d for d in order.deliveries.select_related("line")
    }
    inputs = []
    for index, line in enumerate(record.lines):
        delivery = deliveries.get((line.line_number, line.delivery_number))
        if delivery is None:
            raise DomainError(
                f"Order {order.number} has no delivery {line.line_number}-{line.delivery_number}.",
                field=f"lines.{index}",
            )
        inputs.append(services.ReceiptLineInput(delivery, line.quantity))
    if record.kind == "return":
        receipt = services.return_record(
            order=order,
            lines=inputs,
            reason=record.reason,
            by=by,
            return_date=record.receipt_date,
            external_id=external_id,
        )
    else:
        notice = None
        if record.ship_notice_number:
            notice = ShipNotice.objects.filter(
                order=order, number=record.ship_notice_number
            ).first()
            if notice is None:
                raise DomainError(
                    f"Order {order.number} has no ship notice {record.ship_notice_number}.",
                    field="ship_notice_number",
                )
        receipt = services.receipt_record(
            order=order,
            lines=inputs,
            by=by,
            receipt_date=record.receipt_date,
            packing_slip=record.packing_slip,
            external_id=external_id,
            ship_notice=notice,
        )
    return receipt, "created"


def _notice_lines(
    order: PurchaseOrder, record: ShipNoticeRecord
) -> list[services.ShipNoticeLineInput]:
    deliveries = {
        (d.line.line_number, d.delivery_number): d for d in order.deliveries.select_related("line")
    }
    inputs = []
    for index, line in enumerate(record.lines):
        delivery = deliveries.get((line.line_number, line.delivery_number))
        if delivery is None:
            raise DomainError(
                f"Order {order.number} has no delivery {line.line_number}-{line.delivery_number}.",
                field=f"lines.{index}",
            )
        inputs.append(services.ShipNoticeLineInput(delivery, line.quantity))
    return inputs


@service
def ship_notice_upsert(*, record: ShipNoticeRecord, by: User | None) -> tuple[ShipNotice, Outcome]:
    """Create the notice, or correct it while nothing is received against it (the same
    rules and history as the supplier's corrections); an identical record is unchanged."""
    external_id = _required(record.external_id, field="external_id", label="external_id", limit=100)
    order = _order_by_external_id(record.order_external_id, "order_external_id")
    # Locked, as the notice services do: the same new notice sent twice at once is made once.
    order = PurchaseOrder.objects.select_for_update().get(pk=order.pk)
    existing = ShipNotice.objects.filter(external_id=external_id).first()
    details: dict[str, Any] = {
        "ship_date": record.ship_date,
        "expected_date": record.expected_date,
        "carrier": record.carrier,
        "tracking_number": record.tracking_number,
        "packing_slip": record.packing_slip,
        "note": record.note,
    }
    lines = _notice_lines(order, record)
    if existing is None:
        notice = services.ship_notice_create(
            order=order, lines=lines, by=by, external_id=external_id, **details
        )
        return notice, "created"
    if existing.order_id != order.pk:
        raise _conflict("Ship notice", external_id, "it belongs to another order.")
    if details["ship_date"] is None:
        details["ship_date"] = existing.ship_date
    wanted = sorted((line.delivery.pk, Decimal(line.quantity)) for line in lines)
    stored = sorted(existing.lines.values_list("delivery_id", "quantity"))
    same_lines = wanted == stored
    changed = {k: v for k, v in details.items() if getattr(existing, k) != v}
    if same_lines and not changed:
        return existing, "unchanged"
    if not existing.is_changeable:
        raise _conflict("Ship notice", external_id, "goods were received against it already.")
    notice = services.ship_notice_correct(
        notice=existing, by=by, lines=None if same_lines else lines, **changed
    )
    return notice, "updated"


@service
def invoice_upsert(*, record: InvoiceRecord, by: User | None) -> tuple[Invoice, Outcome]:
    external_id = _required(record.external_id, field="external_id", label="external_id", limit=100)
    wanted = sorted(
        (line.order_external_id, line.line_number, line.quantity, line.unit_price)
        for line in record.lines
    )
    existing = Invoice.objects.filter(external_id=external_id).first()
    if existing is None:
        # Sent twice at once: lock the vendor (invoice_record's lock, one invoice number at
        # a time) and look again, so the second finds the first's invoice.
        Vendor.objects.select_for_update().filter(external_id=record.vendor_external_id).first()
        existing = Invoice.objects.filter(external_id=external_id).first()
    if existing is not None:
        recorded = sorted(
            (il.order_line.order.external_id, il.order_line.line_number, il.quantity, il.unit_price)
            for il in existing.lines.select_related("order_line__order")
        )
        if recorded == wanted and existing.number == record.number:
            return existing, "unchanged"
        raise _conflict("Invoice", external_id, "void it and send the corrected invoice.")
    vendor = Vendor.objects.filter(external_id=record.vendor_external_id).first()
    if vendor is None:
        raise DomainError(
            f"No vendor with external id {record.vendor_external_id}.", field="vendor_external_id"
        )
    inputs = []
    for index, line in enumerate(record.lines):
        order = _order_by_external_id(line.order_external_id, f"lines.{index}.order_external_id")
        order_line = order.lines.filter(line_number=line.line_number).first()
        if order_line is None:
            raise DomainError(
                f"Order {order.number} has no line {line.line_number}.",
                field=f"lines.{index}.line_number",
            )
        inputs.append(services.InvoiceLineInput(order_line, line.quantity, line.unit_price))
    invoice = services.invoice_record(
        vendor=vendor,
        number=record.number,
        lines=inputs,
        by=by,
        invoice_date=record.invoice_date,
        due_date=record.due_date,
        currency=record.currency,
        external_id=external_id,
    )
    return invoice, "created"


@service
def payment_upsert(*, record: PaymentRecord, by: User | None) -> tuple[Payment, Outcome]:
    external_id = _required(record.external_id, field="external_id", label="external_id", limit=100)
    existing = Payment.objects.filter(external_id=external_id).select_related("invoice").first()
    if existing is None:
        # Sent twice at once: lock the invoice (payment_record's lock) and look again, so
        # the second finds the first's payment instead of paying twice.
        Invoice.objects.select_for_update().filter(external_id=record.invoice_external_id).first()
        existing = Payment.objects.filter(external_id=external_id).select_related("invoice").first()
    if existing is not None:
        if (
            existing.amount == record.amount
            and existing.invoice.external_id == record.invoice_external_id
        ):
            return existing, "unchanged"
        raise _conflict("Payment", external_id, "record a correcting payment instead.")
    invoice = Invoice.objects.filter(external_id=record.invoice_external_id).first()
    if invoice is None:
        raise DomainError(
            f"No invoice with external id {record.invoice_external_id}.",
            field="invoice_external_id",
        )
    payment = services.payment_record(
        invoice=invoice,
        amount=record.amount,
        by=by,
        paid_on=record.paid_on,
        reference=record.reference,
        external_id=external_id,
    )
    return payment, "created"
