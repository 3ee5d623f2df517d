from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django_scopes import scopes_disabled

from tests import clock
from tests.factories import UserFactory, VendorFactory
from tests.smtp import SmtpServer
from vendorportal.accounts.models import Role, User
from vendorportal.events import log
from vendorportal.events.models import Event
from vendorportal.purchasing.models import Vendor


def pytest_configure(config: pytest.Config) -> None:
    """The whole suite runs on one pinned day (tests/clock.py), before anything is collected."""
    clock.pin()


@pytest.fixture
def vendor_a(db: None) -> Vendor:
    return VendorFactory(code="ACME", name="Acme Components")


@pytest.fixture
def vendor_b(db: None) -> Vendor:
    return VendorFactory(code="BOLT", name="Bolt Fasteners")


@pytest.fixture
def buyer(db: None) -> User:
    return UserFactory(email="buyer@example.com", role=Role.BUYER, first_name="Bea")


class PublishedEvents(list[Event]):
    def kinds(self) -> list[str]:
        return [event.kind for event in self]


@pytest.fixture
def published() -> Iterator[PublishedEvents]:
    """Events as subscribers receive them: only after the transaction commits."""
    captured = PublishedEvents()
    unsubscribe = log.subscribe(captured.append)
    yield captured
    unsubscribe()


@pytest.fixture
def alice(vendor_a: Vendor) -> User:
    """Vendor A's admin."""
    return UserFactory(
        email="alice@acme.example", role=Role.VENDOR_ADMIN, vendor=vendor_a, first_name="Alice"
    )


@pytest.fixture
def amos(vendor_a: Vendor) -> User:
    """Vendor A's ordinary user."""
    return UserFactory(
        email="amos@acme.example", role=Role.VENDOR_USER, vendor=vendor_a, first_name="Amos"
    )


@pytest.fixture
def bob(vendor_b: Vendor) -> User:
    """Vendor B's user: must never see anything of vendor A."""
    return UserFactory(
        email="bob@bolt.example", role=Role.VENDOR_USER, vendor=vendor_b, first_name="Bob"
    )


@pytest.fixture(autouse=True)
def _internal_scope() -> Iterator[None]:
    """Tests set up data as the back office does; requests set their own scope."""
    with scopes_disabled():
        yield


@pytest.fixture(autouse=True, scope="session")
def _attachments_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Uploaded files go to the session's temporary folder, never to the project's var/:
    for the whole session, so class- and module-scoped fixtures (the demo) use it too."""
    from django.conf import settings
    from django.test import override_settings

    storages = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path_factory.getbasetemp() / "attachments")},
        },
    }
    with override_settings(STORAGES=storages):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Argon2 is the product's hasher (settings.py); tests hash many passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _account_security_off_unless_marked(request: pytest.FixtureRequest, settings: Any) -> None:
    """Two-factor enforcement and the API's failed-token limit are on in the product; tests
    log in with force_login and make many bad API calls on purpose, so both are off unless
    a test is marked `mfa` (enforcement) or `auth_throttle` (the failed-token limit)."""
    if request.node.get_closest_marker("mfa") is None:
        settings.MFA_ENFORCED = False
    if request.node.get_closest_marker("auth_throttle") is None:
        settings.API_AUTH_FAILURE_LIMIT = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test fails the run: CI must never pass by skipping what it should test."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and exitstatus == pytest.ExitCode.OK:
        reporter.write_line("")
        reporter.write_line(f"error: {len(skipped)} test(s) skipped; none may be.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) that the e-mail settings point at, for this test."""
    server = SmtpServer().start()
    for name, value in server.settings().items():
        setattr(settings, name, value)
    settings.SITE_URL = "http://portal.test"
    yield server
    server.stop()
