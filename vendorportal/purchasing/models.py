"""The purchasing system of record: vendors, items, orders, schedules, ship notices,
receipts, invoices.

Rules about how these rows may change live in `services/`, which is the only code
that writes them. Models hold structure, constraints and cheap derived values.

Every table a vendor may see carries a `vendor` key (copied from its parent and checked
by the service that writes it), so that vendor scoping is one indexed filter, never a join.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from vendorportal.purchasing.rules import validate_identifier, validate_text
from vendorportal.scoping import VendorScopedManager

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager

# Quantities and unit prices carry 4 decimal places; invoice amounts are money (2 places).
ZERO = Decimal("0")


class Vendor(models.Model):
    # The back office edits vendors and items with model forms: the same rules as every
    # other entrance (purchasing/rules.py), as field validators.
    code = models.CharField(max_length=32, unique=True, validators=[validate_identifier])
    name = models.CharField(max_length=200, validators=[validate_text])
    contact_name = models.CharField(max_length=200, blank=True, validators=[validate_text])
    contact_email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True, validators=[validate_text])
    address = models.TextField(blank=True, validators=[validate_text])
    active = models.BooleanField(default=True)
    # Set by the vendor's admin (Team page): every login of the vendor must use
    # two-factor authentication.
    mfa_required = models.BooleanField(
        "two-factor authentication required",
        default=False,
        help_text="Every login of this vendor must set up an authenticator app.",
    )
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    # Internal only: never shown to any vendor user.
    internal_notes = models.TextField(blank=True, validators=[validate_text])
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Internal supplier rating, 1 (poor) to 5 (excellent)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # A vendor user's scope sees its own vendor record only.
    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager("pk")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Item(models.Model):
    part_number = models.CharField(max_length=64, unique=True, validators=[validate_text])
    description = models.CharField(max_length=300, validators=[validate_text])
    unit_of_measure = models.CharField(max_length=16, default="EA", validators=[validate_text])
    active = models.BooleanField(default=True)
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    # Internal only.
    standard_cost = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["part_number"]

    def __str__(self) -> str:
        return f"{self.part_number} {self.description}"


class OrderKind(models.TextChoices):
    STANDARD = "standard", "Standard"
    BLANKET = "blanket", "Blanket"


class OrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class LineStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class PurchaseOrder(models.Model):
    number = models.CharField(max_length=32, unique=True, validators=[validate_identifier])
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders_bought",
    )
    kind = models.CharField(max_length=10, choices=OrderKind.choices, default=OrderKind.STANDARD)
    status = models.CharField(max_length=10, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    # Bumped by every change the supplier must know about; 0 while a draft.
    revision = models.PositiveIntegerField(default=0)
    order_date = models.DateField()
    currency = models.CharField(max_length=3, default="USD")
    payment_terms = models.CharField(max_length=100, blank=True)
    incoterms = models.CharField(max_length=50, blank=True)
    ship_to = models.TextField(blank=True)
    # Blanket agreements run for a period.
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    notes_to_vendor = models.TextField(blank=True)
    # Internal only.
    internal_notes = models.TextField(blank=True)
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    if TYPE_CHECKING:
        lines: RelatedManager[Line]
        deliveries: RelatedManager[Delivery]
        revisions: RelatedManager[Revision]

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["-order_date", "-number"]
        indexes = [
            # "orders of vendor V updated since T" (API sync, portal lists).
            models.Index(fields=["vendor", "updated_at"], name="po_vendor_updated"),
            models.Index(fields=["vendor", "status", "order_date"], name="po_vendor_status"),
        ]
        constraints = [
            models.CheckConstraint(
                name="po_valid_period",
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_to__gte=F("valid_from")),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_blanket(self) -> bool:
        return self.kind == OrderKind.BLANKET

    @property
    def is_draft(self) -> bool:
        return self.status == OrderStatus.DRAFT


class Line(models.Model):
    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    line_number = models.PositiveIntegerField()
    item = models.ForeignKey(Item, on_delete=models.PROTECT, null=True, blank=True)
    description = models.CharField(max_length=300)
    vendor_part_number = models.CharField(max_length=64, blank=True)
    unit_of_measure = models.CharField(max_length=16, default="EA")
    # Ordered quantity; for a blanket line the committed total for the agreement period.
    quantity = models.DecimalField(max_digits=16, decimal_places=4)
    unit_price = models.DecimalField(max_digits=16, decimal_places=4)
    status = models.CharField(max_length=10, choices=LineStatus.choices, default=LineStatus.OPEN)
    # Internal only.
    internal_notes = models.TextField(blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    if TYPE_CHECKING:
        deliveries: RelatedManager[Delivery]
        order_id: int
        vendor_id: int

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["order", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="line_number_per_order"),
            models.CheckConstraint(name="line_quantity_positive", condition=Q(quantity__gt=0)),
            models.CheckConstraint(name="line_price_not_negative", condition=Q(unit_price__gte=0)),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.line_number}"

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


class Delivery(models.Model):
    """A schedule line: what is due when. For a blanket line, a release."""

    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="deliveries")
    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="deliveries")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    delivery_number = models.PositiveIntegerField()
    quantity = models.DecimalField(max_digits=16, decimal_places=4)
    due_date = models.DateField()
    # As confirmed by the supplier; the buyer's due date is never overwritten by it.
    promised_date = models.DateField(null=True, blank=True)
    # Sum of receipt lines (returns negative), kept by the receipt service.
    received_quantity = models.DecimalField(max_digits=16, decimal_places=4, default=ZERO)
    # Announced on submitted ship notices and not yet received against them, and the
    # latest expected arrival among those notices: kept by the ship-notice and receipt
    # services under the order's lock, so the open-lines page reads them with the row.
    in_transit_quantity = models.DecimalField(max_digits=16, decimal_places=4, default=ZERO)
    expected_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=LineStatus.choices, default=LineStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    if TYPE_CHECKING:
        order_id: int
        line_id: int
        vendor_id: int

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["line", "delivery_number"]
        verbose_name_plural = "deliveries"
        indexes = [
            # "open deliveries of vendor V by due date" (portal open lines, API).
            models.Index(
                fields=["vendor", "due_date"],
                name="delivery_open_by_vendor_due",
                condition=Q(status="open"),
            ),
            models.Index(fields=["status", "due_date"], name="delivery_status_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["line", "delivery_number"], name="delivery_number_per_line"
            ),
            models.CheckConstraint(name="delivery_quantity_positive", condition=Q(quantity__gt=0)),
            models.CheckConstraint(
                name="delivery_received_not_negative", condition=Q(received_quantity__gte=0)
            ),
            models.CheckConstraint(
                name="delivery_in_transit_not_negative", condition=Q(in_transit_quantity__gte=0)
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.delivery_number} of line {self.line_id}"

    @property
    def open_quantity(self) -> Decimal:
        if self.status != LineStatus.OPEN:
            return ZERO
        return max(self.quantity - self.received_quantity, ZERO)


class Revision(models.Model):
    """One revision of an issued order: who, when, why, and the structured change list.

    `changes` replays the previous revision's `snapshot` into this one's (see
    `revisions.apply_changes`); the snapshot holds only what the supplier sees.
    """

    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="revisions")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)
    changes = models.JSONField(default=list)
    snapshot = models.JSONField(default=dict)

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["order", "number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "number"], name="revision_number_per_order"),
        ]

    def __str__(self) -> str:
        return f"revision {self.number}"


class ShipNoticeStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "In transit"
    PARTIALLY_RECEIVED = "partially_received", "Received in part"
    RECEIVED = "received", "Received"
    # Received short (or not at all) and closed by the buyer with a reason.
    CLOSED = "closed", "Closed with difference"
    CANCELLED = "cancelled", "Cancelled"


class ShipNotice(models.Model):
    """An advance ship notice: the supplier's announcement of one shipment on one order.

    Its lines say how much of which delivery is on the truck; receipts recorded against
    it (`Receipt.ship_notice`) say what arrived, and the difference is shown to both sides.
    """

    number = models.CharField(max_length=32, unique=True)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="ship_notices")
    order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="ship_notices")
    status = models.CharField(
        max_length=20, choices=ShipNoticeStatus.choices, default=ShipNoticeStatus.DRAFT
    )
    ship_date = models.DateField()
    expected_date = models.DateField("expected arrival")
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    packing_slip = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True)
    # Bumped by every correction of a submitted notice (each kept as an event).
    version = models.PositiveIntegerField(default=1)
    closed_reason = models.TextField(blank=True)
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    if TYPE_CHECKING:
        lines: RelatedManager[ShipNoticeLine]
        receipts: RelatedManager[Receipt]
        order_id: int
        vendor_id: int

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["-ship_date", "-id"]
        indexes = [
            models.Index(fields=["vendor", "status", "expected_date"], name="asn_vendor_status"),
            models.Index(fields=["status", "expected_date"], name="asn_status_expected"),
        ]
        constraints = [
            models.CheckConstraint(
                name="asn_arrival_after_shipping", condition=Q(expected_date__gte=F("ship_date"))
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        """On its way: announced and not yet received in full or closed."""
        return self.status in (ShipNoticeStatus.SUBMITTED, ShipNoticeStatus.PARTIALLY_RECEIVED)

    @property
    def is_changeable(self) -> bool:
        """The supplier may still correct or cancel it: nothing was received against it."""
        return self.status in (ShipNoticeStatus.DRAFT, ShipNoticeStatus.SUBMITTED)


class ShipNoticeLine(models.Model):
    notice = models.ForeignKey(ShipNotice, on_delete=models.CASCADE, related_name="lines")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    delivery = models.ForeignKey(
        Delivery, on_delete=models.PROTECT, related_name="ship_notice_lines"
    )
    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="ship_notice_lines")
    quantity = models.DecimalField(max_digits=16, decimal_places=4)

    if TYPE_CHECKING:
        notice_id: int
        delivery_id: int
        line_id: int

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["notice", "id"]
        constraints = [
            models.UniqueConstraint(fields=["notice", "delivery"], name="asn_delivery_once"),
            models.CheckConstraint(name="asn_line_quantity_positive", condition=Q(quantity__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} on delivery {self.delivery_id}"


class ReceiptKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    RETURN = "return", "Return"


class Receipt(models.Model):
    """A goods receipt (or a return to the vendor). Never edited: a correction is a return."""

    number = models.CharField(max_length=32, unique=True)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="receipts")
    order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="receipts")
    kind = models.CharField(max_length=10, choices=ReceiptKind.choices, default=ReceiptKind.RECEIPT)
    receipt_date = models.DateField()
    packing_slip = models.CharField(max_length=100, blank=True)
    # The ship notice the goods arrived under, when the buyer received against one.
    ship_notice = models.ForeignKey(
        ShipNotice, on_delete=models.PROTECT, null=True, blank=True, related_name="receipts"
    )
    reason = models.TextField(blank=True, help_text="Why goods were returned (returns only).")
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    if TYPE_CHECKING:
        lines: RelatedManager[ReceiptLine]

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["-receipt_date", "-id"]
        indexes = [models.Index(fields=["vendor", "receipt_date"], name="receipt_vendor_date")]

    def __str__(self) -> str:
        return self.number


class ReceiptLine(models.Model):
    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="receipt_lines")
    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="receipt_lines")
    # Negative for a return.
    quantity = models.DecimalField(max_digits=16, decimal_places=4)

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["receipt", "id"]
        constraints = [
            models.CheckConstraint(name="receipt_line_not_zero", condition=~Q(quantity=0)),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} on delivery {self.delivery_id}"


class InvoiceStatus(models.TextChoices):
    # Sent by the supplier from the portal; the buyer approves it (open) or disputes it.
    SUBMITTED = "submitted", "Awaiting approval"
    OPEN = "open", "Open"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    DISPUTED = "disputed", "Disputed"
    VOID = "void", "Void"
    # Taken back by the supplier before the buyer approved it.
    WITHDRAWN = "withdrawn", "Withdrawn"
    # A credit note, approved: it reduces what is outstanding on the invoice it credits.
    APPLIED = "applied", "Applied"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class InvoiceOrigin(models.TextChoices):
    BUYER = "buyer", "Recorded by a buyer"
    SUPPLIER = "supplier", "Submitted by the supplier"
    ERP = "erp", "From the ERP"


class MatchStatus(models.TextChoices):
    MATCHED = "matched", "Matched"
    QUANTITY_EXCEPTION = "quantity_exception", "Invoiced more than received"
    PRICE_VARIANCE = "price_variance", "Price differs from order"
    QUANTITY_AND_PRICE = "quantity_and_price", "Quantity and price exceptions"


class Invoice(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=64)
    invoice_date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(
        max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN
    )
    kind = models.CharField(max_length=16, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    origin = models.CharField(
        max_length=16, choices=InvoiceOrigin.choices, default=InvoiceOrigin.BUYER
    )
    # A credit note names the invoice it reduces (same vendor, same currency).
    credits = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    # The lines' amounts, then tax and freight as the supplier states them; total is the sum.
    lines_amount = models.DecimalField(max_digits=18, decimal_places=2, default=ZERO)
    tax_amount = models.DecimalField(max_digits=18, decimal_places=2, default=ZERO)
    freight_amount = models.DecimalField(max_digits=18, decimal_places=2, default=ZERO)
    total_amount = models.DecimalField(max_digits=18, decimal_places=2, default=ZERO)
    paid_amount = models.DecimalField(max_digits=18, decimal_places=2, default=ZERO)
    # What applied credit notes took off this invoice.
    credited_amount = models.DecimalField(max_digits=18, decimal_places=2, default=ZERO)
    note = models.TextField(blank=True, help_text="The supplier's note to the buyer.")
    # Why it was last disputed or withdrawn (shown to both sides).
    status_reason = models.TextField(blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    if TYPE_CHECKING:
        lines: RelatedManager[InvoiceLine]
        payments: RelatedManager[Payment]
        credit_notes: RelatedManager[Invoice]
        credits_id: int | None

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["-invoice_date", "-id"]
        indexes = [models.Index(fields=["vendor", "status"], name="invoice_vendor_status")]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "number"], name="invoice_number_per_vendor"),
            models.CheckConstraint(
                name="invoice_paid_not_negative", condition=Q(paid_amount__gte=0)
            ),
            models.CheckConstraint(
                name="invoice_tax_freight_not_negative",
                condition=Q(tax_amount__gte=0, freight_amount__gte=0, credited_amount__gte=0),
            ),
            models.CheckConstraint(
                name="credit_note_names_its_invoice",
                condition=Q(kind="invoice", credits__isnull=True)
                | Q(kind="credit_note", credits__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.CREDIT_NOTE

    @property
    def outstanding_amount(self) -> Decimal:
        """What is still to be paid: nothing on a void, withdrawn or credit note."""
        if self.is_credit_note or self.status in (InvoiceStatus.VOID, InvoiceStatus.WITHDRAWN):
            return ZERO
        return self.total_amount - self.paid_amount - self.credited_amount

    @property
    def awaiting_approval(self) -> bool:
        """Sent by the supplier and not approved yet (disputed before approval counts):
        the buyer may approve it, the supplier may withdraw it."""
        return self.status == InvoiceStatus.SUBMITTED or (
            self.status == InvoiceStatus.DISPUTED
            and self.approved_at is None
            and self.origin == InvoiceOrigin.SUPPLIER
        )

    @property
    def can_be_credited(self) -> bool:
        return (
            not self.is_credit_note
            and self.status
            in (
                InvoiceStatus.SUBMITTED,
                InvoiceStatus.OPEN,
                InvoiceStatus.PARTIALLY_PAID,
                InvoiceStatus.DISPUTED,
            )
            and self.outstanding_amount > 0
        )

    @property
    def is_live(self) -> bool:
        """Counts in the three-way match (a credit note only once applied)."""
        if self.is_credit_note:
            return self.status == InvoiceStatus.APPLIED
        return self.status not in (InvoiceStatus.VOID, InvoiceStatus.WITHDRAWN)


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    order_line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="invoice_lines")
    # On a credit note: the invoice line it credits.
    credits_line = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_lines"
    )
    quantity = models.DecimalField(max_digits=16, decimal_places=4)
    unit_price = models.DecimalField(max_digits=16, decimal_places=4)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    # Three-way match, recomputed when goods are received or returned.
    match_status = models.CharField(
        max_length=20, choices=MatchStatus.choices, default=MatchStatus.MATCHED
    )
    ordered_quantity = models.DecimalField(max_digits=16, decimal_places=4, default=ZERO)
    received_quantity = models.DecimalField(max_digits=16, decimal_places=4, default=ZERO)
    invoiced_quantity = models.DecimalField(
        max_digits=16,
        decimal_places=4,
        default=ZERO,
        help_text="Invoiced on this order line across all live invoices.",
    )
    order_unit_price = models.DecimalField(max_digits=16, decimal_places=4, default=ZERO)

    if TYPE_CHECKING:
        order_line_id: int

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["invoice", "id"]
        constraints = [
            models.CheckConstraint(
                name="invoice_line_quantity_positive", condition=Q(quantity__gt=0)
            ),
            models.CheckConstraint(
                name="invoice_line_price_not_negative", condition=Q(unit_price__gte=0)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.unit_price} on order line {self.order_line_id}"

    @property
    def price_variance(self) -> Decimal:
        return (self.unit_price - self.order_unit_price) * self.quantity


class Payment(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    paid_on = models.DateField()
    reference = models.CharField(max_length=100, blank=True)
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[VendorScopedManager[Self]] = VendorScopedManager()

    class Meta:
        ordering = ["paid_on", "id"]
        constraints = [
            models.CheckConstraint(name="payment_positive", condition=Q(amount__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.amount} on {self.paid_on}"
