"""The buyer judges the supplier's invoices and credit notes: approve (open for payment,
or the credit applied), dispute with a reason, end a dispute, void. Recording an invoice
and a payment is in buying/views.py; the invoice's page is shared (web/views.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from vendorportal.errors import DomainError
from vendorportal.purchasing import access, services
from vendorportal.purchasing.models import Invoice
from vendorportal.web.access import buyer_view, viewer_of
from vendorportal.web.errors import add_domain_error
from vendorportal.web.forms import ReasonForm

SIDE = "buying"


class NoteForm(forms.Form):
    note = forms.CharField(
        label="Note for the supplier",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _posted(request: HttpRequest) -> Any:
    """The form's data on POST (even an empty one: approving needs no note)."""
    return request.POST if request.method == "POST" else None


def _with_form(
    request: HttpRequest,
    invoice: Invoice,
    form: forms.Form,
    action: Callable[[dict[str, Any]], Any],
    *,
    done: str,
    title: str,
    intro: str,
    submit: str,
) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        try:
            action(form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, done)
            return redirect("buying:invoice-detail", pk=invoice.pk)
    return render(
        request,
        "shared/invoice_action.html",
        {
            "nav": "invoices",
            "side": SIDE,
            "invoice": invoice,
            "form": form,
            "title": title,
            "intro": intro,
            "submit": submit,
        },
        status=400 if form.errors else 200,
    )


@buyer_view
@require_http_methods(["GET", "HEAD", "POST"])
def invoice_approve(request: HttpRequest, pk: str) -> HttpResponse:
    viewer = viewer_of(request)
    invoice = access.invoice_or_404(viewer, pk)
    what = "Credit note" if invoice.is_credit_note else "Invoice"
    return _with_form(
        request,
        invoice,
        NoteForm(_posted(request)),
        lambda data: services.invoice_approve(invoice=invoice, by=viewer.user, note=data["note"]),
        done=f"{what} {invoice.number} approved.",
        title=f"Approve {what.lower()} {invoice.number}",
        intro=(
            f"The credit of {invoice.currency} {invoice.total_amount:,.2f} comes off invoice "
            f"{invoice.credits.number if invoice.credits else ''}."
            if invoice.is_credit_note
            else "The invoice becomes open for payment; the supplier is told."
        ),
        submit="Approve",
    )


@buyer_view
@require_http_methods(["GET", "HEAD", "POST"])
def invoice_dispute(request: HttpRequest, pk: str) -> HttpResponse:
    viewer = viewer_of(request)
    invoice = access.invoice_or_404(viewer, pk)
    return _with_form(
        request,
        invoice,
        ReasonForm(_posted(request)),
        lambda data: services.invoice_dispute(
            invoice=invoice, by=viewer.user, reason=data["reason"]
        ),
        done=f"{invoice.number} disputed: the supplier sees your reason.",
        title=f"Dispute {invoice.number}",
        intro="Payment is held until the dispute ends; the supplier sees the reason and may "
        "withdraw an invoice you have not approved.",
        submit="Dispute",
    )


@buyer_view
@require_POST
def invoice_resolve(request: HttpRequest, pk: str) -> HttpResponse:
    viewer = viewer_of(request)
    invoice = access.invoice_or_404(viewer, pk)
    try:
        services.invoice_resolve_dispute(
            invoice=invoice, by=viewer.user, note=request.POST.get("note", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The dispute on {invoice.number} is resolved.")
    return redirect("buying:invoice-detail", pk=invoice.pk)
