"""API tokens.

A token is a bearer secret of 256 random bits, shown once when it is made and stored only
as its SHA-256 hash (a fast hash suffices: there is nothing to guess). Its first characters
(`prefix`) are kept in clear so people can tell their tokens apart.

Every token acts as one login (its `user`), so that whatever it does is done by someone:
a vendor token as a login of its vendor (it may see and do exactly what that login may),
an integration token (no vendor: the buying company's ERP) as a buyer. Deactivating the
login stops its tokens.
"""

from __future__ import annotations

from typing import ClassVar, Self

from django.conf import settings
from django.db import models
from django.utils import timezone

from vendorportal.scoping import VendorScopedManager


class ApiToken(models.Model):
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    vendor = models.ForeignKey(
        "purchasing.Vendor",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_tokens",
        help_text="Empty for an integration token (the buying company's systems).",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_tokens",
        help_text="The login the token acts as.",
    )
    read_only = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def integration(self) -> bool:
        return self.vendor_id is None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class IdempotentAnswer(models.Model):
    """The first successful answer to a POST sent with an `Idempotency-Key`, per token.

    A replay of the same request (same method, path and body) with the same key gets this
    answer again and changes nothing; the same key with another request is refused.
    Refusals are not kept: they changed nothing, so a retry is simply evaluated again.
    """

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="idempotency_key_per_token")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
