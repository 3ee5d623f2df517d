"""The small PDFs the demo attaches: a drawing sheet for a part, a certificate of
conformity for a shipment, the supplier's own invoice. One page each, drawn with reportlab
(the order PDF's library) in its built-in Helvetica, so they are real PDFs a browser opens
and the attachment checks accept."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas


def _page(title: str, lines: list[str], *, wide: bool = False) -> bytes:
    buffer = io.BytesIO()
    size = landscape(A4) if wide else A4
    sheet = canvas.Canvas(buffer, pagesize=size, invariant=True)
    width, height = size
    sheet.setTitle(title)
    sheet.setFont("Helvetica-Bold", 16)
    sheet.drawString(20 * mm, height - 25 * mm, title)
    sheet.setFont("Helvetica", 10)
    y = height - 38 * mm
    for text in lines:
        sheet.drawString(20 * mm, y, text)
        y -= 6 * mm
    if wide:  # a drawing's frame and title block
        sheet.rect(10 * mm, 10 * mm, width - 20 * mm, height - 20 * mm)
        sheet.rect(width - 110 * mm, 10 * mm, 100 * mm, 30 * mm)
    sheet.showPage()
    sheet.save()
    return buffer.getvalue()


def drawing(part_number: str, description: str, revision: str = "A") -> bytes:
    return _page(
        f"{part_number} {description}",
        [
            f"Drawing {part_number}, revision {revision}",
            "General tolerances ISO 2768-mK; dimensions in mm.",
            "Break all sharp edges 0.2 x 45 degrees. Surface Ra 3.2 unless stated.",
        ],
        wide=True,
    )


def certificate(notice_number: str, order_number: str, supplier: str, items: list[str]) -> bytes:
    return _page(
        "Certificate of conformity",
        [
            f"Supplier: {supplier}",
            f"Purchase order: {order_number}    Ship notice: {notice_number}",
            "We certify that the goods below conform to the order and its drawings.",
            *items,
        ],
    )


def supplier_invoice(number: str, order_number: str, supplier: str, total: str) -> bytes:
    return _page(
        f"Invoice {number}",
        [
            f"From: {supplier}",
            f"Purchase order: {order_number}",
            f"Total: {total}",
            "Payment to the account on file. Thank you for your order.",
        ],
    )
