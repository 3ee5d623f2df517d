"""`AuditEntry`: one row per write or security event, never changed or removed.

Append-only twice over: the model refuses to update or delete through the ORM (`save` of
an existing row, `delete`, and the queryset's `update` / `delete`), and on PostgreSQL a
trigger (migration 0002) refuses any UPDATE or DELETE, whoever sends it.

References (actor, vendor, event) carry no database constraint and are never cascaded:
the row keeps the id and a copy of the actor's e-mail even if the login is deleted.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn, Self

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnlyError(RuntimeError):
    """Raised on any attempt to change or remove an audit row."""


def _refuse(*args: Any, **kwargs: Any) -> NoReturn:
    raise AppendOnlyError("The audit trail is append-only: rows are never changed or deleted.")


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        _refuse()

    def delete(self) -> tuple[int, dict[str, int]]:
        _refuse()

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        _refuse()

    def update_or_create(self, *args: Any, **kwargs: Any) -> Any:
        _refuse()


class Channel(models.TextChoices):
    WEB = "web", "Web"
    API = "api", "API"
    COMMAND = "command", "Command"
    SYSTEM = "system", "System"
    # A one-click action from a link in a notification (it proves the mailbox, not a login).
    EMAIL = "email", "E-mail link"


class AuditEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_email = models.CharField(max_length=254, blank=True)
    vendor = models.ForeignKey(
        "purchasing.Vendor",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        help_text="The vendor the action was taken for (the vendor whose data it concerns).",
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.SYSTEM)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    token_id = models.BigIntegerField(null=True, blank=True)
    token_name = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    order_number = models.CharField(max_length=32, blank=True)
    revision = models.PositiveIntegerField(null=True, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    event = models.ForeignKey(
        "events.Event",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )

    objects: ClassVar[models.Manager[Self]] = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["action", "id"], name="audit_action_id"),
            models.Index(fields=["vendor", "id"], name="audit_vendor_id"),
            models.Index(fields=["actor", "id"], name="audit_actor_id"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["order_number"], name="audit_order_number"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_email or '-'} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse()
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse()
