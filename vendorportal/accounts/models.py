"""Users and their roles, invitations, and the seat history.

A login is either internal staff (a buyer; administrators are buyers with staff rights)
or belongs to exactly one vendor. The vendor of a vendor login is the only source of
vendor scope anywhere in the product: never a URL, a form field or a query parameter.

Invitations and seat periods are written only by `vendorportal.accounts.services`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar, Self

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone

from vendorportal.scoping import VendorScopedManager


class Role(models.TextChoices):
    BUYER = "buyer", "Buyer"
    VENDOR_USER = "vendor_user", "Vendor user"
    VENDOR_ADMIN = "vendor_admin", "Vendor admin"


VENDOR_ROLES = (Role.VENDOR_USER, Role.VENDOR_ADMIN)


class EmailUserManager(UserManager["User"]):
    """Users log in with their e-mail address; the username mirrors it."""

    def create_user(
        self,
        username: str | None = None,
        email: str | None = None,
        password: str | None = None,
        **extra_fields: Any,
    ) -> User:
        address = self.normalize_email(email or username or "").lower()
        return super().create_user(address, address, password, **extra_fields)

    def create_superuser(
        self,
        username: str | None = None,
        email: str | None = None,
        password: str | None = None,
        **extra_fields: Any,
    ) -> User:
        address = self.normalize_email(email or username or "").lower()
        return super().create_superuser(address, address, password, **extra_fields)


class User(AbstractUser):
    # The id in URLs (team pages): opaque, unlike the primary key.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField("e-mail address", unique=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.BUYER)
    vendor = models.ForeignKey(
        "purchasing.Vendor",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        help_text="The vendor this login belongs to (vendor users only).",
    )
    # Where the login reads its e-mail: dates and times in messages, and the hour of its
    # daily digest. Empty: the site's TIME_ZONE.
    time_zone = models.CharField(max_length=64, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[EmailUserManager] = EmailUserManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="vendor_login_has_vendor",
                condition=(Q(role="buyer", vendor__isnull=True))
                | (Q(role__in=["vendor_user", "vendor_admin"], vendor__isnull=False)),
                violation_error_message="A vendor login needs a vendor; a buyer has none.",
            ),
            # Staff rights open the back office, which shows every vendor's data and
            # internal fields; a supplier's login must never have them.
            models.CheckConstraint(
                name="vendor_login_not_staff",
                condition=Q(role="buyer") | Q(is_staff=False, is_superuser=False),
                violation_error_message=(
                    "A vendor login can never have staff or superuser status; only buyers can."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_buyer(self) -> bool:
        return self.role == Role.BUYER

    @property
    def is_vendor_user(self) -> bool:
        return self.role in VENDOR_ROLES

    @property
    def is_vendor_admin(self) -> bool:
        return self.role == Role.VENDOR_ADMIN

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class Invitation(models.Model):
    """An invitation to become a login of one vendor, sent as a single-use e-mail link.

    Only a hash of the link's token is stored: whoever reads the database (or a backup)
    cannot accept an invitation. The link works once, until `expires_at`.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    vendor = models.ForeignKey(
        "purchasing.Vendor", on_delete=models.PROTECT, related_name="invitations"
    )
    email = models.EmailField("e-mail address")
    role = models.CharField(
        max_length=20,
        choices=[(role.value, role.label) for role in VENDOR_ROLES],
        default=Role.VENDOR_USER,
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The login made by accepting this invitation.",
    )
    revoked_at = models.DateTimeField(
        null=True, blank=True, help_text="Withdrawn, or replaced by a newer invitation."
    )

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="invitation_vendor_role",
                condition=Q(role__in=["vendor_user", "vendor_admin"]),
            ),
            models.CheckConstraint(
                name="invitation_accepted_has_user",
                condition=Q(accepted_at__isnull=True) | Q(user__isnull=False),
            ),
        ]
        indexes = [models.Index(fields=["vendor", "email"], name="invitation_vendor_email")]

    def __str__(self) -> str:
        return f"{self.email} ({self.status_at().label.lower()})"

    def status_at(self, now: dt.datetime | None = None) -> InvitationStatus:
        if self.accepted_at is not None:
            return InvitationStatus.ACCEPTED
        if self.revoked_at is not None:
            return InvitationStatus.REVOKED
        if self.expires_at <= (now or timezone.now()):
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING

    @property
    def status(self) -> InvitationStatus:
        return self.status_at()


class SeatPeriod(models.Model):
    """A span of days a vendor login was active: the basis of the monthly seat charge.

    A login active on any day of a month is a seat for that month. A period is opened
    when a vendor login becomes active and closed (`ended_on`, the last active day) when
    it is deactivated, loses its vendor role or moves to another vendor; a login has at
    most one open period. Written only by `accounts.services` (never by signals).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="seat_periods"
    )
    vendor = models.ForeignKey("purchasing.Vendor", on_delete=models.PROTECT, related_name="+")
    started_on = models.DateField()
    ended_on = models.DateField(
        null=True, blank=True, help_text="The last active day; empty while the login is active."
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        verbose_name = "portal seat period"
        verbose_name_plural = "portal seats"
        ordering = ["vendor_id", "user_id", "started_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(ended_on__isnull=True),
                name="seat_one_open_period_per_user",
            ),
            models.CheckConstraint(
                name="seat_period_ends_after_start",
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
            ),
        ]
        indexes = [
            models.Index(fields=["started_on", "ended_on"], name="seat_period_span"),
        ]

    def __str__(self) -> str:
        end = self.ended_on.isoformat() if self.ended_on else "now"
        return f"{self.user} at {self.vendor}: {self.started_on.isoformat()} to {end}"


class UserSession(models.Model):
    """Which sessions belong to which login, so that all of a login's sessions can be
    deleted from the session store at once (deactivation, password change or reset).

    Written only by `vendorportal.accounts.sessions`: a row at each login, and again
    whenever a logged-in session's key changes.
    """

    session_key = models.CharField(max_length=40, primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sessions"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.session_key[:6]}…"
