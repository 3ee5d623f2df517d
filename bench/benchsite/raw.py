"""`/bench/raw-open-lines/?vendor=<id>`: the floor the served open-lines page is compared with.

The same 500 rows as the supplier's open-lines page (same filter, order, columns and
acknowledgement/proposal flags), read with ONE raw SQL query written like the one the ORM
sends (so PostgreSQL plans it the same way) and formatted into an HTML table with f-strings.
It answers from the first middleware (`RawOpenLinesMiddleware`, put first in
bench/benchsite/settings.py), so no other middleware runs: no session, no login, no scope,
no CSRF, no security headers. What is left is the server, Django's request handler, one
query and string formatting. The vendor is named in the query string: a bench-only page.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from vendorportal.collaboration.models import Acknowledgement, ChangeProposal
from vendorportal.purchasing.models import Delivery, Item, Line, PurchaseOrder

PATH = "/bench/raw-open-lines/"

_T = {
    "delivery": Delivery._meta.db_table,
    "order": PurchaseOrder._meta.db_table,
    "line": Line._meta.db_table,
    "item": Item._meta.db_table,
    "ack": Acknowledgement._meta.db_table,
    "proposal": ChangeProposal._meta.db_table,
}

# Table names come from the models, values are parameters.
RAW_SQL = f"""
SELECT d.id, o.number, o.revision, o.currency, l.line_number, d.delivery_number,
       i.part_number, l.description, l.vendor_part_number, l.unit_of_measure, l.unit_price,
       d.due_date, d.promised_date, d.quantity, d.received_quantity,
       d.quantity - d.received_quantity AS open_qty,
       EXISTS (SELECT 1 FROM {_T["ack"]} a
               WHERE a.vendor_id = %(vendor)s AND a.order_id = d.order_id
                 AND a.revision = o.revision LIMIT 1) AS acknowledged,
       d.id IN (SELECT p.delivery_id FROM {_T["proposal"]} p
                WHERE p.vendor_id = %(vendor)s AND p.delivery_id IS NOT NULL
                  AND p.status = 'pending') AS proposal_pending
FROM {_T["delivery"]} d
JOIN {_T["order"]} o ON o.id = d.order_id
JOIN {_T["line"]} l ON l.id = d.line_id
LEFT JOIN {_T["item"]} i ON i.id = l.item_id
WHERE d.vendor_id = %(vendor)s AND o.vendor_id = %(vendor)s
  AND d.status = 'open' AND o.status = 'issued'
ORDER BY d.due_date, o.number, l.line_number, d.id
LIMIT 500
"""  # noqa: S608


def raw_open_lines(vendor_id: int) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(RAW_SQL, {"vendor": vendor_id})
        rows = cursor.fetchall()
    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Open lines (raw)</title>"
        "</head><body><table><thead><tr><th>PO</th><th>Line</th><th>Item</th>"
        "<th>Description</th><th>Vendor part</th><th>Due</th><th>Promised</th>"
        "<th>Quantity</th><th>Received</th><th>Open</th><th>Unit price</th>"
        "<th>Acknowledgement</th></tr></thead><tbody>\n"
    ]
    for (
        pk, number, revision, currency, line_number, delivery_number, part, description,
        vendor_part, uom, price, due, promised, qty, received, open_qty, acked, proposed,
    ) in rows:  # fmt: skip
        if proposed:
            ack = "change proposed"
        elif acked:
            ack = f"rev {revision} acknowledged"
        else:
            ack = f"rev {revision} not acknowledged"
        out.append(
            f'<tr id="delivery-{pk}"><td><a href="/portal/orders/{escape(number)}/">'
            f"{escape(number)}</a></td><td>{line_number}-{delivery_number}</td>"
            f"<td>{escape(part or '')}</td><td>{escape(description)}</td>"
            f"<td>{escape(vendor_part)}</td><td>{due}</td><td>{promised or ''}</td>"
            f"<td>{qty} {escape(uom)}</td><td>{received}</td><td>{open_qty}</td>"
            f"<td>{price} {escape(currency)}</td><td>{ack}</td></tr>\n"
        )
    out.append("</tbody></table></body></html>")
    return HttpResponse("".join(out))


class RawOpenLinesMiddleware:
    """Answers PATH itself, before any other middleware; passes everything else on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path == PATH:
            return raw_open_lines(int(request.GET["vendor"]))
        return self.get_response(request)
