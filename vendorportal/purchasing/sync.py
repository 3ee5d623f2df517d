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
from vendorportal.errors import DomainError
from vendorportal.events.log import record_event
from vendorportal.purchasing import services
from vendorportal.purchasing.models import (
    Delivery,
    Item,
    LineStatus,
    OrderKind,
    OrderStatus,
    PurchaseOrder,
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
    value = (value or "").strip()
    if not value:
        raise DomainError(f"{label} is required.", field=field)
    if len(value) > limit:
        raise DomainError(f"{label} has at most {limit} characters.", field=field)
    return value


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
        "code": _required(record.code, field="code", label="A vendor code", limit=32),
        "name": _required(record.name, field="name", label="A vendor name", limit=200),
        "contact_name": record.contact_name.strip(),
        "contact_email": record.contact_email.strip(),
        "phone": record.phone.strip(),
        "address": record.address.strip(),
        "active": record.active,
    }
    vendor = Vendor.objects.select_for_update().filter(external_id=external_id).first()
    outcome: Outcome
    if vendor is None:
        vendor, outcome, changed = (
            Vendor(external_id=external_id, **values),
            "created",
            list(values),
        )
    else:
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
        actor_id=by.pk if by else None,
        internal=True,
        summary=f"Vendor {vendor.code} {outcome} from the ERP"
        + (f": {', '.join(changed)}" if outcome == "updated" else ""),
        data={"external_id": external_id, "fields": changed},
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
    if item is None:
        item, outcome = Item(external_id=external_id, **values), "created"
    else:
        if not _apply(item, values):
            return item, "unchanged"
        outcome = "updated"
    _save_unique(
        item,
        field="part_number",
        message=f"Part number {values['part_number']} belongs to another item.",
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
    lines = {line.line_number: line for line in order.lines.all()}
    deliveries: dict[int, dict[int, Delivery]] = {number: {} for number in lines}
    by_id = {line.pk: line.line_number for line in lines.values()}
    for delivery in order.deliveries.all():
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


@service
def order_upsert(*, record: OrderRecord, by: User | None) -> tuple[PurchaseOrder, Outcome]:
    """Make the order with this external id agree with the ERP's record.

    New: created (and issued, if the record says so). Known: every difference becomes one
    `order_revise` call, so an issued order gets one new revision whose change list is the
    diff; a record that already agrees changes nothing at all. The order's number, vendor
    and kind never change; cancelled lines and deliveries stay cancelled.
    """
    external_id = _required(record.external_id, field="external_id", label="external_id", limit=100)
    if record.status not in (OrderStatus.DRAFT, OrderStatus.ISSUED):
        raise DomainError("An order is synced as draft or issued.", field="status")
    vendor = Vendor.objects.filter(external_id=record.vendor_external_id).first()
    if vendor is None:
        raise DomainError(
            f"No vendor with external id {record.vendor_external_id}; sync the vendor first.",
            field="vendor_external_id",
        )
    _check_schedule(record)
    items = _items_of(record)
    order = PurchaseOrder.objects.select_for_update().filter(external_id=external_id).first()
    if order is None:
        order = services.order_create(
            vendor=vendor,
            by=by,
            lines=[_line_input(line, items) for line in record.lines],
            kind=record.kind,
            number=record.number,
            order_date=record.order_date,
            external_id=external_id,
            **record.header(),
        )
        if record.status == OrderStatus.ISSUED:
            order = services.order_issue(order=order, by=by, reason="Issued from the ERP")
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
