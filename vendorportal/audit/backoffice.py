"""Back-office edits that are not service calls (vendor and item master data) still leave
one audit row each: the fields the form changed, old → new."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from vendorportal.audit import log as audit


def form_changes(form: Any, *, created: bool) -> audit.Changes:
    return {
        name: [None if created else form.initial.get(name), form.cleaned_data.get(name)]
        for name in form.changed_data
    }


class AuditedAdmin:
    """Mixin for a ModelAdmin whose saves and deletions write directly (the admin runs
    each in one transaction with the row written here)."""

    audit_object_type = ""

    def _audit(
        self, request: HttpRequest, obj: models.Model, verb: str, changes: audit.Changes
    ) -> None:
        object_type = self.audit_object_type or obj._meta.model_name or "object"
        vendor_id = getattr(obj, "vendor_id", None)
        if object_type == "vendor":
            vendor_id = obj.pk
        audit.record(
            action=f"{object_type}.{verb}",
            actor=request.user,
            vendor_id=vendor_id,
            object_type=object_type,
            object_id=obj.pk,
            object_label=str(obj),
            changes=changes,
            summary=f"{object_type.capitalize()} {obj} {verb} in the back office",
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        self._audit(
            request, obj, "changed" if change else "created", form_changes(form, created=not change)
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        pk, label = obj.pk, str(obj)
        super().delete_model(request, obj)  # type: ignore[misc]
        obj.pk = pk
        self._audit(request, obj, "deleted", {"object": [label, None]})

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
