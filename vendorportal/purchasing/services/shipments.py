"""Ship notices: the supplier announces a shipment against one order, the buyer receives
against it, and what arrived is reconciled with what was announced.

A notice is a draft (the supplier's own), then submitted (in transit), then received in
part or in full, or closed by the buyer with the difference explained, or cancelled.
While nothing is received against it the supplier may correct or cancel it; every change
is an event (who, when, what) and bumps a submitted notice's version.

What is in transit per delivery (announced on open notices, not yet received against
them) and its latest expected arrival are kept on the delivery by `refresh_in_transit`,
under the order's lock, by these services and the receipt service.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from vendorportal.accounts.models import User
from vendorportal.errors import DomainError
from vendorportal.events.log import record_event
from vendorportal.purchasing import reconcile, rules
from vendorportal.purchasing.models import (
    ZERO,
    Delivery,
    LineStatus,
    OrderStatus,
    PurchaseOrder,
    ReceiptLine,
    ShipNotice,
    ShipNoticeLine,
    ShipNoticeStatus,
)
from vendorportal.purchasing.services.editor import (
    _Editor,
    _fmt,
    _lock_order,
    _tolerance,
    max_receivable,
)
from vendorportal.purchasing.services.inputs import SHIP_NOTICE_FIELDS, ShipNoticeLineInput
from vendorportal.scoping import service

OPEN_STATUSES = (ShipNoticeStatus.SUBMITTED, ShipNoticeStatus.PARTIALLY_RECEIVED)
FIELD_LABELS = {
    "ship_date": "Ship date",
    "expected_date": "Expected arrival",
    "carrier": "Carrier",
    "tracking_number": "Tracking number",
    "packing_slip": "Packing slip",
    "note": "Note",
}
TEXT_LIMITS = {"carrier": 100, "tracking_number": 100, "packing_slip": 100, "note": 2000}

# ---------------------------------------------------------------------------------------
# Who may act
# ---------------------------------------------------------------------------------------


def _require_author(user: User | None, order: PurchaseOrder) -> None:
    """The order's supplier announces its shipments; a buyer may too (a notice keyed in
    from a phone call, or created in the ERP and synced in)."""
    if user is None or user.is_buyer:
        return
    if not user.is_vendor_user or user.vendor_id != order.vendor_id:
        raise DomainError("No such order.", code="not_found")


def _require_buyer(user: User | None) -> None:
    if user is not None and not user.is_buyer:
        raise DomainError("Only a buyer can do this.", code="forbidden")


# ---------------------------------------------------------------------------------------
# What is on its way
# ---------------------------------------------------------------------------------------


def received_against(notice_ids: Sequence[int]) -> dict[int, dict[int, Decimal]]:
    """Per notice, per delivery: the quantity received under it (receipts only)."""
    result: dict[int, dict[int, Decimal]] = defaultdict(dict)
    rows = (
        ReceiptLine.objects.filter(receipt__ship_notice_id__in=list(notice_ids))
        .values_list("receipt__ship_notice_id", "delivery_id")
        .annotate(total=Sum("quantity"))
    )
    for notice_id, delivery_id, total in rows:
        result[notice_id][delivery_id] = total
    return result


def _in_transit(
    order: PurchaseOrder, *, excluding: int | None = None
) -> dict[int, tuple[Decimal, dt.date | None]]:
    """Per delivery of the order: announced on open notices and not yet received against
    them, and the latest expected arrival of those notices (one notice may be left out)."""
    lines = list(
        ShipNoticeLine.objects.filter(notice__order=order, notice__status__in=OPEN_STATUSES)
        .exclude(notice_id=excluding)
        .values_list("notice_id", "delivery_id", "quantity", "notice__expected_date")
    )
    received = received_against(sorted({notice_id for notice_id, *_ in lines}))
    result: dict[int, tuple[Decimal, dt.date | None]] = {}
    for notice_id, delivery_id, quantity, expected in lines:
        still = max(quantity - received[notice_id].get(delivery_id, ZERO), ZERO)
        if not still:
            continue
        total, latest = result.get(delivery_id, (ZERO, None))
        result[delivery_id] = (total + still, max(latest, expected) if latest else expected)
    return result


def refresh_in_transit(editor: _Editor) -> None:
    """Set every delivery's in-transit quantity and expected arrival from the open notices
    (the caller holds the order's lock and saves the editor)."""
    transit = _in_transit(editor.order)
    for per_line in editor.deliveries.values():
        for delivery in per_line.values():
            quantity, expected = transit.get(delivery.pk, (ZERO, None))
            if (delivery.in_transit_quantity, delivery.expected_date) != (quantity, expected):
                delivery.in_transit_quantity, delivery.expected_date = quantity, expected
                editor.touch(delivery)


# ---------------------------------------------------------------------------------------
# Checks (messages name the field, the line and the numbers)
# ---------------------------------------------------------------------------------------


def _check_details(values: dict[str, Any], *, base: ShipNotice | None = None) -> dict[str, Any]:
    """The header fields given, checked; with `base`, unchanged fields come from it."""
    unknown = set(values) - set(SHIP_NOTICE_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise DomainError(f"The ship notice field '{name}' cannot be set here.", field=name)
    checked: dict[str, Any] = {}
    for name in SHIP_NOTICE_FIELDS:
        if name not in values:
            if base is not None:
                checked[name] = getattr(base, name)
            continue
        value = values[name]
        if name in ("ship_date", "expected_date"):
            if value in (None, ""):
                if name == "ship_date":
                    checked[name] = timezone.localdate()
                    continue
                raise DomainError("Expected arrival is required.", field=name)
            checked[name] = rules.date(value, field=name, label=FIELD_LABELS[name])
        else:
            checked[name] = rules.text(
                value, field=name, label=FIELD_LABELS[name], max_length=TEXT_LIMITS[name]
            )
    checked.setdefault("ship_date", timezone.localdate())
    if "expected_date" not in checked:
        raise DomainError("Expected arrival is required.", field="expected_date")
    if checked["expected_date"] < checked["ship_date"]:
        raise DomainError(
            f"Expected arrival {checked['expected_date'].isoformat()} is before the ship date "
            f"{checked['ship_date'].isoformat()}.",
            field="expected_date",
        )
    return checked


def _where(delivery: Delivery) -> str:
    return f"Line {delivery.line.line_number} delivery {delivery.delivery_number}"


def _check_lines(
    editor: _Editor,
    lines: Sequence[ShipNoticeLineInput],
    *,
    excluding: int | None = None,
) -> list[tuple[Delivery, Decimal]]:
    """Each delivery once, open, and the quantity within what is still open minus what
    other notices have in transit (with the over-receipt tolerance)."""
    order = editor.order
    if order.status != OrderStatus.ISSUED:
        raise DomainError(
            f"Order {order.number} is {order.get_status_display().lower()}; shipments can "
            "be announced only on an issued order.",
            field="order",
        )
    if not lines:
        raise DomainError("A ship notice needs at least one line.", field="lines")
    by_pk = {d.pk: d for per in editor.deliveries.values() for d in per.values()}
    transit = _in_transit(order, excluding=excluding)
    seen: set[int] = set()
    result = []
    for entry in lines:
        pk = getattr(entry.delivery, "pk", None)
        delivery = by_pk.get(pk) if isinstance(pk, int) else None
        if delivery is None:
            raise DomainError(
                f"That delivery is not on order {order.number}.", field="delivery", code="not_found"
            )
        where = _where(delivery)
        if delivery.pk in seen:
            raise DomainError(
                f"{where} is listed twice; enter it once with the total quantity.",
                field="delivery",
            )
        seen.add(delivery.pk)
        quantity = rules.decimal(
            entry.quantity, field="quantity", label=f"{where} quantity", positive=True
        )
        if delivery.line.status == LineStatus.CANCELLED or delivery.status != LineStatus.OPEN:
            state = "cancelled" if delivery.line.status == LineStatus.CANCELLED else None
            raise DomainError(
                f"{where} is {state or delivery.status}; nothing more can be shipped on it.",
                field="delivery",
            )
        elsewhere = transit.get(delivery.pk, (ZERO, None))[0]
        room = max(max_receivable(delivery) - delivery.received_quantity - elsewhere, ZERO)
        if quantity > room:
            raise DomainError(
                f"{where}: announcing {_fmt(quantity)} is more than can still come: "
                f"{_fmt(delivery.quantity)} ordered plus {_fmt(_tolerance())}% tolerance, "
                f"{_fmt(delivery.received_quantity)} received, {_fmt(elsewhere)} already in "
                f"transit on other notices (at most {_fmt(room)}).",
                field="quantity",
                code="over_shipment",
            )
        result.append((delivery, quantity))
    return result


def _locked_notice(notice: ShipNotice) -> tuple[ShipNotice, _Editor]:
    order = _lock_order(notice.order)
    fresh = ShipNotice.objects.get(pk=notice.pk)
    fresh.order = order
    return fresh, _Editor.load(order)


def _notice_number(order: PurchaseOrder) -> str:
    # The order row is locked, so counting its notices gives a unique next number.
    count = ShipNotice.objects.filter(order=order).count()
    return f"ASN-{order.number}-{count + 1}"


def _data(notice: ShipNotice, **more: Any) -> dict[str, Any]:
    return {
        "order": notice.order.number,
        "ship_notice": notice.pk,
        "number": notice.number,
        **more,
    }


def _total(entries: Sequence[tuple[Delivery, Decimal]]) -> Decimal:
    return sum((quantity for _, quantity in entries), ZERO)


def _write_lines(notice: ShipNotice, entries: Sequence[tuple[Delivery, Decimal]]) -> None:
    ShipNoticeLine.objects.bulk_create(
        ShipNoticeLine(
            notice=notice,
            vendor_id=notice.vendor_id,
            delivery=delivery,
            line=delivery.line,
            quantity=quantity,
        )
        for delivery, quantity in entries
    )


def _shown(value: Any) -> str:
    if value in (None, ""):
        return "(none)"
    if isinstance(value, dt.date):
        return f"{value.day} {value:%b %Y}"
    if isinstance(value, Decimal):
        return _fmt(value)
    return str(value)


# ---------------------------------------------------------------------------------------
# The notice's life
# ---------------------------------------------------------------------------------------


@service
def ship_notice_create(
    *,
    order: PurchaseOrder,
    lines: Sequence[ShipNoticeLineInput],
    by: User | None,
    submit: bool = True,
    number: str | None = None,
    external_id: str | None = None,
    **details: Any,
) -> ShipNotice:
    """Announce a shipment (or save it as a draft): `details` are the SHIP_NOTICE_FIELDS."""
    _require_author(by, order)
    order = _lock_order(order)
    editor = _Editor.load(order)
    fields = _check_details(details)
    entries = _check_lines(editor, lines)
    number = rules.text(number, field="number", label="Ship notice number", max_length=32)
    if number and ShipNotice.objects.filter(number=number).exists():
        raise DomainError(
            f"A ship notice numbered {number} already exists.", field="number", code="duplicate"
        )
    if external_id and ShipNotice.objects.filter(external_id=external_id).exists():
        raise DomainError(
            f"A ship notice with external id {external_id} already exists.",
            field="external_id",
            code="duplicate",
        )
    now = timezone.now()
    notice = ShipNotice.objects.create(
        number=number or _notice_number(order),
        vendor_id=order.vendor_id,
        order=order,
        status=ShipNoticeStatus.SUBMITTED if submit else ShipNoticeStatus.DRAFT,
        external_id=external_id or None,
        created_by=by,
        submitted_at=now if submit else None,
        **fields,
    )
    _write_lines(notice, entries)
    refresh_in_transit(editor)
    editor.save()
    count = len(entries)
    what = f"{_fmt(_total(entries))} on {count} deliver{'y' if count == 1 else 'ies'}"
    record_event(
        kind="ship_notice.submitted" if submit else "ship_notice.drafted",
        vendor_id=order.vendor_id,
        order_id=order.pk,
        actor=by,
        summary=(
            f"Ship notice {notice.number}: {what} shipped {_shown(notice.ship_date)}, "
            f"expected {_shown(notice.expected_date)}"
            + (f" ({notice.carrier} {notice.tracking_number})".rstrip() if notice.carrier else "")
            if submit
            else f"Ship notice {notice.number} saved as a draft: {what}"
        ),
        data=_data(notice, deliveries=[d.pk for d, _ in entries]),
    )
    return notice


@service
def ship_notice_submit(*, notice: ShipNotice, by: User | None) -> ShipNotice:
    """Send a draft: its quantities are checked again against what is open now."""
    _require_author(by, notice.order)
    notice, editor = _locked_notice(notice)
    if notice.status != ShipNoticeStatus.DRAFT:
        raise DomainError(
            f"Ship notice {notice.number} is {notice.get_status_display().lower()}; only a "
            "draft can be submitted.",
            field="status",
        )
    current = [
        ShipNoticeLineInput(line.delivery, line.quantity)
        for line in notice.lines.select_related("delivery")
    ]
    entries = _check_lines(editor, current, excluding=notice.pk)
    notice.status = ShipNoticeStatus.SUBMITTED
    notice.submitted_at = timezone.now()
    notice.save(update_fields=["status", "submitted_at", "updated_at"])
    refresh_in_transit(editor)
    editor.save()
    record_event(
        kind="ship_notice.submitted",
        vendor_id=notice.vendor_id,
        order_id=notice.order_id,
        actor=by,
        summary=f"Ship notice {notice.number}: {_fmt(_total(entries))} shipped "
        f"{_shown(notice.ship_date)}, expected {_shown(notice.expected_date)}",
        data=_data(notice, deliveries=[d.pk for d, _ in entries]),
    )
    return notice


@service
def ship_notice_correct(
    *,
    notice: ShipNotice,
    by: User | None,
    lines: Sequence[ShipNoticeLineInput] | None = None,
    **details: Any,
) -> ShipNotice:
    """Correct a notice until goods are received against it: header fields and/or lines
    (`lines` replaces them all; None keeps them). A submitted notice's version goes up."""
    _require_author(by, notice.order)
    notice, editor = _locked_notice(notice)
    if not notice.is_changeable:
        raise DomainError(
            f"Ship notice {notice.number} is {notice.get_status_display().lower()}; it can be "
            "corrected only until goods are received against it.",
            field="status",
        )
    fields = _check_details(details, base=notice)
    changes: dict[str, list[Any]] = {}
    for name, value in fields.items():
        if getattr(notice, name) != value:
            changes[name] = [getattr(notice, name), value]
            setattr(notice, name, value)
    old_lines = {line.delivery_id: line for line in notice.lines.select_related("delivery__line")}
    if lines is not None:
        entries = _check_lines(editor, lines, excluding=notice.pk)
        new = {delivery.pk: (delivery, quantity) for delivery, quantity in entries}
        by_pk = {d.pk: d for per in editor.deliveries.values() for d in per.values()}
        for delivery_id in sorted(set(old_lines) | set(new)):
            delivery = by_pk[delivery_id]
            was = old_lines[delivery_id].quantity if delivery_id in old_lines else ZERO
            now = new[delivery_id][1] if delivery_id in new else ZERO
            if was != now:
                changes[f"line {delivery.line.line_number}-{delivery.delivery_number}"] = [
                    was,
                    now,
                ]
        # In place: a line keeps its id while its quantity changes.
        gone = [line.pk for pk, line in old_lines.items() if pk not in new]
        if gone:
            ShipNoticeLine.objects.filter(pk__in=gone).delete()
        for delivery_id, (_, quantity) in new.items():
            line = old_lines.get(delivery_id)
            if line is not None and line.quantity != quantity:
                line.quantity = quantity
                line.save(update_fields=["quantity"])
        _write_lines(notice, [(d, q) for d, q in entries if d.pk not in old_lines])
    if not changes:
        raise DomainError(
            f"Nothing changed on ship notice {notice.number}.", field="lines", code="unchanged"
        )
    if notice.status == ShipNoticeStatus.SUBMITTED:
        notice.version += 1
    notice.save()
    refresh_in_transit(editor)
    editor.save()
    words = "; ".join(
        f"{FIELD_LABELS.get(key) or key.capitalize() + ' quantity'} {_shown(old)} → "
        f"{_shown(new_value)}"
        for key, (old, new_value) in changes.items()
    )
    record_event(
        kind="ship_notice.corrected",
        vendor_id=notice.vendor_id,
        order_id=notice.order_id,
        actor=by,
        summary=f"Ship notice {notice.number}"
        + (f" corrected (version {notice.version})" if notice.submitted_at else " draft changed")
        + f": {words}",
        data=_data(notice, version=notice.version),
        changes={
            key: [_plain(old), _plain(new_value)] for key, (old, new_value) in changes.items()
        },
    )
    return notice


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


@service
def ship_notice_cancel(*, notice: ShipNotice, by: User | None, reason: str = "") -> ShipNotice:
    """Withdraw a notice nothing was received against: its quantities are no longer in transit."""
    _require_author(by, notice.order)
    notice, editor = _locked_notice(notice)
    if not notice.is_changeable:
        raise DomainError(
            f"Ship notice {notice.number} is {notice.get_status_display().lower()}; it can be "
            "cancelled only until goods are received against it.",
            field="status",
        )
    reason = rules.text(reason, field="reason", label="Reason", max_length=2000)
    notice.status = ShipNoticeStatus.CANCELLED
    notice.closed_reason = reason
    notice.closed_at = timezone.now()
    notice.save()
    refresh_in_transit(editor)
    editor.save()
    record_event(
        kind="ship_notice.cancelled",
        vendor_id=notice.vendor_id,
        order_id=notice.order_id,
        actor=by,
        summary=f"Ship notice {notice.number} cancelled" + (f": {reason}" if reason else ""),
        data=_data(notice),
    )
    return notice


@service
def ship_notice_close(*, notice: ShipNotice, by: User | None, reason: str) -> ShipNotice:
    """The buyer closes a notice that arrived short (or not at all), saying why: what was
    not received is no longer in transit, and the difference stays on the notice."""
    _require_buyer(by)
    notice, editor = _locked_notice(notice)
    if not notice.is_open:
        raise DomainError(
            f"Ship notice {notice.number} is {notice.get_status_display().lower()}; only a "
            "notice in transit or received in part can be closed.",
            field="status",
        )
    reason = rules.text(reason, field="reason", label="Reason", max_length=2000, required=True)
    rows = notice_rows(notice)
    notice.status = ShipNoticeStatus.CLOSED
    notice.closed_reason = reason
    notice.closed_at = timezone.now()
    notice.save()
    refresh_in_transit(editor)
    editor.save()
    differences = reconcile.describe(rows, _fmt) or "nothing received"
    record_event(
        kind="ship_notice.closed",
        vendor_id=notice.vendor_id,
        order_id=notice.order_id,
        actor=by,
        summary=f"Ship notice {notice.number} closed with difference ({differences}): {reason}",
        data=_data(notice),
    )
    return notice


def notice_rows(notice: ShipNotice) -> list[reconcile.Row]:
    """The notice's reconciliation rows (announced vs received against it)."""
    announced = [
        (line.delivery, line.quantity) for line in notice.lines.select_related("delivery__line")
    ]
    received = received_against([notice.pk]).get(notice.pk, {})
    deliveries = {d.pk: d for d, _ in announced}
    missing = [pk for pk in received if pk not in deliveries]
    deliveries.update(Delivery.objects.select_related("line").in_bulk(missing))
    return reconcile.differences(
        announced,
        {pk: (deliveries[pk], quantity) for pk, quantity in received.items()},
        anything_received=bool(received),
    )


def after_receipt(notice: ShipNotice, editor: _Editor) -> list[reconcile.Row]:
    """Called by the receipt service, in its transaction, after goods were received
    against `notice`: move the notice's status and what is in transit."""
    rows = notice_rows(notice)
    if reconcile.fully_received(rows):
        notice.status = ShipNoticeStatus.RECEIVED
        notice.closed_at = timezone.now()
    else:
        notice.status = ShipNoticeStatus.PARTIALLY_RECEIVED
    notice.save(update_fields=["status", "closed_at", "updated_at"])
    refresh_in_transit(editor)
    return rows


def check_receivable(notice: ShipNotice, order: PurchaseOrder) -> None:
    """Goods can be received against a notice of this order that is on its way."""
    if notice.order_id != order.pk:
        raise DomainError(
            f"Ship notice {notice.number} is not on order {order.number}.",
            field="ship_notice",
            code="not_found",
        )
    if not notice.is_open:
        raise DomainError(
            f"Ship notice {notice.number} is {notice.get_status_display().lower()}; goods can "
            "be received against a notice only while it is in transit or received in part.",
            field="ship_notice",
        )
