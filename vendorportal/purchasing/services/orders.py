"""Orders and releases: create, issue, revise, call off, close and cancel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from vendorportal.accounts.models import User
from vendorportal.audit import log as audit
from vendorportal.errors import DomainError
from vendorportal.events.log import record_event
from vendorportal.purchasing import rules
from vendorportal.purchasing.models import (
    Delivery,
    Line,
    LineStatus,
    OrderKind,
    OrderStatus,
    PurchaseOrder,
    Vendor,
)
from vendorportal.purchasing.services.editor import (
    _Editor,
    _lock_order,
    _record_revision,
    _summary,
)
from vendorportal.purchasing.services.inputs import (
    LineInput,
    OrderChange,
    Release,
    SetHeader,
)
from vendorportal.purchasing.services.invoices import _rematch_invoices
from vendorportal.purchasing.states import (
    ORDER_TRANSITIONS,
    check_transition,
)
from vendorportal.scoping import service

# ---------------------------------------------------------------------------------------
# Orders
# ---------------------------------------------------------------------------------------


# Any fixed 64-bit key: the advisory lock below is taken on this number.
ORDER_CREATION_LOCK = 0x504F_4E554D  # "PONUM"


def lock_order_creation() -> None:
    """Serialise order creation until this transaction ends.

    The next PO number is read from the highest existing one, and a new order's number
    and external id are checked for duplicates before the insert: two creations at once
    would read the same highest number (or both find no duplicate) and the unique index
    would refuse one of them with an IntegrityError. On PostgreSQL a transaction-scoped
    advisory lock makes them take turns (the second then sees the first's order); SQLite
    already runs one write transaction at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ORDER_CREATION_LOCK])


def _next_order_number() -> str:
    numbers = PurchaseOrder.objects.filter(number__startswith="PO-").values_list(
        "number", flat=True
    )
    highest = max((int(n[3:]) for n in numbers if n[3:].isdigit()), default=100000)
    return f"PO-{highest + 1}"


@service
def order_create(
    *,
    vendor: Vendor,
    by: User | None,
    lines: Sequence[LineInput] = (),
    kind: str = OrderKind.STANDARD,
    number: str | None = None,
    order_date: dt.date | None = None,
    buyer: User | None = None,
    currency: str = "USD",
    payment_terms: str = "",
    incoterms: str = "",
    ship_to: str = "",
    notes_to_vendor: str = "",
    internal_notes: str = "",
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
    external_id: str | None = None,
    issue: bool = False,
    reason: str = "",
) -> PurchaseOrder:
    """Create a draft order. Drafts are edited freely and are not shown to the supplier.

    `issue=True` creates it issued, as `order_issue` right after would (revision 1, one
    "order.issued" event) but without reading back what was just written: the ERP sync
    creates thousands of orders this way.
    """
    if kind not in OrderKind.values:
        raise DomainError(f"'{kind}' is not an order kind (standard or blanket).", field="kind")
    if not vendor.active:
        raise DomainError(f"Vendor {vendor.code} is inactive; no new orders.", field="vendor")
    lock_order_creation()
    number = rules.identifier(number, field="number", label="Order number", required=False) or (
        _next_order_number()
    )
    if PurchaseOrder.objects.filter(number=number).exists():
        raise DomainError(
            f"An order numbered {number} already exists.", field="number", code="duplicate"
        )
    if external_id and PurchaseOrder.objects.filter(external_id=external_id).exists():
        raise DomainError(
            f"An order with external id {external_id} already exists.",
            field="external_id",
            code="duplicate",
        )
    order = PurchaseOrder.objects.create(
        number=number,
        vendor=vendor,
        buyer=buyer or by,
        kind=kind,
        order_date=order_date or timezone.localdate(),
        external_id=external_id or None,
    )
    editor = _Editor(order=order)  # a new order: nothing to load
    header = {
        "currency": currency,
        "payment_terms": payment_terms,
        "incoterms": incoterms,
        "ship_to": ship_to,
        "notes_to_vendor": notes_to_vendor,
        "internal_notes": internal_notes,
        "valid_from": valid_from,
        "valid_to": valid_to,
    }
    for name, value in header.items():
        editor.apply(SetHeader(name, value))
    for data in lines:
        editor.add_line(data)
    editor.validate()
    if issue:
        _check_issuable(editor)
        order.status = OrderStatus.ISSUED
        order.issued_at = timezone.now()
    editor.save()
    if issue:
        _record_issue(editor, by=by, reason=reason)
        return order
    record_event(
        kind="order.created",
        vendor_id=vendor.pk,
        order_id=order.pk,
        actor=by,
        internal=True,
        summary=f"Draft {order.number} created with {len(lines)} line(s).",
        data={"order": order.number},
    )
    return order


@service
def order_issue(*, order: PurchaseOrder, by: User | None, reason: str = "") -> PurchaseOrder:
    """Send a draft to the supplier as revision 1 (its change list is the whole order)."""
    order = _lock_order(order)
    if order.status != OrderStatus.DRAFT:
        raise DomainError(
            f"Order {order.number} is already {order.get_status_display().lower()}; only a "
            "draft can be issued.",
            field="status",
        )
    editor = _Editor.load(order)
    _check_issuable(editor)
    editor.validate()
    order.status = OrderStatus.ISSUED
    order.issued_at = timezone.now()
    order.save()
    _record_issue(editor, by=by, reason=reason)
    return order


def _check_issuable(editor: _Editor) -> None:
    if not any(line.status != LineStatus.CANCELLED for line in editor.lines.values()):
        raise DomainError(f"Order {editor.order.number} has no lines to issue.", field="lines")


def _record_issue(editor: _Editor, *, by: User | None, reason: str) -> None:
    """Revision 1 of a just-issued order (its change list is the whole order), and the event."""
    order = editor.order
    revision, changes = _record_revision(editor, by=by, reason=reason or "Issued")
    if revision is None:  # pragma: no cover - an order with lines always differs from empty
        raise DomainError(f"Order {order.number} has nothing to issue.")
    record_event(
        kind="order.issued",
        vendor_id=order.vendor_id,
        order_id=order.pk,
        actor=by,
        revision=revision.number,
        summary=f"Order {order.number} issued with {len(editor.lines)} line(s).",
        data={"order": order.number, "revision": revision.number},
        changes=audit.revision_changes(changes),
    )


def _revise(
    order: PurchaseOrder,
    *,
    by: User | None,
    reason: str,
    kind: str,
    summary: str | None,
    edit: Any,
    data: dict[str, Any] | None = None,
    draft_kind: str = "order.draft_updated",
) -> PurchaseOrder:
    """Shared body of every order edit: lock, edit in memory, validate, save, record."""
    order = _lock_order(order)
    if order.status == OrderStatus.CANCELLED:
        raise DomainError(f"Order {order.number} is cancelled.", field="order")
    editor = _Editor.load(order)
    edit(editor)
    editor.validate()
    editor.refresh_statuses()
    if not editor.dirty and not editor.new_lines and not editor.new_deliveries:
        raise DomainError("Nothing to change: the values are the same as before.", code="no_change")
    editor.save()
    if order.issued_at is None:
        # Never issued: the supplier has not seen it, so there is no revision to tell.
        record_event(
            kind=draft_kind,
            vendor_id=order.vendor_id,
            order_id=order.pk,
            actor=by,
            internal=True,
            summary=summary or f"Draft {order.number} edited.",
            data={"order": order.number, **(data or {})},
            changes=editor.edits,
        )
        return order
    revision, changes = _record_revision(editor, by=by, reason=reason)
    if revision is None:
        # Only internal fields changed: the supplier is not told, buyers see it.
        record_event(
            kind="order.internal_updated",
            vendor_id=order.vendor_id,
            order_id=order.pk,
            actor=by,
            internal=True,
            summary=summary or f"Internal details of {order.number} edited.",
            data={"order": order.number, **(data or {})},
            changes=editor.edits,
        )
    else:
        record_event(
            kind=kind,
            vendor_id=order.vendor_id,
            order_id=order.pk,
            actor=by,
            revision=revision.number,
            summary=summary or f"Revision {revision.number}: {_summary(changes)}",
            changes={**editor.edits, **audit.revision_changes(changes)},
            data={"order": order.number, "revision": revision.number, **(data or {})},
        )
    _rematch_invoices(line.pk for line in editor.lines.values())
    return order


@service
def order_revise(
    *,
    order: PurchaseOrder,
    changes: Sequence[OrderChange],
    by: User | None,
    reason: str = "",
    event_kind: str = "order.revised",
    event_summary: str | None = None,
    event_data: dict[str, Any] | None = None,
) -> PurchaseOrder:
    """Apply buyer changes. An issued order gets revision + 1 with the list of changes;
    a draft is edited without revisions.

    A service that revises on behalf of another action (accepting a supplier's proposal)
    names its own event, so the one write still records exactly one event.
    """
    if not changes:
        raise DomainError("Nothing to change.", code="no_change")

    def edit(editor: _Editor) -> None:
        for change in changes:
            editor.apply(change)

    return _revise(
        order,
        by=by,
        reason=reason,
        kind=event_kind,
        summary=event_summary,
        edit=edit,
        data=event_data,
    )


@service
def call_off(
    *,
    order: PurchaseOrder,
    releases: Sequence[Release],
    by: User | None,
    reason: str = "",
) -> list[Delivery]:
    """Release several quantities of a blanket order at once (a call-off, an MRP run): one
    revision, so the supplier acknowledges the call-off once. Each release is refused
    beyond its line's committed quantity, and then none is made."""
    if order.kind != OrderKind.BLANKET:
        raise DomainError(
            f"Order {order.number} is not a blanket order; add a delivery instead.", field="line"
        )
    if not releases:
        raise DomainError("Release at least one quantity.", field="releases")
    added: list[Delivery] = []

    def edit(editor: _Editor) -> None:
        for release in releases:
            added.append(
                editor.add_delivery(editor.line(release.line), release.quantity, release.due_date)
            )

    lines = sorted({release.line for release in releases})
    _revise(
        order,
        by=by,
        reason=reason
        or (f"Call-off: {len(releases)} releases" if len(releases) > 1 else "Release added"),
        kind="release.added",
        summary=None,
        edit=edit,
        data={"lines": lines, "releases": len(releases)},
    )
    return added


@service
def release_add(
    *,
    line: Line,
    quantity: Decimal,
    due_date: dt.date,
    by: User | None,
    reason: str = "",
) -> Delivery:
    """Add one release to a blanket line (a call-off of one)."""
    (added,) = call_off(
        order=line.order,
        releases=[Release(line.line_number, quantity, due_date)],
        by=by,
        reason=reason,
    )
    return added


@service
def line_close(*, line: Line, by: User | None, reason: str = "") -> Line:
    number = line.line_number

    def edit(editor: _Editor) -> None:
        editor.short_close_line(editor.line(number))

    order = _revise(
        line.order,
        by=by,
        reason=reason or f"Line {number} closed",
        kind="line.closed",
        summary=None,
        edit=edit,
        data={"line": number},
    )
    return order.lines.get(line_number=number)


@service
def line_cancel(*, line: Line, by: User | None, reason: str = "") -> Line:
    number = line.line_number

    def edit(editor: _Editor) -> None:
        editor.cancel_line(editor.line(number))

    order = _revise(
        line.order,
        by=by,
        reason=reason or f"Line {number} cancelled",
        kind="line.cancelled",
        summary=None,
        edit=edit,
        data={"line": number},
    )
    return order.lines.get(line_number=number)


@service
def order_close(*, order: PurchaseOrder, by: User | None, reason: str = "") -> PurchaseOrder:
    """Close an issued order: every open line is closed (what is not received is not wanted)."""

    def edit(editor: _Editor) -> None:
        if editor.order.status != OrderStatus.ISSUED:
            raise DomainError(
                f"Order {editor.order.number} is {editor.order.get_status_display().lower()}; "
                "only an issued order can be closed.",
                field="status",
            )
        if all(editor.received(line) == 0 for line in editor.lines.values()):
            raise DomainError(
                f"Nothing was received on {editor.order.number}; cancel it instead of closing.",
                field="status",
            )
        for line in editor.lines.values():
            if line.status == LineStatus.OPEN:
                editor.short_close_line(line)

    return _revise(
        order,
        by=by,
        reason=reason or "Order closed",
        kind="order.closed",
        summary=f"Order {order.number} closed: what is not yet received is no longer wanted.",
        edit=edit,
    )


@service
def order_cancel(*, order: PurchaseOrder, by: User | None, reason: str = "") -> PurchaseOrder:
    """Cancel an order with nothing received (a draft is simply withdrawn)."""

    def edit(editor: _Editor) -> None:
        check_transition(
            ORDER_TRANSITIONS,
            f"Order {editor.order.number}",
            editor.order.status,
            OrderStatus.CANCELLED,
        )
        for line in editor.lines.values():
            if line.status != LineStatus.CANCELLED:
                editor.cancel_line(line)
        editor.order.status = OrderStatus.CANCELLED
        editor.touch(editor.order)

    return _revise(
        order,
        by=by,
        reason=reason or "Order cancelled",
        kind="order.cancelled",
        summary=f"Order {order.number} cancelled.",
        edit=edit,
        draft_kind="order.cancelled",
    )
