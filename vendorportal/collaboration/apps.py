from django.apps import AppConfig


class CollaborationConfig(AppConfig):
    name = "vendorportal.collaboration"
    verbose_name = "Collaboration"
