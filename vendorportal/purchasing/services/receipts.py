"""Receipts and returns: goods received against open deliveries, and sent back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

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
    Receipt,
    ReceiptKind,
    ReceiptLine,
    ShipNotice,
)
from vendorportal.purchasing.services.editor import (
    _Editor,
    _fmt,
    _lock_order,
    _tolerance,
    max_receivable,
)
from vendorportal.purchasing.services.inputs import (
    ReceiptLineInput,
)
from vendorportal.purchasing.services.invoices import _rematch_invoices
from vendorportal.purchasing.services.shipments import (
    after_receipt,
    check_receivable,
)
from vendorportal.scoping import service

# ---------------------------------------------------------------------------------------
# Receipts and returns
# ---------------------------------------------------------------------------------------


def _receipt_number(order: PurchaseOrder, prefix: str) -> str:
    # The order row is locked, so counting its receipts gives a unique next number.
    count = Receipt.objects.filter(order=order).count()
    return f"{prefix}-{order.number}-{count + 1}"


def _check_receipt_lines(
    order: PurchaseOrder, lines: Sequence[ReceiptLineInput], editor: _Editor
) -> list[tuple[Delivery, Decimal]]:
    if not lines:
        raise DomainError("A receipt needs at least one line.", field="lines")
    by_pk = {d.pk: d for per in editor.deliveries.values() for d in per.values()}
    seen: set[int] = set()
    result = []
    for entry in lines:
        delivery = by_pk.get(entry.delivery.pk)
        if delivery is None:
            raise DomainError(
                f"That delivery is not on order {order.number}.", field="delivery", code="not_found"
            )
        if delivery.pk in seen:
            raise DomainError(
                f"Line {delivery.line.line_number} delivery {delivery.delivery_number} is listed "
                "twice; enter it once with the total quantity.",
                field="delivery",
            )
        seen.add(delivery.pk)
        label = f"Line {delivery.line.line_number} delivery {delivery.delivery_number} quantity"
        result.append(
            (delivery, rules.decimal(entry.quantity, field="quantity", label=label, positive=True))
        )
    return result


@service
def receipt_record(
    *,
    order: PurchaseOrder,
    lines: Sequence[ReceiptLineInput],
    by: User | None,
    receipt_date: dt.date | None = None,
    packing_slip: str = "",
    number: str | None = None,
    external_id: str | None = None,
    ship_notice: ShipNotice | None = None,
) -> Receipt:
    """Receive goods against open deliveries; over-receipt beyond the tolerance is refused.

    A delivery received in full closes; a line whose deliveries are all closed closes; an
    order whose lines are all closed closes. Received against a ship notice, the notice
    moves to received (in part or in full) and its differences go into the event.
    """
    order = _lock_order(order)
    if ship_notice is not None:
        ship_notice = ShipNotice.objects.get(pk=ship_notice.pk)
        check_receivable(ship_notice, order)
    if order.status != OrderStatus.ISSUED:
        raise DomainError(
            f"Order {order.number} is {order.get_status_display().lower()}; goods "
            "can be received only on an issued order.",
            field="order",
        )
    editor = _Editor.load(order)
    entries = _check_receipt_lines(order, lines, editor)
    for delivery, quantity in entries:
        where = f"Line {delivery.line.line_number} delivery {delivery.delivery_number}"
        if delivery.status != LineStatus.OPEN:
            raise DomainError(
                f"{where} is {delivery.status}; nothing more can be received on it.",
                field="delivery",
            )
        limit = max_receivable(delivery)
        if delivery.received_quantity + quantity > limit:
            raise DomainError(
                f"{where}: receiving {_fmt(quantity)} would bring the total to "
                f"{_fmt(delivery.received_quantity + quantity)}, beyond the "
                f"{_fmt(delivery.quantity)} ordered plus {_fmt(_tolerance())}% tolerance "
                f"(at most {_fmt(limit - delivery.received_quantity)} more).",
                field="quantity",
                code="over_receipt",
            )
        delivery.received_quantity += quantity
        editor.touch(delivery)
    if number and Receipt.objects.filter(number=number).exists():
        raise DomainError(
            f"A receipt numbered {number} already exists.", field="number", code="duplicate"
        )
    # Checked under the order's lock, like the number: the same receipt sent twice at once
    # is refused by name instead of failing on the unique index.
    if external_id and Receipt.objects.filter(external_id=external_id).exists():
        raise DomainError(
            f"A receipt with external id {external_id} already exists.",
            field="external_id",
            code="duplicate",
        )
    receipt = Receipt.objects.create(
        number=rules.text(number, field="number", label="Receipt number", max_length=32)
        or _receipt_number(order, "GR"),
        vendor_id=order.vendor_id,
        order=order,
        kind=ReceiptKind.RECEIPT,
        receipt_date=receipt_date or timezone.localdate(),
        packing_slip=rules.text(
            packing_slip, field="packing_slip", label="Packing slip", max_length=100
        ),
        external_id=external_id or None,
        ship_notice=ship_notice,
        created_by=by,
    )
    ReceiptLine.objects.bulk_create(
        ReceiptLine(
            receipt=receipt,
            vendor_id=order.vendor_id,
            delivery=delivery,
            line=delivery.line,
            quantity=quantity,
        )
        for delivery, quantity in entries
    )
    editor.refresh_statuses()
    against = ""
    if ship_notice is not None:
        rows = after_receipt(ship_notice, editor)
        differences = reconcile.describe(rows, _fmt)
        against = (
            f" against ship notice {ship_notice.number} ({ship_notice.get_status_display().lower()}"
            + (f"; {differences})" if differences else ", as announced)")
        )
    editor.save()
    _rematch_invoices({delivery.line.pk for delivery, _ in entries})
    total = sum((q for _, q in entries), ZERO)
    record_event(
        kind="receipt.recorded",
        vendor_id=order.vendor_id,
        order_id=order.pk,
        actor=by,
        summary=f"Receipt {receipt.number}: {_fmt(total)} received on {len(entries)} "
        f"deliver{'y' if len(entries) == 1 else 'ies'}"
        + (f" (packing slip {receipt.packing_slip})" if receipt.packing_slip else "")
        + against
        + ("; order closed" if order.status == OrderStatus.CLOSED else ""),
        data={
            "order": order.number,
            "receipt": receipt.number,
            "deliveries": [d.pk for d, _ in entries],
            **({"against_notice": ship_notice.pk} if ship_notice is not None else {}),
        },
    )
    return receipt


@service
def return_record(
    *,
    order: PurchaseOrder,
    lines: Sequence[ReceiptLineInput],
    reason: str,
    by: User | None,
    return_date: dt.date | None = None,
    number: str | None = None,
    external_id: str | None = None,
) -> Receipt:
    """Return goods to the vendor: a new receipt entry with negative quantities and a reason.

    The returned quantity is open again (the supplier owes a replacement), so a closed
    delivery, line or order reopens. To not want a replacement, close the line afterwards.
    """
    order = _lock_order(order)
    if order.status not in (OrderStatus.ISSUED, OrderStatus.CLOSED):
        raise DomainError(
            f"Order {order.number} is {order.get_status_display().lower()}; "
            "nothing was received on it.",
            field="order",
        )
    reason = rules.text(
        reason, field="reason", label="Reason for the return", max_length=2000, required=True
    )
    editor = _Editor.load(order)
    entries = _check_receipt_lines(order, lines, editor)
    for delivery, quantity in entries:
        where = f"Line {delivery.line.line_number} delivery {delivery.delivery_number}"
        if quantity > delivery.received_quantity:
            raise DomainError(
                f"{where}: cannot return {_fmt(quantity)}; only "
                f"{_fmt(delivery.received_quantity)} was received.",
                field="quantity",
            )
        delivery.received_quantity -= quantity
        editor.touch(delivery)
    receipt = Receipt.objects.create(
        number=rules.text(number, field="number", label="Return number", max_length=32)
        or _receipt_number(order, "RT"),
        vendor_id=order.vendor_id,
        order=order,
        kind=ReceiptKind.RETURN,
        receipt_date=return_date or timezone.localdate(),
        reason=reason,
        external_id=external_id or None,
        created_by=by,
    )
    ReceiptLine.objects.bulk_create(
        ReceiptLine(
            receipt=receipt,
            vendor_id=order.vendor_id,
            delivery=delivery,
            line=delivery.line,
            quantity=-quantity,
        )
        for delivery, quantity in entries
    )
    editor.refresh_statuses()
    editor.save()
    _rematch_invoices({delivery.line.pk for delivery, _ in entries})
    total = sum((q for _, q in entries), ZERO)
    record_event(
        kind="return.recorded",
        vendor_id=order.vendor_id,
        order_id=order.pk,
        actor=by,
        summary=f"Return {receipt.number}: {_fmt(total)} returned — {reason}",
        data={
            "order": order.number,
            "receipt": receipt.number,
            "deliveries": [d.pk for d, _ in entries],
        },
    )
    return receipt
