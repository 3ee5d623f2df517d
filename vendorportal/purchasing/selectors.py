"""Reads for the screens, the exports and the API: built on the access module's
selectors, shaped for display, and cheap (a constant number of queries per page).

Large tables are read as plain dicts (`values()`), not model instances: a supplier
reconciling 500 open deliveries wants them on one page, and building 500 model objects
(with their related objects) costs more than the whole page should.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.utils import timezone

from vendorportal.collaboration.models import ProposalStatus
from vendorportal.purchasing import access
from vendorportal.purchasing.access import Viewer
from vendorportal.purchasing.models import (
    ZERO,
    Delivery,
    InvoiceLine,
    InvoiceStatus,
    Line,
    LineStatus,
    MatchStatus,
    OrderKind,
    OrderStatus,
    PurchaseOrder,
    ShipNotice,
    ShipNoticeStatus,
)
from vendorportal.purchasing.services.editor import max_receivable
from vendorportal.purchasing.services.shipments import notice_rows

# ---------------------------------------------------------------------------------------
# Open lines: one row per open delivery across all the viewer's orders
# ---------------------------------------------------------------------------------------

OPEN_LINE_SORTS = {
    "po": ("order__number", "line__line_number", "delivery_number"),
    "line": ("order__number", "line__line_number", "delivery_number"),
    "item": ("line__item__part_number", "due_date"),
    "vendor_part": ("line__vendor_part_number", "due_date"),
    "due": ("due_date", "order__number", "line__line_number"),
    "promised": ("promised_date", "due_date"),
    "quantity": ("quantity", "due_date"),
    "received": ("received_quantity", "due_date"),
    "in_transit": ("in_transit_quantity", "expected_date", "due_date"),
    "open": ("open_qty", "due_date"),
    "price": ("line__unit_price", "due_date"),
    "vendor": ("vendor__code", "due_date"),
}
OPEN_LINE_DEFAULT_SORT = "due"


@dataclass(frozen=True)
class OpenLineFilters:
    po: str = ""
    item: str = ""
    q: str = ""
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    overdue: bool = False
    vendor: str = ""  # buyers only


def open_deliveries(viewer: Viewer, filters: OpenLineFilters) -> QuerySet[Delivery]:
    queryset = access.deliveries(viewer).filter(
        status=LineStatus.OPEN, order__status=OrderStatus.ISSUED
    )
    if viewer.vendor_id is not None:
        # Redundant with the deliveries' own vendor key (an order's deliveries carry its
        # vendor), but it lets PostgreSQL find the vendor's issued orders by index instead
        # of reading every order to join them.
        queryset = queryset.filter(order__vendor_id=viewer.vendor_id)
    if filters.po:
        queryset = queryset.filter(order__number__icontains=filters.po)
    if filters.item:
        queryset = queryset.filter(
            Q(line__item__part_number__icontains=filters.item)
            | Q(line__description__icontains=filters.item)
            | Q(line__vendor_part_number__icontains=filters.item)
        )
    if filters.q:
        queryset = queryset.filter(
            Q(order__number__icontains=filters.q)
            | Q(line__item__part_number__icontains=filters.q)
            | Q(line__description__icontains=filters.q)
            | Q(line__vendor_part_number__icontains=filters.q)
        )
    if filters.due_from:
        queryset = queryset.filter(due_date__gte=filters.due_from)
    if filters.due_to:
        queryset = queryset.filter(due_date__lte=filters.due_to)
    if filters.overdue:
        queryset = queryset.filter(due_date__lt=timezone.localdate())
    if filters.vendor and viewer.internal:
        queryset = queryset.filter(
            Q(vendor__code__iexact=filters.vendor) | Q(vendor__name__icontains=filters.vendor)
        )
    return queryset


# `open_qty` and `overdue` are added per row (see `_finish_open_line_rows`).
OPEN_LINE_FIELDS = (
    "id",
    "order__number",
    "order__revision",
    "order__currency",
    "line__line_number",
    "delivery_number",
    "line__item__part_number",
    "line__description",
    "line__vendor_part_number",
    "line__unit_of_measure",
    "line__unit_price",
    "due_date",
    "promised_date",
    "quantity",
    "received_quantity",
    "in_transit_quantity",
    "expected_date",
    "acknowledged",
    "proposal_pending",
)


def _open_line_values(
    viewer: Viewer, filters: OpenLineFilters, *, sort: str
) -> QuerySet[Delivery, dict[str, Any]]:
    descending = sort.startswith("-")
    keys = OPEN_LINE_SORTS.get(sort.lstrip("-"), OPEN_LINE_SORTS[OPEN_LINE_DEFAULT_SORT])
    ordering = [
        F(k).desc(nulls_last=True) if descending else F(k).asc(nulls_last=True) for k in keys
    ]
    fields = list(OPEN_LINE_FIELDS)
    if viewer.internal:
        fields += ["vendor__code", "vendor__name"]
    deliveries = open_deliveries(viewer, filters)
    # Pending proposals are few (each waits for the buyer's answer): `IN (subquery)` reads
    # them once per query, where a correlated EXISTS made SQLite scan all of the vendor's
    # pending proposals again for every delivery.
    pending_deliveries = (
        access.proposals(viewer)
        .filter(status=ProposalStatus.PENDING, delivery__isnull=False)
        .values("delivery_id")
    )
    annotations: dict[str, Any] = {
        # Only to sort by (it is not selected): each row's is computed in Python.
        "open_qty": F("quantity") - F("received_quantity"),
        "acknowledged": access.current_revision_acknowledged_for("order"),
        "proposal_pending": Q(pk__in=pending_deliveries),
    }
    return deliveries.annotate(**annotations).order_by(*ordering, "pk").values(*fields)


def _finish_open_line_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    today = timezone.localdate()
    for row in rows:
        # Exact decimals, like the columns it comes from (no float round trip through
        # SQLite), and no per-row converter.
        row["open_qty"] = row["quantity"] - row["received_quantity"]
        row["overdue"] = row["due_date"] < today
    return rows


def with_export_details(viewer: Viewer, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add what the exports show beside each open delivery: its order's date and ship-to,
    and the newest proposal on it (or on its line's price), in two queries."""
    numbers = {row["order__number"] for row in rows}
    orders: dict[str, dict[str, Any]] = {
        o["number"]: dict(o)
        for o in access.orders(viewer)
        .filter(number__in=numbers)
        .values("number", "order_date", "ship_to")
    }
    newest: dict[Any, Any] = {}
    ids = [row["id"] for row in rows]
    for proposal in (
        access.proposals(viewer)
        .filter(Q(delivery_id__in=ids) | Q(delivery__isnull=True, order__number__in=numbers))
        .select_related("line", "order")
        .order_by("created_at", "pk")
    ):
        key = proposal.delivery_id or (proposal.order.number, proposal.line.line_number)
        newest[key] = proposal  # the newest wins
    for row in rows:
        order = orders.get(row["order__number"], {})
        row["order_date"] = order.get("order_date")
        row["ship_to"] = order.get("ship_to", "")
        found = newest.get(row["id"]) or newest.get(
            (row["order__number"], row["line__line_number"])
        )
        if found is not None:
            row["proposed_due_date"] = found.proposed_due_date
            row["proposed_quantity"] = found.proposed_quantity
            row["proposed_unit_price"] = found.proposed_unit_price
            row["proposal_status"] = found.get_status_display()
    return rows


def open_line_rows(
    viewer: Viewer, filters: OpenLineFilters, *, sort: str, offset: int, limit: int | None
) -> list[dict[str, Any]]:
    """The open deliveries as dicts, sorted and sliced, in one query."""
    queryset = _open_line_values(viewer, filters, sort=sort)
    return _finish_open_line_rows(
        list(queryset[offset : offset + limit] if limit else queryset[offset:])
    )


@dataclass(frozen=True)
class OpenLinePage:
    rows: list[dict[str, Any]]
    number: int  # the page shown: the one asked for, or the last if that is past the end
    total: int  # open deliveries matching the filters, on all pages


def open_line_page(
    viewer: Viewer, filters: OpenLineFilters, *, sort: str, number: int, size: int
) -> OpenLinePage:
    """One page of open deliveries and how many there are in all.

    One query when the page is the last one (most suppliers' open lines fit on the first
    page): it reads one row more than the page holds, and if that row is not there, the
    total is known without counting. Otherwise a COUNT follows; and a page past the end
    shows the last page.
    """
    queryset = _open_line_values(viewer, filters, sort=sort)
    offset = (number - 1) * size
    rows = list(queryset[offset : offset + size + 1])
    if 0 < len(rows) <= size:
        total = offset + len(rows)
    elif rows:
        del rows[size:]
        total = open_deliveries(viewer, filters).count()
    elif number > 1:
        total = open_deliveries(viewer, filters).count()
        number = max((total + size - 1) // size, 1)
        offset = (number - 1) * size
        rows = list(queryset[offset : offset + size])
    else:
        total = 0
    return OpenLinePage(rows=_finish_open_line_rows(rows), number=number, total=total)


# ---------------------------------------------------------------------------------------
# Home counters and the lists they open
#
# Every counter on a home page is the count of a queryset below, and its link opens the list
# filtered by the same queryset: a count and the rows behind its link cannot drift apart
# (tests/test_home_counters.py follows every link).
# ---------------------------------------------------------------------------------------

OPEN_INVOICE_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.DISPUTED)
DUE_SOON_DAYS = 14

# The orders list's "needs" filter: what an issued order is waiting for.
ORDER_NEEDS = {
    "acknowledgement": "Not acknowledged",
    "answer": "Proposal pending",
}


def orders_needing(viewer: Viewer, need: str) -> QuerySet[PurchaseOrder]:
    """Issued orders waiting for the supplier's acknowledgement of the current revision
    ("acknowledgement") or for the buyer's answer to a proposal ("answer")."""
    queryset = access.orders(viewer).filter(status=OrderStatus.ISSUED)
    if need == "acknowledgement":
        return queryset.exclude(pk__in=access.acknowledged_current_order_ids())
    if need == "answer":
        pending = access.proposals(viewer).filter(status=ProposalStatus.PENDING)
        return queryset.filter(pk__in=pending.values("order_id"))
    return queryset


def with_order_figures(queryset: QuerySet[PurchaseOrder]) -> QuerySet[PurchaseOrder]:
    """The orders list's figures per order: its value, what is still open (quantity and
    value) and the next open due date. Subqueries, so the list stays one query."""
    open_deliveries = Delivery.objects.filter(order=OuterRef("pk"), status=LineStatus.OPEN).values(
        "order"
    )
    live_lines = Line.objects.filter(order=OuterRef("pk")).exclude(status=LineStatus.CANCELLED)
    amount = ExpressionWrapper(F("quantity") * F("unit_price"), output_field=DecimalField())
    open_quantity = ExpressionWrapper(
        F("quantity") - F("received_quantity"), output_field=DecimalField()
    )
    open_amount = ExpressionWrapper(
        (F("quantity") - F("received_quantity")) * F("line__unit_price"),
        output_field=DecimalField(),
    )
    return queryset.annotate(
        order_value=Subquery(
            live_lines.values("order").annotate(total=Sum(amount)).values("total")
        ),
        open_quantity=Subquery(open_deliveries.annotate(total=Sum(open_quantity)).values("total")),
        open_value=Subquery(open_deliveries.annotate(total=Sum(open_amount)).values("total")),
        next_due=Subquery(open_deliveries.annotate(first=Min("due_date")).values("first")),
    )


def due_soon_window(days: int = DUE_SOON_DAYS) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    return today, today + dt.timedelta(days=days)


def open_invoices(viewer: Viewer) -> QuerySet[Any]:
    return access.invoices(viewer).filter(status__in=OPEN_INVOICE_STATUSES)


def invoices_awaiting_approval(viewer: Viewer) -> QuerySet[Any]:
    """Invoices and credit notes the supplier sent that the buyer has not approved."""
    return access.invoices(viewer).filter(status=InvoiceStatus.SUBMITTED)


def invoices_with_exceptions(viewer: Viewer) -> QuerySet[Any]:
    """Unpaid invoices with a line that does not match its order and receipts."""
    return (
        access.invoices(viewer)
        .filter(lines__match_status__in=match_exceptions())
        .exclude(status__in=[InvoiceStatus.PAID, InvoiceStatus.VOID])
        .distinct()
    )


@dataclass
class HomeFigures:
    open_orders: int = 0
    due_soon: int = 0
    overdue: int = 0
    unacknowledged: int = 0
    proposals_waiting: int = 0  # orders with a proposal waiting on the buyer
    open_invoices: int = 0
    invoice_exceptions: int = 0
    invoices_awaiting: int = 0
    outstanding: dict[str, Decimal] = field(default_factory=dict)
    due_from: dt.date | None = None
    due_to: dt.date | None = None


def home_figures(viewer: Viewer) -> HomeFigures:
    first, last = due_soon_window()
    figures = HomeFigures(due_from=first, due_to=last)
    figures.open_orders = orders_needing(viewer, "").count()
    figures.unacknowledged = orders_needing(viewer, "acknowledgement").count()
    figures.proposals_waiting = orders_needing(viewer, "answer").count()
    figures.overdue = open_deliveries(viewer, OpenLineFilters(overdue=True)).count()
    figures.due_soon = open_deliveries(viewer, OpenLineFilters(due_from=first, due_to=last)).count()
    for row in (
        open_invoices(viewer)
        .values("currency")
        .annotate(
            n=Count("pk"),
            total=Sum("total_amount"),
            paid=Sum("paid_amount"),
            credited=Sum("credited_amount"),
        )
    ):
        figures.open_invoices += row["n"]
        figures.outstanding[row["currency"]] = row["total"] - row["paid"] - row["credited"]
    figures.invoices_awaiting = invoices_awaiting_approval(viewer).count()
    if viewer.internal:
        figures.invoice_exceptions = invoices_with_exceptions(viewer).count()
    return figures


# ---------------------------------------------------------------------------------------
# The order page
# ---------------------------------------------------------------------------------------


@dataclass
class LineView:
    line: Any
    deliveries: list[Any]
    released: Decimal = ZERO
    received: Decimal = ZERO
    remaining: Decimal = ZERO  # blanket: committed - released; standard: ordered - received
    invoiced: Decimal = ZERO
    open_quantity: Decimal = ZERO
    pending_proposals: list[Any] = field(default_factory=list)


@dataclass
class OrderPage:
    order: PurchaseOrder
    lines: list[LineView]
    receipts: list[Any]
    invoices: list[Any]
    revisions: list[Any]
    acknowledgements: dict[int, Any]
    proposals: list[Any]
    timeline: list[Any]
    comments_by_id: dict[int, Any]
    # The order's invoices by id: an "invoice recorded" entry shows the invoice's state now.
    invoices_by_id: dict[int, Any]
    # Since the supplier's last acknowledgement (its revision number, or None): the
    # deliveries added or changed after it, as (line number, delivery number) -> "new" or
    # "changed", so a blanket order's supplier sees which releases the current revision
    # asks about.
    last_acknowledged: int | None = None
    since_acknowledged: dict[tuple[int, int], str] = field(default_factory=dict)
    current_acknowledged: bool = False
    totals: dict[str, Decimal] = field(default_factory=dict)
    ship_notices: list[Any] = field(default_factory=list)


def _attach(instance: Any, relation: str, loaded: dict[int, Any]) -> None:
    """Point `instance.<relation>` at an object the page has already loaded (the order's
    lines and deliveries) instead of fetching it again; left to the ORM if not there."""
    related = loaded.get(getattr(instance, f"{relation}_id"))
    if related is not None:
        setattr(instance, relation, related)


def order_page(viewer: Viewer, order: PurchaseOrder) -> OrderPage:
    """Everything the order page shows, in a fixed number of queries."""
    lines = list(order.lines.select_related("item").order_by("line_number"))
    lines_by_id = {line.pk: line for line in lines}
    deliveries_by_id: dict[int, Delivery] = {}
    by_line: dict[int, list[Any]] = defaultdict(list)
    for delivery in order.deliveries.order_by("line_id", "delivery_number"):
        _attach(delivery, "line", lines_by_id)
        deliveries_by_id[delivery.pk] = delivery
        by_line[delivery.line_id].append(delivery)
    proposals = list(
        access.proposals(viewer)
        .filter(order=order)
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )
    for proposal in proposals:
        _attach(proposal, "line", lines_by_id)
        _attach(proposal, "delivery", deliveries_by_id)
    pending_by_line: dict[int, list[Any]] = defaultdict(list)
    for proposal in proposals:
        if proposal.status == ProposalStatus.PENDING:
            pending_by_line[proposal.line_id].append(proposal)
    invoiced: dict[int, Decimal] = dict(
        access.invoices(viewer)
        .exclude(status=InvoiceStatus.VOID)
        .filter(lines__order_line__order=order)
        .values_list("lines__order_line_id")
        .annotate(total=Sum("lines__quantity"))
    )
    line_views = []
    totals = {"amount": ZERO, "received_value": ZERO}
    for line in lines:
        deliveries = by_line[line.pk]
        live = [d for d in deliveries if d.status != LineStatus.CANCELLED]
        released = sum((d.quantity for d in live), ZERO)
        received = sum((d.received_quantity for d in deliveries), ZERO)
        view = LineView(
            line=line,
            deliveries=deliveries,
            released=released,
            received=received,
            invoiced=invoiced.get(line.pk, ZERO),
            open_quantity=sum((d.open_quantity for d in deliveries), ZERO),
            pending_proposals=pending_by_line[line.pk],
        )
        if order.kind == OrderKind.BLANKET:
            view.remaining = max(line.quantity - released, ZERO)
        else:
            view.remaining = max(line.quantity - received, ZERO)
        if line.status != LineStatus.CANCELLED:
            totals["amount"] += line.quantity * line.unit_price
            totals["received_value"] += received * line.unit_price
            # The agreement's ledger (blanket orders): what is released and still to release.
            totals["released_value"] = totals.get("released_value", ZERO) + (
                released * line.unit_price
            )
            totals["to_release_value"] = totals.get("to_release_value", ZERO) + (
                view.remaining * line.unit_price
            )
        line_views.append(view)
    if order.kind == OrderKind.BLANKET:
        totals.update(_agreement_shares(order, totals))
    receipts = list(
        access.receipts(viewer)
        .filter(order=order)
        .prefetch_related("lines")
        .order_by("-receipt_date", "-pk")
    )
    for receipt in receipts:
        for receipt_line in receipt.lines.all():
            _attach(receipt_line, "delivery", deliveries_by_id)
    invoices = list(
        access.invoices(viewer)
        .filter(lines__order_line__order=order)
        .distinct()
        .annotate(
            has_exceptions=Exists(
                InvoiceLine.objects.filter(
                    invoice=OuterRef("pk"), match_status__in=match_exceptions()
                )
            )
        )
        .order_by("-invoice_date", "-pk")
    )
    # The snapshots (the whole order, per revision) are for comparing revisions only.
    revisions = list(order.revisions.defer("snapshot").order_by("-number"))
    acknowledgements = {
        ack.revision: ack
        for ack in access.acknowledgements(viewer).filter(order=order).select_related("user")
    }
    timeline = list(
        access.events(viewer).filter(order=order).select_related("actor").order_by("-id")
    )
    comment_ids = [e.data.get("comment") for e in timeline if e.kind == "comment.added"]
    comments_by_id = {
        c.pk: c for c in access.comments(viewer, order).filter(pk__in=[i for i in comment_ids if i])
    }
    last_acknowledged, since_acknowledged = _since_last_acknowledgement(
        order, revisions, acknowledgements
    )
    return OrderPage(
        order=order,
        lines=line_views,
        receipts=receipts,
        invoices=invoices,
        revisions=revisions,
        acknowledgements=acknowledgements,
        proposals=proposals,
        timeline=timeline,
        comments_by_id=comments_by_id,
        invoices_by_id={invoice.pk: invoice for invoice in invoices},
        last_acknowledged=last_acknowledged,
        since_acknowledged=since_acknowledged,
        current_acknowledged=order.revision in acknowledgements,
        totals=totals,
        ship_notices=list(access.ship_notices(viewer).filter(order=order).order_by("-pk")),
    )


def _agreement_shares(order: PurchaseOrder, totals: dict[str, Decimal]) -> dict[str, Decimal]:
    """How far into a blanket agreement we are: of its time, and of its value released."""
    shares: dict[str, Decimal] = {}
    if totals["amount"]:
        shares["released_share"] = totals.get("released_value", ZERO) * 100 / totals["amount"]
    if order.valid_from and order.valid_to and order.valid_to > order.valid_from:
        days = (order.valid_to - order.valid_from).days
        gone = min(max((timezone.localdate() - order.valid_from).days, 0), days)
        shares["time_share"] = Decimal(gone * 100) / days
        shares["days_left"] = Decimal(days - gone)
    return shares


def _since_last_acknowledgement(
    order: PurchaseOrder, revisions: list[Any], acknowledgements: dict[int, Any]
) -> tuple[int | None, dict[tuple[int, int], str]]:
    """What the revisions after the supplier's last acknowledgement did to deliveries."""
    answered = [number for number in acknowledgements if number < order.revision]
    if order.revision in acknowledgements or not answered:
        return None, {}
    last = max(answered)
    touched: dict[tuple[int, int], str] = {}
    for revision in sorted(revisions, key=lambda r: r.number):
        if revision.number <= last:
            continue
        for change in revision.changes or []:
            if change.get("target") != "delivery":
                continue
            key = (int(change["line"]), int(change["delivery"]))
            touched[key] = "new" if change["op"] == "add" else touched.get(key, "changed")
    return last, touched


def match_exceptions() -> list[str]:
    return [
        MatchStatus.QUANTITY_EXCEPTION,
        MatchStatus.PRICE_VARIANCE,
        MatchStatus.QUANTITY_AND_PRICE,
    ]


# ---------------------------------------------------------------------------------------
# Ship notices
# ---------------------------------------------------------------------------------------

SHIP_NOTICE_SHOWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "open": (
        "In transit or received in part",
        (ShipNoticeStatus.SUBMITTED, ShipNoticeStatus.PARTIALLY_RECEIVED),
    ),
    "drafts": ("Drafts", (ShipNoticeStatus.DRAFT,)),
    "differences": ("Closed with difference", (ShipNoticeStatus.CLOSED,)),
    "received": ("Received in full", (ShipNoticeStatus.RECEIVED,)),
    "cancelled": ("Cancelled", (ShipNoticeStatus.CANCELLED,)),
    "all": ("All", ()),
}


def ship_notice_list(viewer: Viewer, *, show: str = "open", q: str = "") -> QuerySet[ShipNotice]:
    """The viewer's notices, by what `show` names (SHIP_NOTICE_SHOWS), soonest arrival first."""
    queryset = access.ship_notices(viewer).select_related("order", "vendor")
    statuses = SHIP_NOTICE_SHOWS.get(show, SHIP_NOTICE_SHOWS["open"])[1]
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    if q:
        queryset = queryset.filter(
            Q(number__icontains=q)
            | Q(order__number__icontains=q)
            | Q(tracking_number__icontains=q)
            | Q(packing_slip__icontains=q)
        )
    return queryset.order_by("expected_date", "pk")


@dataclass
class ShipNoticePage:
    notice: ShipNotice
    rows: list[Any]  # reconcile.Row
    receipts: list[Any]
    timeline: list[Any]
    announced: Decimal = ZERO
    received: Decimal = ZERO

    @property
    def difference_count(self) -> int:
        return sum(1 for row in self.rows if row.kind)

    @property
    def has_differences(self) -> bool:
        return self.difference_count > 0


def ship_notice_page(viewer: Viewer, notice: ShipNotice) -> ShipNoticePage:
    """Everything a notice's page shows: its lines against what arrived, the receipts
    recorded against it and its history (each submission, correction and receipt)."""
    rows = notice_rows(notice)
    receipts = list(
        access.receipts(viewer).filter(ship_notice=notice).order_by("receipt_date", "pk")
    )
    timeline = list(
        access.events(viewer)
        .filter(order_id=notice.order_id)
        .filter(Q(data__ship_notice=notice.pk) | Q(data__against_notice=notice.pk))
        .select_related("actor")
        .order_by("-id")
    )
    return ShipNoticePage(
        notice=notice,
        rows=rows,
        receipts=receipts,
        timeline=timeline,
        announced=sum((row.announced for row in rows), ZERO),
        received=sum((row.received for row in rows), ZERO),
    )


@dataclass
class Shippable:
    """An open delivery as the ship-notice form offers it."""

    delivery: Any
    elsewhere: Decimal  # in transit on other notices
    still_to_ship: Decimal  # ordered - received - elsewhere
    at_most: Decimal  # with the over-receipt tolerance
    on_notice: Decimal = ZERO  # announced on the notice being corrected


def shippable(order: PurchaseOrder, notice: ShipNotice | None = None) -> list[Shippable]:
    """The order's open deliveries with what can still be announced on them."""
    on_notice: dict[int, Decimal] = {}
    counted = False
    if notice is not None:
        on_notice = dict(notice.lines.values_list("delivery_id", "quantity"))
        counted = notice.is_open
    result = []
    deliveries = (
        order.deliveries.filter(status=LineStatus.OPEN)
        .exclude(line__status=LineStatus.CANCELLED)
        .select_related("line__item")
        .order_by("line__line_number", "delivery_number")
    )
    for delivery in deliveries:
        mine = on_notice.get(delivery.pk, ZERO)
        elsewhere = max(delivery.in_transit_quantity - (mine if counted else ZERO), ZERO)
        result.append(
            Shippable(
                delivery=delivery,
                elsewhere=elsewhere,
                still_to_ship=max(delivery.quantity - delivery.received_quantity - elsewhere, ZERO),
                at_most=max(
                    max_receivable(delivery) - delivery.received_quantity - elsewhere, ZERO
                ),
                on_notice=mine,
            )
        )
    return result


# ---------------------------------------------------------------------------------------
# The API's order (GET /api/v1/orders/{number}): the figures of `order_page`, plain rows
# ---------------------------------------------------------------------------------------


@dataclass
class OrderApiView:
    """What the API's order shows: its lines (dicts, each with its `deliveries`, the
    figures of `LineView`), its revisions (newest first, without the snapshots), the
    viewer's acknowledgements by revision and the order's total, as `order_page` has them.
    Two queries, however many lines and deliveries."""

    lines: list[dict[str, Any]]
    revisions: list[dict[str, Any]]
    acknowledgements: dict[int, str]
    total_amount: Decimal
    current_acknowledged: bool


def delivery_open_quantity(status: str, quantity: Decimal, received: Decimal) -> Decimal:
    """`Delivery.open_quantity` of a row read with `.values()`."""
    if status != LineStatus.OPEN:
        return ZERO
    return max(quantity - received, ZERO)


def order_api_view(viewer: Viewer, order: PurchaseOrder) -> OrderApiView:
    """`order` must come from `access.order_or_404(viewer, ...)`. Two queries: the lines
    with their deliveries (a line without any still comes, once) and what the viewer's
    invoices bill of each; the revisions with the viewer's acknowledgement of each."""
    invoiced = (
        InvoiceLine.objects.filter(
            order_line=OuterRef("pk"),
            invoice__in=access.invoices(viewer).exclude(status=InvoiceStatus.VOID),
        )
        .values("order_line")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    rows = (
        order.lines.annotate(invoiced=Subquery(invoiced))
        .order_by("line_number", "deliveries__delivery_number")
        .values_list(
            "id",
            "line_number",
            "item__part_number",
            "description",
            "vendor_part_number",
            "unit_of_measure",
            "quantity",
            "unit_price",
            "status",
            "invoiced",
            "deliveries__id",
            "deliveries__delivery_number",
            "deliveries__due_date",
            "deliveries__promised_date",
            "deliveries__quantity",
            "deliveries__received_quantity",
            "deliveries__status",
        )
    )
    lines: list[dict[str, Any]] = []
    line: dict[str, Any] = {}
    for (
        line_id, line_number, part_number, description, vendor_part_number, unit_of_measure,
        quantity, unit_price, status, line_invoiced, d_id, d_number, d_due, d_promised,
        d_quantity, d_received, d_status,
    ) in rows:  # fmt: skip
        if not lines or line["id"] != line_id:
            line = {
                "id": line_id,
                "line_number": line_number,
                "item__part_number": part_number,
                "description": description,
                "vendor_part_number": vendor_part_number,
                "unit_of_measure": unit_of_measure,
                "quantity": quantity,
                "unit_price": unit_price,
                "status": status,
                "invoiced": ZERO if line_invoiced is None else line_invoiced,
                "deliveries": [],
            }
            lines.append(line)
        if d_id is not None:
            line["deliveries"].append(
                {
                    "id": d_id,
                    "delivery_number": d_number,
                    "due_date": d_due,
                    "promised_date": d_promised,
                    "quantity": d_quantity,
                    "received_quantity": d_received,
                    "status": d_status,
                    "open_quantity": delivery_open_quantity(d_status, d_quantity, d_received),
                }
            )
    total = ZERO
    for line in lines:
        deliveries = line["deliveries"]
        released = sum(
            (d["quantity"] for d in deliveries if d["status"] != LineStatus.CANCELLED), ZERO
        )
        received = sum((d["received_quantity"] for d in deliveries), ZERO)
        line["released"] = released
        line["received"] = received
        line["open_quantity"] = sum((d["open_quantity"] for d in deliveries), ZERO)
        base = released if order.kind == OrderKind.BLANKET else received
        line["remaining"] = max(line["quantity"] - base, ZERO)
        if line["status"] != LineStatus.CANCELLED:
            total += line["quantity"] * line["unit_price"]
    acknowledgement = (
        access.acknowledgements(viewer)
        .filter(order_id=OuterRef("order_id"), revision=OuterRef("number"))
        .values("response")[:1]
    )
    revisions: list[dict[str, Any]] = []
    acknowledgements: dict[int, str] = {}
    for number, created_at, reason, changes, response in (
        order.revisions.annotate(acknowledgement=Subquery(acknowledgement))
        .order_by("-number")
        .values_list("number", "created_at", "reason", "changes", "acknowledgement")
    ):
        revisions.append(
            {"number": number, "created_at": created_at, "reason": reason, "changes": changes}
        )
        if response is not None:
            acknowledgements[number] = response
    return OrderApiView(
        lines=lines,
        revisions=revisions,
        acknowledgements=acknowledgements,
        total_amount=total,
        current_acknowledged=order.revision in acknowledgements,
    )
