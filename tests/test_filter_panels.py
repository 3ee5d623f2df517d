"""A list page's filters fold on a phone (issue 13): each filter form is inside
`<details class="filters">`, whose summary says how many filters are set, open by itself
when the form has an error. (How it looks at 390 and 1280 px: tests/test_layout.py.)"""

from __future__ import annotations

import re

import pytest

from tests.clock import days
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def panel(html: str) -> tuple[str, str]:
    """(the <details> tag, its summary's text) of the page's filter panel."""
    match = re.search(
        r'(<details class="filters"[^>]*>)\s*<summary>(.*?)</summary>\s*<form class="filters"',
        html,
        re.S,
    )
    assert match, "no folded filter panel"
    return match[1], match[2]


@pytest.fixture
def order(vendor_a, buyer):
    return make_order(vendor=vendor_a, by=buyer, number="PO-PANEL-1", due=days(15))


@pytest.mark.parametrize(
    ("url", "query", "summary"),
    [
        ("/portal/open-lines/", {}, "Filters"),
        ("/portal/open-lines/", {"po": "PANEL", "overdue": "on", "q": " "}, "Filters · 2 active"),
        ("/portal/open-lines/", {"sort": "due", "page": "1"}, "Filters"),  # no filter
        ("/portal/orders/", {}, "Filters"),
        ("/portal/orders/", {"show": "open", "q": ""}, "Filters"),  # the defaults
        ("/portal/orders/", {"show": "all", "q": "PANEL"}, "Filters · 2 active"),
        ("/portal/invoices/", {"show": "all"}, "Filters · 1 active"),
        ("/portal/receipts/", {"q": "R-1"}, "Filters · 1 active"),
    ],
)
def test_the_suppliers_filter_panels_say_how_many_filters_are_set(
    client, amos, order, url, query, summary
):
    client.force_login(amos)
    details, shown = panel(client.get(url, query).content.decode())
    assert (details, shown) == ('<details class="filters">', summary)


def test_the_audit_trails_filter_panel(client, buyer, order):
    client.force_login(buyer)
    details, shown = panel(client.get("/buying/audit/", {"action": "order"}).content.decode())
    assert (details, shown) == ('<details class="filters">', "Filters · 1 active")
    refused = client.get("/buying/audit/", {"ip": "not an address"}).content.decode()
    assert panel(refused) == ('<details class="filters" open>', "Filters · 1 active")


def test_a_refused_filter_opens_its_panel(client, amos, order):
    client.force_login(amos)
    query = {"due_from": days(20).isoformat(), "due_to": days(10).isoformat()}
    html = client.get("/portal/open-lines/", query).content.decode()
    assert panel(html) == ('<details class="filters" open>', "Filters · 2 active")
    assert "The end of the due range is before its start." in html
