"""Table rows rendered in Python: the open-lines table and the order page's lines.

These are the portal's hottest paths: a supplier reconciling wants all its open
deliveries (500 and more) on one screen, and an order can have hundreds of deliveries.
Every cell through a template engine (and every action link through `{% url %}`) costs
more than the queries, so the rows are plain f-strings; every text value goes through
`escape`, numbers and dates through `formatting`, and each URL is reversed once per page.
The markup mirrors the column headers in templates/shared/open_lines.html and
templates/shared/order_detail.html: change both together.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from html import escape
from typing import Any

from django.urls import reverse

from vendorportal.purchasing.models import LineStatus, OrderKind, OrderStatus, PurchaseOrder
from vendorportal.purchasing.selectors import LineView
from vendorportal.web.converters import path_segment
from vendorportal.web.formatting import date, money, quantity, status_badge

# ---------------------------------------------------------------------------------------
# Open lines
# ---------------------------------------------------------------------------------------


def _ack_badge(row: dict[str, Any]) -> str:
    if row["proposal_pending"]:
        return '<span class="badge warn">change proposed</span>'
    revision = f'<span class="small muted">rev {row["order__revision"]}</span> '
    if row["acknowledged"]:
        return f'{revision}<span class="badge ok">acknowledged</span>'
    return f'{revision}<span class="badge bad">not acknowledged</span>'


def _row_promise(row: dict[str, Any], date: Any) -> str:
    """The supplier's word on an open delivery (services.editor._Editor._renew_promise)."""
    if row["promised_date"] and row["promised_date"] == row["due_date"]:
        return '<span class="badge ok">confirmed</span>'
    if row["promised_date"]:
        return f"promised {date(row['promised_date'])}"
    return '<span class="muted">not confirmed</span>'


def open_line_rows_html(rows: Iterable[dict[str, Any]], *, order_url: str, internal: bool) -> str:
    """`<tr>` elements for the open-lines table; `order_url` is the order page path prefix."""
    # A page lists many deliveries of few orders, dates, quantities and units: each of
    # those is formatted once per page. (Equal values format alike, so the caches are
    # right for any values; they live as long as this call.)
    order_cell = cache(
        lambda number: f'<td><a href="{order_url}{path_segment(number)}/">{escape(number)}</a></td>'
    )
    formatted_date, formatted_quantity, escaped = cache(date), cache(quantity), cache(escape)
    price = cache(money)
    out = []
    for r in rows:
        if r["overdue"]:
            row_class = ' class="overdue"'
            late = ' <span class="badge bad">overdue</span>'
        else:
            row_class = late = ""
        vendor = (
            f'<td title="{escape(r["vendor__name"])}">{escape(r["vendor__code"])}</td>'
            if internal
            else ""
        )
        out.append(
            f'<tr id="delivery-{r["id"]}"{row_class}>{vendor}{order_cell(r["order__number"])}'
            f"<td>{r['line__line_number']}-{r['delivery_number']}</td>"
            # The item and the supplier's own part number share a cell, as do the due date
            # and the supplier's promise: the table fits a 1280 px screen.
            f"<td>{escape(r['line__item__part_number'] or '')}"
            f'<div class="small muted">{escape(r["line__vendor_part_number"])}</div></td>'
            f'<td class="wrap-text">{escape(r["line__description"])}</td>'
            f"<td>{formatted_date(r['due_date'])}{late}"
            f'<div class="small">{_row_promise(r, formatted_date)}</div></td>'
            f'<td class="num">{formatted_quantity(r["quantity"])} '
            f"{escaped(r['line__unit_of_measure'])}</td>"
            f'<td class="num">{formatted_quantity(r["received_quantity"])}</td>'
            f"{_in_transit_cell(r, formatted_quantity, formatted_date)}"
            f'<td class="num"><strong>{formatted_quantity(r["open_qty"])}</strong></td>'
            f'<td class="num">{price(r["line__unit_price"], r["order__currency"])} '
            f"{escaped(r['order__currency'])}</td>"
            f'<td class="wrap">{_ack_badge(r)}</td></tr>\n'
        )
    return "".join(out)


def _in_transit_cell(row: dict[str, Any], quantity: Any, date: Any) -> str:
    """Announced on ship notices and not yet received, with the latest expected arrival."""
    if not row["in_transit_quantity"]:
        return '<td class="num"></td>'
    expected = f'<div class="small muted">{date(row["expected_date"])}</div>'
    return f'<td class="num">{quantity(row["in_transit_quantity"])}{expected}</td>'


# ---------------------------------------------------------------------------------------
# The order page: its lines, each followed by its deliveries, with the side's actions
# ---------------------------------------------------------------------------------------

_SLOT = "__slot__"
_LINE_STATUS_LABELS: dict[str, str] = dict(LineStatus.choices)


def _promise(delivery: Any, date: Any) -> str:
    """The supplier's word on a delivery as it stands (services.editor._Editor._renew_promise)."""
    if delivery.promised_date and delivery.promised_date == delivery.due_date:
        return ' <span class="badge ok">confirmed</span>'
    if delivery.promised_date:  # older data: a promise for another date
        return f" · promised {date(delivery.promised_date)}"
    if delivery.status == LineStatus.OPEN:
        return ' <span class="muted">· not confirmed</span>'
    return ""


def _status(value: str) -> str:
    label = _LINE_STATUS_LABELS.get(value, value)
    return f'<span class="badge {status_badge(value)}">{escape(label)}</span>'


def _url_with_slot(name: str, *args: Any) -> Callable[[int], str]:
    """`reverse(name, args=[*args, x])` for many `x`: reversed once, then filled in.

    For whole numbers only (ids, line numbers), which need no quoting or escaping; the
    result is escaped for an HTML attribute.
    """
    head, _, tail = escape(reverse(name, args=[*args, _SLOT])).rpartition(_SLOT)
    return lambda value: f"{head}{int(value)}{tail}"


@dataclass(frozen=True)
class RowActions:
    """The buttons at the end of each line and delivery row: what the side may do."""

    line: Callable[[Any], str]
    delivery: Callable[[Any, Any], str]


def _portal_actions(order: PurchaseOrder, csrf_input: str) -> RowActions:
    open_order = order.status == OrderStatus.ISSUED
    propose = escape(reverse("portal:order-propose", args=[order.number]))
    ship = escape(reverse("portal:ship-notice-new", args=[order.number]))
    confirm = _url_with_slot("portal:delivery-confirm", order.number)

    def line(line: Any) -> str:
        if not (open_order and line.status == LineStatus.OPEN):
            return ""
        return (
            f'<a class="btn small secondary" href="{propose}?line={line.line_number}">'
            "Propose price</a>"
        )

    def delivery(line: Any, d: Any) -> str:
        if not (open_order and d.status == LineStatus.OPEN):
            return ""
        propose_link = (
            f'<a class="btn small secondary" href="{propose}?delivery={d.pk}">Propose change</a>'
            f'\n<a class="btn small secondary" href="{ship}?delivery={d.pk}">Ship</a>'
        )
        if d.promised_date == d.due_date:
            return propose_link
        return (
            f'<form class="inline-form" method="post" action="{confirm(d.pk)}">{csrf_input}'
            f'<button class="btn small" type="submit">Confirm</button></form>\n{propose_link}'
        )

    return RowActions(line=line, delivery=delivery)


def _buying_actions(order: PurchaseOrder, csrf_input: str) -> RowActions:
    cancelled = order.status == OrderStatus.CANCELLED
    issued = order.status == OrderStatus.ISSUED
    revise = escape(reverse("buying:order-revise", args=[order.number]))
    release = _url_with_slot("buying:line-release", order.number)
    close = _url_with_slot("buying:line-close", order.number)

    def line(line: Any) -> str:
        if cancelled or line.status != LineStatus.OPEN:
            return ""
        links = [
            f'<a class="btn small secondary" href="{revise}?line={line.line_number}">Change</a>'
        ]
        if order.kind == OrderKind.BLANKET and issued:
            links.append(
                f'<a class="btn small secondary" href="{release(line.line_number)}">Add release</a>'
            )
        if issued:
            links.append(f'<a class="btn small danger" href="{close(line.line_number)}">Close</a>')
        return "\n".join(links)

    def delivery(line: Any, d: Any) -> str:
        if cancelled or LineStatus.CANCELLED in (d.status, line.status):
            return ""
        return f'<a class="btn small secondary" href="{revise}?delivery={d.pk}">Change</a>'

    return RowActions(line=line, delivery=delivery)


def order_row_actions(side: str, order: PurchaseOrder, *, csrf_token: str) -> RowActions:
    """The row actions of `side` ("portal" or "buying"); `csrf_token` for their forms."""
    csrf_input = f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
    return (_portal_actions if side == "portal" else _buying_actions)(order, csrf_input)


def order_line_rows_html(
    lines: list[LineView],
    *,
    order: PurchaseOrder,
    actions: RowActions,
    today: dt.date,
    since: dict[tuple[int, int], str] | None = None,
    last_acknowledged: int | None = None,
    all_releases: bool = True,
) -> str:
    """The `<tr>` elements of the order page's lines table: each line, then its deliveries."""
    if not lines:
        return '<tr><td colspan="11" class="muted">No lines yet.</td></tr>\n'
    blanket = order.kind == OrderKind.BLANKET
    schedule = "Release" if blanket else "Delivery"
    blank_cell = "<td></td>" if blanket else ""
    out = []
    for view in lines:
        line = view.line
        number = line.line_number
        price_proposed = "".join(
            '<span class="badge warn">price change proposed</span>'
            for p in view.pending_proposals
            if not p.delivery_id
        )
        released = f'<td class="num">{quantity(view.released)}</td>' if blanket else ""
        out.append(
            f'<tr id="line-{number}">'
            f"<td><strong>{number}</strong></td>"
            f"<td>{escape(line.item.part_number) if line.item else ''}"
            f'<div class="small muted">{escape(line.vendor_part_number)}</div></td>'
            f'<td class="wrap-text">{escape(line.description)}</td>'
            f'<td class="num">{quantity(line.quantity)} {escape(line.unit_of_measure)}</td>'
            f"{released}"
            f'<td class="num">{quantity(view.received)}</td>'
            f'<td class="num">{quantity(view.remaining)}</td>'
            f'<td class="num">{quantity(view.invoiced)}</td>'
            f'<td class="num">{money(line.unit_price, order.currency)}</td>'
            f'<td class="wrap">{_status(line.status)}\n{price_proposed}</td>'
            f'<td class="wrap">{actions.line(line)}</td></tr>\n'
        )
        proposed = Counter(p.delivery_id for p in view.pending_proposals if p.delivery_id)
        deliveries = view.deliveries
        if blanket and not all_releases:
            # A blanket line lives for a year of call-offs: the releases received in full
            # (or cancelled) are history, folded into one row that unfolds them.
            done = [d for d in deliveries if d.status != LineStatus.OPEN]
            deliveries = [d for d in deliveries if d.status == LineStatus.OPEN]
            if done:
                out.append(
                    f'<tr class="sub folded"><td></td><td colspan="10" class="muted">'
                    f"{len(done)} earlier release{'s' if len(done) != 1 else ''} received "
                    f'or cancelled · <a href="?releases=all#order-lines">show all releases</a>'
                    "</td></tr>\n"
                )
        for d in deliveries:
            late = (
                ' <span class="badge bad">overdue</span>'
                if d.status == LineStatus.OPEN and d.due_date < today
                else ""
            )
            promised = _promise(d, date)
            changes = ' <span class="badge warn">change proposed</span>' * proposed[d.pk]
            if d.in_transit_quantity:
                changes += (
                    f' <span class="badge info">{quantity(d.in_transit_quantity)} in transit'
                    f"{', expected ' + date(d.expected_date) if d.expected_date else ''}</span>"
                )
            what = (since or {}).get((number, d.delivery_number))
            if what:
                changes += f' <span class="badge info">{what} since rev {last_acknowledged}</span>'
            out.append(
                f'<tr class="sub" id="delivery-{d.pk}"><td></td>'
                f'<td colspan="2" class="wrap">{schedule} {number}-{d.delivery_number} · due '
                f"<strong>{date(d.due_date)}</strong>{late}{promised}\n{changes}</td>"
                f'<td class="num">{quantity(d.quantity)}</td>{blank_cell}'
                f'<td class="num">{quantity(d.received_quantity)}</td>'
                f'<td class="num">{quantity(d.open_quantity)} open</td><td></td><td></td>'
                f"<td>{_status(d.status)}</td>"
                f'<td class="wrap">{actions.delivery(line, d)}</td></tr>\n'
            )
    return "".join(out)
