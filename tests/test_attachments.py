"""Attachments both ways (issue 16): upload, download, versions, soft delete, isolation,
the type, size and name rules, and a new drawing version making an order revision."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.factories import make_order
from vendorportal.accounts.models import User
from vendorportal.audit.models import AuditEntry
from vendorportal.collaboration import attachments, sniffing
from vendorportal.collaboration import services as collaboration
from vendorportal.collaboration.models import Attachment
from vendorportal.errors import DomainError
from vendorportal.events.models import Event
from vendorportal.purchasing.models import PurchaseOrder, Vendor

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 200 + b"%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200


def stored_files() -> set[str]:
    root = Path(storages["attachments"].location)  # type: ignore[attr-defined]
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def upload(name: str, content: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def order(vendor_a: Vendor, buyer: User) -> PurchaseOrder:
    return make_order(vendor=vendor_a, by=buyer, lines=[("100", "2.50"), ("10", "9")])


@pytest.fixture
def b_order(vendor_b: Vendor, buyer: User) -> PurchaseOrder:
    return make_order(vendor=vendor_b, by=buyer, lines=[("5", "3")])


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_file(client: Client, url: str, name: str, content: bytes, **fields: Any) -> Any:
    return client.post(url, {"file": upload(name, content), **fields})


# --- the rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../x.pdf", "x.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\y.pdf", "y.pdf"),
        ("dra\u202ewing\x00\x1f.pdf", "drawing.pdf"),
        ("  .hidden.pdf. ", "hidden.pdf"),
        ("a" * 300 + ".pdf", "a" * 146 + ".pdf"),
    ],
)
def test_names_are_sanitised(raw: str, clean: str) -> None:
    assert attachments.clean_name(raw) == clean
    assert len(attachments.clean_name(raw)) <= 150


@pytest.mark.parametrize(
    ("content", "key"),
    [
        (PDF, "pdf"),
        (PNG, "png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "jpeg"),
        (b"II*\x00" + b"\x00" * 20, "tiff"),
        (b"MM\x00*" + b"\x00" * 20, "tiff"),
        ("part;qty\nM8;100\nMü;2\n".encode(), "text"),
        (b"ISO-10303-21;\nHEADER;\nENDSEC;\n", "step"),
        (b"999\ncomment\n  0\nSECTION\n  2\nHEADER\n", "dxf"),
    ],
)
def test_allowed_types_are_recognised_by_content(content: bytes, key: str) -> None:
    assert sniffing.detect(io.BytesIO(content)).key == key


def _office(part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(part, "<x/>")
    return buffer.getvalue()


def test_office_documents_are_zips_with_content_types() -> None:
    assert sniffing.detect(io.BytesIO(_office("word/document.xml"))).key == "docx"
    assert sniffing.detect(io.BytesIO(_office("xl/workbook.xml"))).key == "xlsx"
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("payload.exe", "x")
    with pytest.raises(sniffing.NotAllowed, match="ZIP"):
        sniffing.detect(io.BytesIO(plain_zip.getvalue()))


@pytest.mark.parametrize(
    ("content", "looks_like"),
    [
        (EXE, "Windows executable"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 20, "Linux executable"),
        (b"#!/bin/sh\nrm -rf /\n", "script"),
        (b"<html><script>alert(1)</script></html>", "web page"),
        (b"text with a \x00 NUL", ""),
        (b"\xff\xfe not utf-8 \xc3\x28", ""),
    ],
)
def test_other_content_is_refused(content: bytes, looks_like: str) -> None:
    with pytest.raises(sniffing.NotAllowed) as refused:
        sniffing.detect(io.BytesIO(content))
    assert looks_like in refused.value.looks_like


# --- upload and download ----------------------------------------------------------------


def test_round_trip_through_the_pages(order: PurchaseOrder, buyer: User, amos: User) -> None:
    buying = login(buyer)
    answer = post_file(
        buying, f"/buying/orders/{order.number}/attachments", "spec.pdf", PDF, kind="specification"
    )
    assert answer.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    assert (attachment.size, attachment.content_type) == (len(PDF), "application/pdf")
    assert attachment.storage_key != "spec.pdf" and "spec" not in attachment.storage_key
    assert len(attachment.public_id) == 22

    portal = login(amos)
    page = portal.get(f"/portal/orders/{order.number}/").content.decode()
    assert "spec.pdf" in page and attachment.sha256 in page and attachment.sha256[:12] in page
    assert "Bea" in page  # the uploader
    response = portal.get(f"/portal/files/{attachment.public_id}/")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert hashlib.sha256(body).hexdigest() == attachment.sha256
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="spec.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert AuditEntry.objects.filter(action="attachment.downloaded").count() == 1


def test_supplier_certificates_on_notice_line_and_invoice(
    order: PurchaseOrder, buyer: User, amos: User
) -> None:
    from vendorportal.purchasing import services

    portal = login(amos)
    line_answer = post_file(
        portal,
        f"/portal/orders/{order.number}/attachments",
        "mill-cert.pdf",
        PDF,
        kind="certificate",
        line="10",
    )
    assert line_answer.status_code == 302
    on_line = Attachment.objects.get()
    assert on_line.line is not None and on_line.line.line_number == 10
    assert on_line.visibility == "shared"

    notice = services.ship_notice_create(
        order=order,
        by=amos,
        lines=[services.ShipNoticeLineInput(order.deliveries.first(), "10")],
        expected_date=order.deliveries.first().due_date,  # type: ignore[union-attr]
    )
    post_file(
        portal, f"/portal/ship-notices/{notice.pk}/attachments", "coc.png", PNG, kind="certificate"
    )
    assert notice.attachments.get().content_type == "image/png"
    page = portal.get(f"/portal/ship-notices/{notice.pk}/").content.decode()
    assert "coc.png" in page

    invoice = services.invoice_record(
        vendor=order.vendor,
        number="INV-ATT-1",
        by=buyer,
        lines=[services.InvoiceLineInput(order.lines.get(line_number=10), "1", "2.50")],
    )
    post_file(
        portal, f"/portal/invoices/{invoice.pk}/attachments", "inv.pdf", PDF, kind="invoice_pdf"
    )
    on_invoice = invoice.attachments.get()
    assert on_invoice.order is None and on_invoice.kind == "invoice_pdf"
    assert "inv.pdf" in login(buyer).get(f"/buying/invoices/{invoice.pk}/").content.decode()


def test_a_supplier_may_not_attach_drawings_or_internal_files(
    order: PurchaseOrder, amos: User
) -> None:
    with pytest.raises(DomainError) as refused:
        attachments.attachment_add(
            target=order, upload=upload("d.pdf", PDF), kind="drawing", by=amos
        )
    assert refused.value.field == "kind"
    with pytest.raises(DomainError) as refused:
        attachments.attachment_add(
            target=order,
            upload=upload("c.pdf", PDF),
            kind="certificate",
            by=amos,
            visibility="internal",
        )
    assert refused.value.field == "visibility"
    assert not Attachment.objects.exists()


# --- isolation ----------------------------------------------------------------------------


def test_other_vendor_and_internal_files_are_404(
    order: PurchaseOrder, b_order: PurchaseOrder, buyer: User, amos: User, bob: User
) -> None:
    shared = attachments.attachment_add(
        target=order, upload=upload("terms.pdf", PDF), kind="terms", by=buyer
    )
    internal = attachments.attachment_add(
        target=order,
        upload=upload("INTERNAL-costing.pdf", PDF),
        kind="other",
        by=buyer,
        visibility="internal",
    )
    own_internal = attachments.attachment_add(
        target=b_order,
        upload=upload("INTERNAL-b.pdf", PDF),
        kind="other",
        by=buyer,
        visibility="internal",
    )
    bobs = login(bob)
    for f in (shared, internal, own_internal):
        assert bobs.get(f"/portal/files/{f.public_id}/").status_code == 404
        assert bobs.post(f"/portal/files/{f.public_id}/delete").status_code == 404
    assert bobs.get("/portal/files/no-such-file/").status_code == 404
    # Bob's upload to vendor A's order is refused like a missing order, and stores nothing.
    before = stored_files()
    assert (
        post_file(
            bobs, f"/portal/orders/{order.number}/attachments", "x.pdf", PDF, kind="certificate"
        ).status_code
        == 404
    )
    assert stored_files() == before

    amos_client = login(amos)
    assert amos_client.get(f"/portal/files/{shared.public_id}/").status_code == 200
    assert amos_client.get(f"/portal/files/{internal.public_id}/").status_code == 404
    page = amos_client.get(f"/portal/orders/{order.number}/").content.decode()
    assert "terms.pdf" in page and "INTERNAL-costing" not in page
    buyer_page = login(buyer).get(f"/buying/orders/{order.number}/").content.decode()
    assert "INTERNAL-costing.pdf" in buyer_page
    assert not Event.objects.filter(data__attachment=internal.public_id, internal=False).exists()


# --- refusals: nothing written ------------------------------------------------------------


def _refused_upload(client: Client, order: PurchaseOrder, name: str, content: bytes) -> str:
    before_rows, before_files = Attachment.objects.count(), stored_files()
    answer = post_file(
        client, f"/buying/orders/{order.number}/attachments", name, content, kind="drawing"
    )
    assert answer.status_code in (302, 413)
    assert Attachment.objects.count() == before_rows
    assert stored_files() == before_files
    if answer.status_code == 413:
        return answer.content.decode()
    return " ".join(str(m) for m in client.get(answer["Location"]).context["messages"])


def test_an_executable_renamed_pdf_is_refused(order: PurchaseOrder, buyer: User) -> None:
    message = _refused_upload(login(buyer), order, "drawing.pdf", EXE)
    assert "file: not an allowed type (looks like a Windows executable)" in message


def test_a_png_named_pdf_is_refused(order: PurchaseOrder, buyer: User) -> None:
    message = _refused_upload(login(buyer), order, "drawing.pdf", PNG)
    assert "file: the content is a PNG image but the name ends in '.pdf'" in message


def test_an_empty_file_is_refused(order: PurchaseOrder, buyer: User) -> None:
    message = _refused_upload(login(buyer), order, "empty.pdf", b"")
    assert "file: the file is empty" in message


def test_an_oversize_file_is_refused(order: PurchaseOrder, buyer: User, settings: Any) -> None:
    settings.ATTACHMENT_MAX_MB = 1
    client = login(buyer)
    # Over the limit but within the form's margin: the service refuses it.
    message = _refused_upload(client, order, "big.pdf", PDF + b"0" * (1024 * 1024))
    assert "file: larger than the 1 MB limit" in message
    # Far over: the edge refuses it (413) before any view, with the same words.
    message = _refused_upload(client, order, "huge.pdf", PDF + b"0" * (3 * 1024 * 1024))
    assert "file: larger than the 1 MB limit" in message


def test_an_upload_up_to_the_limit_is_accepted(
    order: PurchaseOrder, buyer: User, settings: Any
) -> None:
    """Larger than the 1 MB of every other form (WEB_MAX_BODY_MB), up to the limit."""
    settings.ATTACHMENT_MAX_MB = 3
    content = PDF + b"0" * (3 * 1024 * 1024 - len(PDF))
    answer = post_file(
        login(buyer),
        f"/buying/orders/{order.number}/attachments",
        "big.pdf",
        content,
        kind="drawing",
    )
    assert answer.status_code == 302
    assert Attachment.objects.get().size == 3 * 1024 * 1024


def test_a_traversal_name_is_stored_as_its_base_name(order: PurchaseOrder, buyer: User) -> None:
    attachment = attachments.attachment_add(
        target=order, upload=upload("../../x.pdf", PDF), kind="drawing", by=buyer
    )
    assert attachment.original_name == "x.pdf"
    assert ".." not in attachment.storage_key


def test_a_failed_transaction_leaves_no_stored_file(
    order: PurchaseOrder, buyer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = stored_files()

    def fail(**kwargs: Any) -> Any:
        raise RuntimeError("database gone")

    monkeypatch.setattr(attachments, "record_event", fail)
    with pytest.raises(RuntimeError):
        attachments.attachment_add(
            target=order, upload=upload("x.pdf", PDF), kind="drawing", by=buyer
        )
    assert stored_files() == before
    assert not Attachment.objects.exists()


# --- versions and deleting -------------------------------------------------------------


def test_same_name_and_kind_makes_the_next_version(
    order: PurchaseOrder, buyer: User, amos: User
) -> None:
    first = attachments.attachment_add(
        target=order, upload=upload("a.pdf", PDF), kind="terms", by=buyer
    )
    second = attachments.attachment_add(
        target=order, upload=upload("a.pdf", PDF + b"v2"), kind="terms", by=buyer
    )
    other_kind = attachments.attachment_add(
        target=order, upload=upload("a.pdf", PDF), kind="specification", by=buyer
    )
    assert (first.version, second.version, other_kind.version) == (1, 2, 1)
    assert second.supersedes == first
    page = login(amos).get(f"/portal/orders/{order.number}/").content.decode()
    assert "superseded" in page
    # The earlier version stays downloadable.
    assert login(amos).get(f"/portal/files/{first.public_id}/").status_code == 200


def test_delete_is_soft_audited_and_then_404(order: PurchaseOrder, buyer: User, amos: User) -> None:
    attachment = attachments.attachment_add(
        target=order, upload=upload("cert.pdf", PDF), kind="certificate", by=amos
    )
    buyer_client = login(buyer)
    # Only the uploader's side deletes.
    buyer_client.post(f"/buying/files/{attachment.public_id}/delete")
    attachment.refresh_from_db()
    assert attachment.deleted_at is None
    portal = login(amos)
    answer = portal.post(f"/portal/files/{attachment.public_id}/delete")
    assert answer.status_code == 302
    attachment.refresh_from_db()
    assert attachment.deleted_at is not None and attachment.deleted_by == amos
    entry = AuditEntry.objects.get(action="attachment.deleted")
    assert entry.actor_id == amos.pk and "cert.pdf" in entry.summary
    assert portal.get(f"/portal/files/{attachment.public_id}/").status_code == 404
    assert buyer_client.get(f"/buying/files/{attachment.public_id}/").status_code == 404
    page = portal.get(f"/portal/orders/{order.number}/").content.decode()
    assert attachment.public_id not in page and "No files yet." in page
    assert portal.post(f"/portal/files/{attachment.public_id}/delete").status_code == 404


# --- a new drawing version on a line of an issued order ----------------------------------


def test_a_new_drawing_version_on_a_line_is_a_revision_to_acknowledge(
    order: PurchaseOrder, buyer: User, amos: User
) -> None:
    line = order.lines.get(line_number=10)
    start = order.revision
    collaboration.acknowledgement_record(order=order, revision=start, response="accepted", by=amos)
    attachments.attachment_add(target=line, upload=upload("X.pdf", PDF), kind="drawing", by=buyer)
    order.refresh_from_db()
    assert order.revision == start  # the first drawing is no new version
    client = login(buyer)
    post_file(
        client,
        f"/buying/orders/{order.number}/attachments",
        "X.pdf",
        PDF + b"rev B",
        kind="drawing",
        line="10",
    )
    order.refresh_from_db()
    assert order.revision == start + 1
    revision = order.revisions.get(number=order.revision)
    assert revision.changes == [
        {
            "op": "document",
            "target": "line",
            "line": 10,
            "field": "drawing",
            "old": "X.pdf version 1",
            "new": "X.pdf version 2",
        }
    ]
    assert revision.snapshot == order.revisions.get(number=start).snapshot
    event = Event.objects.filter(order=order).latest("id")
    assert (event.kind, event.revision, event.internal) == ("order.revised", order.revision, False)
    # The supplier must acknowledge it: the old revision is stale, the new one is taken.
    with pytest.raises(DomainError, match="no longer current"):
        collaboration.acknowledgement_record(
            order=order, revision=start, response="accepted", by=amos
        )
    portal = login(amos)
    compare = portal.get(f"/portal/orders/{order.number}/changes/").content.decode()
    assert "Line 10 drawing: X.pdf version 1 → X.pdf version 2" in compare
    collaboration.acknowledgement_record(
        order=order, revision=order.revision, response="accepted", by=amos
    )


def test_an_internal_drawing_or_a_draft_makes_no_revision(
    vendor_a: Vendor, order: PurchaseOrder, buyer: User
) -> None:
    line = order.lines.get(line_number=10)
    start = order.revision
    for content in (PDF, PDF + b"2"):
        attachments.attachment_add(
            target=line,
            upload=upload("Y.pdf", content),
            kind="drawing",
            by=buyer,
            visibility="internal",
        )
    order.refresh_from_db()
    assert order.revision == start
    draft = make_order(vendor=vendor_a, by=buyer, issue=False)
    for content in (PDF, PDF + b"2"):
        attachments.attachment_add(
            target=draft.lines.get(), upload=upload("Z.pdf", content), kind="drawing", by=buyer
        )
    draft.refresh_from_db()
    assert draft.revision == 0


def test_the_one_file_address_sends_each_side_to_its_checked_download(
    order: PurchaseOrder, buyer: User, amos: User, bob: User
) -> None:
    """`/files/<opaque id>/` (for links in e-mails): the buyer lands on the buying
    download, the supplier on the portal's, another vendor on a 404, anonymous on the
    login page."""
    shared = attachments.attachment_add(
        target=order, upload=upload("terms.pdf", PDF), kind="terms", by=buyer
    )
    address = f"/files/{shared.public_id}/"
    anonymous = Client().get(address)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    for user, side in ((buyer, "buying"), (amos, "portal")):
        answer = login(user).get(address, follow=True)
        assert answer.redirect_chain[0][0] == f"/{side}/files/{shared.public_id}/"
        assert answer.status_code == 200
        assert b"".join(answer.streaming_content) == PDF
    assert login(bob).get(address, follow=True).status_code == 404
