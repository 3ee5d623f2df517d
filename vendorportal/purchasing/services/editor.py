"""How an order changes: one in-memory working copy of the order, validated as a whole,
then saved with its revision (the one path every change to an order takes), and the
value checks the documents share."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from vendorportal.accounts.models import User
from vendorportal.errors import DomainError
from vendorportal.purchasing import revisions, rules
from vendorportal.purchasing.models import (
    ZERO,
    Delivery,
    Line,
    LineStatus,
    OrderKind,
    OrderStatus,
    PurchaseOrder,
    Revision,
)
from vendorportal.purchasing.services.inputs import (
    DELIVERY_EDITABLE,
    HEADER_EDITABLE,
    LINE_EDITABLE,
    AddDelivery,
    AddLine,
    CancelDelivery,
    CancelLine,
    DeliveryInput,
    LineInput,
    OrderChange,
    SetDelivery,
    SetHeader,
    SetLine,
)
from vendorportal.purchasing.states import (
    LINE_TRANSITIONS,
    ORDER_TRANSITIONS,
    check_transition,
)

HUNDRED = Decimal(100)
CENT = Decimal("0.01")

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
