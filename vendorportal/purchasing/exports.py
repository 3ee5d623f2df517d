"""Open lines as CSV and XLSX: the same filter and columns as the screen, no more.

Text cells go through core/cells.py, so no text from the ERP or a buyer runs as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from vendorportal.core import cells

COLUMNS: list[tuple[str, str]] = [
    ("PO", "order__number"),
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
    ("Open quantity", "open_qty"),
    ("UoM", "line__unit_of_measure"),
    ("Unit price", "line__unit_price"),
    ("Currency", "order__currency"),
    ("Acknowledgement", "ack_state"),
]
VENDOR_COLUMNS: list[tuple[str, str]] = [("Vendor", "vendor__code")]


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
        row = {**row, "ack_state": ack_state(row)}
        yield [row[key] for _, key in cols]


def to_csv(rows: Iterable[dict[str, Any]], *, internal: bool) -> bytes:
    cols = columns(internal)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([title for title, _ in cols])
    for values in _values(rows, cols):
        writer.writerow(["" if v is None else cells.for_csv(v) for v in values])
    # A byte-order mark so that spreadsheet programs read UTF-8 correctly.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: Iterable[dict[str, Any]], *, internal: bool) -> bytes:
    cols = columns(internal)
    workbook = Workbook()
    sheet = workbook.create_sheet("Open lines", 0)
    workbook.remove(workbook.worksheets[1])
    sheet.append([title for title, _ in cols])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in _values(rows, cols):
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            cells.to_xlsx_cell(cell)
    sheet.freeze_panes = "A2"
    for index, (title, key) in enumerate(cols, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(len(title) + 2, 12 if "date" in key else 10)
        if key in {"quantity", "received_quantity", "open_qty"}:
            for cell in sheet[letter][1:]:
                cell.number_format = "#,##0.####"
        elif key == "line__unit_price":
            for cell in sheet[letter][1:]:
                cell.number_format = "#,##0.00##"
        elif key in {"due_date", "promised_date"}:
            for cell in sheet[letter][1:]:
                cell.number_format = "yyyy-mm-dd"
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
