"""Hardened accounts: two-factor authentication (TOTP, recovery codes), lockout after
repeated failed logins, and the API's limit on failed token authentications."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from axes.models import AccessAttempt
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.factories import TEST_PASSWORD, UserFactory
from tests.test_api import schema, token_for
from vendorportal.accounts.models import Role
from vendorportal.purchasing import demo

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SETUP = "/accounts/2fa/totp/activate/"


def code_now(secret: str = SECRET, shift: int = 0) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + shift))


@pytest.fixture(autouse=True)
def _fresh_cache():
    """allauth's rate limits and used-code markers, and the API's failure counts, live
    in the cache: each test starts from nothing."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def admin_buyer(db):
    return UserFactory(email="root@example.com", role=Role.BUYER, is_staff=True, is_superuser=True)


def log_in(client: Client, email: str, password: str = TEST_PASSWORD, **extra):
    return client.post(reverse("account_login"), {"login": email, "password": password}, **extra)


# --- who must use two-factor authentication ------------------------------------------------


@pytest.mark.mfa
class TestEnforcement:
    def test_a_buyer_without_an_authenticator_is_sent_to_set_one_up(self, client, buyer):
        client.force_login(buyer)
        for path in ("/buying/", "/buying/orders/", "/", "/portal/", "/admin/"):
            response = client.get(path)
            assert response.status_code == 302, path
            assert response["Location"] == SETUP, path
        # What stays open: the setup pages, logging out, the API (by token, not session).
        # Setting up asks for the password again first (allauth's reauthentication).
        setup = client.get(SETUP)
        assert setup["Location"].startswith(reverse("account_reauthenticate"))
        assert client.get(setup["Location"]).status_code == 200
        assert client.get(reverse("mfa_index")).status_code == 200
        assert client.get("/api/v1/orders").status_code == 401
        assert client.post(reverse("account_logout")).status_code == 302
        assert client.get("/buying/").status_code == 302  # logged out now: to the login
        assert client.get("/buying/")["Location"].startswith(reverse("account_login"))

    def test_streams_background_fetches_and_posts_are_refused_not_redirected(self, client, buyer):
        """Following a redirect to the setup page would make a new secret each time, and
        change the one the person is typing into the app."""
        client.force_login(buyer)
        stream = client.get("/buying/events", HTTP_ACCEPT="text/event-stream")
        assert stream.status_code == 403
        partial = client.get("/buying/orders/", HTTP_HX_REQUEST="true")
        assert partial.status_code == 403
        boosted = client.get("/buying/orders/", HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true")
        assert boosted["Location"] == SETUP
        assert client.post("/buying/orders/", {}).status_code == 403
        assert "mfa.totp.secret" not in client.session

    def test_an_administrator_is_sent_too(self, client, admin_buyer):
        client.force_login(admin_buyer)
        assert client.get("/admin/")["Location"] == SETUP

    def test_with_an_authenticator_the_buyer_works_normally(self, client, buyer):
        TOTP.activate(buyer, SECRET)
        client.force_login(buyer)
        assert client.get("/buying/").status_code == 200

    def test_vendor_logins_only_when_their_vendor_requires_it(self, client, amos, vendor_a, bob):
        client.force_login(amos)
        assert client.get("/portal/").status_code == 200
        vendor_a.mfa_required = True
        vendor_a.save()
        assert client.get("/portal/")["Location"] == SETUP
        other = Client()
        other.force_login(bob)  # vendor B never asked for it
        assert other.get("/portal/").status_code == 200

    def test_off_when_not_enforced(self, client, buyer, settings):
        settings.MFA_ENFORCED = False
        client.force_login(buyer)
        assert client.get("/buying/").status_code == 200


def test_tests_run_without_enforcement_unless_marked(client, buyer):
    client.force_login(buyer)
    assert client.get("/buying/").status_code == 200


@pytest.mark.mfa
def test_setting_up_the_authenticator_app_and_recovery_codes(client, buyer):
    response = log_in(client, buyer.email)
    assert response.status_code == 302
    assert client.get("/buying/")["Location"] == SETUP
    confirm = client.get(SETUP)
    assert confirm["Location"].startswith(reverse("account_reauthenticate"))
    confirmed = client.post(confirm["Location"], {"password": TEST_PASSWORD})
    assert confirmed["Location"] == SETUP
    page = client.get(SETUP)
    assert page.status_code == 200
    assert b"Authenticator secret" in page.content or b"secret" in page.content
    secret = client.session["mfa.totp.secret"]
    assert secret.encode() in page.content
    wrong = client.post(SETUP, {"code": "000000" if code_now(secret) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert not Authenticator.objects.filter(user=buyer).exists()
    done = client.post(SETUP, {"code": code_now(secret)})
    assert done.status_code == 302
    kinds = set(Authenticator.objects.filter(user=buyer).values_list("type", flat=True))
    assert kinds == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}
    assert client.get("/buying/").status_code == 200
    codes = client.get(reverse("mfa_view_recovery_codes"))
    assert codes.status_code == 200
    unused = RecoveryCodes(Authenticator.objects.get(user=buyer, type="recovery_codes"))
    assert len(unused.get_unused_codes()) == 10
    assert unused.get_unused_codes()[0].encode() in codes.content


@pytest.mark.mfa
class TestLogin:
    def test_the_code_is_asked_after_the_password(self, client, buyer):
        TOTP.activate(buyer, SECRET)
        response = log_in(client, buyer.email)
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_authenticate")
        # Not logged in yet: the password alone opens nothing.
        assert client.get("/buying/")["Location"].startswith(reverse("account_login"))
        page = client.get(reverse("mfa_authenticate"))
        assert page.status_code == 200
        assert b"authenticator app" in page.content
        wrong = client.post(reverse("mfa_authenticate"), {"code": "12345"})
        assert wrong.status_code == 200
        assert b"Incorrect code" in wrong.content
        right = client.post(reverse("mfa_authenticate"), {"code": code_now()})
        assert right.status_code == 302
        assert client.get("/buying/").status_code == 200
        methods = [m["method"] for m in client.session["account_authentication_methods"]]
        assert methods == ["password", "mfa"]

    def test_a_code_works_once(self, client, buyer):
        TOTP.activate(buyer, SECRET)
        code = code_now()
        log_in(client, buyer.email)
        assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
        again = Client()
        log_in(again, buyer.email)
        assert again.post(reverse("mfa_authenticate"), {"code": code}).status_code == 200
        assert again.get("/buying/").status_code == 302

    def test_a_recovery_code_works_once_instead(self, client, buyer):
        TOTP.activate(buyer, SECRET)
        recovery = RecoveryCodes.activate(buyer)
        code = recovery.get_unused_codes()[0]
        log_in(client, buyer.email)
        assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
        assert client.get("/buying/").status_code == 200
        again = Client()
        log_in(again, buyer.email)
        assert again.post(reverse("mfa_authenticate"), {"code": code}).status_code == 200

    def test_the_top_bar_links_to_the_two_factor_page(self, client, amos):
        client.force_login(amos)
        page = client.get("/portal/")
        assert f'href="{reverse("mfa_index")}"'.encode() in page.content
        assert b"Two-factor" in page.content
        index = client.get(reverse("mfa_index"))
        assert index.status_code == 200
        assert SETUP.encode() in index.content


class TestVendorRequirement:
    def test_a_vendor_admin_requires_it_for_the_vendor(self, client, alice, vendor_a, vendor_b):
        client.force_login(alice)
        team = client.get(reverse("portal:team:members"))
        assert b'id="team-mfa"' in team.content
        response = client.post(reverse("portal:team:mfa"), {"mfa_required": "on"})
        assert response.status_code == 302
        vendor_a.refresh_from_db()
        vendor_b.refresh_from_db()
        assert vendor_a.mfa_required is True
        assert vendor_b.mfa_required is False
        client.post(reverse("portal:team:mfa"), {})
        vendor_a.refresh_from_db()
        assert vendor_a.mfa_required is False

    def test_only_the_vendor_admin(self, client, amos, bob, buyer, vendor_a):
        for user in (amos, bob, buyer):
            client.force_login(user)
            response = client.post(reverse("portal:team:mfa"), {"mfa_required": "on"})
            assert response.status_code == 404, user
        vendor_a.refresh_from_db()
        assert vendor_a.mfa_required is False

    @pytest.mark.mfa
    def test_the_vendors_logins_are_then_sent_to_set_it_up(self, client, alice, amos):
        client.force_login(alice)
        client.post(reverse("portal:team:mfa"), {"mfa_required": "on"})
        assert client.get("/portal/")["Location"] == SETUP
        colleague = Client()
        colleague.force_login(amos)
        assert colleague.get("/portal/open-lines/")["Location"] == SETUP
        TOTP.activate(amos, SECRET)
        assert colleague.get("/portal/open-lines/").status_code == 200


# --- lockout after repeated failed logins (django-axes) --------------------------------------


class TestLockout:
    def test_five_failures_lock_the_login_from_that_address(self, client, amos):
        for attempt in range(1, 5):
            response = log_in(client, amos.email, "wrong password")
            assert response.status_code == 200, attempt
        locked = log_in(client, amos.email, "wrong password")
        assert locked.status_code == 429
        assert b"Too many failed logins" in locked.content
        assert b"15 minutes" in locked.content
        # Even the right password is refused now.
        right = log_in(client, amos.email)
        assert right.status_code == 429
        assert "_auth_user_id" not in client.session
        # The same login from another address, and another login from this one, are not.
        elsewhere = log_in(Client(), amos.email, REMOTE_ADDR="10.9.8.7")
        assert elsewhere.status_code == 302

    def test_another_login_from_the_same_address_is_not_locked(self, client, amos, bob):
        for _ in range(5):
            log_in(client, amos.email, "wrong password")
        assert log_in(Client(), bob.email).status_code == 302

    def test_the_lock_ends_after_fifteen_minutes(self, client, amos):
        for _ in range(5):
            log_in(client, amos.email, "wrong password")
        assert log_in(client, amos.email).status_code == 429
        AccessAttempt.objects.update(
            attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
        )
        cache.clear()  # allauth's own per-login rate limit is a separate, shorter guard
        assert log_in(client, amos.email).status_code == 302

    def test_a_success_resets_the_count(self, client, amos):
        for _ in range(4):
            log_in(client, amos.email, "wrong password")
        assert log_in(client, amos.email).status_code == 302
        client.post(reverse("account_logout"))
        cache.clear()
        for _ in range(4):
            assert log_in(client, amos.email, "wrong password").status_code == 200

    def test_the_back_office_login_locks_too(self, client, admin_buyer):
        url = reverse("admin:login")
        for _ in range(4):
            page = client.post(url, {"username": admin_buyer.email, "password": "nope"})
            assert page.status_code == 200
        locked = client.post(url, {"username": admin_buyer.email, "password": "nope"})
        assert locked.status_code == 429
        right = client.post(url, {"username": admin_buyer.email, "password": TEST_PASSWORD})
        assert right.status_code == 429
        assert AccessAttempt.objects.get().username == admin_buyer.email

    def test_the_same_count_whatever_the_case_of_the_address(self, client, amos):
        for variant in ("AMOS@acme.example", "amos@ACME.example", "Amos@Acme.Example"):
            log_in(client, variant, "wrong password")
        log_in(client, amos.email, "wrong password")
        assert log_in(client, amos.email.upper(), "wrong password").status_code == 429


# --- failed API token authentication ---------------------------------------------------------


@pytest.mark.auth_throttle
class TestTokenFailures:
    def test_too_many_bad_tokens_from_one_address_answer_429(
        self, client, settings, amos, vendor_a
    ):
        settings.API_AUTH_FAILURE_LIMIT = 3
        good = token_for(amos, vendor=vendor_a)
        for _ in range(3):
            bad = client.get("/api/v1/orders", HTTP_AUTHORIZATION="Bearer vpt_guess")
            assert bad.status_code == 401
        refused = client.get("/api/v1/orders", HTTP_AUTHORIZATION="Bearer vpt_guess")
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "too_many_failed_authentications"
        wait = error["details"]["retry_after"]
        assert 1 <= wait <= settings.API_AUTH_FAILURE_WINDOW + 1
        assert refused["Retry-After"] == str(wait)
        assert set(error) == {"code", "message", "details"}
        # The address is refused whatever token it sends, until the window ends.
        assert client.get("/api/v1/orders", HTTP_AUTHORIZATION=f"Bearer {good}").status_code == 429
        # Another address is not.
        other = client.get(
            "/api/v1/orders", HTTP_AUTHORIZATION=f"Bearer {good}", REMOTE_ADDR="10.1.2.3"
        )
        assert other.status_code == 200

    def test_the_window_ends(self, client, settings, amos, vendor_a, monkeypatch):
        settings.API_AUTH_FAILURE_LIMIT = 2
        settings.API_AUTH_FAILURE_WINDOW = 300
        good = token_for(amos, vendor=vendor_a)
        for _ in range(2):
            client.get("/api/v1/orders", HTTP_AUTHORIZATION="Bearer vpt_guess")
        assert client.get("/api/v1/orders", HTTP_AUTHORIZATION=f"Bearer {good}").status_code == 429
        later = time.time() + 301
        monkeypatch.setattr("vendorportal.api.auth.time.time", lambda: later)
        cache.clear()  # the locmem entry would have expired with the real clock
        assert client.get("/api/v1/orders", HTTP_AUTHORIZATION=f"Bearer {good}").status_code == 200

    def test_good_tokens_and_calls_without_a_token_do_not_count(
        self, client, settings, amos, vendor_a
    ):
        settings.API_AUTH_FAILURE_LIMIT = 2
        good = token_for(amos, vendor=vendor_a)
        for _ in range(5):
            assert client.get("/api/v1/orders").status_code == 401
            auth = f"Bearer {good}"
            assert client.get("/api/v1/orders", HTTP_AUTHORIZATION=auth).status_code == 200

    def test_every_operation_documents_the_429(self, db):
        spec = schema()
        operations = [
            (path, method, op)
            for path, item in spec["paths"].items()
            for method, op in item.items()
            if method in {"get", "post", "put", "patch", "delete"}
        ]
        assert operations
        for path, method, op in operations:
            if op.get("security") == []:
                continue  # an operation without authentication
            assert "429" in op["responses"], (method, path)


# --- the demo ---------------------------------------------------------------------------------


def test_demo_buyers_get_the_documented_secret_and_demo_code_prints_the_code(db, capsys):
    main = UserFactory(email=demo.MAIN_BUYER_EMAIL, role=Role.BUYER)
    assert demo.demo_mfa_setup() == 1
    assert demo.demo_mfa_setup() == 0  # idempotent
    authenticator = Authenticator.objects.get(user=main, type=Authenticator.Type.TOTP)
    assert authenticator.data["secret"] == demo.DEMO_TOTP_SECRET
    call_command("demo-code")
    printed = capsys.readouterr().out.strip()
    assert printed in {code_now(demo.DEMO_TOTP_SECRET, shift) for shift in (0, -1)}
    assert TOTP(authenticator).validate_code(printed)
    with pytest.raises(Exception, match="not a demo login"):
        call_command("demo-code", "someone@example.com")
