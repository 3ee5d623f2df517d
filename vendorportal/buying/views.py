"""The buyer's workspace: work queues and the actions only buyers take. Shared screens
live in `vendorportal.web.views`; everything here requires a buyer (`buyer_view`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count, F, Min, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from vendorportal.buying import forms as buying_forms
from vendorportal.collaboration import services as collaboration
from vendorportal.collaboration.models import ProposalStatus
from vendorportal.errors import DomainError
from vendorportal.events.notify import preferences as notify_preferences
from vendorportal.purchasing import access, selectors, services
from vendorportal.purchasing.models import LineStatus, OrderKind, OrderStatus, PurchaseOrder
from vendorportal.web.access import buyer_view, viewer_of
from vendorportal.web.errors import add_domain_error
from vendorportal.web.forms import InvoiceForm
from vendorportal.web.views import order_context

SIDE = "buying"


@buyer_view
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Work queues: what is waiting on whom."""
    viewer = viewer_of(request)
    today = timezone.localdate()
    awaiting = list(
        access.orders(viewer)
        .filter(status=OrderStatus.ISSUED)
        .annotate(
            acknowledged=access.current_revision_acknowledged_for(),
            revision_date=access.current_revision_date(),
        )
        .filter(acknowledged=False)
        .select_related("vendor")
        .order_by("revision_date")[:50]
    )
    # A blanket order is waiting on its open releases, not on a revision count. Counted
    # for the 50 shown only: counted in the query above, every unacknowledged order's
    # deliveries were grouped before the 50 were picked (0.75 s at 100,000 deliveries).
    unconfirmed = dict(
        access.deliveries(viewer)
        .filter(
            order__in=[order.pk for order in awaiting],
            status=LineStatus.OPEN,
            promised_date__isnull=True,
        )
        .order_by()
        .values("order")
        .annotate(n=Count("pk"))
        .values_list("order", "n")
    )
    for order in awaiting:
        order.to_confirm = unconfirmed.get(order.pk, 0)  # type: ignore[attr-defined]
    proposals = list(
        access.proposals(viewer)
        .filter(status=ProposalStatus.PENDING)
        .select_related("order", "line", "delivery", "created_by", "vendor")
        .order_by("created_at")[:50]
    )
    overdue_by_vendor = list(
        selectors.open_deliveries(viewer, selectors.OpenLineFilters(overdue=True))
        # Per currency too: an open value adds up prices of one currency only.
        .values("vendor__code", "vendor__name", "order__currency")
        .annotate(
            deliveries=Count("pk"),
            open_value=Sum((F("quantity") - F("received_quantity")) * F("line__unit_price")),
            oldest=Min("due_date"),
        )
        .order_by("-deliveries")
    )
    exceptions = list(
        selectors.invoices_with_exceptions(viewer)
        .select_related("vendor")
        .annotate(
            exception_lines=Count(
                "lines", filter=Q(lines__match_status__in=selectors.match_exceptions())
            )
        )
        .order_by("invoice_date")[:50]
    )
    return render(
        request,
        "buying/home.html",
        {
            "nav": "home",
            "side": SIDE,
            "awaiting": awaiting,
            "proposals": proposals,
            "overdue_by_vendor": overdue_by_vendor,
            "exceptions": exceptions,
            "today": today,
            "figures": selectors.home_figures(viewer),
        },
    )


@buyer_view
@require_safe
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    context = order_context(request, SIDE, number)
    context["following"] = notify_preferences.following(viewer_of(request).user, context["order"])
    return render(request, "shared/order_detail.html", context)


@buyer_view
@require_POST
def order_follow(request: HttpRequest, number: str) -> HttpResponse:
    """Start or stop hearing of this order (or of all the vendor's orders) by e-mail."""
    viewer = viewer_of(request)
    order = _order(request, number)
    what, on = request.POST.get("what"), request.POST.get("on") == "1"
    if what not in ("order", "vendor"):
        return HttpResponseBadRequest("Say what to follow: the order or its vendor.")
    if what == "order":
        notify_preferences.follow_set(user=viewer.user, on=on, order=order)
    else:
        notify_preferences.follow_set(user=viewer.user, on=on, vendor=order.vendor)
    name = order.number if what == "order" else f"{order.vendor.name}'s orders"
    messages.success(
        request,
        f"You {'follow' if on else 'no longer follow'} {name}: "
        + ("you are e-mailed about what the supplier does." if on else "no more e-mails about it."),
    )
    return redirect("buying:order-detail", number=order.number)


def _order(request: HttpRequest, number: str) -> PurchaseOrder:
    return access.order_or_404(viewer_of(request), number)


def _form_page(
    request: HttpRequest,
    order: PurchaseOrder,
    form: forms.Form,
    *,
    title: str,
    submit: str,
    intro: str = "",
    template: str = "buying/form.html",
    **extra: Any,
) -> HttpResponse:
    return render(
        request,
        template,
        {
            "nav": "orders",
            "side": SIDE,
            "order": order,
            "form": form,
            "title": title,
            "submit": submit,
            "intro": intro,
            **extra,
        },
        status=400 if form.errors else 200,
    )


def _attempt(
    request: HttpRequest,
    form: forms.Form,
    action: Callable[[], Any],
    success: str,
    number: str,
) -> HttpResponse | None:
    """Run a service; on success redirect to the order, on refusal put the error on the form."""
    try:
        action()
    except DomainError as error:
        add_domain_error(form, error)
        return None
    messages.success(request, success)
    return redirect("buying:order-detail", number=number)


@buyer_view
@require_POST
def order_issue(request: HttpRequest, number: str) -> HttpResponse:
    order = _order(request, number)
    try:
        services.order_issue(order=order, by=viewer_of(request).user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{order.number} issued to {order.vendor.name} as revision 1.")
    return redirect("buying:order-detail", number=order.number)


@buyer_view
@require_http_methods(["GET", "HEAD", "POST"])
def order_revise(request: HttpRequest, number: str) -> HttpResponse:
    """Change one delivery (?delivery=id), one line (?line=n) or the order's terms."""
    viewer = viewer_of(request)
    order = _order(request, number)
    source = request.POST if request.method == "POST" else request.GET
    data = request.POST or None
    changes: list[services.OrderChange] = []
    form: forms.Form
    if source.get("delivery"):
        delivery = access.delivery_or_404(viewer, order, source["delivery"])
        ln, dn = delivery.line.line_number, delivery.delivery_number
        form = buying_forms.DeliveryChangeForm(
            data, initial={"due_date": delivery.due_date, "quantity": delivery.quantity}
        )
        title = f"Change delivery {ln}-{dn}"
        hidden = {"delivery": delivery.pk}
        if form.is_bound and form.is_valid():
            if form.cleaned_data["cancel"]:
                changes = [services.CancelDelivery(ln, dn)]
            else:
                changes = [
                    services.SetDelivery(ln, dn, "due_date", form.cleaned_data["due_date"]),
                    services.SetDelivery(ln, dn, "quantity", form.cleaned_data["quantity"]),
                ]
    elif source.get("line"):
        line = access.line_or_404(viewer, order, source["line"])
        form = buying_forms.LineChangeForm(
            data,
            initial={
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "description": line.description,
                "internal_notes": line.internal_notes,
            },
        )
        title = f"Change line {line.line_number}"
        hidden = {"line": line.line_number}
        if form.is_bound and form.is_valid():
            changes = [
                services.SetLine(line.line_number, name, form.cleaned_data[name])
                for name in ("description", "unit_price", "quantity", "internal_notes")
            ]
    else:
        form = buying_forms.HeaderChangeForm(
            data,
            initial={
                name: getattr(order, name)
                for name in (
                    "payment_terms",
                    "incoterms",
                    "ship_to",
                    "notes_to_vendor",
                    "internal_notes",
                )
            },
        )
        title = f"Change the terms of {order.number}"
        hidden = {}
        if form.is_bound and form.is_valid():
            changes = [
                services.SetHeader(name, value)
                for name, value in form.cleaned_data.items()
                if name != "reason"
            ]
    if changes:
        done = _attempt(
            request,
            form,
            lambda: services.order_revise(
                order=order, changes=changes, by=viewer.user, reason=form.cleaned_data["reason"]
            ),
            f"{order.number} updated.",
            order.number,
        )
        if done:
            return done
    intro = (
        "Saving makes a new revision that the supplier is asked to acknowledge."
        if order.issued_at
        else "This order is a draft: changes are saved without a revision."
    )
    return _form_page(request, order, form, title=title, submit="Save", intro=intro, hidden=hidden)


@buyer_view
@require_http_methods(["GET", "HEAD", "POST"])
def line_release(request: HttpRequest, number: str, line_number: str) -> HttpResponse:
    viewer = viewer_of(request)
    order = _order(request, number)
    line = access.line_or_404(viewer, order, line_number)
    form = buying_forms.ReleaseForm(request.POST or None)
    if form.is_bound and form.is_valid():
        done = _attempt(
            request,
            form,
            lambda: services.release_add(
                line=line,
                quantity=form.cleaned_data["quantity"],
                due_date=form.cleaned_data["due_date"],
                by=viewer.user,
                reason=form.cleaned_data["reason"],
            ),
            f"Release added to line {line.line_number}.",
            order.number,
        )
        if done:
            return done
    released = sum(
        (d.quantity for d in line.deliveries.exclude(status=LineStatus.CANCELLED)),
        start=line.quantity * 0,
    )
    return _form_page(
        request,
        order,
        form,
        title=f"Add a release to line {line.line_number}",
        submit="Add release",
        intro=f"Committed {line.quantity.normalize():,f}, released {released.normalize():,f}: "
        f"up to {(line.quantity - released).normalize():,f} more can be released.",
    )


@buyer_view
@require_http_methods(["GET", "HEAD", "POST"])
def order_call_off(request: HttpRequest, number: str) -> HttpResponse:
    """Release several blanket lines at once: one revision, acknowledged once."""
    viewer = viewer_of(request)
    order = _order(request, number)
    if order.kind != OrderKind.BLANKET:
        raise Http404("Only a blanket order is called off.")
    lines = list(
        order.lines.filter(status=LineStatus.OPEN)
        .select_related("item")
        .annotate(
            released=Sum("deliveries__quantity", filter=~Q(deliveries__status=LineStatus.CANCELLED))
        )
        .order_by("line_number")
    )
    for line in lines:
        line.released = line.released or 0
        line.to_release = line.quantity - line.released  # type: ignore[attr-defined]
    form = buying_forms.CallOffForm(request.POST or None, lines=lines)
    if form.is_bound and form.is_valid():
        releases = [services.Release(n, q, due) for n, q, due in form.releases()]
        done = _attempt(
            request,
            form,
            lambda: services.call_off(
                order=order, releases=releases, by=viewer.user, reason=form.cleaned_data["reason"]
            ),
            f"Call-off of {len(releases)} release{'s' if len(releases) != 1 else ''} "
            f"sent to the supplier as one revision.",
            order.number,
        )
        if done:
            return done
    return _form_page(
        request,
        order,
        form,
        title=f"Call off from {order.number}",
        submit="Send call-off",
        intro="Every quantity entered becomes a release; together they are one revision, "
        "which the supplier acknowledges once.",
        template="buying/call_off.html",
    )


@buyer_view
@require_http_methods(["GET", "HEAD", "POST"])
def line_close(request: HttpRequest, number: str, line_number: str) -> HttpResponse:
    viewer = viewer_of(request)
    order = _order(request, number)
    line = access.line_or_404(viewer, order, line_number)
    form = buying_forms.CloseForm(request.POST or None)
    if form.is_bound and form.is_valid():
        done = _attempt(
            request,
            form,
            lambda: services.line_close(
                line=line, by=viewer.user, reason=form.cleaned_data["reason"]
            ),
            f"Line {line.line_number} closed.",
            order.number,
        )
        if done:
            return done
    return _form_page(
        request,
        order,
        form,
        title=f"Close line {line.line_number}",
        submit="Close line",
        intro="Open deliveries are cut to what was received (or cancelled if nothing was); "
        "the supplier gets a new revision.",
    )


@buyer_view
@require_http_methods(["GET", "HEAD", "POST"])
def order_close(request: HttpRequest, number: str) -> HttpResponse:
    viewer = viewer_of(request)
    order = _order(request, number)
    form = buying_forms.CloseForm(request.POST or None)
    if form.is_bound and form.is_valid():
        done = _attempt(
            request,
            form,
            lambda: services.order_close(
                order=order, by=viewer.user, reason=form.cleaned_data["reason"]
            ),
            f"{order.number} closed.",
            order.number,
        )
        if done:
            return done
    return _form_page(
        request,
        order,
        form,
        title=f"Close {order.number}",
        submit="Close order",
        intro="Every open line is closed: what is not yet received is no longer wanted.",
    )


@buyer_view
@require_http_methods(["GET", "HEAD", "POST"])
def order_receive(request: HttpRequest, number: str) -> HttpResponse:
    viewer = viewer_of(request)
    order = _order(request, number)
    deliveries = list(
        order.deliveries.filter(status=LineStatus.OPEN)
        .select_related("line__item")
        .order_by("line__line_number", "delivery_number")
    )
    form = buying_forms.ReceiptForm(
        request.POST or None,
        deliveries=deliveries,
        initial={"receipt_date": timezone.localdate()},
    )
    if form.is_bound and form.is_valid():
        lines = [
            services.ReceiptLineInput(d, form.cleaned_data[f"qty_{d.pk}"])
            for d in deliveries
            if form.cleaned_data.get(f"qty_{d.pk}")
        ]
        done = _attempt(
            request,
            form,
            lambda: services.receipt_record(
                order=order,
                lines=lines,
                by=viewer.user,
                receipt_date=form.cleaned_data["receipt_date"],
                packing_slip=form.cleaned_data["packing_slip"],
            ),
            "Receipt recorded.",
            order.number,
        )
        if done:
            return done
    return _form_page(
        request,
        order,
        form,
        title=f"Record a receipt on {order.number}",
        submit="Record receipt",
        template="buying/receive.html",
    )


@buyer_view
@require_http_methods(["GET", "HEAD", "POST"])
def order_invoice(request: HttpRequest, number: str) -> HttpResponse:
    viewer = viewer_of(request)
    order = _order(request, number)
    lines = list(order.lines.exclude(status=LineStatus.CANCELLED).select_related("item"))
    form = InvoiceForm(
        request.POST or None, lines=lines, initial={"invoice_date": timezone.localdate()}
    )
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        entries = [services.InvoiceLineInput(*entry) for entry in form.entries()]
        done = _attempt(
            request,
            form,
            lambda: services.invoice_record(
                vendor=order.vendor,
                number=data["number"],
                lines=entries,
                by=viewer.user,
                invoice_date=data["invoice_date"],
                due_date=data.get("due_date"),
                **form.charges(),
            ),
            "Invoice recorded.",
            order.number,
        )
        if done:
            return done
    return _form_page(
        request,
        order,
        form,
        title=f"Record an invoice against {order.number}",
        submit="Record invoice",
        template="buying/invoice.html",
    )


@buyer_view
@require_POST
def proposal_accept(request: HttpRequest, number: str, proposal_id: str) -> HttpResponse:
    viewer = viewer_of(request)
    order = _order(request, number)
    proposal = access.proposal_or_404(viewer, order, proposal_id)
    try:
        collaboration.proposal_accept(
            proposal=proposal, by=viewer.user, note=request.POST.get("note", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Proposal accepted: the order has a new revision.")
    return redirect("buying:order-detail", number=order.number)


@buyer_view
@require_http_methods(["GET", "HEAD", "POST"])
def proposal_reject(request: HttpRequest, number: str, proposal_id: str) -> HttpResponse:
    viewer = viewer_of(request)
    order = _order(request, number)
    proposal = access.proposal_or_404(viewer, order, proposal_id)
    form = buying_forms.RejectForm(request.POST or None)
    if form.is_bound and form.is_valid():
        done = _attempt(
            request,
            form,
            lambda: collaboration.proposal_reject(
                proposal=proposal, by=viewer.user, note=form.cleaned_data["note"]
            ),
            "Proposal rejected.",
            order.number,
        )
        if done:
            return done
    return _form_page(
        request,
        order,
        form,
        title="Reject the proposal",
        submit="Reject",
        intro=collaboration.describe_proposal(proposal) + f" — “{proposal.reason}”",
    )


@buyer_view
@require_http_methods(["GET", "HEAD", "POST"])
def invoice_pay(request: HttpRequest, pk: str) -> HttpResponse:
    viewer = viewer_of(request)
    invoice = access.invoice_or_404(viewer, pk)
    form = buying_forms.PaymentForm(
        request.POST or None,
        initial={"amount": invoice.outstanding_amount, "paid_on": timezone.localdate()},
    )
    if form.is_bound and form.is_valid():
        try:
            services.payment_record(invoice=invoice, by=viewer.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, "Payment recorded.")
            return redirect("buying:invoice-detail", pk=invoice.pk)
    return render(
        request,
        "buying/form.html",
        {
            "nav": "invoices",
            "side": SIDE,
            "form": form,
            "invoice": invoice,
            "title": f"Record a payment on invoice {invoice.number}",
            "submit": "Record payment",
        },
        status=400 if form.errors else 200,
    )
