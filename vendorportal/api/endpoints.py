"""The v1 operations: what a supplier's system (or the ERP, for all vendors) reads and does.

Thin, like the screens' views: the access module decides what the token's login may see
(404 for anything else), the services do every write with the screens' rules and
messages, and each answer is built field by field from the schemas (the big reads from
plain `.values()` rows, written straight to JSON: see ORDER_SUMMARY_VALUES).

(No `from __future__ import annotations` here: django-ninja reads these signatures at
import time, also through the `idempotent` wrapper, which lives in another module.)
"""

from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, Header, Query, Router, Status

from vendorportal.api import schemas as s
from vendorportal.api.auth import caller, token_of
from vendorportal.api.errors import COMMON_ERRORS, ApiRefusal, ErrorOut
from vendorportal.api.idempotency import idempotent
from vendorportal.api.paging import MAX_LIMIT, ChangeCursor, IdCursor, page
from vendorportal.api.types import Identifier, IsoDate, IsoDateTime
from vendorportal.collaboration import services as collaboration
from vendorportal.collaboration.models import Acknowledgement
from vendorportal.purchasing import access, revisions, selectors, services
from vendorportal.purchasing.models import (
    ZERO,
    Delivery,
    Invoice,
    Line,
    LineStatus,
    OrderStatus,
    PurchaseOrder,
    Receipt,
)

router = Router(tags=["orders and deliveries"])

READ_ERRORS = {**COMMON_ERRORS}
ONE_ERRORS = {**COMMON_ERRORS, 404: ErrorOut}
WRITE_ERRORS = {**COMMON_ERRORS, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 415: ErrorOut}


IDEMPOTENCY_HELP = (
    "Any unique string (e.g. a UUID) to make a retry safe: the same request with the same "
    "key gets the first answer again and changes nothing; the key with another request "
    "is refused (409)."
)


# The documented header of every POST (read by `idempotency.idempotent`).
IDEMPOTENCY_KEY = Header(
    None,
    alias="Idempotency-Key",
    description=IDEMPOTENCY_HELP,
    min_length=1,
    max_length=255,
    pattern=r"\S",  # not only spaces
)


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


def _order_summary(order: PurchaseOrder, acknowledged: bool) -> dict[str, Any]:
    buyer = order.buyer
    return {
        "number": order.number,
        "vendor": {"code": order.vendor.code, "name": order.vendor.name},
        "kind": order.kind,
        "status": order.status,
        "revision": order.revision,
        "revision_acknowledged": acknowledged,
        "order_date": order.order_date,
        "currency": order.currency,
        "payment_terms": order.payment_terms,
        "incoterms": order.incoterms,
        "ship_to": order.ship_to,
        "valid_from": order.valid_from,
        "valid_to": order.valid_to,
        "notes_to_vendor": order.notes_to_vendor,
        "buyer": {"name": buyer.display_name, "email": buyer.email} if buyer else None,
        "issued_at": order.issued_at,
        "updated_at": order.updated_at,
    }


# The three big reads (the order list, one order, the open deliveries) read plain rows with
# `.values()` and answer them with `s.json_response`: no model instances, no validation of
# our own output per field. Each row is still written field by field, exactly the fields
# of its schema (`response=` documents it; tests/test_api_output.py holds every answer to
# it), so nothing reaches an answer by accident.

ORDER_SUMMARY_VALUES = (
    "id",
    "number",
    "vendor__code",
    "vendor__name",
    "kind",
    "status",
    "revision",
    "acknowledged",
    "order_date",
    "currency",
    "payment_terms",
    "incoterms",
    "ship_to",
    "valid_from",
    "valid_to",
    "notes_to_vendor",
    "buyer_id",
    "buyer__first_name",
    "buyer__last_name",
    "buyer__email",
    "issued_at",
    "updated_at",
)


def _order_summary_row(row: dict[str, Any]) -> dict[str, Any]:
    """`_order_summary` of a row of ORDER_SUMMARY_VALUES."""
    buyer = None
    if row["buyer_id"] is not None:
        # User.display_name: the full name (Django's get_full_name), else the e-mail.
        full_name = f"{row['buyer__first_name']} {row['buyer__last_name']}".strip()
        buyer = {"name": full_name or row["buyer__email"], "email": row["buyer__email"]}
    return {
        "number": row["number"],
        "vendor": {"code": row["vendor__code"], "name": row["vendor__name"]},
        "kind": row["kind"],
        "status": row["status"],
        "revision": row["revision"],
        "revision_acknowledged": bool(row["acknowledged"]),
        "order_date": row["order_date"],
        "currency": row["currency"],
        "payment_terms": row["payment_terms"],
        "incoterms": row["incoterms"],
        "ship_to": row["ship_to"],
        "valid_from": row["valid_from"],
        "valid_to": row["valid_to"],
        "notes_to_vendor": row["notes_to_vendor"],
        "buyer": buyer,
        "issued_at": row["issued_at"],
        "updated_at": row["updated_at"],
    }


OPEN = LineStatus.OPEN.value
OPEN_DELIVERY_VALUES = (
    "id",
    "line__line_number",
    "delivery_number",
    "due_date",
    "promised_date",
    "quantity",
    "received_quantity",
    "status",
    "order__number",
    "line__item__part_number",
    "line__description",
    "line__vendor_part_number",
    "line__unit_of_measure",
    "line__unit_price",
    "acknowledged",
)


def _delivery_row(row: dict[str, Any], line_number: int) -> dict[str, Any]:
    """A delivery of a `.values()` row (id, delivery_number, dates, quantities, status)."""
    return {
        "id": row["id"],
        "line_number": line_number,
        "delivery_number": row["delivery_number"],
        "due_date": row["due_date"],
        "promised_date": row["promised_date"],
        "quantity": row["quantity"],
        "received_quantity": row["received_quantity"],
        "open_quantity": selectors.delivery_open_quantity(
            row["status"], row["quantity"], row["received_quantity"]
        ),
        "status": row["status"],
    }


# --- orders -------------------------------------------------------------------------------


class OrderFilters(s.Schema):
    status: OrderStatus | None = None
    updated_since: IsoDateTime | None = None
    cursor: ChangeCursor | None = None
    limit: int = 50


@router.get("/orders", response={200: s.OrderPage, **READ_ERRORS}, summary="List orders")
def list_orders(request: HttpRequest, filters: Query[OrderFilters]) -> HttpResponse:
    """Orders, oldest change first (`updated_since` + the cursor make an incremental sync).
    A supplier never sees drafts."""
    with caller(request) as viewer:
        queryset = access.orders(viewer).annotate(
            acknowledged=access.current_revision_acknowledged_for()
        )
        if filters.status:
            queryset = queryset.filter(status=filters.status)
        if filters.updated_since:
            queryset = queryset.filter(updated_at__gte=filters.updated_since)
        rows, cursor = page(
            queryset.values(*ORDER_SUMMARY_VALUES),
            cursor=filters.cursor,
            limit=_limit(filters.limit),
            keys=("updated_at", "id"),
        )
        return s.json_response(
            {"items": [_order_summary_row(row) for row in rows], "next_cursor": cursor}
        )


@router.get("/orders/{number}", response={200: s.OrderOut, **ONE_ERRORS}, summary="One order")
def get_order(request: HttpRequest, number: str) -> HttpResponse:
    """An order with its lines, their deliveries (a blanket line's releases) and its
    revisions, each with what changed and how it was acknowledged."""
    with caller(request) as viewer:
        order = access.order_or_404(viewer, number)
        view = selectors.order_api_view(viewer, order)
        lines = [
            {
                "line_number": line["line_number"],
                "part_number": line["item__part_number"],
                "description": line["description"],
                "vendor_part_number": line["vendor_part_number"],
                "unit_of_measure": line["unit_of_measure"],
                "quantity": line["quantity"],
                "unit_price": line["unit_price"],
                "status": line["status"],
                "released_quantity": line["released"],
                "received_quantity": line["received"],
                "invoiced_quantity": line["invoiced"],
                "open_quantity": line["open_quantity"],
                "remaining_quantity": line["remaining"],
                "deliveries": [_delivery_row(d, line["line_number"]) for d in line["deliveries"]],
            }
            for line in view.lines
        ]
        history = [
            {
                "number": revision["number"],
                "created_at": revision["created_at"],
                "reason": revision["reason"],
                "acknowledgement": view.acknowledgements.get(revision["number"]),
                "changes": [
                    revisions.describe_change(c)
                    for c in revisions.visible_changes(revision["changes"])
                ],
            }
            for revision in view.revisions
        ]
        return s.json_response(
            {
                **_order_summary(order, view.current_acknowledged),
                "total_amount": view.total_amount,
                "lines": lines,
                "revisions": history,
            }
        )


@router.post(
    "/orders/{number}/acknowledgements",
    response={201: s.AcknowledgementOut, **WRITE_ERRORS},
    summary="Acknowledge the current revision",
)
@idempotent
def acknowledge(
    request: HttpRequest,
    number: str,
    payload: s.AcknowledgementIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Status[dict[str, Any]]:
    """Answer the order's current revision. Answering an older one is refused with 409,
    naming the current revision; nothing is stored."""
    with caller(request, write=True) as viewer:
        order = access.order_or_404(viewer, number)
        ack = collaboration.acknowledgement_record(
            order=order,
            revision=payload.revision,
            response=payload.response,
            comment=payload.comment,
            by=viewer.user,
        )
        return Status(
            201,
            {
                "order_number": order.number,
                "revision": ack.revision,
                "response": ack.response,
                "comment": ack.comment,
                "created_at": ack.created_at,
            },
        )


@router.post(
    "/orders/{number}/proposals",
    response={201: s.ProposalOut, **WRITE_ERRORS},
    summary="Propose a change",
)
@idempotent
def propose(
    request: HttpRequest,
    number: str,
    payload: s.ProposalIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Status[dict[str, Any]]:
    """Propose a new due date or quantity for a delivery, or a new price for a line, with
    a reason. The order does not change until the buyer accepts."""
    with caller(request, write=True) as viewer:
        order = access.order_or_404(viewer, number)
        line = access.line_or_404(viewer, order, payload.line_number)
        delivery = None
        if payload.delivery_number is not None:
            delivery = line.deliveries.filter(delivery_number=payload.delivery_number).first()
            if delivery is None:
                raise Http404("No such delivery.")
        proposal = collaboration.proposal_create(
            order=order,
            line=line,
            delivery=delivery,
            by=viewer.user,
            reason=payload.reason,
            due_date=payload.due_date,
            quantity=payload.quantity,
            unit_price=payload.unit_price,
        )
        return Status(
            201,
            {
                "id": proposal.pk,
                "order_number": order.number,
                "line_number": line.line_number,
                "delivery_number": delivery.delivery_number if delivery else None,
                "status": proposal.status,
                "revision": proposal.revision,
                "reason": proposal.reason,
                "proposed_due_date": proposal.proposed_due_date,
                "proposed_quantity": proposal.proposed_quantity,
                "proposed_unit_price": proposal.proposed_unit_price,
                "created_at": proposal.created_at,
            },
        )


@router.post(
    "/orders/{number}/comments",
    response={201: s.CommentOut, **WRITE_ERRORS},
    summary="Comment on an order or a line",
)
@idempotent
def comment(
    request: HttpRequest,
    number: str,
    payload: s.CommentIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Status[dict[str, Any]]:
    with caller(request, write=True) as viewer:
        order = access.order_or_404(viewer, number)
        line: Line | None = None
        if payload.line_number is not None:
            line = access.line_or_404(viewer, order, payload.line_number)
        note = collaboration.comment_add(order=order, by=viewer.user, body=payload.body, line=line)
        return Status(
            201,
            {
                "id": note.pk,
                "order_number": order.number,
                "line_number": line.line_number if line else None,
                "body": note.body,
                "author": viewer.user.display_name,
                "created_at": note.created_at,
            },
        )


@router.post(
    "/orders/{number}/call-offs",
    response={201: s.CallOffOut, **WRITE_ERRORS},
    summary="Call off releases of a blanket order (integration tokens)",
)
@idempotent
def call_off(
    request: HttpRequest,
    number: str,
    payload: s.CallOffIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Status[dict[str, Any]]:
    """Several releases at once (an MRP run): one revision, one acknowledgement asked of the
    supplier. A release beyond its line's committed quantity is refused, and then none is
    made. The buying company's integration tokens only."""
    if not token_of(request).integration:
        raise ApiRefusal(403, "forbidden", "Only the buying company's tokens call off releases.")
    with caller(request, write=True) as viewer:
        order = access.order_or_404(viewer, number)
        added = services.call_off(
            order=order,
            releases=[
                services.Release(r.line_number, r.quantity, r.due_date) for r in payload.releases
            ],
            by=viewer.user,
            reason=payload.reason,
        )
        order.refresh_from_db(fields=["revision"])
        return Status(
            201,
            {
                "order_number": order.number,
                "revision": order.revision,
                "releases": [
                    {
                        "line_number": d.line.line_number,
                        "delivery_number": d.delivery_number,
                        "quantity": d.quantity,
                        "due_date": d.due_date,
                    }
                    for d in added
                ],
            },
        )


# --- deliveries, receipts, invoices, events -----------------------------------------------


class DeliveryFilters(s.Schema):
    order_number: Identifier | None = None
    due_before: IsoDate | None = None
    cursor: IdCursor | None = None
    limit: int = 100


@router.get(
    "/deliveries", response={200: s.OpenDeliveryPage, **READ_ERRORS}, summary="Open deliveries"
)
def list_open_deliveries(request: HttpRequest, filters: Query[DeliveryFilters]) -> HttpResponse:
    """Every open delivery (schedule line or release) on issued orders: the open-lines
    table of the portal."""
    with caller(request) as viewer:
        queryset = selectors.open_deliveries(viewer, selectors.OpenLineFilters()).annotate(
            acknowledged=access.current_revision_acknowledged_for("order")
        )
        if filters.order_number:
            queryset = queryset.filter(order__number=filters.order_number)
        if filters.due_before:
            queryset = queryset.filter(due_date__lt=filters.due_before)
        rows, cursor = page(
            queryset.values(*OPEN_DELIVERY_VALUES),
            cursor=filters.cursor,
            limit=_limit(filters.limit),
        )
        # `_delivery_row`, written out (this loop is the bulk of the answer's time).
        items = [
            {
                "id": d["id"],
                "line_number": d["line__line_number"],
                "delivery_number": d["delivery_number"],
                "due_date": d["due_date"],
                "promised_date": d["promised_date"],
                "quantity": d["quantity"],
                "received_quantity": d["received_quantity"],
                "open_quantity": (
                    max(d["quantity"] - d["received_quantity"], ZERO)
                    if d["status"] == OPEN
                    else ZERO
                ),
                "status": d["status"],
                "order_number": d["order__number"],
                "part_number": d["line__item__part_number"],
                "description": d["line__description"],
                "vendor_part_number": d["line__vendor_part_number"],
                "unit_of_measure": d["line__unit_of_measure"],
                "unit_price": d["line__unit_price"],
                "revision_acknowledged": bool(d["acknowledged"]),
            }
            for d in rows
        ]
        return s.json_response({"items": items, "next_cursor": cursor})


class ListFilters(s.Schema):
    cursor: IdCursor | None = None
    limit: int = 50


@router.get("/receipts", response={200: s.ReceiptPage, **READ_ERRORS}, summary="Receipts")
def list_receipts(request: HttpRequest, filters: Query[ListFilters]) -> dict[str, Any]:
    """What the buying company received, and returned (negative quantities, with a reason)."""
    with caller(request) as viewer:
        queryset = (
            access.receipts(viewer)
            .select_related("order")
            .prefetch_related("lines__delivery__line")
        )
        rows, cursor = page(queryset, cursor=filters.cursor, limit=_limit(filters.limit))
        items = [
            {
                "number": r.number,
                "order_number": r.order.number,
                "kind": r.kind,
                "receipt_date": r.receipt_date,
                "packing_slip": r.packing_slip,
                "reason": r.reason,
                "lines": [
                    {
                        "line_number": rl.delivery.line.line_number,
                        "delivery_number": rl.delivery.delivery_number,
                        "quantity": rl.quantity,
                    }
                    for rl in r.lines.all()
                ],
            }
            for r in rows
        ]
        return {"items": items, "next_cursor": cursor}


class EventFilters(s.Schema):
    after: int | None = Field(None, ge=0, le=2**63 - 1)
    cursor: IdCursor | None = None
    limit: int = 100


@router.get("/events", response={200: s.EventPage, **READ_ERRORS}, summary="Events")
def list_events(request: HttpRequest, filters: Query[EventFilters]) -> dict[str, Any]:
    """The event log as this token may see it, oldest first: poll with `after` = the last
    id you processed (a supplier never sees internal events or another vendor's)."""
    with caller(request) as viewer:
        queryset = access.events(viewer).select_related("order")
        if filters.after is not None:
            queryset = queryset.filter(id__gt=filters.after)
        rows, cursor = page(queryset, cursor=filters.cursor, limit=_limit(filters.limit))
        items = [
            {
                "id": e.pk,
                "kind": e.kind,
                "order_number": e.order.number if e.order else None,
                "revision": e.revision,
                "summary": e.summary,
                "created_at": e.created_at,
            }
            for e in rows
        ]
        return {"items": items, "next_cursor": cursor}


__all__ = [
    "Acknowledgement",
    "Decimal",
    "Delivery",
    "Exists",
    "Invoice",
    "OuterRef",
    "Q",
    "Receipt",
    "router",
]
