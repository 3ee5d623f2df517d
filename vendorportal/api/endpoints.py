"""The v1 operations: what a supplier's system (or the ERP, for all vendors) reads and does.

Thin, like the screens' views: the access module decides what the token's login may see
(404 for anything else), the services do every write with the screens' rules and
messages, and each answer is built field by field from the schemas.

(No `from __future__ import annotations` here: django-ninja reads these signatures at
import time, also through the `idempotent` wrapper, which lives in another module.)
"""

from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpRequest
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
    Delivery,
    Invoice,
    Line,
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


def _delivery(delivery: Delivery, line_number: int) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "line_number": line_number,
        "delivery_number": delivery.delivery_number,
        "due_date": delivery.due_date,
        "promised_date": delivery.promised_date,
        "quantity": delivery.quantity,
        "received_quantity": delivery.received_quantity,
        "open_quantity": delivery.open_quantity,
        "status": delivery.status,
    }


# --- orders -------------------------------------------------------------------------------


class OrderFilters(s.Schema):
    status: OrderStatus | None = None
    updated_since: IsoDateTime | None = None
    cursor: ChangeCursor | None = None
    limit: int = 50


@router.get("/orders", response={200: s.OrderPage, **READ_ERRORS}, summary="List orders")
def list_orders(request: HttpRequest, filters: Query[OrderFilters]) -> dict[str, Any]:
    """Orders, oldest change first (`updated_since` + the cursor make an incremental sync).
    A supplier never sees drafts."""
    with caller(request) as viewer:
        queryset = (
            access.orders(viewer)
            .select_related("vendor", "buyer")
            .annotate(acknowledged=access.current_revision_acknowledged_for())
        )
        if filters.status:
            queryset = queryset.filter(status=filters.status)
        if filters.updated_since:
            queryset = queryset.filter(updated_at__gte=filters.updated_since)
        rows, cursor = page(
            queryset, cursor=filters.cursor, limit=_limit(filters.limit), keys=("updated_at", "id")
        )
        return {
            "items": [_order_summary(o, bool(o.acknowledged)) for o in rows],  # type: ignore[attr-defined]
            "next_cursor": cursor,
        }


@router.get("/orders/{number}", response={200: s.OrderOut, **ONE_ERRORS}, summary="One order")
def get_order(request: HttpRequest, number: str) -> dict[str, Any]:
    """An order with its lines, their deliveries (a blanket line's releases) and its
    revisions, each with what changed and how it was acknowledged."""
    with caller(request) as viewer:
        order = access.order_or_404(viewer, number)
        view = selectors.order_page(viewer, order)
        lines = [
            {
                "line_number": lv.line.line_number,
                "part_number": lv.line.item.part_number if lv.line.item else None,
                "description": lv.line.description,
                "vendor_part_number": lv.line.vendor_part_number,
                "unit_of_measure": lv.line.unit_of_measure,
                "quantity": lv.line.quantity,
                "unit_price": lv.line.unit_price,
                "status": lv.line.status,
                "released_quantity": lv.released,
                "received_quantity": lv.received,
                "invoiced_quantity": lv.invoiced,
                "open_quantity": lv.open_quantity,
                "remaining_quantity": lv.remaining,
                "deliveries": [_delivery(d, lv.line.line_number) for d in lv.deliveries],
            }
            for lv in view.lines
        ]
        history = [
            {
                "number": revision.number,
                "created_at": revision.created_at,
                "reason": revision.reason,
                "acknowledgement": (
                    view.acknowledgements[revision.number].response
                    if revision.number in view.acknowledgements
                    else None
                ),
                "changes": [
                    revisions.describe_change(c)
                    for c in revisions.visible_changes(revision.changes)
                ],
            }
            for revision in view.revisions
        ]
        return {
            **_order_summary(order, view.current_acknowledged),
            "total_amount": view.totals["amount"],
            "lines": lines,
            "revisions": history,
        }


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
def list_open_deliveries(request: HttpRequest, filters: Query[DeliveryFilters]) -> dict[str, Any]:
    """Every open delivery (schedule line or release) on issued orders: the open-lines
    table of the portal."""
    with caller(request) as viewer:
        queryset = (
            selectors.open_deliveries(viewer, selectors.OpenLineFilters())
            .select_related("order", "line__item")
            .annotate(acknowledged=access.current_revision_acknowledged_for("order"))
        )
        if filters.order_number:
            queryset = queryset.filter(order__number=filters.order_number)
        if filters.due_before:
            queryset = queryset.filter(due_date__lt=filters.due_before)
        rows, cursor = page(queryset, cursor=filters.cursor, limit=_limit(filters.limit))
        items = []
        for d in rows:
            line = d.line
            items.append(
                {
                    **_delivery(d, line.line_number),
                    "order_number": d.order.number,
                    "part_number": line.item.part_number if line.item else None,
                    "description": line.description,
                    "vendor_part_number": line.vendor_part_number,
                    "unit_of_measure": line.unit_of_measure,
                    "unit_price": line.unit_price,
                    "revision_acknowledged": bool(d.acknowledged),  # type: ignore[attr-defined]
                }
            )
        return {"items": items, "next_cursor": cursor}


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
