from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "vendorportal.portal"
    verbose_name = "Supplier portal"
