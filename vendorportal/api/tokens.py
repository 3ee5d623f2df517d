"""Making, revoking and checking API tokens (the only writes of `ApiToken`).

Who may make a token: a vendor admin, for their own vendor, acting as themselves or a
colleague; an administrator, for any vendor or as an integration token. Commands pass
`by=None` (whoever runs them has the server).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db.models import Q
from django.utils import timezone
from django_scopes import scopes_disabled

from vendorportal.accounts.models import User
from vendorportal.api.models import ApiToken
from vendorportal.audit import log as audit
from vendorportal.errors import DomainError
from vendorportal.purchasing.models import Vendor
from vendorportal.scoping import service

# Tokens look like `vpt_<43 url-safe characters>`: 256 random bits, recognisable by
# secret scanners thanks to the prefix.
SCHEME = "vpt_"
# last_used_at is written at most this often per token (not a write per request).
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _require_may_make(by: User | None, vendor: Vendor | None) -> None:
    if by is None:
        return
    administrator = by.is_active and by.is_buyer and by.is_staff
    if administrator:
        return
    if vendor is not None and by.is_active and by.is_vendor_admin and by.vendor_id == vendor.pk:
        return
    raise DomainError("You may not make API tokens for this vendor.", code="forbidden")


@service
def token_create(
    *,
    name: str,
    vendor: Vendor | None,
    user: User,
    read_only: bool = False,
    by: User | None = None,
) -> tuple[ApiToken, str]:
    """A new token and its secret, which is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the token a name, e.g. the system that will use it.", field="name")
    if len(name) > 100:
        raise DomainError("A token name has at most 100 characters.", field="name")
    _require_may_make(by, vendor)
    if vendor is not None:
        if not vendor.active:
            raise DomainError(f"Vendor {vendor.code} is inactive.", field="vendor")
        if not (user.is_active and user.is_vendor_user and user.vendor_id == vendor.pk):
            raise DomainError(
                f"A vendor token acts as an active login of {vendor.code}.", field="user"
            )
    elif not (user.is_active and user.is_buyer):
        raise DomainError("An integration token acts as an active buyer.", field="user")
    secret = SCHEME + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name,
        prefix=secret[: len(SCHEME) + 6],
        token_hash=hash_token(secret),
        vendor=vendor,
        user=user,
        read_only=read_only,
        created_by=by,
    )
    audit.record(
        action="token.created",
        actor=by,
        vendor_id=vendor.pk if vendor else None,
        object_type="api_token",
        object_id=token.pk,
        object_label=f"{name} ({token.prefix}…)",
        changes={"user": [None, user.email], "read_only": [None, read_only]},
        summary=f"API token {token.prefix}… made for {user.email}",
    )
    return token, secret


@service
def token_revoke(*, token: ApiToken, by: User | None = None) -> ApiToken:
    token = (
        ApiToken.objects.select_for_update(of=("self",)).select_related("vendor").get(pk=token.pk)
    )
    _require_may_make(by, token.vendor)
    if token.revoked_at is not None:
        raise DomainError(f"Token {token.prefix}… is already revoked.", code="unchanged")
    _revoke(token, by=by, summary=f"API token {token.prefix}… revoked")
    return token


def _revoke(token: ApiToken, *, by: User | None, summary: str) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(
        action="token.revoked",
        actor=by,
        vendor_id=token.vendor_id,
        object_type="api_token",
        object_id=token.pk,
        object_label=f"{token.name} ({token.prefix}…)",
        changes={"revoked_at": [None, token.revoked_at]},
        summary=summary,
    )


def revoke_all_of(user: User, *, by: User | None, reason: str) -> int:
    """Revoke every live token of `user` (its deactivation): called inside that service's
    transaction. A reactivated login starts without tokens, so a token that leaked while
    it was away, or that its owner forgot, does not come back to life with it."""
    live = list(ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True))
    for token in live:
        _revoke(token, by=by, summary=f"API token {token.prefix}… revoked: {reason}")
    return len(live)


def authenticate(secret: str) -> ApiToken | None:
    """The live token with this secret, or None (unknown, revoked, or its login or vendor
    no longer active). Notes the time of use, at most once a minute."""
    if not secret.startswith(SCHEME):
        return None
    with scopes_disabled():
        token = (
            ApiToken.objects.select_related("user", "vendor")
            .filter(token_hash=hash_token(secret), revoked_at__isnull=True)
            .first()
        )
        if token is None:
            return None
        if not token.user.is_active:
            return None
        if token.vendor is not None and not token.vendor.active:
            return None
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
            ).update(last_used_at=now)
            token.last_used_at = now
    return token
