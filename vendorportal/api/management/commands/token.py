"""`vendorportal token create|list|revoke`: API tokens from the command line.

    vendorportal token create NAME (--vendor CODE | --integration) [--read-only] [--as EMAIL]
    vendorportal token list [--vendor CODE]
    vendorportal token revoke PREFIX

A token acts as a login. Without --as, a vendor token acts as the vendor's longest-standing
active vendor admin, an integration token as the longest-standing active administrator.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scopes_disabled

from vendorportal.accounts.models import Role, User
from vendorportal.api import tokens
from vendorportal.api.models import ApiToken
from vendorportal.errors import DomainError
from vendorportal.purchasing.models import Vendor


class Command(BaseCommand):
    help = "Make, list and revoke API tokens. A new token is printed once; keep it safe."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="make a token and print it once")
        create.add_argument("name", help="what the token is for, e.g. the system using it")
        owner = create.add_mutually_exclusive_group(required=True)
        owner.add_argument("--vendor", metavar="CODE", help="a token of this vendor")
        owner.add_argument(
            "--integration", action="store_true", help="the buying company's ERP (all vendors)"
        )
        create.add_argument("--read-only", action="store_true", help="refuse every write")
        create.add_argument("--as", dest="as_email", metavar="EMAIL", help="the login it acts as")
        listing = actions.add_parser("list", help="list tokens (never their secrets)")
        listing.add_argument("--vendor", metavar="CODE")
        revoke = actions.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix", help="the token's first characters, as `list` shows them")

    def handle(self, *args: Any, **options: Any) -> None:
        with scopes_disabled():
            getattr(self, f"_{options['action']}")(options)

    def _create(self, options: dict[str, Any]) -> None:
        vendor = None
        if options["vendor"]:
            vendor = Vendor.objects.filter(code=options["vendor"]).first()
            if vendor is None:
                raise CommandError(f"No vendor with code {options['vendor']!r}.")
        user = self._acting_login(vendor, options["as_email"])
        try:
            token, secret = tokens.token_create(
                name=options["name"], vendor=vendor, user=user, read_only=options["read_only"]
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        kind = f"vendor {vendor.code}" if vendor else "integration"
        access = "read-only" if token.read_only else "read-write"
        self.stderr.write(f"Token {token.name!r} ({kind}, {access}, acting as {user.email}):")
        self.stdout.write(secret)
        self.stderr.write("It is shown only now: store it in the system that will use it.")

    def _acting_login(self, vendor: Vendor | None, email: str | None) -> User:
        logins = User.objects.filter(is_active=True).order_by("date_joined", "pk")
        if email:
            user = logins.filter(email__iexact=email).first()
            if user is None:
                raise CommandError(f"No active login {email!r}.")
            return user
        if vendor is not None:
            user = logins.filter(vendor=vendor, role=Role.VENDOR_ADMIN).first()
            if user is None:
                raise CommandError(
                    f"Vendor {vendor.code} has no active vendor admin: name the login the "
                    "token acts as with --as EMAIL."
                )
            return user
        user = logins.filter(role=Role.BUYER, is_staff=True).first()
        if user is None:
            raise CommandError("There is no active administrator: name one with --as EMAIL.")
        return user

    def _list(self, options: dict[str, Any]) -> None:
        queryset = ApiToken.objects.select_related("vendor", "user").order_by("created_at")
        if options["vendor"]:
            queryset = queryset.filter(vendor__code=options["vendor"])
        for token in queryset:
            state = "revoked" if token.revoked_at else "active"
            used = (
                token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else "never"
            )
            self.stdout.write(
                f"{token.prefix}…  {token.name}  "
                f"{token.vendor.code if token.vendor else 'integration'}  "
                f"{'read-only' if token.read_only else 'read-write'}  {state}  "
                f"as {token.user.email}  last used {used}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        matches = list(ApiToken.objects.filter(prefix__startswith=options["prefix"].rstrip("…")))
        if len(matches) != 1:
            raise CommandError(
                f"{len(matches)} tokens start with {options['prefix']!r}; give exactly one."
            )
        try:
            token = tokens.token_revoke(token=matches[0])
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Revoked {token.prefix}… ({token.name}).")
