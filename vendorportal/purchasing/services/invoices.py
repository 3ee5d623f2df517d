"""Invoices and payments: recorded, matched three ways against the order and its
receipts, disputed, paid, voided."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from vendorportal.accounts.models import User
from vendorportal.errors import DomainError
from vendorportal.events.log import record_event
from vendorportal.purchasing import rules
from vendorportal.purchasing.models import (
    ZERO,
    Delivery,
    Invoice,
    InvoiceLine,
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
