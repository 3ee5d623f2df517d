"""Who must use two-factor authentication, and the middleware that makes them set it up.

Buyers and administrators (staff, superusers) always must; a vendor's logins must when
its admin has turned on `Vendor.mfa_required`. allauth.mfa does the rest: the setup pages
under /accounts/2fa/, and the code asked for after the password at every login.
"""

from __future__ import annotations

from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect
from django.urls import reverse

from vendorportal.accounts.models import User

SETUP_URL_NAME = "mfa_activate_totp"


def mfa_required_for(user: User) -> bool:
    if user.is_buyer or user.is_staff or user.is_superuser:
        return True
    vendor = user.vendor if user.vendor_id else None
    return bool(vendor and vendor.mfa_required)


def has_totp(user: User) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def _open_prefixes() -> tuple[str, ...]:
    """What a login without its required second factor may still reach: the two-factor
    pages, logout and reauthentication, static files, the health check, and the API
    (which authenticates by token, never by this session)."""
    return (
        reverse("mfa_index"),
        reverse("account_logout"),
        reverse("account_reauthenticate"),
        "/" + settings.STATIC_URL.lstrip("/"),
        "/health/",
        "/api/",
    )


def _is_navigation(request: HttpRequest) -> bool:
    """A page the person asked for: a GET of HTML, not a stream or an htmx partial."""
    if request.method not in {"GET", "HEAD"}:
        return False
    if "text/event-stream" in request.headers.get("Accept", ""):
        return False
    htmx = request.headers.get("HX-Request") == "true"
    return not htmx or request.headers.get("HX-Boosted") == "true"


class MfaRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            settings.MFA_ENFORCED
            and isinstance(user, User)
            and user.is_authenticated
            and not request.path.startswith(_open_prefixes())
            and mfa_required_for(user)
            and not has_totp(user)
        ):
            if not _is_navigation(request):
                # A live stream, a background fetch or a form post: refused, not redirected
                # (following the redirect would fetch the setup page, which makes a new
                # secret each time and would change the one the person is typing in).
                return HttpResponseForbidden(
                    "Two-factor authentication must be set up first.", content_type="text/plain"
                )
            messages.warning(
                request,
                "Your login must use two-factor authentication. Set up an authenticator "
                "app to continue.",
            )
            return redirect(SETUP_URL_NAME)
        return self.get_response(request)
