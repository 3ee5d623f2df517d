"""The supplier announces shipments: a new ship notice from an order, corrections, the
draft sent, a notice withdrawn. Lists and the notice's page are shared (web/views.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from vendorportal.errors import DomainError
from vendorportal.portal.forms import ShipNoticeForm
from vendorportal.purchasing import access, selectors, services
from vendorportal.purchasing.models import PurchaseOrder, ShipNotice
from vendorportal.purchasing.services.inputs import SHIP_NOTICE_FIELDS
from vendorportal.web.access import supplier_view, viewer_of
from vendorportal.web.errors import add_domain_error
from vendorportal.web.formatting import plain

SIDE = "portal"


def _form_page(
    request: HttpRequest,
    order: PurchaseOrder,
    form: ShipNoticeForm,
    notice: ShipNotice | None = None,
) -> HttpResponse:
    return render(
        request,
        "portal/ship_notice_form.html",
        {"nav": "ship-notices", "side": SIDE, "order": order, "form": form, "notice": notice},
        status=400 if form.errors else 200,
    )


def _lines(form: ShipNoticeForm) -> list[services.ShipNoticeLineInput]:
    return [services.ShipNoticeLineInput(d, q) for d, q in form.quantities()]


def _prefill(request: HttpRequest, entries: list[selectors.Shippable]) -> dict[str, Any]:
    """`?fill=all` puts everything still to ship in the form; `?delivery=<id>` one delivery."""
    fill, one = request.GET.get("fill"), request.GET.get("delivery")
    return {
        f"qty_{e.delivery.pk}": plain(e.still_to_ship)
        for e in entries
        if e.still_to_ship and (fill == "all" or str(e.delivery.pk) == one)
    }


@supplier_view
@require_http_methods(["GET", "HEAD", "POST"])
def ship_notice_new(request: HttpRequest, number: str) -> HttpResponse:
    viewer = viewer_of(request)
    order = access.order_or_404(viewer, number)
    entries = selectors.shippable(order)
    today = timezone.localdate()
    form = ShipNoticeForm(
        request.POST or None,
        shippable=entries,
        initial={"ship_date": today, "expected_date": today, **_prefill(request, entries)},
    )
    if request.method == "POST" and form.is_valid():
        submit = request.POST.get("action") != "draft"
        try:
            notice = services.ship_notice_create(
                order=order, by=viewer.user, submit=submit, lines=_lines(form), **form.details()
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(
                request,
                f"Ship notice {notice.number} "
                + ("sent: the buyer sees it in transit." if submit else "saved as a draft."),
            )
            return redirect("portal:ship-notice-detail", pk=notice.pk)
    return _form_page(request, order, form)


@supplier_view
@require_http_methods(["GET", "HEAD", "POST"])
def ship_notice_edit(request: HttpRequest, pk: str) -> HttpResponse:
    viewer = viewer_of(request)
    notice = access.ship_notice_or_404(viewer, pk)
    if not notice.is_changeable:
        messages.error(
            request,
            f"Ship notice {notice.number} is {notice.get_status_display().lower()}: it can be "
            "corrected only until goods are received against it.",
        )
        return redirect("portal:ship-notice-detail", pk=notice.pk)
    entries = selectors.shippable(notice.order, notice)
    initial: dict[str, Any] = {name: getattr(notice, name) for name in SHIP_NOTICE_FIELDS}
    initial.update({f"qty_{e.delivery.pk}": plain(e.on_notice) for e in entries if e.on_notice})
    form = ShipNoticeForm(request.POST or None, shippable=entries, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.ship_notice_correct(
                notice=notice, by=viewer.user, lines=_lines(form), **form.details()
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Ship notice {notice.number} corrected.")
            return redirect("portal:ship-notice-detail", pk=notice.pk)
    return _form_page(request, notice.order, form, notice)


@supplier_view
@require_POST
def ship_notice_submit(request: HttpRequest, pk: str) -> HttpResponse:
    viewer = viewer_of(request)
    notice = access.ship_notice_or_404(viewer, pk)
    try:
        services.ship_notice_submit(notice=notice, by=viewer.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"Ship notice {notice.number} sent: the buyer sees it in transit."
        )
    return redirect("portal:ship-notice-detail", pk=notice.pk)


@supplier_view
@require_POST
def ship_notice_cancel(request: HttpRequest, pk: str) -> HttpResponse:
    viewer = viewer_of(request)
    notice = access.ship_notice_or_404(viewer, pk)
    try:
        services.ship_notice_cancel(
            notice=notice, by=viewer.user, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Ship notice {notice.number} cancelled.")
    return redirect("portal:ship-notice-detail", pk=notice.pk)
