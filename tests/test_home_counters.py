"""Every counter on both homes opens exactly the rows it counts (issue 13).

The world holds one of each thing a counter could count wrongly: an order acknowledged and
one not, an order with two pending proposals (one order, not two), deliveries due inside
and outside the 14 days, one overdue, an invoice with an exception and a paid one with an
exception (not waiting on anybody), and another vendor's orders (never counted).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest

from tests import clock
from tests.factories import make_order
from tests.test_purchasing_services import receive
from vendorportal.collaboration import services as collaboration
from vendorportal.collaboration.models import AcknowledgementResponse
from vendorportal.purchasing import services
from vendorportal.web import formatting

pytestmark = pytest.mark.django_db
D = Decimal

CARD = re.compile(
    r'<a class="card[^"]*" href="([^"]+)"><div class="figure">([0-9,]+)</div>'
    r'<div class="label">([^<]+)'
)
ROW = re.compile(r'<tr id="(order|delivery|invoice)-([^"]+)"')


@pytest.fixture
def world(vendor_a, vendor_b, buyer, amos):
    today = clock.TODAY
    acknowledged = make_order(vendor=vendor_a, by=buyer, due=today + dt.timedelta(days=3))
    collaboration.acknowledgement_record(
        order=acknowledged, revision=1, response=AcknowledgementResponse.ACCEPTED, by=amos
    )
    make_order(vendor=vendor_a, by=buyer, due=today + dt.timedelta(days=14))  # the last day
    make_order(vendor=vendor_a, by=buyer, due=today + dt.timedelta(days=15))  # outside
    late = make_order(vendor=vendor_a, by=buyer, due=today + dt.timedelta(days=30))
    services.order_revise(
        order=late,
        by=buyer,
        changes=[services.SetDelivery(10, 1, "due_date", today - dt.timedelta(days=2))],
    )
    asked = make_order(vendor=vendor_a, by=buyer, lines=[("100", "2.50"), ("50", "4")])
    for line in asked.lines.all():
        collaboration.proposal_create(
            order=asked, line=line, by=amos, unit_price=D("5"), reason="Steel surcharge"
        )
    make_order(vendor=vendor_a, by=buyer, issue=False)  # a draft: counted nowhere
    make_order(vendor=vendor_b, by=buyer, due=today + dt.timedelta(days=1))
    receive(acknowledged, 10, "60", buyer)  # partly: still open, still due
    line = acknowledged.lines.get()
    exception = services.invoice_record(
        vendor=vendor_a,
        number="INV-1",
        by=buyer,
        lines=[services.InvoiceLineInput(line, D(40), D("2.75"))],  # price variance
    )
    paid = services.invoice_record(
        vendor=vendor_a,
        number="INV-2",
        by=buyer,
        lines=[services.InvoiceLineInput(line, D(10), D("2.75"))],
    )
    services.payment_record(invoice=paid, amount=paid.total_amount, by=buyer)
    # The supplier's invoice for the last 10 received, sent from the portal: to approve.
    services.invoice_submit(
        order=acknowledged,
        number="INV-3",
        by=amos,
        lines=[services.InvoiceLineInput(line, D(10), D("2.50"))],
    )
    return {"exception": exception}


def cards(client, home: str) -> list[tuple[str, int, str]]:
    page = client.get(home)
    assert page.status_code == 200
    found = [
        (html.unescape(href), int(figure.replace(",", "")), label.strip())
        for href, figure, label in CARD.findall(page.content.decode())
    ]
    assert found, "no counters on the home page"
    return found


def rows_behind(client, href: str) -> set[tuple[str, str]]:
    page = client.get(href)
    assert page.status_code == 200, href
    return set(ROW.findall(page.content.decode()))


@pytest.mark.parametrize("side", ["portal", "buying"])
def test_every_counter_opens_exactly_the_rows_it_counts(client, world, amos, buyer, side):
    client.force_login(amos if side == "portal" else buyer)
    counters = cards(client, f"/{side}/")
    expected_labels = {
        "portal": {
            "Open orders": 5,
            "Orders to acknowledge": 4,
            "Deliveries due in 14 days": 2,
            "Overdue deliveries": 1,
            "Orders with a proposal waiting on the buyer": 1,
            "Invoices awaiting the buyer's approval": 1,
        },
        "buying": {
            "Open orders": 6,
            "Orders awaiting acknowledgement": 5,
            "Orders with proposals to answer": 1,
            "Overdue deliveries": 1,
            "Unpaid invoices with match exceptions": 1,
            "Invoices to approve": 1,
        },
    }[side]
    seen = {}
    for href, figure, label in counters:
        rows = rows_behind(client, href)
        assert len(rows) == figure, (label, href, figure, rows)
        seen[label.split(" · ")[0]] = figure
    for label, figure in expected_labels.items():
        assert seen[label] == figure, (label, seen)


def test_the_open_invoices_counter_leads_to_the_open_invoices(client, world, amos):
    client.force_login(amos)
    ((href, figure, _),) = [
        c for c in cards(client, "/portal/") if c[2].startswith("Open invoices")
    ]
    assert figure == 1
    assert rows_behind(client, href) == {("invoice", str(world["exception"].pk))}


def test_the_orders_list_shows_value_what_is_open_and_the_next_due_date(
    client, vendor_a, buyer, amos
):
    order = make_order(
        vendor=vendor_a, by=buyer, lines=[("100", "2.50"), ("10", "4")], due=clock.days(9)
    )
    receive(order, 10, "40", buyer)
    client.force_login(amos)
    page = client.get("/portal/orders/?sort=-value").content.decode()
    start = page.index(f'id="order-{order.number}"')
    row = page[start : page.index("</tr>", start)]
    assert "290.00" in row  # 100 x 2.50 + 10 x 4
    assert "190.00" in row and ">70<" in row  # open: 60 x 2.50 + 10 x 4; 70 pieces
    assert f"<td>{formatting.date(clock.days(9))}</td>" in row  # the next due, in the one style
    assert "proposal pending" not in row
