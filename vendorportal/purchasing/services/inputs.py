"""What callers hand the purchasing services: lines, deliveries, changes to an order,
releases, receipt and invoice lines (plain values, checked by the services)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from vendorportal.purchasing.models import (
    Delivery,
    InvoiceLine,
    Item,
    Line,
)

# ---------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryInput:
    quantity: Decimal
    due_date: dt.date


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal
    item: Item | None = None
    description: str = ""
    vendor_part_number: str = ""
    unit_of_measure: str = ""
    line_number: int | None = None
    # A standard line given only `due_date` gets one delivery of its whole quantity.
    due_date: dt.date | None = None
    deliveries: Sequence[DeliveryInput] = ()
    internal_notes: str = ""
    external_id: str = ""


@dataclass(frozen=True)
class SetHeader:
    field: str
    value: Any


@dataclass(frozen=True)
class SetLine:
    line: int
    field: str
    value: Any


@dataclass(frozen=True)
class SetDelivery:
    line: int
    delivery: int
    field: str
    value: Any
    # The supplier's own proposal, accepted: the new date or quantity is its promise.
    proposed_by_supplier: bool = False


@dataclass(frozen=True)
class AddLine:
    line: LineInput


@dataclass(frozen=True)
class CancelLine:
    line: int


@dataclass(frozen=True)
class AddDelivery:
    line: int
    quantity: Decimal
    due_date: dt.date


@dataclass(frozen=True)
class CancelDelivery:
    line: int
    delivery: int


OrderChange = (
    SetHeader | SetLine | SetDelivery | AddLine | CancelLine | AddDelivery | CancelDelivery
)

HEADER_EDITABLE = {
    "currency",
    "payment_terms",
    "incoterms",
    "ship_to",
    "valid_from",
    "valid_to",
    "notes_to_vendor",
    "internal_notes",
}
LINE_EDITABLE = {
    "description",
    "vendor_part_number",
    "unit_of_measure",
    "quantity",
    "unit_price",
    "internal_notes",
}
DELIVERY_EDITABLE = {"quantity", "due_date"}
DATE_FIELDS = {"valid_from", "valid_to", "due_date"}


@dataclass(frozen=True)
class ReceiptLineInput:
    delivery: Delivery
    quantity: Decimal


@dataclass(frozen=True)
class InvoiceLineInput:
    order_line: Line
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class CreditLineInput:
    """A line of a credit note: how much of one invoice line it takes back, at what price."""

    invoice_line: InvoiceLine
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class Release:
    """One release of a call-off: so much of a blanket line, due then."""

    line: int
    quantity: Decimal
    due_date: dt.date


@dataclass(frozen=True)
class ShipNoticeLineInput:
    """How much of one delivery a ship notice announces."""

    delivery: Delivery
    quantity: Decimal | str


# The header fields a ship notice's author sets (and may correct until goods arrive).
SHIP_NOTICE_FIELDS = (
    "ship_date",
    "expected_date",
    "carrier",
    "tracking_number",
    "packing_slip",
    "note",
)
