"""Input types of the API: the schema states each field's rule exactly, and the API enforces
exactly what the schema states.

Two promises, both checked by schemathesis (`make api-fuzz`):

- nothing the schema forbids is accepted (pydantic's lax mode read `"1"` and `true` as the
  integer 1, `0` as a date, Arabic-Indic digits as a number);
- nothing the schema allows is refused for the field's own sake: the field rules of
  `purchasing/rules.py` (identifiers, text without control characters, quantities with at
  most 4 places under 10^12, dates within the window of today) are written into the schema
  as patterns and bounds, and each type below checks its value with that same rule, so the
  screens, sync, import and the API refuse the same values with the same words.

What a schema cannot state (a standard line's deliveries add up to its quantity, an invoice
is not due before it is dated, the order must be issued) is the services' business; those
refusals answer 400 with the field and the reason (see `errors.py`), while a value that
breaks its schema answers 422.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, GetCoreSchemaHandler, GetJsonSchemaHandler, StrictBool
from pydantic_core import PydanticCustomError, core_schema

from vendorportal.errors import DomainError
from vendorportal.purchasing import rules

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})?"
)

# What Python's str.strip() removes (the services trim text with it): a required text must
# have one character besides these.
SPACE = (
    "\\t\\n\\u000b\\u000c\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a"
    "\\u2028\\u2029\\u202f\\u205f\\u3000"
)
# rules.CONTROL. (Unpaired surrogates are no characters at all; request_guard refuses them
# in any JSON body, as it cannot be stored, before a schema is read.)
UNSTORABLE = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f"


def refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid", message)


class Rule:
    """A pydantic marker: the value's own type, then `check`, and `json_schema` as the
    schema (instead of pydantic's rendering, which drops bounds inside `X | None`)."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self._validate)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return self.json_schema()

    def _validate(self, value: Any) -> Any:
        try:
            return self.check(value)
        except DomainError as error:
            raise refuse(error.message) from None

    def check(self, value: Any) -> Any:  # pragma: no cover - every rule overrides it
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class TextRule(Rule):
    """Free text: a JSON string within `max_length`, without control characters; if
    `required`, with something besides spaces."""

    max_length: int
    required: bool = False

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise refuse("must be a string")
        if len(value) > self.max_length:
            raise refuse(f"has at most {self.max_length:,} characters")
        if re.search(f"[{UNSTORABLE}]", value):
            raise refuse("contains a control character (such as NUL); remove it")
        if self.required and not value.strip():
            raise refuse("is required")
        return value

    def json_schema(self) -> dict[str, Any]:
        pattern = (
            f"^[^{UNSTORABLE}]*[^{UNSTORABLE}{SPACE}][^{UNSTORABLE}]*$"
            if self.required
            else f"^[^{UNSTORABLE}]*$"
        )
        schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length}
        if self.required:
            schema["minLength"] = 1
        return {**schema, "pattern": pattern}


@dataclass(frozen=True)
class IdentifierRule(Rule):
    """An order number, vendor code or the like: rules.IDENTIFIER."""

    max_length: int = rules.IDENTIFIER_MAX

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise refuse("must be a string")
        if len(value) > self.max_length or not rules.IDENTIFIER.fullmatch(value):
            raise refuse(
                f"may only have {rules.IDENTIFIER_HELP}, at most {self.max_length} characters"
            )
        return value

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": self.max_length,
            "pattern": f"^{rules.IDENTIFIER.pattern}$",
        }


@dataclass(frozen=True)
class CurrencyRule(Rule):
    """A three-letter currency code (ISO 4217), in either case: the services upper it."""

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not re.fullmatch("[A-Za-z]{3}", value):
            raise refuse("must be a three-letter currency code such as USD")
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^[A-Za-z]{3}$"}


@dataclass(frozen=True)
class WholeRule(Rule):
    """A JSON integer (3.0 is one, as JSON Schema counts; true and "3" are not)."""

    minimum: int | None = None
    maximum: int | None = None

    def check(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise refuse("must be a JSON integer")
        if isinstance(value, float):
            if not value.is_integer():
                raise refuse("must be a whole number")
            value = int(value)
        if self.minimum is not None and value < self.minimum:
            raise refuse(f"must be at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise refuse(f"must be at most {self.maximum}")
        return value

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema


@dataclass(frozen=True)
class DecimalRule(Rule):
    """A quantity, price or amount (rules.decimal): a JSON number, or a string of ASCII
    digits, with at most `places` decimals, under 10^12."""

    positive: bool
    places: int = rules.QUANTITY_PLACES

    def check(self, value: Any) -> Decimal:
        if isinstance(value, bool):
            raise refuse("must be a number")
        if isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise refuse("must be a number")
            # The number as the client wrote it (repr is the shortest text that reads back
            # as the same float), as JSON Schema validators read `multipleOf`: 0.0003 has 4
            # places, 0.30000000000000004 has 17. -0.0 stays signed: rules.decimal refuses it.
            number = Decimal(repr(value))
        elif isinstance(value, str):
            if not re.fullmatch(self.string_pattern(), value):
                raise refuse(
                    f"must be a number written with the digits 0-9, at most {self.places} "
                    "decimal places, e.g. 12.5"
                )
            number = Decimal(value)
        else:
            raise refuse("must be a number")
        return rules.decimal(
            number, field="", label="The number", positive=self.positive, places=self.places
        )

    def string_pattern(self) -> str:
        fraction = f"(?:\\.[0-9]{{1,{self.places}}})?"
        if not self.positive:
            return f"^0*[0-9]{{1,12}}{fraction}$"
        # Not all zeros: a non-zero digit in the whole part, or in the fraction.
        nonzero_fraction = "|".join(
            f"0{{{zeros}}}[1-9][0-9]{{0,{self.places - zeros - 1}}}" for zeros in range(self.places)
        )
        return f"^(?:0*[1-9][0-9]{{0,11}}{fraction}|0+\\.(?:{nonzero_fraction}))$"

    def json_schema(self) -> dict[str, Any]:
        bound = {"exclusiveMinimum": 0} if self.positive else {"minimum": 0}
        return {
            "anyOf": [
                {
                    "type": "number",
                    **bound,
                    "exclusiveMaximum": int(rules.NUMBER_LIMIT),
                    "multipleOf": float(Decimal(1).scaleb(-self.places)),
                },
                {"type": "string", "pattern": self.string_pattern()},
            ]
        }


@dataclass(frozen=True)
class DateRule(Rule):
    """A date written YYYY-MM-DD; with `window`, within rules.date_window() of today (due
    dates, proposals, validity). The windowed schema is a pattern of exactly the days in
    the window, made when the schema is read, so a client's own validator knows the rule."""

    window: bool = False

    def check(self, value: Any) -> dt.date:
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
            raise refuse("must be a date written YYYY-MM-DD")
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise refuse("must be a date written YYYY-MM-DD") from None
        if self.window:
            return rules.date(day, field="", label="The date")
        return day

    def json_schema(self) -> dict[str, Any]:
        if not self.window:
            return {"type": "string", "format": "date"}
        first, last = rules.date_window()
        return {
            "type": "string",
            "pattern": days_pattern(first, last),
            "description": f"A date from {first.isoformat()} to {last.isoformat()} "
            f"({rules.PAST_YEARS} years back, {rules.FUTURE_YEARS} ahead of today).",
        }


def days_pattern(first: dt.date, last: dt.date) -> str:
    """A regular expression matching exactly the dates first..last, written YYYY-MM-DD."""

    def two(numbers: range) -> str:
        return "(?:" + "|".join(f"{n:02d}" for n in numbers) + ")"

    def days_in(year: int, month: int) -> int:
        following = dt.date(year + (month == 12), month % 12 + 1, 1)
        return (following - dt.timedelta(days=1)).day

    def span(year: int, start: dt.date, end: dt.date) -> str:
        """The days start..end of one year, a month at a time."""
        months = []
        for month in range(start.month, end.month + 1):
            low = start.day if month == start.month else 1
            high = end.day if month == end.month else days_in(year, month)
            months.append(f"{month:02d}-{two(range(low, high + 1))}")
        return f"{year:04d}-(?:{'|'.join(months)})"

    parts = [span(first.year, first, min(last, dt.date(first.year, 12, 31)))]
    if last.year > first.year:
        whole = range(first.year + 1, last.year)
        if whole:
            years = "|".join(f"{y:04d}" for y in whole)
            leap = "|".join(f"{y:04d}" for y in whole if days_in(y, 2) == 29)
            parts.append(
                f"(?:{years})-(?:(?:01|03|05|07|08|10|12)-(?:0[1-9]|[12][0-9]|3[01])"
                "|(?:04|06|09|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
            )
            if leap:
                parts.append(f"(?:{leap})-02-29")
        parts.append(span(last.year, dt.date(last.year, 1, 1), last))
    return f"^(?:{'|'.join(parts)})$"


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and ISO_DATETIME.fullmatch(value):
        return value
    raise ValueError("must be a date and time in ISO 8601, e.g. 2026-12-01T08:00:00Z")


Flag = StrictBool  # a JSON boolean, not 0 or "yes"
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_datetime)]

Whole = Annotated[int, WholeRule()]
Positive = Annotated[int, WholeRule(minimum=1)]  # line, delivery and revision numbers
IsoDate = Annotated[dt.date, DateRule()]
DueDate = Annotated[dt.date, DateRule(window=True)]
Quantity = Annotated[Decimal, DecimalRule(positive=True)]
Price = Annotated[Decimal, DecimalRule(positive=False)]
Amount = Annotated[Decimal, DecimalRule(positive=True, places=2)]
Identifier = Annotated[str, IdentifierRule()]
Currency = Annotated[str, CurrencyRule()]
