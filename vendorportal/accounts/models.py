"""Users and their roles.

A login is either internal staff (a buyer; administrators are buyers with staff rights)
or belongs to exactly one vendor. The vendor of a vendor login is the only source of
vendor scope anywhere in the product: never a URL, a form field or a query parameter.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q


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
            )
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
