"""Cursor pagination: keyset, not offset, so pages stay right while rows change.

A cursor is the position after the last row of a page: the ordering keys' values, written
plainly (`<id>`, or `<updated_at in microseconds since 1970>-<id>` for orders). Clients
treat it as opaque; it is not a secret, because every page is scoped to the caller anyway.
Every string of the cursor's pattern is a position (perhaps past the end: an empty page),
so a cursor the schema allows is never refused.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any

from django.db.models import Q, QuerySet

from vendorportal.api.types import Rule, refuse

MAX_LIMIT = 200
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# A key's value in a cursor: up to 18 digits (ids fit bigint; microseconds reach 33658).
KEY = "[0-9]{1,18}"
TIME_LIMIT = (dt.datetime.max.replace(tzinfo=dt.UTC) - EPOCH) // dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class CursorRule(Rule):
    keys: int

    def pattern(self) -> str:
        return "^" + "-".join([KEY] * self.keys) + "$"

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not re.fullmatch(self.pattern(), value):
            raise refuse("is not a cursor: pass a next_cursor this API gave")
        return value

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "string",
            "pattern": self.pattern(),
            "description": "The next_cursor of the previous page.",
        }


IdCursor = Annotated[str, CursorRule(keys=1)]
ChangeCursor = Annotated[str, CursorRule(keys=2)]  # ("updated_at", "id")


def _encode(values: list[Any]) -> str:
    return "-".join(
        str((v - EPOCH) // dt.timedelta(microseconds=1)) if isinstance(v, dt.datetime) else str(v)
        for v in values
    )


def _decode(cursor: str, keys: tuple[str, ...]) -> list[Any]:
    values: list[Any] = []
    for key, raw in zip(keys, cursor.split("-"), strict=True):
        number = int(raw)
        if key.endswith("_at"):
            # Past the last time there is: a position after every row.
            values.append(EPOCH + dt.timedelta(microseconds=min(number, TIME_LIMIT)))
        else:
            values.append(number)
    return values


def page(
    queryset: QuerySet[Any, Any],
    *,
    cursor: str | None,
    limit: int,
    keys: tuple[str, ...] = ("id",),
) -> tuple[list[Any], str | None]:
    """One page of `queryset` in ascending order of `keys` (the last key must be unique):
    its model instances, or its dicts for a `.values()` queryset (which must hold the
    keys)."""
    if cursor:
        values = _decode(cursor, keys)
        # (k1, k2) > (v1, v2)  ==  k1 > v1  OR  (k1 = v1 AND k2 > v2)
        condition = Q()
        for index, key in enumerate(keys):
            equal = dict(zip(keys[:index], values[:index], strict=True))
            condition |= Q(**equal, **{f"{key}__gt": values[index]})
        queryset = queryset.filter(condition)
    rows = list(queryset.order_by(*keys)[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    if isinstance(last, dict):
        return rows, _encode([last[key] for key in keys])
    return rows, _encode([getattr(last, key) for key in keys])
