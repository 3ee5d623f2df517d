from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "vendorportal.audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from vendorportal.audit import signals

        signals.connect()
