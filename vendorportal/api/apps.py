from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "vendorportal.api"
    label = "api"
    verbose_name = "API"
