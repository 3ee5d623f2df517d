"""Settings for Vendor Portal, read from the environment in this one module.

Every value that differs between a laptop and production comes from an environment
variable; the helpers below raise on a malformed value instead of guessing.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"The environment variable {name} is required.")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false).")


def env_decimal(name: str, default: str) -> Decimal:
    raw = os.environ.get(name, default)
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a decimal number.") from exc
    if value < 0:
        raise ImproperlyConfigured(f"{name}={raw!r} must not be negative.")
    return value


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from exc
    if value < 0:
        raise ImproperlyConfigured(f"{name}={raw!r} must not be negative.")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


# Local state (SQLite database, generated secret key, uploaded files) lives under ./var/.
VAR_DIR = Path(env_str("VENDORPORTAL_VAR_DIR", str(PROJECT_DIR / "var")))

DEBUG = env_bool("DEBUG", default=True)


def _secret_key() -> str:
    """The secret key comes from SECRET_KEY; locally (DEBUG on) one is made once and kept."""
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    # django-ninja as an app: the API docs page loads Swagger UI from /static/ninja/ (the
    # files ship in django-ninja's wheel), never from a CDN.
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "vendorportal.core",
    "vendorportal.accounts",
    "vendorportal.purchasing",
    "vendorportal.events",
    "vendorportal.collaboration",
    "vendorportal.portal",
    "vendorportal.buying",
    "vendorportal.web",
    "vendorportal.api",
    "vendorportal.audit",
    "axes",
]

MIDDLEWARE = [
    # First: REMOTE_ADDR becomes the client's address under TRUSTED_PROXIES, for all below.
    "vendorportal.core.client_address.ClientAddressMiddleware",
    # Second: bodies over their limit, NUL bytes, JSON that is not JSON: 4xx before any view.
    "vendorportal.core.request_guard.RequestGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before whitenoise, so static files get the policy and the headers too.
    "csp.middleware.CSPMiddleware",
    "vendorportal.core.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Idle and absolute session timeouts; keeps the session-to-user map (accounts/sessions.py).
    "vendorportal.accounts.sessions.SessionTimeoutMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Every request runs in the scope of its user: fail-closed vendor isolation.
    "vendorportal.purchasing.access.VendorScopeMiddleware",
    # Who and from where, for the audit trail (after authentication).
    "vendorportal.audit.context.AuditContextMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The product's 404 and 403 pages with DEBUG on too (development).
    "vendorportal.web.error_pages.ProductErrorPagesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A login that must have two-factor authentication and has none is sent to set it up.
    "vendorportal.accounts.mfa.MfaRequiredMiddleware",
    # Lockout after repeated failed logins (django-axes): last, as its documentation asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "vendorportal.urls"
ASGI_APPLICATION = "vendorportal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "vendorportal.events.context.live",
            ],
            "builtins": ["vendorportal.web.templatetags.vp"],
        },
    },
]
# Django's form renderer, with plain <input>s rendered in Python (see the module).
FORM_RENDERER = "vendorportal.web.form_renderer.FormRenderer"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'vendorportal.sqlite3'}"),
        # Keep connections between requests (re-checked before reuse) instead of opening
        # one per request; PostgreSQL uses a pool instead (below).
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# Threads per web process for ordinary (sync) views (vendorportal/asgi.py); live streams
# need none. Each thread holds at most one database connection while it runs a view.
WEB_THREADS = env_int("WEB_THREADS", 8)
if WEB_THREADS < 1:
    raise ImproperlyConfigured("WEB_THREADS must be at least 1.")
# PostgreSQL: psycopg's connection pool through Django (a backend start costs milliseconds
# per request otherwise), per process. Sized for the web threads plus the few connections
# the live streams borrow to replay events and check sessions; the database must allow
# (processes x this) connections (PostgreSQL's max_connections, 100 by default).
# DATABASE_POOL_MAX_SIZE=0 turns it off (then CONN_MAX_AGE applies).
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", WEB_THREADS + 4)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL_MAX_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django requires it with a pool
    # With a pool, Django's health checks make the pool test a connection before handing
    # it out (one empty query). After PostgreSQL restarts every pooled connection is dead;
    # without the check each would fail one request with a 500 before the pool dropped it
    # (bench/fault_drill.py measures this).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, DATABASE_POOL_MAX_SIZE),
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": 10,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets readers (pages, the live stream) run while one writer commits.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # Tests use a file, not memory: the live-stream tests run the real ASGI server in a
    # subprocess on the same database. One file per test run, so runs never collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    # First: refuses any login attempt for a locked-out username and address.
    "vendorportal.accounts.lockout.LockoutBackend",
    "vendorportal.accounts.backends.ModelBackend",
    "vendorportal.accounts.backends.AccountBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "vendorportal.accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_SESSION_REMEMBER = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    # Attachments (collaboration/attachments.py): never under a public URL; every download
    # goes through an access-checked view. An S3-compatible store: see README, "Attachments".
    "attachments": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "attachments"), "base_url": "/no-public-url/"},
    },
}
# The largest attachment accepted (MB); its upload routes take bodies this large
# (vendorportal/core/request_guard.py), every other page still WEB_MAX_BODY_MB.
ATTACHMENT_MAX_MB = env_int("ATTACHMENT_MAX_MB", 20)
MEDIA_ROOT = VAR_DIR / "media"
if DEBUG:
    # whitenoise serves from the finders in development but expects the folder to exist.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)


def email_settings(url: str) -> dict[str, object]:
    """EMAIL_URL as Django's e-mail settings.

    smtp://user:password@host:587?tls=1 (STARTTLS), smtps://user:password@host:465 (TLS from
    the start), smtp://host:25 (plain, e.g. a local relay), console: (print messages, the
    default) or file:///path/to/folder. User and password are percent-encoded, as in any
    URL; ?timeout=20 sets the connection timeout in seconds.
    """
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": unquote(parts.path),
        }
    if scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ImproperlyConfigured(
            "EMAIL_URL must be smtp://user:password@host:port, smtps://..., console: or "
            "file:///folder."
        )
    query = parse_qs(parts.query)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": parts.port or (465 if scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": scheme == "smtps",
        "EMAIL_USE_TLS": scheme == "smtp" and query.get("tls", ["0"])[0] in {"1", "true", "yes"},
        "EMAIL_TIMEOUT": int(query.get("timeout", ["20"])[0]),
    }


# One setting for the mail server (see email_settings); EMAIL_BACKEND alone still works.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
if os.environ.get("EMAIL_URL"):
    globals().update(email_settings(os.environ["EMAIL_URL"]))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Vendor Portal <portal@localhost>")

# --- Notifications (e-mail) ----------------------------------------------------------------
# Replies to a notification go to <local>+<signed token>@<domain> of this address, and
# `vendorportal mail-in` turns them into comments (README: "Replies become comments").
NOTIFY_REPLY_ADDRESS = env_str("NOTIFY_REPLY_ADDRESS", "portal-reply@localhost")
# A revision not acknowledged after this many hours is reminded (once per revision).
ACK_REMINDER_HOURS = env_int("ACK_REMINDER_HOURS", 48)
# A delivery due within this many days without a promised date is reminded (once per due date).
DUE_REMINDER_DAYS = env_int("DUE_REMINDER_DAYS", 3)
# Proposals waiting this many hours for the buyer's answer are reminded to buyers.
PROPOSAL_REMINDER_HOURS = env_int("PROPOSAL_REMINDER_HOURS", 24)
# A reply e-mail larger than this is refused (`vendorportal mail-in`).
MAIL_IN_MAX_BYTES = env_int("MAIL_IN_MAX_BYTES", 1_000_000)
# A one-click link in a message ("Acknowledge revision 3") works once, for this many days.
ACTION_LINK_DAYS = env_int("ACTION_LINK_DAYS", 14)
# The daily digest goes out at this hour of each login's own time zone.
DIGEST_HOUR = env_int("DIGEST_HOUR", 7)
# A message the mail server refused for now is retried after 60 s, 120 s ... at most an hour
# apart, and given up after this many attempts (visible in the back office).
NOTIFY_RETRY_BASE_SECONDS = env_int("NOTIFY_RETRY_BASE_SECONDS", 60)
NOTIFY_RETRY_MAX_SECONDS = env_int("NOTIFY_RETRY_MAX_SECONDS", 3600)
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 12)
# Messages are sent over this many SMTP connections at once (PostgreSQL; SQLite sends over one).
NOTIFY_SMTP_CONNECTIONS = env_int("NOTIFY_SMTP_CONNECTIONS", 4)
# A message claimed by a worker that died before saying it was sent is sent again after
# this many seconds (with the same Message-ID, so the mailbox shows it once).
NOTIFY_CLAIM_SECONDS = env_int("NOTIFY_CLAIM_SECONDS", 120)
if not (0 <= DIGEST_HOUR <= 23 and DUE_REMINDER_DAYS >= 0 and ACK_REMINDER_HOURS >= 1):
    raise ImproperlyConfigured(
        "DIGEST_HOUR must be 0-23, DUE_REMINDER_DAYS at least 0, ACK_REMINDER_HOURS at least 1."
    )

# --- Purchasing rules -------------------------------------------------------------------
# A delivery may be received up to its quantity plus this percentage; more is refused.
OVER_RECEIPT_TOLERANCE_PERCENT = env_decimal("OVER_RECEIPT_TOLERANCE_PERCENT", "5")
# An invoice line priced more than this percentage away from the order price is a variance.
INVOICE_PRICE_TOLERANCE_PERCENT = env_decimal("INVOICE_PRICE_TOLERANCE_PERCENT", "0")
# Monthly charge per active portal login.
PORTAL_SEAT_PRICE = env_decimal("PORTAL_SEAT_PRICE", "20")
# The buying company as the order PDF names it (purchasing/pdf.py); address lines are
# separated by "|" (an environment variable holds no newline portably).
BUYER_COMPANY_NAME = env_str("BUYER_COMPANY_NAME", "")
BUYER_COMPANY_ADDRESS = env_str("BUYER_COMPANY_ADDRESS", "")

# --- Live updates (server-sent events) ---------------------------------------------------
# A comment line on an idle stream this often keeps proxies from closing it.
LIVE_HEARTBEAT_SECONDS = env_int("LIVE_HEARTBEAT_SECONDS", 15)
# How often open streams re-check that their login is still valid (logout, deactivation
# and password change end a stream within this many seconds, plus one query's time).
LIVE_AUTH_CHECK_SECONDS = env_int("LIVE_AUTH_CHECK_SECONDS", 2)
if not (LIVE_HEARTBEAT_SECONDS >= 1 and LIVE_AUTH_CHECK_SECONDS >= 1):
    raise ImproperlyConfigured("LIVE_HEARTBEAT_SECONDS and LIVE_AUTH_CHECK_SECONDS must be >= 1.")

# --- Background tasks and webhooks -----------------------------------------------------------
# django-tasks with its database backend: `vendorportal db_worker` runs them.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A failed webhook delivery is retried after 30 s, 60 s, 120 s ... at most an hour apart,
# and given up (then redelivered by hand) after this many attempts (about a day).
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", 3600)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 30)

# --- API ------------------------------------------------------------------------------------
# Requests per token, e.g. "600/min" (counted per process with the default local cache).
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "600/min")

# --- Accounts ---------------------------------------------------------------------------
# An invitation link works once, for this many days.
INVITATION_DAYS = env_int("INVITATION_DAYS", 7)
if INVITATION_DAYS < 1:
    raise ImproperlyConfigured("INVITATION_DAYS must be a whole number of days, at least 1.")
# The address e-mailed links start with (e.g. https://portal.example.com). Empty: the
# address of the request that sends the e-mail (its host is checked by ALLOWED_HOSTS).
SITE_URL = env_str("SITE_URL", "").rstrip("/")

# --- Security: HTTP headers, cookies, sessions (OWASP ASVS 5.0 level 2) --------------------
# Production runs behind HTTPS: VENDORPORTAL_HTTPS=1 (the default when DEBUG is off) gives
# __Host- cookies that are Secure, the redirect to https and HSTS.
HTTPS = env_bool("VENDORPORTAL_HTTPS", default=not DEBUG)
# Only behind a proxy that sets X-Forwarded-Proto itself (and strips the client's) may the
# header be trusted to say a request came over https.
TRUST_PROXY_SSL_HEADER = env_bool("VENDORPORTAL_TRUST_PROXY_SSL_HEADER", default=False)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The token reaches forms through {% csrf_token %}; no script needs to read the cookie.
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sent on every response by vendorportal.core.security.SecurityHeadersMiddleware.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)
if HTTPS:
    # __Host-: only ever set over https, for this exact host, path /.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
if TRUST_PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# A login ends after this long without a request, and this long after it began, whatever
# it does (vendorportal.accounts.sessions.SessionTimeoutMiddleware; live streams too).
SESSION_IDLE_TIMEOUT_SECONDS = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 30 * 60)
SESSION_ABSOLUTE_TIMEOUT_SECONDS = env_int("SESSION_ABSOLUTE_TIMEOUT_SECONDS", 12 * 3600)
if not 60 <= SESSION_IDLE_TIMEOUT_SECONDS <= SESSION_ABSOLUTE_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        "SESSION_IDLE_TIMEOUT_SECONDS must be at least 60 and at most "
        "SESSION_ABSOLUTE_TIMEOUT_SECONDS."
    )
# The store forgets a session no later than its absolute timeout.
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT_SECONDS

# Content Security Policy (django-csp): nothing inline, nothing from another origin.
# The API docs page (/api/v1/docs) loads Swagger UI from /static/ like every page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# --- Two-factor authentication (allauth.mfa) and lockout (django-axes) ---------------------
# Buyers and administrators must set up an authenticator app (TOTP) before using the
# portal; a vendor admin can require it for all the vendor's logins. Off only for tests.
MFA_ENFORCED = env_bool("MFA_ENFORCED", default=True)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Vendor Portal"
MFA_RECOVERY_CODE_COUNT = 10
# This many failed logins for one username from one address lock it for AXES_COOLOFF_TIME.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "vendorportal.core.client_address.for_axes"
AXES_USERNAME_CALLABLE = "vendorportal.accounts.lockout.username_of"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "account/lockout.html"
AXES_VERBOSE = False
# allauth's own limit on failed logins per address stays as a burst guard; the per-login
# limit is axes' (above), which explains the lockout instead of a bare form error.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip"}

# --- Request sizes (vendorportal/core/request_guard.py) ---------------------------------------
# The API takes batches: 1,000 orders of 12 lines are 4.4 MB; 32 MB fits about 80 lines each.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_MB", 32) * 1024 * 1024
# Pages and forms: the longest field is a 5,000-character comment.
WEB_MAX_BODY_BYTES = env_int("WEB_MAX_BODY_MB", 1) * 1024 * 1024
# Django's own read limit must not be lower, or it refuses first (with a 400 and no body).
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, WEB_MAX_BODY_BYTES)

# --- API token failures ---------------------------------------------------------------------
# After this many failed token authentications from one client address within
# API_AUTH_FAILURE_WINDOW seconds, the API answers 429 until the window ends.
API_AUTH_FAILURE_LIMIT = env_int("API_AUTH_FAILURE_LIMIT", 20)
API_AUTH_FAILURE_WINDOW = env_int("API_AUTH_FAILURE_WINDOW", 300)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# The client's address (login lockout, rate limits, audit trail) is the connection's own,
# unless the connection comes from one of these proxies (addresses or networks, comma
# separated): then X-Forwarded-For is read from the right, past the trusted hops
# (vendorportal/core/client_address.py). Empty: no forwarded header ever counts.
if "TRUSTED_PROXY" in os.environ:
    raise ImproperlyConfigured(
        "TRUSTED_PROXY is replaced by TRUSTED_PROXIES: list the addresses or networks of the "
        "proxies in front (for example TRUSTED_PROXIES=10.0.0.5), or leave it empty."
    )
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or network."
        ) from _exc
