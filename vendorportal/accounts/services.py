"""Account writes: logins, invitations, deactivation and the seat history.

Each function is a keyword-only service: one transaction, run in the internal scope (see
`vendorportal.scoping.service`), checking its rules and raising `DomainError` to refuse
before anything is written. Who may manage whose logins is decided here and nowhere else;
views, the back office and commands only call these functions.

The seat history (`SeatPeriod`) is written by the same services that change a login, in
the same transaction, never by signals: `_sync_seat` is called wherever a login is made,
deactivated, reactivated or edited in the back office.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from vendorportal.accounts.models import (
    VENDOR_ROLES,
    Invitation,
    InvitationStatus,
    Role,
    SeatPeriod,
    User,
)
from vendorportal.audit import log as audit
from vendorportal.errors import DomainError
from vendorportal.purchasing.models import Vendor
from vendorportal.scoping import service

logger = logging.getLogger(__name__)

ADDRESS_TAKEN = "This e-mail address already has a login."

UNUSABLE_INVITATION = {
    InvitationStatus.ACCEPTED: "This invitation has already been used.",
    InvitationStatus.EXPIRED: "This invitation has expired.",
    InvitationStatus.REVOKED: "This invitation has been withdrawn or replaced by a newer one.",
}
UNKNOWN_INVITATION = "This invitation link is not valid."


def today() -> dt.date:
    """The current day in the portal's time zone: the unit of the seat history."""
    return timezone.localdate()


def normalize_email(address: str) -> str:
    """E-mail addresses as `EmailUserManager` stores them: normalised and lower-case."""
    return User.objects.normalize_email(address.strip()).lower()


def hash_token(token: str) -> str:
    """Invitation tokens are stored only as this hash (they carry 256 random bits, so a
    fast hash is enough: there is nothing to guess)."""
    return hashlib.sha256(token.encode()).hexdigest()


def generate_password() -> str:
    """A strong random password (24 characters, 144 bits) for a login made by a command."""
    return secrets.token_urlsafe(18)


# ---------------------------------------------------------------------------------------
# Rules shared by the services
# ---------------------------------------------------------------------------------------


def may_manage_vendor(by: User, vendor_id: int) -> bool:
    """Who may invite, deactivate and reactivate a vendor's logins: that vendor's active
    admins, and administrators (active buyers with staff rights)."""
    if not by.is_active:
        return False
    if by.is_buyer:
        return by.is_staff
    return by.is_vendor_admin and by.vendor_id == vendor_id


def _require_may_manage_vendor(by: User, vendor_id: int) -> None:
    if not may_manage_vendor(by, vendor_id):
        raise DomainError("You may not manage this vendor's logins.", code="forbidden")


def _require_may_manage_user(by: User, user: User) -> None:
    if user.is_vendor_user and user.vendor_id is not None:
        _require_may_manage_vendor(by, user.vendor_id)
    elif not (by.is_active and by.is_buyer and by.is_staff):
        raise DomainError("Only an administrator may manage a buyer's login.", code="forbidden")


def _require_active_vendor(vendor: Vendor) -> None:
    if not vendor.active:
        raise DomainError(
            f"Vendor {vendor.code} is inactive; it cannot get new logins.", code="inactive"
        )


def _require_new_address(email: str) -> str:
    """The normalised address, refused if it is malformed or already a login's."""
    address = normalize_email(email)
    try:
        validate_email(address)
    except ValidationError:
        raise DomainError("Enter a valid e-mail address.", field="email") from None
    # The username mirrors the e-mail, so an address is taken if it is either.
    if User.objects.filter(Q(email__iexact=address) | Q(username__iexact=address)).exists():
        raise DomainError(ADDRESS_TAKEN, field="email", code="exists")
    return address


def _require_vendor_role(role: str) -> None:
    if role not in VENDOR_ROLES:
        raise DomainError("A vendor login is a vendor user or a vendor admin.", field="role")


def _check_password(password: str, user: User) -> None:
    """Django's password validators (AUTH_PASSWORD_VALIDATORS), as one refusal."""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), field="password") from None


def _create_login(
    *,
    email: str,
    password: str,
    role: str,
    vendor: Vendor | None,
    by: User | None,
    first_name: str = "",
    last_name: str = "",
    admin: bool = False,
) -> User:
    address = _require_new_address(email)
    user = User(
        email=address,
        username=address,
        role=role,
        vendor=vendor,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        is_staff=admin,
        is_superuser=admin,
    )
    _check_password(password, user)
    user.set_password(password)
    try:
        user.save()
    except IntegrityError:  # the same address, made at the same moment elsewhere
        raise DomainError(ADDRESS_TAKEN, field="email", code="exists") from None
    _sync_seat(user, by=by, on=today())
    return user


def _audit_user(action: str, user: User, *, by: User | None, changes: dict[str, list[Any]]) -> None:
    """The audit row of a login write (these services record no event)."""
    audit.record(
        action=action,
        actor=by,
        vendor_id=user.vendor_id,
        object_type="user",
        object_id=user.pk,
        object_label=user.email,
        changes=changes,
    )


# ---------------------------------------------------------------------------------------
# Logins
# ---------------------------------------------------------------------------------------


@service
def buyer_create(
    *,
    email: str,
    password: str,
    admin: bool = False,
    first_name: str = "",
    last_name: str = "",
) -> User:
    """A buyer login; `admin` makes it an administrator (staff and superuser)."""
    user = _create_login(
        email=email,
        password=password,
        role=Role.BUYER,
        vendor=None,
        by=None,
        first_name=first_name,
        last_name=last_name,
        admin=admin,
    )
    _audit_user(
        "user.created",
        user,
        by=None,
        changes={"email": [None, user.email], "role": [None, user.role], "admin": [None, admin]},
    )
    return user


@service
def vendor_login_create(
    *,
    vendor: Vendor,
    email: str,
    role: str,
    password: str,
    by: User | None = None,
    first_name: str = "",
    last_name: str = "",
) -> User:
    """A login of `vendor` (`by` is None when made by a command or the demo data).

    Opens the login's seat period from today.
    """
    if by is not None:
        _require_may_manage_vendor(by, vendor.pk)
    _require_vendor_role(role)
    _require_active_vendor(vendor)
    user = _create_login(
        email=email,
        password=password,
        role=role,
        vendor=vendor,
        by=by,
        first_name=first_name,
        last_name=last_name,
    )
    _audit_user(
        "user.created", user, by=by, changes={"email": [None, user.email], "role": [None, role]}
    )
    return user


@service
def user_deactivate(*, user: User, by: User) -> User:
    """Deactivate a login: it cannot log in, and its open sessions stop working at the
    next request (Django's ModelBackend refuses inactive users on every request).

    Closes its seat period today and withdraws the invitations it sent that are still
    pending. Nobody deactivates their own login.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.pk == by.pk:
        raise DomainError("You cannot deactivate your own login.", code="self")
    _require_may_manage_user(by, user)
    if not user.is_active:
        raise DomainError(f"{user.email} is already deactivated.", code="unchanged")
    user.is_active = False
    user.save(update_fields=["is_active"])
    Invitation.objects.filter(
        created_by=user, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    _sync_seat(user, by=by, on=today())
    # Its API tokens end with it, for good (README, "API tokens"): reactivation gives the
    # login back, not tokens someone may have kept. (A later import: api depends on accounts.)
    from vendorportal.api import tokens

    tokens.revoke_all_of(user, by=by, reason=f"{user.email} was deactivated")
    _audit_user("user.deactivated", user, by=by, changes={"is_active": [True, False]})
    return user


@service
def vendor_mfa_require(*, vendor: Vendor, required: bool, by: User) -> Vendor:
    """Require (or stop requiring) two-factor authentication for every login of a vendor.

    Only the vendor's own admin may; logins without an authenticator are sent to set one
    up at their next request (`vendorportal.accounts.mfa`).
    """
    vendor = Vendor.objects.select_for_update().get(pk=vendor.pk)
    if not (by.is_active and by.is_vendor_admin and by.vendor_id == vendor.pk):
        raise DomainError("Only the vendor's admin may change this.", code="forbidden")
    if vendor.mfa_required != required:
        vendor.mfa_required = required
        vendor.save(update_fields=["mfa_required", "updated_at"])
        audit.record(
            action="vendor.mfa_required" if required else "vendor.mfa_optional",
            actor=by,
            vendor_id=vendor.pk,
            object_type="vendor",
            object_id=vendor.pk,
            object_label=vendor.code,
            changes={"mfa_required": [not required, required]},
        )
    return vendor


@service
def user_reactivate(*, user: User, by: User) -> User:
    """Let a deactivated login in again; it is a seat again from today. Its API tokens
    were revoked at deactivation and stay so: new ones are made if it still needs them."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.pk == by.pk:
        raise DomainError("You cannot reactivate your own login.", code="self")
    _require_may_manage_user(by, user)
    if user.is_active:
        raise DomainError(f"{user.email} is already active.", code="unchanged")
    if user.is_vendor_user and user.vendor is not None:
        _require_active_vendor(user.vendor)
    user.is_active = True
    user.save(update_fields=["is_active"])
    _sync_seat(user, by=by, on=today())
    _audit_user("user.reactivated", user, by=by, changes={"is_active": [False, True]})
    return user


# ---------------------------------------------------------------------------------------
# Invitations
# ---------------------------------------------------------------------------------------


def invitation_check(*, vendor: Vendor, email: str, role: str, by: User) -> str:
    """The refusals of `invitation_create`, without writing anything, so that a form can
    show them beside its fields. Returns the normalised address."""
    _require_may_manage_vendor(by, vendor.pk)
    _require_vendor_role(role)
    _require_active_vendor(vendor)
    return _require_new_address(email)


def invitation_link(token: str, site_url: str) -> str:
    return site_url.rstrip("/") + reverse("portal:team:accept", kwargs={"token": token})


@service
def invitation_create(
    *, vendor: Vendor, email: str, role: str, by: User, site_url: str
) -> Invitation:
    """Invite `email` to become a login of `vendor` with `role`, and e-mail the link.

    `site_url` is what the link starts with (scheme and host). The link works once, for
    INVITATION_DAYS days; a newer invitation of the same vendor to the same address
    replaces any still pending. If the e-mail cannot be sent, nothing is written.
    """
    address = invitation_check(vendor=vendor, email=email, role=role, by=by)
    now = timezone.now()
    Invitation.objects.filter(
        vendor=vendor, email=address, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        vendor=vendor,
        email=address,
        role=role,
        token_hash=hash_token(token),
        created_by=by,
        created_at=now,
        expires_at=now + dt.timedelta(days=settings.INVITATION_DAYS),
    )
    _send_invitation(invitation, link=invitation_link(token, site_url))
    _audit_invitation(
        "invitation.created",
        invitation,
        by=by,
        changes={"email": [None, address], "role": [None, role]},
    )
    return invitation


def _audit_invitation(
    action: str, invitation: Invitation, *, by: User | None, changes: dict[str, list[Any]]
) -> None:
    audit.record(
        action=action,
        actor=by,
        vendor_id=invitation.vendor_id,
        object_type="invitation",
        object_id=invitation.pk,
        object_label=invitation.email,
        changes=changes,
    )


def _send_invitation(invitation: Invitation, *, link: str) -> None:
    """The invitation e-mail (subject / text / html). Sent inside the transaction so that
    a failure to send leaves no invitation behind that nobody received."""
    context = {
        "vendor_name": invitation.vendor.name,
        "inviter": invitation.created_by.display_name,
        "role": invitation.get_role_display(),
        "email": invitation.email,
        "link": link,
        "expires_at": invitation.expires_at,
        "days": settings.INVITATION_DAYS,
    }
    subject = " ".join(render_to_string("accounts/email/invitation_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("accounts/email/invitation.txt", context),
        to=[invitation.email],
    )
    message.attach_alternative(
        render_to_string("accounts/email/invitation.html", context), "text/html"
    )
    try:
        message.send()
    except OSError:  # smtplib.SMTPException is an OSError
        logger.exception("Sending the invitation e-mail to %s failed.", invitation.email)
        raise DomainError(
            "The invitation e-mail could not be sent. Please try again later.", code="email"
        ) from None


@service
def invitation_revoke(*, invitation: Invitation, by: User) -> Invitation:
    """Withdraw a pending invitation: its link stops working."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    _require_may_manage_vendor(by, invitation.vendor_id)
    status = invitation.status
    if status != InvitationStatus.PENDING:
        raise DomainError(UNUSABLE_INVITATION[status], code=status)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    _audit_invitation(
        "invitation.revoked",
        invitation,
        by=by,
        changes={"revoked_at": [None, invitation.revoked_at]},
    )
    return invitation


@service
def invitation_accept(
    *, token: str, password: str, first_name: str = "", last_name: str = ""
) -> User:
    """Turn a pending invitation into a login of its vendor with its role.

    The invitation is locked and marked used in the same transaction, so its link works
    once. It is refused if it was used, withdrawn or has expired, if its address got a
    login meanwhile, or if whoever sent it may no longer manage the vendor's logins.
    """
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("vendor", "created_by")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None:
        raise DomainError(UNKNOWN_INVITATION, code="unknown")
    status = invitation.status
    if status != InvitationStatus.PENDING:
        raise DomainError(UNUSABLE_INVITATION[status], code=status)
    if not may_manage_vendor(invitation.created_by, invitation.vendor_id):
        raise DomainError(UNUSABLE_INVITATION[InvitationStatus.REVOKED], code="revoked")
    _require_active_vendor(invitation.vendor)
    try:
        user = _create_login(
            email=invitation.email,
            password=password,
            role=invitation.role,
            vendor=invitation.vendor,
            by=invitation.created_by,
            first_name=first_name,
            last_name=last_name,
        )
    except DomainError as error:
        if error.code == "exists":
            raise DomainError(
                f"{invitation.email} already has a login: log in, or reset its password.",
                code="exists",
            ) from None
        raise
    invitation.accepted_at = timezone.now()
    invitation.user = user
    invitation.save(update_fields=["accepted_at", "user"])
    _audit_invitation(
        "invitation.accepted", invitation, by=user, changes={"user": [None, user.email]}
    )
    return user


# ---------------------------------------------------------------------------------------
# Seats
# ---------------------------------------------------------------------------------------


def _sync_seat(user: User, *, by: User | None, on: dt.date) -> None:
    """Make the seat history agree with the login as it is now.

    An active vendor login has exactly one open period, at its current vendor; anything
    else (inactive, a buyer) has none. A period closes with `on` as its last active day.
    """
    is_seat = user.is_active and user.is_vendor_user and user.vendor_id is not None
    current = (
        SeatPeriod.objects.select_for_update().filter(user=user, ended_on__isnull=True).first()
    )
    if current is not None and (not is_seat or current.vendor_id != user.vendor_id):
        current.ended_on = max(on, current.started_on)
        current.ended_by = by
        current.save(update_fields=["ended_on", "ended_by"])
        current = None
    if is_seat and current is None:
        assert user.vendor_id is not None  # noqa: S101 - is_seat says so; for the type checker
        SeatPeriod.objects.create(user=user, vendor_id=user.vendor_id, started_on=on, started_by=by)


@service
def seats_sync(
    *, user: User, by: User | None = None, changes: dict[str, list[Any]] | None = None
) -> None:
    """Record a change made to a login outside these services (the back office's user
    form) in the seat history, as of today, and in the audit trail (`changes`: the
    form's fields, old → new)."""
    _sync_seat(user, by=by, on=today())
    _audit_user(
        "user.updated",
        user,
        by=by,
        changes=changes or {"is_active": [None, user.is_active], "vendor": [None, user.vendor_id]},
    )
