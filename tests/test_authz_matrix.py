"""The authorization matrix: every route x every method x every role x both vendors' objects.

Every URL pattern of Django's resolver (admin, allauth, portal, buying, the API's ninja
routes) and every operation of the OpenAPI schema must have a rule in RULES below; a route
without one fails the test, named. Each rule says what each role must get; every request is
sent and every answer that differs is listed in the failure ("N requests, 0 unexpected
answers" is printed on success).

HOW TO ADD A RULE for a new route: add `"<url name>": Rule(<kind>, <methods>)` to RULES
(or a prefix to PREFIX_RULES, e.g. all of "admin:"). Kinds (see `expected()`):

- "public"        anyone may GET it (login pages, health, the API schema)
- "logged-in"     any active login; anonymous → 302 to the login page
- "vendor"        an active vendor login (user or admin); buyers 404; anonymous → login
- "vendor-admin"  a vendor admin only; vendor users and buyers 404
- "buyer"         a buyer only; vendor logins 404
- "stream"        like vendor/buyer (side=...), but anonymous gets 403 (a live stream)
- "admin-site"    the back office: administrators only, everyone else → admin login
- "api-vendor"    an API call with a token (vendor, read-only, integration); cookies → 401
- "api-integration"  the ERP's sync: integration tokens only (vendor tokens 403)
- "api-public"    the API's schema and docs
- "api-none"      ninja's bare prefix (no page: 404/405)
- "invitation"    the invitation link: anyone may open it; a bad token is 404
Rule options: `ok` (statuses the allowed role may get beyond 200 / 200-302-400), `lenient`
(an upstream page: unlisted methods may get anything but a 5xx), `writes` (tables the allowed
answer may write), `roles` (probe only these roles), `integration_writes`.
`methods` are the methods the route answers; every other method must answer 405.
Routes whose URL takes ids are requested with vendor A's objects and with vendor B's: a
vendor login reaching the other vendor's object gets 404, like a missing one.

Rules for routes that do not exist yet are allowed (FUTURE_RULES); they apply once merged.

A write (POST/PUT/PATCH/DELETE) refused to a role must change no row: every request runs in
a savepoint that is rolled back afterwards, and an SQL write (INSERT/UPDATE/DELETE) to a
product table during a refused request is an unexpected answer. Writes accepted for the
allowed role are rolled back too, so every request sees the same world.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.authz_world import World, build_world

pytestmark = pytest.mark.django_db(transaction=False)

ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
GET = ("GET", "HEAD")
POST = ("POST",)
GET_POST = ("GET", "HEAD", "POST")
API_GET = ("GET",)  # ninja answers HEAD with 405
GET_POST_API = ("GET", "POST")


@dataclass(frozen=True)
class Rule:
    kind: str
    methods: tuple[str, ...] = GET
    side: str = ""  # for "stream": "vendor" or "buyer"
    # statuses the allowed role may get beyond 200 (GET) / 200, 302, 400 (POST)
    ok: tuple[int, ...] = ()
    # an upstream page (allauth, admin): methods it does not list get anything but a crash
    lenient: bool = False
    # an integration token (acting as the buying company) may write here too
    integration_writes: bool = False
    # tables the allowed answer to a GET may write (allauth records a login's address)
    writes: tuple[str, ...] = ()
    # a page whose answer cannot depend on who asks (the 0.3 s OpenAPI document) is sent
    # as these roles only; empty: every role
    roles: tuple[str, ...] = ()
    # the view checks the method before the login: unlisted methods 405 for everyone
    method_first: bool = False


SCHEMA_ROLES = ("anonymous", "vendor_user", "vendor_token", "revoked_token")
LOGIN_PAGE = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"

RULES: dict[str, Rule] = {
    "home": Rule("public", GET, ok=(302,)),
    # --- allauth ------------------------------------------------------------------------
    "account_login": Rule("public", GET_POST, ok=(302, 400), lenient=True),
    "account_logout": Rule("public", GET_POST, ok=(302,), lenient=True),
    "account_inactive": Rule("public", GET, lenient=True),
    "account_signup": Rule("public", GET_POST, ok=(302, 403, 400), lenient=True),
    "account_reauthenticate": Rule("logged-in", GET_POST, ok=(400,), lenient=True),
    "account_request_reauthentication_code": Rule(
        "logged-in", GET_POST, ok=(302, 400, 404), lenient=True
    ),
    "account_confirm_reauthentication_code": Rule(
        "logged-in", GET_POST, ok=(302, 400, 404), lenient=True
    ),
    "account_email": Rule(
        "logged-in", GET_POST, ok=(302, 400), lenient=True, writes=("account_emailaddress",)
    ),
    "account_email_verification_sent": Rule("public", GET, lenient=True),
    "account_change_password": Rule("logged-in", GET_POST, ok=(302, 400), lenient=True),
    "account_set_password": Rule("logged-in", GET_POST, ok=(302, 400), lenient=True),
    "account_reset_password": Rule("public", GET_POST, ok=(302, 400), lenient=True),
    "account_confirm_login_code": Rule("public", GET_POST, ok=(302, 400), lenient=True),
    "account_confirm_email": Rule("public", GET_POST, ok=(302, 404), lenient=True),
    "account_reset_password_from_key_done": Rule("public", GET, lenient=True),
    "account_reset_password_from_key": Rule("public", GET_POST, ok=(302, 400, 404), lenient=True),
    "account_reset_password_done": Rule("public", GET, lenient=True),
    # --- notifications (either side's own settings; the signed unsubscribe link) --------
    "notifications-settings": Rule("logged-in", GET_POST, ok=(302, 400), method_first=True),
    # The link works without a login; the matrix's token is not valid: 400, nothing written.
    "notifications-unsubscribe": Rule("public", GET_POST, ok=(400,)),
    # A one-click action link: the same (the matrix's token is not valid).
    "notifications-action": Rule("public", GET_POST, ok=(400,)),
    # --- the supplier's portal ----------------------------------------------------------
    "portal:home": Rule("vendor"),
    "portal:open-lines": Rule("vendor"),
    "portal:open-lines-csv": Rule("vendor"),
    "portal:open-lines-xlsx": Rule("vendor"),
    "portal:orders": Rule("vendor"),
    "portal:order-detail": Rule("vendor"),
    "portal:revision-compare": Rule("vendor"),
    "portal:order-pdf": Rule("vendor"),
    "portal:order-acknowledge": Rule("vendor", POST, ok=(302, 400)),
    "portal:order-propose": Rule("vendor", GET_POST, ok=(302, 400)),
    "portal:order-comment": Rule("vendor", POST, ok=(302, 400)),
    "portal:delivery-confirm": Rule("vendor", POST, ok=(302, 400)),
    "portal:proposal-withdraw": Rule("vendor", POST, ok=(302, 400)),
    "portal:ship-notice-new": Rule("vendor", GET_POST, ok=(302, 400)),
    "portal:ship-notices": Rule("vendor"),
    "portal:ship-notice-detail": Rule("vendor"),
    "portal:ship-notice-packing-slip": Rule("vendor"),
    "portal:ship-notice-edit": Rule("vendor", GET_POST, ok=(302, 400)),
    "portal:ship-notice-submit": Rule("vendor", POST, ok=(302, 400)),
    "portal:ship-notice-cancel": Rule("vendor", POST, ok=(302, 400)),
    # Attachments (tests/test_attachments.py): uploads like the comment form, the download
    # like the order PDF; vendor B gets 404 on vendor A's files.
    "portal:order-attachment-add": Rule("vendor", POST, ok=(302, 400)),
    "portal:ship-notice-attachment-add": Rule("vendor", POST, ok=(302, 400)),
    "portal:invoice-attachment-add": Rule("vendor", POST, ok=(302, 400)),
    "portal:attachment-download": Rule("vendor"),
    "portal:attachment-delete": Rule("vendor", POST, ok=(302, 400)),
    "portal:receipts": Rule("vendor"),
    "portal:invoices": Rule("vendor"),
    "portal:invoice-detail": Rule("vendor"),
    "portal:order-invoice": Rule("vendor", GET_POST, ok=(302, 400)),
    "portal:invoice-withdraw": Rule("vendor", GET_POST, ok=(302, 400)),
    "portal:credit-note-new": Rule("vendor", GET_POST, ok=(302, 400)),
    "portal:events": Rule("stream", GET, side="vendor"),
    "portal:team:members": Rule("vendor-admin"),
    "portal:team:invite": Rule("vendor-admin", POST, ok=(302, 400)),
    "portal:team:deactivate": Rule("vendor-admin", POST, ok=(302, 400)),
    "portal:team:reactivate": Rule("vendor-admin", POST, ok=(302, 400)),
    "portal:team:invitation-revoke": Rule("vendor-admin", POST, ok=(302, 400)),
    # the invitation link: for the invited person, logged in or not; a bad token is 404
    "portal:team:accept": Rule("invitation", GET_POST, ok=(302, 400, 404, 410)),
    "portal:api-tokens": Rule("vendor-admin"),
    "portal:api-token-create": Rule("vendor-admin", POST, ok=(302, 400)),
    "portal:api-token-revoke": Rule("vendor-admin", POST, ok=(302, 400)),
    # --- the buyer's workspace ----------------------------------------------------------
    "buying:home": Rule("buyer"),
    "buying:open-lines": Rule("buyer"),
    "buying:open-lines-csv": Rule("buyer"),
    "buying:open-lines-xlsx": Rule("buyer"),
    "buying:orders": Rule("buyer"),
    "buying:order-detail": Rule("buyer"),
    "buying:revision-compare": Rule("buyer"),
    "buying:order-pdf": Rule("buyer"),
    "buying:order-comment": Rule("buyer", POST, ok=(302, 400)),
    "buying:order-issue": Rule("buyer", POST, ok=(302, 400)),
    "buying:order-revise": Rule("buyer", GET_POST, ok=(302, 400)),
    "buying:order-close": Rule("buyer", GET_POST, ok=(302, 400)),
    "buying:order-follow": Rule("buyer", POST, ok=(302, 400)),
    "buying:order-receive": Rule("buyer", GET_POST, ok=(302, 400)),
    "buying:order-invoice": Rule("buyer", GET_POST, ok=(302, 400)),
    "buying:line-release": Rule("buyer", GET_POST, ok=(302, 400)),
    "buying:order-call-off": Rule("buyer", GET_POST, ok=(302, 400)),
    "buying:line-close": Rule("buyer", GET_POST, ok=(302, 400)),
    "buying:proposal-accept": Rule("buyer", POST, ok=(302, 400)),
    "buying:proposal-reject": Rule("buyer", GET_POST, ok=(302, 400)),
    "buying:ship-notices": Rule("buyer"),
    "buying:ship-notice-detail": Rule("buyer"),
    "buying:ship-notice-packing-slip": Rule("buyer"),
    "buying:ship-notice-receive": Rule("buyer", GET_POST, ok=(302, 400)),
    "buying:ship-notice-close": Rule("buyer", GET_POST, ok=(302, 400)),
    "buying:order-attachment-add": Rule("buyer", POST, ok=(302, 400)),
    "buying:attachment-download": Rule("buyer"),
    "buying:attachment-delete": Rule("buyer", POST, ok=(302, 400)),
    "buying:receipts": Rule("buyer"),
    "buying:invoices": Rule("buyer"),
    "buying:invoice-detail": Rule("buyer"),
    "buying:invoice-pay": Rule("buyer", GET_POST, ok=(302, 400)),
    "buying:invoice-approve": Rule("buyer", GET_POST, ok=(302, 400)),
    "buying:invoice-dispute": Rule("buyer", GET_POST, ok=(302, 400)),
    "buying:invoice-resolve": Rule("buyer", POST, ok=(302, 400)),
    "buying:events": Rule("stream", GET, side="buyer"),
    # --- the back office (all other admin: names by PREFIX_RULES) -------------------------
    "admin:login": Rule("public", GET_POST, ok=(302,), lenient=True),
    "admin:logout": Rule("public", POST, ok=(302,), lenient=True),
    "health-live": Rule("public", GET, ok=(503,)),
    # A file's one address: each login is sent to its side's download (which checks).
    "file-link": Rule("logged-in", GET, ok=(302,), method_first=True),
    # --- the API (resolver entries; operations are checked against OpenAPI too) -----------
    "api-v1:openapi-json": Rule("api-public", API_GET, roles=SCHEMA_ROLES),
    "api-v1:openapi-view": Rule("api-public", API_GET, roles=SCHEMA_ROLES),
    "api-v1:api-root": Rule("api-none"),
    "api-v1:list_orders": Rule("api-vendor", API_GET),
    "api-v1:get_order": Rule("api-vendor", API_GET),
    "api-v1:acknowledge": Rule("api-vendor", POST),
    "api-v1:propose": Rule("api-vendor", POST),
    "api-v1:comment": Rule("api-vendor", POST, integration_writes=True),
    # A call-off of a blanket order: the buying company's integration tokens only.
    "api-v1:call_off": Rule("api-integration", POST),
    "api-v1:list_open_deliveries": Rule("api-vendor", API_GET),
    "api-v1:list_receipts": Rule("api-vendor", API_GET),
    # Invoices (one path, two operations): a supplier's token invoices its own order (the
    # body names vendor A's, so vendor B's token gets 404); the buying company's is refused.
    "api-v1:list_invoices": Rule("api-vendor", ("GET", "POST"), ok=(404,)),
    "api-v1:create_invoice": Rule("api-vendor", ("GET", "POST"), ok=(404,)),
    "api-v1:get_invoice": Rule("api-vendor", API_GET),
    "api-v1:create_credit_note": Rule("api-vendor", POST, integration_writes=True),
    # The body approves: the buying company's tokens only.
    "api-v1:decide_invoice": Rule("api-integration", POST),
    "api-v1:list_events": Rule("api-vendor", API_GET),
    # Ship notices (one path, two operations): the body names vendor A's order, so vendor
    # B's token is refused with 404 (exactly, in tests/test_api_ship_notices.py).
    "api-v1:list_ship_notices": Rule(
        "api-vendor", ("GET", "POST"), integration_writes=True, ok=(404,)
    ),
    "api-v1:create_ship_notice": Rule(
        "api-vendor", ("GET", "POST"), integration_writes=True, ok=(404,)
    ),
    "api-v1:get_ship_notice": Rule("api-vendor", API_GET),
    # Attachments (tests/test_api_attachments.py; one path, two operations each): the
    # uploads are sent as multipart (API_UPLOADS). On an order either side attaches (the
    # body's kind "other" is both sides'); on a ship notice or an invoice only suppliers
    # (the buying company's tokens 403). The download is the buyer's shared drawing.
    "api-v1:list_order_attachments": Rule("api-vendor", GET_POST_API, integration_writes=True),
    "api-v1:add_order_attachment": Rule("api-vendor", GET_POST_API, integration_writes=True),
    "api-v1:list_ship_notice_attachments": Rule("api-vendor", GET_POST_API),
    "api-v1:add_ship_notice_attachment": Rule("api-vendor", GET_POST_API),
    "api-v1:list_invoice_attachments": Rule("api-vendor", GET_POST_API),
    "api-v1:add_invoice_attachment": Rule("api-vendor", GET_POST_API),
    "api-v1:download_attachment": Rule("api-vendor", API_GET),
    # A login's own notification settings (one path, two operations): any token's login.
    "api-v1:get_settings": Rule("api-vendor", ("GET", "PUT"), integration_writes=True),
    "api-v1:put_settings": Rule("api-vendor", ("GET", "PUT"), integration_writes=True),
    **{
        f"api-v1:sync_{what}_{n}": Rule("api-integration", POST)
        for what in (
            "vendors",
            "items",
            "orders",
            "receipts",
            "ship_notices",
            "invoices",
            "payments",
        )
        for n in ("one", "batch")
    },
}

# Rules for routes other branches add (they must not fail while the route is missing).
FUTURE_RULES: dict[str, Rule] = {
    # the audit trail: buyers only; it checks the method before the login (405 first)
    "buying:audit": Rule("buyer", GET, method_first=True),
    # a vendor admin requires two-factor for the vendor's logins (the team page's form)
    "portal:team:mfa": Rule("vendor-admin", POST, ok=(302,)),
}
FUTURE_PREFIX_RULES: dict[str, Rule] = {
    # allauth's MFA pages: any login; GET may send to reauthentication (302) or answer 404
    # (nothing to deactivate); their forms' other methods are allauth's (lenient)
    "mfa_": Rule("logged-in", GET, ok=(302, 400, 404), lenient=True),
}
# Whole families by URL-name prefix: the back office.
PREFIX_RULES: dict[str, Rule] = {
    "admin:": Rule("admin-site", GET_POST),  # (admin:login and admin:logout: RULES)
    **FUTURE_PREFIX_RULES,
}


def rule_for(name: str) -> Rule | None:
    if name in RULES:
        return RULES[name]
    if name in FUTURE_RULES:
        return FUTURE_RULES[name]
    for prefix, rule in PREFIX_RULES.items():
        if name.startswith(prefix):
            return rule
    return None


# --- roles ---------------------------------------------------------------------------------

WEB_LOGINS = {  # role -> (world attribute of the user, vendor it belongs to)
    "vendor_user": ("amos", "a"),
    "vendor_admin": ("alice", "a"),
    "vendor_b_user": ("bert", "b"),
    "deactivated": ("dora", "a"),
    "buyer": ("buyer", None),
    "administrator": ("administrator", None),
}
TOKEN_ROLES = {  # role -> vendor of the token
    "vendor_token": "a",
    "read_only_token": "a",
    "vendor_b_token": "b",
    "integration_token": None,
    "revoked_token": "a",
    "deactivated_token": "a",
}
ROLES = ["anonymous", *WEB_LOGINS, *TOKEN_ROLES]
VENDOR_OF = {
    **{r: v for r, (_, v) in WEB_LOGINS.items()},
    **TOKEN_ROLES,
    "anonymous": None,
}


# --- routes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str  # e.g. "portal/orders/<str:number>/"
    params: tuple[str, ...]


def walk(patterns: list[Any], prefix: str = "", ns: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            namespace = ns + (f"{entry.namespace}:" if entry.namespace else "")
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), namespace)
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            name = ns + (entry.name or f"<unnamed {pattern}>")
            params = tuple(_params(pattern))
            yield Route(name, pattern, params)


def _params(pattern: str) -> list[str]:
    names = re.findall(r"<(?:\w+:)?(\w+)>", pattern) + re.findall(r"\(\?P<(\w+)>", pattern)
    return names


def all_routes() -> list[Route]:
    seen: dict[tuple[str, str], Route] = {}
    for route in walk(get_resolver().url_patterns):
        seen.setdefault((route.name, route.pattern), route)
    return list(seen.values())


def _admin_object_id(world: World, route: Route) -> str:
    """A real object of the admin's model (vendor A's when the model is vendor data)."""
    from django.contrib import admin

    match = re.match(r"admin/(\w+)/(\w+)/", route.pattern)
    if not match:
        return "1"
    app_label, model_name = match.groups()
    for model in admin.site._registry:
        if model._meta.app_label == app_label and model._meta.model_name == model_name:
            candidates = {
                "vendor": world.a.vendor,
                "purchaseorder": world.a.order,
                "invoice": world.a.invoice,
                "receipt": world.a.receipt,
                "user": world.amos,
                "apitoken": world.a.token,
                "webhooksubscription": world.webhook,
            }
            obj = candidates.get(model_name) or model._default_manager.order_by("pk").first()
            return str(obj.pk) if obj is not None else "1"
    return "1"


def instances(world: World, route: Route) -> list[tuple[str, str | None]]:
    """(url, owner vendor "a"/"b"/None) for each way the route is requested."""
    if not route.params:
        return [("/" + _plain(route.pattern), None)]
    if route.name.startswith("admin:"):
        values = {
            "object_id": _admin_object_id(world, route),
            "id": str(world.amos.pk),
            "url": "no-such-page/",
            "content_type_id": "1",
            "app_label": "purchasing",
        }
        return [("/" + _fill(route.pattern, values), None)]
    urls: list[tuple[str, str | None]] = []
    for owner in ("a", "b"):
        side = getattr(world, owner)
        values = {
            "number": side.order.number,
            "delivery_id": str(side.delivery.pk),
            "proposal_id": str(side.proposal.pk),
            "line_number": "10",
            "pk": str(side.invoice.pk),
            "public_id": str(side.users[-1].public_id),
            "token": "not-a-valid-invitation-token",
            "key": "not-a-valid-key",
            "uidb36": "1",
        }
        if route.name == "portal:api-token-revoke":
            values["pk"] = str(side.token.pk)  # type: ignore[union-attr]
        if "ship-notice" in route.name:
            values["pk"] = str(side.ship_notice.pk)
        values["notice_id"] = str(side.ship_notice.pk)
        values["invoice_id"] = str(side.invoice.pk)
        if "attachment-d" in route.name or route.name in (
            "api-v1:download_attachment",
            "file-link",
        ):
            # a file's download and delete: its opaque id
            values["public_id"] = side.attachment.public_id  # type: ignore[union-attr]
        if route.name == "portal:team:invitation-revoke":
            values["public_id"] = str(side.invitation.public_id)  # type: ignore[union-attr]
        if route.name in ("buying:line-release", "buying:order-call-off", "api-v1:call_off"):
            values["number"] = side.blanket.number
        url = "/" + _fill(route.pattern, values)
        if route.name == "portal:order-propose":
            url += f"?delivery={side.delivery.pk}"  # the form is for one delivery or line
        urls.append((url, owner))
    return urls


def _plain(pattern: str) -> str:
    return pattern.replace("^", "").replace("$", "")


def _fill(pattern: str, values: dict[str, str]) -> str:
    filled = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], pattern)
    filled = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], filled)
    return _plain(filled)


# --- the expected answers ------------------------------------------------------------------


# What an upstream (allauth, admin, ninja's schema view) page may answer to a method it does
# not list: Django's class-based views answer OPTIONS with 200 and PUT like POST, allauth
# sends a logged-in visitor of a login page away: anything but a crash (5xx), and no write.
LENIENT = {200, 302, 400, 403, 404, 405}


def expected(rule: Rule, role: str, method: str, owner: str | None) -> set[int] | str:
    """The statuses `role` may get; "login"/"admin-login" mean a 302 to that page."""
    kind = rule.kind
    if kind.startswith("api-"):
        return _expected_api(rule, role, method, owner)
    is_token = role in TOKEN_ROLES
    # Web pages ignore bearer tokens, and a deactivated login's session no longer counts.
    web_role = "anonymous" if is_token or role == "deactivated" else role
    vendor = VENDOR_OF[role] if web_role != "anonymous" else None
    other = LENIENT if rule.lenient else {405}
    if rule.method_first and method not in rule.methods:
        return other
    if kind in ("public", "invitation"):
        if method not in rule.methods:
            return other
        return {200, *rule.ok}
    if kind == "admin-site":
        if web_role != "administrator":
            return "admin-login"
        return LENIENT
    if kind == "stream":
        if method not in rule.methods:
            return {405}
        if web_role == "anonymous":
            return {403}
        on_buyer_side = web_role in ("buyer", "administrator")
        return {200} if on_buyer_side == (rule.side == "buyer") else {404}
    if web_role == "anonymous":
        if rule.lenient and method not in rule.methods:
            return {302, 405}  # allauth: a redirect or 405, before or after its login check
        return "login"
    if kind == "logged-in":
        allowed = True
    elif kind == "vendor":
        allowed = vendor is not None
    elif kind == "vendor-admin":
        allowed = role == "vendor_admin"
    elif kind == "buyer":
        allowed = web_role in ("buyer", "administrator")
    else:
        raise AssertionError(f"unknown rule kind {kind}")
    if not allowed:
        return {404}  # the other side's pages do not exist for this login
    if method not in rule.methods:
        return other
    if owner is not None and vendor is not None and owner != vendor:
        return {404}  # another vendor's object: exactly like a missing one
    if method in GET:
        return {200, *rule.ok}
    return {200, 302, 400, *rule.ok}


def _expected_api(rule: Rule, role: str, method: str, owner: str | None) -> set[int]:
    kind = rule.kind
    if kind == "api-public":
        return {200} if method in rule.methods else LENIENT
    if kind == "api-none":
        return {404, 405}
    if method not in rule.methods:
        return {405}  # ninja checks the method before the token
    if role not in TOKEN_ROLES or role in ("revoked_token", "deactivated_token"):
        return {401}  # no token, a revoked one, or one whose login was deactivated
    vendor = TOKEN_ROLES[role]
    if kind == "api-integration":
        # (the bodies name external ids that do not exist: refused per record or 4xx)
        return {200, 201, 400, 404, 409} if role == "integration_token" else {403}
    # api-vendor
    if method in WRITE_METHODS:
        if role == "read_only_token":
            return {403}
        if role == "integration_token" and not rule.integration_writes:
            return {403, 404}
    if owner is not None and vendor is not None and owner != vendor:
        return {404}
    if method in WRITE_METHODS:
        return {200, 201} | set(rule.ok)
    return {200}


# --- requests ------------------------------------------------------------------------------

# Tables a refused request may touch: sessions (every request may save its session) and
# the token's last use (written when the token authenticates, before any refusal).
ALLOWED_WRITES = re.compile(
    r'^\s*(UPDATE|INSERT INTO|DELETE FROM)\s+"?(django_session|api_apitoken|axes_\w+|audit_\w+)"?',
    re.I,
)
WRITE_SQL = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.I)


class WriteSpy:
    def __init__(self) -> None:
        self.writes: list[str] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if WRITE_SQL.match(sql) and not ALLOWED_WRITES.match(sql):
            self.writes.append(sql[:120])
        return execute(sql, params, many, context)

    def writes_outside(self, tables: tuple[str, ...]) -> list[str]:
        return [w for w in self.writes if not any(f'"{t}"' in w.split("(")[0] for t in tables)]


API_BODIES: dict[str, Any] = {
    "api-v1:acknowledge": lambda w, side: {"revision": side.order.revision, "response": "accepted"},
    "api-v1:propose": lambda w, side: {
        "line_number": 10,
        "delivery_number": side.delivery.delivery_number,
        "due_date": "2027-02-01",
        "reason": "matrix",
    },
    "api-v1:comment": lambda w, side: {"body": "matrix comment"},
    **{
        f"api-v1:{name}": lambda w, side: {
            "order_number": side.order.number,
            "expected_date": "2026-12-10",
            "lines": [{"line_number": 10, "quantity": "1"}],
        }
        for name in ("list_ship_notices", "create_ship_notice")
    },
    **{
        f"api-v1:{name}": lambda w, side: {
            "order_number": side.order.number,
            "number": "INV-MATRIX",
            "accept_exceptions": True,
            "lines": [{"line_number": 10, "quantity": "1"}],
        }
        for name in ("list_invoices", "create_invoice")
    },
    "api-v1:create_credit_note": lambda w, side: {
        "number": "CN-MATRIX",
        "reason": "matrix",
        "lines": [{"order_number": side.order.number, "line_number": 10, "quantity": "1"}],
    },
    "api-v1:decide_invoice": lambda w, side: {"action": "approve"},
    "api-v1:call_off": lambda w, side: {
        "releases": [{"line_number": 10, "quantity": "5", "due_date": "2027-01-10"}]
    },
    "api-v1:sync_vendors_one": lambda w, side: {"external_id": "X-V", "code": "XV", "name": "X"},
    "api-v1:sync_items_one": lambda w, side: {
        "external_id": "X-I",
        "part_number": "X-1",
        "description": "x",
    },
    "api-v1:sync_orders_one": lambda w, side: {
        "external_id": "X-O",
        "number": "PO-X-1",
        "vendor_external_id": "no-such-vendor",
        "lines": [{"line_number": 10, "quantity": "1", "unit_price": "1"}],
    },
    "api-v1:sync_receipts_one": lambda w, side: {
        "external_id": "X-R",
        "order_external_id": "no-such-order",
        "lines": [{"line_number": 10, "delivery_number": 1, "quantity": "1"}],
    },
    "api-v1:sync_ship_notices_one": lambda w, side: {
        "external_id": "X-ASN",
        "order_external_id": "no-such-order",
        "expected_date": "2026-12-10",
        "lines": [{"line_number": 10, "delivery_number": 1, "quantity": "1"}],
    },
    "api-v1:sync_invoices_one": lambda w, side: {
        "external_id": "X-INV",
        "vendor_external_id": "no-such-vendor",
        "number": "INV-X",
        "lines": [
            {"order_external_id": "no-such", "line_number": 10, "quantity": "1", "unit_price": "1"}
        ],
    },
    "api-v1:sync_payments_one": lambda w, side: {
        "external_id": "X-P",
        "invoice_external_id": "no-such-invoice",
        "amount": "1.00",
    },
}


def _upload(kind: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return lambda w, side: {
        "file": SimpleUploadedFile("matrix.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf"),
        "kind": kind,
    }


# The API's file uploads: multipart bodies (fields and a file), not JSON.
API_UPLOADS: dict[str, Any] = {
    **{
        f"api-v1:{name}": _upload("other")
        for name in ("list_order_attachments", "add_order_attachment")
    },
    **{
        f"api-v1:{name}": _upload("certificate")
        for name in ("list_ship_notice_attachments", "add_ship_notice_attachment")
    },
    **{
        f"api-v1:{name}": _upload("invoice_pdf")
        for name in ("list_invoice_attachments", "add_invoice_attachment")
    },
}


# Web forms are posted empty (they must answer 400 or the form with errors), except where
# the form's target travels in the body.
WEB_BODIES: dict[str, Any] = {
    "portal:order-propose": lambda side: {"delivery": side.delivery.pk},
}


def api_body(world: World, route_name: str, owner: str | None) -> dict[str, Any]:
    maker = API_BODIES.get(route_name.removesuffix("_batch").removesuffix("_one") + "_one")
    maker = API_BODIES.get(route_name, maker)
    side = getattr(world, owner or "a")
    if maker is None:
        return {"records": [{}]} if route_name.endswith("_batch") else {}
    body: dict[str, Any] = maker(world, side)
    if route_name.endswith("_batch"):
        return {"records": [body]}
    return body


def clients(world: World) -> dict[str, Client]:
    made: dict[str, Client] = {}
    for role in ROLES:
        client = Client()
        if role in WEB_LOGINS:
            client.force_login(getattr(world, WEB_LOGINS[role][0]), backend=None)
        client.saved_cookies = {k: m.value for k, m in client.cookies.items()}  # type: ignore[attr-defined]
        made[role] = client
    return made


def send(
    client: Client, role: str, world: World, method: str, url: str, route: Route, owner: str | None
) -> Any:
    # Each request starts from the role's own session: a request before it may have logged
    # out or rotated the session (its rows were rolled back, its cookie was not).
    client.cookies = SimpleCookie()
    for key, value in client.saved_cookies.items():  # type: ignore[attr-defined]
        client.cookies[key] = value
    headers: dict[str, str] = {}
    if role in TOKEN_ROLES:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {world.secrets[role]}"
    call = getattr(client, method.lower())
    if url.startswith("/api/") and method == "POST" and route.name in API_UPLOADS:
        return call(
            url, data=API_UPLOADS[route.name](world, getattr(world, owner or "a")), **headers
        )
    if url.startswith("/api/") and method in WRITE_METHODS:
        body = json.dumps(api_body(world, route.name, owner))
        return call(url, data=body, content_type="application/json", **headers)
    if method == "POST" and route.name in WEB_BODIES:
        return call(url, WEB_BODIES[route.name](getattr(world, owner or "a")), **headers)
    return call(url, **headers)


def check(answer: Any, want: set[int] | str) -> bool:
    if want == "login":
        return answer.status_code == 302 and answer["Location"].startswith(LOGIN_PAGE)
    if want == "admin-login":
        return answer.status_code == 302 and answer["Location"].startswith(ADMIN_LOGIN)
    assert isinstance(want, set)
    return answer.status_code in want


def refused(want: set[int] | str) -> bool:
    return isinstance(want, str) or not (want & {200, 201, 302})


@pytest.fixture
def world(settings: Any) -> World:
    settings.API_RATE_LIMIT = "1000000/s"
    settings.ACCOUNT_RATE_LIMITS = False
    settings.AXES_ENABLED = False
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    return build_world()


def test_every_route_has_a_rule() -> None:
    missing = [r.name + "  " + r.pattern for r in all_routes() if rule_for(r.name) is None]
    assert not missing, "routes without a rule in RULES:\n" + "\n".join(missing)


def test_every_openapi_operation_has_a_rule(client: Client) -> None:
    schema = json.loads(client.get("/api/v1/openapi.json").content)
    by_pattern = {r.pattern: r for r in all_routes() if r.name.startswith("api-v1:")}
    problems = []
    operations = 0
    for path, ops in schema["paths"].items():
        template = re.sub(r"\{(\w+)\}", r"<\1>", path).lstrip("/")
        route = by_pattern.get(template)
        for method in ops:
            operations += 1
            if route is None:
                problems.append(f"{method.upper()} {path}: no route")
                continue
            rule = rule_for(route.name)
            if rule is None or method.upper() not in rule.methods:
                problems.append(f"{method.upper()} {path}: not in RULES ({route.name})")
    assert operations >= 20
    assert not problems, "\n".join(problems)


def test_authorization_matrix(world: World, capsys: Any) -> None:
    routes = all_routes()
    unexpected: list[str] = []
    requests = 0
    by_role = clients(world)
    kind_time: dict[str, float] = {}
    for route in routes:
        rule = rule_for(route.name)
        if rule is None:
            unexpected.append(f"{route.name}: no rule")
            continue
        started = time.perf_counter()
        methods = ("GET", "POST") if route.name.startswith("admin:") else ALL_METHODS
        for url, owner in instances(world, route):
            for role in rule.roles or ROLES:
                for method in methods:
                    want = expected(rule, role, method, owner)
                    spy = WriteSpy()
                    try:
                        with transaction.atomic(), connection.execute_wrapper(spy):
                            answer = send(by_role[role], role, world, method, url, route, owner)
                            transaction.set_rollback(True)
                    except Exception as error:
                        unexpected.append(f"{method} {url} as {role}: raised {error!r}")
                        continue
                    requests += 1
                    where = f"{method} {url} as {role} ({route.name})"
                    if not check(answer, want):
                        got = answer.status_code
                        if got == 302:
                            got = f"302 → {answer['Location']}"
                        unexpected.append(f"{where}: got {got}, expected {want}")
                    elif (method not in rule.methods or refused(want)) and spy.writes_outside(
                        rule.writes
                    ):
                        unexpected.append(f"{where}: refused but wrote {spy.writes}")
        kind_time[rule.kind] = kind_time.get(rule.kind, 0.0) + time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\nauthorization matrix: {len(routes)} routes, {len(ROLES)} roles, "
            f"{requests} requests, {len(unexpected)} unexpected answers"
        )
        print({k: round(v, 1) for k, v in kind_time.items()})
    assert unexpected == [], f"{len(unexpected)} unexpected answers:\n" + "\n".join(unexpected)
