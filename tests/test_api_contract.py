"""The API's schema states each field's rule, and the API enforces exactly that (issue 14,
case 8): what the schema allows is not refused as malformed, what it forbids is refused
with 422 naming the field. `make api-fuzz` checks the same with schemathesis; these pin the
rules themselves, validated with a JSON Schema validator against the served schema.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import jsonschema_rs
import pytest

from tests import clock
from tests.factories import make_order
from tests.test_api import Api, schema, token_for
from vendorportal.api.types import DecimalRule, days_pattern
from vendorportal.collaboration.models import ChangeProposal
from vendorportal.purchasing import rules
from vendorportal.purchasing.models import Vendor

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(vendor_a, buyer):
    return make_order(vendor=vendor_a, by=buyer, number="PO-CONTRACT-1")


@pytest.fixture
def as_amos(amos, vendor_a):
    return Api(token_for(amos, vendor=vendor_a))


def component(name: str) -> dict:
    document = schema()
    return {**document["components"]["schemas"][name], "components": document["components"]}


def allowed(name: str, instance: dict) -> bool:
    # The validator schemathesis uses (Rust's jsonschema).
    return jsonschema_rs.validator_for(component(name), validate_formats=True).is_valid(instance)


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (dt.date(2021, 12, 7), dt.date(2036, 12, 7)),
        (dt.date(2024, 2, 29), dt.date(2034, 2, 28)),  # from a leap day
        (dt.date(2026, 3, 5), dt.date(2026, 3, 9)),  # within one month
        (dt.date(2026, 11, 30), dt.date(2027, 1, 2)),  # over a new year
    ],
)
def test_the_date_pattern_matches_exactly_the_days_of_the_window(first, last):
    pattern = re.compile(days_pattern(first, last))
    day = first - dt.timedelta(days=400)
    while day <= last + dt.timedelta(days=400):
        assert bool(pattern.fullmatch(day.isoformat())) == (first <= day <= last), day
        day += dt.timedelta(days=1)
    for impossible in ("2026-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-1-05"):
        assert not pattern.fullmatch(impossible)


def test_the_served_schema_states_the_window_of_today():
    first, last = rules.date_window()
    due = component("ProposalIn")["properties"]["due_date"]["anyOf"][0]
    assert re.fullmatch(due["pattern"], first.isoformat())
    assert re.fullmatch(due["pattern"], last.isoformat())
    assert not re.fullmatch(due["pattern"], (first - dt.timedelta(days=1)).isoformat())
    assert not re.fullmatch(due["pattern"], (last + dt.timedelta(days=1)).isoformat())
    assert first.isoformat() in due["description"]


def test_a_body_names_its_fields_and_nothing_else(as_amos, order):
    assert component("ProposalIn")["additionalProperties"] is False
    assert component("OrderIn")["additionalProperties"] is False
    misspelt = as_amos.post(
        f"/orders/{order.number}/proposals",
        {"line_number": 1, "delivery_number": 1, "reason": "Late", "due_dte": "2027-01-05"},
    )
    assert misspelt.status_code == 422
    assert misspelt.data["error"]["details"]["field"] == "due_dte"
    assert not ChangeProposal.objects.exists()


@pytest.mark.parametrize(
    ("value", "schema_allows"),
    [
        ("12", True),
        ("0.5", True),
        ("0012.2500", True),
        (12, True),
        (0.0003, True),
        (3 * 0.0001, False),  # 0.00030000000000000003: more than 4 places, as written
        ("0", False),
        ("0.0000", False),
        ("-1", False),
        ("1e3", False),
        (".5", False),
        ("1.23456", False),
        ("١٢", False),
        ("1000000000000", False),
        (0, False),
        (1.23456, False),
    ],
)
def test_a_quantity_is_what_its_schema_says(value, schema_allows):
    rule = DecimalRule(positive=True)
    assert jsonschema_rs.validator_for(rule.json_schema()).is_valid(value) is schema_allows
    if schema_allows:
        assert rule.check(value) > 0
    else:
        with pytest.raises(Exception):  # noqa: B017 - a pydantic or a domain refusal
            rule.check(value)


def test_a_json_number_is_read_as_written():
    assert DecimalRule(positive=True).check(0.0003) == Decimal("0.0003")
    assert DecimalRule(positive=False).check(12.5) == Decimal("12.5")
    assert DecimalRule(positive=False).check(123456789.1234) == Decimal("123456789.1234")


@pytest.mark.parametrize(
    ("body", "schema_allows", "status"),
    [
        ({"body": "Ships Friday"}, True, 201),
        ({"body": "  \n "}, False, 422),  # only spaces: nothing said
        ({"body": "tab\tand\nbreaks are fine"}, True, 201),
        ({"body": "bell\x07"}, False, 422),
        ({"body": "x", "line_number": 0}, False, 422),
        ({"body": "x", "author": "someone else"}, False, 422),
    ],
)
def test_a_comment_is_refused_exactly_when_its_schema_forbids_it(
    as_amos, order, body, schema_allows, status
):
    assert allowed("CommentIn", body) is schema_allows
    answer = as_amos.post(f"/orders/{order.number}/comments", body)
    assert answer.status_code == status, answer.data


@pytest.mark.parametrize(
    ("body", "schema_allows"),
    [
        ({"revision": 1, "response": "accepted"}, True),
        ({"revision": 1, "response": "rejected", "comment": "No capacity"}, True),
        ({"revision": 1, "response": "rejected"}, False),
        ({"revision": 1, "response": "accepted_with_changes", "comment": " "}, False),
    ],
)
def test_the_schema_says_when_an_acknowledgement_needs_a_comment(
    as_amos, order, body, schema_allows
):
    assert allowed("AcknowledgementIn", body) is schema_allows
    answer = as_amos.post(f"/orders/{order.number}/acknowledgements", body)
    assert answer.status_code == (201 if schema_allows else 422), answer.data
    if not schema_allows:
        assert answer.data["error"]["details"]["field"] == "comment"


def test_every_cursor_the_schema_allows_is_a_position(as_amos, order):
    pattern = schema()["paths"]["/api/v1/orders"]["get"]["parameters"]
    cursor = next(p for p in pattern if p["name"] == "cursor")
    assert "pattern" in str(cursor["schema"])
    past_the_end = as_amos.get("/orders?cursor=999999999999999999-999999999999999999")
    assert past_the_end.status_code == 200 and past_the_end.data["items"] == []
    before_everything = as_amos.get("/orders?cursor=0-0")
    assert [o["number"] for o in before_everything.data["items"]] == [order.number]
    assert as_amos.get("/receipts?cursor=0").status_code == 200
    for malformed in ("abc", "1-2", "-1", "1.5"):
        refused = as_amos.get(f"/receipts?cursor={malformed}")
        assert refused.status_code == 422, malformed
        assert refused.data["error"]["details"]["field"] == "cursor"


def test_a_cursor_pages_through_every_order_once(as_amos, vendor_a, buyer, order):
    for n in range(4):
        make_order(vendor=vendor_a, by=buyer, number=f"PO-CONTRACT-{n + 2}")
    seen, cursor = [], None
    while True:
        page = as_amos.get("/orders?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        seen += [o["number"] for o in page.data["items"]]
        cursor = page.data["next_cursor"]
        if cursor is None:
            break
        assert re.fullmatch(r"[0-9]+-[0-9]+", cursor)
    assert sorted(seen) == sorted(f"PO-CONTRACT-{n}" for n in range(1, 6))


def test_sync_names_a_bad_vendor_code_and_writes_nothing(buyer):
    buyer.is_staff = True
    buyer.save()
    erp = Api(token_for(buyer))
    for code in ("../X", "A B", "x" * 33):
        answer = erp.post("/sync/vendors", {"external_id": "V-9", "code": code, "name": "X"})
        assert answer.status_code == 422 and answer.data["error"]["details"]["field"] == "code"
    assert not Vendor.objects.filter(external_id="V-9").exists()
    due = clock.days(10).isoformat()
    assert allowed("DeliveryIn", {"delivery_number": 1, "quantity": "5", "due_date": due}), (
        "a due date inside the window"
    )
