from django.apps import AppConfig


class BuyingConfig(AppConfig):
    name = "vendorportal.buying"
    verbose_name = "Buyer workspace"
