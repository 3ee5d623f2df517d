"""Invoices and payments: recorded, matched three ways against the order and its
receipts, disputed, paid, voided."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from vendorportal.accounts.models import User
from vendorportal.errors import DomainError
from vendorportal.events.log import record_event
from vendorportal.purchasing import rules
from vendorportal.purchasing.models import (
    ZERO,
    Delivery,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceOrigin,
    InvoiceStatus,
    Line,
    LineStatus,
    MatchStatus,
    OrderStatus,
    Payment,
    PurchaseOrder,
    Vendor,
)
from vendorportal.purchasing.services.editor import (
    CENT,
    HUNDRED,
)
from vendorportal.purchasing.services.inputs import (
    CreditLineInput,
    InvoiceLineInput,
)
from vendorportal.purchasing.states import (
    INVOICE_TRANSITIONS,
    check_transition,
)
from vendorportal.scoping import service

# ---------------------------------------------------------------------------------------
# Invoices and payments
# ---------------------------------------------------------------------------------------


def _price_varies(invoiced: Decimal, ordered: Decimal) -> bool:
    tolerance = ordered * Decimal(settings.INVOICE_PRICE_TOLERANCE_PERCENT) / HUNDRED
    return abs(invoiced - ordered) > tolerance


def match_status(
    *, invoiced: Decimal, received: Decimal, unit_price: Decimal, order_price: Decimal
) -> str:
    """The three-way match of one invoice line: the rule both sides see.

    `invoiced` is what has been invoiced on the order line up to and including this
    line (net of applied credit notes); more than was received is a quantity exception.
    A price outside the tolerance of the order price is a price variance.
    """
    qty_bad = invoiced > received
    price_bad = _price_varies(unit_price, order_price)
    if qty_bad and price_bad:
        return MatchStatus.QUANTITY_AND_PRICE
    if qty_bad:
        return MatchStatus.QUANTITY_EXCEPTION
    if price_bad:
        return MatchStatus.PRICE_VARIANCE
    return MatchStatus.MATCHED


# Invoice lines that count in the match: live invoices, and credit notes once applied.
LIVE_LINES = (
    Q(invoice__kind=InvoiceKind.INVOICE)
    & ~Q(invoice__status__in=[InvoiceStatus.VOID, InvoiceStatus.WITHDRAWN])
) | Q(invoice__kind=InvoiceKind.CREDIT_NOTE, invoice__status=InvoiceStatus.APPLIED)


def _received_on(line_ids: Any) -> dict[int, Decimal]:
    return dict(
        Delivery.objects.filter(line_id__in=line_ids)
        .values("line_id")
        .annotate(total=Sum("received_quantity"))
        .values_list("line_id", "total")
    )


def invoiced_on(line_ids: Any) -> dict[int, Decimal]:
    """Net invoiced quantity per order line: live invoices less applied credit notes."""
    totals: dict[int, Decimal] = {}
    rows = (
        InvoiceLine.objects.filter(LIVE_LINES, order_line_id__in=line_ids)
        .values_list("order_line_id", "invoice__kind")
        .annotate(total=Sum("quantity"))
    )
    for line_id, kind, total in rows:
        sign = -1 if kind == InvoiceKind.CREDIT_NOTE else 1
        totals[line_id] = totals.get(line_id, ZERO) + sign * total
    return totals


def _rematch_invoices(line_ids: Any) -> None:
    """Recompute the three-way match of every live invoice line on these order lines.

    Quantity is matched cumulatively in invoice order: an invoice line is an exception
    when, with it, more has been invoiced on the order line than was received. An applied
    credit note takes its quantity back from the invoices after it.
    """
    ids = set(line_ids)
    if not ids:
        return
    invoice_lines = list(
        InvoiceLine.objects.filter(LIVE_LINES, order_line_id__in=ids)
        .select_related("order_line", "invoice")
        .order_by("order_line_id", "invoice__invoice_date", "invoice_id", "id")
    )
    if not invoice_lines:
        return
    received = _received_on(ids)
    running: dict[int, Decimal] = {}
    changed = []
    for inv_line in invoice_lines:
        order_line = inv_line.order_line
        got = received.get(order_line.pk) or ZERO
        credit = inv_line.invoice.kind == InvoiceKind.CREDIT_NOTE
        step = -inv_line.quantity if credit else inv_line.quantity
        running[order_line.pk] = running.get(order_line.pk, ZERO) + step
        status = (
            MatchStatus.MATCHED
            if credit
            else match_status(
                invoiced=running[order_line.pk],
                received=got,
                unit_price=inv_line.unit_price,
                order_price=order_line.unit_price,
            )
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


@dataclass(frozen=True)
class MatchPreview:
    """What one line of an invoice not yet sent will get from the three-way match."""

    order_line: Line
    quantity: Decimal
    unit_price: Decimal
    received: Decimal
    invoiced_before: Decimal
    invoiced_with: Decimal
    status: str

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(CENT)

    @property
    def label(self) -> str:
        return MatchStatus(self.status).label

    @property
    def matched(self) -> bool:
        return self.status == MatchStatus.MATCHED

    def explain(self) -> str:
        """The exception in words, with its numbers."""
        line = f"Line {self.order_line.line_number}"
        parts = []
        if self.status in (MatchStatus.QUANTITY_EXCEPTION, MatchStatus.QUANTITY_AND_PRICE):
            parts.append(
                f"{_num(self.invoiced_with)} invoiced in all is more than the "
                f"{_num(self.received)} received"
            )
        if self.status in (MatchStatus.PRICE_VARIANCE, MatchStatus.QUANTITY_AND_PRICE):
            parts.append(
                f"the price {_num(self.unit_price)} differs from the order's "
                f"{_num(self.order_line.unit_price)}"
            )
        return f"{line}: " + " and ".join(parts) if parts else f"{line}: matched"


def _num(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def invoice_match_preview(entries: Sequence[InvoiceLineInput]) -> list[MatchPreview]:
    """The match each line of a new invoice would get, by the rule of `match_status`,
    counting what live invoices already took on each order line. Reads only."""
    ids = {entry.order_line.pk for entry in entries}
    received = _received_on(ids)
    before = invoiced_on(ids)
    running = dict(before)
    previews = []
    for entry in entries:
        line = entry.order_line
        running[line.pk] = running.get(line.pk, ZERO) + entry.quantity
        previews.append(
            MatchPreview(
                order_line=line,
                quantity=entry.quantity,
                unit_price=entry.unit_price,
                received=received.get(line.pk) or ZERO,
                invoiced_before=before.get(line.pk, ZERO),
                invoiced_with=running[line.pk],
                status=match_status(
                    invoiced=running[line.pk],
                    received=received.get(line.pk) or ZERO,
                    unit_price=entry.unit_price,
                    order_price=line.unit_price,
                ),
            )
        )
    return previews


def still_to_invoice(order: PurchaseOrder) -> list[InvoiceLineInput]:
    """What a new invoice from this order starts with: per line, received and not yet
    invoiced (net of credit notes), at the order price."""
    lines = list(order.lines.exclude(status=LineStatus.CANCELLED).order_by("line_number"))
    ids = [line.pk for line in lines]
    received, invoiced = _received_on(ids), invoiced_on(ids)
    return [
        InvoiceLineInput(
            line,
            max(ZERO, (received.get(line.pk) or ZERO) - invoiced.get(line.pk, ZERO)),
            line.unit_price,
        )
        for line in lines
    ]


def _check_number(vendor: Vendor, number: str) -> str:
    """Invoice numbers are unique per vendor; a duplicate names the earlier document."""
    number = rules.text(
        number, field="number", label="Invoice number", max_length=64, required=True
    )
    Vendor.objects.select_for_update().get(pk=vendor.pk)  # one invoice number at a time
    earlier = Invoice.objects.filter(vendor=vendor, number=number).first()
    if earlier is not None:
        what = "a credit note" if earlier.is_credit_note else "an invoice"
        raise DomainError(
            f"{vendor.code} already has {what} numbered {number} (dated "
            f"{earlier.invoice_date.isoformat()}, {earlier.get_status_display().lower()}, "
            f"{earlier.currency} {earlier.total_amount:,.2f}); give this one its own number.",
            field="number",
            code="duplicate",
        )
    return number


def _charge(value: Any, *, field: str, label: str) -> Decimal:
    return rules.decimal(
        value if value not in (None, "") else ZERO,
        field=field,
        label=label,
        positive=False,
        places=2,
    )


def _prepare_lines(
    vendor: Vendor, lines: Sequence[InvoiceLineInput]
) -> tuple[dict[int, PurchaseOrder], list[InvoiceLineInput]]:
    if not lines:
        raise DomainError("An invoice needs at least one line.", field="lines")
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
        prepared.append(InvoiceLineInput(line, quantity, price))
    return orders, prepared


def _create_invoice(
    *,
    vendor: Vendor,
    number: str,
    lines: Sequence[InvoiceLineInput],
    by: User | None,
    status: str,
    origin: str,
    invoice_date: dt.date | None,
    due_date: dt.date | None,
    currency: str | None,
    external_id: str | None,
    tax_amount: Any,
    freight_amount: Any,
    note: str,
) -> tuple[Invoice, dict[int, PurchaseOrder]]:
    number = _check_number(vendor, number)
    tax = _charge(tax_amount, field="tax_amount", label="Tax")
    freight = _charge(freight_amount, field="freight_amount", label="Freight")
    note = rules.text(note, field="note", label="Note", max_length=2000)
    invoice_date = invoice_date or timezone.localdate()
    if due_date and due_date < invoice_date:
        raise DomainError("The due date cannot be before the invoice date.", field="due_date")
    orders, prepared = _prepare_lines(vendor, lines)
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
        status=status,
        origin=origin,
        tax_amount=tax,
        freight_amount=freight,
        note=note,
        submitted_at=timezone.now() if status == InvoiceStatus.SUBMITTED else None,
        external_id=external_id or None,
        created_by=by,
    )
    inv_lines = [
        InvoiceLine(
            invoice=invoice,
            vendor=vendor,
            order_line=entry.order_line,
            quantity=entry.quantity,
            unit_price=entry.unit_price,
            amount=(entry.quantity * entry.unit_price).quantize(CENT),
        )
        for entry in prepared
    ]
    InvoiceLine.objects.bulk_create(inv_lines)
    invoice.lines_amount = sum((il.amount for il in inv_lines), ZERO)
    invoice.total_amount = invoice.lines_amount + tax + freight
    invoice.save(update_fields=["lines_amount", "total_amount", "updated_at"])
    _rematch_invoices({entry.order_line.pk for entry in prepared})
    for order in orders.values():
        order.save(update_fields=["updated_at"])
    return invoice, orders


def _match_words(invoice: Invoice, when: str) -> str:
    exceptions = invoice.lines.exclude(match_status=MatchStatus.MATCHED).count()
    # Said of the moment it was recorded: a later receipt or return can change the match,
    # and the order's timeline shows the invoice's state now beside this.
    if exceptions:
        return f", {exceptions} line(s) with match exceptions when {when}"
    return f", matched when {when}"


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
    tax_amount: Any = ZERO,
    freight_amount: Any = ZERO,
    note: str = "",
) -> Invoice:
    """Record a supplier's invoice as the buyer (or the ERP) received it: open for payment
    at once; each line is matched."""
    invoice, orders = _create_invoice(
        vendor=vendor,
        number=number,
        lines=lines,
        by=by,
        status=InvoiceStatus.OPEN,
        origin=InvoiceOrigin.ERP if external_id else InvoiceOrigin.BUYER,
        invoice_date=invoice_date,
        due_date=due_date,
        currency=currency,
        external_id=external_id,
        tax_amount=tax_amount,
        freight_amount=freight_amount,
        note=note,
    )
    record_event(
        kind="invoice.recorded",
        vendor_id=vendor.pk,
        order_id=next(iter(orders.values())).pk,
        actor=by,
        summary=f"Invoice {invoice.number} recorded: {invoice.currency} "
        f"{invoice.total_amount:,.2f}" + _match_words(invoice, "recorded"),
        data={
            "invoice": invoice.pk,
            "number": invoice.number,
            "orders": sorted(o.number for o in orders.values()),
        },
    )
    return invoice


def _require_supplier(by: User | None, vendor_id: int, what: str) -> User:
    if by is None or not by.is_vendor_user or by.vendor_id != vendor_id:
        raise DomainError(f"No such {what}.", code="not_found")
    return by


def _require_buyer(by: User | None) -> None:
    if by is not None and not by.is_buyer:
        raise DomainError("Only a buyer can do this.", code="forbidden")


@service
def invoice_submit(
    *,
    order: PurchaseOrder,
    number: str,
    lines: Sequence[InvoiceLineInput],
    by: User,
    invoice_date: dt.date | None = None,
    due_date: dt.date | None = None,
    tax_amount: Any = ZERO,
    freight_amount: Any = ZERO,
    note: str = "",
    accept_exceptions: bool = False,
    document: Any = None,
) -> Invoice:
    """The supplier invoices its order from the portal (the PO flip).

    `document`, the supplier's own invoice file, is attached in the same transaction (by
    the attachment rules): refused, it refuses the invoice too.

    The invoice waits for the buyer's approval. A line the three-way match would flag
    (more invoiced than received, a price off the order) is refused unless the supplier
    sends it as a flagged exception (`accept_exceptions`): the refusal names each line
    and its numbers.
    """
    _require_supplier(by, order.vendor_id, "order")
    # Locks the vendor (one invoice at a time per vendor), so the match below counts every
    # invoice sent before this one, even one sent at the same moment.
    number = _check_number(order.vendor, number)
    for index, entry in enumerate(lines):
        if entry.order_line.order_id != order.pk:
            raise DomainError(
                f"Line {index + 1} is not a line of {order.number}.", field=f"lines.{index}"
            )
    if not accept_exceptions:
        _, prepared = _prepare_lines(order.vendor, lines)
        flagged = [p for p in invoice_match_preview(prepared) if not p.matched]
        if flagged:
            raise DomainError(
                "; ".join(p.explain() for p in flagged)
                + ". Correct the line or send it as a flagged exception.",
                field="accept_exceptions",
                code="match_exception",
            )
    invoice, _ = _create_invoice(
        vendor=order.vendor,
        number=number,
        lines=lines,
        by=by,
        status=InvoiceStatus.SUBMITTED,
        origin=InvoiceOrigin.SUPPLIER,
        invoice_date=invoice_date,
        due_date=due_date,
        currency=None,
        external_id=None,
        tax_amount=tax_amount,
        freight_amount=freight_amount,
        note=note,
    )
    record_event(
        kind="invoice.submitted",
        vendor_id=order.vendor_id,
        order_id=order.pk,
        actor=by,
        summary=f"Invoice {invoice.number} submitted: {invoice.currency} "
        f"{invoice.total_amount:,.2f}" + _match_words(invoice, "submitted"),
        data={"invoice": invoice.pk, "number": invoice.number, "orders": [order.number]},
    )
    if document is not None:
        # Imported here: the attachment services build on the purchasing ones.
        from vendorportal.collaboration import attachments

        attachments.attachment_add(target=invoice, upload=document, kind="invoice_pdf", by=by)
    return invoice


@service
def invoice_approve(*, invoice: Invoice, by: User | None, note: str = "") -> Invoice:
    """The buyer accepts a submitted invoice (open for payment) or credit note (applied to
    the invoice it credits)."""
    _require_buyer(by)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    note = rules.text(note, field="note", label="Note", max_length=2000)
    what = "Credit note" if invoice.is_credit_note else "Invoice"
    if not invoice.awaiting_approval:
        raise DomainError(
            f"{what} {invoice.number} is {invoice.get_status_display().lower()}; "
            "only one awaiting approval can be approved.",
            field="status",
            code="invalid_status",
        )
    old_status = invoice.status
    invoice.approved_at, invoice.approved_by = timezone.now(), by
    if invoice.is_credit_note:
        _apply_credit(invoice, by=by)
        new_status: str = InvoiceStatus.APPLIED
    else:
        new_status = _invoice_payment_status(invoice)
    check_transition(INVOICE_TRANSITIONS, f"{what} {invoice.number}", old_status, new_status)
    invoice.status = new_status
    invoice.save(update_fields=["status", "approved_at", "approved_by", "updated_at"])
    _rematch_invoices(invoice.lines.values_list("order_line_id", flat=True))
    _invoice_event(
        invoice,
        kind="credit_note.applied" if invoice.is_credit_note else "invoice.approved",
        by=by,
        summary=f"{what} {invoice.number} approved"
        + (f" and applied to invoice {invoice.credits.number}" if invoice.credits else "")
        + (f": {note}" if note else ""),
        changes={"status": [old_status, invoice.status]},
        data={"credits": invoice.credits_id} if invoice.is_credit_note else None,
    )
    return invoice


@service
def invoice_withdraw(*, invoice: Invoice, by: User, reason: str) -> Invoice:
    """The supplier takes back an invoice or credit note the buyer has not approved."""
    _require_supplier(by, invoice.vendor_id, "invoice")
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    reason = rules.text(reason, field="reason", label="Reason", max_length=2000, required=True)
    what = "Credit note" if invoice.is_credit_note else "Invoice"
    if not invoice.awaiting_approval:
        raise DomainError(
            f"{what} {invoice.number} is {invoice.get_status_display().lower()}; only one "
            "awaiting approval (or disputed before approval) can be withdrawn.",
            field="status",
            code="invalid_status",
        )
    old_status = invoice.status
    invoice.status, invoice.status_reason = InvoiceStatus.WITHDRAWN, reason
    invoice.save(update_fields=["status", "status_reason", "updated_at"])
    _rematch_invoices(invoice.lines.values_list("order_line_id", flat=True))
    _invoice_event(
        invoice,
        kind="invoice.withdrawn",
        by=by,
        summary=f"{what} {invoice.number} withdrawn: {reason}",
        changes={"status": [old_status, invoice.status]},
        data={"reason": reason},
    )
    return invoice


def _apply_credit(credit: Invoice, *, by: User | None) -> None:
    """Take an approved credit note off what is outstanding on its invoice."""
    if credit.credits_id is None:  # pragma: no cover - a constraint says it never is
        raise DomainError("A credit note names the invoice it credits.", field="invoice")
    target = Invoice.objects.select_for_update().get(pk=credit.credits_id)
    if credit.total_amount > target.outstanding_amount:
        raise DomainError(
            f"Credit note {credit.number} of {credit.total_amount:,.2f} is more than the "
            f"{target.outstanding_amount:,.2f} outstanding on invoice {target.number}.",
            field="lines",
        )
    old = target.credited_amount
    target.credited_amount += credit.total_amount
    fields = ["credited_amount", "updated_at"]
    if target.status in (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID):
        new_status = _invoice_payment_status(target)
        check_transition(INVOICE_TRANSITIONS, f"Invoice {target.number}", target.status, new_status)
        target.status = new_status
        fields.append("status")
    target.save(update_fields=fields)
    _invoice_event(
        target,
        kind="invoice.credited",
        by=by,
        summary=f"Invoice {target.number} credited {target.currency} "
        f"{credit.total_amount:,.2f} by credit note {credit.number}",
        changes={"credited_amount": [str(old), str(target.credited_amount)]},
        data={"credit_note": credit.pk},
    )


@service
def credit_note_create(
    *,
    invoice: Invoice,
    number: str,
    lines: Sequence[CreditLineInput],
    by: User | None,
    reason: str,
    credit_date: dt.date | None = None,
    tax_amount: Any = ZERO,
    external_id: str | None = None,
) -> Invoice:
    """A credit note against an invoice: a supplier's waits for the buyer's approval, a
    buyer's (or the ERP's) applies at once. It takes quantity back from the three-way
    match and its total off what is outstanding on the invoice."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    supplier = by is not None and by.is_vendor_user
    if supplier:
        _require_supplier(by, invoice.vendor_id, "invoice")
    if invoice.is_credit_note:
        raise DomainError(
            "A credit note credits an invoice, not another credit note.", field="invoice"
        )
    if invoice.status not in (
        InvoiceStatus.SUBMITTED,
        InvoiceStatus.OPEN,
        InvoiceStatus.PARTIALLY_PAID,
        InvoiceStatus.DISPUTED,
    ):
        raise DomainError(
            f"Invoice {invoice.number} is {invoice.get_status_display().lower()}; "
            "it cannot be credited.",
            field="invoice",
        )
    reason = rules.text(reason, field="reason", label="Reason", max_length=2000, required=True)
    number = _check_number(invoice.vendor, number)
    tax = _charge(tax_amount, field="tax_amount", label="Tax")
    if not lines:
        raise DomainError("A credit note needs at least one line.", field="lines")
    credited_before = dict(
        InvoiceLine.objects.filter(credits_line__invoice=invoice)
        .exclude(invoice__status__in=[InvoiceStatus.WITHDRAWN, InvoiceStatus.VOID])
        .values("credits_line_id")
        .annotate(total=Sum("quantity"))
        .values_list("credits_line_id", "total")
    )
    prepared = []
    for index, entry in enumerate(lines):
        original = entry.invoice_line
        if original.invoice_id != invoice.pk:
            raise DomainError(
                f"Line {index + 1} is not a line of invoice {invoice.number}.",
                field=f"lines.{index}",
            )
        label = f"Line {index + 1} ({original.order_line})"
        quantity = rules.decimal(
            entry.quantity,
            field=f"lines.{index}.quantity",
            label=f"{label} quantity",
            positive=True,
        )
        price = rules.decimal(
            entry.unit_price,
            field=f"lines.{index}.unit_price",
            label=f"{label} unit price",
            positive=False,
        )
        left = original.quantity - credited_before.get(original.pk, ZERO)
        if quantity > left:
            raise DomainError(
                f"{label}: {_num(quantity)} is more than the {_num(left)} of it still to credit.",
                field=f"lines.{index}.quantity",
            )
        if price > original.unit_price:
            raise DomainError(
                f"{label}: the price {_num(price)} is more than the invoiced "
                f"{_num(original.unit_price)}.",
                field=f"lines.{index}.unit_price",
            )
        credited_before[original.pk] = credited_before.get(original.pk, ZERO) + quantity
        prepared.append((original, quantity, price))
    amount = sum(((q * p).quantize(CENT) for _, q, p in prepared), ZERO) + tax
    if amount > invoice.outstanding_amount:
        raise DomainError(
            f"The credit of {amount:,.2f} is more than the {invoice.outstanding_amount:,.2f} "
            f"outstanding on invoice {invoice.number}.",
            field="lines",
        )
    credit = Invoice.objects.create(
        vendor_id=invoice.vendor_id,
        number=number,
        kind=InvoiceKind.CREDIT_NOTE,
        credits=invoice,
        origin=InvoiceOrigin.SUPPLIER
        if supplier
        else (InvoiceOrigin.ERP if external_id else InvoiceOrigin.BUYER),
        status=InvoiceStatus.SUBMITTED,
        invoice_date=credit_date or timezone.localdate(),
        currency=invoice.currency,
        tax_amount=tax,
        note=reason,
        submitted_at=timezone.now(),
        external_id=external_id or None,
        created_by=by,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=credit,
            vendor_id=invoice.vendor_id,
            order_line_id=original.order_line_id,
            credits_line=original,
            quantity=quantity,
            unit_price=price,
            amount=(quantity * price).quantize(CENT),
        )
        for original, quantity, price in prepared
    )
    credit.lines_amount = amount - tax
    credit.total_amount = amount
    credit.save(update_fields=["lines_amount", "total_amount", "updated_at"])
    _invoice_event(
        credit,
        kind="credit_note.submitted" if supplier else "credit_note.recorded",
        by=by,
        summary=f"Credit note {credit.number} for invoice {invoice.number}: "
        f"{credit.currency} {credit.total_amount:,.2f} ({reason})",
        data={"credits": invoice.pk},
    )
    if not supplier:
        credit.approved_at, credit.approved_by = timezone.now(), by
        _apply_credit(credit, by=by)
        credit.status = InvoiceStatus.APPLIED
        credit.save(update_fields=["status", "approved_at", "approved_by", "updated_at"])
        _rematch_invoices({original.order_line_id for original, _, _ in prepared})
    return credit


def _invoice_payment_status(invoice: Invoice) -> str:
    covered = invoice.paid_amount + invoice.credited_amount
    if covered >= invoice.total_amount:
        return InvoiceStatus.PAID
    if invoice.paid_amount > 0:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


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
    if invoice.is_credit_note:
        raise DomainError(
            f"{invoice.number} is a credit note; payments are recorded on invoices.",
            field="invoice",
        )
    if invoice.status == InvoiceStatus.SUBMITTED:
        raise DomainError(
            f"Invoice {invoice.number} is awaiting approval; approve it before paying.",
            field="invoice",
        )
    if invoice.status in (InvoiceStatus.VOID, InvoiceStatus.PAID, InvoiceStatus.WITHDRAWN):
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
    outstanding = invoice.outstanding_amount
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
    invoice.status, invoice.status_reason = InvoiceStatus.DISPUTED, reason
    invoice.save(update_fields=["status", "status_reason", "updated_at"])
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
    # Back where it was: awaiting approval if it never was approved, else open for payment.
    invoice.status = (
        InvoiceStatus.SUBMITTED
        if invoice.approved_at is None and invoice.origin == InvoiceOrigin.SUPPLIER
        else _invoice_payment_status(invoice)
    )
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
