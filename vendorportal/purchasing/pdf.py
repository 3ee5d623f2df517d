"""Purchasing documents as PDF: the purchase order, one revision of it as the supplier was
sent it, and the packing slip a supplier prints from a ship notice and puts in the box,
built from the same pieces.

The library is reportlab, drawing on its canvas. Why (issue 16; figures from a 100-line order
with 2 deliveries a line, DejaVu Sans embedded, on the 2-CPU development machine):

- it installs from wheels alone (reportlab, pillow, charset-normalizer): `make install` on a
  fresh machine needs no system package (weasyprint would need pango and cairo);
- it is fast: the same table drawn by each candidate took ~30 ms on reportlab's canvas
  (~100 ms through its platypus layout engine), ~180 ms with fpdf2 cell by cell and ~660 ms
  with fpdf2's table(). This module's whole order (header, schedule columns, shading) takes
  ~80 ms (`bench/order_pdf.py`). Its optional C accelerator (rl_accel, ~1/3 faster) is left
  out: it has no wheel for every platform, and a newcomer must not need a compiler;
- it draws Code 128 itself (reportlab.graphics.barcode.code128), which the packing slip
  needs; fpdf2 would need python-barcode or segno beside it;
- its CID fonts (STSong-Light, HYSMyeongJo-Medium) give Chinese, Japanese and Korean text
  without embedding a 10+ MB font: PDF readers supply them. fpdf2 has no such fonts.

Text: everything else is drawn in DejaVu Sans (Latin, Greek, Cyrillic, ...), embedded as a
subset (purchasing/fonts/, with its licence). A character no font has is drawn as its
compatibility decomposition when that helps, else as "?": no text can make rendering fail.

Isolation: what an order PDF prints of the order comes from the Revision's `snapshot`
(purchasing/revisions.py), which holds only what the supplier may see, plus the order's
number, kind and date, the vendor's name and address, the buyer (name and e-mail, as the
order page shows them to the supplier), the buying company (settings) and the supplier's
own promised dates (current revision only: a snapshot does not keep them). Internal notes,
ratings, standard costs and internal comments are never read here.

Numbers and dates look as on the screens (web/formatting.py): quantities without trailing
zeros, money to the currency's places, dates as "8 Dec 2026".

The packing slip prints what the notice's page shows the supplier (its number, dates,
carrier, tracking and packing-slip numbers, note and lines with their order line, delivery,
item, quantity and due date), the order's number and ship-to address, the vendor and the
buying company; the notice number and the PO number also as Code 128 barcodes, for the
receiving dock's scanner.

Reusable pieces: fonts and text (`text_runs`, `text_width`, `wrap`, `draw_text`), `Sheet`
(A4 page setup, the running head and the footer with "Page n of m", a cursor that breaks to a
new page), `Column` with `Sheet.table_heading` and `Sheet.table_row`, `Sheet.facts` (the
label/value column of page one), `Sheet.banner`, `barcode` with `Sheet.barcode`,
`safe_filename` and `buyer_address`.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import createBarcodeDrawing
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from vendorportal.purchasing import revisions
from vendorportal.purchasing.models import (
    OrderKind,
    PurchaseOrder,
    Revision,
    ShipNotice,
    ShipNoticeStatus,
)
from vendorportal.web.formatting import date, money, quantity

# ---------------------------------------------------------------------------------------
# Fonts and text
# ---------------------------------------------------------------------------------------

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
REGULAR = "VP-DejaVuSans"
BOLD = "VP-DejaVuSans-Bold"
CJK = "STSong-Light"  # Adobe-GB1: Chinese ideographs, kana, CJK punctuation, full width
HANGUL = "HYSMyeongJo-Medium"  # Adobe-Korea1
CJK_RANGES = (
    (0x2E80, 0x2FDF),
    (0x3000, 0x30FF),
    (0x3100, 0x312F),
    (0x31A0, 0x31FF),
    (0x3200, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF),
)
HANGUL_RANGES = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF))


@lru_cache(maxsize=1)
def register_fonts() -> dict[str, frozenset[int]]:
    """Register the fonts once per process; the code points each embedded font has."""
    coverage: dict[str, frozenset[int]] = {}
    for name, file in ((REGULAR, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf")):
        font = TTFont(name, str(FONTS_DIR / file))
        pdfmetrics.registerFont(font)
        coverage[name] = frozenset(font.face.charToGlyph)
    for name in (CJK, HANGUL):
        pdfmetrics.registerFont(UnicodeCIDFont(name))
    return coverage


def _in(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


@lru_cache(maxsize=4096)
def _glyph(char: str, font: str) -> tuple[str, str]:
    """(font, text) that draws `char` where `font` is the running font."""
    code = ord(char)
    if code in register_fonts()[font]:
        return font, char
    if code <= 0xFFFF:  # the CID fonts' encodings (UCS-2) stop there
        if _in(code, HANGUL_RANGES):
            return HANGUL, char
        if _in(code, CJK_RANGES):
            return CJK, char
    covered = register_fonts()[font]
    decomposed = "".join(
        c for c in unicodedata.normalize("NFKD", char) if ord(c) in covered and c.isprintable()
    )
    return font, decomposed or "?"


def clean(text: str) -> str:
    """Text as drawn: tabs as spaces, line breaks as "\\n", other control and format
    characters (zero-width, bidi marks) left out."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    if text.isascii() and (text.replace("\n", "").isprintable()):
        return text
    return "".join(
        c for c in text if c == "\n" or unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co")
    )


def text_runs(text: str, bold: bool = False) -> list[tuple[str, str]]:
    """`text` (one line, cleaned) as (font, text) runs that together draw all of it."""
    font = BOLD if bold else REGULAR
    if text.isascii():
        return [(font, text)]
    runs: list[tuple[str, str]] = []
    for char in text:
        run_font, drawn = _glyph(char, font)
        if runs and runs[-1][0] == run_font:
            runs[-1] = (run_font, runs[-1][1] + drawn)
        else:
            runs.append((run_font, drawn))
    return runs


def text_width(text: str, size: float, bold: bool = False) -> float:
    return sum(pdfmetrics.stringWidth(t, f, size) for f, t in text_runs(text, bold))


def wrap(text: str, width: float, size: float, bold: bool = False) -> list[str]:
    """`text` broken into lines no wider than `width`: at spaces, and within a word (or a
    run of CJK text, which has none) only where the word alone is too wide."""
    return list(_wrap(text, width, size, bold))


@lru_cache(maxsize=8192)  # a document repeats its units, dates and amounts
def _wrap(text: str, width: float, size: float, bold: bool) -> tuple[str, ...]:
    # Widths add up (no kerning): each word is measured once.
    space = text_width(" ", size, bold)
    lines: list[str] = []
    for paragraph in clean(text).split("\n"):
        if text_width(paragraph, size, bold) <= width:
            lines.append(paragraph)
            continue
        line, used = "", 0.0
        for word in paragraph.split(" "):
            word_width = text_width(word, size, bold)
            if line and used + space + word_width <= width:
                line, used = f"{line} {word}", used + space + word_width
                continue
            if line:
                lines.append(line)
            if word_width > width:  # broken where it must be, character by character
                part, part_width = "", 0.0
                for char in word:
                    char_width = text_width(char, size, bold)
                    if part and part_width + char_width > width:
                        lines.append(part)
                        part, part_width = "", 0.0
                    part, part_width = part + char, part_width + char_width
                word, word_width = part, part_width
            line, used = word, word_width
        lines.append(line)
    return tuple(lines)


def draw_text(
    canvas: Canvas,
    x: float,
    y: float,
    text: str,
    *,
    size: float,
    bold: bool = False,
    align: str = "left",
) -> None:
    """One line at (x, y): its left end at x, or its right end for align="right"."""
    runs = text_runs(text, bold)
    if align == "right":
        x -= sum(pdfmetrics.stringWidth(t, f, size) for f, t in runs)
    for font, part in runs:
        # The canvas's own state (reset on each new page): setFont writes to the page.
        if getattr(canvas, "_fontname", None) != font or getattr(canvas, "_fontsize", 0) != size:
            canvas.setFont(font, size)
        canvas.drawString(x, y, part)
        x += pdfmetrics.stringWidth(part, font, size)


# ---------------------------------------------------------------------------------------
# Pages and tables
# ---------------------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 15 * mm
LEFT, RIGHT = MARGIN, PAGE_WIDTH - MARGIN
CONTENT_WIDTH = RIGHT - LEFT
TOP = PAGE_HEIGHT - MARGIN
BOTTOM = MARGIN + 8 * mm  # the footer sits below
MUTED = colors.HexColor("#555555")
LINE_COLOUR = colors.HexColor("#999999")
SHADE = colors.HexColor("#f0f0f0")
RED = colors.HexColor("#b42318")
CELL_PAD = 1.5 * mm
# Code 128: the narrowest bar (the X dimension) when there is room, and the bars' height.
BARCODE_MODULE = 0.3 * mm
BARCODE_HEIGHT = 12 * mm


def barcode(value: str, *, width: float, height: float = BARCODE_HEIGHT) -> Drawing | None:
    """`value` as a Code 128 drawing no wider than `width` (its bars narrowed to fit), or
    None when Code 128 cannot carry it: it encodes printable ASCII only, and reportlab
    silently drops any other character (the bars would say something else)."""
    if not value or not value.isascii() or not value.isprintable():
        return None
    drawing: Drawing | None = None
    module = BARCODE_MODULE
    for _ in range(2):  # without quiet zones the width is proportional to the bars'
        drawing = createBarcodeDrawing(
            "Code128",
            value=value,
            barWidth=module,
            barHeight=height,
            humanReadable=False,  # drawn by Sheet.barcode in the document's own font
            quiet=False,  # the layout leaves the quiet zones (the margin, a column gap)
        )
        if drawing.width <= width:
            break
        module *= width / drawing.width
    return drawing


def safe_filename(text: str, fallback: str) -> str:
    """`text` (a document number) as a file name part: a number from before the identifier
    rule (any text) keeps only its safe characters, so the name can never break the
    Content-Disposition header it goes in."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text).strip(".") or fallback


def buyer_address() -> list[str]:
    """The buying company's address lines (settings.BUYER_COMPANY_ADDRESS, "|"-separated)."""
    address = settings.BUYER_COMPANY_ADDRESS
    return [part.strip() for part in address.split("|") if part.strip()]


class _NumberedCanvas(Canvas):
    """Holds its pages until `save`, so that each footer can say "Page n of m"."""

    def __init__(self, *args: Any, footer: Callable[[Canvas, int, int], None], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._held: list[dict[str, Any]] = []
        self._footer = footer

    def showPage(self) -> None:
        self._held.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]  # reportlab's own reset

    def save(self) -> None:
        total = len(self._held)
        for number, state in enumerate(self._held, start=1):
            self.__dict__.update(state)
            self._footer(self, number, total)
            super().showPage()
        super().save()
        self._held.clear()  # each held page refers to this list: no cycle left for the GC


@dataclass(frozen=True)
class Column:
    title: str
    width: float  # points
    align: str = "left"  # or "right"


class Sheet:
    """An A4 document being drawn: a cursor `y` that moves down the page, page breaks that
    repeat a running head (and whatever `on_new_page` draws, e.g. a table's heading), and a
    footer on every page: `footer_left` and "Page n of m"."""

    def __init__(self, *, title: str, author: str, footer_left: str, running_head: str) -> None:
        register_fonts()
        self.buffer = io.BytesIO()
        self.canvas = _NumberedCanvas(
            self.buffer, pagesize=A4, invariant=1, pageCompression=1, footer=self._footer
        )
        self.canvas.setTitle(title)
        self.canvas.setAuthor(author)
        self.canvas.setCreator("Vendor Portal")
        self.footer_left = footer_left
        self.running_head = running_head
        self.on_new_page: Callable[[], None] | None = None
        self.y = TOP

    # --- the cursor ---
    def down(self, height: float) -> None:
        self.y -= height

    def fits(self, height: float) -> bool:
        return self.y - height >= BOTTOM

    def ensure(self, height: float) -> None:
        """Start a new page unless `height` more fits on this one."""
        if not self.fits(height):
            self.new_page()

    def new_page(self) -> None:
        self.canvas.showPage()
        self.y = TOP
        self.text(LEFT, self.y - 8, self.running_head, size=8, colour=MUTED)
        self.down(16)
        if self.on_new_page is not None:
            self.on_new_page()

    def _footer(self, canvas: Canvas, number: int, total: int) -> None:
        canvas.setStrokeColor(LINE_COLOUR)
        canvas.setLineWidth(0.5)
        canvas.line(LEFT, MARGIN + 4 * mm, RIGHT, MARGIN + 4 * mm)
        canvas.setFillColor(MUTED)
        draw_text(canvas, LEFT, MARGIN, self.footer_left, size=7.5)
        draw_text(canvas, RIGHT, MARGIN, f"Page {number} of {total}", size=7.5, align="right")

    # --- drawing ---
    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = 9,
        bold: bool = False,
        align: str = "left",
        colour: Any = colors.black,
    ) -> None:
        if getattr(self.canvas, "_fillColorObj", None) != colour:
            self.canvas.setFillColor(colour)
        draw_text(self.canvas, x, y, text, size=size, bold=bold, align=align)

    def rule(self, *, weight: float = 0.5, colour: Any = LINE_COLOUR) -> None:
        self.canvas.setStrokeColor(colour)
        self.canvas.setLineWidth(weight)
        self.canvas.line(LEFT, self.y, RIGHT, self.y)

    def paragraph(
        self,
        text: str,
        *,
        x: float = LEFT,
        width: float = CONTENT_WIDTH,
        size: float = 9,
        bold: bool = False,
        colour: Any = colors.black,
    ) -> None:
        """Wrapped lines at the cursor, breaking to new pages as needed."""
        leading = size * 1.3
        for line in wrap(text, width, size, bold):
            self.ensure(leading)
            self.text(x, self.y - size, line, size=size, bold=bold, colour=colour)
            self.down(leading)

    def block(
        self,
        x: float,
        y: float,
        lines: Sequence[str],
        *,
        width: float,
        size: float = 9,
        bold_first: bool = False,
        colour: Any = colors.black,
    ) -> float:
        """Wrapped lines from (x, y) down, without page breaks (page-one header blocks);
        the height used."""
        leading = size * 1.3
        used = 0.0
        for index, entry in enumerate(lines):
            bold = bold_first and index == 0
            for line in wrap(entry, width, size, bold):
                self.text(x, y - used - size, line, size=size, bold=bold, colour=colour)
                used += leading
        return used

    def labelled(
        self,
        x: float,
        y: float,
        label: str,
        lines: Sequence[str],
        width: float,
        *,
        bold_first: bool = False,
    ) -> float:
        """A small grey label over a block of lines (an address), from (x, y) down; the
        height used."""
        self.text(x, y - 8, label, size=8, colour=MUTED)
        return 11 + self.block(x, y - 11, lines, width=width, bold_first=bold_first)

    def facts(self, facts: Sequence[tuple[str, str]], *, bold: Sequence[str] = ()) -> float:
        """Page one's column of labelled values at the right, from the cursor down (which
        stays where it is); the labels in `bold` have their value in bold. The height used."""
        x_label, x_value, y = LEFT + 105 * mm, LEFT + 132 * mm, self.y - 2
        for label, value in facts:
            self.text(x_label, y - 9, label, size=8.5, colour=MUTED)
            for line in wrap(value, RIGHT - x_value, 9, label in bold):
                self.text(x_value, y - 9, line, size=9, bold=label in bold)
                y -= 11.5
        return self.y - y

    def banner(self, text: str) -> None:
        """A warning across the page in red at the cursor: a draft, a cancelled document."""
        self.text(LEFT, self.y - 12, text, size=12, bold=True, colour=RED)
        self.down(20)

    def barcode(self, x: float, y: float, label: str, value: str, *, width: float) -> float:
        """A small grey label over `value` as a Code 128 barcode with its text under it
        (the text alone when no barcode can carry it), from (x, y) down; the height used."""
        self.text(x, y - 8, label, size=8, colour=MUTED)
        used = 11.0
        drawing = barcode(value, width=width)
        if drawing is not None:
            renderPDF.draw(drawing, self.canvas, x, y - used - drawing.height)
            used += drawing.height + 2
        return used + self.block(x, y - used, [value], width=width, size=10, bold_first=True)

    def table_heading(
        self,
        columns: Sequence[Column],
        *,
        sub_columns: Sequence[Column] = (),
        size: float = 8,
    ) -> None:
        """The heading of a table: its columns' titles in bold and, smaller and grey below,
        the titles of the sub-rows' columns (a line's schedule under the line)."""
        height = size * 1.4 + (size * 1.25 if sub_columns else 0) + CELL_PAD
        self.ensure(height + size * 3)  # never a heading alone at a page's foot
        for row, (cells, cell_size, bold, colour) in enumerate(
            ((columns, size, True, colors.black), (sub_columns, size - 1, False, MUTED))
        ):
            x = LEFT
            for column in cells:
                edge = x + column.width - CELL_PAD if column.align == "right" else x + CELL_PAD
                self.text(
                    edge,
                    self.y - size - row * size * 1.3,
                    column.title,
                    size=cell_size,
                    bold=bold,
                    align=column.align,
                    colour=colour,
                )
                x += column.width
        self.down(height)
        self.rule(weight=0.8, colour=colors.black)

    def row_height(self, columns: Sequence[Column], cells: Sequence[str], *, size: float) -> float:
        lines = max(
            len(wrap(cell, column.width - 2 * CELL_PAD, size)) if cell else 1
            for column, cell in zip(columns, cells, strict=True)
        )
        return lines * size * 1.25 + CELL_PAD

    def table_row(
        self,
        columns: Sequence[Column],
        cells: Sequence[str],
        *,
        size: float = 8,
        bold: bool = False,
        colour: Any = colors.black,
        shade: bool = False,
        rule: bool = False,
    ) -> None:
        """One row of wrapped cells at the cursor (a new page first if it does not fit)."""
        wrapped = [
            wrap(cell, column.width - 2 * CELL_PAD, size, bold) if cell else []
            for column, cell in zip(columns, cells, strict=True)
        ]
        leading = size * 1.25
        height = max((len(w) for w in wrapped), default=1) * leading + CELL_PAD
        self.ensure(height)
        if shade:
            self.canvas.setFillColor(SHADE)
            self.canvas.rect(LEFT, self.y - height, CONTENT_WIDTH, height, stroke=0, fill=1)
        x = LEFT
        for column, lines in zip(columns, wrapped, strict=True):
            edge = x + column.width - CELL_PAD if column.align == "right" else x + CELL_PAD
            for index, line in enumerate(lines):
                self.text(
                    edge,
                    self.y - CELL_PAD / 2 - size - index * leading,
                    line,
                    size=size,
                    bold=bold,
                    align=column.align,
                    colour=colour,
                )
            x += column.width
        self.down(height)
        if rule:
            self.rule(weight=0.3)

    def finish(self) -> bytes:
        self.canvas.showPage()
        self.canvas.save()
        return self.buffer.getvalue()


# ---------------------------------------------------------------------------------------
# The purchase order
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleRow:
    number: int
    quantity: Decimal
    due_date: dt.date | None
    promised_date: dt.date | None
    cancelled: bool


@dataclass(frozen=True)
class OrderLineRow:
    number: int
    item: str
    vendor_part_number: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    cancelled: bool
    schedule: list[ScheduleRow]

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class OrderSheet:
    """Everything an order PDF prints, and nothing else."""

    number: str
    blanket: bool
    revision: int  # 0: a draft, never issued
    current_revision: int
    revision_date: dt.datetime | None
    reason: str
    order_date: dt.date
    currency: str
    payment_terms: str
    incoterms: str
    ship_to: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    notes_to_vendor: str
    cancelled: bool
    vendor_name: str
    vendor_code: str
    vendor_address: str
    buyer_name: str
    buyer_email: str
    buyer_company: str
    buyer_address: list[str]
    lines: list[OrderLineRow] = field(default_factory=list)
    promised_dates: bool = True  # False: an earlier revision (promises are kept for now only)

    @property
    def draft(self) -> bool:
        return self.revision == 0

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines if not line.cancelled), Decimal(0))

    @property
    def filename(self) -> str:
        """PO-<number>-rev<N>.pdf; a number from before the identifier rule (any text) keeps
        only its safe characters, so the name can never break the header it goes in."""
        number = safe_filename(self.number, "order")
        if self.draft:
            return f"PO-{number}-draft.pdf"
        return f"PO-{number}-rev{self.revision}.pdf"


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def _day(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def order_sheet(order: PurchaseOrder, revision: Revision | None) -> OrderSheet:
    """What the PDF of `revision` of `order` prints: the revision's snapshot, or for a draft
    (`revision` None, buyers only) the snapshot the order would be issued with now."""
    snapshot = revisions.order_snapshot(order) if revision is None else revision.snapshot
    header = snapshot.get("header", {})
    current = revision is not None and revision.number == order.revision
    promised: dict[tuple[int, int], dt.date | None] = {}
    if current:
        promised = {
            (line_number, delivery_number): day
            for line_number, delivery_number, day in order.deliveries.values_list(
                "line__line_number", "delivery_number", "promised_date"
            )
        }
    lines = []
    for line_key in sorted(snapshot.get("lines", {}), key=int):
        entry = snapshot["lines"][line_key]
        schedule = [
            ScheduleRow(
                number=int(key),
                quantity=_decimal(delivery.get("quantity")),
                due_date=_day(delivery.get("due_date")),
                promised_date=promised.get((int(line_key), int(key))),
                cancelled=bool(delivery.get("cancelled")),
            )
            for key, delivery in sorted(
                entry.get("deliveries", {}).items(), key=lambda i: int(i[0])
            )
        ]
        lines.append(
            OrderLineRow(
                number=int(line_key),
                item=entry.get("item") or "",
                vendor_part_number=entry.get("vendor_part_number") or "",
                description=entry.get("description") or "",
                quantity=_decimal(entry.get("quantity")),
                unit=entry.get("unit_of_measure") or "",
                unit_price=_decimal(entry.get("unit_price")),
                cancelled=bool(entry.get("cancelled")),
                schedule=schedule,
            )
        )
    vendor, buyer = order.vendor, order.buyer
    return OrderSheet(
        number=order.number,
        blanket=order.kind == OrderKind.BLANKET,
        revision=revision.number if revision is not None else 0,
        current_revision=order.revision,
        revision_date=revision.created_at if revision is not None else None,
        reason=revision.reason if revision is not None else "",
        order_date=order.order_date,
        currency=header.get("currency") or "",
        payment_terms=header.get("payment_terms") or "",
        incoterms=header.get("incoterms") or "",
        ship_to=header.get("ship_to") or "",
        valid_from=_day(header.get("valid_from")),
        valid_to=_day(header.get("valid_to")),
        notes_to_vendor=header.get("notes_to_vendor") or "",
        cancelled=bool(header.get("cancelled")),
        vendor_name=vendor.name,
        vendor_code=vendor.code,
        vendor_address=vendor.address,
        buyer_name=buyer.display_name if buyer is not None else "",
        buyer_email=buyer.email if buyer is not None else "",
        buyer_company=settings.BUYER_COMPANY_NAME,
        buyer_address=buyer_address(),
        lines=lines,
        promised_dates=current or revision is None,
    )


def _order_columns(sheet: OrderSheet) -> tuple[list[Column], list[Column]]:
    """The lines' columns, and their schedule rows' (the same 180 mm, split otherwise)."""
    lines = [
        Column("Line", 11 * mm),
        Column("Item / vendor part", 33 * mm),
        Column("Description", 58 * mm),
        Column("Committed" if sheet.blanket else "Quantity", 21 * mm, "right"),
        Column("Unit", 12 * mm),
        Column("Unit price", 21 * mm, "right"),
        Column("Amount", 24 * mm, "right"),
    ]
    schedule = [
        Column("", 11 * mm),
        Column("Release" if sheet.blanket else "Delivery", 33 * mm),
        Column("Due date", 29 * mm),
        Column("Promised date", 29 * mm),
        Column("Quantity" if sheet.blanket else "", 21 * mm, "right"),  # under "Committed"
        Column("", 12 * mm),
        Column("", 45 * mm),
    ]
    return lines, schedule


def _order_header(page: Sheet, sheet: OrderSheet) -> None:
    """Page one: title, the order's identity and terms, the parties, the reason."""
    title = "BLANKET PURCHASE ORDER" if sheet.blanket else "PURCHASE ORDER"
    page.text(LEFT, page.y - 16, title, size=16, bold=True)
    company = [sheet.buyer_company, *sheet.buyer_address] if sheet.buyer_company else []
    used = 24 + page.block(LEFT, page.y - 24, company, width=85 * mm, bold_first=True)
    facts = [
        ("Order", sheet.number),
        (
            "Revision",
            f"{sheet.revision} · {date(sheet.revision_date)}" if not sheet.draft else "—",
        ),
        ("Order date", date(sheet.order_date)),
        ("Currency", sheet.currency),
    ]
    if sheet.payment_terms:
        facts.append(("Payment terms", sheet.payment_terms))
    if sheet.incoterms:
        facts.append(("Incoterms", sheet.incoterms))
    if sheet.blanket:
        valid = f"{date(sheet.valid_from) or '—'} to {date(sheet.valid_to) or 'open-ended'}"
        facts.append(("Valid", valid))
    page.down(max(used, page.facts(facts, bold=("Order",))) + 8)
    banner = ""
    if sheet.draft:
        banner = "DRAFT — not issued"
    elif sheet.cancelled:
        banner = "CANCELLED"
    elif sheet.revision != sheet.current_revision:
        banner = (
            f"Revision {sheet.revision} as it was issued; the current revision is "
            f"{sheet.current_revision}."
        )
    if banner:
        page.banner(banner)
    top = page.y
    supplier = [sheet.vendor_name, f"Supplier no. {sheet.vendor_code}"]
    supplier += sheet.vendor_address.split("\n")
    left_used = page.labelled(LEFT, top, "Supplier", supplier, width=85 * mm, bold_first=True)
    x = LEFT + 95 * mm
    right_used = 0.0
    if sheet.ship_to:
        right_used += 6 + page.labelled(x, top, "Ship to", sheet.ship_to.split("\n"), RIGHT - x)
    buyer = " · ".join(b for b in (sheet.buyer_name, sheet.buyer_email) if b)
    if buyer:
        right_used += page.labelled(x, top - right_used, "Buyer", [buyer], RIGHT - x)
    page.down(max(left_used, right_used) + 8)
    if sheet.reason:
        page.paragraph(f"Reason for this revision: {sheet.reason}", size=9)
        page.down(4)


def _order_lines(page: Sheet, sheet: OrderSheet) -> None:
    columns, schedule_columns = _order_columns(sheet)
    page.table_heading(columns, sub_columns=schedule_columns)
    page.on_new_page = lambda: page.table_heading(columns, sub_columns=schedule_columns)
    currency = sheet.currency
    for line in sheet.lines:
        item = line.item + (f"\n{line.vendor_part_number}" if line.vendor_part_number else "")
        description = line.description + (" (cancelled)" if line.cancelled else "")
        cells = [
            str(line.number),
            item,
            description,
            quantity(line.quantity),
            line.unit,
            money(line.unit_price, currency),
            "cancelled" if line.cancelled else money(line.amount, currency),
        ]
        rows = [
            [
                "",
                f"{'Release' if sheet.blanket else 'Delivery'} {row.number}",
                date(row.due_date),
                date(row.promised_date),
                quantity(row.quantity),
                line.unit,
                "cancelled" if row.cancelled else "",
            ]
            for row in line.schedule
        ]
        # A line stays on one page with its schedule, unless that is longer than a page.
        block = page.row_height(columns, cells, size=8) + len(rows) * (7.5 * 1.25 + CELL_PAD)
        if block <= TOP - BOTTOM - 40:
            page.ensure(block)
        page.table_row(columns, cells, size=8, shade=True, rule=not rows)
        for number, row_cells in enumerate(rows, start=1):
            page.table_row(
                schedule_columns, row_cells, size=7.5, colour=MUTED, rule=number == len(rows)
            )
    page.on_new_page = None
    page.down(4)
    page.ensure(30)
    label = "Committed value" if sheet.blanket else "Total"
    page.text(
        LEFT + 139 * mm, page.y - 10, f"{label} ({currency})", size=9.5, bold=True, align="right"
    )
    page.text(
        RIGHT - CELL_PAD,
        page.y - 10,
        money(sheet.total, currency),
        size=9.5,
        bold=True,
        align="right",
    )
    page.down(16)
    if not sheet.promised_dates and any(line.schedule for line in sheet.lines):
        page.paragraph(
            "Promised dates are the supplier's confirmations of the current revision; an "
            "earlier revision shows none.",
            size=7.5,
            colour=MUTED,
        )


def render_order(sheet: OrderSheet) -> bytes:
    """The purchase order PDF of `sheet`."""
    what = "draft" if sheet.draft else f"revision {sheet.revision}"
    page = Sheet(
        title=f"Purchase order {sheet.number} {what}",
        author=sheet.buyer_company or "Vendor Portal",
        footer_left=f"Purchase order {sheet.number} · {what}",
        running_head=f"Purchase order {sheet.number} · {what} (continued)",
    )
    _order_header(page, sheet)
    _order_lines(page, sheet)
    if sheet.notes_to_vendor:
        page.down(6)
        page.ensure(30)
        page.text(LEFT, page.y - 10, "Notes to the supplier", size=10, bold=True)
        page.down(15)
        page.paragraph(sheet.notes_to_vendor, size=9)
    return page.finish()


def order_pdf(order: PurchaseOrder, revision: Revision | None) -> tuple[str, bytes]:
    """(file name, PDF) of `revision` of `order`; None: a draft, as it is now."""
    sheet = order_sheet(order, revision)
    return sheet.filename, render_order(sheet)


# ---------------------------------------------------------------------------------------
# The packing slip of a ship notice
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlipLineRow:
    line_number: int
    delivery_number: int
    part_number: str
    vendor_part_number: str
    description: str
    quantity: Decimal
    unit: str
    due_date: dt.date | None


@dataclass(frozen=True)
class PackingSlip:
    """Everything a packing slip prints, and nothing else."""

    number: str  # the ship notice's
    order_number: str
    status: str
    version: int
    ship_date: dt.date
    expected_date: dt.date
    carrier: str
    tracking_number: str
    supplier_slip: str  # the supplier's own packing-slip number
    note: str
    vendor_name: str
    vendor_code: str
    vendor_address: str
    buyer_name: str
    buyer_email: str
    buyer_company: str
    buyer_address: list[str]
    ship_to: str  # the order's; empty: the buying company's address
    lines: list[SlipLineRow] = field(default_factory=list)

    @property
    def draft(self) -> bool:
        return self.status == ShipNoticeStatus.DRAFT

    @property
    def cancelled(self) -> bool:
        return self.status == ShipNoticeStatus.CANCELLED

    @property
    def barcodes(self) -> list[tuple[str, str]]:
        """(label, value) of each barcode the slip prints."""
        return [("Ship notice", self.number), ("Purchase order", self.order_number)]


def packing_slip_sheet(notice: ShipNotice) -> PackingSlip:
    """What the packing slip of `notice` prints (the notice as its page shows it now)."""
    order, vendor = notice.order, notice.vendor
    buyer = order.buyer
    lines = [
        SlipLineRow(
            line_number=entry.line.line_number,
            delivery_number=entry.delivery.delivery_number,
            part_number=entry.line.item.part_number if entry.line.item is not None else "",
            vendor_part_number=entry.line.vendor_part_number,
            description=entry.line.description,
            quantity=entry.quantity,
            unit=entry.line.unit_of_measure,
            due_date=entry.delivery.due_date,
        )
        for entry in notice.lines.select_related("line__item", "delivery").order_by(
            "line__line_number", "delivery__delivery_number", "pk"
        )
    ]
    return PackingSlip(
        number=notice.number,
        order_number=order.number,
        status=notice.status,
        version=notice.version,
        ship_date=notice.ship_date,
        expected_date=notice.expected_date,
        carrier=notice.carrier,
        tracking_number=notice.tracking_number,
        supplier_slip=notice.packing_slip,
        note=notice.note,
        vendor_name=vendor.name,
        vendor_code=vendor.code,
        vendor_address=vendor.address,
        buyer_name=buyer.display_name if buyer is not None else "",
        buyer_email=buyer.email if buyer is not None else "",
        buyer_company=settings.BUYER_COMPANY_NAME,
        buyer_address=buyer_address(),
        ship_to=order.ship_to,
        lines=lines,
    )


SLIP_COLUMNS = [
    Column("PO line", 14 * mm),
    Column("Delivery", 16 * mm),
    Column("Item / vendor part", 34 * mm),
    Column("Description", 58 * mm),
    Column("Quantity", 24 * mm, "right"),
    Column("Unit", 14 * mm),
    Column("Due date", 20 * mm),
]


def _slip_header(page: Sheet, slip: PackingSlip) -> None:
    """Page one: title, the shipment's facts, the supplier, the barcodes, where it goes."""
    page.text(LEFT, page.y - 16, "PACKING SLIP", size=16, bold=True)
    supplier = [slip.vendor_name, f"Supplier no. {slip.vendor_code}"]
    supplier += [line for line in slip.vendor_address.split("\n") if line.strip()]
    used = 24 + page.labelled(LEFT, page.y - 24, "Supplier", supplier, 85 * mm, bold_first=True)
    facts = [
        ("Ship notice", slip.number),
        ("Purchase order", slip.order_number),
        ("Ship date", date(slip.ship_date)),
        ("Expected arrival", date(slip.expected_date)),
        ("Carrier", slip.carrier or "—"),
        ("Tracking number", slip.tracking_number or "—"),
        ("Packing slip no.", slip.supplier_slip or "—"),
    ]
    if slip.version > 1:
        facts.append(("Version", str(slip.version)))
    page.down(max(used, page.facts(facts, bold=("Ship notice",))) + 8)
    if slip.draft:
        page.banner("DRAFT — not sent to the buyer")
    elif slip.cancelled:
        page.banner("CANCELLED — this shipment was withdrawn")
    # The barcodes side by side, each in its column (the 10 mm between is a quiet zone).
    top, x = page.y, LEFT + 95 * mm
    columns = ((LEFT, 85 * mm), (x, RIGHT - x))
    used = max(
        page.barcode(column, top, label, value, width=width)
        for (column, width), (label, value) in zip(columns, slip.barcodes, strict=True)
    )
    page.down(used + 8)
    top = page.y
    company = [slip.buyer_company] if slip.buyer_company else []
    ship_to = [line for line in slip.ship_to.split("\n") if line.strip()] or slip.buyer_address
    left_used = page.labelled(
        LEFT, top, "Ship to", company + ship_to, 85 * mm, bold_first=bool(company)
    )
    right_used = 0.0
    buyer = " · ".join(b for b in (slip.buyer_name, slip.buyer_email) if b)
    if buyer:
        right_used = page.labelled(x, top, "Buyer", [buyer], RIGHT - x)
    page.down(max(left_used, right_used) + 8)
    if slip.note:
        page.paragraph(f"Note: {slip.note}", size=9)
        page.down(4)


def _slip_lines(page: Sheet, slip: PackingSlip) -> None:
    page.table_heading(SLIP_COLUMNS)
    page.on_new_page = lambda: page.table_heading(SLIP_COLUMNS)
    for row in slip.lines:
        item = row.part_number
        if row.vendor_part_number:
            item = f"{item}\n{row.vendor_part_number}" if item else row.vendor_part_number
        cells = [
            str(row.line_number),
            str(row.delivery_number),
            item,
            row.description,
            quantity(row.quantity),
            row.unit,
            date(row.due_date),
        ]
        page.table_row(SLIP_COLUMNS, cells, size=8, rule=True)
    page.on_new_page = None
    page.down(4)
    page.ensure(14)
    count = len(slip.lines)
    page.text(
        LEFT + CELL_PAD,
        page.y - 10,
        f"{count} line{'s' if count != 1 else ''}",
        size=8.5,
        colour=MUTED,
    )
    page.down(16)


def _received_box(page: Sheet) -> None:
    """Where the receiving dock signs: received by, date, signature."""
    height = 22 * mm
    page.ensure(height + 14)
    page.text(LEFT, page.y - 10, "Received", size=10, bold=True)
    page.down(14)
    page.canvas.setStrokeColor(LINE_COLOUR)
    page.canvas.setLineWidth(0.6)
    page.canvas.rect(LEFT, page.y - height, CONTENT_WIDTH, height, stroke=1, fill=0)
    x = LEFT
    for title, width in (("Received by", 70 * mm), ("Date", 40 * mm), ("Signature", 70 * mm)):
        if x > LEFT:
            page.canvas.line(x, page.y, x, page.y - height)
        page.text(x + CELL_PAD * 2, page.y - 10, title, size=8, colour=MUTED)
        x += width
    page.down(height)


def render_packing_slip(slip: PackingSlip) -> bytes:
    """The packing slip PDF of `slip`."""
    what = " · draft" if slip.draft else " · cancelled" if slip.cancelled else ""
    page = Sheet(
        title=f"Packing slip {slip.number}",
        author=slip.vendor_name,
        footer_left=f"Packing slip {slip.number} · order {slip.order_number}{what}",
        running_head=f"Packing slip {slip.number}{what} (continued)",
    )
    _slip_header(page, slip)
    _slip_lines(page, slip)
    _received_box(page)
    return page.finish()


def packing_slip_pdf(notice: ShipNotice) -> bytes:
    """The packing slip of `notice` as a PDF."""
    return render_packing_slip(packing_slip_sheet(notice))


def packing_slip_filename(number: str) -> str:
    """<notice number>-packing-slip.pdf, the number made safe for the header."""
    return f"{safe_filename(number, 'ship-notice')}-packing-slip.pdf"
