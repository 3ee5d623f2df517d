"""What the API answers and accepts.

A vendor-facing answer holds exactly what the portal shows that vendor: no internal notes,
no standard cost, no internal comments or events, no other vendor. Each schema lists its
fields explicitly and `views` fills them explicitly, so nothing reaches a response by
accident.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

import orjson
from django.http import HttpResponse
from ninja import Field, Schema
from ninja.responses import NinjaJSONEncoder
from pydantic import ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from vendorportal.api.types import DueDate, Positive, Price, Quantity, TextRule

# How every answer is written (the API's renderer, and the read endpoints that build their
# rows themselves): orjson, with ninja's encoder for what JSON has no type for, and for
# dates and times too (OPT_PASSTHROUGH_DATETIME), so values read as they always have:
# decimals as exact strings ("12.5000"), dates YYYY-MM-DD, times ISO 8601 to the
# millisecond with "Z" for UTC.
_ENCODER = NinjaJSONEncoder()
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    # The commonest first, as the encoder writes them (str(), isoformat()), faster.
    kind = type(value)
    if kind is Decimal:
        return str(value)
    if kind is dt.date:
        return value.isoformat()
    return _ENCODER.default(value)


def render_json(data: Any) -> bytes:
    return orjson.dumps(data, default=_default, option=_OPTIONS)


def json_response(data: Any, status: int = 200) -> HttpResponse:
    """An answer built by the endpoint itself, field by field as its schema lists them
    (tests/test_api_output.py holds every such answer to its schema)."""
    return HttpResponse(
        render_json(data), status=status, content_type="application/json; charset=utf-8"
    )


class PartyOut(Schema):
    name: str
    email: str


class VendorRef(Schema):
    code: str
    name: str


class DeliveryOut(Schema):
    id: int
    line_number: int
    delivery_number: int
    due_date: dt.date
    promised_date: dt.date | None
    quantity: Decimal
    received_quantity: Decimal
    open_quantity: Decimal
    status: str


class LineOut(Schema):
    line_number: int
    part_number: str | None
    description: str
    vendor_part_number: str
    unit_of_measure: str
    quantity: Decimal = Field(description="Ordered; for a blanket line, the committed quantity.")
    unit_price: Decimal
    status: str
    released_quantity: Decimal
    received_quantity: Decimal
    invoiced_quantity: Decimal
    open_quantity: Decimal
    remaining_quantity: Decimal
    deliveries: list[DeliveryOut]


class RevisionOut(Schema):
    number: int
    created_at: dt.datetime
    reason: str
    acknowledgement: str | None = Field(
        description="accepted, accepted_with_changes, rejected, or null if not yet answered."
    )
    changes: list[str] = Field(description="What changed from the previous revision, in words.")


class OrderSummaryOut(Schema):
    number: str
    vendor: VendorRef
    kind: Literal["standard", "blanket"]
    status: str
    revision: int
    revision_acknowledged: bool
    order_date: dt.date
    currency: str
    payment_terms: str
    incoterms: str
    ship_to: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    notes_to_vendor: str
    buyer: PartyOut | None
    issued_at: dt.datetime | None
    updated_at: dt.datetime


class OrderOut(OrderSummaryOut):
    total_amount: Decimal
    lines: list[LineOut]
    revisions: list[RevisionOut]


class OpenDeliveryOut(DeliveryOut):
    order_number: str
    part_number: str | None
    description: str
    vendor_part_number: str
    unit_of_measure: str
    unit_price: Decimal
    revision_acknowledged: bool


class ReceiptLineOut(Schema):
    line_number: int
    delivery_number: int
    quantity: Decimal


class ReceiptOut(Schema):
    number: str
    order_number: str
    kind: Literal["receipt", "return"]
    receipt_date: dt.date
    packing_slip: str
    reason: str
    lines: list[ReceiptLineOut]


class InvoiceLineOut(Schema):
    order_number: str
    line_number: int
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    match_status: str = Field(description="matched, price_variance, quantity_exception, ...")
    received_quantity: Decimal
    order_unit_price: Decimal


class InvoiceOut(Schema):
    id: int
    number: str
    kind: Literal["invoice", "credit_note"]
    origin: Literal["buyer", "supplier", "erp"] = Field(
        description="Recorded by a buyer, submitted by the supplier here, or from the ERP."
    )
    credits_number: str | None = Field(description="A credit note: the invoice it credits.")
    invoice_date: dt.date
    due_date: dt.date | None
    currency: str
    status: Literal[
        "submitted",
        "open",
        "partially_paid",
        "paid",
        "disputed",
        "void",
        "withdrawn",
        "applied",
    ] = Field(description="submitted: awaiting the buyer's approval; applied: a credit note.")
    status_reason: str = Field(description="Why it was last disputed or withdrawn.")
    note: str
    lines_amount: Decimal
    tax_amount: Decimal
    freight_amount: Decimal
    total_amount: Decimal
    paid_amount: Decimal
    credited_amount: Decimal = Field(description="Taken off by applied credit notes.")
    outstanding_amount: Decimal
    lines: list[InvoiceLineOut]


class EventOut(Schema):
    id: int
    kind: str
    order_number: str | None
    revision: int | None
    summary: str
    created_at: dt.datetime


class Page(Schema):
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class OrderPage(Page):
    items: list[OrderSummaryOut]


class OpenDeliveryPage(Page):
    items: list[OpenDeliveryOut]


class ReceiptPage(Page):
    items: list[ReceiptOut]


class InvoicePage(Page):
    items: list[InvoiceOut]


class EventPage(Page):
    items: list[EventOut]


# --- input ------------------------------------------------------------------------------

COMMENT_MAX = 5000
Comment = Annotated[str, TextRule(COMMENT_MAX)]
RequiredComment = Annotated[str, TextRule(COMMENT_MAX, required=True)]


class In(Schema):
    """A request body: only the fields it names (a misspelt field is refused, not
    ignored), so the schema says `additionalProperties: false`."""

    model_config = ConfigDict(extra="forbid")


class AcknowledgementIn(In):
    revision: Positive = Field(description="The revision you answer: it must be current.")
    response: Literal["accepted", "accepted_with_changes", "rejected"]
    comment: Comment = Field(
        "",
        description="Required unless the response is accepted: say what changes or why.",
        validate_default=True,
    )

    model_config = ConfigDict(
        # The comment rule, in the schema: accepted with changes and rejected say why.
        json_schema_extra={
            "if": {
                "properties": {"response": {"enum": ["accepted_with_changes", "rejected"]}},
                "required": ["response"],
            },
            "then": {
                "required": ["comment"],
                "properties": {"comment": TextRule(COMMENT_MAX, required=True).json_schema()},
            },
        }
    )

    @field_validator("comment")
    @classmethod
    def _said_why(cls, comment: str, info: ValidationInfo) -> str:
        if info.data.get("response", "accepted") != "accepted" and not comment.strip():
            raise PydanticCustomError(
                "invalid", "is required unless the response is accepted: say what changes or why"
            )
        return comment


class AcknowledgementOut(Schema):
    order_number: str
    revision: int
    response: str
    comment: str
    created_at: dt.datetime


class ProposalIn(In):
    line_number: Positive
    delivery_number: Positive | None = Field(
        None, description="For a new date or quantity: the delivery it is about."
    )
    due_date: DueDate | None = None
    quantity: Quantity | None = None
    unit_price: Price | None = None
    reason: RequiredComment


class ProposalOut(Schema):
    id: int
    order_number: str
    line_number: int
    delivery_number: int | None
    status: str
    revision: int
    reason: str
    proposed_due_date: dt.date | None
    proposed_quantity: Decimal | None
    proposed_unit_price: Decimal | None
    created_at: dt.datetime


class CommentIn(In):
    body: RequiredComment
    line_number: Positive | None = None


class CommentOut(Schema):
    id: int
    order_number: str
    line_number: int | None
    body: str
    author: str
    created_at: dt.datetime


def as_dict(**fields: Any) -> dict[str, Any]:
    return fields


class ReleaseIn(In):
    line_number: Positive = Field(description="The blanket line released from.")
    quantity: Quantity
    due_date: DueDate


class CallOffIn(In):
    releases: list[ReleaseIn] = Field(min_length=1, max_length=200)
    reason: Comment = Field("", description="Why (an MRP run, a project); shown to the supplier.")


class ReleaseOut(Schema):
    line_number: int
    delivery_number: int
    quantity: Decimal
    due_date: dt.date


class CallOffOut(Schema):
    order_number: str
    revision: int = Field(description="The one revision the call-off made.")
    releases: list[ReleaseOut]
