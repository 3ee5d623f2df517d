"""Open lines as CSV and XLSX: the screen's filter and rows, with what a clerk reconciling
them needs beside each (the order's date and ship-to, the open value, the proposal on the
delivery), never another vendor's row or an internal field.

Text cells go through core/cells.py, so no text from the ERP or a buyer runs as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from vendorportal.core import cells
from vendorportal.web.formatting import currency_places, plain

COLUMNS: list[tuple[str, str]] = [
    ("PO", "order__number"),
    ("Order date", "order_date"),
    ("Revision", "order__revision"),
    ("Line", "line__line_number"),
    ("Delivery", "delivery_number"),
    ("Item", "line__item__part_number"),
    ("Description", "line__description"),
    ("Vendor part number", "line__vendor_part_number"),
    ("Due date", "due_date"),
    ("Promised date", "promised_date"),
    ("Quantity", "quantity"),
    ("Received", "received_quantity"),
    ("In transit", "in_transit_quantity"),
    ("Expected arrival", "expected_date"),
    ("Open quantity", "open_qty"),
    ("UoM", "line__unit_of_measure"),
    ("Unit price", "line__unit_price"),
    ("Open value", "open_value"),
    ("Currency", "order__currency"),
    ("Acknowledgement", "ack_state"),
    ("Proposed due date", "proposed_due_date"),
    ("Proposed quantity", "proposed_quantity"),
    ("Proposed unit price", "proposed_unit_price"),
    ("Proposal", "proposal_status"),
    ("Ship to", "ship_to"),
]
VENDOR_COLUMNS: list[tuple[str, str]] = [("Vendor", "vendor__code")]
QUANTITIES = {
    "quantity",
    "received_quantity",
    "in_transit_quantity",
    "open_qty",
    "proposed_quantity",
}
PRICES = {"line__unit_price", "proposed_unit_price"}
MONEY = {"open_value"}
DATES = {"order_date", "due_date", "promised_date", "expected_date", "proposed_due_date"}


def ack_state(row: dict[str, Any]) -> str:
    if row["proposal_pending"]:
        return "Change proposed"
    if row["acknowledged"]:
        return f"Acknowledged (rev {row['order__revision']})"
    return f"Not acknowledged (rev {row['order__revision']})"


def columns(internal: bool) -> list[tuple[str, str]]:
    return (VENDOR_COLUMNS if internal else []) + COLUMNS


def _values(rows: Iterable[dict[str, Any]], cols: list[tuple[str, str]]) -> Iterable[list[Any]]:
    for row in rows:
        row = {
            "order_date": None,
            "ship_to": "",
            "proposed_due_date": None,
            "proposed_quantity": None,
            "proposed_unit_price": None,
            "proposal_status": "",
            **row,
            "ack_state": ack_state(row),
            "open_value": (row["open_qty"] * row["line__unit_price"]).quantize(
                Decimal(1).scaleb(-currency_places(row["order__currency"]))
            ),
        }
        yield [row[key] for _, key in cols]


def to_csv(rows: Iterable[dict[str, Any]], *, internal: bool) -> bytes:
    cols = columns(internal)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([title for title, _ in cols])
    keys = [key for _, key in cols]
    for values in _values(rows, cols):
        writer.writerow(
            [
                ""
                if v is None
                else plain(v)
                if isinstance(v, Decimal) and key not in MONEY
                else cells.for_csv(v)
                for key, v in zip(keys, values, strict=True)
            ]
        )
    # A byte-order mark so that spreadsheet programs read UTF-8 correctly.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _number_format(key: str, value: Any, currency: str) -> str | None:
    """Excel's format for a cell: whole quantities without a decimal point ("360", never
    "360."), prices to the currency's places unless they have more (up to the 4 stored;
    a yen price shows no decimals, "1,200"), open values to the currency's places, dates as
    dates."""
    if key in QUANTITIES and isinstance(value, Decimal):
        return "#,##0" if value == value.to_integral_value() else "#,##0.0###"
    places = currency_places(currency)
    if key in PRICES:
        if places == 0:  # "#,##0.####" would show a whole price as "1,200."
            whole = not isinstance(value, Decimal) or value == value.to_integral_value()
            return "#,##0" if whole else "#,##0.0###"
        return "#,##0." + "0" * places + "#" * (4 - places)
    if key in MONEY:
        return "#,##0." + "0" * places if places else "#,##0"
    if key in DATES:
        return "d mmm yyyy"
    return None


def to_xlsx(rows: Iterable[dict[str, Any]], *, internal: bool) -> bytes:
    cols = columns(internal)
    keys = [key for _, key in cols]
    workbook = Workbook()
    sheet = workbook.create_sheet("Open lines", 0)
    workbook.remove(workbook.worksheets[1])
    sheet.append([title for title, _ in cols])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(title) for title, _ in cols]
    currency_at = keys.index("order__currency")
    for values in _values(rows, cols):
        sheet.append(values)
        currency = values[currency_at]
        for index, (key, cell) in enumerate(zip(keys, sheet[sheet.max_row], strict=True)):
            cells.to_xlsx_cell(cell)
            shape = _number_format(key, cell.value, currency)
            if shape:
                cell.number_format = shape
            shown = len(str(cell.value)) if cell.value is not None else 0
            widths[index] = max(widths[index], 11 if key in DATES else min(shown, 50))
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{max(sheet.max_row, 1)}"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width + 2
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
