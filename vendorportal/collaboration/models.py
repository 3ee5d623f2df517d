"""What suppliers and buyers say about an order: acknowledgements, proposals, comments.

None of these overwrite the order. A proposal becomes part of the order only when the
buyer accepts it, which makes a new revision (counted as acknowledged by that supplier).
"""

from __future__ import annotations

import secrets
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


class AttachmentKind(models.TextChoices):
    DRAWING = "drawing", "Drawing"
    SPECIFICATION = "specification", "Specification"
    TERMS = "terms", "Terms"
    CERTIFICATE = "certificate", "Certificate"
    INVOICE_PDF = "invoice_pdf", "Invoice PDF"
    OTHER = "other", "Other"


class AttachmentVisibility(models.TextChoices):
    SHARED = "shared", "Shared with the supplier"
    INTERNAL = "internal", "Internal (buyers only)"


def new_public_id() -> str:
    """22 URL-safe random characters (128 bits): the file's address, never its pk."""
    return secrets.token_urlsafe(16)


class Attachment(models.Model):
    """A file on an order (optionally one line), a ship notice or an invoice.

    The content lives in the `attachments` storage under a random key (never the
    uploader's name); the row keeps what was checked: detected type, size and SHA-256.
    A file of the same kind and name on the same target is its next version (the earlier
    stays, superseded). Deleting is soft: the row stays for the audit trail and the file
    is no longer listed or downloadable.
    """

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id)
    vendor = models.ForeignKey("purchasing.Vendor", on_delete=models.PROTECT, related_name="+")
    # Null only for an invoice's file (an invoice can bill several orders).
    order = models.ForeignKey(
        "purchasing.PurchaseOrder",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    line = models.ForeignKey(
        "purchasing.Line",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    ship_notice = models.ForeignKey(
        "purchasing.ShipNotice",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    invoice = models.ForeignKey(
        "purchasing.Invoice",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    kind = models.CharField(max_length=16, choices=AttachmentKind.choices)
    visibility = models.CharField(
        max_length=8, choices=AttachmentVisibility.choices, default=AttachmentVisibility.SHARED
    )
    original_name = models.CharField(max_length=150)
    storage_key = models.CharField(max_length=200, unique=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    version = models.PositiveIntegerField(default=1)
    supersedes = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The order revision this file made (a new drawing version on a line of an issued order).
    revision = models.PositiveIntegerField(null=True, blank=True)

    if TYPE_CHECKING:
        order_id: int | None
        line_id: int | None
        ship_notice_id: int | None
        invoice_id: int | None
        uploaded_by_id: int
        vendor_id: int

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["uploaded_at", "id"]
        indexes = [
            models.Index(fields=["order", "uploaded_at"], name="attachment_order"),
            models.Index(fields=["ship_notice"], name="attachment_notice"),
            models.Index(fields=["invoice"], name="attachment_invoice"),
        ]
        constraints = [
            models.CheckConstraint(
                name="attachment_has_target",
                condition=Q(order__isnull=False) | Q(invoice__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} (version {self.version})"

    @property
    def internal(self) -> bool:
        return self.visibility == AttachmentVisibility.INTERNAL

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None
