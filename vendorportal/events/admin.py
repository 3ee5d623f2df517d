"""The event log in the back office (read-only, as the log is append-only), the outbound
webhooks (subscriptions, and the delivery log with redelivery) and the e-mail notifications
(what was sent to whom, what failed and why, and sending again)."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from vendorportal.events import webhooks
from vendorportal.events.models import Event, Notification, WebhookDelivery, WebhookSubscription
from vendorportal.events.notify import notifier
from vendorportal.purchasing.admin import BackOfficeAdmin, ReadOnlyAdmin


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ("id", "created_at", "kind", "vendor", "order", "internal", "actor", "summary")
    list_filter = ("kind", "internal", "vendor")
    list_select_related = ("vendor", "order", "actor")
    search_fields = ("summary", "kind", "order__number", "vendor__code")
    ordering = ("-id",)
    # The log grows without bound: skip counting the whole table on every page.
    show_full_result_count = False
    fields = (
        "id",
        "created_at",
        "kind",
        "vendor",
        "order",
        "revision",
        "internal",
        "actor",
        "summary",
        "data",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        return super().get_queryset(request).select_related("vendor", "order", "actor")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(BackOfficeAdmin, admin.ModelAdmin):
    """Subscriptions are plain settings (URL, secret, kinds), edited here directly; a new
    one starts at the end of the event log, not at its beginning."""

    list_display = ("name", "url", "active", "kinds", "last_event_id", "created_at")
    list_filter = ("active",)
    fields = ("name", "url", "secret", "kinds", "active", "last_event_id")
    readonly_fields = ("last_event_id",)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "url":
            # A receiver address typed without a scheme is https (Django 6's default).
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"secret": "whsec_" + secrets.token_urlsafe(32)}

    def save_model(
        self, request: HttpRequest, obj: WebhookSubscription, form: Any, change: bool
    ) -> None:
        before = {name: form.initial.get(name) for name in webhooks.SUBSCRIPTION_FIELDS}
        webhooks.subscription_save(
            subscription=obj, by=request.user, before=before if change else None
        )

    def delete_model(self, request: HttpRequest, obj: WebhookSubscription) -> None:
        webhooks.subscription_delete(subscription=obj, by=request.user)

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]
    ) -> None:
        for subscription in queryset:
            webhooks.subscription_delete(subscription=subscription, by=request.user)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """The delivery log: status and attempts of every event sent, and redelivery."""

    list_display = (
        "id",
        "subscription",
        "event",
        "status",
        "attempts",
        "last_response_status",
        "last_attempt_at",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "subscription")
    list_select_related = ("subscription", "event")
    search_fields = ("event__kind", "last_error")
    show_full_result_count = False
    actions = ("redeliver_selected",)
    fields = (
        "subscription",
        "event",
        "status",
        "attempts",
        "last_response_status",
        "last_error",
        "last_attempt_at",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    )
    readonly_fields = fields

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    @admin.action(description="Redeliver selected deliveries", permissions=["redeliver"])
    def redeliver_selected(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = 0
        for delivery in queryset:
            webhooks.redeliver(delivery)
            count += 1
        messages.success(request, f"{count} deliver{'y' if count == 1 else 'ies'} queued again.")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Every message made for a login: its state, attempts and the mail server's answer."""

    list_display = (
        "id",
        "created_at",
        "recipient",
        "kind",
        "order",
        "status",
        "attempts",
        "last_error",
        "sent_at",
    )
    list_filter = ("status", "kind")
    list_select_related = ("recipient", "order")
    search_fields = ("recipient__email", "order__number", "last_error", "message_id")
    show_full_result_count = False
    actions = ("resend_selected",)
    fields = (
        "recipient",
        "vendor",
        "kind",
        "key",
        "event",
        "order",
        "status",
        "digest",
        "message_id",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_error",
        "sent_at",
        "created_at",
    )
    readonly_fields = fields

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    @admin.action(description="Send selected notifications again", permissions=["resend"])
    def resend_selected(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = 0
        for row in queryset.exclude(status__in=["sent", "in_digest", "digested"]):
            notifier.resend(row, by=request.user)
            count += 1
        messages.success(request, f"{count} notification{'' if count == 1 else 's'} queued again.")
