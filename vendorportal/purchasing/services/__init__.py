"""The only write path for purchasing data, one module per document it changes:

- `orders`: orders and releases (create, issue, revise, call off, close, cancel);
- `receipts`: receipts and returns;
- `invoices`: invoices and payments (the three-way match, the supplier's invoices from
  the order and their approval, credit notes, disputes, voids);
- `shipments`: ship notices (announced, corrected, received against, closed);
- `editor`: the working copy every change to an order goes through (with its revision),
  and the value checks the documents share;
- `inputs`: what callers hand the services.

Callers import the package (`from vendorportal.purchasing import services`) and call, say,
`services.order_revise(...)`, whichever module holds it.

Each public function is keyword-only, runs in one transaction, enforces its rules, and
writes its change together with its Revision (when the supplier must be told) and exactly
one Event. A refused change raises `DomainError` before anything is kept: the transaction
rolls back, so the database is untouched and nothing is published.

Order-level writes lock the order row first (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite
serialises writers through immediate transactions), so two buyers revising one order, or a
receipt posted twice at once, are applied one after the other against fresh data.
"""

from vendorportal.errors import DomainError
from vendorportal.purchasing.services.editor import max_receivable
from vendorportal.purchasing.services.inputs import (
    DELIVERY_EDITABLE,
    HEADER_EDITABLE,
    LINE_EDITABLE,
    AddDelivery,
    AddLine,
    CancelDelivery,
    CancelLine,
    CreditLineInput,
    DeliveryInput,
    InvoiceLineInput,
    LineInput,
    OrderChange,
    ReceiptLineInput,
    Release,
    SetDelivery,
    SetHeader,
    SetLine,
    ShipNoticeLineInput,
)
from vendorportal.purchasing.services.invoices import (
    MatchPreview,
    credit_note_create,
    invoice_approve,
    invoice_dispute,
    invoice_match_preview,
    invoice_record,
    invoice_resolve_dispute,
    invoice_submit,
    invoice_void,
    invoice_withdraw,
    match_status,
    payment_record,
    still_to_invoice,
)
from vendorportal.purchasing.services.orders import (
    ORDER_CREATION_LOCK,
    call_off,
    line_cancel,
    line_close,
    lock_order_creation,
    order_cancel,
    order_close,
    order_create,
    order_issue,
    order_revise,
    release_add,
)
from vendorportal.purchasing.services.receipts import receipt_record, return_record
from vendorportal.purchasing.services.shipments import (
    ship_notice_cancel,
    ship_notice_close,
    ship_notice_correct,
    ship_notice_create,
    ship_notice_submit,
)

__all__ = [
    "DELIVERY_EDITABLE",
    "HEADER_EDITABLE",
    "LINE_EDITABLE",
    "ORDER_CREATION_LOCK",
    "AddDelivery",
    "AddLine",
    "CancelDelivery",
    "CancelLine",
    "CreditLineInput",
    "DeliveryInput",
    "DomainError",
    "InvoiceLineInput",
    "LineInput",
    "MatchPreview",
    "OrderChange",
    "ReceiptLineInput",
    "Release",
    "SetDelivery",
    "SetHeader",
    "SetLine",
    "ShipNoticeLineInput",
    "call_off",
    "credit_note_create",
    "invoice_approve",
    "invoice_dispute",
    "invoice_match_preview",
    "invoice_record",
    "invoice_resolve_dispute",
    "invoice_submit",
    "invoice_void",
    "invoice_withdraw",
    "line_cancel",
    "line_close",
    "lock_order_creation",
    "match_status",
    "max_receivable",
    "order_cancel",
    "order_close",
    "order_create",
    "order_issue",
    "order_revise",
    "payment_record",
    "receipt_record",
    "release_add",
    "return_record",
    "ship_notice_cancel",
    "ship_notice_close",
    "ship_notice_correct",
    "ship_notice_create",
    "ship_notice_submit",
    "still_to_invoice",
]
