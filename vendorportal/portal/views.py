"""The supplier's own pages and actions. Shared screens live in `vendorportal.web.views`;
everything here is reached only by an active vendor login (see `supplier_view`)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from vendorportal.collaboration import services
from vendorportal.errors import DomainError
from vendorportal.portal.forms import AcknowledgeForm, ProposalForm
from vendorportal.purchasing import access, selectors
from vendorportal.purchasing.models import OrderStatus
from vendorportal.web.access import supplier_view, viewer_of
from vendorportal.web.errors import add_domain_error
from vendorportal.web.views import order_context

SIDE = "portal"


@supplier_view
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    figures = selectors.home_figures(viewer)
    today = timezone.localdate()
    soon = selectors.open_line_rows(
        viewer,
        selectors.OpenLineFilters(due_to=figures.due_to),
        sort="due",
        offset=0,
        limit=10,
    )
    waiting = list(
        access.orders(viewer)
        .filter(status=OrderStatus.ISSUED)
        .annotate(
            acknowledged=access.current_revision_acknowledged_for(),
            revision_date=access.current_revision_date(),
        )
        .filter(acknowledged=False)
        .order_by("revision_date")[:10]
    )
    return render(
        request,
        "portal/home.html",
        {
            "nav": "home",
            "side": SIDE,
            "figures": figures,
            "soon": soon,
            "waiting": waiting,
            "today": today,
        },
    )


def _order_page(request: HttpRequest, number: str, **forms: object) -> HttpResponse:
    context = order_context(request, SIDE, number, **forms)
    context.setdefault("ack_form", AcknowledgeForm(initial={"revision": context["order"].revision}))
    status = 400 if any(getattr(f, "errors", None) for f in forms.values()) else 200
    return render(request, "shared/order_detail.html", context, status=status)


@supplier_view
@require_safe
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    return _order_page(request, number)


@supplier_view
@require_POST
def acknowledge(request: HttpRequest, number: str) -> HttpResponse:
    viewer = viewer_of(request)
    order = access.order_or_404(viewer, number)
    form = AcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            services.acknowledgement_record(
                order=order,
                revision=form.cleaned_data["revision"],
                response=form.cleaned_data["response"],
                comment=form.cleaned_data["comment"],
                by=viewer.user,
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Revision {order.revision} acknowledged.")
            return redirect("portal:order-detail", number=order.number)
    return _order_page(request, number, ack_form=form)


@supplier_view
@require_POST
def delivery_confirm(request: HttpRequest, number: str, delivery_id: str) -> HttpResponse:
    viewer = viewer_of(request)
    order = access.order_or_404(viewer, number)
    delivery = access.delivery_or_404(viewer, order, delivery_id)
    try:
        services.delivery_confirm(delivery=delivery, by=viewer.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"Line {delivery.line.line_number}-{delivery.delivery_number} confirmed.",
        )
    return redirect("portal:order-detail", number=order.number)


@supplier_view
@require_http_methods(["GET", "HEAD", "POST"])
def propose(request: HttpRequest, number: str) -> HttpResponse:
    """Propose a new due date or quantity for a delivery, or a new price for a line."""
    viewer = viewer_of(request)
    order = access.order_or_404(viewer, number)
    source = request.POST if request.method == "POST" else request.GET
    delivery = line = None
    if source.get("delivery"):
        delivery = access.delivery_or_404(viewer, order, source["delivery"])
        line = delivery.line
    else:
        line = access.line_or_404(viewer, order, source.get("line"))
    form = ProposalForm(
        request.POST or None,
        for_delivery=delivery is not None,
        initial={"due_date": delivery.due_date, "quantity": delivery.quantity}
        if delivery
        else {"unit_price": line.unit_price},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.proposal_create(
                order=order,
                line=line,
                delivery=delivery,
                by=viewer.user,
                reason=data["reason"],
                due_date=data.get("due_date"),
                quantity=data.get("quantity"),
                unit_price=data.get("unit_price"),
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, "Your proposal was sent to the buyer.")
            return redirect("portal:order-detail", number=order.number)
    return render(
        request,
        "portal/propose.html",
        {
            "nav": "orders",
            "side": SIDE,
            "order": order,
            "line": line,
            "delivery": delivery,
            "form": form,
        },
        status=400 if form.errors else 200,
    )


@supplier_view
@require_POST
def proposal_withdraw(request: HttpRequest, number: str, proposal_id: str) -> HttpResponse:
    viewer = viewer_of(request)
    order = access.order_or_404(viewer, number)
    proposal = access.proposal_or_404(viewer, order, proposal_id)
    try:
        services.proposal_withdraw(proposal=proposal, by=viewer.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Proposal withdrawn.")
    return redirect("portal:order-detail", number=order.number)
