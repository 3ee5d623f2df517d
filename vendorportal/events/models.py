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


class WebhookSubscription(models.Model):
    """An outbound webhook of the buying company: its systems get every event of the
    chosen kinds (internal ones included), signed with `secret`.

    `last_event_id` is the subscription's place in the event log: every event up to it has
    its delivery row. The dispatcher moves it forward in id order, which is commit order
    (events/log.py), so no event is ever passed over, whether the worker was down or not.
    """

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=100, help_text="Signs every body (HMAC-SHA256); give it to the receiver."
    )
    kinds = models.JSONField(
        default=list, blank=True, help_text='Event kinds, e.g. ["order.revised"]; empty: all.'
    )
    active = models.BooleanField(default=True)
    last_event_id = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def wants(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (gave up)"


class WebhookDelivery(models.Model):
    """One event for one subscription: the delivery log, with its attempts."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="one_delivery_per_event")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self) -> str:
        return f"{self.event.kind} #{self.event_id} → {self.subscription} ({self.status})"
