from django.apps import AppConfig


class PurchasingConfig(AppConfig):
    name = "vendorportal.purchasing"
    verbose_name = "Purchasing"
