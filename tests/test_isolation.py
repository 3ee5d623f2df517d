"""The isolation rule: a supplier sees only its own vendor's data and no internal field.

Personas: buyer; alice (vendor A admin) and amos (vendor A user); bob (vendor B user).
Every vendor-facing URL is requested by bob with vendor A's objects (404, like a missing
object), and every response to a vendor user is searched for sentinel strings planted in
internal fields and in vendor B's records.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, get_resolver

from tests.factories import ItemFactory, make_order
from vendorportal.collaboration import attachments
from vendorportal.collaboration import services as collaboration
from vendorportal.purchasing import services
from vendorportal.purchasing.models import Vendor

pytestmark = pytest.mark.django_db
D = Decimal

SENTINELS = (
    "SENTINEL-ORDER-INTERNAL",
    "SENTINEL-LINE-INTERNAL",
    "SENTINEL-VENDOR-INTERNAL",
    "SENTINEL-COMMENT-INTERNAL",
    "SENTINEL-B-DESCRIPTION",
    "SENTINEL-B-NOTES",
    "SENTINEL-B-COMMENT",
    "987654.3210",
    "987,654.321",
    "PO-B-777",
    "INV-B-1",
    "SENTINEL-FILE-INTERNAL",
    "SENTINEL-B-FILE",
)


@pytest.fixture
def world(vendor_a: Vendor, vendor_b: Vendor, buyer, alice, amos, bob):
    """Vendor A's order with everything on it, and vendor B's with sentinels."""
    vendor_a.internal_notes = "SENTINEL-VENDOR-INTERNAL"
    vendor_a.rating = 2
    vendor_a.save()
    secret_item = ItemFactory(part_number="SECRET-COST", standard_cost=D("987654.321"))
    order = services.order_create(
        vendor=vendor_a,
        by=buyer,
        number="PO-A-100",
        internal_notes="SENTINEL-ORDER-INTERNAL",
        notes_to_vendor="Please label every box",
        lines=[
            services.LineInput(
                item=secret_item,
                quantity=D("100"),
                unit_price=D("2.5"),
                due_date=dt.date(2026, 12, 15),
                internal_notes="SENTINEL-LINE-INTERNAL",
            ),
            services.LineInput(
                item=ItemFactory(),
                quantity=D("10"),
                unit_price=D("9"),
                due_date=dt.date(2026, 12, 20),
            ),
        ],
    )
    services.order_issue(order=order, by=buyer)
    blanket = make_order(
        vendor=vendor_a, by=buyer, kind="blanket", lines=[("1000", "1")], number="PO-A-200"
    )
    services.release_add(
        line=blanket.lines.get(), quantity=D("100"), due_date=dt.date(2026, 12, 1), by=buyer
    )
    delivery = order.deliveries.get(line__line_number=10)
    receipt = services.receipt_record(
        order=order, by=buyer, lines=[services.ReceiptLineInput(delivery, D("40"))]
    )
    invoice = services.invoice_record(
        vendor=vendor_a,
        number="INV-A-1",
        by=buyer,
        lines=[services.InvoiceLineInput(order.lines.get(line_number=10), D("40"), D("2.6"))],
    )
    proposal = collaboration.proposal_create(
        order=order,
        line=delivery.line,
        delivery=delivery,
        by=amos,
        due_date=dt.date(2026, 12, 29),
        reason="Holiday shutdown",
    )
    collaboration.comment_add(order=order, by=amos, body="Shared question")
    collaboration.comment_add(
        order=order, by=buyer, body="SENTINEL-COMMENT-INTERNAL", internal=True
    )
    draft = make_order(vendor=vendor_a, by=buyer, issue=False, number="PO-A-DRAFT")

    b_order = services.order_create(
        vendor=vendor_b,
        by=buyer,
        number="PO-B-777",
        notes_to_vendor="SENTINEL-B-NOTES",
        lines=[
            services.LineInput(
                item=ItemFactory(),
                quantity=D("5"),
                unit_price=D("3"),
                description="SENTINEL-B-DESCRIPTION",
                due_date=dt.date(2026, 12, 10),
            )
        ],
    )
    services.order_issue(order=b_order, by=buyer)
    services.invoice_record(
        vendor=vendor_b,
        number="INV-B-1",
        by=buyer,
        lines=[services.InvoiceLineInput(b_order.lines.get(), D("1"), D("3"))],
    )
    collaboration.comment_add(order=b_order, by=bob, body="SENTINEL-B-COMMENT")
    # Files: vendor A's shared one, a buyers-only one on the same order, vendor B's.
    shared_file = attachments.attachment_add(
        target=order.lines.get(line_number=10),
        upload=ContentFile(b"Torque to 25 Nm.\n", name="assembly-notes.txt"),
        kind="specification",
        by=buyer,
    )
    attachments.attachment_add(
        target=order,
        upload=ContentFile(b"margin\n", name="SENTINEL-FILE-INTERNAL.txt"),
        kind="other",
        by=buyer,
        visibility="internal",
    )
    attachments.attachment_add(
        target=b_order,
        upload=ContentFile(b"b\n", name="SENTINEL-B-FILE.txt"),
        kind="certificate",
        by=bob,
    )
    return {
        "file": shared_file,
        "order": order,
        "blanket": blanket,
        "delivery": delivery,
        "receipt": receipt,
        "invoice": invoice,
        "proposal": proposal,
        "draft": draft,
        "b_order": b_order,
    }


def vendor_a_get_urls(w) -> list[str]:
    n = w["order"].number
    return [
        f"/portal/orders/{n}/",
        f"/portal/orders/{n}/changes/",
        f"/portal/orders/{n}/changes/?from=0&to=1",
        f"/portal/orders/{n}/propose?delivery={w['delivery'].pk}",
        f"/portal/orders/{n}/propose?line=10",
        f"/portal/orders/{w['blanket'].number}/",
        f"/portal/invoices/{w['invoice'].pk}/",
        f"/portal/files/{w['file'].public_id}/",
    ]


def vendor_a_post_urls(w) -> list[tuple[str, dict]]:
    n = w["order"].number
    return [
        (f"/portal/orders/{n}/acknowledge", {"revision": 1, "response": "accepted"}),
        (
            f"/portal/orders/{n}/propose",
            {"delivery": w["delivery"].pk, "reason": "x", "due_date": "2027-01-05"},
        ),
        (f"/portal/orders/{n}/comments", {"body": "hello"}),
        (f"/portal/orders/{n}/deliveries/{w['delivery'].pk}/confirm", {}),
        (f"/portal/orders/{n}/proposals/{w['proposal'].pk}/withdraw", {}),
        (f"/portal/orders/{n}/attachments", {"kind": "certificate"}),
        (f"/portal/invoices/{w['invoice'].pk}/attachments", {"kind": "invoice_pdf"}),
        (f"/portal/files/{w['file'].public_id}/delete", {}),
    ]


def test_other_vendor_gets_404_on_every_vendor_a_url(client, world, bob):
    client.force_login(bob)
    for url in vendor_a_get_urls(world):
        assert client.get(url).status_code == 404, url
    for url, data in vendor_a_post_urls(world):
        assert client.post(url, data).status_code == 404, url
    # Vendor A's objects reached through bob's own order are not found either.
    own = world["b_order"].number
    assert (
        client.get(f"/portal/orders/{own}/propose?delivery={world['delivery'].pk}").status_code
        == 404
    )
    assert (
        client.post(f"/portal/orders/{own}/proposals/{world['proposal'].pk}/withdraw").status_code
        == 404
    )
    # Nothing bob tried was stored.
    world["proposal"].refresh_from_db()
    assert world["proposal"].status == "pending"
    assert not world["order"].acknowledgements.exists()
    assert world["order"].comments.count() == 2


def test_missing_and_foreign_look_the_same(client, world, bob):
    client.force_login(bob)
    foreign = client.get(f"/portal/orders/{world['order'].number}/")
    missing = client.get("/portal/orders/PO-DOES-NOT-EXIST/")
    assert foreign.status_code == missing.status_code == 404
    # Identical but for the CSRF token of the logout form, which is masked anew per response.
    token = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    assert token.sub(b"", foreign.content) == token.sub(b"", missing.content)


def test_drafts_are_invisible_to_the_supplier(client, world, amos):
    client.force_login(amos)
    assert client.get(f"/portal/orders/{world['draft'].number}/").status_code == 404
    assert world["draft"].number not in client.get("/portal/orders/?show=all").content.decode()


def test_a_shared_comment_on_a_draft_is_not_announced_to_the_supplier(world, buyer, amos):
    """The draft's number must not reach the supplier through the event log (API, stream)."""
    from vendorportal.purchasing import access

    collaboration.comment_add(order=world["draft"], by=buyer, body="Before we issue this")
    with access.scope_for(amos) as viewer:
        assert viewer is not None
        orders_announced = set(access.events(viewer).values_list("order__number", flat=True))
    assert world["order"].number in orders_announced
    assert world["draft"].number not in orders_announced
    assert world["draft"].events.filter(kind="comment.added", internal=False).count() == 0


def all_vendor_a_pages(w) -> list[str]:
    return [
        "/portal/",
        "/portal/open-lines/",
        "/portal/open-lines/?q=PO",
        "/portal/open-lines.csv",
        "/portal/open-lines.xlsx",
        "/portal/orders/",
        "/portal/orders/?show=all",
        "/portal/receipts/",
        "/portal/invoices/",
        "/portal/invoices/?show=all",
        *vendor_a_get_urls(w),
    ]


def response_text(response) -> str:
    if response.streaming:  # a downloaded file
        return b"".join(response.streaming_content).decode("utf-8-sig")
    if response["Content-Type"].startswith("application/vnd.openxmlformats"):
        import io

        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(response.content)).active
        return "\n".join(str(c.value) for row in sheet.iter_rows() for c in row)
    return response.content.decode("utf-8-sig")


@pytest.mark.parametrize("persona", ["alice", "amos"])
def test_no_sentinel_reaches_a_vendor_user(client, world, persona, request):
    client.force_login(request.getfixturevalue(persona))
    for url in all_vendor_a_pages(world):
        response = client.get(url)
        assert response.status_code == 200, url
        text = response_text(response)
        for sentinel in SENTINELS:
            assert sentinel not in text, f"{sentinel} leaked in {url}"


def test_vendor_a_lists_and_exports_hold_only_vendor_a_rows(client, world, amos):
    client.force_login(amos)
    csv_rows = response_text(client.get("/portal/open-lines.csv")).strip().splitlines()[1:]
    assert csv_rows and all(row.startswith(("PO-A-100", "PO-A-200")) for row in csv_rows)
    page = client.get("/portal/open-lines/").content.decode()
    assert page.count('<tr id="delivery-') == len(csv_rows) == 3
    orders = client.get("/portal/orders/?show=all").content.decode()
    assert "PO-A-100" in orders and "PO-B-777" not in orders
    invoices = client.get("/portal/invoices/?show=all").content.decode()
    assert "INV-A-1" in invoices and "INV-B-1" not in invoices


def test_the_buyer_sees_internal_fields(client, world, buyer):
    client.force_login(buyer)
    page = client.get(f"/buying/orders/{world['order'].number}/").content.decode()
    assert "SENTINEL-ORDER-INTERNAL" in page
    assert "SENTINEL-COMMENT-INTERNAL" in page
    assert "PO-B-777" in client.get("/buying/orders/").content.decode()


def test_each_side_is_closed_to_the_other(client, world, buyer, amos):
    client.force_login(amos)
    assert client.get("/buying/").status_code == 404
    assert client.get(f"/buying/orders/{world['order'].number}/").status_code == 404
    # The audit trail is for buyers only (tests/test_audit.py searches it).
    assert client.get("/buying/audit/").status_code == 404
    client.force_login(buyer)
    assert client.get("/portal/").status_code == 404


def test_anonymous_is_sent_to_login(client, world):
    for url in [
        "/portal/",
        "/portal/open-lines.csv",
        "/buying/",
        "/buying/audit/",
        f"/portal/orders/{world['order'].number}/",
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_every_portal_url_is_covered_here():
    """A new portal route must be added to the ownership tests above."""
    covered = {
        "home",
        "open-lines",
        "open-lines-csv",
        "open-lines-xlsx",
        "orders",
        "order-detail",
        "revision-compare",
        # The order as a PDF: tests/test_order_pdf.py (another vendor's order 404, no
        # internal field in the text).
        "order-pdf",
        "order-acknowledge",
        "order-propose",
        "order-comment",
        "delivery-confirm",
        "proposal-withdraw",
        "receipts",
        "invoices",
        "invoice-detail",
        # Invoices from the order: tests/test_supplier_invoices.py (another vendor's order,
        # invoice, withdrawal and credit note 404; the API in test_api.py).
        "order-invoice",
        "invoice-withdraw",
        "credit-note-new",
        # Ship notices: tests/test_ship_notice_screens.py (another vendor's notice and its
        # actions 404, its list holds none of them; the API in test_api_ship_notices.py).
        "ship-notice-new",
        "ship-notices",
        "ship-notice-detail",
        # Its packing slip (PDF): tests/test_packing_slip.py (another vendor's notice 404,
        # no internal field nor anything of another vendor in the text).
        "ship-notice-packing-slip",
        "ship-notice-edit",
        # Attachments: vendor A's file, its upload forms and delete are requested by bob
        # above (404); tests/test_attachments.py (internal files, deleted files, uploads).
        "order-attachment-add",
        "ship-notice-attachment-add",
        "invoice-attachment-add",
        "attachment-download",
        "attachment-delete",
        "ship-notice-submit",
        "ship-notice-cancel",
        # The live stream: tests/test_live.py (each vendor receives only its own events,
        # never internal ones; the wrong side gets 404, anonymous 403).
        "events",
        # The vendor admin's API tokens: tests/test_api.py (TestTokensPage).
        "api-tokens",
        "api-token-create",
        "api-token-revoke",
        # The vendor admin's team pages: their ownership tests are in test_accounts.py
        # (TestTeamPage: another vendor's login or invitation, a non-admin, a buyer).
        "team:members",
        "team:invite",
        "team:deactivate",
        "team:reactivate",
        "team:invitation-revoke",
        "team:accept",
        # The vendor's two-factor requirement: it takes no id (the vendor is the login's);
        # test_account_security.py (only the vendor's own admin), test_authz_matrix.py and
        # test_mass_assignment.py.
        "team:mfa",
    }
    resolver = get_resolver()
    portal = next(p for p in resolver.url_patterns if getattr(p, "namespace", None) == "portal")
    names = set()
    for pattern in portal.url_patterns:
        if isinstance(pattern, URLPattern):
            names.add(pattern.name)
        else:  # an included module (the vendor admin's team pages)
            names.update(f"team:{p.name}" for p in pattern.url_patterns)
    missing = names - covered
    assert not missing, f"portal routes without an ownership test: {missing}"
