"""Attachments through the API (issue 16): multipart uploads with the screens' rules, the
lists, and the download with the screens' headers and audit row; isolation between
vendors and from buyers' internal files; nothing written for a refused upload."""

from __future__ import annotations

import hashlib
from typing import get_args

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.test_api import BASE, Api, token_for
from tests.test_attachments import EXE, PDF, stored_files
from tests.test_isolation import world  # noqa: F401 - the shared fixture
from vendorportal.api import attachments as api_attachments
from vendorportal.audit.models import AuditEntry
from vendorportal.collaboration.models import Attachment, AttachmentKind
from vendorportal.web.attachments import DOWNLOAD_CSP

pytestmark = pytest.mark.django_db


def pdf(name: str = "drawing.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture
def as_amos(world, amos, vendor_a):
    return Api(token_for(amos, vendor=vendor_a))


@pytest.fixture
def as_bob(world, bob, vendor_b):
    return Api(token_for(bob, vendor=vendor_b))


@pytest.fixture
def as_erp(world, buyer):
    return Api(token_for(buyer))


def _files(world) -> str:
    return f"/orders/{world['order'].number}/attachments"


def test_a_file_goes_up_and_comes_back_byte_for_byte(world, as_amos, amos):
    answer = as_amos.upload(
        _files(world),
        {"file": pdf("../../cert.pdf"), "kind": "certificate"},
        HTTP_IDEMPOTENCY_KEY="cert-1",
    )
    assert answer.status_code == 201, answer.data
    data = answer.data
    assert data["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert (data["name"], data["kind"], data["visibility"], data["version"]) == (
        "cert.pdf",
        "certificate",
        "shared",
        1,
    )
    assert (data["size"], data["content_type"], data["uploaded_by"]) == (
        len(PDF),
        "application/pdf",
        amos.display_name,
    )
    assert data["line_number"] is None and data["superseded"] is False
    assert data["download"] == f"{BASE}/attachments/{data['id']}"

    before = AuditEntry.objects.filter(action="attachment.downloaded").count()
    download = as_amos.get(f"/attachments/{data['id']}")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert 'filename="cert.pdf"' in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == DOWNLOAD_CSP
    assert download["Cache-Control"] == "private, no-store"
    entry = AuditEntry.objects.filter(action="attachment.downloaded").latest("pk")
    assert AuditEntry.objects.filter(action="attachment.downloaded").count() == before + 1
    assert entry.object_id == data["id"] and "(api)" in entry.summary


def test_a_retry_with_the_same_key_is_answered_not_done_twice(world, as_amos):
    first = as_amos.upload(
        _files(world), {"file": pdf("cert.pdf"), "kind": "certificate"}, HTTP_IDEMPOTENCY_KEY="k1"
    )
    again = as_amos.upload(
        _files(world), {"file": pdf("cert.pdf"), "kind": "certificate"}, HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.data == first.data
    assert Attachment.objects.filter(original_name="cert.pdf").count() == 1
    other = as_amos.upload(
        _files(world),
        {"file": pdf("cert.pdf", PDF + b"\n"), "kind": "certificate"},
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert other.status_code == 409 and other.data["error"]["code"] == "idempotency_key_reused"


def test_a_retry_with_another_multipart_boundary_is_the_same_request(world, amos, vendor_a):
    """Clients pick a new boundary per request: the upload is compared by its fields and
    its file's name and content, not by the raw bytes."""
    from django.test import Client
    from django.test.client import encode_multipart

    secret = token_for(amos, vendor=vendor_a)
    answers = []
    for boundary in ("first-boundary", "second-boundary"):
        body = encode_multipart(boundary, {"file": pdf("cert.pdf"), "kind": "certificate"})
        answers.append(
            Client().post(
                f"{BASE}{_files(world)}",
                body,
                content_type=f"multipart/form-data; boundary={boundary}",
                HTTP_AUTHORIZATION=f"Bearer {secret}",
                HTTP_IDEMPOTENCY_KEY="boundary-1",
            )
        )
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert Attachment.objects.filter(original_name="cert.pdf").count() == 1


def test_a_new_version_supersedes_the_listed_one(world, as_amos):
    for _ in range(2):
        assert (
            as_amos.upload(
                _files(world), {"file": pdf("cert.pdf"), "kind": "certificate", "line_number": 10}
            ).status_code
            == 201
        )
    listed = [f for f in as_amos.get(_files(world)).data["items"] if f["name"] == "cert.pdf"]
    assert [(f["version"], f["superseded"], f["line_number"]) for f in listed] == [
        (1, True, 10),
        (2, False, 10),
    ]


def test_another_vendors_token_gets_404_and_writes_nothing(world, as_amos, as_bob):
    shared = world["file"]
    assert as_amos.get(f"/attachments/{shared.public_id}").status_code == 200
    assert as_bob.get(f"/attachments/{shared.public_id}").status_code == 404
    assert as_bob.get(_files(world)).status_code == 404
    count = Attachment.objects.count()
    refused = as_bob.upload(_files(world), {"file": pdf(), "kind": "certificate"})
    assert refused.status_code == 404 and Attachment.objects.count() == count
    # ...and vendor B's own list holds only vendor B's file.
    b_files = as_bob.get(f"/orders/{world['b_order'].number}/attachments").data["items"]
    assert [f["name"] for f in b_files] == ["SENTINEL-B-FILE.txt"]


def test_a_supplier_token_never_sees_a_buyers_internal_file(world, as_amos, as_erp):
    internal = as_erp.upload(
        _files(world), {"file": pdf("margins.pdf"), "kind": "other", "visibility": "internal"}
    )
    assert internal.status_code == 201 and internal.data["visibility"] == "internal"
    assert "margins.pdf" in {f["name"] for f in as_erp.get(_files(world)).data["items"]}
    names = {f["name"] for f in as_amos.get(_files(world)).data["items"]}
    assert "margins.pdf" not in names and "SENTINEL-FILE-INTERNAL.txt" not in names
    assert "assembly-notes.txt" in names
    assert as_amos.get(f"/attachments/{internal.data['id']}").status_code == 404
    assert as_erp.get(f"/attachments/{internal.data['id']}").status_code == 200


def test_a_supplier_cannot_keep_a_file_internal(world, as_amos):
    count = Attachment.objects.count()
    refused = as_amos.upload(
        _files(world), {"file": pdf(), "kind": "certificate", "visibility": "internal"}
    )
    assert refused.status_code == 400
    assert refused.data["error"]["details"]["field"] == "visibility"
    assert refused.data["error"]["message"] == (
        "visibility: only buyers can keep a file internal; a supplier's files are shared."
    )
    assert Attachment.objects.count() == count


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "drawing.pdf",
            EXE,
            "file: not an allowed type (looks like a Windows executable). Allowed: PDF, PNG, "
            "JPEG, TIFF, text or CSV, DXF, STEP, Word (docx) and Excel (xlsx).",
        ),
        (
            "drawing.png",
            PDF,
            "file: the content is a PDF document but the name ends in '.png'; name it .pdf.",
        ),
        ("empty.pdf", b"", "file: the file is empty (0 bytes)."),
    ],
)
def test_a_refused_file_is_named_and_leaves_nothing(world, as_amos, name, content, message):
    rows, files = Attachment.objects.count(), stored_files()
    refused = as_amos.upload(_files(world), {"file": pdf(name, content), "kind": "certificate"})
    assert refused.status_code == 400, refused.data
    assert refused.data["error"]["message"] == message
    assert refused.data["error"]["details"]["field"] == "file"
    assert Attachment.objects.count() == rows and stored_files() == files


def test_a_file_over_the_limit_is_413_naming_the_file(world, as_amos, settings):
    settings.ATTACHMENT_MAX_MB = 1
    rows, files = Attachment.objects.count(), stored_files()
    big = PDF + b"%" * (1024 * 1024)
    refused = as_amos.upload(_files(world), {"file": pdf("big.pdf", big), "kind": "certificate"})
    assert refused.status_code == 413
    assert refused.data["error"]["message"] == (
        "file: larger than the 1 MB limit for attachments; send a smaller file."
    )
    assert refused.data["error"]["details"]["field"] == "file"
    assert Attachment.objects.count() == rows and stored_files() == files


def test_a_read_only_token_reads_files_but_never_uploads(world, amos, vendor_a):
    read_only = Api(token_for(amos, vendor=vendor_a, read_only=True))
    assert read_only.get(_files(world)).status_code == 200
    count = Attachment.objects.count()
    refused = read_only.upload(_files(world), {"file": pdf(), "kind": "certificate"})
    assert refused.status_code == 403 and refused.data["error"]["code"] == "read_only"
    assert Attachment.objects.count() == count


def test_a_line_the_order_does_not_have_is_named(world, as_amos):
    refused = as_amos.upload(
        _files(world), {"file": pdf(), "kind": "certificate", "line_number": 99}
    )
    assert refused.status_code == 400
    assert refused.data["error"]["details"]["field"] == "line_number"


def test_buyers_attach_to_orders_not_to_ship_notices_or_invoices(world, as_erp, as_amos):
    invoice = world["invoice"]
    refused = as_erp.upload(
        f"/invoices/{invoice.pk}/attachments", {"file": pdf(), "kind": "invoice_pdf"}
    )
    assert refused.status_code == 403 and refused.data["error"]["code"] == "forbidden"
    assert not Attachment.objects.filter(invoice=invoice).exists()
    order = world["order"]
    delivery = order.deliveries.filter(status="open").select_related("line").first()
    notice = as_amos.post(
        "/ship-notices",
        {
            "order_number": order.number,
            "expected_date": "2026-12-04",
            "lines": [{"line_number": delivery.line.line_number, "quantity": "1"}],
        },
    ).data
    refused = as_erp.upload(
        f"/ship-notices/{notice['id']}/attachments", {"file": pdf(), "kind": "certificate"}
    )
    assert refused.status_code == 403
    assert not Attachment.objects.filter(ship_notice_id=notice["id"]).exists()


def test_the_schema_names_every_kind_and_documents_the_upload_and_the_download():
    assert set(get_args(api_attachments.KINDS)) == set(AttachmentKind.values)
    from tests.test_api import schema

    paths = schema()["paths"]
    upload = paths["/api/v1/orders/{number}/attachments"]["post"]["requestBody"]["content"]
    form = upload["multipart/form-data"]["schema"]
    assert form["properties"]["file"]["format"] == "binary"
    assert set(form["required"]) == {"file", "kind"}
    download = paths["/api/v1/attachments/{public_id}"]["get"]["responses"]["200"]
    assert "application/pdf" in download["content"]
    assert "application/json" not in download["content"]
    assert {"Content-Disposition", "X-Content-Type-Options"} <= set(download["headers"])
