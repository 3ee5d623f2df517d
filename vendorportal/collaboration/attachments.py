"""The only write path for attachments: add a file to an order, a line, a ship notice or
an invoice, and delete one (softly).

Same contract as the other services: keyword-only, one transaction, one event (and its
audit row) per successful call, `DomainError` naming the field and nothing written for a
refused one. Each rule is one function below, used by every entrance (the web form and
the API both call `attachment_add`):

- `check_party`: who may attach to which target (a supplier only to its own vendor's
  orders, lines, ship notices and invoices; a buyer to orders and lines);
- `check_kind`: which kind each side attaches to which target;
- `check_visibility`: internal files are buyers' only;
- `clean_name`: the base name only, no control characters, at most 150 characters with
  its extension kept;
- `check_size`: not empty, at most `ATTACHMENT_MAX_MB`;
- `check_type`: the content is an allowed type (`sniffing.py`) and the name's extension
  fits it.

The content goes to the `attachments` storage under a random key after every check has
passed, and is deleted again if the transaction fails, so a refused upload leaves no row
and no stored object. A new version of a shared drawing on a line of an issued order is a
change the supplier must acknowledge: it makes a new order revision whose change list
names the drawing (`{"op": "document", ...}`, see purchasing/revisions.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import secrets
import unicodedata
from typing import Any

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Max
from django.utils import timezone

from vendorportal.accounts.models import User
from vendorportal.collaboration import sniffing
from vendorportal.collaboration.models import (
    Attachment,
    AttachmentKind,
    AttachmentVisibility,
)
from vendorportal.core.request_guard import upload_too_large
from vendorportal.errors import DomainError
from vendorportal.events.log import record_event
from vendorportal.purchasing import revisions
from vendorportal.purchasing.models import (
    Invoice,
    Line,
    OrderStatus,
    PurchaseOrder,
    Revision,
    ShipNotice,
)
from vendorportal.scoping import service

NAME_MAX = 150
STORAGE = "attachments"

# What each side attaches to what (target kind -> kinds).
BUYER_KINDS = {
    "order": (
        AttachmentKind.DRAWING,
        AttachmentKind.SPECIFICATION,
        AttachmentKind.TERMS,
        AttachmentKind.OTHER,
    ),
    "line": (
        AttachmentKind.DRAWING,
        AttachmentKind.SPECIFICATION,
        AttachmentKind.TERMS,
        AttachmentKind.OTHER,
    ),
}
SUPPLIER_KINDS = {
    "order": (AttachmentKind.CERTIFICATE, AttachmentKind.OTHER),
    "line": (AttachmentKind.CERTIFICATE, AttachmentKind.OTHER),
    "ship_notice": (AttachmentKind.CERTIFICATE, AttachmentKind.OTHER),
    "invoice": (AttachmentKind.INVOICE_PDF, AttachmentKind.OTHER),
}
TARGET_WORDS = {
    "order": "an order",
    "line": "a line",
    "ship_notice": "a ship notice",
    "invoice": "an invoice",
}


def storage() -> Storage:
    return storages[STORAGE]


# ---------------------------------------------------------------------------------------
# Targets and the rules, one function each
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Target:
    """Where a file goes: an order (optionally one line), a ship notice or an invoice."""

    kind: str  # "order" | "line" | "ship_notice" | "invoice"
    vendor_id: int
    order: PurchaseOrder | None = None
    line: Line | None = None
    ship_notice: ShipNotice | None = None
    invoice: Invoice | None = None

    @property
    def where(self) -> str:
        if self.line is not None:
            return f"line {self.line.line_number}"
        if self.ship_notice is not None:
            return f"ship notice {self.ship_notice.number}"
        if self.invoice is not None:
            return f"invoice {self.invoice.number}"
        return f"order {self.order.number if self.order is not None else ''}"

    def same_target(self) -> dict[str, Any]:
        """The filter for files on exactly this target (the versions of one file)."""
        return {
            "order": self.order,
            "line": self.line,
            "ship_notice": self.ship_notice,
            "invoice": self.invoice,
        }


def target_of(target: PurchaseOrder | Line | ShipNotice | Invoice) -> Target:
    if isinstance(target, Line):
        return Target("line", target.vendor_id, order=target.order, line=target)
    if isinstance(target, ShipNotice):
        return Target("ship_notice", target.vendor_id, order=target.order, ship_notice=target)
    if isinstance(target, Invoice):
        return Target("invoice", target.vendor_id, invoice=target)
    if isinstance(target, PurchaseOrder):
        return Target("order", target.vendor_id, order=target)
    raise DomainError("Files are attached to an order, a line, a ship notice or an invoice.")


def check_party(by: User, target: Target) -> None:
    """A supplier attaches only to its own vendor's (issued) documents; a buyer to orders
    and lines. "Not yours" reads like "does not exist"."""
    if by.is_buyer:
        if target.kind not in BUYER_KINDS:
            raise DomainError(
                f"Buyers attach files to an order or a line, not to {TARGET_WORDS[target.kind]}.",
                field="file",
            )
        return
    if not by.is_vendor_user or by.vendor_id != target.vendor_id:
        raise DomainError("No such document.", code="not_found")
    if target.order is not None and target.order.status == OrderStatus.DRAFT:
        raise DomainError("No such document.", code="not_found")


def check_kind(by: User, target: Target, kind: str) -> str:
    allowed = (BUYER_KINDS if by.is_buyer else SUPPLIER_KINDS).get(target.kind, ())
    if kind not in allowed:
        words = ", ".join(str(AttachmentKind(k).label).lower() for k in allowed)
        raise DomainError(
            f"kind: on {TARGET_WORDS[target.kind]} you can attach: {words}.", field="kind"
        )
    return kind


def check_visibility(by: User, visibility: str) -> str:
    if visibility not in AttachmentVisibility.values:
        raise DomainError("visibility: choose shared or internal.", field="visibility")
    if visibility == AttachmentVisibility.INTERNAL and not by.is_buyer:
        raise DomainError(
            "visibility: only buyers can keep a file internal; a supplier's files are shared.",
            field="visibility",
        )
    return visibility


def clean_name(name: str) -> str:
    """The name a file is shown and downloaded under: the last part of any path (a
    browser or a script may send `../../etc/passwd` or `C:\\x\\y.pdf`), without control
    or format characters (a right-to-left override could disguise `exe.pdf`), at most
    150 characters with its extension kept."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = name.strip().strip(".").strip()
    if not name:
        raise DomainError("file: the file has no name.", field="file")
    stem, extension = os.path.splitext(name)
    if len(extension) > 16:  # no real extension is that long: keep the end of the name
        stem, extension = name, ""
    if len(name) > NAME_MAX:
        name = stem[: NAME_MAX - len(extension)].rstrip() + extension
    return name


def max_bytes() -> int:
    return int(settings.ATTACHMENT_MAX_MB) * 1024 * 1024


def check_size(size: int | None) -> int:
    if not size:
        raise DomainError("file: the file is empty (0 bytes).", field="file")
    if size > max_bytes():
        raise DomainError(
            upload_too_large(settings.ATTACHMENT_MAX_MB), field="file", code="too_large"
        )
    return size


def check_type(upload: Any, name: str) -> sniffing.FileType:
    """The content's type (not the name's), and a name whose extension fits it."""
    try:
        found = sniffing.detect(upload)
    except sniffing.NotAllowed as refusal:
        looks = f" (looks like {refusal.looks_like})" if refusal.looks_like else ""
        raise DomainError(
            f"file: not an allowed type{looks}. Allowed: PDF, PNG, JPEG, TIFF, text or CSV, "
            "DXF, STEP, Word (docx) and Excel (xlsx).",
            field="file",
        ) from None
    extension = os.path.splitext(name)[1].lower()
    if found is sniffing.TEXT and extension == ".csv":
        return sniffing.CSV
    if extension not in found.extensions:
        raise DomainError(
            f"file: the content is {found.label} but the name ends in "
            f"'{extension or '(no extension)'}'; name it {' or '.join(found.extensions)}.",
            field="file",
        )
    return found


def digest(upload: Any) -> tuple[str, int]:
    """SHA-256 and size, read in chunks (the file is never in memory whole)."""
    sha, size = hashlib.sha256(), 0
    upload.seek(0)
    for chunk in (
        upload.chunks()
        if isinstance(upload, UploadedFile)
        else iter(lambda: upload.read(64 * 1024), b"")
    ):
        sha.update(chunk)
        size += len(chunk)
    upload.seek(0)
    return sha.hexdigest(), size


def _locked(target: Target) -> Target:
    """Serialise writes on one document, so two uploads of one name get two versions;
    the target with its order as it is now (its status decides who may attach)."""
    if target.order is not None:
        order = PurchaseOrder.objects.select_for_update().get(pk=target.order.pk)
        return dataclasses.replace(target, order=order)
    if target.invoice is not None:
        Invoice.objects.select_for_update().get(pk=target.invoice.pk)
    return target


def _topic_data(target: Target) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if target.order is not None:
        data["order"] = target.order.number
    if target.line is not None:
        data["line"] = target.line.line_number
    if target.ship_notice is not None:
        data["ship_notice"] = target.ship_notice.pk
        data["number"] = target.ship_notice.number
    if target.invoice is not None:
        data["invoice"] = target.invoice.pk
        data["number"] = target.invoice.number
    return data


def describe(attachment: Attachment) -> str:
    kind = attachment.get_kind_display().lower()
    return f"{kind} {attachment.original_name} version {attachment.version}"


# ---------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------


@service
def attachment_add(
    *,
    target: PurchaseOrder | Line | ShipNotice | Invoice,
    upload: Any,
    kind: str,
    by: User,
    visibility: str = AttachmentVisibility.SHARED,
) -> Attachment:
    """Attach `upload` (a Django UploadedFile or any seekable binary file with a name).

    A file of the same kind and name on the same target becomes the next version (the
    earlier stays, superseded). A new version of a shared drawing on a line of an issued
    order makes a new order revision, which the supplier is asked to acknowledge.
    """
    where = _locked(target_of(target))
    check_party(by, where)
    kind = check_kind(by, where, kind)
    visibility = check_visibility(by, visibility)
    if upload is None:
        raise DomainError("file: choose a file to attach.", field="file")
    name = clean_name(getattr(upload, "name", "") or "")
    check_size(getattr(upload, "size", None))
    file_type = check_type(upload, name)
    sha256, size = digest(upload)
    check_size(size)
    same = Attachment.objects.filter(**where.same_target(), kind=kind, original_name=name)
    version = (same.aggregate(highest=Max("version"))["highest"] or 0) + 1
    previous = same.filter(deleted_at__isnull=True).order_by("-version").first()
    key = f"{secrets.token_hex(1)}/{secrets.token_hex(16)}"
    stored = storage().save(key, upload)
    try:
        return _record_added(
            where=where,
            by=by,
            kind=kind,
            visibility=visibility,
            name=name,
            stored=stored,
            file_type=file_type,
            size=size,
            sha256=sha256,
            version=version,
            previous=previous,
        )
    except BaseException:
        storage().delete(stored)
        raise


def _record_added(
    *,
    where: Target,
    by: User,
    kind: str,
    visibility: str,
    name: str,
    stored: str,
    file_type: sniffing.FileType,
    size: int,
    sha256: str,
    version: int,
    previous: Attachment | None,
) -> Attachment:
    attachment = Attachment.objects.create(
        vendor_id=where.vendor_id,
        order=where.order,
        line=where.line,
        ship_notice=where.ship_notice,
        invoice=where.invoice,
        kind=kind,
        visibility=visibility,
        original_name=name,
        storage_key=stored,
        content_type=file_type.content_type,
        size=size,
        sha256=sha256,
        version=version,
        supersedes=previous,
        uploaded_by=by,
    )
    internal = visibility == AttachmentVisibility.INTERNAL or (
        where.order is not None and where.order.status == OrderStatus.DRAFT
    )
    data = {**_topic_data(where), "attachment": attachment.public_id}
    audit_changes: dict[str, list[Any]] = {
        "attachment": [None, f"{name} version {version}"],
        "kind": [None, kind],
        "visibility": [None, visibility],
        "size": [None, size],
        "sha256": [None, sha256],
    }
    summary = f"{by.display_name} attached {describe(attachment)} to {where.where}" + (
        " (internal)" if visibility == AttachmentVisibility.INTERNAL else ""
    )
    revision = _drawing_revision(where, attachment, previous, by) if not internal else None
    if revision is not None:
        change = revision.changes[0]
        record_event(
            kind="order.revised",
            vendor_id=where.vendor_id,
            order_id=where.order.pk if where.order else None,
            actor=by,
            revision=revision.number,
            summary=f"Revision {revision.number}: {revisions.describe_change(change)}",
            data={**data, "revision": revision.number},
            changes={
                **audit_changes,
                f"line {change['line']}.drawing": [change["old"], change["new"]],
            },
        )
        return attachment
    record_event(
        kind="attachment.added",
        vendor_id=where.vendor_id,
        order_id=where.order.pk if where.order else None,
        actor=by,
        internal=internal,
        summary=summary,
        data=data,
        changes=audit_changes,
    )
    return attachment


def _drawing_revision(
    where: Target, attachment: Attachment, previous: Attachment | None, by: User
) -> Revision | None:
    """A new version of a drawing on a line of an issued order changes what is ordered:
    the order's next revision, its one change naming the drawing, its snapshot the
    previous one (the commercial content did not change)."""
    order, line = where.order, where.line
    if (
        attachment.kind != AttachmentKind.DRAWING
        or line is None
        or order is None
        or attachment.version < 2
    ):
        return None
    order = PurchaseOrder.objects.get(pk=order.pk)
    if order.status != OrderStatus.ISSUED:
        return None
    latest = order.revisions.order_by("-number").first()
    if latest is None:  # pragma: no cover - an issued order has revision 1
        return None
    change = {
        "op": "document",
        "target": "line",
        "line": line.line_number,
        "field": "drawing",
        "old": f"{previous.original_name} version {previous.version}" if previous else None,
        "new": f"{attachment.original_name} version {attachment.version}",
    }
    order.revision += 1
    order.save(update_fields=["revision", "updated_at"])
    revision = Revision.objects.create(
        order=order,
        vendor_id=order.vendor_id,
        number=order.revision,
        created_by=by,
        reason=f"Drawing {attachment.original_name} version {attachment.version} attached "
        f"to line {line.line_number}",
        changes=[change],
        snapshot=latest.snapshot,
    )
    attachment.revision = revision.number
    attachment.save(update_fields=["revision"])
    return revision


@service
def attachment_delete(*, attachment: Attachment, by: User) -> Attachment:
    """Soft delete: the row stays (the audit trail names it), the file is no longer listed
    or downloadable. Only the uploader's side deletes: a supplier its own vendor's
    uploads, a buyer buyers' uploads."""
    attachment = Attachment.objects.select_related(
        "order", "line", "ship_notice", "invoice", "uploaded_by"
    ).get(pk=attachment.pk)
    document = attachment.line or attachment.ship_notice or attachment.invoice or attachment.order
    if document is None:  # pragma: no cover - the check constraint: an order or an invoice
        raise DomainError("No such file.", code="not_found")
    where = target_of(document)
    uploader = attachment.uploaded_by
    if by.is_buyer:
        if not uploader.is_buyer:
            raise DomainError(
                "file: the supplier attached this file; only the supplier can delete it.",
                field="file",
            )
    else:
        if not by.is_vendor_user or by.vendor_id != attachment.vendor_id or attachment.internal:
            raise DomainError("No such file.", code="not_found")
        if uploader.is_buyer:
            raise DomainError(
                "file: a buyer attached this file; only buyers can delete it.", field="file"
            )
    where = _locked(where)
    if attachment.deleted_at is not None:
        raise DomainError("No such file.", code="not_found")
    attachment.deleted_at = timezone.now()
    attachment.deleted_by = by
    attachment.save(update_fields=["deleted_at", "deleted_by"])
    internal = attachment.internal or (
        attachment.order is not None and attachment.order.status == OrderStatus.DRAFT
    )
    record_event(
        kind="attachment.deleted",
        vendor_id=attachment.vendor_id,
        order_id=attachment.order_id,
        actor=by,
        internal=internal,
        summary=f"{by.display_name} deleted {describe(attachment)} from {where.where}",
        data={**_topic_data(where), "attachment": attachment.public_id},
        changes={
            "attachment": [f"{attachment.original_name} version {attachment.version}", None],
            "deleted_at": [None, attachment.deleted_at],
            "sha256": [attachment.sha256, attachment.sha256],
        },
    )
    return attachment


__all__ = ["attachment_add", "attachment_delete"]
