"""Attachments through the API: list and upload an order's files (and a ship notice's and
an invoice's), and download one.

Uploads are `multipart/form-data` (the one kind of body here that is not JSON): the file
in the part `file`, the other fields beside it. Every rule and message is the screens'
(collaboration.attachments: who attaches what kind to what, internal files buyers' only,
the type sniffed from the content, the size, the name); a refused file leaves no row and
no stored object. What a token may list and download is `access.attachments`: a supplier
token never sees an internal file, another vendor's or a deleted one (404 like a missing
one). The download is the screens' own answer (`web.attachments.file_response`): the same
headers and the same audit row.

(No `from __future__ import annotations`: django-ninja reads these signatures at import.)
"""

import datetime as dt
from typing import Any, Literal

from django.http import FileResponse, HttpRequest
from django.urls import reverse
from ninja import Field, File, Form, Router, Status
from ninja.files import UploadedFile

from vendorportal.api.auth import caller
from vendorportal.api.endpoints import IDEMPOTENCY_KEY, ONE_ERRORS, WRITE_ERRORS
from vendorportal.api.errors import ApiRefusal
from vendorportal.api.idempotency import idempotent
from vendorportal.api.schemas import Schema
from vendorportal.collaboration import attachments as service
from vendorportal.collaboration import sniffing
from vendorportal.collaboration.models import Attachment
from vendorportal.purchasing import access
from vendorportal.web.attachments import DOWNLOAD_CSP, file_response

router = Router(tags=["attachments"])

# The values of collaboration.models.AttachmentKind (tests/test_api_attachments.py).
KINDS = Literal["drawing", "specification", "terms", "certificate", "invoice_pdf", "other"]

FILE_HELP = (
    "The file, checked on its content: PDF, PNG, JPEG, TIFF, text or CSV, DXF, STEP, Word "
    "(docx) or Excel (xlsx), its name's extension fitting the content, not empty, at most "
    "ATTACHMENT_MAX_MB (20 by default; larger: 413)."
)
KIND_HELP = (
    "Buyers (integration tokens) attach drawing, specification, terms or other to an order "
    "or line; suppliers certificate or other to an order, line or ship notice, invoice_pdf "
    "or other to an invoice. A file of the same kind and name on the same target is its "
    "next version."
)

# The parts of an upload (multipart/form-data), as in the documented schema.
FILE_PART = File(..., description=FILE_HELP)
KIND_PART = Form(..., description=KIND_HELP)
LINE_PART = Form(None, ge=1, description="Attach to this line; default: the whole order.")
VISIBILITY_PART = Form("shared", description="internal: buyers (integration tokens) only.")


class AttachmentOut(Schema):
    id: str = Field(description="The file's opaque id (22 characters).")
    name: str
    kind: KINDS
    visibility: Literal["shared", "internal"] = Field(
        description="internal: buyers only (never listed for a supplier's token)."
    )
    version: int
    superseded: bool = Field(description="A later version of it is listed too.")
    size: int = Field(description="Bytes.")
    sha256: str
    content_type: str = Field(description="The type found in the content.")
    uploaded_by: str = Field(description="The uploader's display name.")
    uploaded_at: dt.datetime
    line_number: int | None = Field(description="Set when the file is on one line.")
    ship_notice_number: str | None
    invoice_number: str | None
    revision: int | None = Field(
        description="The order revision this file made (a new drawing version on a line)."
    )
    download: str = Field(description="Where to download it: GET this path.")


class AttachmentList(Schema):
    items: list[AttachmentOut]


def _key(f: Attachment) -> tuple[Any, ...]:
    return (f.order_id, f.line_id, f.ship_notice_id, f.invoice_id, f.kind, f.original_name)


def attachment_out(f: Attachment, newest: int | None = None) -> dict[str, Any]:
    return {
        "id": f.public_id,
        "name": f.original_name,
        "kind": f.kind,
        "visibility": f.visibility,
        "version": f.version,
        "superseded": newest is not None and f.version < newest,
        "size": f.size,
        "sha256": f.sha256,
        "content_type": f.content_type,
        "uploaded_by": f.uploaded_by.display_name,
        "uploaded_at": f.uploaded_at,
        "line_number": f.line.line_number if f.line is not None else None,
        "ship_notice_number": f.ship_notice.number if f.ship_notice is not None else None,
        "invoice_number": f.invoice.number if f.invoice is not None else None,
        "revision": f.revision,
        "download": reverse("api-v1:download_attachment", args=[f.public_id]),
    }


def _listed(files: Any) -> dict[str, Any]:
    rows = list(
        files.select_related("line", "ship_notice", "invoice", "uploaded_by").order_by(
            "line__line_number", "kind", "uploaded_at", "id"
        )
    )
    newest: dict[tuple[Any, ...], int] = {}
    for f in rows:
        newest[_key(f)] = max(newest.get(_key(f), 0), f.version)
    return {"items": [attachment_out(f, newest[_key(f)]) for f in rows]}


def _supplier_only(viewer: access.Viewer, what: str) -> None:
    # The screens' rule (buyers attach to an order or a line), answered like the API's
    # other supplier-only operations (POST /invoices): 403 before anything is read.
    if viewer.internal:
        raise ApiRefusal(
            403,
            "forbidden",
            f"Only a supplier's token attaches files to {what}; buyers attach to an order "
            "or a line.",
        )


def _added(attachment: Attachment) -> Status[dict[str, Any]]:
    found = Attachment.objects.select_related("line", "ship_notice", "invoice", "uploaded_by").get(
        pk=attachment.pk
    )
    return Status(201, attachment_out(found))


# --- an order's files ------------------------------------------------------------------


@router.get(
    "/orders/{number}/attachments",
    response={200: AttachmentList, **ONE_ERRORS},
    summary="An order's files",
)
def list_order_attachments(request: HttpRequest, number: str) -> dict[str, Any]:
    """The files on the order, on its lines and on its ship notices that the token may
    see (a supplier's token: shared files only), every version, each marked superseded
    when a later one is listed."""
    with caller(request) as viewer:
        order = access.order_or_404(viewer, number)
        return _listed(access.attachments(viewer).filter(order=order))


@router.post(
    "/orders/{number}/attachments",
    response={201: AttachmentOut, **WRITE_ERRORS},
    summary="Attach a file to an order or one of its lines (multipart)",
)
@idempotent
def add_order_attachment(
    request: HttpRequest,
    number: str,
    file: UploadedFile = FILE_PART,
    kind: KINDS = KIND_PART,
    # Declared `int` (not nullable) with no default value sent: a multipart form has no
    # null, only a missing part (the line is then the whole order).
    line_number: int = LINE_PART,
    visibility: Literal["shared", "internal"] = VISIBILITY_PART,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Status[dict[str, Any]]:
    """Refused with 400 naming the field (`file`, `kind`, `visibility`) in the screens'
    words: a type not allowed ("file: not an allowed type (looks like a Windows
    executable)"), a name that does not fit the content, an empty file; 413 for one over
    the limit. Nothing is written then."""
    with caller(request, write=True) as viewer:
        order = access.order_or_404(viewer, number)
        target: Any = order
        if line_number is not None:
            target = order.lines.filter(line_number=line_number).first()
            if target is None:
                raise ApiRefusal(
                    400,
                    "invalid",
                    f"line_number: order {order.number} has no line {line_number}.",
                    field="line_number",
                )
        attachment = service.attachment_add(
            target=target, upload=file, kind=kind, by=viewer.user, visibility=visibility
        )
        return _added(attachment)


# --- a ship notice's and an invoice's files --------------------------------------------


@router.get(
    "/ship-notices/{notice_id}/attachments",
    response={200: AttachmentList, **ONE_ERRORS},
    summary="A ship notice's files",
)
def list_ship_notice_attachments(request: HttpRequest, notice_id: int) -> dict[str, Any]:
    with caller(request) as viewer:
        notice = access.ship_notice_or_404(viewer, notice_id)
        return _listed(access.attachments(viewer).filter(ship_notice=notice))


@router.post(
    "/ship-notices/{notice_id}/attachments",
    response={201: AttachmentOut, **WRITE_ERRORS},
    summary="Attach a certificate to a ship notice (supplier tokens; multipart)",
)
@idempotent
def add_ship_notice_attachment(
    request: HttpRequest,
    notice_id: int,
    file: UploadedFile = FILE_PART,
    kind: Literal["certificate", "other"] = KIND_PART,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Status[dict[str, Any]]:
    """The buying company's tokens are refused (403: buyers attach to an order or a
    line)."""
    with caller(request, write=True) as viewer:
        _supplier_only(viewer, "a ship notice")
        notice = access.ship_notice_or_404(viewer, notice_id)
        attachment = service.attachment_add(target=notice, upload=file, kind=kind, by=viewer.user)
        return _added(attachment)


@router.get(
    "/invoices/{invoice_id}/attachments",
    response={200: AttachmentList, **ONE_ERRORS},
    summary="An invoice's files",
)
def list_invoice_attachments(request: HttpRequest, invoice_id: int) -> dict[str, Any]:
    with caller(request) as viewer:
        invoice = access.invoice_or_404(viewer, invoice_id)
        return _listed(access.attachments(viewer).filter(invoice=invoice))


@router.post(
    "/invoices/{invoice_id}/attachments",
    response={201: AttachmentOut, **WRITE_ERRORS},
    summary="Attach the invoice PDF to an invoice (supplier tokens; multipart)",
)
@idempotent
def add_invoice_attachment(
    request: HttpRequest,
    invoice_id: int,
    file: UploadedFile = FILE_PART,
    kind: Literal["invoice_pdf", "other"] = KIND_PART,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Status[dict[str, Any]]:
    """The buying company's tokens are refused (403: buyers attach to an order or a
    line)."""
    with caller(request, write=True) as viewer:
        _supplier_only(viewer, "an invoice")
        invoice = access.invoice_or_404(viewer, invoice_id)
        attachment = service.attachment_add(target=invoice, upload=file, kind=kind, by=viewer.user)
        return _added(attachment)


# --- the download ----------------------------------------------------------------------

# A file is served as the type found in its content (never application/octet-stream):
# each type the sniffer knows is documented as binary.
DOWNLOAD_TYPES = sorted(
    {t.content_type for t in vars(sniffing).values() if isinstance(t, sniffing.FileType)}
)
_DOWNLOAD_HEADERS = {
    "Content-Disposition": {
        "description": "Always `attachment`, with the file's name.",
        "schema": {"type": "string"},
    },
    "X-Content-Type-Options": {"schema": {"type": "string", "enum": ["nosniff"]}},
    "Content-Security-Policy": {"schema": {"type": "string", "enum": [DOWNLOAD_CSP]}},
    "Cache-Control": {"schema": {"type": "string", "enum": ["private, no-store"]}},
}


@router.get(
    "/attachments/{public_id}",
    response=ONE_ERRORS,
    summary="Download a file",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file's bytes, as stored (their SHA-256 is the listed "
                "one), as the type found in their content.",
                "headers": _DOWNLOAD_HEADERS,
                "content": {
                    content_type: {"schema": {"type": "string", "format": "binary"}}
                    for content_type in DOWNLOAD_TYPES
                },
            }
        }
    },
)
def download_attachment(request: HttpRequest, public_id: str) -> FileResponse:
    """404 for another vendor's file, an internal one (supplier tokens), a deleted one and
    a missing one alike. Each download is in the audit trail."""
    with caller(request) as viewer:
        attachment = access.attachment_or_404(viewer, public_id)
        return file_response(attachment, user=viewer.user, side="api")
