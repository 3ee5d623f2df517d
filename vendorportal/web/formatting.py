"""How numbers and dates look on every screen and export: one place, so a quantity reads
the same in the open-lines table, the order page and the CSV."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel.numbers import get_currency_precision
from django.utils import timezone

MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def plain(value: Decimal) -> str:
    """A decimal as a spreadsheet or a form's number input reads it: no trailing zeros,
    no thousands separator (100.0000 → '100', 2.5000 → '2.5')."""
    return format(value.normalize(), "f")


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


# Prices are stored with 4 decimal places: no price has more to show.
STORED_PLACES = 4


@lru_cache(maxsize=64)
def currency_places(currency: str | None) -> int:
    """The currency's minor units in ISO 4217 (CLDR's data, through babel): JPY 0, USD 2,
    KWD 3; 2 for a code it does not know (and for no code at all)."""
    code = (currency or "").strip().upper()
    return min(get_currency_precision(code), STORED_PLACES) if code else 2


def money(value: Decimal | None, currency: str | None) -> str:
    """A price or amount to its currency's places (1,200 JPY, 2.50 USD, 1.250 KWD),
    keeping the further places a price has (up to the 4 stored): 0.1234 USD."""
    if value is None:
        return ""
    places = currency_places(currency)
    if value == round(value, places):  # the common case
        return f"{value:,.{places}f}"
    exponent = value.normalize().as_tuple().exponent
    shown = max(places, -exponent) if isinstance(exponent, int) else places
    return f"{value:,.{min(shown, STORED_PLACES)}f}"


def date(value: dt.date | dt.datetime | None) -> str:
    """'12 Dec 2026'; a datetime in local time with its hour."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value)
        return f"{value.day} {MONTHS[value.month]} {value.year} {value:%H:%M}"
    return f"{value.day} {MONTHS[value.month]} {value.year}"


def file_size(size: int | None) -> str:
    """A file's size as people read it: '812 bytes', '34 KB', '1.2 MB' (1 KB = 1024 bytes)."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} byte{'' if size == 1 else 's'}"
    for unit in ("KB", "MB", "GB"):
        size_in = size / 1024
        if size_in < 1024 or unit == "GB":
            return f"{size_in:.0f} {unit}" if size_in >= 10 else f"{size_in:.1f} {unit}"
        size = int(size_in)
    return ""  # pragma: no cover


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
    "applied": "ok",
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
    # Ship notices, and the differences between what they announced and what arrived.
    "submitted": "info",
    "partially_received": "warn",
    "received": "ok",
    "short": "bad",
    "over": "warn",
    "not_announced": "warn",
    "wrong_line": "bad",
}


def status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, "")


FILTERS: dict[str, Any] = {"qty": quantity, "money": money, "date": date}
