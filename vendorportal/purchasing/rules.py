"""One rule per kind of field, for every entrance: forms, the API, ERP sync, import, the
back office. Each check returns the clean value or raises `DomainError` naming the field
and the reason, before anything is written.

The services call these; forms and the API hand their input to the services, and the back
office's model forms use the same rules as field validators (`validate_identifier`), so a
value refused on one entrance is refused on all of them.

- **Identifiers** (order, vendor, receipt and invoice numbers, vendor codes, part numbers):
  ASCII letters and digits, with `-`, `_` and `.` between them. They become parts of page
  addresses (`/buying/orders/<number>/`), file names and spreadsheet cells, so `/`, `..`,
  spaces, `?`, `#` and `%` would break links or mean something else; ERP numbering schemes
  ("4500012345", "PO-2026-0042", "ACME_01.A") fit the rule.
- **Text** (names, comments, reasons, addresses): no NUL and no other control characters
  except line breaks and tabs. PostgreSQL refuses NUL in text, and the others are invisible
  on screen yet reach e-mails and spreadsheets.
- **Quantities and prices**: plain decimal numbers in ASCII digits, at most 4 decimal places,
  under 10^12; no sign on zero ("-0" is a typo, not a price).
- **Dates** for deliveries, proposals and blanket validity: within `PAST_YEARS` before and
  `FUTURE_YEARS` after today. An ERP sends open orders that were due a while ago (still open,
  still owed), and frame agreements run for years; a due date in year 1 or 9999 is a
  placeholder or a typo, and one that would put a delivery out of every list and schedule.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from vendorportal.errors import DomainError

IDENTIFIER_MAX = 32
IDENTIFIER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
IDENTIFIER_HELP = "letters, digits and - _ . between them (no spaces or slashes)"

# Control characters a person cannot see or type into a form; line breaks and tabs stay.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

PAST_YEARS = 5
FUTURE_YEARS = 10
QUANTITY_PLACES = 4
NUMBER_LIMIT = Decimal(10) ** 12


def identifier(
    value: Any, *, field: str, label: str, max_length: int = IDENTIFIER_MAX, required: bool = True
) -> str:
    """A number or code that may appear in a page address: see the module's rule."""
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise DomainError(f"{label} is required.", field=field)
        return ""
    if len(text) > max_length:
        raise DomainError(f"{label} has at most {max_length} characters.", field=field)
    if not IDENTIFIER.fullmatch(text):
        raise DomainError(f"{label} {text!r} may only have {IDENTIFIER_HELP}.", field=field)
    return text


def validate_identifier(value: str) -> None:
    """The identifier rule as a Django validator, for the back office's model forms."""
    if value and not IDENTIFIER.fullmatch(value):
        raise ValidationError(f"May only have {IDENTIFIER_HELP}.", code="invalid")


def text(value: Any, *, field: str, label: str, max_length: int, required: bool = False) -> str:
    """Free text: trimmed, within its length, without invisible control characters."""
    cleaned = "" if value is None else str(value).strip()
    if required and not cleaned:
        raise DomainError(f"{label} is required.", field=field)
    if len(cleaned) > max_length:
        raise DomainError(f"{label} is longer than {max_length} characters.", field=field)
    if CONTROL.search(cleaned):
        raise DomainError(
            f"{label} contains a control character (such as NUL); remove it.", field=field
        )
    return cleaned


def validate_text(value: str) -> None:
    """The text rule as a Django validator, for the back office's model forms."""
    if value and CONTROL.search(value):
        raise ValidationError("Contains a control character (such as NUL).", code="invalid")


def decimal(
    value: Any, *, field: str, label: str, positive: bool, places: int = QUANTITY_PLACES
) -> Decimal:
    """A quantity or price: ASCII digits, finite, not negative, within range and places."""
    if isinstance(value, bool):
        raise DomainError(f"{label} must be a number.", field=field)
    if isinstance(value, Decimal):
        number = value
    else:
        raw = str(value).strip()
        # Decimal() also reads Arabic-Indic and other digits, and "Infinity": not here.
        if not NUMBER.fullmatch(raw):
            raise DomainError(f"{label} must be a number.", field=field)
        try:
            number = Decimal(raw)
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
            raise DomainError(f"{label} must be a number.", field=field) from exc
    if not number.is_finite():
        raise DomainError(f"{label} must be a number.", field=field)
    if number.is_signed() and number.is_zero():
        raise DomainError(f"{label} must not be negative.", field=field)
    if positive and number <= 0:
        raise DomainError(f"{label} must be greater than zero.", field=field)
    if not positive and number < 0:
        raise DomainError(f"{label} must not be negative.", field=field)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        raise DomainError(f"{label} can have at most {places} decimal places.", field=field)
    if abs(number) >= NUMBER_LIMIT:
        raise DomainError(f"{label} is too large.", field=field)
    return number


def date_window(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The first and last date a delivery, proposal or validity may fall on."""
    today = today or timezone.localdate()
    return _years_from(today, -PAST_YEARS), _years_from(today, FUTURE_YEARS)


def date(value: Any, *, field: str, label: str) -> dt.date:
    """A calendar date (YYYY-MM-DD) within the window of `date_window`."""
    if isinstance(value, dt.datetime):
        raise DomainError(f"{label} must be a date, not a time.", field=field)
    if isinstance(value, dt.date):
        day = value
    else:
        raw = str(value).strip()
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            raise DomainError(f"{label} must be a date (YYYY-MM-DD).", field=field)
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError as exc:
            raise DomainError(f"{label} must be a date (YYYY-MM-DD).", field=field) from exc
    first, last = date_window()
    if not first <= day <= last:
        raise DomainError(
            f"{label} must be between {first.isoformat()} and {last.isoformat()} "
            f"({PAST_YEARS} years back, {FUTURE_YEARS} ahead).",
            field=field,
        )
    return day


def _years_from(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a year without one
        return day.replace(year=day.year + years, day=28)
