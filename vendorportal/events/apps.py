from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "vendorportal.events"
    verbose_name = "Events"
