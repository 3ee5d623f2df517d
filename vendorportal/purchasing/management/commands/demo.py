"""`vendorportal demo`: load realistic demo data once and print the demo logins."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vendorportal.purchasing import demo


class Command(BaseCommand):
    help = (
        "Load realistic demo data (suppliers, items, four months of orders, receipts and "
        "invoices) and print the demo logins. Safe to run again: a second run creates "
        "nothing (with --password it only resets the demo logins' passwords)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            help=f"password for every demo login (default: {demo.DEFAULT_PASSWORD})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password: str | None = options.get("password")
        started = time.monotonic()
        try:
            result = demo.load(password=password)
        except demo.DemoError as exc:
            raise CommandError(str(exc)) from exc
        seconds = time.monotonic() - started
        if result.created:
            self.stdout.write(self.style.SUCCESS(f"Demo data loaded in {seconds:.1f} s."))
        else:
            self.stdout.write("Demo data is already loaded; nothing was created.")
            if result.passwords_set:
                self.stdout.write(self.style.SUCCESS("Passwords of the demo logins were reset."))
        self.stdout.write("")
        self.stdout.write(self.login_table(result.logins))
        self.stdout.write("")
        self.stdout.write(self.two_factor_note())
        self.stdout.write("")
        self.stdout.write(self.summary(result.counts))

    @staticmethod
    def login_table(rows: list[demo.LoginRow]) -> str:
        header = ("E-mail", "Name", "Role", "Vendor", "Password")
        table = [header, *((r.email, r.name, r.role, r.vendor or "-", r.password) for r in rows)]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            for row in table
        ]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join(line.rstrip() for line in lines)

    @staticmethod
    def two_factor_note() -> str:
        """Buyers log in with a code from an authenticator app after the password."""
        try:
            code = demo.current_code(demo.MAIN_BUYER_EMAIL)
        except demo.DemoError:  # pragma: no cover - the buyer's authenticator was removed
            code = "(run `vendorportal demo-code`)"
        return (
            "Buyers use two-factor authentication: after the password, enter the code of an "
            f"authenticator app set up with the secret {demo.DEMO_TOTP_SECRET}.\n"
            f"The code right now is {code}; `vendorportal demo-code [EMAIL]` prints the "
            "current one (a code lasts 30 seconds)."
        )

    @staticmethod
    def summary(counts: dict[str, int]) -> str:
        statuses = ", ".join(
            f"{counts[f'orders {name}']} {name}"
            for name in ("draft", "issued", "closed", "cancelled")
        )
        return (
            f"{counts['vendors']} vendors, {counts['items']} items, {counts['buyers']} buyers, "
            f"{counts['orders']} orders ({statuses}; {counts['blanket orders']} blanket), "
            f"{counts['deliveries']} deliveries, {counts['receipts']} receipts, "
            f"{counts['returns']} returns, {counts['invoices']} invoices, "
            f"{counts['payments']} payments, {counts['revisions']} revisions, "
            f"{counts['events']} events."
        )
