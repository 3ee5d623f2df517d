"""`vendorportal demo-code [EMAIL]`: the two-factor code a demo buyer's authenticator shows
now (demo buyers share the documented secret `demo.DEMO_TOTP_SECRET`)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vendorportal.purchasing import demo


class Command(BaseCommand):
    help = (
        "Print the current two-factor code of a demo login (default: the main demo buyer), "
        "to type after the password when logging in to the demo."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", nargs="?", default=demo.MAIN_BUYER_EMAIL)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self.stdout.write(demo.current_code(options["email"]))
        except demo.DemoError as exc:
            raise CommandError(str(exc)) from exc
