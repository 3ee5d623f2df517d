"""The JSON API v1: tokens, isolation, the screens' rules, and the contract.

Every call goes through `Api.call`, which checks the answer against the OpenAPI schema
(the documented status and body shape of that operation); the last test checks that every
operation in the schema was exercised.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import jsonschema
import pytest
from django.core.management import call_command
from django.test import Client

from tests.factories import UserFactory
from tests.test_isolation import SENTINELS, world  # noqa: F401 - the shared fixture
from vendorportal.accounts.models import Role
from vendorportal.api import tokens
from vendorportal.api.models import ApiToken
from vendorportal.collaboration.models import Acknowledgement, ChangeProposal, Comment
from vendorportal.events.models import Event

pytestmark = pytest.mark.django_db

BASE = "/api/v1"
EXERCISED: set[tuple[str, str]] = set()
_SCHEMA: dict = {}


def schema() -> dict:
    if not _SCHEMA:
        _SCHEMA.update(json.loads(Client().get(f"{BASE}/openapi.json").content))
    return _SCHEMA


def operation_of(method: str, path: str) -> tuple[str, dict]:
    path = path.split("?")[0]
    for template, operations in schema()["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            return template, operations[method.lower()]
    raise AssertionError(f"{method} {path} is not in the schema")


class Api:
    def __init__(self, secret: str | None, cookie_client: Client | None = None) -> None:
        self.client = cookie_client or Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}

    def call(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        files: dict | None = None,
        **headers: str,
    ):
        url = BASE + path
        kwargs = {**self.headers, **headers}
        if files is not None:  # a multipart upload: the fields and files as the client sends
            response = getattr(self.client, method.lower())(url, data=files, **kwargs)
        elif body is not None:
            response = getattr(self.client, method.lower())(
                url, data=json.dumps(body, default=str), content_type="application/json", **kwargs
            )
        else:
            response = getattr(self.client, method.lower())(url, **kwargs)
        template, operation = operation_of(method, url)
        EXERCISED.add((method.upper(), template))
        documented = operation["responses"].get(str(response.status_code))
        assert documented, f"{method} {template} answered {response.status_code}, undocumented"
        content_type = response.get("Content-Type", "").split(";")[0]
        if content_type != "application/json":  # a download: its type must be documented
            assert content_type in documented.get("content", {}), (template, content_type)
            response.data = None
            return response
        payload = response.json()
        body_schema = documented["content"]["application/json"]["schema"]
        jsonschema.validate(
            payload,
            {**body_schema, "components": schema()["components"]},
            cls=jsonschema.Draft202012Validator,
        )
        if response.status_code >= 400:
            assert set(payload) == {"error"} and set(payload["error"]) == {
                "code",
                "message",
                "details",
            }
        response.data = payload
        return response

    def get(self, path: str, **headers: str):
        return self.call("GET", path, **headers)

    def post(self, path: str, body: dict, **headers: str):
        return self.call("POST", path, body, **headers)

    def upload(self, path: str, fields: dict, **headers: str):
        return self.call("POST", path, files=fields, **headers)


def token_for(user, *, vendor=None, read_only=False) -> str:
    _, secret = tokens.token_create(name="test", vendor=vendor, user=user, read_only=read_only)
    return secret


@pytest.fixture
def admin_buyer(db):
    return UserFactory(email="admin@example.com", role=Role.BUYER, is_staff=True)


@pytest.fixture
def as_amos(world, amos, vendor_a):
    return Api(token_for(amos, vendor=vendor_a))


@pytest.fixture
def as_bob(world, bob, vendor_b):
    return Api(token_for(bob, vendor=vendor_b))


@pytest.fixture
def as_erp(world, admin_buyer):
    return Api(token_for(admin_buyer))


# --- the schema ---------------------------------------------------------------------------


def test_schema_and_docs_are_served(client):
    document = schema()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Vendor Portal API"
    assert client.get(f"{BASE}/docs").status_code == 200
    # Every operation documents its errors with the one error body.
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            for status in ("401", "422", "429"):
                assert status in operation["responses"], (method, template, status)


# --- tokens -------------------------------------------------------------------------------


def test_tokens_are_random_shown_once_and_stored_hashed(amos, vendor_a):
    token, secret = tokens.token_create(name="ERP", vendor=vendor_a, user=amos)
    assert secret.startswith("vpt_") and len(secret) >= 4 + 43  # 256 bits, url-safe
    stored = ApiToken.objects.get(pk=token.pk)
    assert secret not in (stored.token_hash, stored.prefix, stored.name)
    assert stored.token_hash == tokens.hash_token(secret) and secret.startswith(stored.prefix)


def test_no_token_a_bad_token_and_a_revoked_token_are_401(world, amos, vendor_a):
    assert Api(None).get("/orders").status_code == 401
    assert Api("vpt_not-a-token").get("/orders").data["error"]["code"] == "unauthenticated"
    token, secret = tokens.token_create(name="x", vendor=vendor_a, user=amos)
    assert Api(secret).get("/orders").status_code == 200
    tokens.token_revoke(token=token)
    assert Api(secret).get("/orders").status_code == 401


def test_a_deactivated_login_stops_its_tokens(world, amos, vendor_a):
    secret = token_for(amos, vendor=vendor_a)
    amos.is_active = False
    amos.save()
    assert Api(secret).get("/orders").status_code == 401


def test_last_use_is_kept(as_amos, amos):
    assert ApiToken.objects.get(user=amos).last_used_at is None
    as_amos.get("/orders")
    assert ApiToken.objects.get(user=amos).last_used_at is not None


def test_cookies_are_ignored(world, amos, bob, vendor_b):
    browser = Client()
    browser.force_login(amos)
    assert Api(None, browser).get("/orders").status_code == 401
    # A session of vendor A beside a token of vendor B: the token alone decides.
    mixed = Api(token_for(bob, vendor=vendor_b), browser)
    numbers = {o["number"] for o in mixed.get("/orders").data["items"]}
    assert numbers == {"PO-B-777"}


def test_only_a_vendor_admin_or_an_administrator_makes_tokens(amos, alice, vendor_a, bob):
    from vendorportal.errors import DomainError

    with pytest.raises(DomainError, match="may not make API tokens"):
        tokens.token_create(name="x", vendor=vendor_a, user=amos, by=amos)
    tokens.token_create(name="x", vendor=vendor_a, user=amos, by=alice)
    with pytest.raises(DomainError, match="active login of ACME"):
        tokens.token_create(name="x", vendor=vendor_a, user=bob, by=alice)


def test_token_command_creates_lists_and_revokes(world, alice, capsys):
    call_command("token", "create", "Supplier ERP", "--vendor", "ACME", "--read-only")
    secret = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(name="Supplier ERP")
    assert token.read_only and token.user == alice and token.vendor.code == "ACME"
    assert Api(secret).get("/orders").status_code == 200
    call_command("token", "list")
    listing = capsys.readouterr().out
    assert token.prefix in listing and secret not in listing
    call_command("token", "revoke", token.prefix)
    assert Api(secret).get("/orders").status_code == 401


class TestTokensPage:
    """The vendor admin's API tokens page, /portal/api-tokens/."""

    def test_a_vendor_admin_makes_a_token_sees_it_once_and_revokes_it(
        self,
        client,
        world,
        alice,
        amos,
    ):
        client.force_login(alice)
        page = client.get("/portal/api-tokens/")
        assert page.status_code == 200 and "No API tokens yet" in page.content.decode()
        made = client.post(
            "/portal/api-tokens/new",
            {"name": "Our ERP", "user": str(amos.public_id), "read_only": "on"},
        )
        body = made.content.decode()
        secret = re.search(r"(vpt_[A-Za-z0-9_-]{43})", body).group(1)
        token = ApiToken.objects.get(name="Our ERP")
        assert token.user == amos and token.read_only and token.created_by == alice
        assert Api(secret).get("/orders").status_code == 200
        again = client.get("/portal/api-tokens/").content.decode()
        assert secret not in again and token.prefix in again
        client.post(f"/portal/api-tokens/{token.pk}/revoke")
        assert Api(secret).get("/orders").status_code == 401

    def test_errors_show_beside_the_field(self, client, world, alice):
        client.force_login(alice)
        answer = client.post("/portal/api-tokens/new", {"name": "", "user": str(alice.public_id)})
        assert answer.status_code == 400
        assert "This field is required" in answer.content.decode()
        assert not ApiToken.objects.exists()

    def test_only_the_vendors_own_admins(self, client, world, alice, amos, bob, vendor_b):
        token, _ = tokens.token_create(name="A's", vendor=world["order"].vendor, user=alice)
        b_admin = UserFactory(email="boss@bolt.example", role=Role.VENDOR_ADMIN, vendor=vendor_b)
        client.force_login(b_admin)
        listing = client.get("/portal/api-tokens/").content.decode()
        assert "A&#x27;s" not in listing and token.prefix not in listing
        assert client.post(f"/portal/api-tokens/{token.pk}/revoke").status_code == 404
        # B's admin cannot make a token acting as one of A's logins.
        made = client.post("/portal/api-tokens/new", {"name": "x", "user": str(alice.public_id)})
        assert made.status_code == 400 and not ApiToken.objects.filter(name="x").exists()
        token.refresh_from_db()
        assert token.revoked_at is None
        for user in (amos, bob):  # not admins
            client.force_login(user)
            assert client.get("/portal/api-tokens/").status_code == 404
            assert client.post(f"/portal/api-tokens/{token.pk}/revoke").status_code == 404


# --- reading ------------------------------------------------------------------------------


def test_a_vendor_lists_only_its_issued_orders(as_amos, as_bob):
    numbers = {o["number"] for o in as_amos.get("/orders").data["items"]}
    assert numbers == {"PO-A-100", "PO-A-200"}  # never the draft, never vendor B's
    assert {o["number"] for o in as_bob.get("/orders").data["items"]} == {"PO-B-777"}


def test_the_integration_token_sees_every_vendor(as_erp):
    numbers = {o["number"] for o in as_erp.get("/orders?limit=200").data["items"]}
    assert {"PO-A-100", "PO-A-200", "PO-B-777", "PO-A-DRAFT"} <= numbers


def test_order_filters_and_cursor_pages(as_amos, world):
    assert {o["number"] for o in as_amos.get("/orders?status=issued").data["items"]} == {
        "PO-A-100",
        "PO-A-200",
    }
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert as_amos.get(f"/orders?updated_since={future.replace('+', '%2B')}").data["items"] == []
    first = as_amos.get("/orders?limit=1").data
    second = as_amos.get(f"/orders?limit=1&cursor={first['next_cursor']}").data
    assert len(first["items"]) == len(second["items"]) == 1
    assert first["items"][0]["number"] != second["items"][0]["number"]
    assert second["next_cursor"] is None
    bad = as_amos.get("/orders?cursor=garbage")
    assert bad.status_code == 422 and "cursor" in bad.data["error"]["message"]


def test_an_order_has_its_lines_deliveries_and_revisions(as_amos, world):
    order = as_amos.get("/orders/PO-A-100").data
    assert order["notes_to_vendor"] == "Please label every box"
    assert [line["line_number"] for line in order["lines"]] == [10, 20]
    first = order["lines"][0]
    assert Decimal(first["received_quantity"]) == 40 and Decimal(first["open_quantity"]) == 60
    assert first["deliveries"][0]["due_date"] == "2026-12-15"
    assert order["revisions"][0]["number"] == order["revision"]
    blanket = as_amos.get("/orders/PO-A-200").data
    assert Decimal(blanket["lines"][0]["released_quantity"]) == 100
    assert Decimal(blanket["lines"][0]["remaining_quantity"]) == 900


def test_foreign_and_missing_are_the_same_404(as_bob):
    foreign = as_bob.get("/orders/PO-A-100")
    missing = as_bob.get("/orders/PO-NOPE")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.data == missing.data


def test_no_internal_field_or_other_vendor_reaches_a_vendor_token(as_amos):
    text = "".join(
        as_amos.get(path).content.decode()
        for path in (
            "/orders?limit=200",
            "/orders/PO-A-100",
            "/orders/PO-A-200",
            "/deliveries",
            "/receipts",
            "/invoices",
            "/events",
        )
    )
    for sentinel in SENTINELS:
        assert sentinel not in text, sentinel


def test_open_deliveries_receipts_invoices_and_events(as_amos, as_bob, world):
    deliveries = as_amos.get("/deliveries").data["items"]
    assert {d["order_number"] for d in deliveries} == {"PO-A-100", "PO-A-200"}
    assert all(Decimal(d["open_quantity"]) > 0 for d in deliveries)
    assert as_amos.get("/deliveries?order_number=PO-A-200").data["items"][0]["quantity"]
    receipts = as_amos.get("/receipts").data["items"]
    assert [(r["order_number"], r["lines"][0]["quantity"]) for r in receipts] == [
        ("PO-A-100", "40.0000")
    ] or Decimal(receipts[0]["lines"][0]["quantity"]) == 40
    (invoice,) = as_amos.get("/invoices").data["items"]
    assert invoice["number"] == "INV-A-1"
    (line,) = invoice["lines"]
    assert line["match_status"] == "price_variance" and Decimal(line["order_unit_price"]) == 2.5
    assert as_amos.get("/invoices?open_only=true").data["items"][0]["number"] == "INV-A-1"
    events = as_amos.get("/events").data["items"]
    assert events and all("SENTINEL" not in e["summary"] for e in events)
    own = Event.objects.filter(vendor=world["order"].vendor, internal=False).count()
    assert len(events) == own
    last = events[-1]["id"]
    assert as_amos.get(f"/events?after={last}").data["items"] == []
    assert all(d["order_number"] == "PO-B-777" for d in as_bob.get("/deliveries").data["items"])


# --- writing ------------------------------------------------------------------------------


def test_acknowledging_the_current_revision_once(as_amos, world):
    order = world["order"]
    order.refresh_from_db()
    answer = as_amos.post(
        f"/orders/{order.number}/acknowledgements",
        {"revision": order.revision, "response": "rejected", "comment": "Cannot meet 15 Dec"},
    )
    assert answer.status_code == 201, answer.data
    assert answer.data["response"] == "rejected"
    assert Acknowledgement.objects.filter(order=order, revision=order.revision).count() == 1
    assert as_amos.get(f"/orders/{order.number}").data["revision_acknowledged"] is True
    again = as_amos.post(
        f"/orders/{order.number}/acknowledgements",
        {"revision": order.revision, "response": "accepted"},
    )
    assert again.status_code == 409 and again.data["error"]["code"] == "already_acknowledged"
    blanket = world["blanket"]
    blanket.refresh_from_db()
    rejected_without_reason = as_amos.post(
        f"/orders/{blanket.number}/acknowledgements",
        {"revision": blanket.revision, "response": "rejected"},
    )
    assert rejected_without_reason.status_code == 422
    assert rejected_without_reason.data["error"]["details"]["field"] == "comment"


def test_a_stale_acknowledgement_is_409_naming_the_current_revision(as_amos, world, buyer):
    from vendorportal.purchasing import services

    order = world["blanket"]
    services.release_add(
        line=order.lines.get(), quantity=Decimal("5"), due_date=dt.date(2026, 12, 20), by=buyer
    )
    order.refresh_from_db()
    answer = as_amos.post(
        f"/orders/{order.number}/acknowledgements", {"revision": 1, "response": "accepted"}
    )
    assert answer.status_code == 409
    assert answer.data["error"]["message"].startswith(
        f"Revision 1 of {order.number} is no longer current: the order is at revision "
        f"{order.revision}."
    )
    assert not Acknowledgement.objects.filter(order=order).exists()


def test_propose_and_comment_with_the_screens_rules(as_amos, world):
    order = world["order"]
    proposal = as_amos.post(
        f"/orders/{order.number}/proposals",
        {"line_number": 20, "delivery_number": 1, "due_date": "2027-01-08", "reason": "Stock"},
    )
    assert proposal.status_code == 201 and proposal.data["status"] == "pending"
    assert ChangeProposal.objects.filter(pk=proposal.data["id"], line__line_number=20).exists()
    refused = as_amos.post(
        f"/orders/{order.number}/proposals", {"line_number": 20, "reason": "Nothing proposed"}
    )
    assert refused.status_code == 400 and refused.data["error"]["message"]
    missing = as_amos.post(
        f"/orders/{order.number}/proposals",
        {"line_number": 99, "quantity": "5", "reason": "No such line"},
    )
    assert missing.status_code == 404
    note = as_amos.post(
        f"/orders/{order.number}/comments", {"body": "Ships Friday", "line_number": 10}
    )
    assert note.status_code == 201 and note.data["line_number"] == 10
    invalid = as_amos.post(f"/orders/{order.number}/comments", {"body": ""})
    assert invalid.status_code == 422 and invalid.data["error"]["details"]["problems"]


def test_every_write_to_another_vendors_order_is_404_and_changes_nothing(as_bob, world):
    number = world["order"].number
    before = (Comment.objects.count(), ChangeProposal.objects.count(), Event.objects.count())
    for path, body in [
        (f"/orders/{number}/acknowledgements", {"revision": 1, "response": "accepted"}),
        (f"/orders/{number}/proposals", {"line_number": 10, "quantity": "1", "reason": "x"}),
        (f"/orders/{number}/comments", {"body": "hello"}),
    ]:
        answer = as_bob.post(path, body)
        assert answer.status_code == 404, path
    assert (
        Comment.objects.count(),
        ChangeProposal.objects.count(),
        Event.objects.count(),
    ) == before


def test_a_read_only_token_reads_but_never_writes(world, amos, vendor_a):
    api = Api(token_for(amos, vendor=vendor_a, read_only=True))
    assert api.get("/orders").status_code == 200
    answer = api.post(f"/orders/{world['order'].number}/comments", {"body": "hello"})
    assert answer.status_code == 403 and answer.data["error"]["code"] == "read_only"
    assert not Comment.objects.filter(body="hello").exists()


def test_a_replayed_post_with_the_same_idempotency_key_changes_nothing(as_amos, world):
    number = world["order"].number
    body = {"body": "Ships Friday"}
    first = as_amos.post(f"/orders/{number}/comments", body, HTTP_IDEMPOTENCY_KEY="k-1")
    events = Event.objects.count()
    replay = as_amos.post(f"/orders/{number}/comments", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == replay.status_code == 201
    assert replay.data == first.data
    assert Comment.objects.filter(body="Ships Friday").count() == 1
    assert Event.objects.count() == events
    other = as_amos.post(
        f"/orders/{number}/comments", {"body": "Something else"}, HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert other.status_code == 409 and other.data["error"]["code"] == "idempotency_key_reused"
    assert not Comment.objects.filter(body="Something else").exists()
    # Without a key, or with a new one, the same body is a new comment.
    as_amos.post(f"/orders/{number}/comments", body)
    as_amos.post(f"/orders/{number}/comments", body, HTTP_IDEMPOTENCY_KEY="k-2")
    assert Comment.objects.filter(body="Ships Friday").count() == 3


def test_a_refused_post_is_not_remembered(as_amos, world):
    order = world["order"]
    order.refresh_from_db()
    path = f"/orders/{order.number}/acknowledgements"
    refused = as_amos.post(
        path, {"revision": order.revision, "response": "rejected"}, HTTP_IDEMPOTENCY_KEY="ack-1"
    )
    assert refused.status_code == 422
    fixed = {"revision": order.revision, "response": "rejected", "comment": "No capacity"}
    assert as_amos.post(path, fixed, HTTP_IDEMPOTENCY_KEY="ack-2").status_code == 201
    assert as_amos.post(path, fixed, HTTP_IDEMPOTENCY_KEY="ack-2").status_code == 201
    assert Acknowledgement.objects.filter(order=order).count() == 1


def test_the_rate_limit_answers_429_with_retry_after(world, amos, vendor_a, settings):
    from django.core.cache import cache

    cache.clear()
    settings.API_RATE_LIMIT = "3/min"
    api = Api(token_for(amos, vendor=vendor_a))
    answers = [api.get("/orders").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = api.get("/orders")
    assert int(limited["Retry-After"]) >= 1 and limited.data["error"]["code"] == "rate_limited"
    cache.clear()


def test_an_administrator_makes_an_integration_token_in_the_back_office(
    client,
    world,
    admin_buyer,
):
    admin_buyer.is_superuser = True
    admin_buyer.save()
    client.force_login(admin_buyer)
    assert client.get("/admin/api/apitoken/add/").status_code == 200
    made = client.post(
        "/admin/api/apitoken/add/", {"name": "ERP sync", "user": admin_buyer.pk, "vendor": ""}
    )
    secret = re.search(r"(vpt_[A-Za-z0-9_-]{43})", made.content.decode()).group(1)
    token = ApiToken.objects.get(name="ERP sync")
    assert token.integration and token.created_by == admin_buyer
    numbers = {o["number"] for o in Api(secret).get("/orders?limit=200").data["items"]}
    assert "PO-B-777" in numbers and "PO-A-100" in numbers
    listing = client.get("/admin/api/apitoken/").content.decode()
    assert token.prefix in listing and secret not in listing
    client.post(
        "/admin/api/apitoken/",
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )
    assert Api(secret).get("/orders").status_code == 401


# --- sync (integration tokens) ------------------------------------------------------------


def test_sync_takes_integration_tokens_only(as_amos):
    answer = as_amos.post("/sync/vendors", {"external_id": "V1", "code": "X", "name": "X"})
    assert answer.status_code == 403 and answer.data["error"]["code"] == "forbidden"


def test_a_vendor_upsert_creates_updates_and_then_changes_nothing(as_erp):
    from vendorportal.purchasing.models import Vendor

    record = {"external_id": "ERP-V-9", "code": "NEWCO", "name": "New Co", "phone": "555"}
    assert as_erp.post("/sync/vendors", record).data["result"] == "created"
    vendor = Vendor.objects.get(external_id="ERP-V-9")
    stamp, events = vendor.updated_at, Event.objects.filter(vendor=vendor).count()
    assert as_erp.post("/sync/vendors", record).data["result"] == "unchanged"
    vendor.refresh_from_db()
    assert vendor.updated_at == stamp and Event.objects.filter(vendor=vendor).count() == events
    changed = as_erp.post("/sync/vendors", {**record, "name": "New Co Ltd"})
    assert changed.data["result"] == "updated"
    assert Vendor.objects.get(external_id="ERP-V-9").name == "New Co Ltd"
    event = Event.objects.filter(vendor=vendor).latest("id")
    assert event.internal and event.kind == "vendor.updated" and "name" in event.summary
    taken = as_erp.post("/sync/vendors", {**record, "external_id": "ERP-V-10"})
    assert taken.status_code == 409 and taken.data["error"]["details"] == {"field": "code"}
    assert not Vendor.objects.filter(external_id="ERP-V-10").exists()


def test_a_batch_answers_per_record_and_a_bad_record_leaves_nothing(as_erp):
    from vendorportal.purchasing.models import Item

    records = [
        {
            "external_id": "I-1",
            "part_number": "P-1",
            "description": "Bolt",
            "standard_cost": "0.12",
        },
        {"external_id": "I-2", "part_number": "P-1", "description": "Clash"},
        {"external_id": "I-3", "part_number": "P-3", "description": "Nut", "unit_of_measure": "PC"},
    ]
    first = as_erp.post("/sync/items/batch", {"records": records}).data
    assert (first["created"], first["errors"]) == (2, 1)
    error = first["results"][1]
    assert error["result"] == "error" and error["error"]["details"] == {"field": "part_number"}
    assert not Item.objects.filter(external_id="I-2").exists()
    again = as_erp.post("/sync/items/batch", {"records": [records[0], records[2]]}).data
    assert (again["unchanged"], again["created"], again["updated"]) == (2, 0, 0)
    one = as_erp.post("/sync/items", {**records[2], "description": "Hex nut"})
    assert one.data == {"external_id": "I-3", "result": "updated"}
    assert Item.objects.get(external_id="I-3").description == "Hex nut"


def test_a_vendor_batch_with_an_idempotency_key_is_done_once(as_erp):
    from vendorportal.purchasing.models import Vendor

    body = {"records": [{"external_id": "B-1", "code": "B1", "name": "One"}]}
    first = as_erp.post("/sync/vendors/batch", body, HTTP_IDEMPOTENCY_KEY="nightly-1")
    replay = as_erp.post("/sync/vendors/batch", body, HTTP_IDEMPOTENCY_KEY="nightly-1")
    assert first.data == replay.data and first.data["created"] == 1
    assert Vendor.objects.filter(external_id="B-1").count() == 1


def erp_order(**changes):
    order = {
        "external_id": "ERP-PO-1",
        "number": "PO-ERP-1",
        "vendor_external_id": "ERP-V-A",
        "payment_terms": "Net 30",
        "lines": [
            {
                "line_number": 10,
                "item_external_id": "ERP-I-1",
                "quantity": "100",
                "unit_price": "2.50",
                "deliveries": [
                    {"delivery_number": 1, "quantity": "60", "due_date": "2027-01-10"},
                    {"delivery_number": 2, "quantity": "40", "due_date": "2027-02-10"},
                ],
            }
        ],
    }
    order.update(changes)
    return order


@pytest.fixture
def erp_master_data(as_erp, world):
    vendor = world["order"].vendor
    vendor.external_id = "ERP-V-A"
    vendor.save()
    as_erp.post(
        "/sync/items", {"external_id": "ERP-I-1", "part_number": "ERP-P-1", "description": "Pin"}
    )


def test_an_order_upsert_creates_then_revises_by_diff_then_changes_nothing(
    as_erp, as_amos, erp_master_data
):
    from vendorportal.purchasing.models import PurchaseOrder, Revision

    assert as_erp.post("/sync/orders", erp_order()).data["result"] == "created"
    order = PurchaseOrder.objects.get(external_id="ERP-PO-1")
    assert order.status == "issued" and order.revision == 1
    assert [d.quantity for d in order.deliveries.order_by("delivery_number")] == [60, 40]
    # The supplier sees it at once, through its own token.
    assert as_amos.get("/orders/PO-ERP-1").data["revision"] == 1

    events, revisions = Event.objects.count(), Revision.objects.count()
    assert as_erp.post("/sync/orders", erp_order()).data["result"] == "unchanged"
    assert (Event.objects.count(), Revision.objects.count()) == (events, revisions)

    moved = erp_order()
    moved["lines"][0]["deliveries"][1]["due_date"] = "2027-02-24"
    moved["lines"][0]["unit_price"] = "2.45"
    assert as_erp.post("/sync/orders", moved).data["result"] == "updated"
    order.refresh_from_db()
    assert order.revision == 2
    changes = as_amos.get("/orders/PO-ERP-1").data["revisions"][0]["changes"]
    assert any("due date" in c and "24 Feb 2027" in c for c in changes), changes
    assert any("unit price" in c and "2.45" in c for c in changes), changes
    assert len(changes) == 2
    assert as_erp.post("/sync/orders", moved).data["result"] == "unchanged"
    order.refresh_from_db()
    assert order.revision == 2


def test_the_erp_moving_a_confirmed_delivery_withdraws_the_promise(
    as_erp, as_amos, erp_master_data, amos
):
    from vendorportal.collaboration import services as collaboration
    from vendorportal.purchasing.models import PurchaseOrder

    as_erp.post("/sync/orders", erp_order())
    order = PurchaseOrder.objects.get(external_id="ERP-PO-1")
    for delivery in order.deliveries.all():
        collaboration.delivery_confirm(delivery=delivery, by=amos)
    moved = erp_order()
    moved["lines"][0]["deliveries"][0]["due_date"] = "2027-01-17"
    assert as_erp.post("/sync/orders", moved).data["result"] == "updated"
    deliveries = as_amos.get("/orders/PO-ERP-1").data["lines"][0]["deliveries"]
    promises = {d["delivery_number"]: (d["due_date"], d["promised_date"]) for d in deliveries}
    # The moved delivery is to be confirmed again; the other keeps its promise.
    assert promises == {1: ("2027-01-17", None), 2: ("2027-02-10", "2027-02-10")}


def test_an_order_upsert_adds_and_cancels_lines_and_refuses_what_cannot_change(
    as_erp, erp_master_data
):
    from vendorportal.purchasing.models import PurchaseOrder

    as_erp.post("/sync/orders", erp_order())
    grown = erp_order()
    grown["lines"].append(
        {
            "line_number": 20,
            "description": "Washer",
            "quantity": "5",
            "unit_price": "1",
            "deliveries": [{"delivery_number": 1, "quantity": "5", "due_date": "2027-01-20"}],
        }
    )
    assert as_erp.post("/sync/orders", grown).data["result"] == "updated"
    order = PurchaseOrder.objects.get(external_id="ERP-PO-1")
    assert order.lines.count() == 2 and order.revision == 2
    assert as_erp.post("/sync/orders", erp_order()).data["result"] == "updated"
    assert order.lines.get(line_number=20).status == "cancelled"
    bad_sum = erp_order()
    bad_sum["lines"][0]["quantity"] = "99"
    refused = as_erp.post("/sync/orders", bad_sum)
    assert refused.status_code == 400
    assert refused.data["error"]["details"] == {"field": "lines.0.quantity"}
    renumbered = as_erp.post("/sync/orders", erp_order(number="PO-OTHER"))
    assert renumbered.status_code == 409
    unknown = as_erp.post("/sync/orders", erp_order(external_id="X", vendor_external_id="NOPE"))
    assert unknown.status_code == 400
    assert unknown.data["error"]["details"] == {"field": "vendor_external_id"}
    order.refresh_from_db()
    assert order.revision == 3 and order.number == "PO-ERP-1"


def test_an_order_upsert_cancels_an_order_with_nothing_received(as_erp, as_amos, erp_master_data):
    from vendorportal.purchasing.models import PurchaseOrder

    never_sent = as_erp.post("/sync/orders", erp_order(status="cancelled"))
    assert never_sent.status_code == 400
    assert never_sent.data["error"]["details"] == {"field": "status"}
    assert not PurchaseOrder.objects.filter(external_id="ERP-PO-1").exists()

    as_erp.post("/sync/orders", erp_order())
    as_erp.post("/sync/orders", erp_order(external_id="ERP-PO-2", number="PO-ERP-2"))
    assert as_erp.post("/sync/orders", erp_order(status="cancelled")).data["result"] == "updated"
    order = PurchaseOrder.objects.get(external_id="ERP-PO-1")
    assert order.status == "cancelled" and order.revision == 2
    assert {line.status for line in order.lines.all()} == {"cancelled"}
    # The supplier sees the cancellation as the newest revision to acknowledge.
    assert as_amos.get("/orders/PO-ERP-1").data["status"] == "cancelled"
    events = Event.objects.count()
    assert as_erp.post("/sync/orders", erp_order(status="cancelled")).data["result"] == (
        "unchanged"
    )
    assert as_erp.post("/sync/orders", erp_order()).data["result"] == "unchanged"
    assert Event.objects.count() == events

    # Once goods arrived, the order can no longer be cancelled (it is closed instead).
    receipt = {
        "external_id": "GR-CANCEL",
        "order_external_id": "ERP-PO-2",
        "lines": [{"line_number": 10, "delivery_number": 1, "quantity": "10"}],
    }
    assert as_erp.post("/sync/receipts", receipt).status_code == 200
    refused = as_erp.post(
        "/sync/orders", erp_order(external_id="ERP-PO-2", number="PO-ERP-2", status="cancelled")
    )
    assert refused.status_code in (400, 409), refused.data
    assert PurchaseOrder.objects.get(external_id="ERP-PO-2").status == "issued"


def test_an_order_batch_reports_each_record(as_erp, erp_master_data):
    records = [
        erp_order(),
        erp_order(external_id="ERP-PO-2", number="PO-ERP-2", vendor_external_id="NOPE"),
        erp_order(external_id="ERP-PO-3", number="PO-ERP-3", status="draft"),
    ]
    answer = as_erp.post("/sync/orders/batch", {"records": records}).data
    assert [r["result"] for r in answer["results"]] == ["created", "error", "created"]
    again = as_erp.post("/sync/orders/batch", {"records": [records[0], records[2]]}).data
    assert again["unchanged"] == 2


def test_receipts_invoices_and_payments_are_recorded_once(as_erp, as_amos, erp_master_data):
    from vendorportal.purchasing.models import Invoice, Payment, Receipt

    as_erp.post("/sync/orders", erp_order())
    receipt = {
        "external_id": "GR-1",
        "order_external_id": "ERP-PO-1",
        "packing_slip": "PS-77",
        "lines": [{"line_number": 10, "delivery_number": 1, "quantity": "60"}],
    }
    assert as_erp.post("/sync/receipts", receipt).data["result"] == "created"
    assert as_erp.post("/sync/receipts", receipt).data["result"] == "unchanged"
    different = {**receipt, "lines": [{"line_number": 10, "delivery_number": 1, "quantity": "5"}]}
    clash = as_erp.post("/sync/receipts", different)
    assert clash.status_code == 409 and "return" in clash.data["error"]["message"]
    assert Receipt.objects.filter(external_id="GR-1").count() == 1
    back = {**receipt, "external_id": "RT-1", "kind": "return", "reason": "Damaged"}
    back["lines"] = [{"line_number": 10, "delivery_number": 1, "quantity": "2"}]
    assert as_erp.post("/sync/receipts/batch", {"records": [back]}).data["created"] == 1
    assert {r["kind"] for r in as_amos.get("/receipts").data["items"]} >= {"receipt", "return"}

    invoice = {
        "external_id": "AP-1",
        "vendor_external_id": "ERP-V-A",
        "number": "INV-ERP-1",
        "lines": [
            {
                "order_external_id": "ERP-PO-1",
                "line_number": 10,
                "quantity": "58",
                "unit_price": "2.5",
            }
        ],
    }
    assert as_erp.post("/sync/invoices", invoice).data["result"] == "created"
    assert as_erp.post("/sync/invoices/batch", {"records": [invoice]}).data["unchanged"] == 1
    assert Invoice.objects.filter(external_id="AP-1").get().lines.get().match_status == "matched"
    payment = {"external_id": "PAY-1", "invoice_external_id": "AP-1", "amount": "100.00"}
    assert as_erp.post("/sync/payments", payment).data["result"] == "created"
    assert as_erp.post("/sync/payments/batch", {"records": [payment]}).data["unchanged"] == 1
    over = as_erp.post("/sync/payments", {**payment, "external_id": "PAY-2", "amount": "999"})
    assert over.status_code == 400 and over.data["error"]["details"] == {"field": "amount"}
    assert Payment.objects.count() == 1 + Payment.objects.exclude(external_id="PAY-1").count()
    assert Invoice.objects.get(external_id="AP-1").status == "partially_paid"


def test_ship_notices_synced_from_the_erp_are_seen_by_their_supplier(
    as_erp, as_amos, erp_master_data
):
    as_erp.post("/sync/orders", erp_order())
    notice = {
        "external_id": "ERP-ASN-1",
        "order_external_id": "ERP-PO-1",
        "expected_date": "2027-01-08",
        "carrier": "DHL",
        "lines": [{"line_number": 10, "delivery_number": 1, "quantity": "25"}],
    }
    created = as_erp.post("/sync/ship-notices", notice)
    assert created.status_code == 200 and created.data["result"] == "created", created.data
    batch = as_erp.post(
        "/sync/ship-notices/batch",
        {"records": [notice, {**notice, "external_id": "ERP-ASN-2", "order_external_id": "NO"}]},
    ).data
    assert [r["result"] for r in batch["results"]] == ["unchanged", "error"]
    seen = as_amos.get("/ship-notices").data["items"]
    assert [(n["order_number"], n["carrier"]) for n in seen] == [("PO-ERP-1", "DHL")]


def test_a_supplier_invoices_its_order_and_the_buyer_approves(as_amos, as_bob, as_erp):
    from vendorportal.purchasing.models import Invoice

    body = {
        "order_number": "PO-A-100",
        "number": "INV-API-1",
        "tax_amount": "1.80",
        "lines": [{"line_number": 20, "quantity": "2"}],
    }
    flagged = as_amos.post("/invoices", body)
    assert flagged.status_code == 400
    assert flagged.data["error"]["details"] == {"field": "accept_exceptions"}
    assert "more than the 0 received" in flagged.data["error"]["message"]
    assert not Invoice.objects.filter(number="INV-API-1").exists()
    assert as_erp.post("/invoices", {**body, "accept_exceptions": True}).status_code == 403

    made = as_amos.post("/invoices", {**body, "accept_exceptions": True})
    assert made.status_code == 201, made.data
    invoice = made.data
    assert (invoice["status"], invoice["origin"], invoice["total_amount"]) == (
        "submitted",
        "supplier",
        "19.80",
    )
    assert invoice["lines"][0]["match_status"] == "quantity_exception"
    assert as_bob.get(f"/invoices/{invoice['id']}").status_code == 404
    assert as_amos.post(
        f"/invoices/{invoice['id']}/decision", {"action": "approve"}
    ).status_code == (403)
    approved = as_erp.post(f"/invoices/{invoice['id']}/decision", {"action": "approve"})
    assert approved.status_code == 200 and approved.data["status"] == "open"
    assert as_erp.get(f"/invoices/{invoice['id']}").data["status"] == "open"

    earlier = Invoice.objects.get(number="INV-A-1")
    credit = as_amos.post(
        f"/invoices/{earlier.pk}/credit-notes",
        {
            "number": "CN-API-1",
            "reason": "Four short",
            "lines": [{"order_number": "PO-A-100", "line_number": 10, "quantity": "4"}],
        },
    )
    assert credit.status_code == 201, credit.data
    assert (credit.data["kind"], credit.data["credits_number"], credit.data["total_amount"]) == (
        "credit_note",
        "INV-A-1",
        "10.40",
    )
    gone = as_amos.post(
        f"/invoices/{credit.data['id']}/decision", {"action": "withdraw", "reason": "Not short"}
    )
    assert gone.status_code == 200 and gone.data["status"] == "withdrawn"
    listed = as_amos.get("/invoices?status=withdrawn").data["items"]
    assert [i["number"] for i in listed] == ["CN-API-1"]


def test_a_login_reads_and_sets_its_own_notification_settings(as_amos, amos):
    answer = as_amos.get("/me/notifications")
    assert answer.status_code == 200
    assert {k["kind"] for k in answer.data["kinds"]} >= {"order_revised", "comment"}
    body = {"time_zone": "Europe/Berlin", "kinds": [{"kind": "comment", "delivery": "digest"}]}
    changed = as_amos.call("PUT", "/me/notifications", body)
    assert changed.status_code == 200 and changed.data["time_zone"] == "Europe/Berlin"
    assert {k["kind"]: k["delivery"] for k in changed.data["kinds"]}["comment"] == "digest"
    refused = as_amos.call("PUT", "/me/notifications", {"time_zone": "Nowhere/City"})
    assert refused.status_code == 400 and refused.data["error"]["details"] == {"field": "time_zone"}
    amos.refresh_from_db()
    assert amos.time_zone == "Europe/Berlin"


def test_the_erp_calls_off_several_releases_in_one_revision(as_erp, as_amos, world):
    blanket = world["blanket"]
    blanket.refresh_from_db()
    before = blanket.revision
    releases = [
        {"line_number": 10, "quantity": "50", "due_date": "2027-01-11"},
        {"line_number": 10, "quantity": "70", "due_date": "2027-01-18"},
    ]
    answer = as_erp.post(f"/orders/{blanket.number}/call-offs", {"releases": releases})
    assert answer.status_code == 201, answer.data
    assert answer.data["revision"] == before + 1 and len(answer.data["releases"]) == 2
    refused = as_amos.post(f"/orders/{blanket.number}/call-offs", {"releases": releases})
    assert refused.status_code == 403


def test_ship_notices_announced_listed_and_read_through_the_schema(as_amos, as_bob, world):
    order = world["order"]
    delivery = order.deliveries.filter(status="open").select_related("line").first()
    body = {
        "order_number": order.number,
        "expected_date": "2026-12-04",
        "carrier": "DHL",
        "lines": [
            {
                "line_number": delivery.line.line_number,
                "delivery_number": delivery.delivery_number,
                "quantity": "1",
            }
        ],
    }
    created = as_amos.post("/ship-notices", body, HTTP_IDEMPOTENCY_KEY="asn-schema-1")
    assert created.status_code == 201 and created.data["status"] == "submitted"
    notice_id = created.data["id"]
    one = as_amos.get(f"/ship-notices/{notice_id}")
    assert one.status_code == 200 and one.data["lines"][0]["difference_kind"] is None
    listed = as_amos.get(f"/ship-notices?order_number={order.number}")
    assert [n["id"] for n in listed.data["items"]] == [notice_id]
    assert as_bob.get(f"/ship-notices/{notice_id}").status_code == 404
    assert as_bob.post("/ship-notices", body).status_code == 404


def test_files_uploaded_listed_and_downloaded_through_the_schema(as_amos, as_bob, as_erp, world):
    """Every attachment operation once (tests/test_api_attachments.py has the rules)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    def pdf(name: str) -> SimpleUploadedFile:
        return SimpleUploadedFile(name, b"%PDF-1.7\n%%EOF\n", content_type="application/pdf")

    order = world["order"]
    added = as_amos.upload(
        f"/orders/{order.number}/attachments",
        {"file": pdf("cert.pdf"), "kind": "certificate", "line_number": "10"},
        HTTP_IDEMPOTENCY_KEY="file-schema-1",
    )
    assert added.status_code == 201 and added.data["line_number"] == 10, added.data
    listed = as_amos.get(f"/orders/{order.number}/attachments").data["items"]
    assert added.data["id"] in {f["id"] for f in listed}
    assert "SENTINEL-FILE-INTERNAL.txt" not in {f["name"] for f in listed}
    download = as_amos.get(added.data["download"].removeprefix(BASE))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content) == b"%PDF-1.7\n%%EOF\n"
    assert as_bob.get(added.data["download"].removeprefix(BASE)).status_code == 404
    assert as_bob.get(f"/orders/{order.number}/attachments").status_code == 404

    delivery = order.deliveries.filter(status="open").select_related("line").first()
    notice = as_amos.post(
        "/ship-notices",
        {
            "order_number": order.number,
            "expected_date": "2026-12-04",
            "lines": [{"line_number": delivery.line.line_number, "quantity": "1"}],
        },
    ).data
    on_notice = as_amos.upload(
        f"/ship-notices/{notice['id']}/attachments", {"file": pdf("coc.pdf"), "kind": "certificate"}
    )
    assert on_notice.status_code == 201
    assert on_notice.data["ship_notice_number"] == notice["number"]
    assert [
        f["name"] for f in as_erp.get(f"/ship-notices/{notice['id']}/attachments").data["items"]
    ] == ["coc.pdf"]

    invoice = world["invoice"]
    on_invoice = as_amos.upload(
        f"/invoices/{invoice.pk}/attachments", {"file": pdf("inv.pdf"), "kind": "invoice_pdf"}
    )
    assert on_invoice.status_code == 201 and on_invoice.data["invoice_number"] == "INV-A-1"
    assert [
        f["name"] for f in as_amos.get(f"/invoices/{invoice.pk}/attachments").data["items"]
    ] == ["inv.pdf"]


# Keep last: the calls of every test above are what it counts.
def test_every_operation_in_the_schema_was_exercised():
    operations = {
        (method.upper(), template)
        for template, methods in schema()["paths"].items()
        for method in methods
    }
    assert operations - EXERCISED == set()


def test_a_stored_idempotent_answer_keeps_its_times_exactly():
    """A replay renders the stored body through the response schema again: a time must
    parse back to the same instant, or the replay differs from the first answer (a time
    with under 1,000 microseconds once came back without its ".000")."""
    from vendorportal.api.idempotency import _ExactJSONEncoder

    for micro in (0, 500, 123456):
        moment = dt.datetime(2026, 11, 29, 3, 56, 21, micro, tzinfo=dt.UTC)
        stored = json.loads(json.dumps({"created_at": moment}, cls=_ExactJSONEncoder))
        assert dt.datetime.fromisoformat(stored["created_at"]) == moment


def test_no_two_api_schemas_share_a_name():
    """django-ninja names each OpenAPI component after its class: two classes of one name
    become one component, and an operation documents the other's body (the ERP's ship
    notices were once documented with the supplier's)."""
    from collections import Counter

    from ninja import Schema

    import vendorportal.api.main  # noqa: F401 - every router and its schemas

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [c for c in subclasses(Schema) if c.__module__.startswith("vendorportal.")]
    names = Counter(c.__name__ for c in ours)
    assert [name for name, count in names.items() if count > 1] == []
    body = schema()["paths"]["/api/v1/sync/ship-notices"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "external_id" in schema()["components"]["schemas"][ref]["required"]


def test_a_multipart_body_without_its_boundary_is_400_not_a_crash(as_amos, world):
    answer = as_amos.client.post(
        f"{BASE}/orders/{world['order'].number}/attachments",
        data=b"--x\r\n",
        content_type="multipart/form-data",
        **as_amos.headers,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["details"] == {"field": "Content-Type"}
