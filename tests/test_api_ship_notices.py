"""Ship notices through the API: a supplier's token announces on its own orders, a retry
with the same Idempotency-Key changes nothing, refusals name the field and write nothing,
and no token sees another vendor's notices."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.clock import days
from tests.factories import make_order
from tests.test_purchasing_properties import fingerprint
from vendorportal.api import tokens
from vendorportal.purchasing import services
from vendorportal.purchasing.models import ShipNotice

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(vendor_a, buyer):
    return make_order(vendor=vendor_a, by=buyer, lines=[("100", "2"), ("50", "3")])


def _body(order, *lines, **more):
    return {
        "order_number": order.number,
        "expected_date": days(3).isoformat(),
        "carrier": "DHL",
        "tracking_number": "JD0001",
        "lines": [{"line_number": ln, "quantity": q} for ln, q in lines],
        **more,
    }


def _post(client, secret, body, **headers):
    return client.post(
        "/api/v1/ship-notices",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
        **headers,
    )


def _get(client, secret, path):
    return client.get(f"/api/v1{path}", HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_a_supplier_announces_and_reads_its_notice(client, order, amos, buyer):
    _, secret = tokens.token_create(name="WMS", vendor=amos.vendor, user=amos)
    body = _body(order, (10, "40"), (20, "50"))
    answer = _post(client, secret, body, HTTP_IDEMPOTENCY_KEY="asn-1")
    assert answer.status_code == 201, answer.content
    data = answer.json()
    assert (data["status"], data["order_number"], data["carrier"]) == (
        "submitted",
        order.number,
        "DHL",
    )
    assert [
        (r["line_number"], Decimal(r["announced_quantity"]), r["difference_kind"])
        for r in data["lines"]
    ] == [(10, 40, None), (20, 50, None)]
    again = _post(client, secret, body, HTTP_IDEMPOTENCY_KEY="asn-1")
    assert again.status_code == 201 and again.json() == data
    assert ShipNotice.objects.count() == 1

    # Received short by the buyer: the API shows the difference.
    notice = ShipNotice.objects.get()
    delivery = order.deliveries.get(line__line_number=10)
    services.receipt_record(
        order=order,
        by=buyer,
        ship_notice=notice,
        lines=[services.ReceiptLineInput(delivery, "30")],
    )
    one = _get(client, secret, f"/ship-notices/{notice.pk}").json()
    assert one["status"] == "partially_received"
    first = one["lines"][0]
    assert (
        Decimal(first["received_quantity"]),
        Decimal(first["difference"]),
        first["difference_kind"],
    ) == (30, -10, "short")
    listed = _get(client, secret, "/ship-notices?status=partially_received").json()
    assert [n["id"] for n in listed["items"]] == [notice.pk]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            {"lines": [{"line_number": 10, "quantity": "500"}]},
            "quantity",
            "more than can still come",
        ),
        ({"lines": [{"line_number": 99, "quantity": "1"}]}, "lines.0", "has no line 99"),
        ({"lines": []}, "lines", ""),
        ({"expected_date": "2026-13-01"}, "expected_date", ""),
        ({"carrier": "x" * 101}, "carrier", ""),
        ({"surprise": 1}, "surprise", ""),
        ({"ship_date": days(5).isoformat()}, "expected_date", "is before the ship date"),
    ],
)
def test_bad_input_is_refused_naming_the_field(client, order, amos, change, field, words):
    _, secret = tokens.token_create(name="WMS", vendor=amos.vendor, user=amos)
    before = fingerprint()
    answer = _post(client, secret, {**_body(order, (10, "5")), **change})
    # 422: the request's shape (schema); 400: a rule of the service.
    assert answer.status_code in (400, 422), answer.content
    error = answer.json()["error"]
    assert field in str(error["details"]), error
    assert words in error["message"]
    assert fingerprint() == before


def test_another_vendor_cannot_announce_or_read(client, order, amos, bob):
    _, mine = tokens.token_create(name="WMS", vendor=amos.vendor, user=amos)
    _, theirs = tokens.token_create(name="Other", vendor=bob.vendor, user=bob)
    created = _post(client, mine, _body(order, (10, "5"))).json()
    assert _post(client, theirs, _body(order, (10, "5"))).status_code == 404
    assert _get(client, theirs, f"/ship-notices/{created['id']}").status_code == 404
    assert _get(client, theirs, "/ship-notices").json()["items"] == []
    assert ShipNotice.objects.count() == 1


def test_a_read_only_token_cannot_announce(client, order, amos):
    _, secret = tokens.token_create(name="BI", vendor=amos.vendor, user=amos, read_only=True)
    assert _post(client, secret, _body(order, (10, "5"))).status_code == 403
    assert not ShipNotice.objects.exists()


def test_the_buying_companys_integration_token_may_announce(client, order, buyer):
    _, secret = tokens.token_create(name="ERP", vendor=None, user=buyer)
    answer = _post(client, secret, _body(order, (10, "5"), submit=False))
    assert answer.status_code == 201, answer.content
    assert answer.json()["status"] == "draft"
