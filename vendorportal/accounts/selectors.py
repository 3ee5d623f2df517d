"""Account reads: a vendor's team, invitations, and portal seats per month.

The team selectors take the `Viewer` from `purchasing.access` and filter by its vendor,
so a vendor admin reaches only their own colleagues; anything else answers 404, exactly
like something that does not exist.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django_scopes import scopes_disabled

from vendorportal.accounts.models import VENDOR_ROLES, Invitation, SeatPeriod, User
from vendorportal.accounts.services import hash_token
from vendorportal.purchasing.access import Viewer

CENT = Decimal("0.01")


# ---------------------------------------------------------------------------------------
# A vendor's team
# ---------------------------------------------------------------------------------------


def _vendor_of(viewer: Viewer) -> int:
    if viewer.vendor_id is None:  # team pages are for vendor logins only
        raise Http404("No such page.")
    return viewer.vendor_id


def team_members(viewer: Viewer) -> QuerySet[User]:
    """The logins of the viewer's vendor, active ones first."""
    return User.objects.filter(vendor_id=_vendor_of(viewer), role__in=VENDOR_ROLES).order_by(
        "-is_active", "email"
    )


def team_member_or_404(viewer: Viewer, public_id: Any) -> User:
    member = team_members(viewer).filter(public_id=public_id).first()
    if member is None:
        raise Http404("No such login.")
    return member


def pending_invitations(viewer: Viewer) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(
            vendor_id=_vendor_of(viewer),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("created_by")
        .order_by("email", "-created_at")
    )


def pending_invitation_or_404(viewer: Viewer, public_id: Any) -> Invitation:
    invitation = pending_invitations(viewer).filter(public_id=public_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link's token belongs to, whatever its state; None if unknown.

    Whoever opens the link is not logged in (or not as the invited login), so this runs
    in the internal scope; the token itself is the proof of being invited.
    """
    with scopes_disabled():
        return (
            Invitation.objects.select_related("vendor", "created_by")
            .filter(token_hash=hash_token(token))
            .first()
        )


# ---------------------------------------------------------------------------------------
# Portal seats
# ---------------------------------------------------------------------------------------

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(text: str) -> dt.date:
    """'YYYY-MM' as the first day of that month; ValueError if it is not one."""
    match = _MONTH.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a month: use YYYY-MM, e.g. 2026-11.")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12 or year < 1:
        raise ValueError(f"{text!r} is not a month: use YYYY-MM, e.g. 2026-11.")
    return dt.date(year, month, 1)


def month_end(first: dt.date) -> dt.date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


@dataclass(frozen=True)
class SeatLogin:
    """One vendor login that was active in the month, and the days it was."""

    email: str
    name: str
    user_id: int
    spans: list[tuple[dt.date, dt.date]]  # active days within the month, first to last


@dataclass(frozen=True)
class VendorSeats:
    vendor_id: int
    code: str
    name: str
    logins: list[SeatLogin]
    price: Decimal

    @property
    def seats(self) -> int:
        return len(self.logins)

    @property
    def charge(self) -> Decimal:
        return (self.price * self.seats).quantize(CENT)


@dataclass(frozen=True)
class SeatReport:
    month: dt.date  # the first day
    price: Decimal
    vendors: list[VendorSeats] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.month.strftime("%Y-%m")

    @property
    def seats(self) -> int:
        return sum(vendor.seats for vendor in self.vendors)

    @property
    def total(self) -> Decimal:
        return sum((vendor.charge for vendor in self.vendors), Decimal("0")).quantize(CENT)


def seat_report(month: dt.date) -> SeatReport:
    """The portal seats of `month`: per vendor, every login active on any day of it.

    A login counts once per vendor per month however often it was deactivated and
    reactivated; buyers are never seats. The charge is PORTAL_SEAT_PRICE per seat.
    """
    first = month.replace(day=1)
    last = month_end(first)
    price = Decimal(settings.PORTAL_SEAT_PRICE)
    with scopes_disabled():
        periods = list(
            SeatPeriod.objects.filter(started_on__lte=last)
            .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=first))
            .select_related("user", "vendor")
            .order_by("vendor__code", "user__email", "started_on", "id")
        )
    spans: dict[int, dict[int, list[tuple[dt.date, dt.date]]]] = defaultdict(dict)
    vendors: dict[int, tuple[str, str]] = {}
    users: dict[int, User] = {}
    for period in periods:
        vendors[period.vendor_id] = (period.vendor.code, period.vendor.name)
        users[period.user_id] = period.user
        end = last if period.ended_on is None else min(period.ended_on, last)
        spans[period.vendor_id].setdefault(period.user_id, []).append(
            (max(period.started_on, first), end)
        )
    report = SeatReport(month=first, price=price)
    for vendor_id, (code, name) in vendors.items():  # in vendor code order, as queried
        logins = [
            SeatLogin(
                email=users[user_id].email,
                name=users[user_id].get_full_name(),
                user_id=user_id,
                spans=user_spans,
            )
            for user_id, user_spans in spans[vendor_id].items()
        ]
        report.vendors.append(
            VendorSeats(vendor_id=vendor_id, code=code, name=name, logins=logins, price=price)
        )
    return report
