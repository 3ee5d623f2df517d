from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "vendorportal.events"
    verbose_name = "Events"

    def ready(self) -> None:
        from vendorportal.events import log, webhooks

        # Every committed event wakes the webhook worker (when anyone subscribes).
        log.subscribe(webhooks.on_event_committed)
