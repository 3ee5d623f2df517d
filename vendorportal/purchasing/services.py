"""The only write path for purchasing data.

Each public function here is keyword-only, runs in one transaction, enforces its rules,
and writes its change together with its Revision (when the supplier must be told) and
exactly one Event. A refused change raises `DomainError` before anything is kept: the
transaction rolls back, so the database is untouched and nothing is published.

Order-level writes lock the order row first (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite
serialises writers through immediate transactions), so two buyers revising one order, or a
receipt posted twice at once, are applied one after the other against fresh data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from vendorportal.accounts.models import User
from vendorportal.audit import log as audit
from vendorportal.errors import DomainError
from vendorportal.events.log import record_event
from vendorportal.purchasing import revisions, rules
from vendorportal.purchasing.models import (
    ZERO,
    Delivery,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Item,
    Line,
    LineStatus,
    MatchStatus,
    OrderKind,
    OrderStatus,
    Payment,
    PurchaseOrder,
    Receipt,
    ReceiptKind,
    ReceiptLine,
    Revision,
    Vendor,
)
from vendorportal.purchasing.states import (
    INVOICE_TRANSITIONS,
    LINE_TRANSITIONS,
    ORDER_TRANSITIONS,
    check_transition,
)
from vendorportal.scoping import service

HUNDRED = Decimal(100)
CENT = Decimal("0.01")

# ---------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryInput:
    quantity: Decimal
    due_date: dt.date


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal
    item: Item | None = None
    description: str = ""
    vendor_part_number: str = ""
    unit_of_measure: str = ""
    line_number: int | None = None
    # A standard line given only `due_date` gets one delivery of its whole quantity.
    due_date: dt.date | None = None
    deliveries: Sequence[DeliveryInput] = ()
    internal_notes: str = ""
    external_id: str = ""


@dataclass(frozen=True)
class SetHeader:
    field: str
    value: Any


@dataclass(frozen=True)
class SetLine:
    line: int
    field: str
    value: Any


@dataclass(frozen=True)
class SetDelivery:
    line: int
    delivery: int
    field: str
    value: Any
    # The supplier's own proposal, accepted: the new date or quantity is its promise.
    proposed_by_supplier: bool = False


@dataclass(frozen=True)
class AddLine:
    line: LineInput


@dataclass(frozen=True)
class CancelLine:
    line: int


@dataclass(frozen=True)
class AddDelivery:
    line: int
    quantity: Decimal
    due_date: dt.date


@dataclass(frozen=True)
class CancelDelivery:
    line: int
    delivery: int


OrderChange = (
    SetHeader | SetLine | SetDelivery | AddLine | CancelLine | AddDelivery | CancelDelivery
)

HEADER_EDITABLE = {
    "currency",
    "payment_terms",
    "incoterms",
    "ship_to",
    "valid_from",
    "valid_to",
    "notes_to_vendor",
    "internal_notes",
}
LINE_EDITABLE = {
    "description",
    "vendor_part_number",
    "unit_of_measure",
    "quantity",
    "unit_price",
    "internal_notes",
}
DELIVERY_EDITABLE = {"quantity", "due_date"}
DATE_FIELDS = {"valid_from", "valid_to", "due_date"}


@dataclass(frozen=True)
class ReceiptLineInput:
    delivery: Delivery
    quantity: Decimal


@dataclass(frozen=True)
class InvoiceLineInput:
    order_line: Line
    quantity: Decimal
    unit_price: Decimal


# ---------------------------------------------------------------------------------------
# Value checks (messages name the field and the reason)
# ---------------------------------------------------------------------------------------


def _fmt(number: Decimal) -> str:
    return f"{number.normalize():,f}"


def _tolerance() -> Decimal:
    return Decimal(settings.OVER_RECEIPT_TOLERANCE_PERCENT)


def max_receivable(delivery: Delivery) -> Decimal:
    """The most a delivery may have received, including the over-receipt tolerance."""
    return delivery.quantity * (1 + _tolerance() / HUNDRED)


# ---------------------------------------------------------------------------------------
# Order editing: one in-memory working copy, validated as a whole, then saved
# ---------------------------------------------------------------------------------------


@dataclass
class _Editor:
    """The order, its lines and deliveries, loaded once and changed in memory.

    Rules are checked on the whole result (`validate`), so the order of the changes in a
    request does not matter, and nothing is written until everything passes.
    """

    order: PurchaseOrder
    lines: dict[int, Line] = field(default_factory=dict)
    deliveries: dict[int, dict[int, Delivery]] = field(default_factory=dict)
    dirty: set[int] = field(default_factory=set)  # id() of changed objects
    new_lines: list[Line] = field(default_factory=list)
    new_deliveries: list[Delivery] = field(default_factory=list)
    # What the edits changed, field → [old, new], internal fields included: the audit
    # trail's record of a draft or internal-only edit (a revision has its own diff).
    edits: dict[str, list[Any]] = field(default_factory=dict)

    def note(self, key: str, old: Any, new: Any) -> None:
        first = self.edits.get(key, [old, new])[0]
        self.edits[key] = [first, new]

    @classmethod
    def load(cls, order: PurchaseOrder) -> _Editor:
        editor = cls(order=order)
        for line in order.lines.select_related("item").order_by("line_number"):
            editor.lines[line.line_number] = line
            editor.deliveries[line.line_number] = {}
        by_id = {line.pk: line for line in editor.lines.values()}
        for delivery in Delivery.objects.filter(order=order).order_by("delivery_number"):
            line = by_id[delivery.line_id]
            delivery.line = line
            editor.deliveries[line.line_number][delivery.delivery_number] = delivery
        return editor

    # -- lookups ------------------------------------------------------------------------

    def line(self, number: int) -> Line:
        try:
            return self.lines[int(number)]
        except (KeyError, ValueError, TypeError):
            raise DomainError(
                f"Order {self.order.number} has no line {number}.", field="line", code="not_found"
            ) from None

    def delivery(self, line_number: int, number: int) -> Delivery:
        line = self.line(line_number)
        try:
            return self.deliveries[line.line_number][int(number)]
        except (KeyError, ValueError, TypeError):
            raise DomainError(
                f"Line {line.line_number} has no delivery {number}.",
                field="delivery",
                code="not_found",
            ) from None

    def live_deliveries(self, line: Line) -> list[Delivery]:
        return [
            d
            for d in self.deliveries[line.line_number].values()
            if d.status != LineStatus.CANCELLED
        ]

    def scheduled(self, line: Line) -> Decimal:
        return sum((d.quantity for d in self.live_deliveries(line)), ZERO)

    def received(self, line: Line) -> Decimal:
        return sum((d.received_quantity for d in self.deliveries[line.line_number].values()), ZERO)

    def touch(self, obj: Any) -> None:
        self.dirty.add(id(obj))

    # -- changes ------------------------------------------------------------------------

    def apply(self, change: OrderChange) -> None:
        if isinstance(change, SetHeader):
            self._set_header(change.field, change.value)
        elif isinstance(change, SetLine):
            self._set_line(self.line(change.line), change.field, change.value)
        elif isinstance(change, SetDelivery):
            self._set_delivery(
                self.delivery(change.line, change.delivery),
                change.field,
                change.value,
                proposed_by_supplier=change.proposed_by_supplier,
            )
        elif isinstance(change, AddLine):
            self.add_line(change.line)
        elif isinstance(change, CancelLine):
            self.cancel_line(self.line(change.line))
        elif isinstance(change, AddDelivery):
            self.add_delivery(self.line(change.line), change.quantity, change.due_date)
        elif isinstance(change, CancelDelivery):
            self.cancel_delivery(self.delivery(change.line, change.delivery))
        else:  # pragma: no cover - the union above is exhaustive
            raise TypeError(change)

    def _set_header(self, name: str, value: Any) -> None:
        if name not in HEADER_EDITABLE:
            raise DomainError(f"The order field '{name}' cannot be changed here.", field=name)
        if name in {"valid_from", "valid_to"}:
            value = None if value in (None, "") else rules.date(value, field=name, label=name)
        elif name == "currency":
            value = rules.text(
                value, field=name, label="Currency", max_length=3, required=True
            ).upper()
            if len(value) != 3 or not value.isalpha():
                raise DomainError("Currency must be a three-letter code such as USD.", field=name)
        else:
            limit = {"payment_terms": 100, "incoterms": 50}.get(name, 10_000)
            value = rules.text(value, field=name, label=name.replace("_", " "), max_length=limit)
        if getattr(self.order, name) != value:
            self.note(name, getattr(self.order, name), value)
            setattr(self.order, name, value)
            self.touch(self.order)

    def _check_line_changeable(self, line: Line) -> None:
        if line.status == LineStatus.CANCELLED:
            raise DomainError(f"Line {line.line_number} is cancelled.", field="line")

    def _set_line(self, line: Line, name: str, value: Any) -> None:
        self._check_line_changeable(line)
        if name not in LINE_EDITABLE:
            raise DomainError(f"The line field '{name}' cannot be changed here.", field=name)
        label = f"Line {line.line_number} {name.replace('_', ' ')}"
        if name == "quantity":
            quantity = rules.decimal(value, field=name, label=label, positive=True)
            if quantity == line.quantity:
                return
            if self.order.kind == OrderKind.STANDARD:
                # A standard line's quantity is the sum of its schedule: with one delivery
                # the delivery follows; with several, the buyer says which one changes.
                live = self.live_deliveries(line)
                if len(live) != 1:
                    raise DomainError(
                        f"Line {line.line_number} is split into {len(live)} deliveries; "
                        "change the quantity of the delivery instead.",
                        field="quantity",
                    )
                self._set_delivery(live[0], "quantity", quantity)
                return
            self.note(f"line {line.line_number}.quantity", line.quantity, quantity)
            line.quantity = quantity
        elif name == "unit_price":
            price = rules.decimal(value, field=name, label=label, positive=False)
            if price == line.unit_price:
                return
            self.note(f"line {line.line_number}.unit_price", line.unit_price, price)
            line.unit_price = price
        else:
            limit = {"description": 300, "vendor_part_number": 64, "unit_of_measure": 16}.get(
                name, 10_000
            )
            text = rules.text(
                value,
                field=name,
                label=label,
                max_length=limit,
                required=name in {"description", "unit_of_measure"},
            )
            if getattr(line, name) == text:
                return
            self.note(f"line {line.line_number}.{name}", getattr(line, name), text)
            setattr(line, name, text)
        self.touch(line)

    def _set_delivery(
        self, delivery: Delivery, name: str, value: Any, *, proposed_by_supplier: bool = False
    ) -> None:
        line = delivery.line
        self._check_line_changeable(line)
        where = f"Line {line.line_number} delivery {delivery.delivery_number}"
        key = f"line {line.line_number}.delivery {delivery.delivery_number}"
        if delivery.status == LineStatus.CANCELLED:
            raise DomainError(f"{where} is cancelled.", field="delivery")
        if name not in DELIVERY_EDITABLE:
            raise DomainError(f"The delivery field '{name}' cannot be changed here.", field=name)
        if name == "due_date":
            due = rules.date(value, field=name, label=f"{where} due date")
            if due == delivery.due_date:
                return
            if delivery.status == LineStatus.CLOSED:
                raise DomainError(
                    f"{where} is received in full; its due date is final.", field="due_date"
                )
            self.note(f"{key}.due_date", delivery.due_date, due)
            delivery.due_date = due
        else:
            quantity = rules.decimal(value, field=name, label=f"{where} quantity", positive=True)
            if quantity == delivery.quantity:
                return
            if quantity < delivery.received_quantity:
                raise DomainError(
                    f"{where} has {_fmt(delivery.received_quantity)} received; its quantity "
                    f"cannot go below that.",
                    field="quantity",
                )
            if self.order.kind == OrderKind.STANDARD:
                line.quantity += quantity - delivery.quantity
                self.touch(line)
            self.note(f"{key}.quantity", delivery.quantity, quantity)
            delivery.quantity = quantity
        self._renew_promise(delivery, key, proposed_by_supplier=proposed_by_supplier)
        self.touch(delivery)

    def _renew_promise(self, delivery: Delivery, key: str, *, proposed_by_supplier: bool) -> None:
        """What happens to a promise when what it promised changes: the one rule.

        A promise (`promised_date`) is the supplier's word for a delivery as it stood: that
        date, that quantity. When either changes,
        - to what the supplier itself proposed (the buyer accepted its proposal), the new
          due date is its promise: the delivery is confirmed as it now stands;
        - any other way (the buyer's revision, the ERP's sync, a changed release), the old
          promise covers something no longer asked for: it is withdrawn, the delivery
          shows "to confirm", and the supplier confirms again or proposes a change.
        Every path that changes a due date or quantity comes here (`_set_delivery`).
        """
        promise = delivery.due_date if proposed_by_supplier else None
        if delivery.promised_date != promise:
            self.note(f"{key}.promised_date", delivery.promised_date, promise)
            delivery.promised_date = promise

    def next_line_number(self) -> int:
        return (max(self.lines) if self.lines else 0) + 10

    def add_line(self, data: LineInput) -> Line:
        number = data.line_number if data.line_number is not None else self.next_line_number()
        if number <= 0:
            raise DomainError("Line numbers start at 1.", field="line_number")
        if number in self.lines:
            raise DomainError(
                f"Order {self.order.number} already has a line {number}.", field="line_number"
            )
        label = f"Line {number}"
        quantity = rules.decimal(
            data.quantity, field="quantity", label=f"{label} quantity", positive=True
        )
        price = rules.decimal(
            data.unit_price, field="unit_price", label=f"{label} unit price", positive=False
        )
        description = data.description or (data.item.description if data.item else "")
        uom = data.unit_of_measure or (data.item.unit_of_measure if data.item else "EA")
        line = Line(
            order=self.order,
            vendor_id=self.order.vendor_id,
            line_number=number,
            item=data.item,
            description=rules.text(
                description,
                field="description",
                label=f"{label} description",
                max_length=300,
                required=True,
            ),
            vendor_part_number=rules.text(
                data.vendor_part_number,
                field="vendor_part_number",
                label=f"{label} vendor part number",
                max_length=64,
            ),
            unit_of_measure=rules.text(
                uom,
                field="unit_of_measure",
                label=f"{label} unit of measure",
                max_length=16,
                required=True,
            ),
            quantity=quantity,
            unit_price=price,
            internal_notes=data.internal_notes,
            external_id=data.external_id,
        )
        self.lines[number] = line
        self.deliveries[number] = {}
        self.new_lines.append(line)
        schedule = list(data.deliveries)
        if not schedule and data.due_date is not None and self.order.kind == OrderKind.STANDARD:
            schedule = [DeliveryInput(quantity=quantity, due_date=data.due_date)]
        if self.order.kind == OrderKind.STANDARD and not schedule:
            raise DomainError(f"{label} needs a due date.", field="due_date")
        for entry in schedule:
            self.add_delivery(line, entry.quantity, entry.due_date, adjust_standard=False)
        return line

    def add_delivery(
        self, line: Line, quantity: Any, due_date: Any, *, adjust_standard: bool = True
    ) -> Delivery:
        self._check_line_changeable(line)
        where = f"Line {line.line_number}"
        qty = rules.decimal(
            quantity, field="quantity", label=f"{where} delivery quantity", positive=True
        )
        due = rules.date(due_date, field="due_date", label=f"{where} delivery due date")
        existing = self.deliveries[line.line_number]
        delivery = Delivery(
            order=self.order,
            line=line,
            vendor_id=self.order.vendor_id,
            delivery_number=(max(existing) if existing else 0) + 1,
            quantity=qty,
            due_date=due,
        )
        existing[delivery.delivery_number] = delivery
        self.new_deliveries.append(delivery)
        if adjust_standard and self.order.kind == OrderKind.STANDARD:
            # Splitting a standard line adds to what is ordered.
            line.quantity += qty
            self.touch(line)
        if line.status == LineStatus.CLOSED:
            line.status = LineStatus.OPEN
            self.touch(line)
        return delivery

    def cancel_delivery(self, delivery: Delivery) -> None:
        line = delivery.line
        self._check_line_changeable(line)
        where = f"Line {line.line_number} delivery {delivery.delivery_number}"
        if delivery.status == LineStatus.CANCELLED:
            raise DomainError(f"{where} is already cancelled.", field="delivery")
        if delivery.received_quantity > 0:
            raise DomainError(
                f"{where} has goods received; reduce its quantity to what was received instead.",
                field="delivery",
            )
        delivery.status = LineStatus.CANCELLED
        self.touch(delivery)
        if self.order.kind == OrderKind.STANDARD:
            if not self.live_deliveries(line):
                raise DomainError(
                    f"{where} is the line's last delivery; cancel line {line.line_number} instead.",
                    field="delivery",
                )
            line.quantity -= delivery.quantity
            self.touch(line)

    def cancel_line(self, line: Line) -> None:
        if line.status == LineStatus.CANCELLED:
            raise DomainError(f"Line {line.line_number} is already cancelled.", field="line")
        if self.received(line) != 0:
            raise DomainError(
                f"Line {line.line_number} has goods received; close it instead of cancelling.",
                field="line",
            )
        check_transition(
            LINE_TRANSITIONS, f"Line {line.line_number}", line.status, LineStatus.CANCELLED
        )
        line.status = LineStatus.CANCELLED
        self.touch(line)
        for delivery in self.live_deliveries(line):
            delivery.status = LineStatus.CANCELLED
            self.touch(delivery)

    def short_close_line(self, line: Line) -> None:
        """Close a line: what is not yet received is no longer wanted.

        Open deliveries with nothing received are cancelled, partly received ones are cut
        to what was received, and a blanket's commitment is cut to what was released; a
        line with nothing received at all is cancelled. The supplier sees these as changes.
        """
        if line.status != LineStatus.OPEN:
            raise DomainError(f"Line {line.line_number} is already {line.status}.", field="line")
        if self.received(line) == 0:
            self.cancel_line(line)
            return
        for delivery in self.live_deliveries(line):
            if delivery.status != LineStatus.OPEN:
                continue
            if delivery.received_quantity > 0:
                delivery.quantity = delivery.received_quantity
            else:
                delivery.status = LineStatus.CANCELLED
            self.touch(delivery)
        line.quantity = self.scheduled(line)
        self.touch(line)

    # -- rules and statuses -------------------------------------------------------------

    def validate(self) -> None:
        order = self.order
        if order.valid_from and order.valid_to and order.valid_to < order.valid_from:
            raise DomainError("The agreement cannot end before it starts.", field="valid_to")
        for line in self.lines.values():
            if line.status == LineStatus.CANCELLED:
                continue
            scheduled = self.scheduled(line)
            if order.kind == OrderKind.STANDARD and scheduled != line.quantity:
                raise DomainError(
                    f"Line {line.line_number}: deliveries add up to {_fmt(scheduled)} but the "
                    f"line quantity is {_fmt(line.quantity)}.",
                    field="quantity",
                )
            if order.kind == OrderKind.BLANKET and scheduled > line.quantity:
                raise DomainError(
                    f"Line {line.line_number}: releases would total {_fmt(scheduled)}, beyond "
                    f"the committed quantity of {_fmt(line.quantity)}.",
                    field="quantity",
                    code="over_commitment",
                )
            for delivery in self.live_deliveries(line):
                if delivery.received_quantity > max_receivable(delivery):
                    raise DomainError(
                        f"Line {line.line_number} delivery {delivery.delivery_number} has "
                        f"{_fmt(delivery.received_quantity)} received; its quantity cannot go "
                        "below that.",
                        field="quantity",
                    )
                if (
                    order.kind == OrderKind.BLANKET
                    and order.valid_to
                    and (delivery.due_date > order.valid_to)
                ):
                    raise DomainError(
                        f"Line {line.line_number} release {delivery.delivery_number} is due "
                        f"{delivery.due_date:%d %b %Y}, after the agreement ends on "
                        f"{order.valid_to:%d %b %Y}.",
                        field="due_date",
                    )

    def refresh_statuses(self) -> None:
        """Derive delivery, line and order status from quantities (receipts and changes)."""
        order = self.order
        for line in self.lines.values():
            if line.status == LineStatus.CANCELLED:
                continue
            for delivery in self.live_deliveries(line):
                want = (
                    LineStatus.CLOSED
                    if delivery.received_quantity >= delivery.quantity
                    else LineStatus.OPEN
                )
                if delivery.status != want:
                    delivery.status = want
                    self.touch(delivery)
            live = self.live_deliveries(line)
            complete = (
                bool(live)
                and all(d.status == LineStatus.CLOSED for d in live)
                and self.scheduled(line) >= line.quantity
            )
            want_line = LineStatus.CLOSED if complete else LineStatus.OPEN
            if line.status != want_line:
                check_transition(
                    LINE_TRANSITIONS, f"Line {line.line_number}", line.status, want_line
                )
                line.status = want_line
                self.touch(line)
        if order.status in (OrderStatus.DRAFT, OrderStatus.CANCELLED):
            return
        statuses = {line.status for line in self.lines.values()}
        if statuses <= {LineStatus.CANCELLED}:
            want_order = OrderStatus.CANCELLED
        elif LineStatus.OPEN in statuses:
            want_order = OrderStatus.ISSUED
        else:
            want_order = OrderStatus.CLOSED
        if order.status != want_order:
            check_transition(ORDER_TRANSITIONS, f"Order {order.number}", order.status, want_order)
            order.status = want_order
            order.closed_at = timezone.now() if want_order != OrderStatus.ISSUED else None
            self.touch(order)

    def save(self) -> None:
        # New lines and deliveries go in with one INSERT each where the database returns
        # the new ids (an ERP order of 10 lines would otherwise cost 20-30 statements);
        # a delivery takes its new line's id when it is saved. Changed rows are saved one
        # by one.
        bulk = connection.features.can_return_rows_from_bulk_insert
        inserted: set[int] = set()  # id() of rows just inserted, with their latest values
        if bulk:
            lines = [line for line in self.new_lines if line.pk is None]
            Line.objects.bulk_create(lines)
            inserted.update(id(line) for line in lines)
        for line in self.lines.values():
            if line.pk is None or (id(line) in self.dirty and id(line) not in inserted):
                line.save()
        if bulk:
            deliveries = [delivery for delivery in self.new_deliveries if delivery.pk is None]
            Delivery.objects.bulk_create(deliveries)
            inserted.update(id(delivery) for delivery in deliveries)
        for per_line in self.deliveries.values():
            for delivery in per_line.values():
                if delivery.pk is None or (
                    id(delivery) in self.dirty and id(delivery) not in inserted
                ):
                    delivery.save()
        # Every write moves the order's updated_at, so "updated since" finds it.
        self.order.save()

    def snapshot(self) -> revisions.Snapshot:
        """The order's revision snapshot from memory (after `save`, it is what is stored)."""
        return revisions.snapshot_of(
            self.order,
            [
                (line, self.deliveries[number].values())
                for number, line in sorted(self.lines.items())
            ],
        )


def _lock_order(order: PurchaseOrder) -> PurchaseOrder:
    return PurchaseOrder.objects.select_for_update().get(pk=order.pk)


def _record_revision(
    editor: _Editor, *, by: User | None, reason: str
) -> tuple[Revision | None, list[revisions.Change]]:
    """Bump the revision if the supplier-visible content changed; return it and the changes."""
    order = editor.order
    # Revision 0 is a draft's: there is nothing before it to read.
    previous = order.revisions.order_by("-number").first() if order.revision else None
    before = previous.snapshot if previous else revisions.empty_snapshot()
    after = editor.snapshot()
    changes = revisions.diff_snapshots(before, after)
    if not changes:
        return None, []
    order.revision += 1
    order.save(update_fields=["revision", "updated_at"])
    revision = Revision.objects.create(
        order=order,
        vendor_id=order.vendor_id,
        number=order.revision,
        created_by=by,
        reason=reason,
        changes=changes,
        snapshot=after,
    )
    return revision, changes


def _summary(changes: list[revisions.Change], limit: int = 3) -> str:
    changes = revisions.visible_changes(changes)
    words = [revisions.describe_change(c) for c in changes[:limit]]
    if len(changes) > limit:
        words.append(f"and {len(changes) - limit} more")
    return "; ".join(words)


# ---------------------------------------------------------------------------------------
# Orders
# ---------------------------------------------------------------------------------------


# Any fixed 64-bit key: the advisory lock below is taken on this number.
ORDER_CREATION_LOCK = 0x504F_4E554D  # "PONUM"


def lock_order_creation() -> None:
    """Serialise order creation until this transaction ends.

    The next PO number is read from the highest existing one, and a new order's number
    and external id are checked for duplicates before the insert: two creations at once
    would read the same highest number (or both find no duplicate) and the unique index
    would refuse one of them with an IntegrityError. On PostgreSQL a transaction-scoped
    advisory lock makes them take turns (the second then sees the first's order); SQLite
    already runs one write transaction at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ORDER_CREATION_LOCK])


def _next_order_number() -> str:
    numbers = PurchaseOrder.objects.filter(number__startswith="PO-").values_list(
        "number", flat=True
    )
    highest = max((int(n[3:]) for n in numbers if n[3:].isdigit()), default=100000)
    return f"PO-{highest + 1}"


@service
def order_create(
    *,
    vendor: Vendor,
    by: User | None,
    lines: Sequence[LineInput] = (),
    kind: str = OrderKind.STANDARD,
    number: str | None = None,
    order_date: dt.date | None = None,
    buyer: User | None = None,
    currency: str = "USD",
    payment_terms: str = "",
    incoterms: str = "",
    ship_to: str = "",
    notes_to_vendor: str = "",
    internal_notes: str = "",
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
    external_id: str | None = None,
    issue: bool = False,
    reason: str = "",
) -> PurchaseOrder:
    """Create a draft order. Drafts are edited freely and are not shown to the supplier.

    `issue=True` creates it issued, as `order_issue` right after would (revision 1, one
    "order.issued" event) but without reading back what was just written: the ERP sync
    creates thousands of orders this way.
    """
    if kind not in OrderKind.values:
        raise DomainError(f"'{kind}' is not an order kind (standard or blanket).", field="kind")
    if not vendor.active:
        raise DomainError(f"Vendor {vendor.code} is inactive; no new orders.", field="vendor")
    lock_order_creation()
    number = rules.identifier(number, field="number", label="Order number", required=False) or (
        _next_order_number()
    )
    if PurchaseOrder.objects.filter(number=number).exists():
        raise DomainError(
            f"An order numbered {number} already exists.", field="number", code="duplicate"
        )
    if external_id and PurchaseOrder.objects.filter(external_id=external_id).exists():
        raise DomainError(
            f"An order with external id {external_id} already exists.",
            field="external_id",
            code="duplicate",
        )
    order = PurchaseOrder.objects.create(
        number=number,
        vendor=vendor,
        buyer=buyer or by,
        kind=kind,
        order_date=order_date or timezone.localdate(),
        external_id=external_id or None,
    )
    editor = _Editor(order=order)  # a new order: nothing to load
    header = {
        "currency": currency,
        "payment_terms": payment_terms,
        "incoterms": incoterms,
        "ship_to": ship_to,
        "notes_to_vendor": notes_to_vendor,
        "internal_notes": internal_notes,
        "valid_from": valid_from,
        "valid_to": valid_to,
    }
    for name, value in header.items():
        editor.apply(SetHeader(name, value))
    for data in lines:
        editor.add_line(data)
    editor.validate()
    if issue:
        _check_issuable(editor)
        order.status = OrderStatus.ISSUED
        order.issued_at = timezone.now()
    editor.save()
    if issue:
        _record_issue(editor, by=by, reason=reason)
        return order
    record_event(
        kind="order.created",
        vendor_id=vendor.pk,
        order_id=order.pk,
        actor=by,
        internal=True,
        summary=f"Draft {order.number} created with {len(lines)} line(s).",
        data={"order": order.number},
    )
    return order


@service
def order_issue(*, order: PurchaseOrder, by: User | None, reason: str = "") -> PurchaseOrder:
    """Send a draft to the supplier as revision 1 (its change list is the whole order)."""
    order = _lock_order(order)
    if order.status != OrderStatus.DRAFT:
        raise DomainError(
            f"Order {order.number} is already {order.get_status_display().lower()}; only a "
            "draft can be issued.",
            field="status",
        )
    editor = _Editor.load(order)
    _check_issuable(editor)
    editor.validate()
    order.status = OrderStatus.ISSUED
    order.issued_at = timezone.now()
    order.save()
    _record_issue(editor, by=by, reason=reason)
    return order


def _check_issuable(editor: _Editor) -> None:
    if not any(line.status != LineStatus.CANCELLED for line in editor.lines.values()):
        raise DomainError(f"Order {editor.order.number} has no lines to issue.", field="lines")


def _record_issue(editor: _Editor, *, by: User | None, reason: str) -> None:
    """Revision 1 of a just-issued order (its change list is the whole order), and the event."""
    order = editor.order
    revision, changes = _record_revision(editor, by=by, reason=reason or "Issued")
    if revision is None:  # pragma: no cover - an order with lines always differs from empty
        raise DomainError(f"Order {order.number} has nothing to issue.")
    record_event(
        kind="order.issued",
        vendor_id=order.vendor_id,
        order_id=order.pk,
        actor=by,
        revision=revision.number,
        summary=f"Order {order.number} issued with {len(editor.lines)} line(s).",
        data={"order": order.number, "revision": revision.number},
        changes=audit.revision_changes(changes),
    )


def _revise(
    order: PurchaseOrder,
    *,
    by: User | None,
    reason: str,
    kind: str,
    summary: str | None,
    edit: Any,
    data: dict[str, Any] | None = None,
    draft_kind: str = "order.draft_updated",
) -> PurchaseOrder:
    """Shared body of every order edit: lock, edit in memory, validate, save, record."""
    order = _lock_order(order)
    if order.status == OrderStatus.CANCELLED:
        raise DomainError(f"Order {order.number} is cancelled.", field="order")
    editor = _Editor.load(order)
    edit(editor)
    editor.validate()
    editor.refresh_statuses()
    if not editor.dirty and not editor.new_lines and not editor.new_deliveries:
        raise DomainError("Nothing to change: the values are the same as before.", code="no_change")
    editor.save()
    if order.issued_at is None:
        # Never issued: the supplier has not seen it, so there is no revision to tell.
        record_event(
            kind=draft_kind,
            vendor_id=order.vendor_id,
            order_id=order.pk,
            actor=by,
            internal=True,
            summary=summary or f"Draft {order.number} edited.",
            data={"order": order.number, **(data or {})},
            changes=editor.edits,
        )
        return order
    revision, changes = _record_revision(editor, by=by, reason=reason)
    if revision is None:
        # Only internal fields changed: the supplier is not told, buyers see it.
        record_event(
            kind="order.internal_updated",
            vendor_id=order.vendor_id,
            order_id=order.pk,
            actor=by,
            internal=True,
            summary=summary or f"Internal details of {order.number} edited.",
            data={"order": order.number, **(data or {})},
            changes=editor.edits,
        )
    else:
        record_event(
            kind=kind,
            vendor_id=order.vendor_id,
            order_id=order.pk,
            actor=by,
            revision=revision.number,
            summary=summary or f"Revision {revision.number}: {_summary(changes)}",
            changes={**editor.edits, **audit.revision_changes(changes)},
            data={"order": order.number, "revision": revision.number, **(data or {})},
        )
    _rematch_invoices(line.pk for line in editor.lines.values())
    return order


@service
def order_revise(
    *,
    order: PurchaseOrder,
    changes: Sequence[OrderChange],
    by: User | None,
    reason: str = "",
    event_kind: str = "order.revised",
    event_summary: str | None = None,
    event_data: dict[str, Any] | None = None,
) -> PurchaseOrder:
    """Apply buyer changes. An issued order gets revision + 1 with the list of changes;
    a draft is edited without revisions.

    A service that revises on behalf of another action (accepting a supplier's proposal)
    names its own event, so the one write still records exactly one event.
    """
    if not changes:
        raise DomainError("Nothing to change.", code="no_change")

    def edit(editor: _Editor) -> None:
        for change in changes:
            editor.apply(change)

    return _revise(
        order,
        by=by,
        reason=reason,
        kind=event_kind,
        summary=event_summary,
        edit=edit,
        data=event_data,
    )


@dataclass(frozen=True)
class Release:
    """One release of a call-off: so much of a blanket line, due then."""

    line: int
    quantity: Decimal
    due_date: dt.date


@service
def call_off(
    *,
    order: PurchaseOrder,
    releases: Sequence[Release],
    by: User | None,
    reason: str = "",
) -> list[Delivery]:
    """Release several quantities of a blanket order at once (a call-off, an MRP run): one
    revision, so the supplier acknowledges the call-off once. Each release is refused
    beyond its line's committed quantity, and then none is made."""
    if order.kind != OrderKind.BLANKET:
        raise DomainError(
            f"Order {order.number} is not a blanket order; add a delivery instead.", field="line"
        )
    if not releases:
        raise DomainError("Release at least one quantity.", field="releases")
    added: list[Delivery] = []

    def edit(editor: _Editor) -> None:
        for release in releases:
            added.append(
                editor.add_delivery(editor.line(release.line), release.quantity, release.due_date)
            )

    lines = sorted({release.line for release in releases})
    _revise(
        order,
        by=by,
        reason=reason
        or (f"Call-off: {len(releases)} releases" if len(releases) > 1 else "Release added"),
        kind="release.added",
        summary=None,
        edit=edit,
        data={"lines": lines, "releases": len(releases)},
    )
    return added


@service
def release_add(
    *,
    line: Line,
    quantity: Decimal,
    due_date: dt.date,
    by: User | None,
    reason: str = "",
) -> Delivery:
    """Add one release to a blanket line (a call-off of one)."""
    (added,) = call_off(
        order=line.order,
        releases=[Release(line.line_number, quantity, due_date)],
        by=by,
        reason=reason,
    )
    return added


@service
def line_close(*, line: Line, by: User | None, reason: str = "") -> Line:
    number = line.line_number

    def edit(editor: _Editor) -> None:
        editor.short_close_line(editor.line(number))

    order = _revise(
        line.order,
        by=by,
        reason=reason or f"Line {number} closed",
        kind="line.closed",
        summary=None,
        edit=edit,
        data={"line": number},
    )
    return order.lines.get(line_number=number)


@service
def line_cancel(*, line: Line, by: User | None, reason: str = "") -> Line:
    number = line.line_number

    def edit(editor: _Editor) -> None:
        editor.cancel_line(editor.line(number))

    order = _revise(
        line.order,
        by=by,
        reason=reason or f"Line {number} cancelled",
        kind="line.cancelled",
        summary=None,
        edit=edit,
        data={"line": number},
    )
    return order.lines.get(line_number=number)


@service
def order_close(*, order: PurchaseOrder, by: User | None, reason: str = "") -> PurchaseOrder:
    """Close an issued order: every open line is closed (what is not received is not wanted)."""

    def edit(editor: _Editor) -> None:
        if editor.order.status != OrderStatus.ISSUED:
            raise DomainError(
                f"Order {editor.order.number} is {editor.order.get_status_display().lower()}; "
                "only an issued order can be closed.",
                field="status",
            )
        if all(editor.received(line) == 0 for line in editor.lines.values()):
            raise DomainError(
                f"Nothing was received on {editor.order.number}; cancel it instead of closing.",
                field="status",
            )
        for line in editor.lines.values():
            if line.status == LineStatus.OPEN:
                editor.short_close_line(line)

    return _revise(
        order,
        by=by,
        reason=reason or "Order closed",
        kind="order.closed",
        summary=f"Order {order.number} closed: what is not yet received is no longer wanted.",
        edit=edit,
    )


@service
def order_cancel(*, order: PurchaseOrder, by: User | None, reason: str = "") -> PurchaseOrder:
    """Cancel an order with nothing received (a draft is simply withdrawn)."""

    def edit(editor: _Editor) -> None:
        check_transition(
            ORDER_TRANSITIONS,
            f"Order {editor.order.number}",
            editor.order.status,
            OrderStatus.CANCELLED,
        )
        for line in editor.lines.values():
            if line.status != LineStatus.CANCELLED:
                editor.cancel_line(line)
        editor.order.status = OrderStatus.CANCELLED
        editor.touch(editor.order)

    return _revise(
        order,
        by=by,
        reason=reason or "Order cancelled",
        kind="order.cancelled",
        summary=f"Order {order.number} cancelled.",
        edit=edit,
        draft_kind="order.cancelled",
    )


# ---------------------------------------------------------------------------------------
# Receipts and returns
# ---------------------------------------------------------------------------------------


def _receipt_number(order: PurchaseOrder, prefix: str) -> str:
    # The order row is locked, so counting its receipts gives a unique next number.
    count = Receipt.objects.filter(order=order).count()
    return f"{prefix}-{order.number}-{count + 1}"


def _check_receipt_lines(
    order: PurchaseOrder, lines: Sequence[ReceiptLineInput], editor: _Editor
) -> list[tuple[Delivery, Decimal]]:
    if not lines:
        raise DomainError("A receipt needs at least one line.", field="lines")
    by_pk = {d.pk: d for per in editor.deliveries.values() for d in per.values()}
    seen: set[int] = set()
    result = []
    for entry in lines:
        delivery = by_pk.get(entry.delivery.pk)
        if delivery is None:
            raise DomainError(
                f"That delivery is not on order {order.number}.", field="delivery", code="not_found"
            )
        if delivery.pk in seen:
            raise DomainError(
                f"Line {delivery.line.line_number} delivery {delivery.delivery_number} is listed "
                "twice; enter it once with the total quantity.",
                field="delivery",
            )
        seen.add(delivery.pk)
        label = f"Line {delivery.line.line_number} delivery {delivery.delivery_number} quantity"
        result.append(
            (delivery, rules.decimal(entry.quantity, field="quantity", label=label, positive=True))
        )
    return result


@service
def receipt_record(
    *,
    order: PurchaseOrder,
    lines: Sequence[ReceiptLineInput],
    by: User | None,
    receipt_date: dt.date | None = None,
    packing_slip: str = "",
    number: str | None = None,
    external_id: str | None = None,
) -> Receipt:
    """Receive goods against open deliveries; over-receipt beyond the tolerance is refused.

    A delivery received in full closes; a line whose deliveries are all closed closes; an
    order whose lines are all closed closes.
    """
    order = _lock_order(order)
    if order.status != OrderStatus.ISSUED:
        raise DomainError(
            f"Order {order.number} is {order.get_status_display().lower()}; goods "
            "can be received only on an issued order.",
            field="order",
        )
    editor = _Editor.load(order)
    entries = _check_receipt_lines(order, lines, editor)
    for delivery, quantity in entries:
        where = f"Line {delivery.line.line_number} delivery {delivery.delivery_number}"
        if delivery.status != LineStatus.OPEN:
            raise DomainError(
                f"{where} is {delivery.status}; nothing more can be received on it.",
                field="delivery",
            )
        limit = max_receivable(delivery)
        if delivery.received_quantity + quantity > limit:
            raise DomainError(
                f"{where}: receiving {_fmt(quantity)} would bring the total to "
                f"{_fmt(delivery.received_quantity + quantity)}, beyond the "
                f"{_fmt(delivery.quantity)} ordered plus {_fmt(_tolerance())}% tolerance "
                f"(at most {_fmt(limit - delivery.received_quantity)} more).",
                field="quantity",
                code="over_receipt",
            )
        delivery.received_quantity += quantity
        editor.touch(delivery)
    if number and Receipt.objects.filter(number=number).exists():
        raise DomainError(
            f"A receipt numbered {number} already exists.", field="number", code="duplicate"
        )
    # Checked under the order's lock, like the number: the same receipt sent twice at once
    # is refused by name instead of failing on the unique index.
    if external_id and Receipt.objects.filter(external_id=external_id).exists():
        raise DomainError(
            f"A receipt with external id {external_id} already exists.",
            field="external_id",
            code="duplicate",
        )
    receipt = Receipt.objects.create(
        number=rules.text(number, field="number", label="Receipt number", max_length=32)
        or _receipt_number(order, "GR"),
        vendor_id=order.vendor_id,
        order=order,
        kind=ReceiptKind.RECEIPT,
        receipt_date=receipt_date or timezone.localdate(),
        packing_slip=rules.text(
            packing_slip, field="packing_slip", label="Packing slip", max_length=100
        ),
        external_id=external_id or None,
        created_by=by,
    )
    ReceiptLine.objects.bulk_create(
        ReceiptLine(
            receipt=receipt,
            vendor_id=order.vendor_id,
            delivery=delivery,
            line=delivery.line,
            quantity=quantity,
        )
        for delivery, quantity in entries
    )
    editor.refresh_statuses()
    editor.save()
    _rematch_invoices({delivery.line.pk for delivery, _ in entries})
    total = sum((q for _, q in entries), ZERO)
    record_event(
        kind="receipt.recorded",
        vendor_id=order.vendor_id,
        order_id=order.pk,
        actor=by,
        summary=f"Receipt {receipt.number}: {_fmt(total)} received on {len(entries)} "
        f"deliver{'y' if len(entries) == 1 else 'ies'}"
        + (f" (packing slip {receipt.packing_slip})" if receipt.packing_slip else "")
        + ("; order closed" if order.status == OrderStatus.CLOSED else ""),
        data={
            "order": order.number,
            "receipt": receipt.number,
            "deliveries": [d.pk for d, _ in entries],
        },
    )
    return receipt


@service
def return_record(
    *,
    order: PurchaseOrder,
    lines: Sequence[ReceiptLineInput],
    reason: str,
    by: User | None,
    return_date: dt.date | None = None,
    number: str | None = None,
    external_id: str | None = None,
) -> Receipt:
    """Return goods to the vendor: a new receipt entry with negative quantities and a reason.

    The returned quantity is open again (the supplier owes a replacement), so a closed
    delivery, line or order reopens. To not want a replacement, close the line afterwards.
    """
    order = _lock_order(order)
    if order.status not in (OrderStatus.ISSUED, OrderStatus.CLOSED):
        raise DomainError(
            f"Order {order.number} is {order.get_status_display().lower()}; "
            "nothing was received on it.",
            field="order",
        )
    reason = rules.text(
        reason, field="reason", label="Reason for the return", max_length=2000, required=True
    )
    editor = _Editor.load(order)
    entries = _check_receipt_lines(order, lines, editor)
    for delivery, quantity in entries:
        where = f"Line {delivery.line.line_number} delivery {delivery.delivery_number}"
        if quantity > delivery.received_quantity:
            raise DomainError(
                f"{where}: cannot return {_fmt(quantity)}; only "
                f"{_fmt(delivery.received_quantity)} was received.",
                field="quantity",
            )
        delivery.received_quantity -= quantity
        editor.touch(delivery)
    receipt = Receipt.objects.create(
        number=rules.text(number, field="number", label="Return number", max_length=32)
        or _receipt_number(order, "RT"),
        vendor_id=order.vendor_id,
        order=order,
        kind=ReceiptKind.RETURN,
        receipt_date=return_date or timezone.localdate(),
        reason=reason,
        external_id=external_id or None,
        created_by=by,
    )
    ReceiptLine.objects.bulk_create(
        ReceiptLine(
            receipt=receipt,
            vendor_id=order.vendor_id,
            delivery=delivery,
            line=delivery.line,
            quantity=-quantity,
        )
        for delivery, quantity in entries
    )
    editor.refresh_statuses()
    editor.save()
    _rematch_invoices({delivery.line.pk for delivery, _ in entries})
    total = sum((q for _, q in entries), ZERO)
    record_event(
        kind="return.recorded",
        vendor_id=order.vendor_id,
        order_id=order.pk,
        actor=by,
        summary=f"Return {receipt.number}: {_fmt(total)} returned — {reason}",
        data={
            "order": order.number,
            "receipt": receipt.number,
            "deliveries": [d.pk for d, _ in entries],
        },
    )
    return receipt


# ---------------------------------------------------------------------------------------
# Invoices and payments
# ---------------------------------------------------------------------------------------


def _price_varies(invoiced: Decimal, ordered: Decimal) -> bool:
    tolerance = ordered * Decimal(settings.INVOICE_PRICE_TOLERANCE_PERCENT) / HUNDRED
    return abs(invoiced - ordered) > tolerance


def _rematch_invoices(line_ids: Any) -> None:
    """Recompute the three-way match of every live invoice line on these order lines.

    Quantity is matched cumulatively in invoice order: an invoice line is an exception
    when, with it, more has been invoiced on the order line than was received.
    """
    ids = set(line_ids)
    if not ids:
        return
    invoice_lines = list(
        InvoiceLine.objects.filter(order_line_id__in=ids)
        .exclude(invoice__status=InvoiceStatus.VOID)
        .select_related("order_line", "invoice")
        .order_by("order_line_id", "invoice__invoice_date", "invoice_id", "id")
    )
    if not invoice_lines:
        return
    received = dict(
        Delivery.objects.filter(line_id__in=ids)
        .values("line_id")
        .annotate(total=Sum("received_quantity"))
        .values_list("line_id", "total")
    )
    running: dict[int, Decimal] = {}
    changed = []
    for inv_line in invoice_lines:
        order_line = inv_line.order_line
        got = received.get(order_line.pk) or ZERO
        running[order_line.pk] = running.get(order_line.pk, ZERO) + inv_line.quantity
        qty_bad = running[order_line.pk] > got
        price_bad = _price_varies(inv_line.unit_price, order_line.unit_price)
        status = (
            MatchStatus.QUANTITY_AND_PRICE
            if qty_bad and price_bad
            else MatchStatus.QUANTITY_EXCEPTION
            if qty_bad
            else MatchStatus.PRICE_VARIANCE
            if price_bad
            else MatchStatus.MATCHED
        )
        values = {
            "match_status": status,
            "ordered_quantity": order_line.quantity,
            "received_quantity": got,
            "invoiced_quantity": running[order_line.pk],
            "order_unit_price": order_line.unit_price,
        }
        if any(getattr(inv_line, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(inv_line, k, v)
            changed.append(inv_line)
    if changed:
        InvoiceLine.objects.bulk_update(changed, list(values))


@service
def invoice_record(
    *,
    vendor: Vendor,
    number: str,
    lines: Sequence[InvoiceLineInput],
    by: User | None,
    invoice_date: dt.date | None = None,
    due_date: dt.date | None = None,
    currency: str | None = None,
    external_id: str | None = None,
) -> Invoice:
    """Record a supplier's invoice against order lines; each line is matched at once."""
    number = rules.text(
        number, field="number", label="Invoice number", max_length=64, required=True
    )
    Vendor.objects.select_for_update().get(pk=vendor.pk)  # one invoice number at a time
    if Invoice.objects.filter(vendor=vendor, number=number).exists():
        raise DomainError(
            f"Vendor {vendor.code} already has an invoice numbered {number}.",
            field="number",
            code="duplicate",
        )
    if not lines:
        raise DomainError("An invoice needs at least one line.", field="lines")
    invoice_date = invoice_date or timezone.localdate()
    if due_date and due_date < invoice_date:
        raise DomainError("The due date cannot be before the invoice date.", field="due_date")
    orders: dict[int, PurchaseOrder] = {}
    prepared = []
    for entry in lines:
        line = Line.objects.select_related("order").get(pk=entry.order_line.pk)
        order = line.order
        label = f"{order.number} line {line.line_number}"
        if line.vendor_id != vendor.pk:
            raise DomainError(
                f"{label} is not an order line of vendor {vendor.code}.",
                field="order_line",
                code="not_found",
            )
        if order.status not in (OrderStatus.ISSUED, OrderStatus.CLOSED):
            raise DomainError(
                f"{order.number} is {order.get_status_display().lower()}; it cannot be invoiced.",
                field="order_line",
            )
        if line.status == LineStatus.CANCELLED:
            raise DomainError(f"{label} is cancelled; it cannot be invoiced.", field="order_line")
        quantity = rules.decimal(
            entry.quantity, field="quantity", label=f"{label} quantity", positive=True
        )
        price = rules.decimal(
            entry.unit_price, field="unit_price", label=f"{label} unit price", positive=False
        )
        orders[order.pk] = order
        prepared.append((line, quantity, price))
    currencies = {o.currency for o in orders.values()}
    currency = (currency or next(iter(currencies))).upper()
    if currencies != {currency}:
        raise DomainError(
            f"The invoice is in {currency} but its orders are in {', '.join(sorted(currencies))}.",
            field="currency",
        )
    invoice = Invoice.objects.create(
        vendor=vendor,
        number=number,
        invoice_date=invoice_date,
        due_date=due_date,
        currency=currency,
        external_id=external_id or None,
        created_by=by,
    )
    inv_lines = [
        InvoiceLine(
            invoice=invoice,
            vendor=vendor,
            order_line=line,
            quantity=quantity,
            unit_price=price,
            amount=(quantity * price).quantize(CENT),
        )
        for line, quantity, price in prepared
    ]
    InvoiceLine.objects.bulk_create(inv_lines)
    invoice.total_amount = sum((il.amount for il in inv_lines), ZERO)
    invoice.save(update_fields=["total_amount", "updated_at"])
    _rematch_invoices({line.pk for line, _, _ in prepared})
    exceptions = invoice.lines.exclude(match_status=MatchStatus.MATCHED).count()
    first_order = next(iter(orders.values()))
    for order in orders.values():
        order.save(update_fields=["updated_at"])
    record_event(
        kind="invoice.recorded",
        vendor_id=vendor.pk,
        order_id=first_order.pk,
        actor=by,
        summary=f"Invoice {invoice.number} recorded: {invoice.currency} "
        f"{invoice.total_amount:,.2f}"
        # Said of the moment it was recorded: a later receipt or return can change the
        # match, and the order's timeline shows the invoice's state now beside this.
        + (
            f", {exceptions} line(s) with match exceptions when recorded"
            if exceptions
            else ", matched when recorded"
        ),
        data={
            "invoice": invoice.pk,
            "number": invoice.number,
            "orders": sorted(o.number for o in orders.values()),
        },
    )
    return invoice


def _invoice_payment_status(invoice: Invoice) -> str:
    if invoice.paid_amount <= 0:
        return InvoiceStatus.OPEN
    if invoice.paid_amount < invoice.total_amount:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.PAID


def _invoice_event(
    invoice: Invoice,
    *,
    kind: str,
    by: User | None,
    summary: str,
    data: dict[str, Any] | None = None,
    changes: dict[str, list[Any]] | None = None,
) -> None:
    first = invoice.lines.select_related("order_line").first()
    record_event(
        kind=kind,
        vendor_id=invoice.vendor_id,
        order_id=first.order_line.order_id if first else None,
        actor=by,
        summary=summary,
        data={"invoice": invoice.pk, "number": invoice.number, **(data or {})},
        changes=changes,
    )


@service
def payment_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    by: User | None,
    paid_on: dt.date | None = None,
    reference: str = "",
    external_id: str | None = None,
) -> Payment:
    """Record a payment; the invoice becomes partially paid or paid. Overpayment is refused."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    amount = rules.decimal(amount, field="amount", label="Payment amount", positive=True, places=2)
    if invoice.status in (InvoiceStatus.VOID, InvoiceStatus.PAID):
        raise DomainError(
            f"Invoice {invoice.number} is {invoice.get_status_display().lower()}; "
            "no payment can be recorded.",
            field="invoice",
        )
    if invoice.status == InvoiceStatus.DISPUTED:
        raise DomainError(
            f"Invoice {invoice.number} is disputed; resolve the dispute before paying.",
            field="invoice",
        )
    outstanding = invoice.total_amount - invoice.paid_amount
    if amount > outstanding:
        raise DomainError(
            f"Payment of {amount:,.2f} exceeds the {outstanding:,.2f} outstanding "
            f"on invoice {invoice.number}.",
            field="amount",
            code="overpayment",
        )
    payment = Payment.objects.create(
        invoice=invoice,
        vendor_id=invoice.vendor_id,
        amount=amount,
        paid_on=paid_on or timezone.localdate(),
        reference=rules.text(reference, field="reference", label="Reference", max_length=100),
        external_id=external_id or None,
        created_by=by,
    )
    old_paid, old_status = invoice.paid_amount, invoice.status
    invoice.paid_amount += amount
    new_status = _invoice_payment_status(invoice)
    check_transition(INVOICE_TRANSITIONS, f"Invoice {invoice.number}", invoice.status, new_status)
    invoice.status = new_status
    invoice.save(update_fields=["paid_amount", "status", "updated_at"])
    _invoice_event(
        invoice,
        kind="payment.recorded",
        by=by,
        summary=f"Payment of {invoice.currency} {amount:,.2f} on invoice {invoice.number}"
        f" ({invoice.get_status_display().lower()})",
        data={"payment": payment.pk},
        changes={
            "paid_amount": [str(old_paid), str(invoice.paid_amount)],
            "status": [old_status, invoice.status],
        },
    )
    return payment


@service
def invoice_dispute(*, invoice: Invoice, by: User | None, reason: str) -> Invoice:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    reason = rules.text(reason, field="reason", label="Reason", max_length=2000, required=True)
    check_transition(
        INVOICE_TRANSITIONS, f"Invoice {invoice.number}", invoice.status, InvoiceStatus.DISPUTED
    )
    if invoice.status == InvoiceStatus.DISPUTED:
        raise DomainError(f"Invoice {invoice.number} is already disputed.", field="status")
    old_status = invoice.status
    invoice.status = InvoiceStatus.DISPUTED
    invoice.save(update_fields=["status", "updated_at"])
    _invoice_event(
        invoice,
        kind="invoice.disputed",
        by=by,
        changes={"status": [old_status, invoice.status]},
        summary=f"Invoice {invoice.number} disputed: {reason}",
        # Shared with the supplier (the invoice page and its e-mail say why).
        data={"reason": reason},
    )
    return invoice


@service
def invoice_resolve_dispute(*, invoice: Invoice, by: User | None, note: str = "") -> Invoice:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.DISPUTED:
        raise DomainError(f"Invoice {invoice.number} is not disputed.", field="status")
    invoice.status = _invoice_payment_status(invoice)
    invoice.save(update_fields=["status", "updated_at"])
    _invoice_event(
        invoice,
        kind="invoice.dispute_resolved",
        by=by,
        changes={"status": [InvoiceStatus.DISPUTED, invoice.status]},
        summary=f"Dispute on invoice {invoice.number} resolved" + (f": {note}" if note else "."),
    )
    return invoice


@service
def invoice_void(*, invoice: Invoice, by: User | None, reason: str) -> Invoice:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    reason = rules.text(reason, field="reason", label="Reason", max_length=2000, required=True)
    if invoice.paid_amount > 0:
        raise DomainError(
            f"Invoice {invoice.number} has payments; it cannot be voided.", field="status"
        )
    check_transition(
        INVOICE_TRANSITIONS, f"Invoice {invoice.number}", invoice.status, InvoiceStatus.VOID
    )
    old_status = invoice.status
    invoice.status = InvoiceStatus.VOID
    invoice.save(update_fields=["status", "updated_at"])
    _rematch_invoices(invoice.lines.values_list("order_line_id", flat=True))
    _invoice_event(
        invoice,
        kind="invoice.voided",
        by=by,
        summary=f"Invoice {invoice.number} voided: {reason}",
        changes={"status": [old_status, invoice.status]},
    )
    return invoice


__all__ = [
    "AddDelivery",
    "AddLine",
    "CancelDelivery",
    "CancelLine",
    "DeliveryInput",
    "DomainError",
    "InvoiceLineInput",
    "LineInput",
    "OrderChange",
    "ReceiptLineInput",
    "Release",
    "SetDelivery",
    "SetHeader",
    "SetLine",
    "call_off",
    "invoice_dispute",
    "invoice_record",
    "invoice_resolve_dispute",
    "invoice_void",
    "line_cancel",
    "line_close",
    "order_cancel",
    "order_close",
    "order_create",
    "order_issue",
    "order_revise",
    "payment_record",
    "receipt_record",
    "release_add",
    "return_record",
]
