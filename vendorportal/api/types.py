"""Input types of the API: exactly what the schema says, nothing pydantic would coerce.

Pydantic's lax mode reads `"1"` and `true` as the integer 1, `0` and `"0.5"` as dates and
times (seconds since 1970), and Arabic-Indic digits as numbers. Each was accepted by the API
although its schema said otherwise (found by schemathesis and a probe). These types keep the
schema and the behaviour one: JSON integers for integers, JSON booleans for flags, ISO
8601 strings for dates and times, plain ASCII decimals (as JSON numbers or strings) for
quantities and prices. The ranges themselves are the services' rules
(purchasing/rules.py), the same for every entrance.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, StrictBool

from vendorportal.purchasing.rules import NUMBER

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})?"
)


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and ISO_DATETIME.fullmatch(value):
        return value
    raise ValueError("must be a date and time in ISO 8601, e.g. 2026-12-01T08:00:00Z")


def _whole(value: Any) -> Any:
    # JSON Schema counts 3.0 as an integer, so it is one; true and "3" are not.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


def _plain_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, str) and NUMBER.fullmatch(value.strip()):
        return value.strip()
    raise ValueError("must be a number written with the digits 0-9")


# A JSON integer (not a string, not a boolean); a JSON boolean (not 0 or "yes").
Whole = Annotated[int, BeforeValidator(_whole)]
Flag = StrictBool
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_datetime)]
PlainDecimal = Annotated[Decimal, BeforeValidator(_plain_decimal)]
