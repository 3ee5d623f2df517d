"""Account, session and HTTP hardening (issue 6, OWASP ASVS 5.0 level 2).

- CSP and security headers on every kind of response; no inline script or style anywhere
  in the templates; the API docs page loads nothing from another origin.
- Production settings: `check --deploy` clean, `__Host-`/Secure/HttpOnly/SameSite cookies.
- Sessions: the id rotates at login; idle and absolute timeouts; deactivation and password
  change or reset delete every session of the login, and end its live streams.
- CSRF: every URL pattern of the resolver refuses a cookie-authenticated POST without a
  token; the token API ignores cookies.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
import uuid
from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone

from tests.asgi import open_stream, running_server
from tests.factories import TEST_PASSWORD, UserFactory, make_order
from tests.test_browser import browser  # noqa: F401 - the Chromium fixture
from vendorportal.accounts import services as accounts
from vendorportal.accounts import sessions
from vendorportal.accounts.models import Role, UserSession

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "vendorportal" / "templates"


@pytest.fixture
def admin_buyer(db):
    return UserFactory(email="root@example.com", role=Role.BUYER, is_staff=True, is_superuser=True)


def logged_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def session_exists(key: str) -> bool:
    return import_module(settings.SESSION_ENGINE).SessionStore().exists(key)


# ---------------------------------------------------------------------------------------
# CSP and security headers
# ---------------------------------------------------------------------------------------

CSP_REQUIRED = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
]


def assert_security_headers(response, path: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    for directive in CSP_REQUIRED:
        assert directive in csp, f"{path}: CSP lacks {directive!r}: {csp!r}"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, f"{path}: {csp}"
    assert "http" not in csp, f"{path}: the CSP allows another origin: {csp}"
    assert headers.get("X-Content-Type-Options") == "nosniff", path
    assert headers.get("Referrer-Policy") == "same-origin", path
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", path
    assert headers.get("X-Frame-Options") == "DENY", path
    assert "camera=()" in headers.get("Permissions-Policy", ""), path


def test_every_kind_of_response_carries_the_csp_and_security_headers(amos, admin_buyer, settings):
    # pytest-django turns DEBUG off; whitenoise then serves only collected files.
    settings.WHITENOISE_USE_FINDERS = True
    client, vendor_client, back_office = Client(), logged_in(amos), logged_in(admin_buyer)
    cases = [
        (client, "/", 302),
        (client, "/accounts/login/", 200),
        (client, "/static/vendorportal/app.css", 200),  # whitenoise, before most middleware
        (client, "/static/ninja/swagger-ui-bundle.js", 200),
        (client, "/no-such-page/", 404),
        (client, "/api/v1/orders", 401),
        (client, "/api/v1/docs", 200),
        (client, "/api/v1/openapi.json", 200),
        (client, "/admin/login/", 200),
        (vendor_client, "/portal/", 200),
        (vendor_client, "/portal/orders/", 200),
        (vendor_client, "/buying/", 404),
        (back_office, "/buying/", 200),
        (back_office, "/admin/", 200),
        (back_office, "/admin/accounts/user/", 200),
    ]
    for who, path, status in cases:
        response = who.get(path)
        assert response.status_code == status, (path, response.status_code)
        assert_security_headers(response, path)


def test_no_inline_script_event_handler_or_style_in_any_template():
    """The CSP forbids them; a template with one would silently break in the browser."""
    offenders = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        if "email" in template.parts:  # e-mails are not served under the CSP
            continue
        text = template.read_text()
        for number, line in enumerate(text.splitlines(), 1):
            script = re.search(r"<script\b([^>]*)>", line)
            if script and "src=" not in script.group(1):
                offenders.append(f"{template.name}:{number}: inline <script>")
            if re.search(r"\son[a-z]+\s*=", line):
                offenders.append(f"{template.name}:{number}: event handler attribute")
            if re.search(r"\sstyle\s*=", line) or "<style" in line:
                offenders.append(f"{template.name}:{number}: inline style")
            if "hx-on" in line or "js:" in line:
                offenders.append(f"{template.name}:{number}: htmx eval")
    assert offenders == []


def test_htmx_is_configured_not_to_need_inline_styles_or_eval(client, amos):
    html = logged_in(amos).get("/portal/").content.decode()
    config = json.loads(re.search(r"name=\"htmx-config\" content='([^']*)'", html).group(1))
    assert config["includeIndicatorStyles"] is False
    assert config["allowEval"] is False


def test_the_api_docs_page_loads_swagger_from_this_site_only(settings):
    settings.WHITENOISE_USE_FINDERS = True
    client = Client()
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r"<(?:script|link)\b[^>]*(?:src|href)=\"([^\"]+)\"", html)
    assert "/static/ninja/swagger-ui-bundle.js" in sources
    assert "/static/ninja/swagger-ui.css" in sources
    assert all(source.startswith("/static/") for source in sources), sources
    # The only <script> without src is the JSON settings block, which never executes.
    inline = re.findall(r"<script\b([^>]*)>", html)
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in inline)
    swagger_settings = json.loads(
        re.search(r'id="swagger-settings">(.*?)</script>', html, re.S).group(1)
    )
    assert swagger_settings["validatorUrl"] is None  # no badge from validator.swagger.io
    assert swagger_settings["url"] == "/api/v1/openapi.json"
    for source in sources:
        assert client.get(source).status_code == 200, source


# ---------------------------------------------------------------------------------------
# Production settings
# ---------------------------------------------------------------------------------------


def production_env(tmp_path) -> dict[str, str]:
    # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser tests' fixture for this process only.
    local = {"DEBUG", "VENDORPORTAL_HTTPS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in local}
    env.update(
        DEBUG="false",
        SECRET_KEY="production-" + "k" * 60 + uuid.uuid4().hex,
        ALLOWED_HOSTS="portal.example.com",
        VENDORPORTAL_VAR_DIR=str(tmp_path),
    )
    return env


def vendorportal(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, the product's own command
        [sys.executable, "-m", "vendorportal", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def production_settings(tmp_path, **extra_env: str) -> dict:
    names = [
        "DEBUG",
        "SESSION_COOKIE_NAME",
        "CSRF_COOKIE_NAME",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SAMESITE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_PROXY_SSL_HEADER",
        "SESSION_IDLE_TIMEOUT_SECONDS",
        "SESSION_ABSOLUTE_TIMEOUT_SECONDS",
    ]
    code = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {names!r}}}))"
    )
    result = vendorportal(
        "shell",
        "--no-imports",
        "--verbosity",
        "0",
        "-c",
        code,
        env={**production_env(tmp_path), **extra_env},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = vendorportal(
        "check", "--deploy", "--fail-level", "DEBUG", env=production_env(tmp_path)
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output, output


def test_production_settings(tmp_path):
    values = production_settings(tmp_path)
    assert values == {
        "DEBUG": False,
        "SESSION_COOKIE_NAME": "__Host-sessionid",
        "CSRF_COOKIE_NAME": "__Host-csrftoken",
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        # Trusted only when VENDORPORTAL_TRUST_PROXY_SSL_HEADER says a proxy sets it.
        "SECURE_PROXY_SSL_HEADER": None,
        "SESSION_IDLE_TIMEOUT_SECONDS": 1800,
        "SESSION_ABSOLUTE_TIMEOUT_SECONDS": 43200,
    }


def test_the_proxy_header_is_trusted_only_when_configured(tmp_path):
    values = production_settings(tmp_path, VENDORPORTAL_TRUST_PROXY_SSL_HEADER="true")
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_production_cookies_and_hsts_on_the_wire(tmp_path, settings, amos):
    """The production values (read from the settings module above) applied to a login over
    https: the cookies really go out as __Host-, Secure, HttpOnly, SameSite=Lax, path /."""
    values = production_settings(tmp_path)
    for name, value in values.items():
        if name != "DEBUG":
            setattr(settings, name, value)
    client = Client(enforce_csrf_checks=True)
    assert client.get("/accounts/login/", secure=False).status_code == 301  # to https
    page = client.get("/accounts/login/", secure=True)
    assert "max-age=31536000; includeSubDomains" in page.headers["Strict-Transport-Security"]
    csrf = page.cookies["__Host-csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax" and csrf["path"] == "/"
    assert not csrf["domain"]
    response = client.post(
        "/accounts/login/",
        {"login": amos.email, "password": TEST_PASSWORD, "csrfmiddlewaretoken": csrf.value},
        secure=True,
        headers={"Referer": "https://testserver/accounts/login/"},
    )
    assert response.status_code == 302
    cookie = response.cookies["__Host-sessionid"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["path"] == "/" and not cookie["domain"]
    assert client.get("/portal/", secure=True).status_code == 200


# ---------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------


def test_the_session_id_rotates_at_login(client, amos):
    session = client.session
    session["before-login"] = "yes"
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    before = session.session_key
    response = client.post("/accounts/login/", {"login": amos.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    after = session_key(client)
    assert after != before
    assert not session_exists(before), "the pre-login session id still works"
    assert UserSession.objects.get(session_key=after).user == amos
    assert client.get("/portal/").status_code == 200


def age_session(client: Client, *, idle: float = 0, since_login: float = 0) -> None:
    session = client.session
    now = time.time()
    session[sessions.SEEN_AT] = now - idle
    session[sessions.LOGIN_AT] = now - since_login
    session.save()


def test_idle_timeout(amos):
    client = logged_in(amos)
    key = session_key(client)
    age_session(client, idle=settings.SESSION_IDLE_TIMEOUT_SECONDS - 60)
    assert client.get("/portal/").status_code == 200  # activity: the clock restarts
    assert time.time() - client.session[sessions.SEEN_AT] < 5
    age_session(client, idle=settings.SESSION_IDLE_TIMEOUT_SECONDS + 1)
    response = client.get("/portal/")
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert not session_exists(key)


def test_absolute_timeout_despite_activity(amos, settings):
    assert settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS == 12 * 3600
    assert settings.SESSION_IDLE_TIMEOUT_SECONDS == 30 * 60
    client = logged_in(amos)
    key = session_key(client)
    age_session(client, idle=1, since_login=settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS - 60)
    assert client.get("/portal/").status_code == 200
    age_session(client, idle=1, since_login=settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS + 1)
    response = client.get("/portal/")
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert not session_exists(key)


def test_timeouts_follow_the_settings(amos, settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 120
    client = logged_in(amos)
    age_session(client, idle=121)
    assert client.get("/portal/").status_code == 302


def test_deactivation_deletes_every_session_of_the_login(
    amos, alice, bob, django_capture_on_commit_callbacks
):
    laptop, phone, other = logged_in(amos), logged_in(amos), logged_in(bob)
    keys = [session_key(laptop), session_key(phone)]
    assert set(UserSession.objects.filter(user=amos).values_list("session_key", flat=True)) == set(
        keys
    )
    with django_capture_on_commit_callbacks(execute=True):
        accounts.user_deactivate(user=amos, by=alice)
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not UserSession.objects.filter(user=amos).exists()
    assert session_exists(session_key(other)), "another login's session ended too"
    # Reactivated, the old sessions stay ended: a new login is needed.
    with django_capture_on_commit_callbacks(execute=True):
        accounts.user_reactivate(user=amos, by=alice)
    assert laptop.get("/portal/").status_code == 302
    assert other.get("/portal/").status_code == 200


def test_a_password_change_ends_every_session(amos, django_capture_on_commit_callbacks):
    here, elsewhere = logged_in(amos), logged_in(amos)
    keys = [session_key(here), session_key(elsewhere)]
    with django_capture_on_commit_callbacks(execute=True):
        response = here.post(
            "/accounts/password/change/",
            {
                "oldpassword": TEST_PASSWORD,
                "password1": "a-New-passw0rd-for-amos",
                "password2": "a-New-passw0rd-for-amos",
            },
        )
    assert response.status_code == 302
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert elsewhere.get("/portal/").status_code == 302
    assert here.get("/portal/").status_code == 302


def test_a_password_reset_or_set_elsewhere_ends_every_session(
    amos, django_capture_on_commit_callbacks
):
    """The reset page, the back office and `changepassword` all end in set_password + save."""
    client = logged_in(amos)
    key = session_key(client)
    with django_capture_on_commit_callbacks(execute=True):
        amos.set_password("reset-Passw0rd-by-link")
        amos.save()
    assert not session_exists(key)
    assert client.get("/portal/").status_code == 302


def test_saving_a_login_without_a_password_change_keeps_its_sessions(
    amos, django_capture_on_commit_callbacks
):
    client = logged_in(amos)
    with django_capture_on_commit_callbacks(execute=True):
        amos.first_name = "Amos B."
        amos.save()
    assert client.get("/portal/").status_code == 200


def test_the_session_map_forgets_logged_out_and_timed_out_sessions(amos):
    first = logged_in(amos)
    old = UserSession.objects.get(session_key=session_key(first))
    UserSession.objects.filter(pk=old.pk).update(
        created_at=timezone.now()
        - dt.timedelta(seconds=settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS + 1)
    )
    second = logged_in(amos)  # a login prunes rows past the absolute timeout
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [session_key(second)]
    assert second.post("/accounts/logout/").status_code == 302
    assert not UserSession.objects.exists()


def test_a_session_whose_key_changes_is_still_tracked(amos, django_capture_on_commit_callbacks):
    client = logged_in(amos)
    session = client.session
    session.cycle_key()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    assert client.get("/portal/").status_code == 200
    assert UserSession.objects.filter(session_key=session.session_key, user=amos).exists()
    with django_capture_on_commit_callbacks(execute=True):
        amos.is_active = False
        amos.save()
    assert not session_exists(session.session_key)


# -- live streams end with their session ---------------------------------------------------


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path) as running:
        yield running


def stream_session(user) -> tuple[Client, str]:
    client = logged_in(user)
    return client, session_key(client)


@pytest.mark.django_db(transaction=True)
def test_a_stream_ends_when_its_session_times_out(server, amos):
    client, key = stream_session(amos)
    stream = open_stream(server, "/portal/events", session=key)
    assert stream.status == 200
    assert not stream.ended.wait(2.5), "the stream ended before its session timed out"
    age_session(client, idle=settings.SESSION_IDLE_TIMEOUT_SECONDS + 1)
    assert stream.ended.wait(5), "the stream was still open 5 s after the idle timeout"


@pytest.mark.django_db(transaction=True)
def test_a_stream_ends_at_the_absolute_timeout(server, amos):
    client, key = stream_session(amos)
    stream = open_stream(server, "/portal/events", session=key)
    assert stream.status == 200
    age_session(client, idle=0, since_login=settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS + 1)
    assert stream.ended.wait(5), "the stream was still open 5 s after the absolute timeout"


@pytest.mark.django_db(transaction=True)
def test_a_stream_ends_when_the_password_changes(server, amos):
    _, key = stream_session(amos)
    stream = open_stream(server, "/portal/events", session=key)
    assert stream.status == 200
    amos.set_password("changed-Passw0rd-x")
    amos.save()
    assert not session_exists(key)
    assert stream.ended.wait(5), "the stream was still open 5 s after the password change"


@pytest.mark.django_db(transaction=True)
def test_a_deactivated_users_stream_ends_and_its_sessions_are_gone(server, amos, alice):
    _, key = stream_session(amos)
    stream = open_stream(server, "/portal/events", session=key)
    assert stream.status == 200
    accounts.user_deactivate(user=amos, by=alice)
    assert not session_exists(key)
    assert stream.ended.wait(5), "the stream was still open 5 s after deactivation"


# ---------------------------------------------------------------------------------------
# CSRF on every cookie-authenticated write
# ---------------------------------------------------------------------------------------

# Values tried for every parameter of a pattern, until the URL resolves to that pattern.
CANDIDATES = ["1", str(uuid.uuid4()), "accounts", "x"]


def _concrete(pattern, value: str) -> str:
    if isinstance(pattern, RoutePattern):
        return re.sub(r"<(?:\w+:)?\w+>", value, str(pattern))
    assert isinstance(pattern, RegexPattern)
    regex = str(pattern).lstrip("^").removesuffix("\\Z").removesuffix("$")
    regex = re.sub(r"\(\?P<\w+>[^)]*\)", value, regex)
    return regex.replace("\\", "")


def every_url_pattern(patterns=None, prefix=()):
    """(description, [pattern, ...]) for every leaf of the resolver."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        chain = (*prefix, entry.pattern)
        if isinstance(entry, URLResolver):
            yield from every_url_pattern(entry.url_patterns, chain)
        else:
            assert isinstance(entry, URLPattern)
            yield "".join(str(p) for p in chain), chain, entry


def urls_for_every_pattern() -> tuple[list[tuple[str, str]], list[str]]:
    found, unresolved = [], []
    for description, chain, entry in every_url_pattern():
        for value in CANDIDATES:
            url = "/" + "".join(_concrete(p, value) for p in chain)
            try:
                match = resolve(url)
            except Resolver404:
                continue
            # (Two API operations on one path, GET and PUT, are two patterns of one route.)
            if match.func == entry.callback or match.route == description:
                found.append((description, url))
                break
        else:
            unresolved.append(description)
    return found, unresolved


# Writes that take no authority from the session cookie, so CSRF cannot abuse them.
CSRF_EXEMPT = {
    # RFC 8058 one-click unsubscribe: mail clients POST without a token; the signed link is
    # the credential and names the login (the session's login plays no part).
    "accounts/notifications/unsubscribe/<str:token>/",
}


def test_every_cookie_authenticated_write_needs_the_csrf_token(amos, admin_buyer):
    urls, unresolved = urls_for_every_pattern()
    assert unresolved == [], "patterns the test could not build a URL for"
    urls = [(description, url) for description, url in urls if description not in CSRF_EXEMPT]
    assert len(urls) > 50
    answers = {}
    for user in (amos, admin_buyer):
        client = logged_in(user, enforce_csrf_checks=True)
        for description, url in urls:
            response = client.post(url, {"anything": "1"})
            answers[(user.email, description)] = (url, response.status_code)
    # The token API's operations ignore cookies (401, or 405 for a read-only path); its
    # docs and schema pages are ordinary views (403).
    wrong = {
        key: answer
        for key, answer in answers.items()
        if (answer[1] not in {401, 403, 405} if answer[0].startswith("/api/") else answer[1] != 403)
    }
    assert wrong == {}, "a cookie-authenticated POST without a CSRF token was not refused"
    api_writes = [a for a in answers.values() if a[0].startswith("/api/") and a[1] == 401]
    assert len(api_writes) >= 4, "no API write route was reached"


def test_the_token_api_ignores_session_cookies(amos, buyer, vendor_a):
    order = make_order(vendor=vendor_a, by=buyer, issue=True)
    client = logged_in(amos, enforce_csrf_checks=True)
    csrf = client.get("/accounts/login/").cookies.get(settings.CSRF_COOKIE_NAME)
    headers = {"X-CSRFToken": csrf.value} if csrf else {}
    for path in (f"/api/v1/orders/{order.number}/acknowledgements", "/api/v1/sync/items"):
        response = client.post(path, {}, content_type="application/json", headers=headers)
        assert response.status_code == 401, (path, response.content)
    assert client.get("/api/v1/orders").status_code == 401


# ---------------------------------------------------------------------------------------
# make audit: how pip-audit's outcomes are judged (scripts/audit.py)
# ---------------------------------------------------------------------------------------


def _report(*dependencies):
    return {"dependencies": list(dependencies), "fixes": []}


@pytest.mark.parametrize(
    ("pypi", "osv", "passes", "says"),
    [
        # Both services unreachable or ignorant: honest, not fatal.
        (
            (_report({"name": "django", "skip_reason": "Dependency not found on PyPI"}), ""),
            (None, "requests.exceptions.ConnectionError: Failed to resolve 'api.osv.dev'"),
            True,
            "dependencies NOT audited",
        ),
        # A known vulnerability with a fix fails.
        (
            (
                _report(
                    {
                        "name": "django",
                        "version": "5.2.0",
                        "vulns": [{"id": "PYSEC-1", "fix_versions": ["5.2.1"]}],
                    }
                ),
                "",
            ),
            None,
            False,
            "FAILED",
        ),
        # One without a fix is reported, not fatal.
        (
            (
                _report(
                    {"name": "x", "version": "1", "vulns": [{"id": "GHSA-1", "fix_versions": []}]}
                ),
                "",
            ),
            None,
            True,
            "1 known vulnerabilities (0 with a fix)",
        ),
        # Clean.
        ((_report({"name": "x", "version": "1", "vulns": []}), ""), None, True, "1 packages"),
        # Any other failure of pip-audit fails.
        ((None, "Traceback: something else broke"), None, False, "FAILED"),
    ],
)
def test_audit_judges_pip_audit_outcomes(monkeypatch, capsys, pypi, osv, passes, says):
    from scripts import audit

    answers = {"pypi": pypi, "osv": osv}
    monkeypatch.setattr(audit, "_pip_audit", lambda service: answers[service])
    assert audit.pip_audit() is passes
    assert says in capsys.readouterr().out


# ---------------------------------------------------------------------------------------
# In real Chromium: the pages and the API docs run under the CSP without a violation
# ---------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_and_api_docs_run_under_the_csp_in_chromium(live_server, browser, amos, buyer):
    from tests.test_browser import log_in

    order = make_order(vendor=amos.vendor, by=buyer, number="PO-CSP-1")
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    foreign: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" or "Content Security Policy" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((live_server.url, "data:"))
            else foreign.append(request.url)
        ),
    )
    # Violations are also reported as DOM events; count them on every page.
    context.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    log_in(page, live_server.url, amos.email)
    page.wait_for_url(f"{live_server.url}/portal/")
    for path in (
        "/portal/",
        "/portal/orders/",
        f"/portal/orders/{order.number}/",
        "/portal/open-lines/",
    ):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("typeof htmx") == "object", path  # the scripts ran
        assert page.evaluate("window.__csp") == [], path
    page.goto(f"{live_server.url}/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "Vendor Portal API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock", timeout=15000)  # the operations were read and drawn
    assert page.evaluate("window.__csp") == []
    context.close()
    # The buying side and the back office, as a logged-in administrator (the session cookie
    # of a test client: the login flow is the vendor's above).
    admin = UserFactory(
        email="admin@example.com", role=Role.BUYER, is_staff=True, is_superuser=True
    )
    context = browser.new_context()
    context.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    host = live_server.url.split("//")[1].split(":")[0]
    context.add_cookies(
        [{"name": "sessionid", "value": session_key(logged_in(admin)), "domain": host, "path": "/"}]
    )
    page = context.new_page()
    page.route("**/events?*", lambda route: route.abort())  # no streams on live_server
    page.on("pageerror", lambda error: problems.append(str(error)))
    for path in (
        "/buying/",
        "/buying/orders/",
        f"/buying/orders/{order.number}/",
        "/admin/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{amos.pk}/change/",
        "/admin/accounts/seatperiod/",
        "/admin/purchasing/purchaseorder/",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == [], path
    context.close()
    csp_problems = [p for p in problems if "Content Security Policy" in p or "Refused" in p]
    assert csp_problems == []
    assert foreign == [], "a page loaded something from another origin"


def test_webhook_delivery_opens_only_http_addresses(monkeypatch):
    """bandit B310: urllib would open file:// and ftp:// (which URLField accepts) too."""
    from vendorportal.events import webhooks

    opened: list[str] = []
    monkeypatch.setattr(
        webhooks.urllib.request, "urlopen", lambda request, **kw: opened.append(request.full_url)
    )
    for url in ("file:///etc/passwd", "ftp://example.com/x", "FTP://example.com/x"):
        status, error = webhooks._post(url, b"{}", {})
        assert status is None and error.startswith("refused"), url
    assert opened == []
