"""The kinds of notification, the events that make them, and their defaults.

A kind is what a login chooses for on its notification settings page: at once, in the
daily digest, or off. Each belongs to one side: suppliers (vendor logins) or buyers.
"""

from __future__ import annotations

from dataclasses import dataclass

from vendorportal.events.models import Delivery


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    help: str
    supplier: bool  # False: a buyer's kind
    default: Delivery
    events: frozenset[str] = frozenset()


# The events of an order's new revision: each one is a revision the supplier is asked to
# acknowledge (purchasing.services records them with the revision number).
REVISION_EVENTS = frozenset(
    {
        "order.revised",
        "release.added",
        "line.cancelled",
        "line.closed",
        "order.cancelled",
        "order.closed",
    }
)

SUPPLIER_KINDS = (
    Kind(
        "order_issued",
        "New orders",
        "A buyer issued an order to you.",
        True,
        Delivery.AT_ONCE,
        frozenset({"order.issued"}),
    ),
    Kind(
        "order_revised",
        "Changed orders",
        "An order got a new revision (what changed, and a link to acknowledge it).",
        True,
        Delivery.AT_ONCE,
        REVISION_EVENTS,
    ),
    Kind(
        "proposal_answered",
        "Answers to your proposals",
        "The buyer accepted or rejected a change you proposed.",
        True,
        Delivery.AT_ONCE,
        frozenset({"proposal.accepted", "proposal.rejected"}),
    ),
    Kind(
        "comment",
        "Comments",
        "A buyer commented on one of your orders.",
        True,
        Delivery.AT_ONCE,
        frozenset({"comment.added"}),
    ),
    Kind(
        "receipt",
        "Goods received",
        "The buyer recorded a receipt or a return: what arrived, what is still open.",
        True,
        Delivery.DIGEST,
        frozenset({"receipt.recorded", "return.recorded"}),
    ),
    Kind(
        "ship_notice_closed",
        "Shipments closed with a difference",
        "The buyer closed one of your ship notices that arrived short, saying why.",
        True,
        Delivery.AT_ONCE,
        frozenset({"ship_notice.closed"}),
    ),
    Kind(
        "invoice_disputed",
        "Disputed invoices",
        "The buyer disputed one of your invoices.",
        True,
        Delivery.AT_ONCE,
        frozenset({"invoice.disputed"}),
    ),
    Kind(
        "invoice_approved",
        "Approved invoices and credit notes",
        "The buyer approved an invoice you sent (open for payment) or a credit note.",
        True,
        Delivery.AT_ONCE,
        frozenset({"invoice.approved", "credit_note.applied"}),
    ),
    Kind(
        "payment",
        "Payments",
        "A payment was recorded against one of your invoices.",
        True,
        Delivery.DIGEST,
        frozenset({"payment.recorded"}),
    ),
    Kind(
        "reminder_acknowledge",
        "Reminders: orders to acknowledge",
        "A revision you have not acknowledged after a while.",
        True,
        Delivery.AT_ONCE,
    ),
    Kind(
        "reminder_promise",
        "Reminders: deliveries without a promised date",
        "A delivery due soon that you have not confirmed.",
        True,
        Delivery.AT_ONCE,
    ),
    Kind(
        "reminder_overdue",
        "Reminders: overdue deliveries",
        "A delivery past its due date with quantity still open.",
        True,
        Delivery.DIGEST,
    ),
)

BUYER_KINDS = (
    Kind(
        "acknowledgement",
        "Acknowledgements",
        "A supplier accepted, accepted with changes or rejected a revision, or confirmed a date.",
        False,
        Delivery.AT_ONCE,
        frozenset({"acknowledgement.recorded", "delivery.confirmed"}),
    ),
    Kind(
        "proposal",
        "Proposals",
        "A supplier proposed a change, or withdrew a proposal.",
        False,
        Delivery.AT_ONCE,
        frozenset({"proposal.created", "proposal.withdrawn"}),
    ),
    Kind(
        "shipment",
        "Shipments on their way",
        "A supplier sent, corrected or cancelled a ship notice: what is coming, and when.",
        False,
        Delivery.AT_ONCE,
        frozenset({"ship_notice.submitted", "ship_notice.corrected", "ship_notice.cancelled"}),
    ),
    Kind(
        "invoice_submitted",
        "Invoices to approve",
        "A supplier sent an invoice or a credit note from the portal, or withdrew one.",
        False,
        Delivery.AT_ONCE,
        frozenset({"invoice.submitted", "credit_note.submitted", "invoice.withdrawn"}),
    ),
    Kind(
        "supplier_comment",
        "Supplier comments",
        "A supplier commented on an order.",
        False,
        Delivery.AT_ONCE,
        frozenset({"comment.added"}),
    ),
    Kind(
        "reminder_proposals",
        "Reminders: proposals waiting for your answer",
        "Proposals still waiting after a while.",
        False,
        Delivery.DIGEST,
    ),
)

KINDS = {kind.key: kind for kind in SUPPLIER_KINDS + BUYER_KINDS}
REMINDER_KINDS = frozenset(k for k in KINDS if k.startswith("reminder_"))


def for_side(supplier: bool) -> tuple[Kind, ...]:
    return SUPPLIER_KINDS if supplier else BUYER_KINDS


def _index(kinds: tuple[Kind, ...]) -> dict[str, Kind]:
    return {event: kind for kind in kinds for event in kind.events}


SUPPLIER_BY_EVENT = _index(SUPPLIER_KINDS)
BUYER_BY_EVENT = _index(BUYER_KINDS)
NOTIFYING_EVENTS = frozenset(SUPPLIER_BY_EVENT) | frozenset(BUYER_BY_EVENT)
