"""Cursor pagination: keyset, not offset, so pages stay right while rows change.

A cursor is the position after the last row of a page, base64 of the ordering keys'
values; a malformed one is refused as invalid input.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet

from vendorportal.api.errors import ApiRefusal

M = TypeVar("M", bound=Model)
MAX_LIMIT = 200


def _encode(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, dt.datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, keys: tuple[str, ...]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError
        return [
            dt.datetime.fromisoformat(v) if key.endswith("_at") else int(v)
            for key, v in zip(keys, values, strict=True)
        ]
    except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        raise ApiRefusal(422, "invalid", "cursor: not a cursor this API gave.") from None


def page(
    queryset: QuerySet[M], *, cursor: str | None, limit: int, keys: tuple[str, ...] = ("id",)
) -> tuple[list[M], str | None]:
    """One page of `queryset` in ascending order of `keys` (the last key must be unique)."""
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
    return rows, _encode([getattr(last, key) for key in keys])
