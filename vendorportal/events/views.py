"""The notification pages: a login's settings (/accounts/notifications/) and the signed
unsubscribe link that works without a login.

Thin views: form → service (events.notify.preferences) → redirect.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from vendorportal.errors import DomainError
from vendorportal.events.forms import NotificationSettingsForm
from vendorportal.events.notify import actions, preferences, tokens
from vendorportal.events.notify.kinds import KINDS, SUPPLIER_KINDS
from vendorportal.web.access import viewer_of
from vendorportal.web.errors import add_domain_error

View = Callable[..., HttpResponse]


def login_view(view: View) -> View:
    """Any active login, either side; the anonymous visitor goes to the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(request, "viewer", None) is None:
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapper


@require_http_methods(["GET", "HEAD", "POST"])
@login_view
def notification_settings(request: HttpRequest) -> HttpResponse:
    user = viewer_of(request).user
    own = preferences.settings_of(user)
    form = NotificationSettingsForm(
        request.POST if request.method == "POST" and "defaults" not in request.POST else None,
        kinds=[(kind, delivery) for kind, delivery, _ in own],
        zone=user.time_zone,
        default_zone=settings.TIME_ZONE,
        prefix="own",
    )
    defaults_form = None
    if user.is_vendor_admin:
        current = preferences.vendor_defaults(user.vendor)
        defaults_form = NotificationSettingsForm(
            request.POST if request.method == "POST" and "defaults" in request.POST else None,
            kinds=[(kind, current.get(kind.key, kind.default)) for kind in SUPPLIER_KINDS],
            with_zone=False,
            prefix="vendor",
        )
    status = 200
    if request.method == "POST":
        target = defaults_form if "defaults" in request.POST else form
        if target is not None and target.is_valid():
            try:
                if target is defaults_form:
                    preferences.vendor_defaults_set(
                        vendor=user.vendor, choices=target.choices(), by=user
                    )
                    messages.success(request, "The defaults for your colleagues were saved.")
                else:
                    preferences.preferences_set(
                        user=user,
                        choices=target.choices(),
                        time_zone=target.cleaned_data.get("time_zone", ""),
                        by=user,
                    )
                    messages.success(request, "Your notification settings were saved.")
                return redirect("notifications-settings")
            except DomainError as error:
                add_domain_error(target, error, {k: f"kind:{k}" for k in KINDS})
        status = 400
    return render(
        request,
        "notifications/settings.html",
        {
            "form": form,
            "defaults_form": defaults_form,
            "own": {kind.key: is_own for kind, _, is_own in own},
            "digest_hour": settings.DIGEST_HOUR,
        },
        status=status,
    )


def _refused(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "notifications/link_refused.html", {"reason": reason}, status=400)


@csrf_exempt  # the signed token is the credential; mail clients POST one-click (RFC 8058)
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what the link does; POST (the page's button, or the mail client's
    one-click List-Unsubscribe-Post) turns that kind off. GET never writes."""
    try:
        user_id, kind = tokens.unsubscribe_read(token)
    except tokens.BadToken as error:
        return _refused(request, error.reason)
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not user.is_active:
        return _refused(request, "This link belongs to a login that is no longer active.")
    if kind not in KINDS:
        return _refused(request, "This link names no notification kind.")
    done = False
    if request.method == "POST":
        preferences.unsubscribe(user=user, kind=kind)
        done = True
    return render(
        request,
        "notifications/unsubscribe.html",
        {"kind": KINDS[kind], "email": user.email, "done": done, "token": token},
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def action(request: HttpRequest, token: str) -> HttpResponse:
    """A one-click link: GET shows what it will do (and never writes); the page's POST
    (CSRF-protected) does it, once, as the login the link was made for."""
    try:
        found = actions.read(token)
    except tokens.BadToken as error:
        return _refused(request, error.reason)
    context: dict[str, Any] = {"action": found, "token": token}
    if request.method == "POST":
        try:
            context["done"] = actions.perform(found)
        except DomainError as error:
            return _refused(request, error.message)
    return render(request, "notifications/action.html", context)
