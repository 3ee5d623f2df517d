"""How numbers and dates look on every screen and export: one place, so a quantity reads
the same in the open-lines table, the order page and the CSV."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def quantity(value: Decimal | None) -> str:
    """1234.5000 → '1,234.5'; whole numbers without decimals."""
    if value is None:
        return ""
    whole = int(value)
    if whole == value:  # the common case, and much cheaper than normalize()
        return f"{whole:,}"
    normal = value.normalize()
    if normal == normal.to_integral_value():
        return f"{normal:,.0f}"
    return f"{normal:,f}"


def money(value: Decimal | None, places: int = 2) -> str:
    """Prices keep up to 4 places when they have them; amounts show cents."""
    if value is None:
        return ""
    if value == round(value, places):  # the common case
        return f"{value:,.{places}f}"
    exponent = value.normalize().as_tuple().exponent
    shown = max(places, -exponent) if isinstance(exponent, int) else places
    return f"{value:,.{min(shown, 4)}f}"


def date(value: dt.date | dt.datetime | None) -> str:
    """'12 Dec 2026'; a datetime in local time with its hour."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value)
        return f"{value.day} {MONTHS[value.month]} {value.year} {value:%H:%M}"
    return f"{value.day} {MONTHS[value.month]} {value.year}"


def days_late(value: dt.date | None, today: dt.date | None = None) -> int:
    if value is None:
        return 0
    return max(((today or timezone.localdate()) - value).days, 0)


# The badge colour (a CSS class) of each status value, on every screen.
STATUS_BADGES = {
    "open": "info",
    "issued": "info",
    "closed": "ok",
    "paid": "ok",
    "matched": "ok",
    "accepted": "ok",
    "partially_paid": "warn",
    "pending": "warn",
    "accepted_with_changes": "warn",
    "draft": "",
    "disputed": "bad",
    "rejected": "bad",
    "cancelled": "",
    "void": "",
    "withdrawn": "",
    "quantity_exception": "bad",
    "price_variance": "bad",
    "quantity_and_price": "bad",
}


def status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, "")


FILTERS: dict[str, Any] = {"qty": quantity, "money": money, "date": date}
