"""The append-only event log: an order's timeline, and the outbox for live updates,
notifications and webhooks.

Each event is written in the same transaction as the change it records and carries the
vendor it belongs to and whether it is internal (buyers only), so that every consumer can
decide who may see it without looking anything else up.
"""

from __future__ import annotations

from typing import ClassVar, Self

from django.conf import settings
from django.db import models

from vendorportal.scoping import VendorScopedManager


class Event(models.Model):
    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=64)
    vendor = models.ForeignKey("purchasing.Vendor", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(
        "purchasing.PurchaseOrder",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
    )
    internal = models.BooleanField(
        default=False, help_text="Internal events are shown to buyers only."
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revision = models.PositiveIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=500)
    # References to what changed (ids, numbers), never internal values for a shared event.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["vendor", "id"], name="event_vendor_id"),
            models.Index(fields=["order", "id"], name="event_order_id"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.kind}"
