"""Security events from Django's, allauth's and django-axes' signals: logins, failed
logins, logouts, password changes and resets, two-factor changes and lockouts. (Failed and
throttled API token authentication call `audit.log.record_security` from api/auth.py.)"""

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


def _authenticator(action: str) -> Any:
    def receiver(sender: Any, request: Any = None, user: Any = None, **kw: Any) -> None:
        authenticator = kw.get("authenticator")
        kind = getattr(authenticator, "type", "") or ""
        record_security(
            action,
            user=user,
            summary=f"Two-factor {kind.replace('_', ' ')}".strip(),
            object_type="authenticator" if authenticator is not None else "",
            object_id=getattr(authenticator, "pk", "") or "",
        )

    return receiver


def _locked_out(sender: Any, request: Any = None, username: Any = None, **kw: Any) -> None:
    attempted = username if isinstance(username, str) else ""
    record_security(
        "lockout",
        email=attempted[:254],
        summary="Locked out after repeated failed logins (django-axes)",
    )


def connect() -> None:
    user_logged_in.connect(_logged_in, dispatch_uid="audit-login")
    user_logged_out.connect(_logged_out, dispatch_uid="audit-logout")
    user_login_failed.connect(_login_failed, dispatch_uid="audit-login-failed")
    from allauth.account import signals as allauth

    allauth.password_changed.connect(_password_changed, dispatch_uid="audit-password-changed")
    allauth.password_reset.connect(_password_reset, dispatch_uid="audit-password-reset")
    allauth.password_set.connect(_password_set, dispatch_uid="audit-password-set")
    from allauth.mfa import signals as mfa

    mfa.authenticator_added.connect(
        _authenticator("mfa.enabled"), dispatch_uid="audit-mfa-on", weak=False
    )
    mfa.authenticator_removed.connect(
        _authenticator("mfa.disabled"), dispatch_uid="audit-mfa-off", weak=False
    )
    mfa.authenticator_reset.connect(
        _authenticator("mfa.reset"), dispatch_uid="audit-mfa-reset", weak=False
    )
    from axes.signals import user_locked_out  # type: ignore[import-untyped,unused-ignore]

    user_locked_out.connect(_locked_out, dispatch_uid="audit-lockout")
