"""Session lifetime: idle and absolute timeouts, and ending every session of a login.

- `SessionTimeoutMiddleware` (after AuthenticationMiddleware) logs a session out once it
  has been idle for `SESSION_IDLE_TIMEOUT_SECONDS` or has lived for
  `SESSION_ABSOLUTE_TIMEOUT_SECONDS` since its login, whatever it does meanwhile. The
  live-stream guard (`vendorportal.events.live`) applies the same `expired()` rule, so an
  open stream ends when its session times out.
- Every logged-in session is recorded in `UserSession` (at login, and again if its key
  changes). When a login is deactivated or its password changes (any way: the password
  change or reset pages, the back office, a management command), every one of its
  sessions is deleted from the session store after the transaction commits; open streams
  notice at their next check.

Django already rotates the session id at login (`login()` cycles the key); the tests
assert it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db import transaction
from django.db.models.signals import post_init, post_save
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

from vendorportal.accounts.models import User, UserSession

# Session keys (seconds since the epoch).
LOGIN_AT = "_vp_login_at"
SEEN_AT = "_vp_seen_at"
TRACKED = "_vp_tracked_key"
# The last-seen time is written at most this often (not one session write per request);
# the idle timeout is therefore exact to within this many seconds.
SEEN_RESOLUTION_SECONDS = 30


def expired(data: Mapping[str, Any], now: float | None = None) -> bool:
    """Whether a logged-in session's data says it has timed out (idle or absolute)."""
    now = time.time() if now is None else now
    login_at, seen_at = data.get(LOGIN_AT), data.get(SEEN_AT)
    if not isinstance(login_at, int | float) or not isinstance(seen_at, int | float):
        return False  # not stamped yet: the middleware stamps it at its next request
    return (
        now - seen_at >= settings.SESSION_IDLE_TIMEOUT_SECONDS
        or now - login_at >= settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS
    )


def _track(user_id: int, session_key: str) -> None:
    UserSession.objects.update_or_create(session_key=session_key, defaults={"user_id": user_id})


def _on_login(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    now = time.time()
    session[LOGIN_AT] = session[SEEN_AT] = now
    if session.session_key is None:
        session.save()
    key = session.session_key
    if key is not None:
        _track(user.pk, key)
        session[TRACKED] = key
    # Rows of this login's sessions that are past the absolute timeout: those sessions
    # cannot be valid any more (the map would otherwise only grow).
    cutoff = timezone.now() - dt.timedelta(seconds=settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS)
    UserSession.objects.filter(user_id=user.pk, created_at__lt=cutoff).delete()


def _on_logout(sender: Any, request: HttpRequest, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        UserSession.objects.filter(session_key=session.session_key).delete()


def end_all_sessions(user_id: int) -> int:
    """Delete every session of the login from the session store; returns how many."""
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(UserSession.objects.filter(user_id=user_id).values_list("session_key", flat=True))
    for key in keys:
        store_class(session_key=key).delete()
    UserSession.objects.filter(session_key__in=keys).delete()
    return len(keys)


# A login's sessions end when its password changes or it is deactivated: compare what
# was loaded with what is saved.
def _remember_auth_state(sender: Any, instance: User, **kwargs: Any) -> None:
    instance._vp_auth_state = (  # type: ignore[attr-defined]
        instance.__dict__.get("password"),
        instance.__dict__.get("is_active"),
    )


def _end_sessions_if_auth_changed(
    sender: Any, instance: User, created: bool, **kwargs: Any
) -> None:
    before = getattr(instance, "_vp_auth_state", (None, None))
    password, active = instance.__dict__.get("password"), instance.__dict__.get("is_active")
    _remember_auth_state(sender, instance)
    if created:
        return
    password_changed = password is not None and before[0] is not None and password != before[0]
    deactivated = active is False and before[1] is not False
    if password_changed or deactivated:
        user_id = instance.pk
        transaction.on_commit(lambda: end_all_sessions(user_id))


def connect_signals() -> None:
    user_logged_in.connect(_on_login, dispatch_uid="vp-session-login")
    user_logged_out.connect(_on_logout, dispatch_uid="vp-session-logout")
    post_init.connect(_remember_auth_state, sender=User, dispatch_uid="vp-session-init")
    post_save.connect(_end_sessions_if_auth_changed, sender=User, dispatch_uid="vp-session-save")


class SessionTimeoutMiddleware:
    """Ends timed-out sessions and keeps the session-to-login map current."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        session = request.session
        if session.get("_auth_user_id") is not None and request.user.is_authenticated:
            now = time.time()
            if expired(session, now):
                logout(request)  # flushes the session: a new, empty one
            else:
                if not isinstance(session.get(LOGIN_AT), int | float):
                    session[LOGIN_AT] = now
                seen_at = session.get(SEEN_AT)
                if not isinstance(seen_at, int | float) or (
                    now - seen_at >= SEEN_RESOLUTION_SECONDS
                ):
                    session[SEEN_AT] = now
                key = session.session_key
                if key is not None and session.get(TRACKED) != key:
                    _track(request.user.pk, key)
                    session[TRACKED] = key
        return self.get_response(request)
