"""`vendorportal add-buyer EMAIL [--password P] [--admin]`: make a buyer login."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vendorportal.accounts import services
from vendorportal.errors import DomainError


class Command(BaseCommand):
    help = (
        "Make a buyer login. --admin makes it an administrator (staff and superuser). "
        "Without --password a strong password is generated and printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="the e-mail address to log in with")
        parser.add_argument("--password", help="the password (checked by the validators)")
        parser.add_argument(
            "--admin", action="store_true", help="staff and superuser: opens the back office"
        )
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        password: str | None = options["password"]
        generated = password is None
        password = password if password is not None else services.generate_password()
        try:
            user = services.buyer_create(
                email=options["email"],
                password=password,
                admin=options["admin"],
                first_name=options["first_name"],
                last_name=options["last_name"],
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        kind = "Administrator" if user.is_superuser else "Buyer"
        self.stdout.write(self.style.SUCCESS(f"{kind} login {user.email} created."))
        if generated:
            self.stdout.write(f"Password: {password}")
            self.stdout.write("It is shown only this once; pass it on securely.")
