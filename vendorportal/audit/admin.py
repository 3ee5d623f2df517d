"""The audit trail in the back office: read-only (the trail is append-only)."""

from __future__ import annotations

from django.contrib import admin

from vendorportal.audit.models import AuditEntry
from vendorportal.purchasing.admin import ReadOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = (
        "id",
        "created_at",
        "action",
        "actor_email",
        "vendor_id",
        "channel",
        "ip",
        "object_type",
        "object_label",
        "revision",
    )
    list_filter = ("channel", "action")
    search_fields = ("action", "actor_email", "object_label", "order_number", "ip")
    ordering = ("-id",)
    show_full_result_count = False
    fields = (
        "id",
        "created_at",
        "action",
        "actor_id",
        "actor_email",
        "vendor_id",
        "channel",
        "ip",
        "user_agent",
        "token_id",
        "token_name",
        "object_type",
        "object_id",
        "object_label",
        "order_number",
        "revision",
        "changes",
        "summary",
        "event_id",
    )
    readonly_fields = fields
