"""One rule for the client's address (issue 14, case 1), against the real server.

The demo was probed through `vendorportal serve`: uvicorn rewrote the peer address from
`X-Forwarded-For` for local peers, so after five wrong passwords the right one got in with a
made-up header, and guesses with a new header each were never locked. These tests drive the
same server: the lockout, the audit trail and the API's failure limit see one address, and
only `TRUSTED_PROXIES` makes a forwarded header count.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from tests.asgi import Server, request, running_server
from tests.factories import UserFactory
from vendorportal.accounts.models import Role
from vendorportal.audit.models import AuditEntry
from vendorportal.core.client_address import resolve

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"
# Every header some proxy or library uses to carry a client address.
FORGED = ("X-Forwarded-For", "X-Real-IP", "Forwarded", "X-Client-IP", "True-Client-IP")


@pytest.fixture
def supplier(settings, vendor_a):
    # The server checks passwords with the product's hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = UserFactory(email="clerk@acme.example", role=Role.VENDOR_USER, vendor=vendor_a)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    with running_server(tmp_path) as running:
        yield running


def log_in(server: Server, email: str, password: str, **headers: str) -> int:
    status, _ = request(
        server,
        "POST",
        "/accounts/login/",
        form={"login": email, "password": password},
        headers=headers,
    )
    return status


def forged(n: int) -> dict[str, str]:
    """A different made-up client address in every address header."""
    address = f"10.1.{n // 250}.{n % 250 + 1}"
    return {name: (f"for={address}" if name == "Forwarded" else address) for name in FORGED}


def test_forged_headers_neither_escape_nor_reset_the_lockout(server, supplier):
    # Six guesses, each claiming a new address (fewer than allauth's own ten a minute, so
    # what answers is the lockout).
    statuses = [log_in(server, supplier.email, "wrong", **forged(n)) for n in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]  # locked at the fifth, headers or not
    # The right password with yet another address header is still locked out.
    assert log_in(server, supplier.email, PASSWORD, **forged(99)) == 429
    # The audit trail saw the connection's own address every time.
    ips = set(AuditEntry.objects.filter(action="login.failed").values_list("ip", flat=True))
    assert ips == {"127.0.0.1"}


def test_the_api_failure_limit_counts_the_connection_not_the_header(tmp_path, db):
    with running_server(tmp_path, API_AUTH_FAILURE_LIMIT="3") as server:
        statuses = []
        for n in range(6):
            status, _ = request(
                server,
                "GET",
                "/api/v1/orders",
                headers={"Authorization": "Bearer vp_nonsense", **forged(n)},
            )
            statuses.append(status)
    assert statuses[:3] == [401] * 3
    assert set(statuses[3:]) == {429}, statuses


def test_behind_a_trusted_proxy_the_forwarded_client_counts(tmp_path, supplier):
    with running_server(tmp_path, TRUSTED_PROXIES="127.0.0.1") as server:
        for _ in range(5):
            log_in(server, supplier.email, "wrong", **{"X-Forwarded-For": "203.0.113.7"})
        assert log_in(server, supplier.email, PASSWORD, **{"X-Forwarded-For": "203.0.113.7"}) == (
            429
        )
        # Another client behind the same proxy is not locked out by the first one's guesses.
        assert log_in(server, supplier.email, PASSWORD, **{"X-Forwarded-For": "203.0.113.8"}) == (
            302
        )
        # Only X-Forwarded-For: the other headers are not read even from the proxy.
        log_in(server, supplier.email, "wrong", **{"X-Real-IP": "198.51.100.1"})
    ips = set(AuditEntry.objects.filter(action="login.failed").values_list("ip", flat=True))
    assert ips == {"203.0.113.7", "127.0.0.1"}


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "expected"),
    [
        ([], "10.0.0.8", "203.0.113.9", "10.0.0.8"),
        (["10.0.0.0/8"], "10.0.0.8", "203.0.113.9", "203.0.113.9"),
        # Two proxies of ours: both hops skipped, the client is the one before them.
        (["10.0.0.0/8"], "10.0.0.8", "198.51.100.4, 203.0.113.9, 10.0.0.3", "203.0.113.9"),
        # Everything in the header is ours: the left-most of it is as far as we can see.
        (["10.0.0.0/8"], "10.0.0.8", "10.0.0.2, 10.0.0.3", "10.0.0.2"),
        (["10.0.0.0/8"], "10.0.0.8", "", "10.0.0.8"),
        (["10.0.0.0/8"], "10.0.0.8", "unknown", "10.0.0.8"),
        (["::1"], "::1", "[2001:db8::1]:443", "2001:db8::1"),
        (["10.0.0.0/8"], "not an address", "203.0.113.9", None),
    ],
)
def test_the_rule(settings, trusted, peer, forwarded, expected):
    settings.TRUSTED_PROXIES = trusted
    assert resolve(peer, forwarded) == expected


def test_a_misspelt_proxy_address_is_a_startup_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.TRUSTED_PROXIES = ["10.0.0.0/33"]
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        resolve("10.0.0.8", None)


def test_the_test_client_goes_through_the_same_rule(settings, supplier):
    settings.TRUSTED_PROXIES = []
    Client().post(
        "/accounts/login/",
        {"login": supplier.email, "password": "wrong"},
        REMOTE_ADDR="192.0.2.5",
        HTTP_X_FORWARDED_FOR="203.0.113.1",
    )
    assert AuditEntry.objects.get(action="login.failed").ip == "192.0.2.5"
