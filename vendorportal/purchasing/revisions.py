"""Revision snapshots and change lists.

A snapshot is what the supplier sees of an order's commercial content: header terms,
lines and their schedule, with cancellations. Statuses that follow from receipts (a
delivery received in full closes) are not part of it; they are facts, not commitments.

A change list is the difference between two snapshots, as a list of JSON objects:

    {"op": "set", "target": "header", "field": "payment_terms", "old": "Net 30", "new": "Net 45"}
    {"op": "set", "target": "line", "line": 20, "field": "unit_price", "old": "4.5", "new": "4.75"}
    {"op": "set", "target": "delivery", "line": 20, "delivery": 2, "field": "due_date", ...}
    {"op": "add", "target": "line", "line": 30, "new": {...line fields...}}
    {"op": "add", "target": "delivery", "line": 30, "delivery": 1, "new": {...}}
    {"op": "document", "target": "line", "line": 10, "field": "drawing",
     "old": "X.pdf version 1", "new": "X.pdf version 2"}

A "document" change is a new version of a drawing on a line (collaboration/attachments.py):
it is no part of the snapshot (the revision keeps the previous one), so `diff_snapshots`
never makes one and `apply_changes` passes over it; `document_changes` lists them.

`apply_changes(previous, changes)` replays a list onto a snapshot; `diff_snapshots` makes
the list. Revision N's changes replay revision N-1's snapshot into revision N's.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from vendorportal.purchasing.models import (
    Delivery,
    Line,
    LineStatus,
    OrderStatus,
    PurchaseOrder,
)

Snapshot = dict[str, Any]
Change = dict[str, Any]

HEADER_FIELDS = (
    "currency",
    "payment_terms",
    "incoterms",
    "ship_to",
    "valid_from",
    "valid_to",
    "notes_to_vendor",
    "cancelled",
)
LINE_FIELDS = (
    "item",
    "description",
    "vendor_part_number",
    "unit_of_measure",
    "quantity",
    "unit_price",
    "cancelled",
)
DELIVERY_FIELDS = ("quantity", "due_date", "cancelled")

FIELD_LABELS = {
    "currency": "currency",
    "payment_terms": "payment terms",
    "incoterms": "Incoterms",
    "ship_to": "ship-to address",
    "valid_from": "agreement start",
    "valid_to": "agreement end",
    "notes_to_vendor": "notes to vendor",
    "cancelled": "cancelled",
    "item": "item",
    "description": "description",
    "vendor_part_number": "vendor part number",
    "unit_of_measure": "unit of measure",
    "quantity": "quantity",
    "unit_price": "unit price",
    "due_date": "due date",
}


def empty_snapshot() -> Snapshot:
    return {"header": {}, "lines": {}}


def canonical(value: Any) -> Any:
    """JSON-safe, comparison-safe form of a field value."""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in {"-0", ""} else text
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def line_snapshot(line: Line) -> dict[str, Any]:
    return {
        "item": line.item.part_number if line.item is not None else "",
        "description": line.description,
        "vendor_part_number": line.vendor_part_number,
        "unit_of_measure": line.unit_of_measure,
        "quantity": canonical(line.quantity),
        "unit_price": canonical(line.unit_price),
        "cancelled": line.status == LineStatus.CANCELLED,
    }


def delivery_snapshot(delivery: Delivery) -> dict[str, Any]:
    return {
        "quantity": canonical(delivery.quantity),
        "due_date": canonical(delivery.due_date),
        "cancelled": delivery.status == LineStatus.CANCELLED,
    }


def order_snapshot(order: PurchaseOrder) -> Snapshot:
    """The supplier-visible commercial content of `order` as it is in the database now."""
    lines = list(order.lines.select_related("item").order_by("line_number"))
    by_id: dict[int, list[Delivery]] = {line.pk: [] for line in lines}
    for delivery in Delivery.objects.filter(order=order):
        by_id[delivery.line_id].append(delivery)
    return snapshot_of(order, [(line, by_id[line.pk]) for line in lines])


def snapshot_of(order: PurchaseOrder, lines: Iterable[tuple[Line, Iterable[Delivery]]]) -> Snapshot:
    """The snapshot of `order` with these lines and deliveries: the services' editor holds
    them in memory after saving, so a revision costs no re-read of the order."""
    header = {
        "currency": order.currency,
        "payment_terms": order.payment_terms,
        "incoterms": order.incoterms,
        "ship_to": order.ship_to,
        "valid_from": canonical(order.valid_from),
        "valid_to": canonical(order.valid_to),
        "notes_to_vendor": order.notes_to_vendor,
        "cancelled": order.status == OrderStatus.CANCELLED,
    }
    entries: dict[str, Any] = {}
    for line, deliveries in lines:
        entry = line_snapshot(line)
        entry["deliveries"] = {
            str(delivery.delivery_number): delivery_snapshot(delivery) for delivery in deliveries
        }
        entries[str(line.line_number)] = entry
    return {"header": header, "lines": entries}


def diff_snapshots(old: Snapshot, new: Snapshot) -> list[Change]:
    changes: list[Change] = []
    old_header, new_header = old.get("header", {}), new["header"]
    for field in HEADER_FIELDS:
        if field not in old_header or old_header[field] != new_header.get(field):
            changes.append(
                {
                    "op": "set",
                    "target": "header",
                    "field": field,
                    "old": old_header.get(field),
                    "new": new_header.get(field),
                }
            )
    old_lines = old.get("lines", {})
    for line_key in sorted(new["lines"], key=int):
        new_line = new["lines"][line_key]
        line_no = int(line_key)
        old_line = old_lines.get(line_key)
        if old_line is None:
            changes.append(
                {
                    "op": "add",
                    "target": "line",
                    "line": line_no,
                    "new": {f: new_line[f] for f in LINE_FIELDS},
                }
            )
            old_deliveries: dict[str, Any] = {}
        else:
            for field in LINE_FIELDS:
                if old_line[field] != new_line[field]:
                    changes.append(
                        {
                            "op": "set",
                            "target": "line",
                            "line": line_no,
                            "field": field,
                            "old": old_line[field],
                            "new": new_line[field],
                        }
                    )
            old_deliveries = old_line["deliveries"]
        for delivery_key in sorted(new_line["deliveries"], key=int):
            new_delivery = new_line["deliveries"][delivery_key]
            old_delivery = old_deliveries.get(delivery_key)
            if old_delivery is None:
                changes.append(
                    {
                        "op": "add",
                        "target": "delivery",
                        "line": line_no,
                        "delivery": int(delivery_key),
                        "new": dict(new_delivery),
                    }
                )
                continue
            for field in DELIVERY_FIELDS:
                if old_delivery[field] != new_delivery[field]:
                    changes.append(
                        {
                            "op": "set",
                            "target": "delivery",
                            "line": line_no,
                            "delivery": int(delivery_key),
                            "field": field,
                            "old": old_delivery[field],
                            "new": new_delivery[field],
                        }
                    )
    # Lines and deliveries are never deleted once issued (they are cancelled), so a key
    # present in `old` but missing in `new` means the two snapshots are of different orders.
    for line_key, old_line in old_lines.items():
        if line_key not in new["lines"] or any(
            key not in new["lines"][line_key]["deliveries"] for key in old_line["deliveries"]
        ):
            raise ValueError("A line or delivery disappeared between two revisions.")
    return changes


def apply_changes(previous: Snapshot, changes: list[Change]) -> Snapshot:
    """Replay `changes` onto `previous`; raises ValueError if an `old` value disagrees."""
    result = copy.deepcopy(previous)
    result.setdefault("header", {})
    result.setdefault("lines", {})
    for change in changes:
        op, target = change["op"], change["target"]
        if op == "document":
            continue
        if target == "header":
            if result["header"].get(change["field"]) != change["old"]:
                raise ValueError(f"header {change['field']} was not {change['old']!r}")
            result["header"][change["field"]] = change["new"]
            continue
        line_key = str(change["line"])
        if target == "line" and op == "add":
            if line_key in result["lines"]:
                raise ValueError(f"line {line_key} already exists")
            result["lines"][line_key] = {**change["new"], "deliveries": {}}
            continue
        line = result["lines"][line_key]
        if target == "line":
            if line[change["field"]] != change["old"]:
                raise ValueError(f"line {line_key} {change['field']} was not {change['old']!r}")
            line[change["field"]] = change["new"]
            continue
        delivery_key = str(change["delivery"])
        if op == "add":
            if delivery_key in line["deliveries"]:
                raise ValueError(f"delivery {line_key}-{delivery_key} already exists")
            line["deliveries"][delivery_key] = dict(change["new"])
            continue
        delivery = line["deliveries"][delivery_key]
        if delivery[change["field"]] != change["old"]:
            raise ValueError(
                f"delivery {line_key}-{delivery_key} {change['field']} was not {change['old']!r}"
            )
        delivery[change["field"]] = change["new"]
    return result


def document_changes(changes: list[Change]) -> list[Change]:
    """The documents (drawing versions) a revision's change list names."""
    return [c for c in changes if c.get("op") == "document"]


def visible_changes(changes: list[Change]) -> list[Change]:
    """The changes worth telling a person: revision 1 also records header fields going
    from nothing to empty (needed to replay it), which say nothing."""
    return [
        c
        for c in changes
        if not (c["op"] == "set" and c["old"] is None and c["new"] in (None, "", False))
    ]


DATE_FIELDS = {"due_date", "valid_from", "valid_to"}


def _shown(value: Any, field: str = "") -> str:
    if value is None or value == "":
        return "(none)"
    if field in DATE_FIELDS and isinstance(value, str):
        day = dt.date.fromisoformat(value)
        return f"{day.day} {day:%b %Y}"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def describe_change(change: Change) -> str:
    """One change in words, for the timeline and revision history."""
    target = change["target"]
    if target == "header":
        where = "Order"
    elif target == "line":
        where = f"Line {change['line']}"
    else:
        where = f"Line {change['line']} delivery {change['delivery']}"
    if change["op"] == "add":
        new = change["new"]
        if target == "line":
            return (
                f"{where} added: {new['quantity']} {new['unit_of_measure']} of "
                f"{new['description']} at {new['unit_price']}"
            )
        return f"{where} added: {new['quantity']} due {_shown(new['due_date'], 'due_date')}"
    field = change["field"]
    if field == "cancelled" and change["new"] is True:
        return f"{where} cancelled"
    label = FIELD_LABELS.get(field, field)
    old, new = _shown(change["old"], field), _shown(change["new"], field)
    return f"{where} {label}: {old} → {new}"
