"""Integration endpoints (integration tokens only): the ERP keeps the portal's master data
in step, one record or a batch at a time, idempotently by external id.

A batch answers per record, each in its own transaction: a refused record is reported
with its field and message and leaves nothing half-written, the others go through.
"""

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from vendorportal.api.auth import caller, token_of
from vendorportal.api.endpoints import IDEMPOTENCY_KEY
from vendorportal.api.errors import COMMON_ERRORS, ApiRefusal, ErrorOut
from vendorportal.api.idempotency import idempotent
from vendorportal.api.types import Flag, IsoDate, PlainDecimal, Whole
from vendorportal.errors import DomainError
from vendorportal.purchasing import sync

router = Router(tags=["sync (integration tokens)"])

SYNC_ERRORS = {**COMMON_ERRORS, 403: ErrorOut, 409: ErrorOut, 415: ErrorOut}
MAX_BATCH = 1000


class VendorIn(Schema):
    external_id: str = Field(min_length=1, max_length=100)
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    contact_name: str = Field("", max_length=200)
    contact_email: str = Field("", max_length=254)
    phone: str = Field("", max_length=50)
    address: str = ""
    active: Flag = True


class ItemIn(Schema):
    external_id: str = Field(min_length=1, max_length=100)
    part_number: str = Field(min_length=1, max_length=64)
    description: str = Field(min_length=1, max_length=300)
    unit_of_measure: str = Field("EA", min_length=1, max_length=16)
    active: Flag = True
    standard_cost: PlainDecimal | None = Field(None, ge=0, max_digits=16, decimal_places=4)


class DeliveryIn(Schema):
    delivery_number: Whole = Field(ge=1)
    quantity: PlainDecimal = Field(gt=0, max_digits=16, decimal_places=4)
    due_date: IsoDate


class LineIn(Schema):
    line_number: Whole = Field(ge=1)
    quantity: PlainDecimal = Field(
        gt=0,
        max_digits=16,
        decimal_places=4,
        description="A standard line's deliveries add up to it; a blanket line's commitment.",
    )
    unit_price: PlainDecimal = Field(ge=0, max_digits=16, decimal_places=4)
    item_external_id: str | None = Field(None, max_length=100)
    description: str = Field("", max_length=300)
    vendor_part_number: str = Field("", max_length=64)
    unit_of_measure: str = Field("", max_length=16)
    internal_notes: str = ""
    deliveries: list[DeliveryIn] = Field(
        default_factory=list, description="The schedule (a blanket line's releases)."
    )


class OrderIn(Schema):
    external_id: str = Field(min_length=1, max_length=100)
    number: str = Field(min_length=1, max_length=32)
    vendor_external_id: str = Field(min_length=1, max_length=100)
    kind: Literal["standard", "blanket"] = "standard"
    status: Literal["draft", "issued", "cancelled"] = "issued"
    order_date: IsoDate | None = None
    currency: str = Field("USD", min_length=3, max_length=3)
    payment_terms: str = Field("", max_length=100)
    incoterms: str = Field("", max_length=50)
    ship_to: str = ""
    notes_to_vendor: str = ""
    internal_notes: str = ""
    valid_from: IsoDate | None = None
    valid_to: IsoDate | None = None
    lines: list[LineIn] = Field(min_length=1, max_length=1000)


class OrderBatchIn(Schema):
    records: list[OrderIn] = Field(min_length=1, max_length=MAX_BATCH)


class ReceiptLineIn(Schema):
    line_number: Whole = Field(ge=1)
    delivery_number: Whole = Field(ge=1)
    quantity: PlainDecimal = Field(gt=0, max_digits=16, decimal_places=4)


class ReceiptIn(Schema):
    external_id: str = Field(min_length=1, max_length=100)
    order_external_id: str = Field(min_length=1, max_length=100)
    kind: Literal["receipt", "return"] = "receipt"
    receipt_date: IsoDate | None = None
    packing_slip: str = Field("", max_length=100)
    reason: str = Field("", max_length=2000, description="Why goods went back (returns).")
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=1000)


class InvoiceLineIn(Schema):
    order_external_id: str = Field(min_length=1, max_length=100)
    line_number: Whole = Field(ge=1)
    quantity: PlainDecimal = Field(gt=0, max_digits=16, decimal_places=4)
    unit_price: PlainDecimal = Field(ge=0, max_digits=16, decimal_places=4)


class InvoiceIn(Schema):
    external_id: str = Field(min_length=1, max_length=100)
    vendor_external_id: str = Field(min_length=1, max_length=100)
    number: str = Field(min_length=1, max_length=64)
    invoice_date: IsoDate | None = None
    due_date: IsoDate | None = None
    currency: str | None = Field(None, min_length=3, max_length=3)
    lines: list[InvoiceLineIn] = Field(min_length=1, max_length=1000)


class PaymentIn(Schema):
    external_id: str = Field(min_length=1, max_length=100)
    invoice_external_id: str = Field(min_length=1, max_length=100)
    amount: PlainDecimal = Field(gt=0, max_digits=18, decimal_places=2)
    paid_on: IsoDate | None = None
    reference: str = Field("", max_length=100)


class ReceiptBatchIn(Schema):
    records: list[ReceiptIn] = Field(min_length=1, max_length=MAX_BATCH)


class InvoiceBatchIn(Schema):
    records: list[InvoiceIn] = Field(min_length=1, max_length=MAX_BATCH)


class PaymentBatchIn(Schema):
    records: list[PaymentIn] = Field(min_length=1, max_length=MAX_BATCH)


class UpsertOut(Schema):
    external_id: str
    result: Literal["created", "updated", "unchanged"]


class VendorBatchIn(Schema):
    records: list[VendorIn] = Field(min_length=1, max_length=MAX_BATCH)


class ItemBatchIn(Schema):
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

    single.__name__, batch.__name__ = f"sync_{path}_one", f"sync_{path}_batch"
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
