"""Security events from Django's and allauth's signals: logins, failed logins, logouts,
password changes and resets. (Lockout, MFA and token throttling call
`audit.log.record_security` from where they happen.)"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from vendorportal.audit.log import record_security


def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record_security("login", user=user)


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record_security("logout", user=user)


def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    # Django replaces sensitive values with stars; keep only the address tried.
    username_field = get_user_model().USERNAME_FIELD
    attempted = credentials.get("email") or credentials.get(username_field) or ""
    if not isinstance(attempted, str):
        attempted = ""
    record_security("login.failed", email=attempted[:254], summary="Failed login")


def _password_changed(sender: Any, request: Any = None, user: Any = None, **kw: Any) -> None:
    record_security("password.changed", user=user)


def _password_reset(sender: Any, request: Any = None, user: Any = None, **kw: Any) -> None:
    record_security("password.reset", user=user)


def _password_set(sender: Any, request: Any = None, user: Any = None, **kw: Any) -> None:
    record_security("password.set", user=user)


def connect() -> None:
    user_logged_in.connect(_logged_in, dispatch_uid="audit-login")
    user_logged_out.connect(_logged_out, dispatch_uid="audit-logout")
    user_login_failed.connect(_login_failed, dispatch_uid="audit-login-failed")
    from allauth.account import signals as allauth

    allauth.password_changed.connect(_password_changed, dispatch_uid="audit-password-changed")
    allauth.password_reset.connect(_password_reset, dispatch_uid="audit-password-reset")
    allauth.password_set.connect(_password_set, dispatch_uid="audit-password-set")
