"""`vendorportal import FILE`: the ERP's master data and documents from a CSV or JSON file.

The records have the shapes of the sync API (docs/import.md; an example is in
docs/examples/). Each record is checked by the API's schema and written by the same
service in its own transaction, so a bad record is reported and leaves nothing behind,
and importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scopes_disabled
from pydantic import ValidationError
from tqdm import tqdm

from vendorportal.accounts.models import Role, User
from vendorportal.api.sync import IMPORT_KINDS
from vendorportal.core import cells
from vendorportal.errors import DomainError

# CSV: one row per record, except that an order is one row per delivery (its header and
# line columns repeated), and a receipt or invoice one row per line; rows of one record
# share its external_id. Columns with these prefixes go to the nested parts.
ORDER_LINE_COLUMNS = {
    "line_number",
    "item_external_id",
    "quantity",
    "unit_price",
    "description",
    "vendor_part_number",
    "unit_of_measure",
    "line_internal_notes",
}
DELIVERY_COLUMNS = {"delivery_number", "delivery_quantity", "due_date"}
LINE_OF = {
    "receipts": {"line_number", "delivery_number", "quantity"},
    "invoices": {"order_external_id", "line_number", "quantity", "unit_price"},
}


# Numbering and flag columns: the API takes JSON integers and booleans only, and a CSV cell
# is always text.
WHOLE_COLUMNS = {"line_number", "delivery_number"}
FLAG_COLUMNS = {"active"}
FLAGS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """CSV cells: empty means "not given" (the schema's default applies); a numbering cell
    of ASCII digits is its number (anything else stays text and the schema refuses it)."""
    cleaned = {k.strip(): v.strip() for k, v in row.items() if k and v is not None and v.strip()}
    for name in WHOLE_COLUMNS & cleaned.keys():
        value = cleaned[name]
        if value.isascii() and value.isdigit():
            cleaned[name] = int(value)
    for name in FLAG_COLUMNS & cleaned.keys():
        cleaned[name] = FLAGS.get(cleaned[name].lower(), cleaned[name])
    return cleaned


def _orders_from_rows(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    orders: dict[str, dict[str, Any]] = {}
    for row in rows:
        row = _clean(row)
        order = orders.setdefault(
            row.get("external_id", ""),
            {
                **{k: v for k, v in row.items() if k not in ORDER_LINE_COLUMNS | DELIVERY_COLUMNS},
                "lines": {},
            },
        )
        number = row.get("line_number", "")
        line = order["lines"].setdefault(
            number,
            {
                **{
                    ("internal_notes" if k == "line_internal_notes" else k): v
                    for k, v in row.items()
                    if k in ORDER_LINE_COLUMNS
                },
                "deliveries": [],
            },
        )
        if "delivery_number" in row:
            line["deliveries"].append(
                {
                    "delivery_number": row["delivery_number"],
                    "quantity": row.get("delivery_quantity", ""),
                    "due_date": row.get("due_date", ""),
                }
            )
    for order in orders.values():
        order["lines"] = list(order["lines"].values())
        yield order


def _documents_from_rows(kind: str, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    documents: dict[str, dict[str, Any]] = {}
    line_columns = LINE_OF[kind]
    for row in rows:
        row = _clean(row)
        document = documents.setdefault(
            row.get("external_id", ""),
            {**{k: v for k, v in row.items() if k not in line_columns}, "lines": []},
        )
        document["lines"].append({k: v for k, v in row.items() if k in line_columns})
    yield from documents.values()


def read_records(path: Path, kind: str | None) -> dict[str, list[dict[str, Any]]]:
    """{kind: [record, ...]} from a JSON file (an object with any of the kinds as keys)
    or a CSV file of one kind (`--kind`, or the file name starting with the kind)."""
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise CommandError(f"{path}: not valid JSON ({error}).") from None
        if not isinstance(data, dict) or not set(data) <= set(IMPORT_KINDS):
            raise CommandError(
                f"{path}: expected an object with any of {', '.join(IMPORT_KINDS)} as keys."
            )
        return {k: list(data[k]) for k in IMPORT_KINDS if k in data}
    if path.suffix.lower() != ".csv":
        raise CommandError(f"{path}: give a .csv or .json file.")
    kind = kind or next((k for k in IMPORT_KINDS if path.name.lower().startswith(k)), None)
    if kind is None:
        raise CommandError(f"{path}: say what it holds with --kind ({', '.join(IMPORT_KINDS)}).")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    if kind == "orders":
        return {kind: list(_orders_from_rows(rows))}
    if kind in LINE_OF:
        return {kind: list(_documents_from_rows(kind, rows))}
    return {kind: [_clean(row) for row in rows]}


class Command(BaseCommand):
    help = "Import vendors, items, orders, receipts, invoices and payments from CSV or JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--kind", choices=list(IMPORT_KINDS), help="what a CSV file holds")
        parser.add_argument("--as", dest="as_email", metavar="EMAIL", help="the buyer it acts as")
        parser.add_argument(
            "--errors", type=Path, metavar="CSV", help="also write the error report to this file"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        records = read_records(path, options["kind"])
        with scopes_disabled():
            by = self._acting_buyer(options["as_email"])
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        errors: list[tuple[str, int, str, str, str]] = []
        total = sum(len(r) for r in records.values())
        started = time.perf_counter()
        with tqdm(
            total=total, unit="record", disable=options["no_progress"], file=sys.stderr
        ) as progress:
            for kind, items in records.items():
                schema, upsert = IMPORT_KINDS[kind]
                progress.set_description(kind)
                for index, raw in enumerate(items, start=1):
                    external_id = str(raw.get("external_id", "")) if isinstance(raw, dict) else ""
                    try:
                        record = schema.model_validate(raw)
                        outcome = upsert(record, by)
                    except ValidationError as error:
                        first = error.errors()[0]
                        field = ".".join(str(p) for p in first.get("loc", ())) or "record"
                        errors.append((kind, index, external_id, field, first.get("msg", "")))
                        outcome = "error"
                    except DomainError as error:
                        errors.append((kind, index, external_id, error.field or "", error.message))
                        outcome = "error"
                    counts[kind][outcome] += 1
                    progress.update()
        elapsed = time.perf_counter() - started
        self._summary(counts, errors, total, elapsed)
        if options["errors"] and errors:
            with options["errors"].open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["kind", "record", "external_id", "field", "message"])
                # The messages quote the file's own values: never formulas (core/cells.py).
                writer.writerows([[cells.for_csv(v) for v in error] for error in errors])
        if errors:
            raise CommandError(f"{len(errors)} record(s) were refused; see the report above.")

    def _acting_buyer(self, email: str | None) -> User | None:
        buyers = User.objects.filter(is_active=True, role=Role.BUYER).order_by("date_joined", "pk")
        if email:
            user = buyers.filter(email__iexact=email).first()
            if user is None:
                raise CommandError(f"No active buyer {email!r}.")
            return user
        return buyers.filter(is_staff=True).first()

    def _summary(
        self,
        counts: dict[str, Counter[str]],
        errors: list[tuple[str, int, str, str, str]],
        total: int,
        elapsed: float,
    ) -> None:
        self.stdout.write(f"Imported {total} record(s) in {elapsed:.1f} s:")
        for kind, outcome in counts.items():
            self.stdout.write(
                f"  {kind:9} {outcome['created']:>7} created  {outcome['updated']:>7} updated  "
                f"{outcome['unchanged']:>7} unchanged  {outcome['error']:>5} refused"
            )
        for kind, index, external_id, field, message in errors:
            where = f"{kind} #{index}" + (f" ({external_id})" if external_id else "")
            self.stdout.write(f"  refused: {where}: {field + ': ' if field else ''}{message}")
