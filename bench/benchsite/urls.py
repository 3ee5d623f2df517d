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


# --------------------------------------------------------------------------------------
# Raw JSON views for bench/api_json.py: the rows of /api/v1/deliveries, /api/v1/orders and
# /api/v1/orders/{number} for a vendor token, read with raw SQL and written with orjson.
# They authenticate the bearer token as the API does (tokens.authenticate), then read the
# same rows: the difference from the API is ninja, the ORM and the answer's building.
# --------------------------------------------------------------------------------------

import datetime as _dt  # noqa: E402
from decimal import Decimal  # noqa: E402
from typing import Any  # noqa: E402

import orjson  # noqa: E402
from django.core.serializers.json import DjangoJSONEncoder  # noqa: E402

from vendorportal.accounts.models import User  # noqa: E402
from vendorportal.purchasing import revisions as _revisions  # noqa: E402
from vendorportal.purchasing.models import Invoice, InvoiceLine, Revision, Vendor  # noqa: E402

_T.update(
    vendor=Vendor._meta.db_table,
    user=User._meta.db_table,
    revision=Revision._meta.db_table,
    invoice=Invoice._meta.db_table,
    invoiceline=InvoiceLine._meta.db_table,
)
_JSON_DEFAULT = DjangoJSONEncoder().default
_PLACES = Decimal("0.0001")
_ZERO = Decimal("0")

RAW_DELIVERIES_SQL = f"""
SELECT d.id, l.line_number, d.delivery_number, d.due_date, d.promised_date, d.quantity,
       d.received_quantity, d.status, o.number, i.part_number, l.description,
       l.vendor_part_number, l.unit_of_measure, l.unit_price,
       EXISTS (SELECT 1 FROM {_T["ack"]} a
               WHERE a.order_id = o.id AND a.revision = o.revision) AS acknowledged
FROM {_T["delivery"]} d
JOIN {_T["order"]} o ON o.id = d.order_id
JOIN {_T["line"]} l ON l.id = d.line_id
LEFT JOIN {_T["item"]} i ON i.id = l.item_id
WHERE d.vendor_id = %s AND o.vendor_id = %s AND d.status = 'open' AND o.status = 'issued'
ORDER BY d.id
LIMIT %s
"""  # noqa: S608

_ORDER_COLUMNS = f"""
SELECT o.id, o.number, v.code, v.name, o.kind, o.status, o.revision,
       EXISTS (SELECT 1 FROM {_T["ack"]} a
               WHERE a.order_id = o.id AND a.revision = o.revision) AS acknowledged,
       o.order_date, o.currency, o.payment_terms, o.incoterms, o.ship_to, o.valid_from,
       o.valid_to, o.notes_to_vendor, o.buyer_id, u.first_name, u.last_name, u.email,
       o.issued_at, o.updated_at
FROM {_T["order"]} o
JOIN {_T["vendor"]} v ON v.id = o.vendor_id
LEFT JOIN {_T["user"]} u ON u.id = o.buyer_id
WHERE o.vendor_id = %s AND o.status <> 'draft'
"""  # noqa: S608
RAW_ORDERS_SQL = _ORDER_COLUMNS + "ORDER BY o.updated_at, o.id\nLIMIT %s"
RAW_ORDER_SQL = _ORDER_COLUMNS + "AND o.number = %s"
RAW_ORDER_LINES_SQL = f"""
SELECT l.id, l.line_number, i.part_number, l.description, l.vendor_part_number,
       l.unit_of_measure, l.quantity, l.unit_price, l.status,
       (SELECT SUM(il.quantity) FROM {_T["invoiceline"]} il
        JOIN {_T["invoice"]} inv ON inv.id = il.invoice_id
        WHERE il.order_line_id = l.id AND inv.status <> 'void' AND inv.vendor_id = %s),
       d.id, d.delivery_number, d.due_date, d.promised_date, d.quantity,
       d.received_quantity, d.status
FROM {_T["line"]} l
LEFT JOIN {_T["item"]} i ON i.id = l.item_id
LEFT JOIN {_T["delivery"]} d ON d.line_id = l.id
WHERE l.order_id = %s
ORDER BY l.line_number, d.delivery_number
"""  # noqa: S608
RAW_REVISIONS_SQL = f"""
SELECT r.number, r.created_at, r.reason, r.changes, a.response
FROM {_T["revision"]} r
LEFT JOIN {_T["ack"]} a ON a.order_id = r.order_id AND a.revision = r.number
                        AND a.vendor_id = %s
WHERE r.order_id = %s
ORDER BY r.number DESC
"""  # noqa: S608


def _dec(value: Any) -> Decimal | None:
    """A decimal column as Django reads it (SQLite hands back floats and ints)."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(repr(value)).quantize(_PLACES)


def _stamp(value: Any) -> Any:
    """A datetime column, aware in UTC (SQLite's are stored naive, in UTC)."""
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value)
    if isinstance(value, _dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=_dt.UTC)
    return value


def _day(value: Any) -> Any:
    return _dt.date.fromisoformat(value) if isinstance(value, str) else value


def _open(status: str, quantity: Decimal, received: Decimal) -> Decimal:
    return max(quantity - received, _ZERO) if status == "open" else _ZERO


def _json_default(value: Any) -> Any:
    kind = type(value)
    if kind is Decimal:
        return str(value)
    if kind is _dt.date:
        return value.isoformat()
    return _JSON_DEFAULT(value)  # datetimes as Django writes them (ms, "Z")


def _raw_json(data: Any) -> HttpResponse:
    body = orjson.dumps(data, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
    return HttpResponse(body, content_type="application/json")


def _vendor_of_token(request: HttpRequest) -> int:
    from vendorportal.api import tokens

    secret = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    token = tokens.authenticate(secret)
    if token is None or token.vendor_id is None:
        raise Http404("Vendor tokens only.")
    return token.vendor_id


def _limit(request: HttpRequest, default: int) -> int:
    return int(request.GET.get("limit", default))


def raw_deliveries(request: HttpRequest) -> HttpResponse:
    vendor_id = _vendor_of_token(request)
    with connection.cursor() as cursor:
        cursor.execute(RAW_DELIVERIES_SQL, [vendor_id, vendor_id, _limit(request, 100)])
        rows = cursor.fetchall()
    items = []
    for (
        pk, line_number, delivery_number, due, promised, qty, received, status, number,
        part, description, vendor_part, uom, price, acked,
    ) in rows:  # fmt: skip
        qty, received = _dec(qty), _dec(received)
        items.append(
            {
                "id": pk,
                "line_number": line_number,
                "delivery_number": delivery_number,
                "due_date": _day(due),
                "promised_date": _day(promised),
                "quantity": qty,
                "received_quantity": received,
                "open_quantity": _open(status, qty, received),  # type: ignore[arg-type]
                "status": status,
                "order_number": number,
                "part_number": part,
                "description": description,
                "vendor_part_number": vendor_part,
                "unit_of_measure": uom,
                "unit_price": _dec(price),
                "revision_acknowledged": bool(acked),
            }
        )
    return _raw_json({"items": items, "next_cursor": None})


def _order_row(row: tuple[Any, ...]) -> dict[str, Any]:
    (
        _pk, number, code, name, kind, status, revision, acked, order_date, currency, terms,
        incoterms, ship_to, valid_from, valid_to, notes, buyer_id, first, last, email,
        issued_at, updated_at,
    ) = row  # fmt: skip
    buyer = None
    if buyer_id is not None:
        buyer = {"name": f"{first} {last}".strip() or email, "email": email}
    return {
        "number": number,
        "vendor": {"code": code, "name": name},
        "kind": kind,
        "status": status,
        "revision": revision,
        "revision_acknowledged": bool(acked),
        "order_date": _day(order_date),
        "currency": currency,
        "payment_terms": terms,
        "incoterms": incoterms,
        "ship_to": ship_to,
        "valid_from": _day(valid_from),
        "valid_to": _day(valid_to),
        "notes_to_vendor": notes,
        "buyer": buyer,
        "issued_at": _stamp(issued_at),
        "updated_at": _stamp(updated_at),
    }


def raw_orders(request: HttpRequest) -> HttpResponse:
    vendor_id = _vendor_of_token(request)
    with connection.cursor() as cursor:
        cursor.execute(RAW_ORDERS_SQL, [vendor_id, _limit(request, 50)])
        rows = cursor.fetchall()
    return _raw_json({"items": [_order_row(r) for r in rows], "next_cursor": None})


def raw_order(request: HttpRequest, number: str) -> HttpResponse:
    """Three queries: the header, the lines with their deliveries, the revisions with
    their acknowledgements."""
    vendor_id = _vendor_of_token(request)
    with connection.cursor() as cursor:
        cursor.execute(RAW_ORDER_SQL, [vendor_id, number])
        header = cursor.fetchone()
        if header is None:
            raise Http404("No such order.")
        cursor.execute(RAW_ORDER_LINES_SQL, [vendor_id, header[0]])
        line_rows = cursor.fetchall()
        cursor.execute(RAW_REVISIONS_SQL, [vendor_id, header[0]])
        revision_rows = cursor.fetchall()
    blanket = header[4] == "blanket"
    lines: list[dict[str, Any]] = []
    total = _ZERO
    current: dict[str, Any] | None = None
    for (
        line_id, line_number, part, description, vendor_part, uom, qty, price, status,
        invoiced, d_id, d_number, due, promised, d_qty, d_received, d_status,
    ) in line_rows:  # fmt: skip
        if current is None or current["_id"] != line_id:
            current = {
                "_id": line_id,
                "line_number": line_number,
                "part_number": part,
                "description": description,
                "vendor_part_number": vendor_part,
                "unit_of_measure": uom,
                "quantity": _dec(qty),
                "unit_price": _dec(price),
                "status": status,
                "released_quantity": _ZERO,
                "received_quantity": _ZERO,
                "invoiced_quantity": _dec(invoiced) if invoiced is not None else _ZERO,
                "open_quantity": _ZERO,
                "remaining_quantity": _ZERO,
                "deliveries": [],
            }
            lines.append(current)
        if d_id is not None:
            d_qty, d_received = _dec(d_qty), _dec(d_received)
            open_qty = _open(d_status, d_qty, d_received)  # type: ignore[arg-type]
            if d_status != "cancelled":
                current["released_quantity"] += d_qty
            current["received_quantity"] += d_received
            current["open_quantity"] += open_qty
            current["deliveries"].append(
                {
                    "id": d_id,
                    "line_number": line_number,
                    "delivery_number": d_number,
                    "due_date": _day(due),
                    "promised_date": _day(promised),
                    "quantity": d_qty,
                    "received_quantity": d_received,
                    "open_quantity": open_qty,
                    "status": d_status,
                }
            )
    for line in lines:
        del line["_id"]
        base = line["released_quantity"] if blanket else line["received_quantity"]
        line["remaining_quantity"] = max(line["quantity"] - base, _ZERO)
        if line["status"] != "cancelled":
            total += line["quantity"] * line["unit_price"]
    history = []
    for rev_number, created_at, reason, changes, response in revision_rows:
        if isinstance(changes, str):
            changes = orjson.loads(changes)
        history.append(
            {
                "number": rev_number,
                "created_at": _stamp(created_at),
                "reason": reason,
                "acknowledgement": response,
                "changes": [
                    _revisions.describe_change(c) for c in _revisions.visible_changes(changes)
                ],
            }
        )
    summary = _order_row(header)
    summary["revision_acknowledged"] = any(
        r["number"] == header[6] and r["acknowledgement"] is not None for r in history
    )
    return _raw_json({**summary, "total_amount": total, "lines": lines, "revisions": history})


urlpatterns += [
    path("bench/raw/deliveries/", raw_deliveries, name="bench-raw-deliveries"),
    path("bench/raw/orders/", raw_orders, name="bench-raw-orders"),
    path("bench/raw/orders/<str:number>/", raw_order, name="bench-raw-order"),
]
