"""The open-lines exports a clerk can use (issue 13): quantities without trailing zeros,
the proposal beside the acknowledgement, open value, order date and ship-to; XLSX with an
autofilter, widths that fit and number formats that never show "360."; read back to check."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests.clock import days
from tests.factories import make_order
from vendorportal.collaboration import services as collaboration

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def order(vendor_a, vendor_b, buyer, amos):
    order = make_order(
        vendor=vendor_a,
        by=buyer,
        number="PO-EXP-1",
        lines=[("360", "2.5"), ("12.5", "4.1234")],
        due=dt.date(2027, 1, 15),
        ship_to="Plant 2, Dock 4",
    )
    delivery = order.deliveries.get(line__line_number=10)
    collaboration.proposal_create(
        order=order,
        line=delivery.line,
        delivery=delivery,
        by=amos,
        due_date=dt.date(2027, 1, 22),
        quantity=D(300),
        reason="Furnace repair",
    )
    make_order(vendor=vendor_b, by=buyer, number="PO-OTHER-1", ship_to="Vendor B's dock")
    return order


def test_the_csv_reads_as_a_clerk_expects(client, amos, order):
    client.force_login(amos)
    text = client.get("/portal/open-lines.csv").content.decode("utf-8-sig")
    rows = {row["Line"]: row for row in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {"10", "20"}  # vendor B's order is not there
    ten, twenty = rows["10"], rows["20"]
    assert (ten["Quantity"], ten["Open quantity"], ten["Unit price"]) == ("360", "360", "2.5")
    assert twenty["Quantity"] == "12.5" and twenty["Unit price"] == "4.1234"
    assert ten["Open value"] == "900.00" and twenty["Open value"] == "51.54"
    assert ten["Order date"] == order.order_date.isoformat()
    assert ten["Ship to"] == "Plant 2, Dock 4"
    assert ten["Acknowledgement"] == "Change proposed"
    assert (ten["Proposed due date"], ten["Proposed quantity"], ten["Proposal"]) == (
        "2027-01-22",
        "300",
        "Pending",
    )
    assert twenty["Proposal"] == "" and twenty["Proposed due date"] == ""


def test_the_xlsx_has_a_filter_fitting_columns_and_formats_without_a_stray_point(
    client, amos, order
):
    client.force_login(amos)
    sheet = load_workbook(io.BytesIO(client.get("/portal/open-lines.xlsx").content)).active
    header = [cell.value for cell in sheet[1]]
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(row=1, column=len(header)).column_letter}3"
    body = {row[header.index("Line")].value: row for row in sheet.iter_rows(min_row=2)}
    ten, twenty = body[10], body[20]

    def cell(row, title):
        return row[header.index(title)]

    assert cell(ten, "Quantity").value == 360 and cell(ten, "Quantity").number_format == "#,##0"
    assert cell(twenty, "Quantity").value == 12.5
    assert not cell(twenty, "Quantity").number_format.endswith(".")
    assert cell(ten, "Unit price").number_format == "#,##0.00##"  # 2.50, and 4.1234
    assert cell(ten, "Open value").value == 900
    assert cell(ten, "Due date").is_date and cell(ten, "Proposed due date").is_date
    assert cell(ten, "Proposed quantity").value == 300
    for title in header:
        letter = cell(ten, title).column_letter
        assert sheet.column_dimensions[letter].width >= len(title) + 2
    description = sheet.column_dimensions[cell(ten, "Description").column_letter].width
    assert description > len("Description") + 2  # sized to its text


@pytest.fixture
def yen_order(vendor_a, buyer):
    return make_order(
        vendor=vendor_a,
        by=buyer,
        number="PO-EXP-JPY",
        currency="JPY",
        lines=[("10", "1200"), ("4", "350.5")],
        due=days(45),
    )


def test_a_yen_export_has_no_decimals_a_yen_price_does_not_have(client, amos, yen_order):
    client.force_login(amos)
    text = client.get("/portal/open-lines.csv").content.decode("utf-8-sig")
    rows = {row["Line"]: row for row in csv.DictReader(io.StringIO(text))}
    assert (rows["10"]["Unit price"], rows["10"]["Open value"]) == ("1200", "12000")
    assert (rows["20"]["Unit price"], rows["20"]["Open value"]) == ("350.5", "1402")

    sheet = load_workbook(io.BytesIO(client.get("/portal/open-lines.xlsx").content)).active
    header = [cell.value for cell in sheet[1]]
    body = {row[header.index("Line")].value: row for row in sheet.iter_rows(min_row=2)}

    def cell(line, title):
        return body[line][header.index(title)]

    assert cell(10, "Currency").value == "JPY"
    assert cell(10, "Unit price").value == 1200
    assert cell(10, "Unit price").number_format == "#,##0"  # 1,200: no ".00", no "1,200."
    assert cell(20, "Unit price").value == 350.5
    assert cell(20, "Unit price").number_format == "#,##0.0###"  # 350.5, never "350.50"
    assert (cell(10, "Open value").value, cell(10, "Open value").number_format) == (12000, "#,##0")


def test_a_dinar_export_shows_three_places(client, amos, vendor_a, buyer):
    make_order(
        vendor=vendor_a,
        by=buyer,
        number="PO-EXP-KWD",
        currency="KWD",
        lines=[("3", "1.25")],
        due=days(45),
    )
    client.force_login(amos)
    sheet = load_workbook(io.BytesIO(client.get("/portal/open-lines.xlsx").content)).active
    header = [cell.value for cell in sheet[1]]
    row = next(sheet.iter_rows(min_row=2))
    assert row[header.index("Unit price")].number_format == "#,##0.000#"
    assert row[header.index("Open value")].number_format == "#,##0.000"
    assert row[header.index("Open value")].value == 3.75
