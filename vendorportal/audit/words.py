"""An audit entry's changes in words: "Line 10 delivery 1 due date: 8 Dec 2026 → 11 Dec
2026", as the revision pages say them, with the product's one style for dates, quantities
and prices. Changes are stored as `field → [old, new]`, the field named as a path into the
order ("line 10.delivery 1.due_date") or plainly ("role"). Prices are in the currency of
the entry's order or invoice, to its places (audit/views.py finds it)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from vendorportal.purchasing import revisions
from vendorportal.web.formatting import date, money, quantity

PATH = re.compile(r"(?:line (?P<line>\d+)\.)?(?:delivery (?P<delivery>\d+)\.)?(?P<field>\w+)")
LABELS = {
    **revisions.FIELD_LABELS,
    "promised_date": "promised date",
    "received_quantity": "received quantity",
    "is_active": "active",
    "mfa_required": "two-factor required",
}
DATES = {"due_date", "promised_date", "valid_from", "valid_to", "order_date", "invoice_date"}
QUANTITIES = {"quantity", "received_quantity", "invoiced_quantity"}
PRICES = {"unit_price", "standard_cost", "amount", "total_amount", "paid_amount"}


def field_of(key: str) -> str:
    """The field a change's key names: "line 10.unit_price" → "unit_price"."""
    match = PATH.fullmatch(key)
    return match["field"] if match else key


def shown(value: Any, field: str, currency: str | None = None) -> str:
    if value is None or value == "":
        return "—"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if field in DATES and isinstance(value, str):
        try:
            return date(dt.date.fromisoformat(value[:10]))
        except ValueError:
            return value
    if field in QUANTITIES | PRICES and isinstance(value, str | int | float):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return str(value)
        return quantity(number) if field in QUANTITIES else money(number, currency)
    if isinstance(value, list):
        return ", ".join(shown(v, field, currency) for v in value) or "—"
    return str(value)


def change_in_words(key: str, pair: Any, currency: str | None = None) -> str:
    old, new = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
    match = PATH.fullmatch(key)
    if match is None:
        return f"{key}: {shown(old, key, currency)} → {shown(new, key, currency)}"
    field = match["field"]
    where = (
        f"Line {match['line']} delivery {match['delivery']} "
        if match["delivery"]
        else f"Line {match['line']} "
        if match["line"]
        else ""
    )
    label = LABELS.get(field, field.replace("_", " "))
    what = f"{where}{label}" if where else label[:1].upper() + label[1:]
    return f"{what}: {shown(old, field, currency)} → {shown(new, field, currency)}"


def changes_in_words(changes: dict[str, Any], currency: str | None = None) -> list[str]:
    """`currency`: of the order or invoice the entry is about (None: not known, 2 places)."""
    return [change_in_words(key, pair, currency) for key, pair in changes.items()]
