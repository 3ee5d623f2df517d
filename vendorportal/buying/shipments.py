"""The buyer receives against a ship notice in one step and closes a difference with a
reason. Lists and the notice's page are shared (web/views.py)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from vendorportal.buying import forms as buying_forms
from vendorportal.errors import DomainError
from vendorportal.purchasing import access, selectors, services
from vendorportal.purchasing.models import LineStatus
from vendorportal.web.access import buyer_view, viewer_of
from vendorportal.web.errors import add_domain_error
from vendorportal.web.formatting import plain

SIDE = "buying"


@buyer_view
@require_http_methods(["GET", "HEAD", "POST"])
def ship_notice_receive(request: HttpRequest, pk: str) -> HttpResponse:
    """The receipt form filled from the notice: what is still announced on each delivery;
    the buyer types what actually arrived (and may add deliveries not announced)."""
    viewer = viewer_of(request)
    notice = access.ship_notice_or_404(viewer, pk)
    order = notice.order
    if not notice.is_open:
        messages.error(
            request,
            f"Ship notice {notice.number} is {notice.get_status_display().lower()}: nothing "
            "more can be received against it.",
        )
        return redirect("buying:ship-notice-detail", pk=notice.pk)
    page = selectors.ship_notice_page(viewer, notice)
    announced = {row.delivery.pk: row for row in page.rows if row.announced}
    deliveries = list(
        order.deliveries.filter(status=LineStatus.OPEN)
        .select_related("line__item")
        .order_by("line__line_number", "delivery_number")
    )
    # Announced deliveries first, in the notice's order: what is on the truck.
    deliveries.sort(key=lambda d: (d.pk not in announced, d.line.line_number, d.delivery_number))
    initial = {
        f"qty_{pk}": plain(row.announced - row.received)
        for pk, row in announced.items()
        if row.announced > row.received
    }
    form = buying_forms.ReceiptForm(
        request.POST or None,
        deliveries=deliveries,
        initial={
            "receipt_date": timezone.localdate(),
            "packing_slip": notice.packing_slip,
            **initial,
        },
    )
    if form.is_bound and form.is_valid():
        lines = [
            services.ReceiptLineInput(d, form.cleaned_data[f"qty_{d.pk}"])
            for d in deliveries
            if form.cleaned_data.get(f"qty_{d.pk}")
        ]
        try:
            services.receipt_record(
                order=order,
                lines=lines,
                by=viewer.user,
                receipt_date=form.cleaned_data["receipt_date"],
                packing_slip=form.cleaned_data["packing_slip"],
                ship_notice=notice,
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            notice.refresh_from_db()
            messages.success(
                request,
                f"Receipt recorded against {notice.number}: {notice.get_status_display().lower()}.",
            )
            return redirect("buying:ship-notice-detail", pk=notice.pk)
    return render(
        request,
        "buying/receive.html",
        {
            "nav": "ship-notices",
            "side": SIDE,
            "order": order,
            "notice": notice,
            "announced": announced,
            "form": form,
            "title": f"Receive {notice.number} on {order.number}",
            "submit": "Record receipt",
            "intro": "Filled from the ship notice: change each quantity to what actually "
            "arrived. Differences are shown on the notice to both sides.",
        },
        status=400 if form.errors else 200,
    )


@buyer_view
@require_http_methods(["GET", "HEAD", "POST"])
def ship_notice_close(request: HttpRequest, pk: str) -> HttpResponse:
    viewer = viewer_of(request)
    notice = access.ship_notice_or_404(viewer, pk)
    form = buying_forms.ShipNoticeCloseForm(request.POST or None)
    if form.is_bound and form.is_valid():
        try:
            services.ship_notice_close(
                notice=notice, by=viewer.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Ship notice {notice.number} closed with its difference.")
            return redirect("buying:ship-notice-detail", pk=notice.pk)
    return render(
        request,
        "buying/form.html",
        {
            "nav": "ship-notices",
            "side": SIDE,
            "order": notice.order,
            "form": form,
            "title": f"Close {notice.number} with its difference",
            "submit": "Close notice",
            "intro": "What was announced and not received is no longer in transit: the "
            "supplier still owes it on the order unless you close those lines too.",
        },
        status=400 if form.errors else 200,
    )
