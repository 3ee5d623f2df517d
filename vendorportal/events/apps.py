from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "vendorportal.events"
    verbose_name = "Events"

    def ready(self) -> None:
        from vendorportal.events import log, webhooks
        from vendorportal.events.notify import notifier

        # Every committed event wakes the webhook worker (when anyone subscribes) and the
        # notifier (when its kind can notify anyone).
        log.subscribe(webhooks.on_event_committed)
        log.subscribe(notifier.on_event_committed)
