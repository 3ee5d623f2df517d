"""The event log in the back office: read-only, as the log is append-only."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from vendorportal.events.models import Event
from vendorportal.purchasing.admin import ReadOnlyAdmin


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
