"""Invoices through the API: the list and one invoice for every token; a supplier's
invoice from its order (`POST /invoices`), its credit notes and withdrawal; the buying
company's approval and dispute.

Every rule and message is the screens' (purchasing.services.invoices): the three-way
match a line would get is refused unless `accept_exceptions` is true, a duplicate number
names the earlier invoice, and nothing is written when anything is refused.

(No `from __future__ import annotations`: django-ninja reads these signatures at import.)
"""

from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import Field, Query, Router, Status

from vendorportal.api.auth import caller, token_of
from vendorportal.api.endpoints import IDEMPOTENCY_KEY, ONE_ERRORS, READ_ERRORS, WRITE_ERRORS
from vendorportal.api.errors import ApiRefusal
from vendorportal.api.idempotency import idempotent
from vendorportal.api.paging import MAX_LIMIT, IdCursor
from vendorportal.api.paging import page as page_of
from vendorportal.api.schemas import In, InvoiceOut, InvoicePage, Schema
from vendorportal.api.types import (
    DecimalRule,
    Flag,
    Identifier,
    IsoDate,
    Positive,
    Price,
    Quantity,
    TextRule,
)
from vendorportal.purchasing import access, services
from vendorportal.purchasing.models import Invoice, InvoiceLine, InvoiceStatus

router = Router(tags=["invoices"])

Charge = Annotated[Decimal, DecimalRule(positive=False, places=2)]
Note = Annotated[str, TextRule(2000)]
Reason = Annotated[str, TextRule(2000, required=True)]


def invoice_out(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.pk,
        "number": invoice.number,
        "kind": invoice.kind,
        "origin": invoice.origin,
        "credits_number": invoice.credits.number if invoice.credits else None,
        "invoice_date": invoice.invoice_date,
        "due_date": invoice.due_date,
        "currency": invoice.currency,
        "status": invoice.status,
        "status_reason": invoice.status_reason,
        "note": invoice.note,
        "lines_amount": invoice.lines_amount,
        "tax_amount": invoice.tax_amount,
        "freight_amount": invoice.freight_amount,
        "total_amount": invoice.total_amount,
        "paid_amount": invoice.paid_amount,
        "credited_amount": invoice.credited_amount,
        "outstanding_amount": invoice.outstanding_amount,
        "lines": [
            {
                "order_number": il.order_line.order.number,
                "line_number": il.order_line.line_number,
                "quantity": il.quantity,
                "unit_price": il.unit_price,
                "amount": il.amount,
                "match_status": il.match_status,
                "received_quantity": il.received_quantity,
                "order_unit_price": il.order_unit_price,
            }
            for il in invoice.lines.all()
        ],
    }


def _with_lines(queryset: Any) -> Any:
    return queryset.select_related("credits").prefetch_related(
        Prefetch(
            "lines",
            queryset=InvoiceLine.objects.select_related("order_line__order").order_by("pk"),
        )
    )


class InvoiceFilters(Schema):
    open_only: bool = False
    status: InvoiceStatus | None = None
    cursor: IdCursor | None = None
    limit: int = 50


@router.get("/invoices", response={200: InvoicePage, **READ_ERRORS}, summary="Invoices")
def list_invoices(request: HttpRequest, filters: Query[InvoiceFilters]) -> dict[str, Any]:
    """Invoices and credit notes with the amount outstanding and, per line, the three-way
    match: what was received against what was invoiced, and the order price against the
    invoiced one."""
    with caller(request) as viewer:
        queryset = _with_lines(access.invoices(viewer))
        if filters.open_only:
            queryset = queryset.filter(status__in=["open", "partially_paid", "disputed"])
        if filters.status:
            queryset = queryset.filter(status=filters.status)
        rows, cursor = page_of(
            queryset, cursor=filters.cursor, limit=max(1, min(filters.limit, MAX_LIMIT))
        )
        return {"items": [invoice_out(inv) for inv in rows], "next_cursor": cursor}


@router.get(
    "/invoices/{invoice_id}", response={200: InvoiceOut, **ONE_ERRORS}, summary="One invoice"
)
def get_invoice(request: HttpRequest, invoice_id: int) -> dict[str, Any]:
    with caller(request) as viewer:
        invoice = _own(viewer, invoice_id)
        return invoice_out(_with_lines(access.invoices(viewer)).get(pk=invoice.pk))


def _own(viewer: access.Viewer, invoice_id: int) -> Invoice:
    return access.invoice_or_404(viewer, invoice_id)


class SupplierInvoiceLineIn(In):
    line_number: Positive
    quantity: Quantity
    unit_price: Price | None = Field(None, description="Default: the order price.")


class SupplierInvoiceIn(In):
    order_number: Identifier
    number: Annotated[str, TextRule(64, required=True)] = Field(
        description="Your invoice number: unique among your invoices and credit notes."
    )
    invoice_date: IsoDate | None = Field(None, description="Default: today.")
    due_date: IsoDate | None = None
    tax_amount: Charge = Decimal("0")
    freight_amount: Charge = Decimal("0")
    note: Note = ""
    accept_exceptions: Flag = Field(
        False,
        description="true: send lines the three-way match flags (more than received, a "
        "price off the order) as flagged exceptions; false: such lines are refused (400).",
    )
    lines: list[SupplierInvoiceLineIn] = Field(min_length=1, max_length=1000)


def _supplier_only(request: HttpRequest) -> None:
    if token_of(request).vendor is None:
        raise ApiRefusal(
            403,
            "forbidden",
            "Only a supplier's token sends invoices here; the buying company's come "
            "through /sync/invoices.",
        )


def _buyer_only(request: HttpRequest) -> None:
    if token_of(request).vendor is not None:
        raise ApiRefusal(403, "forbidden", "Only the buying company's tokens do this.")


@router.post(
    "/invoices",
    response={201: InvoiceOut, **WRITE_ERRORS},
    summary="Invoice an order (supplier tokens)",
)
@idempotent
def create_invoice(
    request: HttpRequest,
    payload: SupplierInvoiceIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Status[dict[str, Any]]:
    """The supplier's invoice from one of its orders; it waits for the buyer's approval."""
    _supplier_only(request)
    with caller(request, write=True) as viewer:
        order = access.order_or_404(viewer, payload.order_number)
        by_number = {line.line_number: line for line in order.lines.all()}
        lines = []
        for index, entry in enumerate(payload.lines):
            line = by_number.get(entry.line_number)
            if line is None:
                raise ApiRefusal(
                    400,
                    "invalid",
                    f"Order {order.number} has no line {entry.line_number}.",
                    field=f"lines.{index}.line_number",
                )
            price = line.unit_price if entry.unit_price is None else entry.unit_price
            lines.append(services.InvoiceLineInput(line, entry.quantity, price))
        invoice = services.invoice_submit(
            order=order,
            number=payload.number,
            lines=lines,
            by=viewer.user,
            invoice_date=payload.invoice_date,
            due_date=payload.due_date,
            tax_amount=payload.tax_amount,
            freight_amount=payload.freight_amount,
            note=payload.note,
            accept_exceptions=payload.accept_exceptions,
        )
        return Status(201, invoice_out(_with_lines(access.invoices(viewer)).get(pk=invoice.pk)))


class CreditLineIn(In):
    order_number: Identifier
    line_number: Positive
    quantity: Quantity
    unit_price: Price | None = Field(None, description="Default: the invoiced price.")


class CreditNoteIn(In):
    number: Annotated[str, TextRule(64, required=True)]
    credit_date: IsoDate | None = None
    reason: Reason
    tax_amount: Charge = Decimal("0")
    lines: list[CreditLineIn] = Field(min_length=1, max_length=1000)


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    response={201: InvoiceOut, **WRITE_ERRORS},
    summary="Credit part of an invoice",
)
@idempotent
def create_credit_note(
    request: HttpRequest,
    invoice_id: int,
    payload: CreditNoteIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Status[dict[str, Any]]:
    """A supplier's credit note waits for the buyer's approval; the buying company's
    applies at once. Either takes its quantity back from the match and its total off what
    is outstanding."""
    with caller(request, write=True) as viewer:
        invoice = _own(viewer, invoice_id)
        by_line = {
            (il.order_line.order.number, il.order_line.line_number): il
            for il in invoice.lines.select_related("order_line__order")
        }
        lines = []
        for index, entry in enumerate(payload.lines):
            original = by_line.get((entry.order_number, entry.line_number))
            if original is None:
                raise ApiRefusal(
                    400,
                    "invalid",
                    f"Invoice {invoice.number} has no line for {entry.order_number} line "
                    f"{entry.line_number}.",
                    field=f"lines.{index}",
                )
            price = original.unit_price if entry.unit_price is None else entry.unit_price
            lines.append(services.CreditLineInput(original, entry.quantity, price))
        credit = services.credit_note_create(
            invoice=invoice,
            number=payload.number,
            lines=lines,
            by=viewer.user,
            reason=payload.reason,
            credit_date=payload.credit_date,
            tax_amount=payload.tax_amount,
        )
        return Status(201, invoice_out(_with_lines(access.invoices(viewer)).get(pk=credit.pk)))


class DecisionIn(In):
    action: Literal["approve", "dispute", "withdraw"] = Field(
        description="approve or dispute: the buying company's tokens; withdraw: the "
        "supplier's, before approval."
    )
    reason: Note = Field("", description="Required to dispute or withdraw.")


@router.post(
    "/invoices/{invoice_id}/decision",
    response={200: InvoiceOut, **WRITE_ERRORS},
    summary="Approve, dispute or withdraw an invoice or credit note",
)
@idempotent
def decide_invoice(
    request: HttpRequest,
    invoice_id: int,
    payload: DecisionIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Status[dict[str, Any]]:
    if payload.action == "withdraw":
        _supplier_only(request)
    else:
        _buyer_only(request)
    with caller(request, write=True) as viewer:
        invoice = _own(viewer, invoice_id)
        if payload.action == "approve":
            services.invoice_approve(invoice=invoice, by=viewer.user, note=payload.reason)
        elif payload.action == "dispute":
            services.invoice_dispute(invoice=invoice, by=viewer.user, reason=payload.reason)
        else:
            services.invoice_withdraw(invoice=invoice, by=viewer.user, reason=payload.reason)
        return Status(200, invoice_out(_with_lines(access.invoices(viewer)).get(pk=invoice.pk)))
