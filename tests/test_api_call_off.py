"""Call-offs through the API (issue 13): several releases of a blanket order in one request
make one revision; only the buying company's integration tokens may; a refused release
writes nothing."""

from __future__ import annotations

import pytest

from tests.clock import days
from tests.factories import make_order
from vendorportal.api import tokens
from vendorportal.events.models import Event
from vendorportal.purchasing.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def blanket(vendor_a, buyer):
    return make_order(
        vendor=vendor_a, by=buyer, kind="blanket", lines=[("1000", "1"), ("500", "2")]
    )


def _post(client, secret: str, number: str, body: dict, **headers):
    return client.post(
        f"/api/v1/orders/{number}/call-offs",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
        **headers,
    )


def _releases(*rows):
    return [
        {"line_number": line, "quantity": quantity, "due_date": days(n).isoformat()}
        for line, quantity, n in rows
    ]


def test_an_integration_call_off_is_one_revision(client, blanket, buyer):
    _, secret = tokens.token_create(name="ERP", vendor=None, user=buyer)
    before = blanket.revision
    body = {"releases": _releases((10, "100", 14), (10, "50", 21), (20, "25", 14)), "reason": "MRP"}
    answer = _post(client, secret, blanket.number, body, HTTP_IDEMPOTENCY_KEY="mrp-1")
    assert answer.status_code == 201, answer.content
    data = answer.json()
    assert data["revision"] == before + 1
    assert [(r["line_number"], r["delivery_number"], r["quantity"]) for r in data["releases"]] == [
        (10, 1, "100"),
        (10, 2, "50"),
        (20, 1, "25"),
    ]
    blanket.refresh_from_db()
    assert blanket.revision == before + 1
    assert Event.objects.filter(order=blanket, kind="release.added").count() == 1
    # The same request again (a retry) changes nothing and answers the same.
    again = _post(client, secret, blanket.number, body, HTTP_IDEMPOTENCY_KEY="mrp-1")
    assert again.status_code == 201 and again.json() == data
    assert Delivery.objects.filter(order=blanket).count() == 3


def test_a_release_beyond_the_commitment_refuses_the_whole_call_off(client, blanket, buyer):
    _, secret = tokens.token_create(name="ERP", vendor=None, user=buyer)
    body = {"releases": _releases((10, "100", 14), (20, "600", 21))}
    answer = _post(client, secret, blanket.number, body)
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["details"].get("field")
    assert not Delivery.objects.filter(order=blanket).exists()
    blanket.refresh_from_db()
    assert blanket.revision == 1


def test_vendor_tokens_and_standard_orders_are_refused(client, blanket, vendor_a, buyer, amos):
    _, vendor_secret = tokens.token_create(name="mine", vendor=vendor_a, user=amos)
    body = {"releases": _releases((10, "5", 14))}
    assert _post(client, vendor_secret, blanket.number, body).status_code == 403
    _, secret = tokens.token_create(name="ERP", vendor=None, user=buyer)
    standard = make_order(vendor=vendor_a, by=buyer)
    refused = _post(client, secret, standard.number, body)
    assert (
        refused.status_code == 400 and "not a blanket order" in refused.json()["error"]["message"]
    )
    bad = _post(client, secret, blanket.number, {"releases": []})
    assert bad.status_code == 422
    assert not Delivery.objects.filter(order=blanket).exists()
