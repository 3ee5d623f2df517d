from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _schedule(sender: Any, **kwargs: Any) -> None:
    # Every installation and deploy migrates: the reminders' schedule is then waiting for
    # the first worker, even before any event wakes the notifier.
    from vendorportal.events.notify import reminders

    reminders.ensure_scheduled()


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
        post_migrate.connect(_schedule, sender=self)
