"""The big pages run a constant number of queries, however many rows they show."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import ItemFactory
from vendorportal.collaboration import services as collaboration
from vendorportal.purchasing import services

pytestmark = pytest.mark.django_db
D = Decimal


def make_orders(vendor, buyer, *, orders: int, lines: int, deliveries: int, prefix: str):
    item = ItemFactory()
    made = []
    for n in range(orders):
        order = services.order_create(
            vendor=vendor,
            by=buyer,
            number=f"{prefix}-{n}",
            lines=[
                services.LineInput(
                    item=item,
                    quantity=D(deliveries * 10),
                    unit_price=D("1.5"),
                    deliveries=[
                        services.DeliveryInput(D(10), dt.date(2026, 12, 1) + dt.timedelta(days=d))
                        for d in range(deliveries)
                    ],
                )
                for _ in range(lines)
            ],
        )
        made.append(services.order_issue(order=order, by=buyer))
    return made


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_open_lines_queries_do_not_grow_with_rows(client, vendor_a, vendor_b, buyer, amos, bob):
    make_orders(vendor_a, buyer, orders=2, lines=5, deliveries=1, prefix="A")  # 10 deliveries
    make_orders(vendor_b, buyer, orders=100, lines=5, deliveries=1, prefix="B")  # 500
    client.force_login(amos)
    small = queries(client, "/portal/open-lines/")
    assert client.get("/portal/open-lines/").content.decode().count('<tr id="delivery-') == 10
    client.force_login(bob)
    large = queries(client, "/portal/open-lines/")
    assert client.get("/portal/open-lines/").content.decode().count('<tr id="delivery-') == 500
    assert small == large, (small, large)


def test_order_page_queries_do_not_grow_with_deliveries(client, vendor_a, buyer, amos):
    small_order = make_orders(vendor_a, buyer, orders=1, lines=2, deliveries=5, prefix="S")[0]
    large_order = make_orders(vendor_a, buyer, orders=1, lines=50, deliveries=10, prefix="L")[0]
    for order in (small_order, large_order):
        first = order.lines.first()
        delivery = first.deliveries.first()
        services.receipt_record(
            order=order, by=buyer, lines=[services.ReceiptLineInput(delivery, D(5))]
        )
        services.invoice_record(
            vendor=vendor_a,
            number=f"INV-{order.number}",
            by=buyer,
            lines=[services.InvoiceLineInput(first, D(5), D("1.5"))],
        )
        collaboration.proposal_create(
            order=order, line=first, delivery=delivery, by=amos, quantity=D(8), reason="less"
        )
        collaboration.comment_add(order=order, by=amos, body="A question")
    client.force_login(amos)
    small = queries(client, f"/portal/orders/{small_order.number}/")
    large = queries(client, f"/portal/orders/{large_order.number}/")
    assert small == large, (small, large)
    client.force_login(buyer)
    assert queries(client, f"/buying/orders/{small_order.number}/") == queries(
        client, f"/buying/orders/{large_order.number}/"
    )


def synced_order(external_id: str, vendor, lines: int):
    from vendorportal.purchasing import sync

    return sync.OrderRecord(
        external_id=external_id,
        number=external_id,
        vendor_external_id=vendor.external_id,
        lines=tuple(
            sync.LineRecord(
                line_number=10 * (n + 1),
                quantity=D(20),
                unit_price=D("2.5"),
                description=f"Part {n}",
                deliveries=(
                    sync.DeliveryRecord(1, D(10), dt.date(2026, 12, 1)),
                    sync.DeliveryRecord(2, D(10), dt.date(2026, 12, 15)),
                ),
            )
            for n in range(lines)
        ),
    )


def test_a_synced_issued_order_costs_the_same_statements_for_2_or_40_lines(vendor_a, buyer):
    """The ERP sync creates thousands of orders: each in a fixed number of statements."""
    from vendorportal.purchasing import sync

    vendor_a.external_id = "ERP-V-A"
    vendor_a.save()
    counts = []
    for external_id, lines in (("ERP-SMALL", 2), ("ERP-LARGE", 40)):
        with CaptureQueriesContext(connection) as captured:
            order, outcome = sync.order_upsert(
                record=synced_order(external_id, vendor_a, lines), by=buyer
            )
        assert outcome == "created"
        assert (order.status, order.revision) == ("issued", 1)
        assert order.deliveries.count() == 2 * lines
        counts.append(len(captured))
    # A bulk INSERT is one statement, except where the database caps the parameters of
    # one statement (SQLite: 999): 80 deliveries of 13 columns then go in two.
    from vendorportal.purchasing.models import Delivery

    columns = len([f for f in Delivery._meta.concrete_fields if not f.primary_key])
    limit = connection.features.max_query_params
    split = -(-(80 * columns) // limit) - 1 if limit else 0
    assert counts[1] == counts[0] + split, (counts, split)
    assert counts[1] <= 20, counts
    from vendorportal.purchasing import revisions

    stored = order.revisions.get().snapshot
    assert stored == revisions.order_snapshot(order)
    print(f"statements per synced issued order: {counts[1]}")
    # Sent again unchanged, it changes nothing: the in-memory revision snapshot is what
    # a read from the database gives.
    for external_id, lines in (("ERP-SMALL", 2), ("ERP-LARGE", 40)):
        order, outcome = sync.order_upsert(
            record=synced_order(external_id, vendor_a, lines), by=buyer
        )
        assert (outcome, order.revision) == ("unchanged", 1)


# --- the JSON API's big reads -------------------------------------------------------------


def api_queries(secret: str, url: str, rows: int, key: str = "items") -> int:
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.get(url)  # the token's last use is noted at most once a minute: not counted
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.content
    body = response.json()
    found = (
        sum(len(line["deliveries"]) for line in body["lines"]) if key == "lines" else len(body[key])
    )
    assert found == rows, (url, found, rows)
    return len(context.captured_queries)


@pytest.mark.parametrize("who", ["vendor", "integration"])
def test_api_reads_cost_the_same_queries_for_2_or_30_rows(who, vendor_a, vendor_b, buyer, amos):
    from vendorportal.api import tokens

    make_orders(vendor_a, buyer, orders=30, lines=1, deliveries=1, prefix="A")
    small = make_orders(vendor_a, buyer, orders=1, lines=2, deliveries=1, prefix="SMALL")[0]
    big = make_orders(vendor_a, buyer, orders=1, lines=6, deliveries=5, prefix="BIG")[0]
    make_orders(vendor_b, buyer, orders=3, lines=2, deliveries=2, prefix="B")
    # Acknowledged, with a proposal and an invoice: every part of the answers has rows.
    for order in (small, big):
        collaboration.acknowledgement_record(
            order=order, revision=order.revision, response="accepted", comment="", by=amos
        )
        first = order.lines.first()
        services.invoice_record(
            vendor=vendor_a,
            number=f"INV-{order.number}",
            by=buyer,
            lines=[services.InvoiceLineInput(first, D(5), D("1.5"))],
        )
    if who == "vendor":
        _, secret = tokens.token_create(name="q", vendor=vendor_a, user=amos)
    else:
        _, secret = tokens.token_create(name="q", vendor=None, user=buyer)
    for url, small_url, large_url, key in (
        ("deliveries", "/api/v1/deliveries?limit=2", "/api/v1/deliveries?limit=30", "items"),
        ("orders", "/api/v1/orders?limit=2", "/api/v1/orders?limit=30", "items"),
        ("one order", f"/api/v1/orders/{small.number}", f"/api/v1/orders/{big.number}", "lines"),
    ):
        two = api_queries(secret, small_url, 2, key)
        thirty = api_queries(secret, large_url, 30, key)
        assert two == thirty, (url, two, thirty)
        assert thirty <= 8, (url, thirty)
