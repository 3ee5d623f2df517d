"""The supplier bills from the portal: an invoice from an order (the PO flip) with the
three-way match shown before it is sent, a credit note against an invoice, and an invoice
taken back before the buyer approved it. Lists and the invoice's page are shared
(web/views.py); the buyer's approval is in buying/invoicing.py."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from vendorportal.errors import DomainError
from vendorportal.portal.forms import CreditNoteForm
from vendorportal.purchasing import access, services
from vendorportal.purchasing.models import LineStatus
from vendorportal.web.access import supplier_view, viewer_of
from vendorportal.web.errors import add_domain_error
from vendorportal.web.formatting import plain
from vendorportal.web.forms import ReasonForm, SupplierInvoiceForm

SIDE = "portal"


@supplier_view
@require_http_methods(["GET", "HEAD", "POST"])
def order_invoice_new(request: HttpRequest, number: str) -> HttpResponse:
    """Lines start with what was received and not yet invoiced, at the order price; every
    render shows the match each line would get, and "Check" re-renders without sending."""
    viewer = viewer_of(request)
    order = access.order_or_404(viewer, number)
    lines = list(
        order.lines.exclude(status=LineStatus.CANCELLED)
        .select_related("item")
        .order_by("line_number")
    )
    prefill = {
        f"qty_{entry.order_line.pk}": plain(entry.quantity)
        for entry in services.still_to_invoice(order)
        if entry.quantity
    }
    form = SupplierInvoiceForm(
        request.POST or None,
        request.FILES or None,
        lines=lines,
        initial={"invoice_date": timezone.localdate(), **prefill},
    )
    preview: list[services.MatchPreview] = []
    if form.is_bound:
        if form.is_valid():
            entries = [services.InvoiceLineInput(*entry) for entry in form.entries()]
            preview = services.invoice_match_preview(entries)
            if request.POST.get("action") != "check":
                data = form.cleaned_data
                try:
                    invoice = services.invoice_submit(
                        order=order,
                        number=data["number"],
                        lines=entries,
                        by=viewer.user,
                        invoice_date=data["invoice_date"],
                        due_date=data.get("due_date"),
                        accept_exceptions=bool(data.get("accept_exceptions")),
                        document=data.get("document"),
                        **form.charges(),
                    )
                except DomainError as error:
                    add_domain_error(form, error, {"file": "document"})
                else:
                    messages.success(
                        request,
                        f"Invoice {invoice.number} sent: it waits for the buyer's approval.",
                    )
                    return redirect("portal:invoice-detail", pk=invoice.pk)
    else:
        entries = [
            services.InvoiceLineInput(ln, Decimal(prefill[f"qty_{ln.pk}"]), ln.unit_price)
            for ln in lines
            if f"qty_{ln.pk}" in prefill
        ]
        preview = services.invoice_match_preview(entries)
    by_line = {p.order_line.pk: p for p in preview}
    return render(
        request,
        "portal/invoice_form.html",
        {
            "nav": "invoices",
            "side": SIDE,
            "order": order,
            "form": form,
            "rows": [(ln, qty, price, by_line.get(ln.pk)) for ln, qty, price in form.line_fields()],
            "preview": preview,
            "lines_total": sum((p.amount for p in preview), Decimal("0")),
            "flagged": [p for p in preview if not p.matched],
        },
        status=400 if form.errors else 200,
    )


# The service names credit lines `lines.<i>.quantity`; on the form they are per line.
def _credit_aliases(form: CreditNoteForm) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for index, entry in enumerate(form.credit_lines()):
        pk = entry.invoice_line.pk
        aliases[f"lines.{index}.quantity"] = f"qty_{pk}"
        aliases[f"lines.{index}.unit_price"] = f"price_{pk}"
    return aliases


@supplier_view
@require_http_methods(["GET", "HEAD", "POST"])
def credit_note_new(request: HttpRequest, pk: str) -> HttpResponse:
    viewer = viewer_of(request)
    invoice = access.invoice_or_404(viewer, pk)
    lines = list(invoice.lines.select_related("order_line__order", "order_line__item"))
    form = CreditNoteForm(
        request.POST or None, lines=lines, initial={"credit_date": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            credit = services.credit_note_create(
                invoice=invoice,
                number=data["number"],
                lines=form.credit_lines(),
                by=viewer.user,
                reason=data["reason"],
                credit_date=data["credit_date"],
                tax_amount=data.get("tax_amount") or Decimal("0"),
            )
        except DomainError as error:
            add_domain_error(form, error, _credit_aliases(form))
        else:
            messages.success(
                request, f"Credit note {credit.number} sent: it waits for the buyer's approval."
            )
            return redirect("portal:invoice-detail", pk=credit.pk)
    return render(
        request,
        "portal/credit_note_form.html",
        {"nav": "invoices", "side": SIDE, "invoice": invoice, "form": form},
        status=400 if form.errors else 200,
    )


@supplier_view
@require_http_methods(["GET", "HEAD", "POST"])
def invoice_withdraw(request: HttpRequest, pk: str) -> HttpResponse:
    viewer = viewer_of(request)
    invoice = access.invoice_or_404(viewer, pk)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invoice_withdraw(
                invoice=invoice, by=viewer.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"{invoice.number} withdrawn.")
            return redirect("portal:invoice-detail", pk=invoice.pk)
    return render(
        request,
        "shared/invoice_action.html",
        {
            "nav": "invoices",
            "side": SIDE,
            "invoice": invoice,
            "form": form,
            "title": f"Withdraw {invoice.number}",
            "intro": "The buyer sees it withdrawn with your reason; its number stays used.",
            "submit": "Withdraw",
        },
        status=400 if form.errors else 200,
    )
