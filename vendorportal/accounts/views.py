"""The team pages of a vendor admin (/portal/team/) and accepting an invitation.

Thin views: access helper → form → service → redirect. The vendor always comes from the
logged-in account; a colleague or invitation of another vendor answers 404, exactly as
one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from vendorportal.accounts import selectors, services
from vendorportal.accounts.forms import AcceptInvitationForm, InviteForm, VendorMfaForm
from vendorportal.accounts.models import InvitationStatus
from vendorportal.errors import DomainError
from vendorportal.web.access import supplier_view, viewer_of
from vendorportal.web.errors import add_domain_error

View = Callable[..., HttpResponse]

# The backend that logs in a login just made from an invitation.
LOGIN_BACKEND = "vendorportal.accounts.backends.ModelBackend"


def site_url_for(request: HttpRequest) -> str:
    """What links in e-mails start with: SITE_URL, or else the request's own address."""
    return settings.SITE_URL or request.build_absolute_uri("/").rstrip("/")


def vendor_admin_view(view: View) -> View:
    """A supplier view for vendor admins only: anyone else gets 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not viewer_of(request).user.is_vendor_admin:
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return supplier_view(wrapper)


# ---------------------------------------------------------------------------------------
# The team page
# ---------------------------------------------------------------------------------------


def _team_page(request: HttpRequest, form: InviteForm, status: int = 200) -> HttpResponse:
    viewer = viewer_of(request)
    return render(
        request,
        "accounts/team.html",
        {
            "nav": "team",
            "side": "portal",
            "members": list(selectors.team_members(viewer)),
            "invitations": list(selectors.pending_invitations(viewer)),
            "form": form,
            "me": viewer.user,
            "invitation_days": settings.INVITATION_DAYS,
            "mfa_form": VendorMfaForm(
                initial={"mfa_required": viewer.user.vendor and viewer.user.vendor.mfa_required}
            ),
        },
        status=status,
    )


@vendor_admin_view
@require_safe
def team(request: HttpRequest) -> HttpResponse:
    return _team_page(request, InviteForm())


@vendor_admin_view
@require_POST
def invite(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    form = InviteForm(request.POST)
    if form.is_valid():
        assert viewer.user.vendor is not None  # noqa: S101 - a vendor admin has a vendor
        try:
            invitation = services.invitation_create(
                vendor=viewer.user.vendor,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                by=viewer.user,
                site_url=site_url_for(request),
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(
                request,
                f"Invitation sent to {invitation.email}. "
                f"The link works once, for {settings.INVITATION_DAYS} days.",
            )
            return redirect("portal:team:members")
    return _team_page(request, form, status=400)


@vendor_admin_view
@require_POST
def vendor_mfa(request: HttpRequest) -> HttpResponse:
    """Turn the vendor's two-factor requirement on or off (the form on the team page)."""
    viewer = viewer_of(request)
    form = VendorMfaForm(request.POST)
    form.is_valid()  # one optional checkbox: always valid
    assert viewer.user.vendor is not None  # noqa: S101 - a vendor admin has a vendor
    required = bool(form.cleaned_data.get("mfa_required"))
    services.vendor_mfa_require(vendor=viewer.user.vendor, required=required, by=viewer.user)
    messages.success(
        request,
        "Two-factor authentication is now required for every login of your company."
        if required
        else "Two-factor authentication is no longer required (logins may still use it).",
    )
    return redirect("portal:team:members")


def _member_action(request: HttpRequest, public_id: Any, activate: bool) -> HttpResponse:
    viewer = viewer_of(request)
    member = selectors.team_member_or_404(viewer, public_id)
    action = services.user_reactivate if activate else services.user_deactivate
    try:
        action(user=member, by=viewer.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        done = "reactivated: they can log in again" if activate else "deactivated"
        messages.success(request, f"{member.email} {done}.")
    return redirect("portal:team:members")


@vendor_admin_view
@require_POST
def deactivate(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _member_action(request, public_id, activate=False)


@vendor_admin_view
@require_POST
def reactivate(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _member_action(request, public_id, activate=True)


@vendor_admin_view
@require_POST
def invitation_revoke(request: HttpRequest, public_id: Any) -> HttpResponse:
    viewer = viewer_of(request)
    invitation = selectors.pending_invitation_or_404(viewer, public_id)
    try:
        services.invitation_revoke(invitation=invitation, by=viewer.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Invitation to {invitation.email} withdrawn.")
    return redirect("portal:team:members")


# ---------------------------------------------------------------------------------------
# Accepting an invitation (reached from the e-mailed link, not logged in)
# ---------------------------------------------------------------------------------------


def _unusable(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "accounts/invitation_unusable.html", {"message": message}, status=status)


@never_cache
@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "HEAD", "POST"])
def accept(request: HttpRequest, token: str) -> HttpResponse:
    """Show the invitation and a set-password form; a valid POST makes the login, uses up
    the invitation and logs the new login in. Opening the link (GET) changes nothing, so
    a mail scanner that follows it does not spend it."""
    invitation = selectors.invitation_for_token(token)
    if invitation is None:
        return _unusable(request, services.UNKNOWN_INVITATION, status=404)
    status = invitation.status
    if status == InvitationStatus.PENDING and not services.may_manage_vendor(
        invitation.created_by, invitation.vendor_id
    ):
        status = InvitationStatus.REVOKED  # its sender has lost the right to invite
    if status != InvitationStatus.PENDING:
        return _unusable(request, services.UNUSABLE_INVITATION[status], status=410)
    if request.user.is_authenticated:
        return render(request, "accounts/invitation_logged_in.html", {"invitation": invitation})
    posted = request.method == "POST"
    form = AcceptInvitationForm(request.POST if posted else None, invitation=invitation)
    if posted and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token,
                password=form.cleaned_data["password1"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
            )
        except DomainError as error:
            add_domain_error(form, error, aliases={"password": "password1"})
        else:
            login(request, user, backend=LOGIN_BACKEND)
            messages.success(request, f"Welcome to Vendor Portal, {user.display_name}.")
            return redirect("portal:home")
    return render(
        request,
        "accounts/invitation_accept.html",
        {"invitation": invitation, "form": form},
        status=400 if form.errors else 200,
    )
