"""Running the planned steps through the services, each at its simulated time (the rows a
step wrote are backdated to it afterwards)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from vendorportal.accounts import services as accounts
from vendorportal.accounts.models import SeatPeriod, User
from vendorportal.collaboration import attachments
from vendorportal.collaboration.models import (
    Acknowledgement,
    Attachment,
    AttachmentKind,
    ChangeProposal,
    Comment,
)
from vendorportal.errors import DomainError
from vendorportal.events.models import Event
from vendorportal.purchasing import services
from vendorportal.purchasing.demo import documents
from vendorportal.purchasing.demo.data import (
    ACCEPTED,
    ACCEPTED_WITH_CHANGES,
    DANA,
    GENERIC_NOTES,
    HISTORY_DAYS,
    INTERNAL_NOTES,
    ITEMS,
    JOANNA,
    LENA,
    LOGINS,
    MARCUS,
    PRICE_REASONS,
    PULL_REASONS,
    PUSH_REASONS,
    QTY_REASONS,
    REJECTED,
    RESPONDERS,
    RICK,
    TOM,
    UNACKNOWLEDGED_PER_VENDOR,
    VENDOR_BY_CODE,
    VENDORS,
    DemoError,
    ItemSpec,
    VendorSpec,
)
from vendorportal.purchasing.demo.plan import (
    CENT,
    _at,
    _date,
    _fmt,
    _money,
    _Plan,
    _PlannedDelivery,
    _PlannedInvoice,
    _PlannedLine,
    _Step,
    _workday,
)
from vendorportal.purchasing.models import (
    ZERO,
    Delivery,
    Invoice,
    Item,
    Line,
    OrderKind,
    Payment,
    PurchaseOrder,
    Receipt,
    Revision,
    ShipNotice,
    Vendor,
)

# ---------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------

# (model, timestamp fields) that a service step may write; backdated after each step.
STAMPED: tuple[tuple[type[models.Model], tuple[str, ...]], ...] = (
    (PurchaseOrder, ("created_at", "updated_at", "issued_at", "closed_at")),
    (Line, ("created_at", "updated_at")),
    (Delivery, ("created_at", "updated_at")),
    (Revision, ("created_at",)),
    (Receipt, ("created_at",)),
    (ShipNotice, ("created_at", "updated_at", "submitted_at", "closed_at")),
    (Invoice, ("created_at", "updated_at", "submitted_at", "approved_at")),
    (Attachment, ("uploaded_at",)),
    (Payment, ("created_at",)),
    (Acknowledgement, ("created_at",)),
    (ChangeProposal, ("created_at", "decided_at")),
    (Comment, ("created_at",)),
    (Event, ("created_at",)),
)


class _Builder:
    def __init__(self, *, today: dt.date, seed: int, password: str) -> None:
        self.today = today
        self.yesterday = today - dt.timedelta(days=1)
        # Nothing simulated happens after this moment (so it is always in the past).
        self.cutoff = _at(self.yesterday, 18)
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not security
        # The suppliers' answers draw from their own generator, so the order history
        # itself stays the same whatever they say.
        self.talk = random.Random(seed + 1)  # noqa: S311 - demo data, not security
        # Ship notices too: with or without them, the same goods arrive on the same days.
        self.shipping = random.Random(seed + 2)  # noqa: S311 - demo data, not security
        # And who invoices, the supplier here or the buyer from its mail: the same invoices
        # of the same amounts on the same days either way.
        self.billing = random.Random(seed + 3)  # noqa: S311 - demo data, not security
        self.withdrawn_left = dict.fromkeys(RESPONDERS, 1)
        self.credits_left = dict.fromkeys(RESPONDERS, 1)
        self.drafts_left = dict.fromkeys(RESPONDERS, 1)
        self.plans: list[_Plan] = []
        self.password = password
        self.steps: list[_Step] = []
        self.vendors: dict[str, Vendor] = {}
        self.items: dict[str, Item] = {}
        self.users: dict[str, User] = {}
        self.prices: dict[str, Decimal] = {}
        self.invoice_numbers = {spec.code: spec.invoice_start for spec in VENDORS}
        self.slip_numbers = {spec.code: 40000 + 1000 * i for i, spec in enumerate(VENDORS)}
        self.payment_number = 88140

    # -- time -----------------------------------------------------------------------

    def day(self, offset: int) -> dt.date:
        """A weekday `offset` days from today (rolled back into the past when negative)."""
        return _workday(self.today + dt.timedelta(days=offset), back=offset < 0)

    def time_on(self, day: dt.date, first: int = 8, last: int = 16) -> dt.datetime:
        return _at(day, self.rng.randint(first, last), self.rng.choice((0, 10, 20, 30, 40, 50)))

    def add(self, when: dt.datetime, label: str, action: Callable[[], Any]) -> None:
        if when > self.cutoff:  # pragma: no cover - planning keeps steps in the past
            raise DemoError(f"Planned step '{label}' at {when} is not in the past.")
        self.steps.append(_Step(when, len(self.steps), label, action))

    # -- numbering (assigned when the step runs, so numbers rise with time) -----------

    def next_slip(self, spec: VendorSpec) -> str:
        self.slip_numbers[spec.code] += self.rng.randint(3, 40)
        return spec.slip_format.format(n=self.slip_numbers[spec.code])

    def next_invoice_number(self, spec: VendorSpec) -> str:
        self.invoice_numbers[spec.code] += self.rng.randint(2, 30)
        return spec.invoice_format.format(n=self.invoice_numbers[spec.code])

    def next_payment_reference(self, day: dt.date) -> str:
        self.payment_number += 1
        return f"ACH {day:%Y%m%d}-{self.payment_number}"

    # -- master data ----------------------------------------------------------------

    def create_master_data(self) -> None:
        for spec in VENDORS:
            self.vendors[spec.code] = Vendor.objects.create(
                code=spec.code,
                name=spec.name,
                contact_name=spec.contact_name,
                contact_email=f"{spec.contact_mailbox}@{spec.domain}",
                phone=spec.phone,
                address=spec.address,
                internal_notes=spec.internal_notes,
                rating=spec.rating,
            )
        for item in ITEMS:
            cost = Decimal(item.cost)
            self.items[item.part_number] = Item.objects.create(
                part_number=item.part_number,
                description=item.description,
                unit_of_measure=item.uom,
                standard_cost=cost,
            )
            # The supplier's contract price: near the standard cost.
            factor = Decimal(self.rng.randint(950, 1100)) / 1000
            places = Decimal("0.0001") if cost < 2 else CENT
            self.prices[item.part_number] = (cost * factor).quantize(places, ROUND_HALF_UP)
        for login in LOGINS:
            user = User.objects.create_user(
                email=login.email,
                password=self.password,
                first_name=login.first_name,
                last_name=login.last_name,
                role=login.role,
                vendor=self.vendors[login.vendor] if login.vendor else None,
                is_staff=login.admin,
                is_superuser=login.admin,
            )
            self.users[login.email] = user
        # Master data predates the order history.
        since = _at(self.day(-HISTORY_DAYS - 30), 9)
        Vendor.objects.filter(pk__in=[v.pk for v in self.vendors.values()]).update(
            created_at=since, updated_at=since
        )
        Item.objects.filter(pk__in=[i.pk for i in self.items.values()]).update(
            created_at=since, updated_at=since
        )
        User.objects.filter(pk__in=[u.pk for u in self.users.values()]).update(date_joined=since)
        # Vendor logins are portal seats from the day they joined (the seat history is
        # what `vendorportal seats` and the back office's seat page charge for).
        for user in self.users.values():
            accounts.seats_sync(user=user)
        SeatPeriod.objects.filter(user__in=list(self.users.values())).update(
            started_on=since.date()
        )

    # -- quantities -----------------------------------------------------------------

    def lot(self, item: ItemSpec) -> Decimal:
        low, high, step = item.lot
        return Decimal(self.rng.randrange(low, high + 1, step))

    def part_of(self, quantity: Decimal, item: ItemSpec) -> Decimal | None:
        """A short shipment: 50-90% of `quantity`, in whole steps; None if impossible."""
        fraction = Decimal(self.rng.randint(50, 90)) / 100
        step = item.step
        part = (quantity * fraction / step).to_integral_value(ROUND_DOWN) * step
        return part if ZERO < part < quantity else None

    def weighed(self, quantity: Decimal) -> Decimal:
        """Goods sold by weight arrive a little over (within the 5% receipt tolerance)."""
        return (quantity * (1 + Decimal(self.rng.randint(0, 25)) / 1000)).quantize(
            Decimal("0.5"), ROUND_DOWN
        )

    # -- invoices and payments ------------------------------------------------------

    def invoice(
        self,
        plan: _Plan,
        when: dt.datetime,
        invoice_date: dt.date,
        lines: list[tuple[int, Decimal, Decimal]],
        *,
        sent_by: str | None = None,
    ) -> _PlannedInvoice:
        """The buyer records the supplier's invoice; or, `sent_by` a supplier login, the
        supplier sends it from the order (the portal's invoice, awaiting approval)."""
        planned = _PlannedInvoice(
            plan, when, invoice_date, invoice_date + dt.timedelta(days=plan.spec.net_days)
        )

        def run() -> None:
            number = self.next_invoice_number(plan.spec)
            entries = [
                services.InvoiceLineInput(plan._line(n), quantity, price)
                for n, quantity, price in lines
            ]
            if sent_by is None:
                invoice = services.invoice_record(
                    vendor=self.vendors[plan.spec.code],
                    number=number,
                    by=plan.buyer,
                    invoice_date=invoice_date,
                    due_date=planned.due_date,
                    lines=entries,
                )
            else:
                supplier = self.users[sent_by]
                invoice = services.invoice_submit(
                    order=plan.po,
                    number=number,
                    by=supplier,
                    invoice_date=invoice_date,
                    due_date=planned.due_date,
                    lines=entries,
                    accept_exceptions=True,
                )
                # The supplier's own invoice document, as its accounting system printed it.
                pdf = documents.supplier_invoice(
                    number,
                    plan.po.number,
                    plan.spec.name,
                    f"{invoice.currency} {invoice.total_amount:,.2f}",
                )
                attachments.attachment_add(
                    target=invoice,
                    upload=ContentFile(pdf, name=f"{number}.pdf"),
                    kind=AttachmentKind.INVOICE_PDF,
                    by=supplier,
                )
            planned.pk = invoice.pk

        self.add(when, "invoice" if sent_by is None else "invoice sent", run)
        return planned

    def decide_invoice(self, planned: _PlannedInvoice, sent_by: str) -> bool:
        """The buyer's answer to a supplier's invoice, a day or two later: mostly approved
        (True: it may be paid), some still waiting, one withdrawn by the supplier per
        vendor, one credited in part. Draws only from `self.billing`."""
        rng, plan, code = self.billing, planned.plan, planned.plan.spec.code
        supplier = self.users[sent_by]
        later = self.time_on(
            _workday(planned.when.date() + dt.timedelta(days=rng.randint(1, 2))), 10
        )
        if later > self.cutoff or rng.random() < 0.15:
            return False  # awaiting approval
        if self.withdrawn_left[code] > 0:
            self.withdrawn_left[code] -= 1
            self.add(
                later,
                "invoice withdrawn",
                lambda: services.invoice_withdraw(
                    invoice=self._invoice_of(planned),
                    by=supplier,
                    reason="Sent before the last delivery was booked; a corrected invoice follows.",
                ),
            )
            return False
        self.add(
            later,
            "invoice approved",
            lambda: services.invoice_approve(invoice=self._invoice_of(planned), by=plan.buyer),
        )
        credit_at = later + dt.timedelta(hours=3)
        if self.credits_left[code] > 0 and credit_at <= self.cutoff:
            self.credits_left[code] -= 1

            def credit() -> None:
                invoice = self._invoice_of(planned)
                first = invoice.lines.order_by("pk").first()
                if first is None or invoice.outstanding_amount <= 0:
                    return
                note = services.credit_note_create(
                    invoice=invoice,
                    number=f"CN-{invoice.number}",
                    by=supplier,
                    reason="Two pieces failed your incoming inspection: credited, not replaced.",
                    lines=[
                        services.CreditLineInput(
                            first, min(first.quantity, Decimal(2)), first.unit_price
                        )
                    ],
                )
                services.invoice_approve(invoice=note, by=plan.buyer)

            self.add(credit_at, "credit note", credit)
        return True

    def _invoice_of(self, planned: _PlannedInvoice) -> Invoice:
        if planned.pk is None:  # pragma: no cover - steps run in time order
            raise DemoError("A step ran before its invoice was recorded.")
        return Invoice.objects.get(pk=planned.pk)

    def pay(
        self, planned: _PlannedInvoice, when: dt.datetime, amount: Decimal | None = None
    ) -> None:
        def run() -> None:
            invoice = self._invoice_of(planned)
            services.payment_record(
                invoice=invoice,
                # Accounts payable posts payments from the ERP: no portal user acts.
                by=None,
                amount=amount if amount is not None else invoice.outstanding_amount,
                paid_on=when.date(),
                reference=self.next_payment_reference(when.date()),
            )

        self.add(when, "payment", run)

    def dispute(self, planned: _PlannedInvoice, when: dt.datetime, reason: str) -> None:
        self.add(
            when,
            "dispute",
            lambda: services.invoice_dispute(
                invoice=self._invoice_of(planned), by=planned.plan.buyer, reason=reason
            ),
        )

    def invoice_receipt(
        self, plan: _Plan, received: dt.datetime, entries: list[tuple[int, int, Decimal]]
    ) -> None:
        """Most shipments are invoiced; the invoice is paid when due (if that is past)."""
        rng = self.rng
        if rng.random() > 0.9:
            return
        invoice_date = max(received.date() - dt.timedelta(days=rng.randint(0, 2)), plan.order_date)
        when = self.time_on(_workday(received.date() + dt.timedelta(days=rng.randint(1, 6))), 9)
        if when > self.cutoff:
            return
        quantities: dict[int, Decimal] = {}
        for line, _, quantity in entries:
            quantities[line] = quantities.get(line, ZERO) + quantity
        # Suppliers with logins send their recent invoices from the portal.
        sent_by = None
        recent = when.date() >= self.today - dt.timedelta(days=45)
        if plan.spec.code in RESPONDERS and recent and self.billing.random() < 0.8:
            sent_by = self.billing.choice(RESPONDERS[plan.spec.code])
        planned = self.invoice(
            plan,
            when,
            invoice_date,
            [(n, q, plan.lines[n].price) for n, q in sorted(quantities.items())],
            sent_by=sent_by,
        )
        payable = sent_by is None or self.decide_invoice(planned, sent_by)
        pay_day = _workday(planned.due_date - dt.timedelta(days=rng.randint(0, 3)))
        pay_day = max(pay_day, _workday(when.date() + dt.timedelta(days=3 if sent_by else 1)))
        if pay_day <= self.yesterday and rng.random() < 0.95 and payable:
            self.pay(planned, self.time_on(pay_day, 10, 15))

    # -- receiving ------------------------------------------------------------------

    def receive_as_due(self, plan: _Plan) -> None:
        """Receive every open delivery the way this supplier ships: early, late, short."""
        rng, spec = self.rng, plan.spec
        arrivals: dict[dt.date, list[tuple[_PlannedLine, _PlannedDelivery, bool]]] = {}
        # What is due on the same day ships together: one lateness per due date.
        lateness: dict[dt.date, int] = {}
        for line in plan.lines.values():
            if not line.open:
                continue
            for delivery in line.live():
                if delivery.open_quantity <= 0:
                    continue
                if delivery.due not in lateness:
                    late = rng.choice(spec.lateness)
                    if rng.random() < spec.miss_rate:  # missed the date badly: weeks late
                        late = rng.randint(12, 35)
                    lateness[delivery.due] = late
                arrive = _workday(delivery.due + dt.timedelta(days=lateness[delivery.due]))
                arrive = max(arrive, _workday(delivery.not_before.date() + dt.timedelta(days=1)))
                arrivals.setdefault(arrive, []).append((line, delivery, False))
        while arrivals:
            day = min(arrivals)
            group = arrivals.pop(day)
            if day > self.yesterday:
                self.announce_coming(plan, day, group)
                continue
            entries: list[tuple[int, int, Decimal]] = []
            for line, delivery, follow_up in group:
                quantity = delivery.open_quantity
                if quantity <= 0:
                    continue
                if not follow_up and rng.random() < spec.partial_rate:
                    part = self.part_of(quantity, line.item)
                    if part is not None:
                        quantity = part
                        # The balance follows one to four weeks later.
                        later = _workday(day + dt.timedelta(days=rng.randint(6, 28)))
                        arrivals.setdefault(later, []).append((line, delivery, True))
                elif line.item.uom == "KG":
                    quantity = self.weighed(quantity)
                entries.append((line.number, delivery.number, quantity))
            if entries:
                when = self.time_on(day, 7, 14)
                notice = self.announce_arrived(plan, day, when, group, entries)
                if notice is not None and self.shipping.random() < 0.3:
                    # The truck arrives short of what was announced: the buyer receives
                    # what came, and the balance follows one to three weeks later.
                    entries, shorted = self.short_of(entries)
                    closed = self.time_on(_workday(day + dt.timedelta(days=1)), 9, 11)
                    if shorted and closed <= self.cutoff and self.shipping.random() < 0.6:
                        plan.close_notice(
                            closed, notice, "Arrived short; the balance follows on a new notice."
                        )
                    for line, delivery, _ in group:
                        if (line.number, delivery.number) == shorted:
                            later = _workday(day + dt.timedelta(days=rng.randint(6, 21)))
                            arrivals.setdefault(later, []).append((line, delivery, True))
                plan.receive(when, entries, notice)
                self.invoice_receipt(plan, when, entries)

    # -- ship notices -----------------------------------------------------------------

    NOTICE_DAYS = 60  # suppliers have announced their shipments for the last weeks
    CARRIERS = (
        ("DHL Freight", "JD01460{n:05d}"),
        ("UPS", "1Z999AA1{n:08d}"),
        ("DB Schenker", "SCH{n:07d}"),
    )

    def _carrier(self) -> tuple[str, str]:
        name, pattern = self.shipping.choice(self.CARRIERS)
        return name, pattern.format(n=self.shipping.randint(1, 10**5 - 1))

    def announce_arrived(
        self,
        plan: _Plan,
        day: dt.date,
        when: dt.datetime,
        group: list[tuple[_PlannedLine, _PlannedDelivery, bool]],
        entries: list[tuple[int, int, Decimal]],
    ) -> Any:
        """Most shipments of suppliers with logins were announced the day before; a part
        shipment announced in full arrives short, and the buyer closes the difference."""
        rng, code = self.shipping, plan.spec.code
        if code not in RESPONDERS or day < self.today - dt.timedelta(days=self.NOTICE_DAYS):
            return None
        if rng.random() > 0.85:
            return None
        ready = max(d.not_before for _, d, _ in group) + dt.timedelta(hours=1)
        sent = max(
            _at(_workday(day - dt.timedelta(days=1), back=True), 16, rng.randint(0, 50)), ready
        )
        if sent >= when:
            return None
        open_now = {(line.number, d.number): d.open_quantity for line, d, _ in group}
        partial = any(open_now[(n, dn)] > q for n, dn, q in entries)
        short = partial and rng.random() < 0.8
        # Announced in full, received in part: the rest did not fit on the truck.
        announced = [
            (number, delivery_number, max(open_now[(number, delivery_number)], quantity))
            if short
            else (number, delivery_number, quantity)
            for number, delivery_number, quantity in entries
        ]
        carrier, tracking = self._carrier()
        notice = plan.ship(
            sent,
            announced,
            by=rng.choice(RESPONDERS[code]),
            expected=day,
            carrier=carrier,
            tracking=tracking,
        )
        if any(a[2] != e[2] for a, e in zip(announced, entries, strict=True)):
            closed = self.time_on(_workday(day + dt.timedelta(days=1)), 9, 11)
            # Some are still waiting for the buyer to close the difference.
            if closed <= self.cutoff and rng.random() < 0.6:
                plan.close_notice(
                    closed, notice, "Short on arrival; the balance follows on a later shipment."
                )
        return notice

    @staticmethod
    def short_of(
        entries: list[tuple[int, int, Decimal]],
    ) -> tuple[list[tuple[int, int, Decimal]], tuple[int, int] | None]:
        """The entries with the largest one a tenth short (at least one unit)."""
        index = max(range(len(entries)), key=lambda i: entries[i][2])
        number, delivery_number, quantity = entries[index]
        missing = max(Decimal(1), (quantity / 10).to_integral_value(ROUND_DOWN))
        if quantity <= missing:
            return entries, None
        shorted = list(entries)
        shorted[index] = (number, delivery_number, quantity - missing)
        return shorted, (number, delivery_number)

    def announce_coming(
        self, plan: _Plan, day: dt.date, group: list[tuple[_PlannedLine, _PlannedDelivery, bool]]
    ) -> None:
        """Shipments due within the week are on their way: a notice sent yesterday (or a
        draft the order desk has not sent yet, or one it cancelled)."""
        rng, code = self.shipping, plan.spec.code
        if code not in RESPONDERS or day > self.today + dt.timedelta(days=14):
            return
        if rng.random() > 0.9:
            return
        entries = [
            (line.number, delivery.number, delivery.open_quantity)
            for line, delivery, _ in group
            if delivery.open_quantity > 0
        ]
        if not entries:
            return
        sent = _at(self.yesterday, rng.randint(9, 16), rng.choice((5, 25, 45)))
        sent = max(sent, max(d.not_before for _, d, _ in group) + dt.timedelta(hours=1))
        if sent >= self.cutoff:
            return
        carrier, tracking = self._carrier()
        draft = self.drafts_left[code] > 0
        self.drafts_left[code] -= 1
        cancel_at = None
        if self.drafts_left[code] == -1:  # the second: sent, then cancelled
            cancel_at = min(sent + dt.timedelta(hours=1), self.cutoff)
        plan.ship(
            sent,
            entries,
            by=rng.choice(RESPONDERS[code]),
            expected=day,
            carrier=carrier,
            tracking=tracking,
            submit=not draft,
            cancel_at=cancel_at,
        )

    # -- orders ---------------------------------------------------------------------

    def plan(self, vendor: str, order_date: dt.date, kind: str = OrderKind.STANDARD) -> _Plan:
        return _Plan(self, vendor, kind=kind, order_date=order_date)

    def notes_for(self, spec: VendorSpec) -> str:
        rng = self.rng
        chosen = [rng.choice(GENERIC_NOTES)] if rng.random() < 0.6 else []
        if rng.random() < 0.7:
            chosen.append(rng.choice(spec.notes))
        return "\n".join(chosen)

    def internal_for(self, spec: VendorSpec) -> str:
        if self.rng.random() > 0.45:
            return ""
        return self.rng.choice(INTERNAL_NOTES).format(
            n=self.rng.randint(11, 99), contact=spec.contact_name
        )

    def standard_order(self, vendor: str, order_date: dt.date) -> None:
        """An ordinary order: 1-5 lines, some split, perhaps revised, received as shipped."""
        rng = self.rng
        spec = VENDOR_BY_CODE[vendor]
        plan = self.plan(vendor, order_date)
        catalogue = [item for item in ITEMS if item.vendor == vendor]
        count = min(rng.choices((1, 2, 3, 4, 5), weights=(30, 30, 20, 12, 8))[0], len(catalogue))
        due = _workday(order_date + dt.timedelta(days=rng.randint(*spec.lead_days)))
        for item in rng.sample(catalogue, count):
            quantity = self.lot(item)
            line_due = _workday(due + dt.timedelta(days=rng.choice((0, 0, 0, 7))))
            if quantity >= 2 * item.step * 2 and rng.random() < 0.22:
                parts = rng.choice((2, 2, 3))
                each = (quantity / parts / item.step).to_integral_value(ROUND_DOWN) * item.step
                gap = rng.choice((14, 21, 28))
                splits = [
                    (
                        quantity - each * (parts - 1) if k == parts - 1 else each,
                        _workday(line_due + dt.timedelta(days=gap * k)),
                    )
                    for k in range(parts)
                ]
                plan.add_line(item.part_number, quantity, splits=splits)
            else:
                plan.add_line(item.part_number, quantity, due=line_due)
        created = self.time_on(order_date, 8, 11)
        plan.create(created, notes=self.notes_for(spec), internal=self.internal_for(spec))
        issued = created + dt.timedelta(minutes=rng.randint(20, 200))
        if rng.random() < 0.2:
            issued = self.time_on(_workday(order_date + dt.timedelta(days=1)), 8, 11)
        if issued > self.cutoff:
            return
        plan.issue(issued)
        self.maybe_revise(plan, issued)
        self.receive_as_due(plan)

    def maybe_revise(self, plan: _Plan, issued: dt.datetime) -> None:
        """About a third of the orders change once or twice before the goods arrive."""
        rng = self.rng
        when = issued
        for chance in (0.32, 0.3):
            if rng.random() >= chance:
                return
            when = self.time_on(_workday(when.date() + dt.timedelta(days=rng.randint(2, 10))), 9)
            if when > self.cutoff:
                return
            horizon = when.date() + dt.timedelta(days=10)
            candidates = [
                (line, delivery)
                for line in plan.lines.values()
                for delivery in line.live()
                if delivery.due >= horizon and delivery.received == 0
            ]
            if not candidates:
                return
            line, delivery = rng.choice(candidates)
            kind = rng.choice(("push", "push", "pull", "quantity", "price"))
            if kind == "quantity" and len(line.live()) != 1:
                kind = "push"
            if kind == "pull":
                new_due = _workday(max(delivery.due - dt.timedelta(days=7), horizon))
                if new_due >= delivery.due:
                    kind = "push"
            if kind == "push":
                new_due = _workday(delivery.due + dt.timedelta(days=rng.choice((7, 7, 14))))
                change = plan.move_due(line.number, delivery.number, new_due, when)
                reason = rng.choice(PUSH_REASONS)
            elif kind == "pull":
                change = plan.move_due(line.number, delivery.number, new_due, when)
                reason = rng.choice(PULL_REASONS)
            elif kind == "quantity":
                delta = line.item.step * rng.choice((-2, -1, 1, 2, 3))
                new_quantity = max(line.quantity + delta, line.item.step)
                if new_quantity == line.quantity:
                    new_quantity += line.item.step
                change = plan.set_quantity(line.number, new_quantity, when)
                reason = rng.choice(QTY_REASONS)
            else:
                factor = Decimal(rng.choice((970, 980, 1015, 1025))) / 1000
                places = Decimal("0.0001") if line.price < 2 else CENT
                change = plan.set_price(line.number, (line.price * factor).quantize(places))
                for other in line.live():
                    other.not_before = max(other.not_before, when)
                reason = rng.choice(PRICE_REASONS).format(n=rng.randint(24000, 24999))
            plan.revise(when, reason, [change])

    def blanket_order(
        self,
        vendor: str,
        order_date: dt.date,
        *,
        agreement: str,
        lines: list[tuple[str, int, int]],
        cadence: int,
        notes: str,
        internal: str,
    ) -> None:
        """A 12-month agreement with committed quantities, called off every few weeks.

        Each call-off is released `cadence` days ahead of its due date, so the latest one
        is always still open.
        """
        rng = self.rng
        plan = self.plan(vendor, order_date, kind=OrderKind.BLANKET)
        valid_from = _workday(order_date + dt.timedelta(days=3))
        valid_to = valid_from + dt.timedelta(days=364)
        for part, committed, _ in lines:
            plan.add_line(part, committed)
        created = _at(order_date, 9, 15)
        plan.create(
            created, notes=notes, internal=internal, valid_from=valid_from, valid_to=valid_to
        )
        plan.issue(created + dt.timedelta(hours=4), reason=f"Blanket agreement {agreement} signed")
        call_off = _workday(valid_from + dt.timedelta(days=4))
        number = 0
        while call_off <= self.yesterday:
            number += 1
            due = _workday(call_off + dt.timedelta(days=cadence))
            releases = []
            for index, (_part, _committed, per_release) in enumerate(lines):
                line = plan.lines[10 * (index + 1)]
                step = line.item.step
                quantity = Decimal(per_release) * Decimal(rng.randint(80, 120)) / 100
                quantity = max((quantity / step).to_integral_value(ROUND_HALF_UP) * step, step)
                released = sum((d.quantity for d in line.live()), ZERO)
                if released + quantity > line.quantity:
                    continue
                releases.append((line.number, quantity, due))
            if releases:
                plan.call_off(
                    _at(call_off, 10, (7 * number) % 45),
                    releases,
                    reason=f"Call-off {number} under {agreement} "
                    f"(MRP run, week {call_off.isocalendar().week})",
                )
            call_off = _workday(call_off + dt.timedelta(days=cadence))
        self.receive_as_due(plan)

    # -- the story --------------------------------------------------------------------

    def build(self) -> None:
        self.create_master_data()
        self.plan_blankets()
        self.plan_stories()
        self.plan_drafts()
        self.plan_everyday_orders()
        self.plan_conversations()
        self.plan_answers()
        self.run()

    def plan_blankets(self) -> None:
        day = self.day
        self.blanket_order(
            "BOLT",
            day(-116),
            agreement="BA-2026-014",
            lines=[("FST-10830", 360, 30), ("FST-20008", 240, 20), ("FST-30008", 120, 10)],
            cadence=21,
            notes="Fastener agreement for both plants. Call-offs are released through the "
            "portal; ship each call-off complete. Prices fixed for the agreement period.",
            internal="Annual volume from the 2026 build plan (310 CX-40 units). Prices 6% "
            "below spot orders.",
        )
        self.blanket_order(
            "STEL",
            day(-104),
            agreement="BA-2026-021",
            lines=[("MAT-80410", 14000, 1100), ("MAT-80610", 2400, 180)],
            cadence=14,
            notes="Bar and tube agreement. Mill test certificates EN 10204 3.1 with every "
            "call-off. Bar cut to 3 m lengths, tube in 6 m lengths.",
            internal="Price basis: CRU index of the agreement month; surcharges only if "
            "agreed in writing.",
        )
        self.blanket_order(
            "PACK",
            day(-97),
            agreement="BA-2026-025",
            lines=[("PKG-90210", 600, 50), ("PKG-90110", 9000, 750)],
            cadence=21,
            notes="Packaging agreement. Deliver call-offs to Plant 2, gate B. Pallets must "
            "carry the ISPM 15 stamp.",
            internal="Consolidated packaging spend for both plants.",
        )
        self.blanket_order(
            "NORT",
            day(-88),
            agreement="BA-2026-030",
            lines=[("ELC-60225", 6000, 500), ("ELC-64100", 240, 20)],
            cadence=21,
            notes="Cable and terminal agreement. Cable on returnable drums of 500 m.",
            internal="Agreement kept small while Northgate is on the watch list.",
        )

    def plan_stories(self) -> None:
        """Hand-written orders that show each situation a buyer deals with."""
        self.story_return_replaced()
        self.story_return_pending()
        self.story_four_revisions()
        self.story_pull_in()
        self.story_invoiced_more_than_received()
        self.story_price_variance_disputed()
        self.story_line_closed_short()
        self.story_order_closed_short()
        self.story_cancellations()

    @staticmethod
    def billed(
        plan: _Plan, entries: list[tuple[int, int, Decimal]]
    ) -> list[tuple[int, Decimal, Decimal]]:
        """Invoice lines for received entries, at the order price."""
        return [(line, quantity, plan.lines[line].price) for line, _, quantity in entries]

    def story_return_replaced(self) -> None:
        """Received in full, 12 hubs returned with an NCR, replaced: closed again."""
        plan = self.plan("ACME", self.day(-96))
        plan.add_line("MCH-21415", 120, due=self.day(-62))
        plan.add_line("MCH-21520", 400, due=self.day(-62))
        plan.create(
            plan.at(-96, 9, 10),
            notes=VENDOR_BY_CODE["ACME"].notes[0],
            internal="Hubs for the CX-40 drive train; 100% incoming inspection on bores.",
        )
        plan.issue(plan.at(-96, 11, 40))
        entries = [(10, 1, Decimal(120)), (20, 1, Decimal(400))]
        plan.receive(plan.at(-61, 8, 20), entries)
        invoice = self.invoice(plan, plan.at(-58, 10, 5), self.day(-61), self.billed(plan, entries))
        plan.return_goods(
            plan.at(-57, 14, 30),
            [(10, 1, Decimal(12))],
            reason="Incoming inspection NCR-2291: 12 pcs rejected, bore 32 H7 measured "
            "32.04-32.06 mm (oversize). Returned for replacement; please confirm the "
            "replacement date.",
        )
        plan.comment(
            plan.at(-56, 10, 10),
            JOANNA,
            "NCR-2291: root cause is a worn boring bar on machine 4 (replaced); every hub "
            "bore is now gauged before packing. The 12 replacement hubs ship on "
            f"{_date(self.day(-45))}; the 8D report follows by e-mail.",
            line=10,
        )
        plan.receive(plan.at(-44, 9, 0), [(10, 1, Decimal(12))])
        pay_day = min(_workday(invoice.due_date, back=True), self.yesterday)
        self.pay(invoice, max(_at(pay_day, 11, 0), plan.at(-44, 12, 0)))

    def story_return_pending(self) -> None:
        """4 housings returned, replacement still owed: open quantity on a past due date."""
        plan = self.plan("ACME", self.day(-52))
        plan.add_line("MCH-21310", 24, due=self.day(-14))
        plan.add_line("MCH-21318", 150, due=self.day(-14))
        plan.add_line("MCH-21402", 300, splits=[(150, self.day(-14)), (150, self.day(14))])
        plan.create(
            plan.at(-52, 10, 20),
            notes="\n".join(VENDOR_BY_CODE["ACME"].notes),
            internal="Housings for CX-40 batch 12; the gearbox line stops without them.",
        )
        plan.issue(plan.at(-52, 15, 5))
        entries = [(10, 1, Decimal(24)), (20, 1, Decimal(150)), (30, 1, Decimal(150))]
        plan.receive(plan.at(-13, 7, 50), entries)
        self.invoice(plan, plan.at(-12, 13, 30), self.day(-13), self.billed(plan, entries))
        plan.return_goods(
            plan.at(-8, 11, 15),
            [(10, 1, Decimal(4))],
            reason="NCR-2317: porosity on the machined sealing face of 4 housings (leak "
            "test failed). Returned; replacement needed before gearbox assembly of CX-40 "
            "batch 12.",
        )
        plan.comment(
            plan.at(-7, 9, 40),
            JOANNA,
            "NCR-2317 received. The 4 replacement housings are machined from castings of a "
            f"new heat and leak tested 100%; they ship on {_date(self.day(3))}.",
            line=10,
        )
        later = _workday(plan.lines[30].delivery(2).due + dt.timedelta(days=10))
        plan.propose(
            plan.at(-2, 10, 40),
            TOM,
            30,
            delivery=2,
            due=later,
            reason="Raw-material delay: the S355 sheet for the second lot of brackets is "
            "late from the service centre (the mill's rolling schedule slipped). We can ship "
            f"the 150 brackets on {_date(later)}.",
        )

    def story_four_revisions(self) -> None:
        """Rescheduled, re-priced, re-quantified, a line added and a delivery cancelled."""
        plan = self.plan("ACME", self.day(-74))
        plan.add_line("MCH-21045", 200, splits=[(100, self.day(-38)), (100, self.day(-10))])
        plan.add_line("MCH-21052", 150, due=self.day(-38))
        plan.add_line("MCH-21318", 300, due=self.day(-31))
        plan.create(
            plan.at(-74, 8, 45),
            notes=VENDOR_BY_CODE["ACME"].notes[0],
            internal="Quote Q-24117 (J. Kowalski). Drive shafts are on the critical path "
            "for the CX-40 launch.",
        )
        plan.issue(plan.at(-74, 13, 20))
        # The supplier answers every revision before the next one is made.
        plan.scripted = True
        plan.acknowledge(
            plan.at(-73, 9, 30),
            JOANNA,
            REJECTED,
            f"We cannot make the first shaft batch (line 10) by {_date(self.day(-38))}: our "
            "heat-treatment subcontractor has a two-week backlog. The first 100 shafts can "
            f"ship on {_date(self.day(-31))}; please revise line 10 delivery 1.",
        )
        when = plan.at(-70, 10, 0)
        plan.revise(
            when,
            "Supplier request (J. Kowalski): heat-treatment subcontractor backlog, first "
            "shaft batch moved out one week.",
            [plan.move_due(10, 1, self.day(-31), when)],
        )
        plan.acknowledge(plan.at(-69, 8, 40), TOM, ACCEPTED)
        plan.confirm(plan.at(-69, 8, 45), TOM, 10, 1)
        plan.confirm(plan.at(-69, 8, 50), TOM, 20, 1)
        when = plan.at(-63, 14, 35)
        new_price = (plan.lines[20].price * Decimal("1.03")).quantize(CENT)
        plan.revise(
            when,
            "Demand increase on the CX-40 build (MRP); idler shaft price per quote "
            "Q-24117 rev B (C45 bar surcharge accepted).",
            [plan.set_quantity(30, Decimal(360), when), plan.set_price(20, new_price)],
        )
        plan.acknowledge(
            plan.at(-62, 10, 5),
            TOM,
            ACCEPTED_WITH_CHANGES,
            "Accepted with one change: the additional 60 bearing covers (line 30) need a "
            "second anodising batch. 300 pcs ship by the due date, the remaining 60 about "
            "two weeks later.",
        )
        when = plan.at(-52, 9, 25)
        plan.revise(
            when,
            "Second shaft batch not required after the forecast cut; tensioner arms added "
            "per requisition REQ-20931.",
            [plan.cancel_delivery(10, 2), plan.new_line("MCH-21533", 40, self.day(9), when)],
        )
        plan.acknowledge(plan.at(-51, 11, 30), JOANNA, ACCEPTED)
        plan.confirm(plan.at(-51, 11, 35), JOANNA, 40, 1)
        first = [(10, 1, Decimal(100)), (20, 1, Decimal(150))]
        plan.receive(plan.at(-31, 9, 40), first)
        plan.comment(
            plan.at(-30, 15, 0),
            TOM,
            "Partial shipment: 300 of the 360 bearing covers ship today. The remaining 60 "
            "are in the second anodising batch and follow in about two weeks.",
            line=30,
        )
        second = [(30, 1, Decimal(300))]
        plan.receive(plan.at(-29, 8, 15), second)
        self.invoice(plan, plan.at(-28, 10, 0), self.day(-31), self.billed(plan, first))
        self.invoice(plan, plan.at(-26, 11, 10), self.day(-29), self.billed(plan, second))
        plan.comment(
            plan.at(-9, 11, 0),
            DANA,
            "The remaining 60 bearing covers are now more than three weeks late and the "
            "gearbox line needs them. Please give us a firm ship date.",
            line=30,
        )
        plan.comment(
            plan.at(-8, 14, 20),
            TOM,
            "Sorry for the delay: our anodiser had a rectifier failure. The 60 covers are "
            f"anodised and pass inspection; they ship on {_date(self.day(2))}.",
            line=30,
        )

    def story_pull_in(self) -> None:
        """Pulled in and increased at short notice; received, invoiced and paid."""
        plan = self.plan("BOLT", self.day(-40))
        plan.add_line("FST-11260", 40, due=self.day(-26))
        plan.add_line("FST-20012", 30, due=self.day(-26))
        plan.create(plan.at(-40, 9, 0), notes=VENDOR_BY_CODE["BOLT"].notes[0])
        plan.issue(plan.at(-40, 9, 45))
        when = plan.at(-37, 16, 10)
        plan.revise(
            when,
            "Pull-in: assembly line 2 is short of M12x60 for the CX-40 frames; quantity "
            "raised to cover the extra Saturday shift.",
            [
                plan.move_due(10, 1, self.day(-31), when),
                plan.set_quantity(10, Decimal(48), when),
                plan.move_due(20, 1, self.day(-31), when),
            ],
        )
        entries = [(10, 1, Decimal(48)), (20, 1, Decimal(30))]
        plan.receive(plan.at(-31, 13, 5), entries)
        invoice = self.invoice(plan, plan.at(-30, 9, 30), self.day(-31), self.billed(plan, entries))
        pay_day = min(_workday(invoice.due_date, back=True), self.yesterday)
        self.pay(invoice, max(_at(pay_day, 10, 30), plan.at(-30, 12, 0)))

    def story_invoiced_more_than_received(self) -> None:
        """Cable shipped short but invoiced in full: a quantity exception, paid in part."""
        plan = self.plan("NORT", self.day(-58))
        cable = plan.add_line("ELC-60115", 500, due=self.day(-40))
        sensor = plan.add_line("ELC-62040", 60, due=self.day(-40))
        plan.create(
            plan.at(-58, 11, 0),
            notes=VENDOR_BY_CODE["NORT"].notes[0],
            internal="Sensors for the retrofit of conveyor line 3 (maintenance).",
        )
        plan.issue(plan.at(-58, 14, 30))
        plan.receive(plan.at(-37, 10, 45), [(10, 1, Decimal(420)), (20, 1, Decimal(60))])
        invoice = self.invoice(
            plan,
            plan.at(-36, 14, 0),
            self.day(-38),
            [(10, Decimal(500), cable.price), (20, Decimal(60), sensor.price)],
        )
        # Accounts payable pays what was received and holds the 80 m not yet delivered.
        held = _money(Decimal(420) * cable.price) + _money(Decimal(60) * sensor.price)
        self.pay(invoice, plan.at(-8, 10, 0), amount=held)

    def story_price_variance_disputed(self) -> None:
        """Steel invoiced with a surcharge nobody agreed to: price variance, disputed."""
        plan = self.plan("STEL", self.day(-45))
        thin = plan.add_line("MAT-80120", 4000, due=self.day(-30))
        thick = plan.add_line("MAT-80135", 2500, due=self.day(-30))
        plan.create(
            plan.at(-45, 13, 15),
            notes=VENDOR_BY_CODE["STEL"].notes[0],
            internal="Price per the CRU index of the order month; no surcharges agreed.",
        )
        plan.issue(plan.at(-45, 15, 0))
        plan.receive(plan.at(-29, 6, 40), [(10, 1, Decimal(4080)), (20, 1, Decimal(2500))])
        surcharged = (thin.price * Decimal("1.0466")).quantize(Decimal("0.0001"))
        invoice = self.invoice(
            plan,
            plan.at(-27, 10, 20),
            self.day(-29),
            [(10, Decimal(4080), surcharged), (20, Decimal(2500), thick.price)],
        )
        difference = _money((surcharged - thin.price) * 4080)
        self.dispute(
            invoice,
            plan.at(-25, 9, 5),
            f"Line 10 invoiced at {surcharged}/KG against the order price {thin.price}/KG. "
            "The energy surcharge was not agreed for this order; please send a credit note "
            f"for USD {difference:,.2f} or a corrected invoice.",
        )

    def story_line_closed_short(self) -> None:
        """Hose shipped short, the balance no longer wanted: the line is closed short."""
        plan = self.plan("FLOW", self.day(-66))
        plan.add_line("HYD-70310", 400, due=self.day(-35))
        plan.add_line("HYD-70412", 300, due=self.day(-35))
        plan.add_line("HYD-72515", 12, due=self.day(12))
        plan.create(
            plan.at(-66, 10, 10),
            notes=VENDOR_BY_CODE["FLOW"].notes[0],
            internal="Cylinders for the CX-40 lift table option.",
        )
        plan.issue(plan.at(-66, 11, 0))
        entries = [(10, 1, Decimal(250)), (20, 1, Decimal(300))]
        plan.receive(plan.at(-33, 9, 10), entries)
        self.invoice(plan, plan.at(-31, 15, 20), self.day(-33), self.billed(plan, entries))
        plan.close_line(
            plan.at(-20, 10, 40),
            10,
            reason="Remaining 150 m not required: hose routing changed to DN12 under "
            "ECO-2291. Please do not ship the balance.",
        )

    def story_order_closed_short(self) -> None:
        """Cartons delivered short and the order closed: the rest is not wanted."""
        plan = self.plan("PACK", self.day(-34))
        plan.add_line("PKG-90110", 2000, due=self.day(-24))
        plan.add_line("PKG-90305", 40, due=self.day(-24))
        plan.create(plan.at(-34, 8, 35), notes=VENDOR_BY_CODE["PACK"].notes[0])
        plan.issue(plan.at(-34, 9, 0))
        entries = [(10, 1, Decimal(1800)), (20, 1, Decimal(40))]
        plan.receive(plan.at(-23, 12, 30), entries)
        self.invoice(plan, plan.at(-22, 9, 40), self.day(-23), self.billed(plan, entries))
        plan.close(
            plan.at(-16, 14, 0),
            "Closed short: the remaining 200 cartons are not required; the new "
            "600 x 400 x 300 mm carton replaces this size from next month.",
        )

    def story_cancellations(self) -> None:
        """Two issued orders cancelled before anything shipped, and a duplicate draft."""
        plan = self.plan("FLOW", self.day(-30))
        plan.add_line("HYD-71020", 8, due=self.day(15))
        plan.add_line("HYD-71550", 8, due=self.day(15))
        plan.create(
            plan.at(-30, 9, 20),
            notes=VENDOR_BY_CODE["FLOW"].notes[0],
            internal="For customer project P-2207 (hydraulic lift stations).",
        )
        plan.issue(plan.at(-30, 10, 0))
        plan.cancel(
            plan.at(-12, 15, 45),
            "Customer project P-2207 postponed indefinitely; requirement removed in MRP. "
            "Cancellation agreed with M. Brandt (work not started, no charges).",
        )

        plan = self.plan("NORT", self.day(-20))
        plan.add_line("ELC-63010", 40, due=self.day(10))
        plan.add_line("ELC-63250", 100, due=self.day(10))
        plan.create(plan.at(-20, 11, 30), notes=VENDOR_BY_CODE["NORT"].notes[0])
        plan.issue(plan.at(-20, 13, 0))
        plan.cancel(
            plan.at(-6, 9, 30),
            "Ordered against the superseded electrical BOM (rev C); replaced by the "
            "consolidated order for CX-40 batch 13.",
        )

        plan = self.plan("BOLT", self.day(-9))
        plan.add_line("FST-40516", 20, due=self.day(6))
        plan.create(plan.at(-9, 14, 0), internal="Raised from requisition REQ-21108.")
        plan.cancel(
            plan.at(-8, 8, 50),
            "Duplicate: raised twice from requisition REQ-21108; the other draft is kept.",
        )

    def plan_conversations(self) -> None:
        """Orders whose story is what supplier and buyer say to each other.

        Planned after everything else so that the rest of the history stays the same
        whatever is told here (creating an order draws from the generator).
        """
        self.story_supplier_proposals()
        self.story_stock_shortage()
        self.story_proposals_waiting()

    def story_supplier_proposals(self) -> None:
        """ACME: a later date proposed (accepted), a quantity proposed and withdrawn, and a
        price increase waiting for the buyer; a drawing question answered."""
        plan = self.plan("ACME", self.day(-33))
        plan.scripted = True
        plan.add_line("MCH-21045", 120, due=self.day(4))
        housings = plan.add_line("MCH-21310", 24, due=self.day(11))
        plan.add_line("MCH-21533", 40, due=self.day(11))
        plan.create(
            plan.at(-33, 9, 30),
            notes=VENDOR_BY_CODE["ACME"].notes[0],
            internal="Drive train parts for CX-40 batch 14. Quote Q-24502 (J. Kowalski).",
        )
        plan.issue(plan.at(-33, 10, 15))
        plan.comment(
            plan.at(-33, 10, 25),
            DANA,
            "Please machine these shafts to drawing 21045 rev. D (keyway length now 45 mm, "
            "ECO-2288). Rev. C is obsolete.",
            line=10,
        )
        plan.acknowledge(
            plan.at(-32, 9, 5),
            TOM,
            ACCEPTED_WITH_CHANGES,
            "Accepted with one change: the gearbox housings (line 20) will be cast by our "
            "second foundry, same pattern and drawing. A first-article inspection report "
            "comes for your approval before the lot ships.",
        )
        plan.comment(
            plan.at(-32, 9, 20),
            TOM,
            "Drawing 21045 rev. D is released in our system. The first-article report for "
            "the new keyway length ships with the lot.",
            line=10,
        )
        plan.confirm(plan.at(-32, 9, 30), TOM, 20, 1)
        plan.confirm(plan.at(-32, 9, 35), TOM, 30, 1)
        later = self.day(11)
        hardening = plan.propose(
            plan.at(-24, 14, 10),
            TOM,
            10,
            delivery=1,
            due=later,
            reason="Our induction-hardening line is down for a spindle repair (parts due from "
            f"the machine builder next week). The 120 shafts can ship on {_date(later)}.",
        )
        plan.accept(
            plan.at(-23, 9, 40),
            hardening,
            note="Accepted: batch 14 gearbox assembly starts the week after, so there is "
            "still enough time.",
        )
        fixture = plan.propose(
            plan.at(-20, 11, 0),
            JOANNA,
            30,
            delivery=1,
            quantity=Decimal(36),
            reason="The weld fixture for the tensioner arms is damaged; until it is repaired "
            "we can make only 36 of the 40 arms by the due date.",
        )
        plan.withdraw(plan.at(-19, 15, 20), fixture, JOANNA)
        plan.comment(
            plan.at(-19, 15, 30),
            JOANNA,
            "The fixture was repaired sooner than expected, so we withdrew the proposal: all "
            "40 tensioner arms ship as ordered.",
            line=30,
        )
        surcharged = (housings.price * Decimal("1.065")).quantize(CENT)
        plan.propose(
            plan.at(-3, 13, 45),
            TOM,
            20,
            price=surcharged,
            reason="Our foundry raises the GG25 casting price from next month (scrap and "
            "energy surcharge, +6.5%). We have to pass it on for this lot: "
            f"{_fmt(surcharged)} per housing instead of {_fmt(housings.price)}. The "
            "foundry's letter was sent to purchasing.",
        )
        plan.comment(
            plan.at(-2, 9, 15),
            DANA,
            "The surcharge is plausible (scrap index up about 6% last month), but this order "
            "is per quote Q-24502. Counter at +3% and take it into the annual price review; "
            "do not accept before talking to J. Kowalski.",
            internal=True,
        )

    def story_stock_shortage(self) -> None:
        """BOLT: a stock shortage, so a later date is proposed and accepted; a surcharge
        proposed and rejected; a partial shipment announced."""
        plan = self.plan("BOLT", self.day(-27))
        plan.scripted = True
        plan.add_line("FST-20012", 30, due=self.day(-13))
        plan.add_line("FST-11025", 30, due=self.day(-13))
        rod = plan.add_line("FST-50640", 100, due=self.day(6))
        plan.create(
            plan.at(-27, 10, 40),
            notes=VENDOR_BY_CODE["BOLT"].notes[0],
            internal="Frame hardware for the CX-40 batch 13 build (Plant 1).",
        )
        plan.issue(plan.at(-27, 11, 15))
        plan.acknowledge(plan.at(-26, 8, 40), LENA, ACCEPTED)
        plan.confirm(plan.at(-26, 8, 45), LENA, 20, 1)
        plan.confirm(plan.at(-26, 8, 50), LENA, 30, 1)
        later = self.day(-6)
        shortage = plan.propose(
            plan.at(-20, 10, 5),
            LENA,
            10,
            delivery=1,
            due=later,
            reason="The M12 nyloc nuts are out of stock in our Rockford warehouse; the "
            f"manufacturer's replenishment arrives the week before. We can ship line 10 on "
            f"{_date(later)}; line 20 ships complete on the original date.",
        )
        plan.accept(
            plan.at(-20, 14, 30),
            shortage,
            note="OK: Plant 1 has M12 nyloc nuts in stock until then.",
        )
        surcharge = plan.propose(
            plan.at(-16, 9, 50),
            RICK,
            30,
            price=(rod.price * Decimal("1.08")).quantize(CENT),
            reason="Our mill adds a nickel alloy surcharge on A2 stainless from next month "
            "(+8%); it applies to every open order that ships after the first.",
        )
        plan.reject(
            plan.at(-15, 11, 20),
            surcharge,
            note="This order was placed at your quoted price (Q-24411, valid until the end "
            "of the year) and no surcharge was agreed. Please ship at the order price; we can "
            "discuss the surcharge for next year's orders.",
        )
        plan.comment(
            plan.at(-14, 15, 10),
            LENA,
            "Partial shipment notice: line 20 (M10x25) ships complete today; line 10 "
            f"follows on {_date(later)} as agreed, line 30 as confirmed.",
        )
        first = [(20, 1, Decimal(30))]
        plan.receive(plan.at(-13, 9, 30), first)
        self.invoice(plan, plan.at(-12, 10, 45), self.day(-13), self.billed(plan, first))
        plan.receive(plan.at(-6, 10, 15), [(10, 1, Decimal(30))])

    def story_proposals_waiting(self) -> None:
        """BOLT: a new order the supplier answers with two proposals instead of an
        acknowledgement; a packaging question; the buyer's internal note."""
        plan = self.plan("BOLT", self.day(-6))
        plan.scripted = True
        plan.add_line("FST-11025", 40, due=self.day(9))
        bolts = plan.add_line("FST-11260", 30, due=self.day(9))
        plan.add_line("FST-40516", 20, due=self.day(9))
        plan.create(
            plan.at(-6, 8, 50),
            notes=VENDOR_BY_CODE["BOLT"].notes[0],
            internal="Frames for CX-40 batch 14 (Plant 2).",
        )
        plan.issue(plan.at(-6, 9, 30))
        plan.comment(
            plan.at(-5, 10, 20),
            LENA,
            "Packaging question: do you want the M12x60 (line 20) in boxes of 50 as on the "
            "order, or in bulk cartons of 1,000? Bulk saves about 4% and fits on one pallet.",
            line=20,
        )
        plan.comment(
            plan.at(-5, 13, 5),
            MARCUS,
            "Boxes of 50 please, labelled as in our notes: the Plant 2 kanban bins are sized "
            "for them.",
            line=20,
        )
        plan.propose(
            plan.at(-4, 9, 35),
            LENA,
            10,
            delivery=1,
            quantity=Decimal(25),
            reason="Mill allocation: we have 25 boxes of M10x25 8.8 zinc plated; the next lot "
            "is not expected before the end of next month. We propose reducing line 10 to 25 "
            "boxes; lines 20 and 30 ship complete on the due date.",
        )
        # Confirmed, though the order is not acknowledged until the proposals are decided.
        plan.confirm(plan.at(-4, 9, 40), LENA, 20, 1)
        plan.confirm(plan.at(-4, 9, 45), LENA, 30, 1)
        increased = (bolts.price * Decimal("1.05")).quantize(CENT)
        plan.propose(
            plan.at(-3, 11, 10),
            RICK,
            20,
            price=increased,
            reason="Price increase on 10.9 grade bolts from next month: our mill's alloy "
            f"surcharge went up. New price {_fmt(increased)} per box for shipments after the "
            "first of the month.",
        )
        plan.comment(
            plan.at(-2, 14, 0),
            LENA,
            "We will acknowledge the order as soon as both proposals are decided.",
        )
        plan.comment(
            plan.at(-1, 10, 0),
            MARCUS,
            "Do not accept the reduced quantity yet: the CX-40 frames need 32 boxes of M10x25 "
            "through next month. Check Plant 1 stock and get a quote for the balance from "
            "our second fastener source first.",
            internal=True,
        )

    def plan_drafts(self) -> None:
        """Recent drafts, not yet sent to the supplier."""
        drafts = (
            (
                "ACME",
                -6,
                [("MCH-21045", 120), ("MCH-21415", 80)],
                "Waiting for revised quote Q-24388 before issuing.",
            ),
            (
                "BOLT",
                -5,
                [("FST-40516", 20)],
                "Check Plant 2 stock first: possibly covered by the next blanket call-off.",
            ),
            (
                "NORT",
                -4,
                [("ELC-61008", 120), ("ELC-62040", 40), ("ELC-65012", 10)],
                "Compare with the Lakeshore Electric quote (second source) before issuing.",
            ),
            ("STEL", -3, [("MAT-80720", 800)], ""),
            (
                "FLOW",
                -2,
                [("HYD-72008", 10), ("HYD-70412", 200)],
                "Maintenance stock replenishment; approve with the maintenance lead.",
            ),
        )
        for vendor, offset, lines, internal in drafts:
            spec = VENDOR_BY_CODE[vendor]
            plan = self.plan(vendor, self.day(offset))
            due = _workday(plan.order_date + dt.timedelta(days=spec.lead_days[1]))
            for part, quantity in lines:
                plan.add_line(part, quantity, due=due)
            plan.create(plan.at(offset, 9, 15), notes=self.notes_for(spec), internal=internal)
            if vendor == "ACME":
                offer = (plan.lines[10].price * Decimal("0.97")).quantize(CENT)
                plan.revise(
                    plan.at(offset, 11, 0),
                    "Price per the supplier's verbal offer; written quote to follow.",
                    [plan.set_price(10, offer)],
                )

    def plan_everyday_orders(self) -> None:
        """The bulk of the history: 40 ordinary orders spread over the last 120 days."""
        rng = self.rng
        vendors = ["ACME"] * 10 + ["BOLT"] * 9 + ["NORT"] * 7 + ["FLOW"] * 5 + ["STEL"] * 5
        vendors += ["PACK"] * 4
        rng.shuffle(vendors)
        dates = sorted(self.day(-rng.randint(3, HISTORY_DAYS)) for _ in vendors)
        for vendor, order_date in zip(vendors, dates, strict=True):
            self.standard_order(vendor, order_date)

    # -- the suppliers' answers -----------------------------------------------------------

    def reply_time(self, after: dt.datetime) -> dt.datetime:
        """When a supplier answers something that arrived at `after`: within a few hours
        or one to three working days later, in business hours."""
        rng = self.talk
        if rng.random() < 0.45:
            reply = after + dt.timedelta(minutes=rng.randint(35, 230))
            if reply.date() == after.date() and reply.hour < 17:
                return reply
        day = _workday(after.date() + dt.timedelta(days=rng.choice((1, 1, 1, 2, 3))))
        return _at(day, rng.randint(7, 15), rng.choice((5, 15, 25, 35, 45, 55)))

    def plan_answers(self) -> None:
        """The suppliers with portal logins answer the orders the stories do not script.

        Each revision is acknowledged (most of them) before the next one is made, and open
        deliveries are confirmed with the acknowledgement. The most recently changed open
        orders are left waiting, so each supplier has a few revisions to acknowledge.
        """
        for code in RESPONDERS:
            plans = [p for p in self.plans if p.spec.code == code and p.moments]
            open_now = [p for p in plans if p.open_at_end()]
            waiting = sum(1 for p in open_now if p.scripted and not p.current_acknowledged())
            recent = sorted(
                (p for p in open_now if not p.scripted),
                key=lambda p: max(p.moments),
                reverse=True,
            )
            unanswered = recent[: max(UNACKNOWLEDGED_PER_VENDOR - waiting, 0)]
            for plan in plans:
                if not plan.scripted:
                    self.answer(plan, leave_current=plan in unanswered)

    def answer(self, plan: _Plan, *, leave_current: bool) -> None:
        """Acknowledge each revision of `plan` in time and confirm its delivery dates.

        With `leave_current` the latest revision is not acknowledged yet: the order desk
        has confirmed the dates it is sure of and is still checking the rest.
        """
        rng = self.talk
        moments = sorted(plan.moments)
        still_open = plan.open_at_end()
        for index, made in enumerate(moments):
            current = index == len(moments) - 1
            if plan.ended is not None and made >= plan.ended:
                break  # nothing to acknowledge on a cancelled or closed-short order
            chance = 1.0 if current and still_open else 0.92 if current else 0.85
            if rng.random() >= chance:
                continue
            reply = self.reply_time(made)
            limit = self.cutoff if current else moments[index + 1]
            if plan.ended is not None:
                limit = min(limit, plan.ended)
            if reply >= limit:
                continue  # the next revision (or the end of the day) came first
            by = rng.choice(RESPONDERS[plan.spec.code])
            acknowledged = not (current and leave_current)
            if acknowledged:
                plan.acknowledge(reply, by, ACCEPTED)
            self.confirm_dates(plan, reply, limit, by, share=0.85 if acknowledged else 0.5)

    def confirm_dates(
        self, plan: _Plan, reply: dt.datetime, limit: dt.datetime, by: str, *, share: float
    ) -> None:
        """Confirm delivery dates that exist at `reply`, will not change any more and have
        not arrived yet (a share of those; fewer of those that arrive later anyway)."""
        rng = self.talk
        when = reply
        for line in plan.lines.values():
            for delivery in line.deliveries:
                if delivery.confirmed or delivery.cancelled or delivery.not_before >= reply:
                    continue
                when += dt.timedelta(minutes=rng.randint(2, 6))
                arrived = delivery.first_receipt
                if (arrived is not None and arrived <= when) or when >= limit:
                    continue
                if rng.random() < (share if arrived is None else share / 2):
                    plan.confirm(when, by, line.number, delivery.number)

    # -- running the plan ---------------------------------------------------------------

    def run(self) -> None:
        for step in sorted(self.steps, key=lambda s: (s.when, s.seq)):
            mark = timezone.now()
            try:
                step.action()
            except DomainError as exc:
                raise DemoError(
                    f"The service refused the planned step '{step.label}' "
                    f"({step.when:%Y-%m-%d %H:%M}): {exc}"
                ) from exc
            backdate(mark, step.when)


def backdate(since: dt.datetime, when: dt.datetime) -> None:
    """Move the timestamps the last step wrote (all at or after `since`) to `when`.

    Demo data only: the services stamp "now"; the demo replays four months of history,
    so each step's rows are dated to the simulated moment with a queryset update.
    """
    for model, names in STAMPED:
        touched = Q()
        for name in names:
            touched |= Q(**{f"{name}__gte": since})
        model._default_manager.filter(touched).update(
            **{
                name: Case(When(**{f"{name}__gte": since}, then=Value(when)), default=F(name))
                for name in names
            }
        )
