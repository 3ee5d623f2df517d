"""The only write path for acknowledgements, proposals, comments and confirmations.

Same contract as the purchasing services: keyword-only, one transaction, one event per
successful call, `DomainError` and an untouched database for a refused one. Each service
also checks who is acting (a supplier acts only on its own vendor's orders; only buyers
decide proposals or write internal comments), so a view that forgot a check still cannot
cross the line.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from vendorportal.accounts.models import User
from vendorportal.collaboration.models import (
    Acknowledgement,
    AcknowledgementResponse,
    ChangeProposal,
    Comment,
    ProposalStatus,
)
from vendorportal.errors import DomainError
from vendorportal.events.log import record_event
from vendorportal.purchasing import rules
from vendorportal.purchasing import services as purchasing
from vendorportal.purchasing.models import (
    Delivery,
    Line,
    LineStatus,
    OrderStatus,
    PurchaseOrder,
)
from vendorportal.scoping import service

COMMENT_MAX = 5000


def _require_supplier_of(user: User, order: PurchaseOrder) -> None:
    if not user.is_vendor_user or user.vendor_id != order.vendor_id:
        # Same words as a missing order: no hint that it exists.
        raise DomainError("No such order.", code="not_found")


def _require_buyer(user: User) -> None:
    if not user.is_buyer:
        raise DomainError("Only a buyer can do this.", code="forbidden")


def _require_party(user: User, order: PurchaseOrder) -> None:
    if not user.is_buyer:
        _require_supplier_of(user, order)


def _locked(order: PurchaseOrder) -> PurchaseOrder:
    return PurchaseOrder.objects.select_for_update().get(pk=order.pk)


def _fmt(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value.normalize():,f}"
    if isinstance(value, dt.date):
        return f"{value:%d %b %Y}"
    return str(value)


# ---------------------------------------------------------------------------------------
# Acknowledgements and confirmations
# ---------------------------------------------------------------------------------------


@service
def acknowledgement_record(
    *,
    order: PurchaseOrder,
    revision: int,
    response: str,
    by: User,
    comment: str = "",
) -> Acknowledgement:
    """A supplier answers the current revision. A stale revision is refused by name."""
    _require_supplier_of(by, order)
    order = _locked(order)
    if response not in AcknowledgementResponse.values:
        raise DomainError("Choose accepted, accepted with changes or rejected.", field="response")
    if order.status not in (OrderStatus.ISSUED, OrderStatus.CLOSED):
        raise DomainError(
            f"Order {order.number} is {order.get_status_display().lower()}; there is nothing "
            "to acknowledge.",
            field="revision",
        )
    if revision != order.revision:
        raise DomainError(
            f"Revision {revision} of {order.number} is no longer current: the order is at "
            f"revision {order.revision}. Review revision {order.revision} and acknowledge that.",
            field="revision",
            code="stale_revision",
        )
    comment = rules.text(
        comment,
        field="comment",
        label="A comment",
        required=response != AcknowledgementResponse.ACCEPTED,
        max_length=COMMENT_MAX,
    )
    existing = Acknowledgement.objects.filter(order=order, revision=revision).first()
    if existing is not None:
        raise DomainError(
            f"Revision {revision} of {order.number} was already acknowledged "
            f"({existing.get_response_display().lower()}).",
            field="revision",
            code="already_acknowledged",
        )
    ack = Acknowledgement.objects.create(
        order=order,
        vendor_id=order.vendor_id,
        revision=revision,
        response=response,
        comment=comment,
        user=by,
    )
    order.save(update_fields=["updated_at"])
    record_event(
        kind="acknowledgement.recorded",
        vendor_id=order.vendor_id,
        order_id=order.pk,
        actor=by,
        revision=revision,
        summary=f"Revision {revision} {ack.get_response_display().lower()} by {by.display_name}"
        + (f": {comment}" if comment else ""),
        data={"order": order.number, "revision": revision, "response": response},
        changes={"acknowledgement": [None, response], "comment": [None, comment]},
    )
    return ack


@service
def delivery_confirm(*, delivery: Delivery, by: User) -> Delivery:
    """The supplier confirms it will deliver as scheduled: promised date = due date."""
    order = delivery.order
    _require_supplier_of(by, order)
    order = _locked(order)
    delivery = Delivery.objects.select_related("line").get(pk=delivery.pk)
    where = f"Line {delivery.line.line_number} delivery {delivery.delivery_number}"
    if order.status != OrderStatus.ISSUED or delivery.status != LineStatus.OPEN:
        raise DomainError(f"{where} is not open; there is nothing to confirm.", field="delivery")
    if delivery.promised_date == delivery.due_date:
        raise DomainError(
            f"{where} is already confirmed for {_fmt(delivery.due_date)}.", field="delivery"
        )
    promised_before = delivery.promised_date
    delivery.promised_date = delivery.due_date
    delivery.save(update_fields=["promised_date", "updated_at"])
    order.save(update_fields=["updated_at"])
    record_event(
        kind="delivery.confirmed",
        vendor_id=order.vendor_id,
        order_id=order.pk,
        actor=by,
        summary=f"{where} confirmed for {_fmt(delivery.due_date)} by {by.display_name}",
        data={"order": order.number, "delivery": delivery.pk, "line": delivery.line.line_number},
        changes={
            f"line {delivery.line.line_number}.delivery {delivery.delivery_number}.promised_date": [
                promised_before,
                delivery.promised_date,
            ]
        },
    )
    return delivery


# ---------------------------------------------------------------------------------------
# Change proposals
# ---------------------------------------------------------------------------------------


@service
def proposal_create(
    *,
    order: PurchaseOrder,
    line: Line,
    by: User,
    reason: str,
    delivery: Delivery | None = None,
    due_date: dt.date | None = None,
    quantity: Decimal | None = None,
    unit_price: Decimal | None = None,
) -> ChangeProposal:
    """A supplier proposes a new due date or quantity (of a delivery) or price (of a line).

    The order is not changed: the proposal waits for the buyer.
    """
    _require_supplier_of(by, order)
    order = _locked(order)
    line = Line.objects.get(pk=line.pk)
    if line.order_id != order.pk or (delivery is not None and delivery.line_id != line.pk):
        raise DomainError("No such line or delivery on this order.", code="not_found")
    if order.status != OrderStatus.ISSUED:
        raise DomainError(
            f"Order {order.number} is {order.get_status_display().lower()}; changes can be "
            "proposed only on an issued order.",
            field="order",
        )
    if line.status != LineStatus.OPEN:
        raise DomainError(f"Line {line.line_number} is {line.status}.", field="line")
    reason = rules.text(
        reason, field="reason", label="A reason", required=True, max_length=COMMENT_MAX
    )
    if due_date is None and quantity is None and unit_price is None:
        raise DomainError("Propose a new due date, quantity or unit price.", field="due_date")
    # The same rules as the order's own fields, whichever entrance the proposal came by.
    if due_date is not None:
        due_date = rules.date(due_date, field="due_date", label="The proposed due date")
    if quantity is not None:
        quantity = rules.decimal(
            quantity, field="quantity", label="The proposed quantity", positive=True
        )
    if unit_price is not None:
        unit_price = rules.decimal(
            unit_price, field="unit_price", label="The proposed unit price", positive=False
        )
    if delivery is None and (due_date is not None or quantity is not None):
        raise DomainError(
            "A new due date or quantity is proposed for a delivery; choose one.", field="delivery"
        )
    current_due = current_qty = None
    if delivery is not None:
        delivery = Delivery.objects.get(pk=delivery.pk)
        if delivery.status != LineStatus.OPEN:
            raise DomainError(
                f"Line {line.line_number} delivery {delivery.delivery_number} is "
                f"{delivery.status}; nothing can be proposed on it.",
                field="delivery",
            )
        current_due, current_qty = delivery.due_date, delivery.quantity
        if quantity is not None and quantity <= 0:
            raise DomainError("The proposed quantity must be greater than zero.", field="quantity")
        if quantity is not None and quantity < delivery.received_quantity:
            raise DomainError(
                f"{_fmt(delivery.received_quantity)} is already received; the proposed quantity "
                "cannot be less.",
                field="quantity",
            )
    if unit_price is not None and unit_price < 0:
        raise DomainError("The proposed unit price must not be negative.", field="unit_price")
    if due_date == current_due:
        due_date = None
    if quantity == current_qty:
        quantity = None
    if unit_price == line.unit_price:
        unit_price = None
    if due_date is None and quantity is None and unit_price is None:
        raise DomainError(
            "The proposal is the same as the order; confirm the delivery instead.",
            field="due_date",
        )
    pending = ChangeProposal.objects.filter(
        order=order, line=line, delivery=delivery, status=ProposalStatus.PENDING
    )
    if pending.exists():
        raise DomainError(
            "A proposal for this is already waiting for the buyer; withdraw it to propose "
            "something else.",
            field="delivery" if delivery else "line",
            code="duplicate",
        )
    proposal = ChangeProposal.objects.create(
        order=order,
        vendor_id=order.vendor_id,
        line=line,
        delivery=delivery,
        proposed_due_date=due_date,
        proposed_quantity=quantity,
        proposed_unit_price=unit_price,
        current_due_date=current_due if due_date is not None else None,
        current_quantity=current_qty if quantity is not None else None,
        current_unit_price=line.unit_price if unit_price is not None else None,
        reason=reason,
        revision=order.revision,
        created_by=by,
    )
    order.save(update_fields=["updated_at"])
    record_event(
        kind="proposal.created",
        vendor_id=order.vendor_id,
        order_id=order.pk,
        actor=by,
        summary=f"{by.display_name} proposed {describe_proposal(proposal)}: {reason}",
        data={"order": order.number, "proposal": proposal.pk, "line": line.line_number},
    )
    return proposal


def describe_proposal(proposal: ChangeProposal) -> str:
    where = f"line {proposal.line.line_number}"
    if proposal.delivery is not None:
        where += f" delivery {proposal.delivery.delivery_number}"
    parts = []
    if proposal.proposed_due_date is not None:
        parts.append(
            f"due date {_fmt(proposal.current_due_date)} → {_fmt(proposal.proposed_due_date)}"
        )
    if proposal.proposed_quantity is not None:
        parts.append(
            f"quantity {_fmt(proposal.current_quantity)} → {_fmt(proposal.proposed_quantity)}"
        )
    if proposal.proposed_unit_price is not None:
        parts.append(
            f"unit price {_fmt(proposal.current_unit_price)} → {_fmt(proposal.proposed_unit_price)}"
        )
    return f"{where}: {', '.join(parts)}"


def _locked_pending(proposal: ChangeProposal) -> ChangeProposal:
    proposal = (
        ChangeProposal.objects.select_for_update(of=("self",))
        .select_related("line", "delivery", "order")
        .get(pk=proposal.pk)
    )
    if proposal.status != ProposalStatus.PENDING:
        raise DomainError(
            f"This proposal is already {proposal.get_status_display().lower()}.",
            field="proposal",
            code="not_pending",
        )
    return proposal


@service
def proposal_withdraw(*, proposal: ChangeProposal, by: User) -> ChangeProposal:
    _require_supplier_of(by, proposal.order)
    _locked(proposal.order)
    proposal = _locked_pending(proposal)
    proposal.status = ProposalStatus.WITHDRAWN
    proposal.decided_by = by
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["status", "decided_by", "decided_at"])
    proposal.order.save(update_fields=["updated_at"])
    record_event(
        kind="proposal.withdrawn",
        vendor_id=proposal.vendor_id,
        order_id=proposal.order_id,
        actor=by,
        summary=f"{by.display_name} withdrew the proposal for {describe_proposal(proposal)}",
        data={"order": proposal.order.number, "proposal": proposal.pk},
    )
    return proposal


@service
def proposal_accept(*, proposal: ChangeProposal, by: User, note: str = "") -> ChangeProposal:
    """The buyer accepts: the order gets a new revision with the proposed values, and that
    revision counts as acknowledged by the supplier who proposed it."""
    _require_buyer(by)
    _locked(proposal.order)
    proposal = _locked_pending(proposal)
    line, delivery = proposal.line, proposal.delivery
    changes: list[purchasing.OrderChange] = []
    if delivery is not None and proposal.proposed_due_date is not None:
        changes.append(
            purchasing.SetDelivery(
                line.line_number,
                delivery.delivery_number,
                "due_date",
                proposal.proposed_due_date,
                proposed_by_supplier=True,
            )
        )
    if delivery is not None and proposal.proposed_quantity is not None:
        changes.append(
            purchasing.SetDelivery(
                line.line_number,
                delivery.delivery_number,
                "quantity",
                proposal.proposed_quantity,
                proposed_by_supplier=True,
            )
        )
    if proposal.proposed_unit_price is not None:
        changes.append(
            purchasing.SetLine(line.line_number, "unit_price", proposal.proposed_unit_price)
        )
    note = rules.text(note, field="note", label="A note", required=False, max_length=COMMENT_MAX)
    order = purchasing.order_revise(
        order=proposal.order,
        changes=changes,
        by=by,
        reason=f"Accepted supplier proposal: {proposal.reason}",
        event_kind="proposal.accepted",
        event_summary=f"{by.display_name} accepted the proposal for "
        f"{describe_proposal(proposal)}" + (f": {note}" if note else ""),
        event_data={"proposal": proposal.pk},
    )
    proposal.status = ProposalStatus.ACCEPTED
    proposal.decided_by = by
    proposal.decided_at = timezone.now()
    proposal.decision_note = note
    proposal.resulting_revision = order.revision
    proposal.save()
    Acknowledgement.objects.create(
        order=order,
        vendor_id=order.vendor_id,
        revision=order.revision,
        response=AcknowledgementResponse.ACCEPTED,
        comment="Revision made from the supplier's own proposal.",
        user_id=proposal.created_by_id,
        proposal=proposal,
    )
    return proposal


@service
def proposal_reject(*, proposal: ChangeProposal, by: User, note: str) -> ChangeProposal:
    _require_buyer(by)
    _locked(proposal.order)
    proposal = _locked_pending(proposal)
    note = rules.text(
        note, field="note", label="A reason for the supplier", required=True, max_length=COMMENT_MAX
    )
    proposal.status = ProposalStatus.REJECTED
    proposal.decided_by = by
    proposal.decided_at = timezone.now()
    proposal.decision_note = note
    proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    proposal.order.save(update_fields=["updated_at"])
    record_event(
        kind="proposal.rejected",
        vendor_id=proposal.vendor_id,
        order_id=proposal.order_id,
        actor=by,
        summary=f"{by.display_name} rejected the proposal for {describe_proposal(proposal)}: "
        f"{note}",
        data={"order": proposal.order.number, "proposal": proposal.pk},
    )
    return proposal


# ---------------------------------------------------------------------------------------
# Comments
# ---------------------------------------------------------------------------------------


@service
def comment_add(
    *,
    order: PurchaseOrder,
    by: User,
    body: str,
    line: Line | None = None,
    internal: bool = False,
) -> Comment:
    """A comment on an order or one of its lines. Internal comments are for buyers only."""
    _require_party(by, order)
    order = _locked(order)
    if internal and not by.is_buyer:
        raise DomainError("Only buyers can write internal comments.", field="internal")
    if line is not None and line.order_id != order.pk:
        raise DomainError("No such line on this order.", field="line", code="not_found")
    if order.status == OrderStatus.DRAFT and not by.is_buyer:
        raise DomainError("No such order.", code="not_found")
    body = rules.text(
        body, field="body", label="The comment", required=True, max_length=COMMENT_MAX
    )
    comment = Comment.objects.create(
        order=order,
        vendor_id=order.vendor_id,
        line=line,
        author=by,
        body=body,
        internal=internal,
    )
    order.save(update_fields=["updated_at"])
    where = f" on line {line.line_number}" if line is not None else ""
    record_event(
        kind="comment.added",
        vendor_id=order.vendor_id,
        order_id=order.pk,
        actor=by,
        # A draft is not the supplier's yet: even a shared comment on it is not announced.
        internal=internal or order.status == OrderStatus.DRAFT,
        summary=f"{'Internal comment' if internal else 'Comment'} by {by.display_name}{where}",
        data={
            "order": order.number,
            "comment": comment.pk,
            "line": line.line_number if line else None,
        },
    )
    return comment


__all__ = [
    "acknowledgement_record",
    "comment_add",
    "delivery_confirm",
    "describe_proposal",
    "proposal_accept",
    "proposal_create",
    "proposal_reject",
    "proposal_withdraw",
]
