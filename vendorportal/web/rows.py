"""The open-lines table body, rendered in Python.

This is the portal's hottest path: a supplier reconciling wants all its open deliveries
(500 and more) on one screen, and every cell through a template engine costs more than
the query. So the rows are plain f-strings over the dicts the selector returns; every
text value goes through `escape`, numbers and dates through `formatting`. The markup
mirrors the column headers in templates/shared/open_lines.html: change both together.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any
from urllib.parse import quote

from vendorportal.web.formatting import date, money, quantity


def _ack_badge(row: dict[str, Any]) -> str:
    if row["proposal_pending"]:
        return '<span class="badge warn">change proposed</span>'
    revision = row["order__revision"]
    if row["acknowledged"]:
        return f'<span class="badge ok">rev {revision} acknowledged</span>'
    return f'<span class="badge bad">rev {revision} not acknowledged</span>'


def open_line_rows_html(rows: Iterable[dict[str, Any]], *, order_url: str, internal: bool) -> str:
    """`<tr>` elements for the open-lines table; `order_url` is the order page path prefix."""
    out = []
    for r in rows:
        number = escape(r["order__number"])
        overdue = r["overdue"]
        row_class = ' class="overdue"' if overdue else ""
        late = ' <span class="badge bad">overdue</span>' if overdue else ""
        vendor = (
            f'<td title="{escape(r["vendor__name"])}">{escape(r["vendor__code"])}</td>'
            if internal
            else ""
        )
        out.append(
            f'<tr id="delivery-{r["id"]}"{row_class}>{vendor}'
            f'<td><a href="{order_url}{quote(r["order__number"])}/">{number}</a></td>'
            f"<td>{r['line__line_number']}-{r['delivery_number']}</td>"
            f"<td>{escape(r['line__item__part_number'] or '')}</td>"
            f'<td class="wrap-text">{escape(r["line__description"])}</td>'
            f"<td>{escape(r['line__vendor_part_number'])}</td>"
            f"<td>{date(r['due_date'])}"
            f"{late}</td>"
            f"<td>{date(r['promised_date'])}</td>"
            f'<td class="num">{quantity(r["quantity"])} {escape(r["line__unit_of_measure"])}</td>'
            f'<td class="num">{quantity(r["received_quantity"])}</td>'
            f'<td class="num"><strong>{quantity(r["open_qty"])}</strong></td>'
            f'<td class="num">{money(r["line__unit_price"])} {escape(r["order__currency"])}</td>'
            f"<td>{_ack_badge(r)}</td></tr>\n"
        )
    return "".join(out)
