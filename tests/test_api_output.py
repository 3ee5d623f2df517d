"""The big reads (/orders, /orders/{number}, /deliveries) build their answers from plain
rows and write them with orjson: their answers are exactly what ninja's own path (model
instances, validated by the response schema, written by ninja's JSON encoder) gave, for
every token, and hold exactly the fields of their schemas."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from ninja import Schema
from ninja.responses import NinjaJSONEncoder

from tests.test_isolation import SENTINELS, world  # noqa: F401 - the shared fixture
from vendorportal.api import schemas as s
from vendorportal.api import tokens
from vendorportal.collaboration import services as collaboration
from vendorportal.purchasing import access, revisions, selectors, services

pytestmark = pytest.mark.django_db
D = Decimal


def reference_summary(order: Any, acknowledged: bool) -> dict[str, Any]:
    buyer = order.buyer
    return {
        "number": order.number,
        "vendor": {"code": order.vendor.code, "name": order.vendor.name},
        "kind": order.kind,
        "status": order.status,
        "revision": order.revision,
        "revision_acknowledged": acknowledged,
        "order_date": order.order_date,
        "currency": order.currency,
        "payment_terms": order.payment_terms,
        "incoterms": order.incoterms,
        "ship_to": order.ship_to,
        "valid_from": order.valid_from,
        "valid_to": order.valid_to,
        "notes_to_vendor": order.notes_to_vendor,
        "buyer": {"name": buyer.display_name, "email": buyer.email} if buyer else None,
        "issued_at": order.issued_at,
        "updated_at": order.updated_at,
    }


def reference_delivery(d: Any, line_number: int) -> dict[str, Any]:
    return {
        "id": d.pk,
        "line_number": line_number,
        "delivery_number": d.delivery_number,
        "due_date": d.due_date,
        "promised_date": d.promised_date,
        "quantity": d.quantity,
        "received_quantity": d.received_quantity,
        "open_quantity": d.open_quantity,
        "status": d.status,
    }


def through_ninja(schema: type[Schema], data: dict[str, Any]) -> Any:
    """What ninja's own path wrote: validated by the schema, then ninja's encoder."""
    dumped = schema.model_validate(data).model_dump()
    return json.loads(json.dumps(dumped, cls=NinjaJSONEncoder))


def reference_orders(viewer: Any) -> Any:
    rows = (
        access.orders(viewer)
        .select_related("vendor", "buyer")
        .annotate(acknowledged=access.current_revision_acknowledged_for())
        .order_by("updated_at", "id")
    )
    items = [reference_summary(o, bool(o.acknowledged)) for o in rows]
    return through_ninja(s.OrderPage, {"items": items, "next_cursor": None})


def reference_order(viewer: Any, number: str) -> Any:
    order = access.order_or_404(viewer, number)
    view = selectors.order_page(viewer, order)
    lines = [
        {
            "line_number": lv.line.line_number,
            "part_number": lv.line.item.part_number if lv.line.item else None,
            "description": lv.line.description,
            "vendor_part_number": lv.line.vendor_part_number,
            "unit_of_measure": lv.line.unit_of_measure,
            "quantity": lv.line.quantity,
            "unit_price": lv.line.unit_price,
            "status": lv.line.status,
            "released_quantity": lv.released,
            "received_quantity": lv.received,
            "invoiced_quantity": lv.invoiced,
            "open_quantity": lv.open_quantity,
            "remaining_quantity": lv.remaining,
            "deliveries": [reference_delivery(d, lv.line.line_number) for d in lv.deliveries],
        }
        for lv in view.lines
    ]
    history = [
        {
            "number": r.number,
            "created_at": r.created_at,
            "reason": r.reason,
            "acknowledgement": (
                view.acknowledgements[r.number].response
                if r.number in view.acknowledgements
                else None
            ),
            "changes": [revisions.describe_change(c) for c in revisions.visible_changes(r.changes)],
        }
        for r in view.revisions
    ]
    data = {
        **reference_summary(order, view.current_acknowledged),
        "total_amount": view.totals["amount"],
        "lines": lines,
        "revisions": history,
    }
    return through_ninja(s.OrderOut, data)


def reference_deliveries(viewer: Any) -> Any:
    rows = (
        selectors.open_deliveries(viewer, selectors.OpenLineFilters())
        .select_related("order", "line__item")
        .annotate(acknowledged=access.current_revision_acknowledged_for("order"))
        .order_by("id")
    )
    items = [
        {
            **reference_delivery(d, d.line.line_number),
            "order_number": d.order.number,
            "part_number": d.line.item.part_number if d.line.item else None,
            "description": d.line.description,
            "vendor_part_number": d.line.vendor_part_number,
            "unit_of_measure": d.line.unit_of_measure,
            "unit_price": d.line.unit_price,
            "revision_acknowledged": bool(d.acknowledged),
        }
        for d in rows
    ]
    return through_ninja(s.OpenDeliveryPage, {"items": items, "next_cursor": None})


def assert_exact_fields(value: Any, schema: Any) -> None:
    """Every object has exactly its schema's fields (recursively): nothing more."""
    assert set(value) == set(schema.model_fields), (schema.__name__, set(value))
    nested = {
        "vendor": s.VendorRef,
        "buyer": s.PartyOut,
        "lines": s.LineOut,
        "deliveries": s.DeliveryOut,
        "revisions": s.RevisionOut,
    }
    for key, inner in nested.items():
        if key in value and value[key] is not None:
            for item in value[key] if isinstance(value[key], list) else [value[key]]:
                assert_exact_fields(item, inner)


@pytest.fixture
def richer(world, vendor_a, buyer, amos):
    """The isolation world plus an order of odd values: no item, many decimal places,
    an acknowledged revision 1 then a revision 2, a buyer without a name."""
    buyer.first_name = ""
    buyer.save()
    order = services.order_create(
        vendor=vendor_a,
        by=buyer,
        buyer=buyer,
        number="PO-A-ODD",
        payment_terms="Net 30 ünïcode",
        lines=[
            services.LineInput(
                quantity=D("3.1415"),
                unit_price=D("0.0001"),
                description="Free-text line «no item»",
                unit_of_measure="kg",
                deliveries=[
                    services.DeliveryInput(D("1.0005"), dt.date(2026, 12, 3)),
                    services.DeliveryInput(D("2.141"), dt.date(2027, 1, 4)),
                ],
            ),
        ],
    )
    services.order_issue(order=order, by=buyer)
    collaboration.acknowledgement_record(
        order=order, revision=1, response="accepted_with_changes", comment="Fine", by=amos
    )
    return world


@pytest.mark.parametrize("who", ["amos", "bob", "integration"])
def test_the_big_reads_answer_what_ninjas_own_path_answered(who, richer, request, buyer):
    user = buyer if who == "integration" else request.getfixturevalue(who)
    vendor = None if who == "integration" else user.vendor
    _, secret = tokens.token_create(name="out", vendor=vendor, user=user)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    viewer = access.viewer_for(user)
    assert viewer is not None

    def get(url: str) -> Any:
        response = client.get(url)
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "application/json; charset=utf-8"
        body = response.content.decode()
        if who == "bob":
            assert not any(sentinel in body for sentinel in ("PO-A-", "ACME"))
        return json.loads(body)

    with access.scope_for(user):
        expected_orders = reference_orders(viewer)
        expected_deliveries = reference_deliveries(viewer)
        numbers = [o["number"] for o in expected_orders["items"]]
        expected_one = {n: reference_order(viewer, n) for n in numbers}
    orders = get("/api/v1/orders?limit=200")
    assert orders == expected_orders
    deliveries = get("/api/v1/deliveries?limit=200")
    assert deliveries == expected_deliveries
    assert deliveries["items"], "the fixture has open deliveries"
    for number in numbers:
        one = get(f"/api/v1/orders/{number}")
        assert one == expected_one[number], number
        assert_exact_fields(one, s.OrderOut)
    for item in orders["items"]:
        assert_exact_fields(item, s.OrderSummaryOut)
    for item in deliveries["items"]:
        assert_exact_fields(item, s.OpenDeliveryOut)
    everything = json.dumps([orders, deliveries, expected_one])
    for sentinel in SENTINELS:
        # Vendor B's own texts are for vendor B and the buying company; internal ones never.
        if "-B-" not in sentinel or who == "amos":
            assert sentinel not in everything, sentinel
    if who == "amos":
        odd = expected_one["PO-A-ODD"]
        assert odd["lines"][0]["part_number"] is None
        assert odd["lines"][0]["quantity"] == "3.1415"
        assert odd["revisions"][0]["acknowledgement"] == "accepted_with_changes"
        assert odd["buyer"] == {"name": buyer.email, "email": buyer.email}
        assert odd["updated_at"].endswith("Z") and len(odd["updated_at"]) == 24


def test_paging_follows_the_cursor_over_plain_rows(richer, amos):
    _, secret = tokens.token_create(name="out", vendor=amos.vendor, user=amos)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    for url, key in (("/api/v1/deliveries?limit=1", "id"), ("/api/v1/orders?limit=1", "number")):
        whole = client.get(url.replace("limit=1", "limit=200")).json()["items"]
        seen, cursor = [], None
        while True:
            body = client.get(url + (f"&cursor={cursor}" if cursor else "")).json()
            seen += [item[key] for item in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert seen == [item[key] for item in whole] and len(seen) >= 2
