"""The back office for purchasing data.

Vendors and items are master data, edited here directly. Everything else (orders, lines,
deliveries, receipts, invoices, payments, revisions) is written only by
`purchasing.services`, so the admin shows it read-only; the few order actions offered here
call the services, which enforce the rules and write the revision and the event.

The back office is for internal staff (buyers with staff rights). A vendor login never
sees it, even if it was given staff rights by mistake: see `BackOfficeAdmin`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from vendorportal.accounts.models import User
from vendorportal.audit.backoffice import AuditedAdmin
from vendorportal.errors import DomainError
from vendorportal.events.models import Event
from vendorportal.purchasing import services
from vendorportal.purchasing.models import (
    Delivery,
    Invoice,
    InvoiceLine,
    Item,
    Line,
    OrderStatus,
    Payment,
    PurchaseOrder,
    Receipt,
    ReceiptLine,
    Revision,
    Vendor,
)
from vendorportal.purchasing.revisions import describe_change


def is_back_office(request: HttpRequest) -> bool:
    """Only internal staff use the back office; a vendor login never does."""
    return bool(getattr(request.user, "is_buyer", False))


def acting_user(request: HttpRequest) -> User:
    """The logged-in user, as the `by=` of a service call."""
    user = request.user
    if not isinstance(user, User):  # pragma: no cover - the admin requires a login
        raise PermissionDenied
    return user


class BackOfficeAdmin(admin.options.BaseModelAdmin):
    """Refuses every permission to anyone but internal staff, on top of Django's own.

    Vendor logins run in their vendor's scope and must never see internal fields; the
    back office shows internal fields everywhere, so it is closed to them altogether.
    """

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_back_office(request) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_back_office(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_back_office(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_back_office(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_back_office(request) and super().has_delete_permission(request, obj)


class ReadOnlyAdmin(BackOfficeAdmin):
    """A model written only by services: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows of a service-written parent, listed on its page, read-only."""

    extra = 0
    max_num = 0
    can_delete = False
    related: tuple[str, ...] = ()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        return queryset.select_related(*self.related) if self.related else queryset


def changes_in_words(changes: Iterable[dict[str, Any]]) -> SafeString:
    """A revision's change list as an HTML list of sentences (values escaped)."""
    sentences = []
    for change in changes:
        try:
            sentences.append((describe_change(change),))
        except (KeyError, TypeError):  # a malformed entry is shown as stored
            sentences.append((repr(change),))
    if not sentences:
        return format_html("<p>{}</p>", "No changes.")
    return format_html(
        '<ul class="change-words">{}</ul>',
        format_html_join("", "<li>{}</li>", sentences),
    )


CENT = Decimal("0.01")


def _money(value: Decimal) -> Decimal:
    """Products of quantity and price carry 8 places; show them as money."""
    return value.quantize(CENT)


def _order_line_label(line: Line) -> str:
    return f"{line.order.number} line {line.line_number}"


# ---------------------------------------------------------------------------------------
# Master data: vendors and items (full CRUD)
# ---------------------------------------------------------------------------------------


@admin.register(Vendor)
class VendorAdmin(AuditedAdmin, BackOfficeAdmin, admin.ModelAdmin):
    list_display = ("code", "name", "active", "rating", "contact_name", "contact_email")
    list_filter = ("active", "rating")
    search_fields = ("code", "name", "contact_name", "contact_email", "external_id")
    ordering = ("code",)
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("code", "name", "active", "mfa_required", "external_id")}),
        ("Contact", {"fields": ("contact_name", "contact_email", "phone", "address")}),
        ("Internal (never shown to the vendor)", {"fields": ("rating", "internal_notes")}),
        ("History", {"fields": ("created_at", "updated_at")}),
    )


@admin.register(Item)
class ItemAdmin(AuditedAdmin, BackOfficeAdmin, admin.ModelAdmin):
    list_display = ("part_number", "description", "unit_of_measure", "standard_cost", "active")
    list_filter = ("active", "unit_of_measure")
    search_fields = ("part_number", "description", "external_id")
    ordering = ("part_number",)
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("part_number", "description", "unit_of_measure", "active")}),
        ("Integration", {"fields": ("external_id",)}),
        ("Internal (never shown to the vendor)", {"fields": ("standard_cost",)}),
        ("History", {"fields": ("created_at", "updated_at")}),
    )


# ---------------------------------------------------------------------------------------
# Orders (read-only; actions go through the services)
# ---------------------------------------------------------------------------------------


class LineInline(ReadOnlyInline):
    model = Line
    related = ("item",)
    fields = (
        "line_number",
        "item",
        "description",
        "vendor_part_number",
        "unit_of_measure",
        "quantity",
        "unit_price",
        "line_amount",
        "status",
        "internal_notes",
    )
    readonly_fields = fields

    @admin.display(description="amount")
    def line_amount(self, obj: Line) -> Decimal:
        return _money(obj.amount)


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    fk_name = "order"
    related = ("line",)
    verbose_name = "delivery (schedule line)"
    verbose_name_plural = "deliveries (schedule)"
    fields = (
        "line_number",
        "delivery_number",
        "quantity",
        "due_date",
        "promised_date",
        "received_quantity",
        "open_quantity",
        "status",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).order_by("line__line_number", "delivery_number")

    @admin.display(description="line", ordering="line__line_number")
    def line_number(self, obj: Delivery) -> int:
        return obj.line.line_number


class RevisionInline(ReadOnlyInline):
    model = Revision
    related = ("created_by",)
    show_change_link = True
    fields = ("number", "created_at", "created_by", "reason", "changes_listed")
    readonly_fields = fields

    @admin.display(description="changes")
    def changes_listed(self, obj: Revision) -> SafeString:
        return changes_in_words(obj.changes)


class EventInline(ReadOnlyInline):
    model = Event
    related = ("actor",)
    verbose_name = "event"
    verbose_name_plural = "timeline"
    fields = ("created_at", "kind", "revision", "internal", "actor", "summary")
    readonly_fields = fields


OrderService = Callable[..., PurchaseOrder]


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = (
        "number",
        "vendor",
        "kind",
        "status",
        "revision",
        "order_date",
        "buyer",
        "updated_at",
    )
    list_filter = ("status", "kind", "vendor")
    list_select_related = ("vendor", "buyer")
    search_fields = ("number", "vendor__code", "vendor__name", "external_id")
    date_hierarchy = "order_date"
    ordering = ("-order_date", "-number")
    actions = ("issue_drafts", "close_orders", "cancel_orders")
    inlines = (LineInline, DeliveryInline, RevisionInline, EventInline)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "vendor",
                    "buyer",
                    "kind",
                    "status",
                    "revision",
                    "order_date",
                    "external_id",
                )
            },
        ),
        (
            "Terms",
            {
                "fields": (
                    "currency",
                    "payment_terms",
                    "incoterms",
                    "ship_to",
                    "valid_from",
                    "valid_to",
                )
            },
        ),
        ("Notes", {"fields": ("notes_to_vendor", "internal_notes")}),
        ("History", {"fields": ("issued_at", "closed_at", "created_at", "updated_at")}),
    )
    readonly_fields = (
        "number",
        "vendor",
        "buyer",
        "kind",
        "status",
        "revision",
        "order_date",
        "external_id",
        "currency",
        "payment_terms",
        "incoterms",
        "ship_to",
        "valid_from",
        "valid_to",
        "notes_to_vendor",
        "internal_notes",
        "issued_at",
        "closed_at",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseOrder]:
        return super().get_queryset(request).select_related("vendor", "buyer")

    def has_service_permission(self, request: HttpRequest) -> bool:
        """Who may run the order actions: staff allowed to change orders.

        Django's "change purchase order" permission grants the actions only; the order
        itself is never edited through an admin form.
        """
        return is_back_office(request) and request.user.has_perm("purchasing.change_purchaseorder")

    def _run(
        self,
        request: HttpRequest,
        queryset: QuerySet[PurchaseOrder],
        service: OrderService,
        done: str,
        expected: OrderStatus,
    ) -> None:
        """Call `service` on each order in its own transaction; report each refusal.

        An order that ends in another status than `expected` says so (closing an order
        with nothing received cancels it).
        """
        by = acting_user(request)
        succeeded = []
        for order in queryset.order_by("number"):
            try:
                result = service(order=order, by=by)
            except DomainError as exc:
                messages.error(request, str(exc))
                continue
            if result.status == expected:
                succeeded.append(result.number)
            else:
                succeeded.append(f"{result.number} (now {result.get_status_display().lower()})")
        if succeeded:
            messages.success(request, f"{done} {len(succeeded)} order(s): {', '.join(succeeded)}.")

    @admin.action(description="Issue selected drafts", permissions=["service"])
    def issue_drafts(self, request: HttpRequest, queryset: QuerySet[PurchaseOrder]) -> None:
        self._run(request, queryset, services.order_issue, "Issued", OrderStatus.ISSUED)

    @admin.action(description="Close selected orders", permissions=["service"])
    def close_orders(self, request: HttpRequest, queryset: QuerySet[PurchaseOrder]) -> None:
        self._run(request, queryset, services.order_close, "Closed", OrderStatus.CLOSED)

    @admin.action(description="Cancel selected orders", permissions=["service"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[PurchaseOrder]) -> None:
        self._run(request, queryset, services.order_cancel, "Cancelled", OrderStatus.CANCELLED)


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("order", "number", "vendor", "created_at", "created_by", "reason")
    list_filter = ("vendor",)
    list_select_related = ("order", "vendor", "created_by")
    search_fields = ("order__number", "reason")
    ordering = ("-created_at", "-id")
    fields = (
        "order",
        "number",
        "vendor",
        "created_at",
        "created_by",
        "reason",
        "changes_listed",
        "snapshot",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Revision]:
        return super().get_queryset(request).select_related("order", "vendor", "created_by")

    @admin.display(description="changes")
    def changes_listed(self, obj: Revision) -> SafeString:
        return changes_in_words(obj.changes)


# ---------------------------------------------------------------------------------------
# Receipts (read-only)
# ---------------------------------------------------------------------------------------


class ReceiptLineInline(ReadOnlyInline):
    model = ReceiptLine
    related = ("line__order", "delivery")
    fields = ("order_line", "delivery_number", "due_date", "quantity")
    readonly_fields = fields

    @admin.display(description="order line")
    def order_line(self, obj: ReceiptLine) -> str:
        return _order_line_label(obj.line)

    @admin.display(description="delivery")
    def delivery_number(self, obj: ReceiptLine) -> int:
        return obj.delivery.delivery_number

    @admin.display(description="due date")
    def due_date(self, obj: ReceiptLine) -> dt.date:
        return obj.delivery.due_date


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = (
        "number",
        "kind",
        "vendor",
        "order",
        "receipt_date",
        "packing_slip",
        "created_by",
        "created_at",
    )
    list_filter = ("kind", "vendor")
    list_select_related = ("vendor", "order", "created_by")
    search_fields = (
        "number",
        "order__number",
        "vendor__code",
        "vendor__name",
        "packing_slip",
        "external_id",
    )
    date_hierarchy = "receipt_date"
    inlines = (ReceiptLineInline,)
    fields = (
        "number",
        "kind",
        "vendor",
        "order",
        "receipt_date",
        "packing_slip",
        "reason",
        "external_id",
        "created_by",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Receipt]:
        return super().get_queryset(request).select_related("vendor", "order", "created_by")


# ---------------------------------------------------------------------------------------
# Invoices and payments (read-only)
# ---------------------------------------------------------------------------------------


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    related = ("order_line__order",)
    fields = (
        "order_line_label",
        "quantity",
        "unit_price",
        "amount",
        "match_status",
        "ordered_quantity",
        "received_quantity",
        "invoiced_quantity",
        "order_unit_price",
        "variance",
    )
    readonly_fields = fields

    @admin.display(description="price variance")
    def variance(self, obj: InvoiceLine) -> Decimal:
        return _money(obj.price_variance)

    @admin.display(description="order line")
    def order_line_label(self, obj: InvoiceLine) -> str:
        return _order_line_label(obj.order_line)


class PaymentInline(ReadOnlyInline):
    model = Payment
    related = ("created_by",)
    fields = ("paid_on", "amount", "reference", "external_id", "created_by", "created_at")
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = (
        "number",
        "vendor",
        "invoice_date",
        "due_date",
        "status",
        "currency",
        "total_amount",
        "paid_amount",
        "outstanding_amount",
    )
    list_filter = ("status", "vendor", "currency")
    list_select_related = ("vendor",)
    search_fields = ("number", "vendor__code", "vendor__name", "external_id")
    date_hierarchy = "invoice_date"
    inlines = (InvoiceLineInline, PaymentInline)
    fields = (
        "number",
        "vendor",
        "status",
        "invoice_date",
        "due_date",
        "currency",
        "total_amount",
        "paid_amount",
        "outstanding_amount",
        "external_id",
        "created_by",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invoice]:
        return super().get_queryset(request).select_related("vendor", "created_by")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("invoice", "vendor", "paid_on", "amount", "reference", "created_by")
    list_filter = ("vendor",)
    list_select_related = ("invoice", "vendor", "created_by")
    search_fields = ("invoice__number", "reference", "external_id", "vendor__code")
    date_hierarchy = "paid_on"
    ordering = ("-paid_on", "-id")
    fields = (
        "invoice",
        "vendor",
        "amount",
        "paid_on",
        "reference",
        "external_id",
        "created_by",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payment]:
        return super().get_queryset(request).select_related("invoice", "vendor", "created_by")


__all__ = ["BackOfficeAdmin", "ReadOnlyAdmin", "ReadOnlyInline", "is_back_office"]
