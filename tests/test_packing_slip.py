"""The packing slip a supplier prints from a ship notice (purchasing/pdf.py): rendered
through the views of both sides, read back with pypdf; its barcodes decoded from the bars
as drawn; drafts and cancelled notices marked; long notices over several pages; another
vendor's notice 404 and no internal field in it."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader
from reportlab.graphics.barcode.code128 import _patterns

from tests.factories import ItemFactory, make_order
from vendorportal.purchasing import pdf, services

pytestmark = pytest.mark.django_db
D = Decimal
SENTINEL = "SLIP-INTERNAL-SENTINEL"


def read(content: bytes) -> tuple[int, str]:
    """(pages, text of every page with each run of white space made one space)."""
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), " ".join(text.split())


def download(client, url: str) -> tuple[int, str]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment; ")
    return read(response.content)


def announce(order, by, quantities, *, submit=True, **details):
    """A notice on `order` of {(line number, delivery number): quantity}."""
    deliveries = {
        (d.line.line_number, d.delivery_number): d for d in order.deliveries.select_related("line")
    }
    return services.ship_notice_create(
        order=order,
        by=by,
        submit=submit,
        lines=[
            services.ShipNoticeLineInput(deliveries[key], D(quantity))
            for key, quantity in quantities.items()
        ],
        **{"ship_date": dt.date(2026, 12, 1), "expected_date": dt.date(2026, 12, 4), **details},
    )


@pytest.fixture
def order(vendor_a, buyer):
    vendor_a.address = "Industriestraße 7\n70173 Stuttgart"
    vendor_a.internal_notes = f"{SENTINEL} vendor"
    vendor_a.save()
    order = services.order_create(
        vendor=vendor_a,
        by=buyer,
        number="PO-SLIP-1",
        ship_to="Dock 4\nWerkstraße 1, Ulm",
        internal_notes=f"{SENTINEL} order",
        lines=[
            services.LineInput(
                item=ItemFactory(part_number="BRK-100", standard_cost=D("98765.4321")),
                description="Motor bracket",
                vendor_part_number="AC-7781",
                quantity=D("1200"),
                unit_price=D("2.5"),
                internal_notes=f"{SENTINEL} line",
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


@pytest.fixture
def notice(order, amos):
    return announce(
        order,
        amos,
        {(10, 1): "700", (10, 2): "250", (20, 1): "2.5"},
        carrier="DHL Freight",
        tracking_number="JD014600003",
        packing_slip="PS-77",
        note="Two pallets, stacked.",
    )


def test_both_sides_download_the_slip_with_its_facts_and_lines(
    client, notice, amos, buyer, settings
):
    settings.BUYER_COMPANY_NAME = "Northwind Machines GmbH"
    settings.BUYER_COMPANY_ADDRESS = "Hafenweg 3|20457 Hamburg"
    for user, side in ((amos, "portal"), (buyer, "buying")):
        client.force_login(user)
        url = f"/{side}/ship-notices/{notice.pk}/packing-slip.pdf"
        response = client.get(url)
        assert response["Content-Disposition"] == (
            f'attachment; filename="{notice.number}-packing-slip.pdf"'
        )
        assert response["X-Content-Type-Options"] == "nosniff"
        pages, text = download(client, url)
        assert pages == 1
        for expected in (
            "PACKING SLIP",
            f"Ship notice {notice.number}",
            "Purchase order PO-SLIP-1",
            "Ship date 1 Dec 2026",
            "Expected arrival 4 Dec 2026",
            "Carrier DHL Freight",
            "Tracking number JD014600003",
            "Packing slip no. PS-77",
            "Acme Components",
            "Supplier no. ACME",
            "Industriestraße 7",
            "Northwind Machines GmbH",
            "Dock 4",  # the order's ship-to address, not the company's
            "Bea",
            "Note: Two pallets, stacked.",
            "PO line Delivery Item / vendor part Description Quantity Unit Due date",
            "10 1 BRK-100 AC-7781 Motor bracket 700 EA 15 Dec 2026",
            "10 2 BRK-100 AC-7781 Motor bracket 250 EA 12 Jan 2027",
            "20 1 NUT-8 Hex nut M8 2.5 KG 20 Dec 2026",  # no trailing zeros
            "3 lines",
            "Received by Date Signature",
            "Page 1 of 1",
        ):
            assert expected in text, (expected, text)
        assert "DRAFT" not in text and "CANCELLED" not in text
        assert "Hafenweg 3" not in text  # the order names its own ship-to
        assert "2.5000" not in text and "700.0000" not in text
        client.logout()


def test_without_a_ship_to_the_buying_companys_address_is_printed(vendor_a, buyer, amos, settings):
    settings.BUYER_COMPANY_NAME = "Northwind Machines GmbH"
    settings.BUYER_COMPANY_ADDRESS = "Hafenweg 3|20457 Hamburg"
    order = make_order(vendor=vendor_a, by=buyer)
    _, text = read(pdf.packing_slip_pdf(announce(order, amos, {(10, 1): "5"})))
    assert "Ship to Northwind Machines GmbH Hafenweg 3 20457 Hamburg" in text


def code128(drawing) -> str:
    """The text the bars of a Code 128 drawing carry, read from the rectangles it draws
    (bar and space widths in modules, symbol by symbol, the checksum checked)."""
    widget = drawing.contents[0]
    bars = sorted(
        (shape.x, shape.width) for shape in widget.draw().contents if shape.fillColor is not None
    )
    module = min(width for _, width in bars)
    widths: list[int] = []
    for index, (x, width) in enumerate(bars):
        if index:
            previous_x, previous_width = bars[index - 1]
            widths.append(round((x - previous_x - previous_width) / module))
        widths.append(round(width / module))
    widths.append(0)  # the stop symbol ends in a bar: no space after it
    symbols = []
    by_pattern = {pattern: value for value, pattern in _patterns.items()}
    while widths:
        size = 8 if len(widths) == 8 else 6  # the stop symbol has a fourth bar
        chunk, widths = widths[:size], widths[size:]
        key = "".join(
            chr(ord("A" if i % 2 == 0 else "a") + w - 1) for i, w in enumerate(chunk) if w
        )
        symbols.append(by_pattern[key])
    start, *data, check, stop = symbols
    assert stop == 106
    assert (start + sum(i * v for i, v in enumerate(data, start=1))) % 103 == check
    code = {103: "A", 104: "B", 105: "C"}[start]
    switches = {"A": {99: "C", 100: "B"}, "B": {99: "C", 101: "A"}, "C": {100: "B", 101: "A"}}
    text = ""
    for value in data:
        if value in switches[code]:
            code = switches[code][value]
        elif code == "C":
            text += f"{value:02d}"
        elif code == "B":
            text += chr(value + 32)
        else:
            text += chr(value + 32) if value < 64 else chr(value - 64)
    return text


def test_the_barcodes_carry_the_notice_and_order_numbers(notice, monkeypatch):
    drawn: list[tuple[str, object]] = []
    original = pdf.barcode

    def recording(value, **kwargs):
        drawing = original(value, **kwargs)
        drawn.append((value, drawing))
        return drawing

    monkeypatch.setattr(pdf, "barcode", recording)
    _, text = read(pdf.packing_slip_pdf(notice))
    assert [value for value, _ in drawn] == [notice.number, notice.order.number]
    for value, drawing in drawn:
        assert drawing is not None
        assert drawing.contents[0].value == value
        assert code128(drawing) == value  # what a scanner reads off the bars
        assert value in text  # and the same in words under it


def test_a_long_number_is_narrowed_to_its_column_and_text_code128_cannot_carry_is_not_barred():
    long = "ASN-" + "7" * 10 + "-ABCDEFGHIJKLMNOPQRSTUV-12"
    drawing = pdf.barcode(long, width=85 * pdf.mm)
    assert drawing is not None and drawing.width <= 85 * pdf.mm + 0.01
    assert code128(drawing) == long
    assert pdf.barcode("PO-Größe", width=100) is None  # reportlab would drop the "ö"
    assert pdf.barcode("PO\r\n1", width=100) is None
    assert pdf.barcode("", width=100) is None


def test_a_draft_is_marked_draft_and_a_cancelled_notice_cancelled(client, order, amos):
    draft = announce(order, amos, {(10, 1): "10"}, submit=False)
    client.force_login(amos)
    _, text = download(client, f"/portal/ship-notices/{draft.pk}/packing-slip.pdf")
    assert "DRAFT — not sent to the buyer" in text
    assert f"Packing slip {draft.number} · order {order.number} · draft" in text
    sent = announce(order, amos, {(10, 2): "10"})
    services.ship_notice_cancel(notice=sent, by=amos, reason="Missed the truck")
    _, text = download(client, f"/portal/ship-notices/{sent.pk}/packing-slip.pdf")
    assert "CANCELLED" in text and "DRAFT" not in text


def test_a_long_notice_breaks_into_pages_with_the_heading_repeated(vendor_a, buyer, amos):
    order = make_order(vendor=vendor_a, by=buyer, lines=[("10", "1")] * 120)
    notice = announce(order, amos, {(line.line_number, 1): "3" for line in order.lines.all()})
    assert notice.lines.count() == 120
    content = pdf.packing_slip_pdf(notice)
    pages, text = read(content)
    assert pages > 2
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    heading = "PO line Delivery Item / vendor part Description Quantity Unit Due date"
    for number, page in enumerate(PdfReader(io.BytesIO(content)).pages, start=1):
        page_text = " ".join(page.extract_text().split())
        assert f"Page {number} of {pages}" in page_text
        if number > 1:
            assert f"Packing slip {notice.number} (continued)" in page_text
        if number < pages:  # the last may hold only the signature box
            assert heading in page_text, number
    assert "120 lines" in text and "Received by Date Signature" in text
    for line in order.lines.select_related("item"):
        assert f"{line.line_number} 1 {line.item.part_number} " in text
    assert "1200 1 " in text  # the last line


def test_another_vendors_notice_is_404_and_the_buyer_downloads_any(
    client, notice, vendor_b, bob, amos, buyer
):
    b_order = make_order(vendor=vendor_b, by=buyer)
    b_notice = announce(b_order, bob, {(10, 1): "5"}, note="SENTINEL-B-NOTE")
    client.force_login(amos)
    assert client.get(f"/portal/ship-notices/{b_notice.pk}/packing-slip.pdf").status_code == 404
    assert client.get("/portal/ship-notices/999999/packing-slip.pdf").status_code == 404
    assert client.get("/portal/ship-notices/abc/packing-slip.pdf").status_code == 404
    # A vendor login has no buying side at all.
    assert client.get(f"/buying/ship-notices/{notice.pk}/packing-slip.pdf").status_code == 404
    _, text = download(client, f"/portal/ship-notices/{notice.pk}/packing-slip.pdf")
    assert "SENTINEL-B-NOTE" not in text and b_order.number not in text
    client.force_login(bob)
    assert client.get(f"/portal/ship-notices/{notice.pk}/packing-slip.pdf").status_code == 404
    client.force_login(buyer)
    for each in (notice, b_notice):
        _, text = download(client, f"/buying/ship-notices/{each.pk}/packing-slip.pdf")
        assert each.number in text
    assert client.get(f"/portal/ship-notices/{notice.pk}/packing-slip.pdf").status_code == 404


def test_no_internal_field_reaches_the_slip(client, notice, amos, buyer):
    for user, side in ((amos, "portal"), (buyer, "buying")):
        client.force_login(user)
        url = f"/{side}/ship-notices/{notice.pk}/packing-slip.pdf"
        _, text = download(client, url)
        assert "BRK-100" in text
        assert SENTINEL not in text and "98,765" not in text and "98765" not in text
        assert SENTINEL.encode() not in client.get(url).content  # nor in the metadata


def test_the_notice_page_links_to_its_slip_on_both_sides(client, notice, amos, buyer):
    for user, side in ((amos, "portal"), (buyer, "buying")):
        client.force_login(user)
        page = client.get(f"/{side}/ship-notices/{notice.pk}/").content.decode()
        assert f'href="/{side}/ship-notices/{notice.pk}/packing-slip.pdf"' in page
        assert "Packing slip (PDF)" in page


def test_a_number_from_before_the_identifier_rule_gives_a_safe_file_name():
    assert pdf.packing_slip_filename('ASN "1"\r\n/2') == "ASN__1____2-packing-slip.pdf"
    assert pdf.packing_slip_filename("..") == "ship-notice-packing-slip.pdf"
