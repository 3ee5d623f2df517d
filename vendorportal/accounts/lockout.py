"""Lockout after repeated failed logins (django-axes), for the login form and the back office.

Axes counts failures per username and client address (AXES_LOCKOUT_PARAMETERS); after
AXES_FAILURE_LIMIT failures that pair is refused for AXES_COOLOFF_TIME, even with the
right password, and the login page explains why (templates/account/lockout.html).
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend  # type: ignore[import-untyped,unused-ignore]
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a locked-out username and address before any password is checked.

    A login without a request (a management command, Django's test client) cannot be
    tied to a client address: it is left to the other backends, as Django's own is.
    """

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def username_of(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The address a login attempt was for, the same however it was typed.

    allauth's form authenticates with `email`, the back office with `username`; a failed
    attempt's signal carries the same keys, and the form's POST has `login`.
    """
    candidates: list[Any] = []
    if credentials:
        candidates += [credentials.get(key) for key in ("email", "username", "login")]
    data = getattr(request, "POST", None) or {}
    candidates += [data.get("login"), data.get("username")]
    for value in candidates:
        if isinstance(value, str) and value.strip():
            return value.strip().lower()
    return None
