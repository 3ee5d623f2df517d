"""The screens buyers and suppliers share: open lines (and its exports), orders, the order
page with its revision history and timeline, ship notices, receipts and invoices.

Each view takes `side` ("portal" or "buying") only to build links and choose the base
navigation; what the viewer sees comes from the access module, never from `side`.
The portal and buying URL modules mount these views behind their own decorators.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, F, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from vendorportal.audit import log as audit
from vendorportal.collaboration.models import ProposalStatus
from vendorportal.purchasing import access, exports, revisions, selectors
from vendorportal.purchasing.models import OrderStatus
from vendorportal.web.access import viewer_of
from vendorportal.web.attachments import attachments_context
from vendorportal.web.forms import CommentForm, OpenLinesFilterForm
from vendorportal.web.rows import open_line_rows_html, order_line_rows_html, order_row_actions
from vendorportal.web.tables import Paging, Sort, filled_fields

REVISIONS_SHOWN = 6
OPEN_LINES_PAGE = 500  # suppliers reconciling want every open delivery on one screen


def _open_lines_form(request: HttpRequest) -> OpenLinesFilterForm:
    return OpenLinesFilterForm(request.GET or None, internal=viewer_of(request).internal)


def open_lines(request: HttpRequest, side: str) -> HttpResponse:
    viewer = viewer_of(request)
    form = _open_lines_form(request)
    filters = form.filters() if form.is_bound else selectors.OpenLineFilters()
    sort = Sort.from_request(
        request, tuple(selectors.OPEN_LINE_SORTS), selectors.OPEN_LINE_DEFAULT_SORT
    )
    number, size = Paging.requested(request, OPEN_LINES_PAGE)
    page = selectors.open_line_page(viewer, filters, sort=sort.key, number=number, size=size)
    paging = Paging(number=page.number, size=size, total=page.total)
    # Hundreds of rows: rendered in Python (see web/rows.py), the page around them by
    # Django's engine.
    rows_html = open_line_rows_html(
        page.rows,
        internal=viewer.internal,
        # One reverse() for the page, not one per row.
        order_url=reverse(f"{side}:order-detail", args=["0"]).removesuffix("0/"),
    )
    context = {
        "nav": "open-lines",
        "side": side,
        "form": form,
        "sort": sort,
        "paging": paging,
        # rows.py escapes every value it formats (tests/test_rendered_rows.py).
        "rows_html": mark_safe(rows_html),  # noqa: S308  # nosec B308, B703
        "row_count": len(page.rows),
        "internal": viewer.internal,
        "filtered": any(
            v for v in (form.cleaned_data.values() if form.is_bound and form.is_valid() else [])
        ),
        "filters_active": filled_fields(form),
    }
    return render(request, "shared/open_lines.html", context)


def open_lines_export(request: HttpRequest, side: str, fmt: str) -> HttpResponse:
    viewer = viewer_of(request)
    form = _open_lines_form(request)
    filters = form.filters() if form.is_bound else selectors.OpenLineFilters()
    sort = Sort.from_request(
        request, tuple(selectors.OPEN_LINE_SORTS), selectors.OPEN_LINE_DEFAULT_SORT
    )
    rows = selectors.open_line_rows(viewer, filters, sort=sort.key, offset=0, limit=None)
    rows = selectors.with_export_details(viewer, rows)
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        response = HttpResponse(
            exports.to_csv(rows, internal=viewer.internal), content_type="text/csv; charset=utf-8"
        )
    elif fmt == "xlsx":
        response = HttpResponse(
            exports.to_xlsx(rows, internal=viewer.internal),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:  # pragma: no cover - the URL pattern allows only csv and xlsx
        raise Http404("No such export.")
    response["Content-Disposition"] = f'attachment; filename="open-lines-{stamp}.{fmt}"'
    audit.record_security(
        f"export.{fmt}",
        user=request.user,
        vendor_id=viewer.vendor_id,
        object_type="export",
        object_id="open-lines",
        object_label=f"open-lines-{stamp}.{fmt}",
        summary=f"Open lines exported ({len(rows)} rows, {side})",
        changes={"filters": [None, request.GET.urlencode()]},
    )
    return response


ORDER_SORTS = {
    "number": "number",
    "date": "order_date",
    "status": "status",
    "revision": "revision",
    "vendor": "vendor__code",
    "updated": "updated_at",
    "value": "order_value",
    "open_value": "open_value",
    "next_due": "next_due",
}


def orders_list(request: HttpRequest, side: str) -> HttpResponse:
    viewer = viewer_of(request)
    show = request.GET.get("show", "open")
    need = request.GET.get("need", "")
    if need not in selectors.ORDER_NEEDS:
        need = ""
    if need:
        # What a home counter counts, exactly (selectors.orders_needing): open orders.
        show = "open"
        queryset = selectors.orders_needing(viewer, need)
    else:
        queryset = access.orders(viewer)
    queryset = queryset.select_related("vendor")
    if show == "open":
        queryset = queryset.filter(status=OrderStatus.ISSUED)
    elif show == "draft" and viewer.internal:
        queryset = queryset.filter(status=OrderStatus.DRAFT)
    q = request.GET.get("q", "").strip()
    if q:
        queryset = queryset.filter(
            Q(number__icontains=q) | Q(vendor__code__icontains=q) | Q(vendor__name__icontains=q)
        )
    sort = Sort.from_request(request, tuple(ORDER_SORTS), "-date")
    field = ORDER_SORTS[sort.key.lstrip("-")]
    pending = access.proposals(viewer).filter(order=OuterRef("pk"), status=ProposalStatus.PENDING)
    queryset = selectors.with_order_figures(
        queryset.annotate(
            acknowledged=access.current_revision_acknowledged_for(),
            proposal_pending=Exists(pending),
        )
    ).order_by(
        F(field).desc(nulls_last=True)
        if sort.key.startswith("-")
        else F(field).asc(nulls_last=True),
        "-pk",
    )
    total = queryset.count()
    paging = Paging.from_request(request, total, 100)
    orders = list(queryset[paging.offset : paging.offset + paging.size])
    return render(
        request,
        "shared/orders.html",
        {
            "nav": "orders",
            "side": side,
            "orders": orders,
            "show": show,
            "need": need,
            "needs": selectors.ORDER_NEEDS,
            "q": q,
            "sort": sort,
            "paging": paging,
            "internal": viewer.internal,
            "filters_active": (show != "open") + bool(need) + bool(q),
        },
    )


def order_context(request: HttpRequest, side: str, number: str, **extra: Any) -> dict[str, Any]:
    viewer = viewer_of(request)
    order = access.order_or_404(viewer, number)
    page = selectors.order_page(viewer, order)
    comment_form = extra.pop("comment_form", None) or CommentForm(
        line_numbers=[v.line.line_number for v in page.lines], internal=viewer.internal
    )
    today = timezone.localdate()
    # An order can have hundreds of deliveries: rendered in Python (see web/rows.py).
    lines_html = order_line_rows_html(
        page.lines,
        order=order,
        actions=order_row_actions(side, order, csrf_token=get_token(request)),
        today=today,
        since=page.since_acknowledged,
        last_acknowledged=page.last_acknowledged,
        all_releases=request.GET.get("releases") == "all",
    )
    return {
        "nav": "orders",
        "side": side,
        "order": order,
        "page": page,
        # rows.py escapes every value it formats (tests/test_rendered_rows.py).
        "lines_html": mark_safe(lines_html),  # noqa: S308  # nosec B308, B703
        "internal": viewer.internal,
        "comment_form": comment_form,
        "attachments": attachments_context(request, side, order=order),
        # The newest revisions; a blanket order makes many (one per call-off).
        "revisions_shown": None if request.GET.get("revisions") == "all" else REVISIONS_SHOWN,
        "today": today,
        **extra,
    }


def order_detail(request: HttpRequest, side: str, number: str) -> HttpResponse:
    return render(request, "shared/order_detail.html", order_context(request, side, number))


def revision_compare(request: HttpRequest, side: str, number: str) -> HttpResponse:
    """What changed between any two revisions of an order."""
    viewer = viewer_of(request)
    order = access.order_or_404(viewer, number)
    history = {r.number: r for r in order.revisions.select_related("created_by")}
    if not history:
        raise Http404("This order has no revisions yet.")
    latest = max(history)
    try:
        to_number = int(request.GET.get("to", latest))
        from_number = int(request.GET.get("from", max(to_number - 1, 0)))
    except ValueError:
        raise Http404("No such revision.") from None
    if to_number not in history or (from_number not in history and from_number != 0):
        raise Http404("No such revision.")
    if from_number > to_number:
        from_number, to_number = to_number, from_number
    before = history[from_number].snapshot if from_number else revisions.empty_snapshot()
    changes = revisions.visible_changes(
        revisions.diff_snapshots(before, history[to_number].snapshot)
    )
    between = [history[n] for n in range(from_number + 1, to_number + 1)]
    # New drawing versions are no part of the snapshots: each revision names its own.
    changes += [c for r in between for c in revisions.document_changes(r.changes)]
    return render(
        request,
        "shared/revision_compare.html",
        {
            "nav": "orders",
            "side": side,
            "order": order,
            "changes": changes,
            "described": [revisions.describe_change(c) for c in changes],
            "from_number": from_number,
            "to_number": to_number,
            "between": between,
            "numbers": sorted(history),
        },
    )


def order_pdf(request: HttpRequest, side: str, number: str) -> HttpResponse:
    """The order as a PDF: its current revision, or `?revision=N` as it was issued. A
    draft (only buyers reach one) renders as it is now, marked "DRAFT — not issued"."""
    # Imported here: reportlab loads only in a process that renders a PDF.
    from vendorportal.purchasing import pdf

    viewer = viewer_of(request)
    order = access.order_or_404(viewer, number)
    wanted = request.GET.get("revision", "")
    if order.is_draft and not wanted:
        filename, content = pdf.order_pdf(order, None)
    else:
        revision = access.revision_or_404(viewer, order, wanted or order.revision)
        filename, content = pdf.order_pdf(order, revision)
    return _pdf_download(filename, content)


def _pdf_download(filename: str, content: bytes) -> HttpResponse:
    """A PDF as a download; `filename` made safe by purchasing/pdf.py (`safe_filename`)."""
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def receipts_list(request: HttpRequest, side: str) -> HttpResponse:
    viewer = viewer_of(request)
    queryset = access.receipts(viewer).select_related("order", "vendor")
    q = request.GET.get("q", "").strip()
    if q:
        queryset = queryset.filter(
            Q(number__icontains=q) | Q(order__number__icontains=q) | Q(packing_slip__icontains=q)
        )
    total = queryset.count()
    paging = Paging.from_request(request, total, 100)
    receipts = list(
        queryset.order_by("-receipt_date", "-pk").prefetch_related("lines__delivery__line__item")[
            paging.offset : paging.offset + paging.size
        ]
    )
    return render(
        request,
        "shared/receipts.html",
        {
            "nav": "receipts",
            "side": side,
            "receipts": receipts,
            "q": q,
            "paging": paging,
            "internal": viewer.internal,
            "filters_active": int(bool(q)),
        },
    )


def ship_notices_list(request: HttpRequest, side: str) -> HttpResponse:
    viewer = viewer_of(request)
    show = request.GET.get("show", "open")
    if show not in selectors.SHIP_NOTICE_SHOWS:
        show = "open"
    q = request.GET.get("q", "").strip()[:100]
    queryset = selectors.ship_notice_list(viewer, show=show, q=q)
    total = queryset.count()
    paging = Paging.from_request(request, total, 100)
    notices = list(queryset[paging.offset : paging.offset + paging.size])
    return render(
        request,
        "shared/ship_notices.html",
        {
            "nav": "ship-notices",
            "side": side,
            "notices": notices,
            "show": show,
            "shows": [(key, label) for key, (label, _) in selectors.SHIP_NOTICE_SHOWS.items()],
            "q": q,
            "filters_active": int(show != "open") + int(bool(q)),
            "paging": paging,
            "internal": viewer.internal,
        },
    )


def ship_notice_detail(request: HttpRequest, side: str, pk: str) -> HttpResponse:
    viewer = viewer_of(request)
    notice = access.ship_notice_or_404(viewer, pk)
    return render(
        request,
        "shared/ship_notice_detail.html",
        {
            "nav": "ship-notices",
            "side": side,
            "notice": notice,
            "order": notice.order,
            "page": selectors.ship_notice_page(viewer, notice),
            "internal": viewer.internal,
            "attachments": attachments_context(request, side, ship_notice=notice),
        },
    )


def ship_notice_packing_slip(request: HttpRequest, side: str, pk: str) -> HttpResponse:
    """The notice's packing slip as a PDF, for the supplier to print and put in the box
    (a draft marked DRAFT, a cancelled notice CANCELLED)."""
    from vendorportal.purchasing import pdf  # reportlab loads only where a PDF is rendered

    notice = access.ship_notice_or_404(viewer_of(request), pk)
    return _pdf_download(pdf.packing_slip_filename(notice.number), pdf.packing_slip_pdf(notice))


def invoices_list(request: HttpRequest, side: str) -> HttpResponse:
    viewer = viewer_of(request)
    show = request.GET.get("show", "open")
    queryset = access.invoices(viewer).select_related("vendor")
    if show == "open":
        queryset = selectors.open_invoices(viewer).select_related("vendor")
    elif show == "exceptions":
        queryset = selectors.invoices_with_exceptions(viewer).select_related("vendor")
    elif show == "awaiting":
        queryset = selectors.invoices_awaiting_approval(viewer).select_related("vendor")
    total = queryset.count()
    paging = Paging.from_request(request, total, 100)
    invoices = list(
        queryset.order_by("-invoice_date", "-pk")[paging.offset : paging.offset + paging.size]
    )
    exception_ids = set(
        access.invoices(viewer)
        .filter(
            pk__in=[i.pk for i in invoices], lines__match_status__in=selectors.match_exceptions()
        )
        .values_list("pk", flat=True)
    )
    return render(
        request,
        "shared/invoices.html",
        {
            "nav": "invoices",
            "side": side,
            "invoices": invoices,
            "show": show,
            "filters_active": int(show != "open"),
            "paging": paging,
            "exception_ids": exception_ids,
            "internal": viewer.internal,
            "figures": selectors.home_figures(viewer),
        },
    )


def invoice_detail(request: HttpRequest, side: str, pk: str) -> HttpResponse:
    viewer = viewer_of(request)
    invoice = access.invoice_or_404(viewer, pk)
    lines = list(invoice.lines.select_related("order_line__order", "order_line__item"))
    payments = list(invoice.payments.order_by("paid_on", "pk"))
    credit_notes = list(invoice.credit_notes.order_by("invoice_date", "pk"))
    return render(
        request,
        "shared/invoice_detail.html",
        {
            "nav": "invoices",
            "side": side,
            "invoice": invoice,
            "lines": lines,
            "payments": payments,
            "credit_notes": credit_notes,
            "internal": viewer.internal,
            "attachments": attachments_context(request, side, invoice=invoice),
        },
    )


def order_comment(request: HttpRequest, side: str, number: str) -> HttpResponse:
    """Post a comment on an order or one of its lines (internal: buyers only)."""
    from django.contrib import messages
    from django.shortcuts import redirect

    from vendorportal.collaboration import services as collaboration
    from vendorportal.errors import DomainError
    from vendorportal.web.errors import add_domain_error

    viewer = viewer_of(request)
    order = access.order_or_404(viewer, number)
    line_numbers = list(order.lines.values_list("line_number", flat=True))
    form = CommentForm(request.POST, line_numbers=line_numbers, internal=viewer.internal)
    if form.is_valid():
        data = form.cleaned_data
        line = access.line_or_404(viewer, order, data["line"]) if data.get("line") else None
        try:
            collaboration.comment_add(
                order=order,
                by=viewer.user,
                body=data["body"],
                line=line,
                internal=bool(data.get("internal")),
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, "Comment added.")
            return redirect(f"{side}:order-detail", number=order.number)
    context = order_context(request, side, number, comment_form=form)
    if side == "portal":
        from vendorportal.portal.forms import AcknowledgeForm

        context["ack_form"] = AcknowledgeForm(initial={"revision": order.revision})
    return render(request, "shared/order_detail.html", context, status=400)
