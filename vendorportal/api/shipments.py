"""Ship notices through the API: `POST /ship-notices`, `GET /ship-notices`,
`GET /ship-notices/{id}`.

A supplier's token announces shipments on its own orders; the buying company's
integration tokens may too (a notice keyed in the ERP). Every rule and message is the
screens' (purchasing.services.shipments), and each answer shows, per delivery, what was
announced, what was received against the notice and the difference.

(No `from __future__ import annotations`: django-ninja reads these signatures at import.)
"""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Status

from vendorportal.api.auth import caller
from vendorportal.api.endpoints import IDEMPOTENCY_KEY, ONE_ERRORS, READ_ERRORS, WRITE_ERRORS
from vendorportal.api.errors import ApiRefusal
from vendorportal.api.idempotency import idempotent
from vendorportal.api.paging import MAX_LIMIT, IdCursor, page
from vendorportal.api.schemas import In, Page, Schema, VendorRef
from vendorportal.api.types import DueDate, Flag, Identifier, Positive, Quantity, TextRule
from vendorportal.purchasing import access, services
from vendorportal.purchasing.models import ShipNotice, ShipNoticeStatus
from vendorportal.purchasing.services.shipments import notice_rows

router = Router(tags=["ship notices"])

ShortText = Annotated[str, TextRule(100)]
Note = Annotated[str, TextRule(2000)]


class ShipNoticeLineIn(In):
    line_number: Positive
    delivery_number: Positive = Field(1, description="The delivery (or release) of the line.")
    quantity: Quantity = Field(description="Shipped now: a part of what is open is fine.")


class ShipNoticeIn(In):
    order_number: Identifier
    ship_date: DueDate | None = Field(None, description="Default: today.")
    expected_date: DueDate = Field(description="Expected arrival at the ship-to address.")
    carrier: ShortText = ""
    tracking_number: ShortText = ""
    packing_slip: ShortText = ""
    note: Note = ""
    submit: Flag = Field(True, description="false: keep it as a draft the buyer does not act on.")
    lines: list[ShipNoticeLineIn] = Field(min_length=1, max_length=500)


class ShipNoticeLineOut(Schema):
    line_number: int
    delivery_number: int
    announced_quantity: Decimal
    received_quantity: Decimal = Field(description="Received against this notice.")
    difference: Decimal = Field(description="Received minus announced.")
    difference_kind: Literal["short", "over", "not_announced", "wrong_line"] | None


class ShipNoticeOut(Schema):
    id: int
    number: str
    order_number: str
    vendor: VendorRef
    status: Literal["draft", "submitted", "partially_received", "received", "closed", "cancelled"]
    version: int = Field(description="Goes up with every correction after it was sent.")
    ship_date: dt.date
    expected_date: dt.date
    carrier: str
    tracking_number: str
    packing_slip: str
    note: str
    closed_reason: str
    submitted_at: dt.datetime | None
    updated_at: dt.datetime
    lines: list[ShipNoticeLineOut]


class ShipNoticePage(Page):
    items: list[ShipNoticeOut]


def _out(notice: ShipNotice) -> dict[str, Any]:
    rows = notice_rows(notice)
    return {
        "id": notice.pk,
        "number": notice.number,
        "order_number": notice.order.number,
        "vendor": {"code": notice.vendor.code, "name": notice.vendor.name},
        "status": notice.status,
        "version": notice.version,
        "ship_date": notice.ship_date,
        "expected_date": notice.expected_date,
        "carrier": notice.carrier,
        "tracking_number": notice.tracking_number,
        "packing_slip": notice.packing_slip,
        "note": notice.note,
        "closed_reason": notice.closed_reason,
        "submitted_at": notice.submitted_at,
        "updated_at": notice.updated_at,
        "lines": [
            {
                "line_number": row.delivery.line.line_number,
                "delivery_number": row.delivery.delivery_number,
                "announced_quantity": row.announced,
                "received_quantity": row.received,
                "difference": row.difference,
                "difference_kind": row.kind or None,
            }
            for row in rows
        ],
    }


@router.post(
    "/ship-notices",
    response={201: ShipNoticeOut, **WRITE_ERRORS},
    summary="Announce a shipment (a ship notice)",
)
@idempotent
def create_ship_notice(
    request: HttpRequest,
    payload: ShipNoticeIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Status[dict[str, Any]]:
    """Per delivery shipped, the quantity. Refused (400, naming the line and the numbers)
    when it is more than is still open minus what other notices have in transit, with
    the over-receipt tolerance; nothing is written then."""
    with caller(request, write=True) as viewer:
        order = access.order_or_404(viewer, payload.order_number)
        by_number = {
            (d.line.line_number, d.delivery_number): d
            for d in order.deliveries.select_related("line")
        }
        lines = []
        for index, entry in enumerate(payload.lines):
            delivery = by_number.get((entry.line_number, entry.delivery_number))
            if delivery is None:
                raise ApiRefusal(
                    400,
                    "invalid",
                    f"Order {order.number} has no line {entry.line_number} delivery "
                    f"{entry.delivery_number}.",
                    field=f"lines.{index}",
                )
            lines.append(services.ShipNoticeLineInput(delivery, entry.quantity))
        notice = services.ship_notice_create(
            order=order,
            lines=lines,
            by=viewer.user,
            submit=payload.submit,
            ship_date=payload.ship_date,
            expected_date=payload.expected_date,
            carrier=payload.carrier,
            tracking_number=payload.tracking_number,
            packing_slip=payload.packing_slip,
            note=payload.note,
        )
        notice.order = order
        return Status(201, _out(notice))


class ShipNoticeFilters(Schema):
    status: ShipNoticeStatus | None = None
    order_number: Identifier | None = None
    cursor: IdCursor | None = None
    limit: int = 50


@router.get("/ship-notices", response={200: ShipNoticePage, **READ_ERRORS}, summary="Ship notices")
def list_ship_notices(request: HttpRequest, filters: Query[ShipNoticeFilters]) -> dict[str, Any]:
    """The token's ship notices (a supplier's own; the buying company's: every vendor's)."""
    with caller(request) as viewer:
        queryset = access.ship_notices(viewer).select_related("order", "vendor")
        if filters.status:
            queryset = queryset.filter(status=filters.status)
        if filters.order_number:
            queryset = queryset.filter(order__number=filters.order_number)
        rows, cursor = page(
            queryset, cursor=filters.cursor, limit=max(1, min(filters.limit, MAX_LIMIT))
        )
        return {"items": [_out(notice) for notice in rows], "next_cursor": cursor}


@router.get(
    "/ship-notices/{notice_id}",
    response={200: ShipNoticeOut, **ONE_ERRORS},
    summary="One ship notice",
)
def get_ship_notice(request: HttpRequest, notice_id: int) -> dict[str, Any]:
    with caller(request) as viewer:
        notice = access.ship_notice_or_404(viewer, notice_id)
        return _out(notice)
