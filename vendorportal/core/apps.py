from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Project-wide plumbing with no models of its own (the `serve` command)."""

    name = "vendorportal.core"
    verbose_name = "Core"
