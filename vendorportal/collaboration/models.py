"""What suppliers and buyers say about an order: acknowledgements, proposals, comments.

None of these overwrite the order. A proposal becomes part of the order only when the
buyer accepts it, which makes a new revision (counted as acknowledged by that supplier).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.db import models
from django.db.models import Q

from vendorportal.scoping import VendorScopedManager


class AcknowledgementResponse(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    ACCEPTED_WITH_CHANGES = "accepted_with_changes", "Accepted with changes"
    REJECTED = "rejected", "Rejected"


class Acknowledgement(models.Model):
    """A supplier's answer to one revision of an order."""

    order = models.ForeignKey(
        "purchasing.PurchaseOrder", on_delete=models.CASCADE, related_name="acknowledgements"
    )
    vendor = models.ForeignKey("purchasing.Vendor", on_delete=models.PROTECT, related_name="+")
    revision = models.PositiveIntegerField()
    response = models.CharField(max_length=24, choices=AcknowledgementResponse.choices)
    comment = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    # Set when the acknowledgement came from the buyer accepting this supplier's proposal.
    proposal = models.ForeignKey(
        "ChangeProposal", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    if TYPE_CHECKING:
        user_id: int | None

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["order", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["order", "revision"], name="one_ack_per_revision"),
        ]

    def __str__(self) -> str:
        return f"revision {self.revision}: {self.response}"


class ProposalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ChangeProposal(models.Model):
    """A supplier's proposed new due date, quantity or price for a delivery or line."""

    order = models.ForeignKey(
        "purchasing.PurchaseOrder", on_delete=models.CASCADE, related_name="proposals"
    )
    vendor = models.ForeignKey("purchasing.Vendor", on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey("purchasing.Line", on_delete=models.CASCADE, related_name="proposals")
    delivery = models.ForeignKey(
        "purchasing.Delivery",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="proposals",
    )
    proposed_due_date = models.DateField(null=True, blank=True)
    proposed_quantity = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    proposed_unit_price = models.DecimalField(
        max_digits=16, decimal_places=4, null=True, blank=True
    )
    # What the order said when the proposal was made, so the buyer sees old → new.
    current_due_date = models.DateField(null=True, blank=True)
    current_quantity = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    current_unit_price = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    reason = models.TextField()
    status = models.CharField(
        max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.PENDING
    )
    revision = models.PositiveIntegerField(help_text="The order revision it was proposed against.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    resulting_revision = models.PositiveIntegerField(null=True, blank=True)

    if TYPE_CHECKING:
        created_by_id: int
        delivery_id: int | None
        line_id: int
        order_id: int

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["vendor", "status"], name="proposal_vendor_status")]
        constraints = [
            models.CheckConstraint(
                name="proposal_proposes_something",
                condition=Q(proposed_due_date__isnull=False)
                | Q(proposed_quantity__isnull=False)
                | Q(proposed_unit_price__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"proposal {self.pk} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == ProposalStatus.PENDING


class Comment(models.Model):
    """Plain text on an order (optionally one line); internal comments are buyers only."""

    order = models.ForeignKey(
        "purchasing.PurchaseOrder", on_delete=models.CASCADE, related_name="comments"
    )
    vendor = models.ForeignKey("purchasing.Vendor", on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(
        "purchasing.Line", on_delete=models.CASCADE, null=True, blank=True, related_name="comments"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    internal = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"], name="comment_order_created")]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.order_id}"
