"""`vendorportal add-vendor-user VENDOR_CODE EMAIL [--admin] [--password P]`: make a
login of a vendor (a vendor user, or with --admin a vendor admin)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scopes_disabled

from vendorportal.accounts import services
from vendorportal.accounts.models import Role
from vendorportal.errors import DomainError
from vendorportal.purchasing.models import Vendor


class Command(BaseCommand):
    help = (
        "Make a login of the vendor with VENDOR_CODE: a vendor user, or with --admin a "
        "vendor admin (who can invite and deactivate colleagues). Without --password a "
        "strong password is generated and printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("vendor_code", metavar="VENDOR_CODE", help="the vendor's code")
        parser.add_argument("email", help="the e-mail address to log in with")
        parser.add_argument(
            "--admin", action="store_true", help="a vendor admin instead of a vendor user"
        )
        parser.add_argument("--password", help="the password (checked by the validators)")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        code: str = options["vendor_code"]
        with scopes_disabled():
            vendor = Vendor.objects.filter(code__iexact=code.strip()).first()
        if vendor is None:
            raise CommandError(f"There is no vendor with code {code!r}.")
        password: str | None = options["password"]
        generated = password is None
        password = password if password is not None else services.generate_password()
        try:
            user = services.vendor_login_create(
                vendor=vendor,
                email=options["email"],
                role=Role.VENDOR_ADMIN if options["admin"] else Role.VENDOR_USER,
                password=password,
                first_name=options["first_name"],
                last_name=options["last_name"],
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{user.get_role_display()} login {user.email} created for "
                f"{vendor.code} {vendor.name}."
            )
        )
        if generated:
            self.stdout.write(f"Password: {password}")
            self.stdout.write("It is shown only this once; pass it on securely.")
