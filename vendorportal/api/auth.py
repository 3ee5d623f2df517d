"""Bearer-token authentication for the API, and the scope each call runs in.

Only the `Authorization: Bearer` header counts: a session cookie sent along is ignored
(the portal's middleware leaves /api/ unscoped), so a browser session can never ride
along on an API call.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.throttling import SimpleRateThrottle

from vendorportal.api import tokens
from vendorportal.api.errors import ApiRefusal
from vendorportal.api.models import ApiToken
from vendorportal.audit import context as audit_context
from vendorportal.audit import log as audit
from vendorportal.core.client_address import client_address
from vendorportal.purchasing import access


class TokenAuth(HttpBearer):
    """The bearer token; a client address that sent too many bad ones is refused for a
    while (`AuthFailures`), whatever token it sends meanwhile."""

    def __call__(self, request: HttpRequest) -> ApiToken | None:
        failures = AuthFailures(request)
        failures.refuse_if_over_limit()
        result = super().__call__(request)
        if result is None and request.headers.get("Authorization"):
            # A refused token is a security event; the row keeps only the token's prefix
            # (enough to recognise a revoked token, useless for guessing). The throttle
            # bounds how many such rows one address can cause.
            shown = request.headers["Authorization"].removeprefix("Bearer ").strip()[:8]
            audit.record_security("token.auth_failed", summary=f"API token refused: {shown}…")
            if failures.record():
                audit.record_security(
                    "token.auth_throttled",
                    summary="Too many refused API tokens: this address is refused for "
                    f"{settings.API_AUTH_FAILURE_WINDOW} s",
                )
        return result

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = tokens.authenticate(token)
        if found is not None:
            audit_context.for_token(request, found)
        return found


class AuthFailures:
    """Failed token authentications per client address, in fixed windows.

    After API_AUTH_FAILURE_LIMIT failures (a token that is unknown, revoked, malformed or
    of a deactivated login) within API_AUTH_FAILURE_WINDOW seconds, every call from that
    address answers 429 with Retry-After until the window ends: guessing tokens is slowed
    to a crawl. Counted in the cache (per process with the default local cache, like
    API_RATE_LIMIT). A limit of 0 turns the count off.
    """

    def __init__(self, request: HttpRequest) -> None:
        address = client_address(request) or "unknown"
        self.key = f"api-auth-failures:{address}"

    def refuse_if_over_limit(self) -> None:
        limit = settings.API_AUTH_FAILURE_LIMIT
        if not limit:
            return
        window = cache.get(self.key)
        if window is None or window[0] < limit:
            return
        wait = max(1, int(window[1] + settings.API_AUTH_FAILURE_WINDOW - time.time()) + 1)
        raise ApiRefusal(
            429,
            "too_many_failed_authentications",
            f"Too many requests with an invalid API token from your address; retry in {wait} s.",
            retry_after=wait,
        )

    def record(self) -> bool:
        """Count one failure; True when it is the one that reaches the limit."""
        if not settings.API_AUTH_FAILURE_LIMIT:
            return False
        now = time.time()
        count, started = cache.get(self.key) or (0, now)
        remaining = settings.API_AUTH_FAILURE_WINDOW - (now - started)
        if remaining <= 0:
            count, started, remaining = 0, now, settings.API_AUTH_FAILURE_WINDOW
        cache.set(self.key, (count + 1, started), timeout=max(1, int(remaining) + 1))
        return count + 1 == settings.API_AUTH_FAILURE_LIMIT


class TokenRateThrottle(SimpleRateThrottle):
    """API_RATE_LIMIT requests per token (per process: the cache is local by default)."""

    scope = "token"

    def __init__(self) -> None:
        super().__init__(settings.API_RATE_LIMIT)

    def allow_request(self, request: HttpRequest) -> bool:
        # The rate is read per request, so that a changed setting applies at once.
        if self.rate != settings.API_RATE_LIMIT:
            self.rate = settings.API_RATE_LIMIT
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    def get_ident(self, request: HttpRequest) -> str | None:
        # ninja's own reads X-Forwarded-For from anyone; the one rule decides instead.
        return client_address(request)

    def get_cache_key(self, request: HttpRequest) -> str | None:
        token = getattr(request, "auth", None)
        if not isinstance(token, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.pk}


def token_of(request: HttpRequest) -> ApiToken:
    token = getattr(request, "auth", None)
    if not isinstance(token, ApiToken):  # pragma: no cover - the auth ran first
        raise ApiRefusal(401, "unauthenticated", "Send a valid API token.")
    return token


@contextlib.contextmanager
def caller(request: HttpRequest, *, write: bool = False) -> Iterator[access.Viewer]:
    """The viewer the token acts as, inside its scope; a write refused for read-only tokens."""
    token = token_of(request)
    if write and token.read_only:
        raise ApiRefusal(403, "read_only", f"Token {token.prefix}… is read-only.")
    with access.scope_for(token.user) as viewer:
        if viewer is None:  # its login lost its role or vendor meanwhile
            raise ApiRefusal(401, "unauthenticated", "This token's login can no longer act.")
        yield viewer


def describe(request: HttpRequest) -> dict[str, Any]:
    token = token_of(request)
    return {"name": token.name, "vendor": token.vendor.code if token.vendor else None}
