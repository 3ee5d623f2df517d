"""The demo's story, planned first: timed steps (create, issue, revise, release, receive,
invoice, pay, ...) for every order, in the order they happened."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.utils import timezone

from vendorportal.collaboration import attachments
from vendorportal.collaboration import services as collaboration
from vendorportal.collaboration.models import (
    AttachmentKind,
    ChangeProposal,
)
from vendorportal.purchasing import services
from vendorportal.purchasing.demo import documents
from vendorportal.purchasing.demo.data import (
    BUYER_OF_VENDOR,
    ITEM_BY_PART,
    RESPONDERS,
    VENDOR_BY_CODE,
    DemoError,
    ItemSpec,
)
from vendorportal.purchasing.models import (
    ZERO,
    Delivery,
    Line,
    PurchaseOrder,
    ShipNotice,
)

if TYPE_CHECKING:  # the builder runs the plan; the plan only names it
    from vendorportal.purchasing.demo.builder import (
        _Builder,
    )


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------

CENT = Decimal("0.01")


def _workday(day: dt.date, *, back: bool = False) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=-1 if back else 1)
    return day


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def _date(day: dt.date) -> str:
    return f"{day:%d %b %Y}"


# ---------------------------------------------------------------------------------------
# The plan: what each order goes through, mirrored in memory so later steps fit
# ---------------------------------------------------------------------------------------


@dataclass
class _PlannedDelivery:
    number: int
    quantity: Decimal
    due: dt.date
    # Nothing is received on it before this moment (order issued, release added, ...).
    not_before: dt.datetime
    received: Decimal = ZERO
    cancelled: bool = False
    first_receipt: dt.datetime | None = None
    confirmed: bool = False

    @property
    def open_quantity(self) -> Decimal:
        return ZERO if self.cancelled else max(self.quantity - self.received, ZERO)


@dataclass
class _PlannedLine:
    number: int
    item: ItemSpec
    quantity: Decimal
    price: Decimal
    deliveries: list[_PlannedDelivery] = field(default_factory=list)
    open: bool = True

    def delivery(self, number: int) -> _PlannedDelivery:
        return next(d for d in self.deliveries if d.number == number)

    def live(self) -> list[_PlannedDelivery]:
        return [d for d in self.deliveries if not d.cancelled]


@dataclass
class _Step:
    when: dt.datetime
    seq: int
    label: str
    action: Callable[[], Any]


@dataclass
class _PlannedProposal:
    line: int
    delivery: int | None
    due: dt.date | None
    pk: int | None = None


@dataclass
class _PlannedNotice:
    """A ship notice the supplier sends before goods arrive; `pk` once its step ran (None
    if the order had moved on so that it no longer fitted: then goods come without one)."""

    pk: int | None = None


@dataclass
class _PlannedInvoice:
    plan: _Plan
    when: dt.datetime
    invoice_date: dt.date
    due_date: dt.date
    pk: int | None = None


class _Plan:
    """One order: its lines as they will be, and the steps that get it there."""

    def __init__(self, builder: _Builder, vendor: str, *, kind: str, order_date: dt.date) -> None:
        self.b = builder
        self.spec = VENDOR_BY_CODE[vendor]
        self.kind = kind
        self.order_date = order_date
        self.buyer = builder.users[BUYER_OF_VENDOR[vendor]]
        self.lines: dict[int, _PlannedLine] = {}
        self.order: PurchaseOrder | None = None
        self.issued: dt.datetime | None = None
        self.clock: dt.datetime | None = None
        # When each revision the supplier sees is made (issue = revision 1, then every
        # revise, release, close or accepted proposal), and when it was closed/cancelled.
        self.moments: list[dt.datetime] = []
        self.ended: dt.datetime | None = None
        # When the supplier acknowledged (or a proposal of theirs was accepted).
        self.answered: list[dt.datetime] = []
        # A story that scripts its own acknowledgements and confirmations.
        self.scripted = False
        builder.plans.append(self)

    def at(self, offset: int, hour: int, minute: int = 0) -> dt.datetime:
        """A story's next moment: `offset` days from today, never before the previous one
        (two offsets can fall on the same weekday once weekends are skipped)."""
        when = _at(self.b.day(offset), hour, minute)
        if self.clock is not None and when <= self.clock:
            when = self.clock + dt.timedelta(minutes=25)
        self.clock = when
        return when

    # -- structure ------------------------------------------------------------------

    @property
    def po(self) -> PurchaseOrder:
        if self.order is None:  # pragma: no cover - steps run in time order
            raise DemoError("A step ran before its order was created.")
        return self.order

    def add_line(
        self,
        part: str,
        quantity: int | str | Decimal,
        *,
        due: dt.date | None = None,
        splits: Sequence[tuple[int | str | Decimal, dt.date]] = (),
        price: Decimal | None = None,
        not_before: dt.datetime | None = None,
    ) -> _PlannedLine:
        item = ITEM_BY_PART[part]
        number = (max(self.lines) if self.lines else 0) + 10
        line = _PlannedLine(
            number=number,
            item=item,
            quantity=Decimal(quantity),
            price=price if price is not None else self.b.prices[part],
        )
        start = not_before or _at(self.order_date, 8)
        schedule = list(splits) or ([(quantity, due)] if due is not None else [])
        for index, (qty, when) in enumerate(schedule, start=1):
            line.deliveries.append(_PlannedDelivery(index, Decimal(qty), when, start))
        self.lines[number] = line
        return line

    def line_input(self, line: _PlannedLine) -> services.LineInput:
        return services.LineInput(
            item=self.b.items[line.item.part_number],
            quantity=line.quantity,
            unit_price=line.price,
            vendor_part_number=line.item.vendor_part_number,
            deliveries=tuple(
                services.DeliveryInput(quantity=d.quantity, due_date=d.due) for d in line.deliveries
            ),
        )

    def _line(self, number: int) -> Line:
        return Line.objects.get(order=self.po, line_number=number)

    def _delivery(self, line: int, number: int) -> Delivery:
        return Delivery.objects.get(order=self.po, line__line_number=line, delivery_number=number)

    # -- steps ----------------------------------------------------------------------

    def create(
        self, when: dt.datetime, *, notes: str = "", internal: str = "", **header: Any
    ) -> None:
        inputs = [self.line_input(line) for line in self.lines.values()]
        header.setdefault("payment_terms", self.spec.payment_terms)
        header.setdefault("incoterms", self.spec.incoterms)
        header.setdefault("ship_to", self.b.rng.choice(self.spec.ship_to))
        vendor, by = self.b.vendors[self.spec.code], self.buyer

        def run() -> None:
            self.order = services.order_create(
                vendor=vendor,
                by=by,
                kind=self.kind,
                lines=inputs,
                order_date=self.order_date,
                notes_to_vendor=notes,
                internal_notes=internal,
                **header,
            )

        self.b.add(when, f"create {self.kind} order for {vendor.code}", run)

    def issue(self, when: dt.datetime, reason: str = "") -> None:
        self.issued = when
        self.moments.append(when)
        for line in self.lines.values():
            for delivery in line.deliveries:
                delivery.not_before = max(delivery.not_before, when)
        self.b.add(when, "issue", lambda: self._issue(reason))

    def _issue(self, reason: str) -> None:
        """Issued with the drawing of its first line, where the supplier works from one
        (recent orders of the suppliers with logins)."""
        services.order_issue(order=self.po, by=self.buyer, reason=reason)
        recent = self.order_date >= self.b.today - dt.timedelta(days=60)
        if not recent or self.spec.code not in RESPONDERS or not self.lines:
            return
        first = min(self.lines)
        line = self._line(first)
        if line.item is None:
            return
        attachments.attachment_add(
            target=line,
            upload=ContentFile(
                documents.drawing(line.item.part_number, line.item.description),
                name=f"{line.item.part_number}.pdf",
            ),
            kind=AttachmentKind.DRAWING,
            by=self.buyer,
        )

    def revise(self, when: dt.datetime, reason: str, changes: list[services.OrderChange]) -> None:
        self._revised(when)
        self.b.add(
            when,
            f"revise ({reason})",
            lambda: services.order_revise(
                order=self.po, by=self.buyer, reason=reason, changes=changes
            ),
        )

    def _revised(self, when: dt.datetime) -> None:
        # A draft is edited without revisions; the supplier sees only issued orders.
        if self.issued is not None and when >= self.issued:
            self.moments.append(when)

    def revision_at(self, when: dt.datetime) -> int:
        """The order's revision number at `when` (as the supplier sees it)."""
        return sum(1 for moment in self.moments if moment <= when)

    def open_at_end(self) -> bool:
        """Still issued today: an open line with something left to release or receive."""
        if self.issued is None or self.ended is not None:
            return False
        for line in self.lines.values():
            if not line.open:
                continue
            live = line.live()
            if sum((d.quantity for d in live), ZERO) < line.quantity:
                return True  # a blanket line not fully released
            if any(d.open_quantity > 0 for d in live):
                return True
        return False

    def current_acknowledged(self) -> bool:
        return bool(self.moments) and any(t >= max(self.moments) for t in self.answered)

    # Each change helper updates the plan and returns the service change object.

    def move_due(self, line: int, delivery: int, due: dt.date, when: dt.datetime) -> Any:
        planned = self.lines[line].delivery(delivery)
        planned.due = due
        planned.not_before = max(planned.not_before, when)
        # A moved date withdraws the promise (services.editor._Editor._renew_promise).
        planned.confirmed = False
        return services.SetDelivery(line, delivery, "due_date", due)

    def set_quantity(self, line: int, quantity: Decimal, when: dt.datetime) -> Any:
        planned = self.lines[line]
        (only,) = planned.live()
        only.quantity = planned.quantity = quantity
        only.confirmed = False  # what was promised changed: the promise is withdrawn
        only.not_before = max(only.not_before, when)
        return services.SetLine(line, "quantity", quantity)

    def set_price(self, line: int, price: Decimal) -> Any:
        self.lines[line].price = price
        return services.SetLine(line, "unit_price", price)

    def cancel_delivery(self, line: int, delivery: int) -> Any:
        planned = self.lines[line]
        target = planned.delivery(delivery)
        target.cancelled = True
        planned.quantity -= target.quantity
        return services.CancelDelivery(line, delivery)

    def new_line(self, part: str, quantity: int, due: dt.date, when: dt.datetime) -> Any:
        line = self.add_line(part, quantity, due=due, not_before=when)
        return services.AddLine(self.line_input(line))

    def call_off(
        self, when: dt.datetime, releases: list[tuple[int, Decimal, dt.date]], reason: str
    ) -> None:
        """Several releases at once (an MRP run): one revision for the supplier."""
        for line, quantity, due in releases:
            planned = self.lines[line]
            planned.deliveries.append(
                _PlannedDelivery(len(planned.deliveries) + 1, quantity, due, when)
            )
        self._revised(when)
        self.b.add(
            when,
            f"call-off of {len(releases)} releases",
            lambda: services.call_off(
                order=self.po,
                releases=[services.Release(line, q, due) for line, q, due in releases],
                by=self.buyer,
                reason=reason,
            ),
        )

    def ship(
        self,
        when: dt.datetime,
        entries: list[tuple[int, int, Decimal]],
        *,
        by: str,
        expected: dt.date,
        carrier: str,
        tracking: str,
        submit: bool = True,
        cancel_at: dt.datetime | None = None,
    ) -> _PlannedNotice:
        """The supplier announces a shipment (a ship notice), or saves it as a draft."""
        planned = _PlannedNotice()
        user = self.b.users[by]
        spec = self.spec

        def run() -> None:
            try:
                notice = services.ship_notice_create(
                    order=self.po,
                    by=user,
                    submit=submit,
                    ship_date=min(when.date(), expected),
                    expected_date=expected,
                    carrier=carrier,
                    tracking_number=tracking,
                    packing_slip=self.b.next_slip(spec),
                    lines=[
                        services.ShipNoticeLineInput(self._delivery(line, delivery), quantity)
                        for line, delivery, quantity in entries
                    ],
                )
            except services.DomainError:
                return  # the order changed since: this shipment goes unannounced
            planned.pk = notice.pk
            if submit:  # its certificate of conformity goes with it
                pdf = documents.certificate(
                    notice.number,
                    self.po.number,
                    spec.name,
                    [
                        f"Line {line}-{delivery}: {quantity.normalize():f}"
                        for line, delivery, quantity in entries
                    ],
                )
                attachments.attachment_add(
                    target=notice,
                    upload=ContentFile(pdf, name=f"CoC-{notice.number}.pdf"),
                    kind=AttachmentKind.CERTIFICATE,
                    by=user,
                )

        self.b.add(when, "ship notice", run)
        if cancel_at is not None:

            def cancel() -> None:
                if planned.pk is not None:
                    services.ship_notice_cancel(
                        notice=ShipNotice.objects.get(pk=planned.pk),
                        by=user,
                        reason="Missed the carrier's pickup; goods go with the next truck.",
                    )

            self.b.add(cancel_at, "ship notice cancelled", cancel)
        return planned

    def close_notice(self, when: dt.datetime, planned: _PlannedNotice, reason: str) -> None:
        """The buyer closes a notice received short, saying why."""

        def run() -> None:
            if planned.pk is None:
                return
            notice = ShipNotice.objects.get(pk=planned.pk)
            if notice.is_open:
                services.ship_notice_close(notice=notice, by=self.buyer, reason=reason)

        self.b.add(when, "ship notice closed", run)

    def receive(
        self,
        when: dt.datetime,
        entries: list[tuple[int, int, Decimal]],
        notice: _PlannedNotice | None = None,
    ) -> None:
        for line, delivery, quantity in entries:
            planned = self.lines[line].delivery(delivery)
            planned.received += quantity
            if planned.first_receipt is None or when < planned.first_receipt:
                planned.first_receipt = when
        spec = self.spec

        def run() -> None:
            announced = (
                ShipNotice.objects.get(pk=notice.pk)
                if notice is not None and notice.pk is not None
                else None
            )
            if announced is not None and not announced.is_open:
                announced = None
            services.receipt_record(
                order=self.po,
                by=self.buyer,
                receipt_date=when.date(),
                ship_notice=announced,
                packing_slip=announced.packing_slip if announced else self.b.next_slip(spec),
                lines=[
                    services.ReceiptLineInput(self._delivery(line, delivery), quantity)
                    for line, delivery, quantity in entries
                ],
            )

        self.b.add(when, "receipt", run)

    def return_goods(
        self, when: dt.datetime, entries: list[tuple[int, int, Decimal]], reason: str
    ) -> None:
        for line, delivery, quantity in entries:
            self.lines[line].delivery(delivery).received -= quantity
        self.b.add(
            when,
            "return",
            lambda: services.return_record(
                order=self.po,
                by=self.buyer,
                reason=reason,
                return_date=when.date(),
                lines=[
                    services.ReceiptLineInput(self._delivery(line, delivery), quantity)
                    for line, delivery, quantity in entries
                ],
            ),
        )

    def _short_close(self, planned: _PlannedLine) -> None:
        for delivery in planned.live():
            if delivery.received > 0:
                delivery.quantity = min(delivery.quantity, delivery.received)
            else:
                delivery.cancelled = True
        planned.quantity = sum((d.quantity for d in planned.live()), ZERO)
        planned.open = False

    def close_line(self, when: dt.datetime, line: int, reason: str) -> None:
        self._short_close(self.lines[line])
        self._revised(when)
        self.b.add(
            when,
            f"close line {line}",
            lambda: services.line_close(line=self._line(line), by=self.buyer, reason=reason),
        )

    def close(self, when: dt.datetime, reason: str) -> None:
        for planned in self.lines.values():
            if planned.open:
                self._short_close(planned)
        self._revised(when)
        self.ended = when
        self.b.add(
            when,
            "close order",
            lambda: services.order_close(order=self.po, by=self.buyer, reason=reason),
        )

    def cancel(self, when: dt.datetime, reason: str) -> None:
        for planned in self.lines.values():
            planned.open = False
            for delivery in planned.deliveries:
                delivery.cancelled = True
        self._revised(when)
        self.ended = when
        self.b.add(
            when,
            "cancel order",
            lambda: services.order_cancel(order=self.po, by=self.buyer, reason=reason),
        )

    # -- the supplier's side (and the buyer's answers) ----------------------------------

    def acknowledge(self, when: dt.datetime, by: str, response: str, comment: str = "") -> None:
        """`by` acknowledges the revision that is current at `when`."""
        self.answered.append(when)
        user = self.b.users[by]

        def run() -> None:
            collaboration.acknowledgement_record(
                order=self.po,
                revision=self.revision_at(when),
                response=response,
                by=user,
                comment=comment,
            )

        self.b.add(when, f"acknowledge ({response})", run)

    def confirm(self, when: dt.datetime, by: str, line: int, delivery: int) -> None:
        self.lines[line].delivery(delivery).confirmed = True
        user = self.b.users[by]
        self.b.add(
            when,
            f"confirm line {line} delivery {delivery}",
            lambda: collaboration.delivery_confirm(
                delivery=self._delivery(line, delivery), by=user
            ),
        )

    def propose(
        self,
        when: dt.datetime,
        by: str,
        line: int,
        *,
        reason: str,
        delivery: int | None = None,
        due: dt.date | None = None,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
    ) -> _PlannedProposal:
        planned = _PlannedProposal(line, delivery, due)
        user = self.b.users[by]

        def run() -> None:
            proposal = collaboration.proposal_create(
                order=self.po,
                line=self._line(line),
                delivery=self._delivery(line, delivery) if delivery is not None else None,
                by=user,
                reason=reason,
                due_date=due,
                quantity=quantity,
                unit_price=price,
            )
            planned.pk = proposal.pk

        self.b.add(when, f"proposal on line {line}", run)
        return planned

    def _proposal(self, planned: _PlannedProposal) -> ChangeProposal:
        if planned.pk is None:  # pragma: no cover - steps run in time order
            raise DemoError("A step ran before its proposal was made.")
        return ChangeProposal.objects.get(pk=planned.pk)

    def accept(self, when: dt.datetime, planned: _PlannedProposal, note: str = "") -> None:
        """The buyer accepts: a new revision, counted as acknowledged by the proposer."""
        if planned.due is None or planned.delivery is None:  # pragma: no cover - planning
            raise DemoError("The demo plans accepted proposals of due dates only.")
        self.move_due(planned.line, planned.delivery, planned.due, when)
        # The supplier's own date, accepted, is its promise: nothing left to confirm.
        self.lines[planned.line].delivery(planned.delivery).confirmed = True
        self._revised(when)
        self.answered.append(when)
        self.b.add(
            when,
            "accept proposal",
            lambda: collaboration.proposal_accept(
                proposal=self._proposal(planned), by=self.buyer, note=note
            ),
        )

    def reject(self, when: dt.datetime, planned: _PlannedProposal, note: str) -> None:
        self.b.add(
            when,
            "reject proposal",
            lambda: collaboration.proposal_reject(
                proposal=self._proposal(planned), by=self.buyer, note=note
            ),
        )

    def withdraw(self, when: dt.datetime, planned: _PlannedProposal, by: str) -> None:
        user = self.b.users[by]
        self.b.add(
            when,
            "withdraw proposal",
            lambda: collaboration.proposal_withdraw(proposal=self._proposal(planned), by=user),
        )

    def comment(
        self,
        when: dt.datetime,
        by: str,
        body: str,
        *,
        line: int | None = None,
        internal: bool = False,
    ) -> None:
        user = self.b.users[by]
        self.b.add(
            when,
            "internal comment" if internal else "comment",
            lambda: collaboration.comment_add(
                order=self.po,
                by=user,
                body=body,
                line=self._line(line) if line is not None else None,
                internal=internal,
            ),
        )
