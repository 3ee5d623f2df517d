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


# --- Notifications (e-mail) ------------------------------------------------------------------
#
# The notifier reads the event log like a webhook subscription: `LogCursor("notifications")`
# is its place, and every event up to it has its notification rows (one per recipient and
# event). Reminders and digests are rows too, keyed so that each is made at most once.


class LogCursor(models.Model):
    """A consumer's place in the event log: every event up to `last_event_id` is done."""

    name = models.CharField(max_length=40, unique=True)
    last_event_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at #{self.last_event_id}"


class Delivery(models.TextChoices):
    """How a login wants one kind of notification."""

    AT_ONCE = "at_once", "At once"
    DIGEST = "digest", "In the daily digest"
    OFF = "off", "Off"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    IN_DIGEST = "in_digest", "Waiting for the digest"
    DIGESTED = "digested", "Sent in a digest"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (gave up)"
    SKIPPED = "skipped", "Not sent"


class Notification(models.Model):
    """One message (or one digest entry) for one login.

    `key` makes each row at most once: `event:<id>` for an event, `remind:...` for a
    reminder, `digest:<local date>` for a digest. `message_id` is fixed when the row is
    made, so a message sent again after a crash carries the same Message-ID and the
    recipient's mailbox shows it once.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    # The vendor the message is about: a supplier's rows are always its own vendor's.
    vendor = models.ForeignKey(
        "purchasing.Vendor", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=40)
    key = models.CharField(max_length=120)
    event = models.ForeignKey(
        Event, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    order = models.ForeignKey(
        "purchasing.PurchaseOrder",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # What a reminder or digest is about, beyond the order (delivery ids, the revision).
    data = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    digest = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="entries",
        help_text="The digest this entry was (or will be) sent in.",
    )
    message_id = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="one_notification_per_key"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notification_due"),
            models.Index(fields=["recipient", "status"], name="notification_recipient"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient_id} ({self.status})"


class NotificationPreference(models.Model):
    """A login's choice for one kind; without a row, the vendor's default or the kind's."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=40)
    delivery = models.CharField(max_length=10, choices=Delivery.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.delivery}"


class VendorNotificationDefault(models.Model):
    """A vendor admin's default for the vendor's logins, for one kind."""

    vendor = models.ForeignKey(
        "purchasing.Vendor", on_delete=models.CASCADE, related_name="notification_defaults"
    )
    kind = models.CharField(max_length=40)
    delivery = models.CharField(max_length=10, choices=Delivery.choices)

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vendor", "kind"], name="one_vendor_default_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.vendor_id} {self.kind}: {self.delivery}"


class Follow(models.Model):
    """A buyer who wants to hear of a vendor's orders, or of one order, besides its own."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    vendor = models.ForeignKey(
        "purchasing.Vendor", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    order = models.ForeignKey(
        "purchasing.PurchaseOrder",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Buyers' data: a vendor's scope sees none of it (an order's follow has no vendor).
    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="follow_one_target",
                condition=models.Q(vendor__isnull=True, order__isnull=False)
                | models.Q(vendor__isnull=False, order__isnull=True),
            ),
            models.UniqueConstraint(
                fields=["user", "vendor"],
                condition=models.Q(order__isnull=True),
                name="follow_vendor_once",
            ),
            models.UniqueConstraint(
                fields=["user", "order"],
                condition=models.Q(vendor__isnull=True),
                name="follow_order_once",
            ),
        ]

    def __str__(self) -> str:
        target = f"order {self.order_id}" if self.order_id else f"vendor {self.vendor_id}"
        return f"{self.user_id} follows {target}"


class ActionLinkUse(models.Model):
    """A one-click link that was used: each link's nonce once (the link itself is signed
    and carries its recipient, object, revision and expiry; see notify/actions.py)."""

    nonce = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=20)
    used_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.action} by {self.user_id} at {self.used_at:%Y-%m-%d %H:%M}"
