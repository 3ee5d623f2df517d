"""What a ship notice announced against what arrived under it, line by line.

One function (`differences`) that the services use to decide a notice's status and to
describe a receipt, and the screens use to show both sides the same rows. It reads
nothing: callers hand it the notice's lines and what was received against the notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ZERO = Decimal("0")

SHORT = "short"
OVER = "over"
NOT_ANNOUNCED = "not_announced"
WRONG_LINE = "wrong_line"

LABELS = {
    SHORT: "short",
    OVER: "over",
    NOT_ANNOUNCED: "not announced",
    # The goods are an item the notice announced, received on a line or delivery it did
    # not announce: the supplier labelled them for the wrong line.
    WRONG_LINE: "wrong line",
}


@dataclass(frozen=True)
class Row:
    """One delivery of the notice's order: announced on it, received against it, or both."""

    delivery: Any
    announced: Decimal
    received: Decimal
    kind: str  # "" (as announced), SHORT, OVER, NOT_ANNOUNCED, WRONG_LINE

    @property
    def difference(self) -> Decimal:
        return self.received - self.announced

    @property
    def label(self) -> str:
        return LABELS.get(self.kind, "")


def _item_key(delivery: Any) -> Any:
    line = delivery.line
    return line.item_id or line.description


def differences(
    announced: Iterable[tuple[Any, Decimal]],
    received: Mapping[int, tuple[Any, Decimal]],
    *,
    anything_received: bool,
) -> list[Row]:
    """Rows for every announced delivery and every delivery received against the notice.

    `announced` is (delivery, quantity) per notice line; `received` maps delivery id to
    (delivery, quantity received against the notice). Until anything is received, an
    announced row is simply in transit, not short.
    """
    rows: list[Row] = []
    announced_items = set()
    seen: set[int] = set()
    for delivery, quantity in announced:
        seen.add(delivery.pk)
        announced_items.add(_item_key(delivery))
        got = received.get(delivery.pk, (delivery, ZERO))[1]
        kind = ""
        if anything_received and got < quantity:
            kind = SHORT
        elif got > quantity:
            kind = OVER
        rows.append(Row(delivery, quantity, got, kind))
    for delivery_id, (delivery, got) in received.items():
        if delivery_id in seen or got == ZERO:
            continue
        kind = WRONG_LINE if _item_key(delivery) in announced_items else NOT_ANNOUNCED
        rows.append(Row(delivery, ZERO, got, kind))
    rows.sort(key=lambda row: (row.delivery.line.line_number, row.delivery.delivery_number))
    return rows


def fully_received(rows: Iterable[Row]) -> bool:
    """Every announced quantity has arrived (more, or extra lines, do not hold it open)."""
    return all(row.received >= row.announced for row in rows if row.announced)


def describe(rows: Iterable[Row], fmt: Any) -> str:
    """The differences in words: 'line 1-1 short 5 (40 of 45); line 2-1 not announced 3'."""
    words = []
    for row in rows:
        if not row.kind:
            continue
        where = f"line {row.delivery.line.line_number}-{row.delivery.delivery_number}"
        size = fmt(abs(row.difference))
        if row.announced:
            words.append(
                f"{where} {row.label} {size} ({fmt(row.received)} of {fmt(row.announced)})"
            )
        else:
            words.append(f"{where} {row.label} {size}")
    return "; ".join(words)
