"""The order as a PDF (purchasing/pdf.py): rendered through the views of both sides, read
back with pypdf, and checked number by number; earlier revisions as they were; no internal
field and nothing of another vendor in it."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from tests.factories import ItemFactory, UserFactory, VendorFactory, make_order
from vendorportal.accounts.models import Role
from vendorportal.collaboration import services as collaboration
from vendorportal.purchasing import pdf, services

pytestmark = pytest.mark.django_db
D = Decimal
SENTINEL = "PDF-INTERNAL-SENTINEL"


def read(response) -> str:
    """The PDF's text, every page, with every run of white space (pypdf puts each drawn
    string on a line of its own) made one space."""
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split())


@pytest.fixture
def order(vendor_a, buyer):
    vendor_a.address = "Industriestraße 7\n70173 Stuttgart"
    vendor_a.save()
    order = services.order_create(
        vendor=vendor_a,
        by=buyer,
        number="PO-PDF-1",
        order_date=dt.date(2026, 11, 20),
        currency="EUR",
        payment_terms="Net 45",
        incoterms="DAP Stuttgart",
        ship_to="Dock 4\nWerkstraße 1, Ulm",
        notes_to_vendor="Quote the order number on every box.",
        lines=[
            services.LineInput(
                item=ItemFactory(part_number="BRK-100"),
                description="Motor bracket",
                vendor_part_number="AC-7781",
                quantity=D("1200"),
                unit_price=D("2.5"),
                deliveries=[
                    services.DeliveryInput(D("700"), dt.date(2026, 12, 15)),
                    services.DeliveryInput(D("500"), dt.date(2027, 1, 12)),
                ],
            ),
            services.LineInput(
                item=ItemFactory(part_number="NUT-8"),
                description="Hex nut M8",
                quantity=D("10.5"),
                unit_price=D("0.1234"),
                unit_of_measure="KG",
                due_date=dt.date(2026, 12, 20),
            ),
        ],
    )
    return services.order_issue(order=order, by=buyer)


def revise(order, buyer):
    services.order_revise(
        order=order,
        by=buyer,
        reason="New price from January",
        changes=[
            services.SetLine(line=10, field="unit_price", value=D("2.75")),
            services.SetDelivery(line=10, delivery=2, field="due_date", value=dt.date(2027, 1, 19)),
        ],
    )
    order.refresh_from_db()
    return order


def test_both_sides_download_the_current_revision_with_its_numbers(
    client, order, buyer, amos, settings
):
    settings.BUYER_COMPANY_NAME = "Northwind Machines GmbH"
    settings.BUYER_COMPANY_ADDRESS = "Hafenweg 3|20457 Hamburg"
    order = revise(order, buyer)
    delivery = order.deliveries.get(line__line_number=10, delivery_number=1)
    collaboration.delivery_confirm(delivery=delivery, by=amos)
    for user, side in ((amos, "portal"), (buyer, "buying")):
        client.force_login(user)
        response = client.get(f"/{side}/orders/PO-PDF-1/pdf")
        assert response["Content-Disposition"] == 'attachment; filename="PO-PO-PDF-1-rev2.pdf"'
        assert response["X-Content-Type-Options"] == "nosniff"
        text = read(response)
        for expected in (
            "PURCHASE ORDER",
            "PO-PDF-1",
            "Revision 2 ·",
            "Order date 20 Nov 2026",
            "Currency EUR",
            "Payment terms Net 45",
            "Incoterms DAP Stuttgart",
            "Northwind Machines GmbH",
            "Hafenweg 3",
            "Acme Components",
            "Industriestraße 7",
            "Dock 4",
            "Bea",  # the buyer, as the order page names them
            "Reason for this revision: New price from January",
            "BRK-100",
            "AC-7781",
            "Motor bracket",
            "1,200",  # quantity, no trailing zeros
            "2.75",  # unit price, to the currency's places
            "3,300.00",  # 1,200 x 2.75
            "10.5",
            "0.1234",  # a price with more places keeps them
            # 10.5 x 0.1234 = 1.2957: an amount keeps a price's further places, as on the
            # order page (web/formatting.py's money)
            "10.5 KG 0.1234 1.2957",
            "Delivery Due date Promised date",
            "Delivery 1 15 Dec 2026 15 Dec 2026 700 EA",
            "Delivery 2 19 Jan 2027 500 EA",
            "Delivery 1 20 Dec 2026 10.5 KG",
            "Total (EUR) 3,301.2957",
            "Notes to the supplier",
            "Quote the order number on every box.",
            "Page 1 of 1",
        ):
            assert expected in text, (expected, text)
        assert "DRAFT" not in text and "2.50" not in text
        client.logout()


def test_an_earlier_revision_renders_as_it_was(client, order, buyer, amos):
    order = revise(order, buyer)
    delivery = order.deliveries.get(line__line_number=10, delivery_number=1)
    collaboration.delivery_confirm(delivery=delivery, by=amos)
    client.force_login(amos)
    response = client.get("/portal/orders/PO-PDF-1/pdf?revision=1")
    assert response["Content-Disposition"] == 'attachment; filename="PO-PO-PDF-1-rev1.pdf"'
    text = read(response)
    assert "Revision 1 as it was issued; the current revision is 2." in text
    assert "Revision 1 ·" in text
    assert "3,000.00" in text and "2.50" in text  # 1,200 x 2.50, the price then
    assert "Delivery 2 12 Jan 2027 500" in text
    assert "Delivery 1 15 Dec 2026 700" in text  # no promise shown for an earlier revision
    assert "Promised dates are the supplier's confirmations of the current revision" in text
    assert "Total (EUR) 3,001.2957" in text
    assert "2.75" not in text and "19 Jan 2027" not in text
    assert "New price from January" not in text  # revision 2's reason
    assert "Reason for this revision: Issued" in text
    # The current revision through ?revision= too, the same as without it.
    assert "3,300.00" in read(client.get("/portal/orders/PO-PDF-1/pdf?revision=2"))


@pytest.mark.parametrize("wanted", ["3", "0", "-1", "abc", "1.0", "99999999999999999999"])
def test_an_unknown_revision_is_404(client, order, buyer, amos, wanted):
    for user, side in ((amos, "portal"), (buyer, "buying")):
        client.force_login(user)
        assert client.get(f"/{side}/orders/PO-PDF-1/pdf?revision={wanted}").status_code == 404


def test_a_draft_is_404_to_the_supplier_and_marked_draft_for_the_buyer(
    client, vendor_a, buyer, amos
):
    draft = make_order(vendor=vendor_a, by=buyer, issue=False, lines=[("5", "3")])
    client.force_login(amos)
    assert client.get(f"/portal/orders/{draft.number}/pdf").status_code == 404
    client.force_login(buyer)
    response = client.get(f"/buying/orders/{draft.number}/pdf")
    assert response["Content-Disposition"] == f'attachment; filename="PO-{draft.number}-draft.pdf"'
    text = read(response)
    assert "DRAFT — not issued" in text
    assert "Total (USD) 15.00" in text
    assert client.get(f"/buying/orders/{draft.number}/pdf?revision=1").status_code == 404


def test_another_vendors_order_is_404(client, order, bob, vendor_b, buyer):
    client.force_login(bob)
    assert client.get("/portal/orders/PO-PDF-1/pdf").status_code == 404
    assert client.get("/portal/orders/PO-PDF-1/pdf?revision=1").status_code == 404
    assert client.get("/portal/orders/NO-SUCH-PO/pdf").status_code == 404
    # A vendor login has no buying side at all.
    assert client.get("/buying/orders/PO-PDF-1/pdf").status_code == 404
    # Bob's own order renders for him.
    own = make_order(vendor=vendor_b, by=buyer)
    assert "Bolt Fasteners" in read(client.get(f"/portal/orders/{own.number}/pdf"))


def test_no_internal_field_reaches_the_pdf(client, vendor_a, buyer, amos):
    vendor_a.internal_notes = f"{SENTINEL} vendor"
    vendor_a.rating = 1
    vendor_a.save()
    item = ItemFactory(part_number="SENT-1", standard_cost=D("98765.4321"))
    order = services.order_create(
        vendor=vendor_a,
        by=buyer,
        internal_notes=f"{SENTINEL} order",
        notes_to_vendor="Shared note",
        lines=[
            services.LineInput(
                item=item,
                quantity=D("3"),
                unit_price=D("4"),
                due_date=dt.date(2026, 12, 15),
                internal_notes=f"{SENTINEL} line",
            )
        ],
    )
    order = services.order_issue(order=order, by=buyer)
    services.order_revise(
        order=order,
        by=buyer,
        reason="Internal only",
        changes=[services.SetHeader("internal_notes", f"{SENTINEL} order again")],
    )
    collaboration.comment_add(order=order, by=buyer, body=f"{SENTINEL} comment", internal=True)
    for user, side in ((amos, "portal"), (buyer, "buying")):
        client.force_login(user)
        text = read(client.get(f"/{side}/orders/{order.number}/pdf"))
        assert "Shared note" in text and "SENT-1" in text
        assert SENTINEL not in text
        assert "98,765" not in text and "98765" not in text
        raw = client.get(f"/{side}/orders/{order.number}/pdf").content
        assert SENTINEL.encode() not in raw  # not in the metadata either


def test_any_unicode_renders(client, buyer, amos):
    vendor = amos.vendor
    vendor.name = "Müller Präzision — Завод №1"
    vendor.address = "Ringstraße 5\n上海市浦东新区\n서울 강남구"
    vendor.save()
    order = services.order_create(
        vendor=vendor,
        by=buyer,
        currency="JPY",
        ship_to="Εργοστάσιο 2\n\u0634\u0627\u0631\u0639 9",  # Arabic: "street"
        notes_to_vendor="Bitte Lieferschein beilegen. 请附上装箱单。\u200b\u202eend\tnote 🔩",
        lines=[
            services.LineInput(
                description="六角螺栓 M8\u00d730 (ねじ), Schraube Größe ½ — 볼트 🔩",
                quantity=D("1000"),
                unit_price=D("12"),
                due_date=dt.date(2026, 12, 15),
            )
        ],
    )
    order = services.order_issue(order=order, by=buyer)
    client.force_login(amos)
    text = read(client.get(f"/portal/orders/{order.number}/pdf"))
    for expected in (
        "Müller Präzision — Завод №1",
        "Ringstraße 5",
        "上海市浦东新区",
        "서울 강남구",
        "Εργοστάσιο 2",
        "六角螺栓",
        "ねじ",
        "Größe ½",
        "볼트",
        "请附上装箱单。",
        "12,000",  # JPY: no decimals
        "Total (JPY) 12,000",
    ):
        assert expected in text, (expected, text)


def test_a_long_blanket_order_breaks_into_pages(client, vendor_a, buyer, amos):
    order = services.order_create(
        vendor=vendor_a,
        by=buyer,
        kind="blanket",
        valid_from=dt.date(2027, 1, 1),
        valid_to=dt.date(2027, 12, 31),
        lines=[
            services.LineInput(
                item=ItemFactory(),
                description=f"Part {n} " + "with a long description " * 4,
                quantity=D("1000"),
                unit_price=D("1.5"),
            )
            for n in range(1, 61)
        ],
    )
    order = services.order_issue(order=order, by=buyer)
    services.release_add(
        line=order.lines.get(line_number=10),
        quantity=D("100"),
        due_date=dt.date(2027, 2, 1),
        by=buyer,
    )
    client.force_login(amos)
    response = client.get(f"/portal/orders/{order.number}/pdf")
    pages = len(PdfReader(io.BytesIO(response.content)).pages)
    assert pages > 1
    text = read(response)
    assert "BLANKET PURCHASE ORDER" in text
    assert "Valid 1 Jan 2027 to 31 Dec 2027" in text
    assert "Release 1 1 Feb 2027 100" in text
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    assert "(continued)" in text
    assert "Committed value (USD) 90,000.00" in text  # 60 x 1,000 x 1.50


def test_the_order_page_and_the_comparison_link_to_the_pdf(client, order, buyer, amos):
    revise(order, buyer)
    client.force_login(amos)
    page = client.get("/portal/orders/PO-PDF-1/").content.decode()
    assert 'href="/portal/orders/PO-PDF-1/pdf"' in page
    page = client.get("/portal/orders/PO-PDF-1/changes/?from=0&to=2").content.decode()
    assert 'href="/portal/orders/PO-PDF-1/pdf?revision=2"' in page
    assert 'href="/portal/orders/PO-PDF-1/pdf?revision=1"' in page


def test_text_helpers_never_fail_and_wrap_within_the_width():
    pdf.register_fonts()
    text = "Größe 六角螺栓 🔩 \x00\u200b x" + "W" * 80
    for bold in (False, True):
        runs = pdf.text_runs(pdf.clean(text), bold)
        assert "".join(part for _, part in runs).startswith("Größe 六角螺栓 ? ")
        assert {font for font, _ in runs} >= {pdf.CJK}
        lines = pdf.wrap(text, 100, 8, bold)
        assert all(pdf.text_width(line, 8, bold) <= 100 for line in lines)
        assert "".join(lines).replace(" ", "") == pdf.clean(text).replace(" ", "").replace(
            "\x00", ""
        )


def test_a_number_from_before_the_identifier_rule_gives_a_safe_file_name(buyer):
    vendor = VendorFactory(code="OLD")
    order = make_order(vendor=vendor, by=buyer)
    # A row from before the rule (the back door the converters' docstring names).
    type(order).objects.filter(pk=order.pk).update(number='OLD "1"\r\n/2')
    order.refresh_from_db()
    revision = order.revisions.get()
    filename, content = pdf.order_pdf(order, revision)
    assert filename == "PO-OLD__1____2-rev1.pdf"
    assert content.startswith(b"%PDF")


def test_a_buyer_without_a_name_and_an_order_without_a_buyer_render(client, vendor_a, amos):
    anonymous_buyer = UserFactory(email="ops@example.com", role=Role.BUYER)
    order = make_order(vendor=vendor_a, by=anonymous_buyer)
    type(order).objects.filter(pk=order.pk).update(buyer=None)
    client.force_login(amos)
    assert "Total (USD) 250.00" in read(client.get(f"/portal/orders/{order.number}/pdf"))
