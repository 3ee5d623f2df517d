"""The product's URLconf plus one bench-only page: `/bench/bare-open-lines/`.

The bare page is the floor the open-lines page is compared with: the same 500 rows (same
columns, filter, order and acknowledgement/proposal flags) read with ONE raw SQL query and
formatted straight into an HTML table with f-strings and `html.escape`. It runs behind the
same middleware stack (sessions, auth, the vendor scope), so the difference between the two
pages is the ORM, the view, the formatting and the template engine.
"""

from __future__ import annotations

from html import escape

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from vendorportal.collaboration.models import Acknowledgement, ChangeProposal
from vendorportal.purchasing.models import Delivery, Item, Line, PurchaseOrder
from vendorportal.urls import urlpatterns as product_urlpatterns

_T = {
    "delivery": Delivery._meta.db_table,
    "order": PurchaseOrder._meta.db_table,
    "line": Line._meta.db_table,
    "item": Item._meta.db_table,
    "ack": Acknowledgement._meta.db_table,
    "proposal": ChangeProposal._meta.db_table,
}

# Table names come from the models, values are parameters.
BARE_SQL = f"""
SELECT d.id, o.number, o.revision, o.currency, l.line_number, d.delivery_number,
       i.part_number, l.description, l.vendor_part_number, l.unit_of_measure, l.unit_price,
       d.due_date, d.promised_date, d.quantity, d.received_quantity,
       d.quantity - d.received_quantity AS open_qty,
       EXISTS (SELECT 1 FROM {_T["ack"]} a
               WHERE a.order_id = o.id AND a.revision = o.revision) AS acknowledged,
       EXISTS (SELECT 1 FROM {_T["proposal"]} p
               WHERE p.delivery_id = d.id AND p.status = 'pending') AS proposal_pending
FROM {_T["delivery"]} d
JOIN {_T["order"]} o ON o.id = d.order_id
JOIN {_T["line"]} l ON l.id = d.line_id
LEFT JOIN {_T["item"]} i ON i.id = l.item_id
WHERE d.vendor_id = %s AND d.status = 'open' AND o.status = 'issued'
ORDER BY d.due_date, o.number, l.line_number, d.id
LIMIT 500
"""  # noqa: S608


def bare_open_lines(request: HttpRequest) -> HttpResponse:
    vendor_id = getattr(request.user, "vendor_id", None)
    if not request.user.is_authenticated or vendor_id is None:
        raise Http404("Vendor logins only.")
    with connection.cursor() as cursor:
        cursor.execute(BARE_SQL, [vendor_id])
        rows = cursor.fetchall()
    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Open lines (bare)</title>"
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


urlpatterns = [
    path("bench/bare-open-lines/", bare_open_lines, name="bench-bare-open-lines"),
    *product_urlpatterns,
]
