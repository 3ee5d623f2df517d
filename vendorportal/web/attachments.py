"""Attachments on the shared screens: the list and upload form on the order, ship notice
and invoice pages (`shared/_attachments.html`), the upload routes, the access-checked
download and the delete button.

Thin views, as the other shared screens: access helper -> form -> service -> redirect.
What a viewer may see comes from `purchasing.access.attachments`; who may attach or
delete what is decided by `collaboration.attachments` (the services).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_safe

from vendorportal.audit import log as audit
from vendorportal.collaboration import attachments as service
from vendorportal.collaboration.models import Attachment, AttachmentKind, AttachmentVisibility
from vendorportal.errors import DomainError
from vendorportal.purchasing import access
from vendorportal.purchasing.access import Viewer
from vendorportal.purchasing.models import Invoice, PurchaseOrder, ShipNotice
from vendorportal.web import formatting
from vendorportal.web.access import viewer_of

# The downloaded file is never a page: no script, no plugin, no frame, even if a browser
# were to open it in place.
DOWNLOAD_CSP = "default-src 'none'; sandbox allow-downloads; frame-ancestors 'none'"


class AttachmentForm(forms.Form):
    file = forms.FileField(label="File", allow_empty_file=True)
    kind = forms.ChoiceField(label="Kind")
    line = forms.TypedChoiceField(label="Attach to", required=False, coerce=int, empty_value=None)
    visibility = forms.ChoiceField(
        label="Visible to",
        choices=AttachmentVisibility.choices,
        initial=AttachmentVisibility.SHARED,
        required=False,
    )

    def __init__(
        self,
        *args: Any,
        kinds: tuple[str, ...],
        internal: bool,
        line_numbers: list[int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        if isinstance(kind, forms.ChoiceField):
            kind.choices = [(k, AttachmentKind(k).label) for k in kinds]
        line = self.fields["line"]
        if line_numbers is None:
            del self.fields["line"]
        elif isinstance(line, forms.ChoiceField):
            line.choices = [("", "The whole order")] + [(n, f"Line {n}") for n in line_numbers]
        if not internal:
            # A supplier's files are always shared.
            del self.fields["visibility"]


@dataclass(frozen=True)
class Row:
    name: str
    url: str
    kind: str
    where: str
    version: int
    superseded: bool
    size: str
    uploader: str
    uploaded_at: str
    sha256: str
    internal: bool
    delete_url: str  # empty: this viewer may not delete it


def _kinds(viewer: Viewer, target: str) -> tuple[str, ...]:
    table = service.BUYER_KINDS if viewer.internal else service.SUPPLIER_KINDS
    return tuple(str(k) for k in table.get(target, ()))


def _may_delete(viewer: Viewer, attachment: Attachment) -> bool:
    # The same rule as the service: the uploader's side deletes.
    return attachment.uploaded_by.is_buyer == viewer.internal


def _rows(viewer: Viewer, side: str, files: list[Attachment]) -> list[Row]:
    newest: dict[tuple[Any, ...], int] = {}
    for f in files:
        key = (f.line_id, f.ship_notice_id, f.invoice_id, f.kind, f.original_name)
        newest[key] = max(newest.get(key, 0), f.version)
    rows = []
    for f in files:
        key = (f.line_id, f.ship_notice_id, f.invoice_id, f.kind, f.original_name)
        rows.append(
            Row(
                name=f.original_name,
                url=reverse(f"{side}:attachment-download", args=[f.public_id]),
                kind=f.get_kind_display(),
                where=f"Line {f.line.line_number}" if f.line is not None else "",
                version=f.version,
                superseded=f.version < newest[key],
                size=formatting.file_size(f.size),
                uploader=f.uploaded_by.display_name,
                uploaded_at=formatting.date(f.uploaded_at),
                sha256=f.sha256,
                internal=f.internal,
                delete_url=reverse(f"{side}:attachment-delete", args=[f.public_id])
                if _may_delete(viewer, f)
                else "",
            )
        )
    return rows


def attachments_context(
    request: HttpRequest,
    side: str,
    *,
    order: PurchaseOrder | None = None,
    ship_notice: ShipNotice | None = None,
    invoice: Invoice | None = None,
) -> dict[str, Any]:
    """What `shared/_attachments.html` shows for one document's page."""
    viewer = viewer_of(request)
    files = access.attachments(viewer).select_related("line", "uploaded_by")
    line_numbers: list[int] | None = None
    if ship_notice is not None:
        files, target, url_name, arg = (
            files.filter(ship_notice=ship_notice),
            "ship_notice",
            "ship-notice-attachment-add",
            str(ship_notice.pk),
        )
    elif invoice is not None:
        files, target, url_name, arg = (
            files.filter(invoice=invoice),
            "invoice",
            "invoice-attachment-add",
            str(invoice.pk),
        )
    elif order is not None:
        files, target, url_name, arg = (
            files.filter(order=order, ship_notice__isnull=True),
            "order",
            "order-attachment-add",
            order.number,
        )
        line_numbers = list(order.lines.values_list("line_number", flat=True))
    else:  # pragma: no cover - every page names its document
        raise ValueError("attachments_context needs an order, a ship notice or an invoice")
    kinds = _kinds(viewer, target)
    form = (
        AttachmentForm(kinds=kinds, internal=viewer.internal, line_numbers=line_numbers)
        if kinds
        else None
    )
    return {
        "rows": _rows(
            viewer, side, list(files.order_by("line__line_number", "kind", "uploaded_at", "id"))
        ),
        "form": form,
        "upload_url": reverse(f"{side}:{url_name}", args=[arg]) if form is not None else "",
        "max_mb": settings.ATTACHMENT_MAX_MB,
        "internal": viewer.internal,
    }


def _page_of(side: str, attachment: Attachment) -> str:
    if attachment.invoice_id is not None:
        return reverse(f"{side}:invoice-detail", args=[attachment.invoice_id])
    if attachment.ship_notice_id is not None:
        return reverse(f"{side}:ship-notice-detail", args=[attachment.ship_notice_id])
    number = attachment.order.number if attachment.order is not None else ""
    return reverse(f"{side}:order-detail", args=[number]) + "#attachments"


def _upload(
    request: HttpRequest,
    target: Any,
    page: str,
    kinds: tuple[str, ...],
    line_numbers: list[int] | None = None,
) -> HttpResponse:
    viewer = viewer_of(request)
    form = AttachmentForm(
        request.POST,
        request.FILES,
        kinds=kinds,
        internal=viewer.internal,
        line_numbers=line_numbers,
    )
    if not form.is_valid():
        for name, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{name}: {error}" if name != "__all__" else str(error))
        return redirect(page)
    data = form.cleaned_data
    if data.get("line"):
        target = access.line_or_404(viewer, target, data["line"])
    try:
        attachment = service.attachment_add(
            target=target,
            upload=data["file"],
            kind=data["kind"],
            visibility=data.get("visibility") or AttachmentVisibility.SHARED,
            by=viewer.user,
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(page)
    message = f"Attached {attachment.original_name} (version {attachment.version})."
    if attachment.revision:
        message += (
            f" The order is now at revision {attachment.revision}; the supplier is asked to "
            "acknowledge it."
        )
    messages.success(request, message)
    return redirect(page)


def order_attachment_add(request: HttpRequest, side: str, number: str) -> HttpResponse:
    viewer = viewer_of(request)
    order = access.order_or_404(viewer, number)
    page = reverse(f"{side}:order-detail", args=[order.number]) + "#attachments"
    line_numbers = list(order.lines.values_list("line_number", flat=True))
    return _upload(request, order, page, _kinds(viewer, "order"), line_numbers)


def ship_notice_attachment_add(request: HttpRequest, side: str, pk: str) -> HttpResponse:
    viewer = viewer_of(request)
    notice = access.ship_notice_or_404(viewer, pk)
    page = reverse(f"{side}:ship-notice-detail", args=[notice.pk])
    return _upload(request, notice, page, _kinds(viewer, "ship_notice"))


def invoice_attachment_add(request: HttpRequest, side: str, pk: str) -> HttpResponse:
    viewer = viewer_of(request)
    invoice = access.invoice_or_404(viewer, pk)
    page = reverse(f"{side}:invoice-detail", args=[invoice.pk])
    return _upload(request, invoice, page, _kinds(viewer, "invoice"))


@require_safe
def file_link(request: HttpRequest, public_id: str) -> HttpResponse:
    """`/files/<opaque id>/`: one address for a file whoever opens it (for links in
    e-mails and messages): a login that may see it is sent to its side's download (which
    checks again); anyone else gets 404, like a missing file."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    viewer: Viewer | None = getattr(request, "viewer", None)
    if viewer is None:
        raise Http404("No such file.")
    access.attachment_or_404(viewer, public_id)
    side = "buying" if viewer.internal else "portal"
    return redirect(f"{side}:attachment-download", public_id=public_id)


def attachment_download(request: HttpRequest, side: str, public_id: str) -> FileResponse:
    """The file, only through here: another vendor's, an internal (for a supplier) or a
    deleted file is 404, like a missing one."""
    viewer = viewer_of(request)
    attachment = access.attachment_or_404(viewer, public_id)
    return file_response(attachment, user=request.user, side=side)


def file_response(attachment: Attachment, *, user: Any, side: str) -> FileResponse:
    """The download of a file the caller was allowed to reach (`access.attachment_or_404`):
    the screens' and the API's one answer, with its headers and its audit row."""
    content = service.storage().open(attachment.storage_key, "rb")
    response = FileResponse(
        content,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cache-Control"] = "private, no-store"
    audit.record_security(
        "attachment.downloaded",
        user=user,
        vendor_id=attachment.vendor_id,
        object_type="attachment",
        object_id=attachment.public_id,
        object_label=attachment.original_name,
        summary=f"{service.describe(attachment)} downloaded ({side})",
    )
    return response


def attachment_delete(request: HttpRequest, side: str, public_id: str) -> HttpResponse:
    viewer = viewer_of(request)
    attachment = access.attachment_or_404(viewer, public_id)
    page = _page_of(side, attachment)
    try:
        service.attachment_delete(attachment=attachment, by=viewer.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"Deleted {attachment.original_name} (version {attachment.version})."
        )
    return redirect(page)
