"""Master data from the buying company's ERP: idempotent upserts by external id.

Each function takes the full record as the ERP has it and makes the portal agree: it
creates the row if the external id is new, changes only the fields that differ, and
changes nothing (not even `updated_at`) when everything already agrees, so a nightly full
re-sync is a no-op. It answers what it did: "created", "updated" or "unchanged".

A vendor's change is recorded as an internal event on that vendor (buyers see it; master
data is not the supplier's business). Items belong to no vendor and have no timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.db import IntegrityError

from vendorportal.accounts.models import User
from vendorportal.errors import DomainError
from vendorportal.events.log import record_event
from vendorportal.purchasing.models import Item, Vendor
from vendorportal.scoping import service

Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class VendorRecord:
    external_id: str
    code: str
    name: str
    contact_name: str = ""
    contact_email: str = ""
    phone: str = ""
    address: str = ""
    active: bool = True


@dataclass(frozen=True)
class ItemRecord:
    external_id: str
    part_number: str
    description: str
    unit_of_measure: str = "EA"
    active: bool = True
    standard_cost: Decimal | None = None


def _required(value: str, *, field: str, label: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(f"{label} is required.", field=field)
    if len(value) > limit:
        raise DomainError(f"{label} has at most {limit} characters.", field=field)
    return value


def _apply(obj: Any, values: dict[str, Any]) -> list[str]:
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    return changed


def _save_unique(obj: Any, *, field: str, message: str) -> None:
    try:
        obj.save()
    except IntegrityError:
        raise DomainError(message, field=field, code="conflict") from None


@service
def vendor_upsert(*, record: VendorRecord, by: User | None) -> tuple[Vendor, Outcome]:
    external_id = _required(record.external_id, field="external_id", label="external_id", limit=100)
    values = {
        "code": _required(record.code, field="code", label="A vendor code", limit=32),
        "name": _required(record.name, field="name", label="A vendor name", limit=200),
        "contact_name": record.contact_name.strip(),
        "contact_email": record.contact_email.strip(),
        "phone": record.phone.strip(),
        "address": record.address.strip(),
        "active": record.active,
    }
    vendor = Vendor.objects.select_for_update().filter(external_id=external_id).first()
    outcome: Outcome
    if vendor is None:
        vendor, outcome, changed = (
            Vendor(external_id=external_id, **values),
            "created",
            list(values),
        )
    else:
        changed = _apply(vendor, values)
        if not changed:
            return vendor, "unchanged"
        outcome = "updated"
    _save_unique(
        vendor, field="code", message=f"Vendor code {values['code']} belongs to another vendor."
    )
    record_event(
        kind=f"vendor.{outcome}",
        vendor_id=vendor.pk,
        actor_id=by.pk if by else None,
        internal=True,
        summary=f"Vendor {vendor.code} {outcome} from the ERP"
        + (f": {', '.join(changed)}" if outcome == "updated" else ""),
        data={"external_id": external_id, "fields": changed},
    )
    return vendor, outcome


@service
def item_upsert(*, record: ItemRecord, by: User | None) -> tuple[Item, Outcome]:
    external_id = _required(record.external_id, field="external_id", label="external_id", limit=100)
    cost = record.standard_cost
    if cost is not None and cost < 0:
        raise DomainError("A standard cost cannot be negative.", field="standard_cost")
    values = {
        "part_number": _required(
            record.part_number, field="part_number", label="A part number", limit=64
        ),
        "description": _required(
            record.description, field="description", label="A description", limit=300
        ),
        "unit_of_measure": _required(
            record.unit_of_measure, field="unit_of_measure", label="A unit of measure", limit=16
        ),
        "active": record.active,
        "standard_cost": cost,
    }
    item = Item.objects.select_for_update().filter(external_id=external_id).first()
    if item is None:
        item, outcome = Item(external_id=external_id, **values), "created"
    else:
        if not _apply(item, values):
            return item, "unchanged"
        outcome = "updated"
    _save_unique(
        item,
        field="part_number",
        message=f"Part number {values['part_number']} belongs to another item.",
    )
    return item, outcome  # type: ignore[return-value]
