"""Integration endpoints (integration tokens only): the ERP keeps the portal's master data
in step, one record or a batch at a time, idempotently by external id.

A batch answers per record, each in its own transaction: a refused record is reported
with its field and message and leaves nothing half-written, the others go through.
"""

from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from vendorportal.api.auth import caller, token_of
from vendorportal.api.endpoints import IDEMPOTENCY_KEY
from vendorportal.api.errors import COMMON_ERRORS, ApiRefusal, ErrorOut
from vendorportal.api.idempotency import idempotent
from vendorportal.api.schemas import In
from vendorportal.api.types import (
    Amount,
    Currency,
    DueDate,
    Flag,
    Identifier,
    IsoDate,
    Positive,
    Price,
    Quantity,
    TextRule,
)
from vendorportal.errors import DomainError
from vendorportal.purchasing import sync

router = Router(tags=["sync (integration tokens)"])

SYNC_ERRORS = {**COMMON_ERRORS, 403: ErrorOut, 409: ErrorOut, 415: ErrorOut}
MAX_BATCH = 1000


def _text(max_length: int, required: bool = False) -> TextRule:
    return TextRule(max_length, required=required)


ExternalId = Annotated[str, TextRule(100, required=True)]


class VendorIn(In):
    external_id: ExternalId
    code: Identifier
    name: Annotated[str, _text(200, required=True)]
    contact_name: Annotated[str, _text(200)] = ""
    contact_email: Annotated[str, _text(254)] = ""
    phone: Annotated[str, _text(50)] = ""
    address: Annotated[str, _text(2000)] = ""
    active: Flag = True


class ItemIn(In):
    external_id: ExternalId
    part_number: Annotated[str, _text(64, required=True)]
    description: Annotated[str, _text(300, required=True)]
    unit_of_measure: Annotated[str, _text(16, required=True)] = "EA"
    active: Flag = True
    standard_cost: Price | None = None


class DeliveryIn(In):
    delivery_number: Positive
    quantity: Quantity
    due_date: DueDate


class LineIn(In):
    line_number: Positive
    quantity: Quantity = Field(
        description="A standard line's deliveries add up to it; a blanket line's commitment."
    )
    unit_price: Price
    item_external_id: Annotated[str, _text(100)] | None = None
    description: Annotated[str, _text(300)] = ""
    vendor_part_number: Annotated[str, _text(64)] = ""
    unit_of_measure: Annotated[str, _text(16)] = ""
    internal_notes: Annotated[str, _text(10_000)] = ""
    deliveries: list[DeliveryIn] = Field(
        default_factory=list, description="The schedule (a blanket line's releases)."
    )


class OrderIn(In):
    external_id: ExternalId
    number: Identifier
    vendor_external_id: ExternalId
    kind: Literal["standard", "blanket"] = "standard"
    status: Literal["draft", "issued", "cancelled"] = "issued"
    order_date: IsoDate | None = None
    currency: Currency = "USD"
    payment_terms: Annotated[str, _text(100)] = ""
    incoterms: Annotated[str, _text(50)] = ""
    ship_to: Annotated[str, _text(10_000)] = ""
    notes_to_vendor: Annotated[str, _text(10_000)] = ""
    internal_notes: Annotated[str, _text(10_000)] = ""
    valid_from: DueDate | None = None
    valid_to: DueDate | None = None
    lines: list[LineIn] = Field(min_length=1, max_length=1000)


class OrderBatchIn(In):
    records: list[OrderIn] = Field(min_length=1, max_length=MAX_BATCH)


class ReceiptLineIn(In):
    line_number: Positive
    delivery_number: Positive
    quantity: Quantity


class ReceiptIn(In):
    external_id: ExternalId
    order_external_id: ExternalId
    kind: Literal["receipt", "return"] = "receipt"
    receipt_date: IsoDate | None = None
    packing_slip: Annotated[str, _text(100)] = ""
    reason: Annotated[str, _text(2000)] = Field("", description="Why goods went back (returns).")
    ship_notice_number: Annotated[str, _text(48)] = Field(
        "", description="The portal's ship notice the goods arrived under (receipts)."
    )
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=1000)


class SyncedShipNoticeIn(In):
    external_id: ExternalId
    order_external_id: ExternalId
    ship_date: DueDate | None = None
    expected_date: DueDate
    carrier: Annotated[str, _text(100)] = ""
    tracking_number: Annotated[str, _text(100)] = ""
    packing_slip: Annotated[str, _text(100)] = ""
    note: Annotated[str, _text(2000)] = ""
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=1000)


class InvoiceLineIn(In):
    order_external_id: ExternalId
    line_number: Positive
    quantity: Quantity
    unit_price: Price


class InvoiceIn(In):
    external_id: ExternalId
    vendor_external_id: ExternalId
    number: Annotated[str, _text(64, required=True)]
    invoice_date: IsoDate | None = None
    due_date: IsoDate | None = None
    currency: Currency | None = None
    lines: list[InvoiceLineIn] = Field(min_length=1, max_length=1000)


class PaymentIn(In):
    external_id: ExternalId
    invoice_external_id: ExternalId
    amount: Amount
    paid_on: IsoDate | None = None
    reference: Annotated[str, _text(100)] = ""


class ReceiptBatchIn(In):
    records: list[ReceiptIn] = Field(min_length=1, max_length=MAX_BATCH)


class ShipNoticeBatchIn(In):
    records: list[SyncedShipNoticeIn] = Field(min_length=1, max_length=MAX_BATCH)


class InvoiceBatchIn(In):
    records: list[InvoiceIn] = Field(min_length=1, max_length=MAX_BATCH)


class PaymentBatchIn(In):
    records: list[PaymentIn] = Field(min_length=1, max_length=MAX_BATCH)


class UpsertOut(Schema):
    external_id: str
    result: Literal["created", "updated", "unchanged"]


class VendorBatchIn(In):
    records: list[VendorIn] = Field(min_length=1, max_length=MAX_BATCH)


class ItemBatchIn(In):
    records: list[ItemIn] = Field(min_length=1, max_length=MAX_BATCH)


class RecordResult(Schema):
    index: int
    external_id: str
    result: Literal["created", "updated", "unchanged", "error"]
    error: dict[str, Any] | None = Field(
        None, description="For a refused record: {code, message, details}."
    )


class BatchOut(Schema):
    created: int
    updated: int
    unchanged: int
    errors: int
    results: list[RecordResult]


def _integration(request: HttpRequest) -> None:
    if not token_of(request).integration:
        raise ApiRefusal(403, "forbidden", "The sync endpoints take integration tokens only.")


def _upsert_vendor(record: VendorIn, by: Any) -> str:
    _, outcome = sync.vendor_upsert(record=sync.VendorRecord(**record.model_dump()), by=by)
    return outcome


def _upsert_item(record: ItemIn, by: Any) -> str:
    _, outcome = sync.item_upsert(record=sync.ItemRecord(**record.model_dump()), by=by)
    return outcome


def _order_record(record: OrderIn) -> sync.OrderRecord:
    data = record.model_dump()
    lines = tuple(
        sync.LineRecord(
            **{k: v for k, v in line.items() if k != "deliveries"},
            deliveries=tuple(sync.DeliveryRecord(**d) for d in line["deliveries"]),
        )
        for line in data.pop("lines")
    )
    return sync.OrderRecord(**data, lines=lines)


def _upsert_order(record: OrderIn, by: Any) -> str:
    _, outcome = sync.order_upsert(record=_order_record(record), by=by)
    return outcome


def _upsert_receipt(record: ReceiptIn, by: Any) -> str:
    data = record.model_dump()
    lines = tuple(sync.ReceiptLineRecord(**line) for line in data.pop("lines"))
    _, outcome = sync.receipt_upsert(record=sync.ReceiptRecord(**data, lines=lines), by=by)
    return outcome


def _upsert_ship_notice(record: SyncedShipNoticeIn, by: Any) -> str:
    data = record.model_dump()
    lines = tuple(sync.ReceiptLineRecord(**line) for line in data.pop("lines"))
    _, outcome = sync.ship_notice_upsert(record=sync.ShipNoticeRecord(**data, lines=lines), by=by)
    return outcome


def _upsert_invoice(record: InvoiceIn, by: Any) -> str:
    data = record.model_dump()
    lines = tuple(sync.InvoiceLineRecord(**line) for line in data.pop("lines"))
    _, outcome = sync.invoice_upsert(record=sync.InvoiceRecord(**data, lines=lines), by=by)
    return outcome


def _upsert_payment(record: PaymentIn, by: Any) -> str:
    _, outcome = sync.payment_upsert(record=sync.PaymentRecord(**record.model_dump()), by=by)
    return outcome


def _batch(request: HttpRequest, records: list[Any], upsert: Any) -> dict[str, Any]:
    _integration(request)
    with caller(request, write=True) as viewer:
        results: list[dict[str, Any]] = []
        for index, record in enumerate(records):
            try:
                outcome = upsert(record, viewer.user)
            except DomainError as error:
                details = {"field": error.field} if error.field else {}
                results.append(
                    {
                        "index": index,
                        "external_id": record.external_id,
                        "result": "error",
                        "error": {"code": error.code, "message": error.message, "details": details},
                    }
                )
            else:
                results.append(
                    {"index": index, "external_id": record.external_id, "result": outcome}
                )
    counts = {
        k: sum(1 for r in results if r["result"] == k) for k in ("created", "updated", "unchanged")
    }
    return {
        **counts,
        "errors": sum(1 for r in results if r["result"] == "error"),
        "results": results,
    }


def _one(request: HttpRequest, payload: Any, upsert: Any) -> Status[dict[str, Any]]:
    _integration(request)
    with caller(request, write=True) as viewer:
        outcome = upsert(payload, viewer.user)
    return Status(200, {"external_id": payload.external_id, "result": outcome})


UPSERTED = 'an identical record changes nothing and answers "unchanged".'
RECORDED_ONCE = (
    'It is recorded once: the same external id again answers "unchanged" if it agrees, '
    "and 409 if it does not."
)
# path, the record's schema, the batch's schema, its upsert, one and many in the summary,
# and what the single-record operation does.
ENDPOINTS: list[tuple[str, type[Schema], type[Schema], Any, str, str, str]] = [
    (
        "vendors",
        VendorIn,
        VendorBatchIn,
        _upsert_vendor,
        "a vendor",
        "vendors",
        f"Create or update the vendor with this external id; {UPSERTED}",
    ),
    (
        "items",
        ItemIn,
        ItemBatchIn,
        _upsert_item,
        "an item",
        "items",
        f"Create or update the item with this external id; {UPSERTED}",
    ),
    (
        "orders",
        OrderIn,
        OrderBatchIn,
        _upsert_order,
        "an order",
        "orders",
        'Create the order with this external id (issued unless `status` is "draft"), or make '
        "it agree with the record: an issued order gets one new revision whose change list is "
        "the difference, so the supplier sees exactly what changed; lines left out are "
        'cancelled, and `status` "cancelled" cancels the whole order (refused once anything '
        f"was received: close it instead); {UPSERTED}",
    ),
    (
        "receipts",
        ReceiptIn,
        ReceiptBatchIn,
        _upsert_receipt,
        "a receipt",
        "receipts",
        'A goods receipt (or, with kind "return", a return) against an order\'s deliveries, '
        f"with the screens' rules (over-receipt tolerance, closing what is received in full). "
        f"{RECORDED_ONCE}",
    ),
    (
        "ship-notices",
        SyncedShipNoticeIn,
        ShipNoticeBatchIn,
        _upsert_ship_notice,
        "a ship notice",
        "ship notices",
        "A ship notice created in the ERP, with the screens' rules (what is still open minus "
        "what is in transit). Sent again changed, it corrects the notice while nothing is "
        f"received against it (409 after); {UPSERTED}",
    ),
    (
        "invoices",
        InvoiceIn,
        InvoiceBatchIn,
        _upsert_invoice,
        "an invoice",
        "invoices",
        "A supplier invoice against order lines, matched at once (three-way match). "
        + RECORDED_ONCE,
    ),
    (
        "payments",
        PaymentIn,
        PaymentBatchIn,
        _upsert_payment,
        "a payment",
        "payments",
        f"A payment of an invoice (partially paid or paid; overpayment refused). {RECORDED_ONCE}",
    ),
]


def _register(
    path: str, one: type[Schema], many: type[Schema], upsert: Any, a: str, plural: str, doc: str
) -> None:
    """The single-record and the batch operation of one kind (same rules, same answers)."""

    def single(
        request: HttpRequest,
        payload: one,  # type: ignore[valid-type]  # the kind's schema, read by django-ninja
        idempotency_key: str | None = IDEMPOTENCY_KEY,
    ) -> Status[dict[str, Any]]:
        return _one(request, payload, upsert)

    def batch(
        request: HttpRequest,
        payload: many,  # type: ignore[valid-type]  # the kind's batch schema
        idempotency_key: str | None = IDEMPOTENCY_KEY,
    ) -> Status[dict[str, Any]]:
        return Status(200, _batch(request, payload.records, upsert))  # type: ignore[attr-defined]

    name = path.replace("-", "_")
    single.__name__, batch.__name__ = f"sync_{name}_one", f"sync_{name}_batch"
    router.post(
        f"/{path}",
        response={200: UpsertOut, **SYNC_ERRORS},
        summary=f"Sync {a}",
        description=doc,
    )(idempotent(single))
    router.post(
        f"/{path}/batch",
        response={200: BatchOut, **SYNC_ERRORS},
        summary=f"Sync {plural}",
        description=f"Up to {MAX_BATCH:,} {plural}, each in its own transaction and "
        "reported: a refused record says why and leaves nothing behind.",
    )(idempotent(batch))


for _endpoint in ENDPOINTS:
    _register(*_endpoint)


# What `vendorportal import` reads, in the order it applies them (an order needs its
# vendor and items, a receipt its order, a payment its invoice): the same shapes as the
# endpoints above, checked by the same schemas, written by the same services.
IMPORT_KINDS: dict[str, tuple[type[Schema], Any]] = {
    "vendors": (VendorIn, _upsert_vendor),
    "items": (ItemIn, _upsert_item),
    "orders": (OrderIn, _upsert_order),
    "receipts": (ReceiptIn, _upsert_receipt),
    "invoices": (InvoiceIn, _upsert_invoice),
    "payments": (PaymentIn, _upsert_payment),
}
