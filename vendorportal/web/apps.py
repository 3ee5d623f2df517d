from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "vendorportal.web"
    verbose_name = "Shared screens"
