"""Allowed status transitions, in one table each. Services ask here before moving."""

from __future__ import annotations

from vendorportal.errors import DomainError
from vendorportal.purchasing.models import InvoiceStatus, LineStatus, OrderStatus

ORDER_TRANSITIONS: dict[str, set[str]] = {
    OrderStatus.DRAFT: {OrderStatus.ISSUED, OrderStatus.CANCELLED},
    # A return can reopen a closed order: the supplier owes the replacement.
    OrderStatus.ISSUED: {OrderStatus.CLOSED, OrderStatus.CANCELLED},
    OrderStatus.CLOSED: {OrderStatus.ISSUED},
    OrderStatus.CANCELLED: set(),
}

LINE_TRANSITIONS: dict[str, set[str]] = {
    LineStatus.OPEN: {LineStatus.CLOSED, LineStatus.CANCELLED},
    LineStatus.CLOSED: {LineStatus.OPEN},
    LineStatus.CANCELLED: set(),
}

INVOICE_TRANSITIONS: dict[str, set[str]] = {
    # Submitted by the supplier: the buyer approves (open, or paid when credits cover it),
    # disputes, or the supplier withdraws; an approved credit note is applied.
    InvoiceStatus.SUBMITTED: {
        InvoiceStatus.OPEN,
        InvoiceStatus.PAID,
        InvoiceStatus.DISPUTED,
        InvoiceStatus.WITHDRAWN,
        InvoiceStatus.APPLIED,
    },
    InvoiceStatus.OPEN: {
        InvoiceStatus.PARTIALLY_PAID,
        InvoiceStatus.PAID,
        InvoiceStatus.DISPUTED,
        InvoiceStatus.VOID,
    },
    InvoiceStatus.PARTIALLY_PAID: {InvoiceStatus.PAID, InvoiceStatus.DISPUTED},
    # A dispute ends back where the invoice was (awaiting approval, or open for payment),
    # approved, voided, or withdrawn by the supplier if it was never approved.
    InvoiceStatus.DISPUTED: {
        InvoiceStatus.SUBMITTED,
        InvoiceStatus.OPEN,
        InvoiceStatus.PARTIALLY_PAID,
        InvoiceStatus.PAID,
        InvoiceStatus.VOID,
        InvoiceStatus.WITHDRAWN,
        InvoiceStatus.APPLIED,
    },
    InvoiceStatus.PAID: set(),
    InvoiceStatus.VOID: set(),
    InvoiceStatus.WITHDRAWN: set(),
    InvoiceStatus.APPLIED: set(),
}


def check_transition(table: dict[str, set[str]], what: str, current: str, new: str) -> None:
    if current != new and new not in table[current]:
        raise DomainError(
            f"{what} is {current.replace('_', ' ')} and cannot become {new.replace('_', ' ')}.",
            field="status",
            code="invalid_status",
        )
