"""`vendorportal seats [--month YYYY-MM]`: portal seats per vendor and their charge."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from vendorportal.accounts import selectors


class Command(BaseCommand):
    help = (
        "Print, per vendor, the logins active on any day of the month and the charge "
        "(PORTAL_SEAT_PRICE per login), with the total. Buyers are not seats."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--month", metavar="YYYY-MM", help="the month to report (default: this month)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        text: str = options["month"] or f"{timezone.localdate():%Y-%m}"
        try:
            month = selectors.parse_month(text)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        report = selectors.seat_report(month)
        out = self.stdout
        out.write(f"Portal seats in {report.label} at {report.price:.2f} per login")
        out.write("")
        if not report.vendors:
            out.write("No vendor login was active in this month.")
        for vendor in report.vendors:
            plural = "" if vendor.seats == 1 else "s"
            out.write(f"{vendor.code} {vendor.name}: {vendor.seats} login{plural}, {vendor.charge}")
            for login in vendor.logins:
                spans = ", ".join(f"{start:%m-%d} to {end:%m-%d}" for start, end in login.spans)
                out.write(f"  {login.email}  ({spans})")
        out.write("")
        plural = "" if report.seats == 1 else "s"
        out.write(self.style.SUCCESS(f"Total: {report.seats} login{plural}, {report.total}"))
