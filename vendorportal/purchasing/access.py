"""The one access module: who is looking, and the data they may see.

Every portal and buying view, export, API endpoint and live stream reaches vendor data
through the functions here. Two layers keep a supplier inside its own data:

1. `scope_for(user)` activates the fail-closed vendor scope for the whole request
   (see `vendorportal.scoping`): a vendor login's queries are filtered to its vendor,
   a buyer's run in the internal scope, anything else cannot query vendor data at all.
2. The selectors below also filter explicitly by the viewer's vendor and hide what a
   supplier must not see (drafts, internal events and comments), so a mistake in one
   layer is caught by the other.

"Not yours" raises Http404, exactly like "does not exist".
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Exists, F, Model, OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django_scopes import scope, scopes_disabled

from vendorportal.accounts.models import User
from vendorportal.collaboration.models import (
    Acknowledgement,
    Attachment,
    AttachmentVisibility,
    ChangeProposal,
    Comment,
)
from vendorportal.events.models import Event
from vendorportal.purchasing.models import (
    Delivery,
    Invoice,
    Line,
    OrderStatus,
    PurchaseOrder,
    Receipt,
    Revision,
    ShipNotice,
)


@dataclass(frozen=True)
class Viewer:
    """A logged-in user as the access rules see them."""

    user: User
    vendor_id: int | None  # None: internal staff (buyer), sees every vendor

    @property
    def internal(self) -> bool:
        return self.vendor_id is None


def viewer_for(user: Any) -> Viewer | None:
    """The Viewer for an active buyer or vendor login; None for anyone else."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_buyer:
        return Viewer(user=user, vendor_id=None)
    if user.is_vendor_user and user.vendor_id is not None:
        return Viewer(user=user, vendor_id=user.vendor_id)
    return None


@contextlib.contextmanager
def scope_for(user: Any) -> Iterator[Viewer | None]:
    viewer = viewer_for(user)
    if viewer is None:
        # No scope: any query of vendor data raises.
        yield None
    elif viewer.internal:
        with scopes_disabled():
            yield viewer
    else:
        with scope(vendor=viewer.vendor_id):
            yield viewer


class VendorScopeMiddleware:
    """Runs every request inside the scope of the logged-in user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/api/"):
            # The API authenticates by token only and scopes each call to the token's
            # login (api/auth.py); a session cookie sent along must not scope anything.
            request.viewer = None  # type: ignore[attr-defined]
            return self.get_response(request)
        with scope_for(request.user) as viewer:
            request.viewer = viewer  # type: ignore[attr-defined]
            return self.get_response(request)


# ---------------------------------------------------------------------------------------
# Selectors
# ---------------------------------------------------------------------------------------


_M = TypeVar("_M", bound=Model)


def _own(viewer: Viewer, queryset: QuerySet[_M], **supplier_filters: Any) -> QuerySet[_M]:
    """Explicitly narrow to the viewer's vendor (the scope also does), plus what a
    supplier may not see."""
    if viewer.vendor_id is None:
        return queryset
    return queryset.filter(vendor_id=viewer.vendor_id, **supplier_filters)


def orders(viewer: Viewer) -> QuerySet[PurchaseOrder]:
    """Orders the viewer may see: a supplier sees its own, never drafts."""
    queryset = _own(viewer, PurchaseOrder.objects.all())
    return queryset if viewer.internal else queryset.exclude(status=OrderStatus.DRAFT)


def order_or_404(viewer: Viewer, number: str) -> PurchaseOrder:
    order = orders(viewer).select_related("vendor", "buyer").filter(number=number).first()
    if order is None:
        raise Http404("No such order.")
    return order


def line_or_404(viewer: Viewer, order: PurchaseOrder, line_number: Any) -> Line:
    """A line of an order already reached through `order_or_404`."""
    try:
        return order.lines.get(line_number=int(line_number))
    except (Line.DoesNotExist, TypeError, ValueError):
        raise Http404("No such line.") from None


def delivery_or_404(viewer: Viewer, order: PurchaseOrder, pk: Any) -> Delivery:
    try:
        return order.deliveries.select_related("line").get(pk=int(pk))
    except (Delivery.DoesNotExist, TypeError, ValueError):
        raise Http404("No such delivery.") from None


def revision_or_404(viewer: Viewer, order: PurchaseOrder, number: Any) -> Revision:
    """A revision of an order already reached through `order_or_404` (its snapshot is
    what the supplier was sent); a draft has none."""
    try:
        wanted = int(number)
        if not 1 <= wanted <= 2**31 - 1:
            raise ValueError(number)
        return order.revisions.get(number=wanted)
    except (Revision.DoesNotExist, TypeError, ValueError):
        raise Http404("No such revision.") from None


def deliveries(viewer: Viewer) -> QuerySet[Delivery]:
    queryset = _own(viewer, Delivery.objects.all())
    return queryset if viewer.internal else queryset.exclude(order__status=OrderStatus.DRAFT)


def receipts(viewer: Viewer) -> QuerySet[Receipt]:
    return _own(viewer, Receipt.objects.all())


def ship_notices(viewer: Viewer) -> QuerySet[ShipNotice]:
    """A supplier sees its own notices (its drafts too); a buyer sees every vendor's."""
    return _own(viewer, ShipNotice.objects.all())


def ship_notice_or_404(viewer: Viewer, pk: Any) -> ShipNotice:
    try:
        return ship_notices(viewer).select_related("order", "vendor", "created_by").get(pk=int(pk))
    except (ShipNotice.DoesNotExist, TypeError, ValueError):
        raise Http404("No such ship notice.") from None


def invoices(viewer: Viewer) -> QuerySet[Invoice]:
    return _own(viewer, Invoice.objects.all())


def invoice_or_404(viewer: Viewer, pk: Any) -> Invoice:
    try:
        return invoices(viewer).select_related("vendor", "credits").get(pk=int(pk))
    except (Invoice.DoesNotExist, TypeError, ValueError):
        raise Http404("No such invoice.") from None


def proposals(viewer: Viewer) -> QuerySet[ChangeProposal]:
    return _own(viewer, ChangeProposal.objects.all())


def proposal_or_404(viewer: Viewer, order: PurchaseOrder, pk: Any) -> ChangeProposal:
    try:
        return (
            proposals(viewer)
            .select_related("order", "line", "delivery")
            .get(pk=int(pk), order=order)
        )
    except (ChangeProposal.DoesNotExist, TypeError, ValueError):
        raise Http404("No such proposal.") from None


def comments(viewer: Viewer, order: PurchaseOrder) -> QuerySet[Comment]:
    return _own(viewer, Comment.objects.filter(order=order), internal=False)


def attachments(viewer: Viewer) -> QuerySet[Attachment]:
    """Files the viewer may list and download: never a deleted one; a supplier only its
    own vendor's shared files, and none on a draft order (a buyer sees every file)."""
    queryset = _own(
        viewer,
        Attachment.objects.filter(deleted_at__isnull=True),
        visibility=AttachmentVisibility.SHARED,
    )
    if viewer.internal:
        return queryset
    return queryset.exclude(order__status=OrderStatus.DRAFT)


def attachment_or_404(viewer: Viewer, public_id: Any) -> Attachment:
    """A file by its opaque id; another vendor's, an internal or a deleted one is 404."""
    found = (
        attachments(viewer)
        .select_related("order", "line", "ship_notice", "invoice", "uploaded_by")
        .filter(public_id=str(public_id)[:32])
        .first()
    )
    if found is None:
        raise Http404("No such file.")
    return found


def events(viewer: Viewer) -> QuerySet[Event]:
    """The event log as the viewer may see it: a supplier gets its own, shared events,
    never one of a draft order (services mark those internal; this holds if one forgets)."""
    queryset = _own(viewer, Event.objects.all(), internal=False)
    return queryset if viewer.internal else queryset.exclude(order__status=OrderStatus.DRAFT)


def acknowledgements(viewer: Viewer) -> QuerySet[Acknowledgement]:
    return _own(viewer, Acknowledgement.objects.all())


def current_revision_acknowledged_for(order_path: str = "") -> Exists:
    """Annotation: has the current revision of the order at `order_path` been acknowledged?

    `order_path` is "" when annotating orders, "order" when annotating deliveries.
    """
    prefix = f"{order_path}__" if order_path else ""
    return Exists(
        Acknowledgement.objects.filter(
            order=OuterRef(order_path or "pk"), revision=OuterRef(f"{prefix}revision")
        )
    )


def current_revision_date() -> Subquery:
    """Annotation on orders: when the current revision was made (how long it has waited)."""
    # One row by its unique key: without `order_by()` the model's ordering would join the
    # order and sort, per order annotated.
    return Subquery(
        Revision.objects.filter(order=OuterRef("pk"), number=OuterRef("revision"))
        .order_by()
        .values("created_at")[:1]
    )


def acknowledged_current_order_ids() -> QuerySet[Acknowledgement, Any]:
    """Subquery: ids of orders whose current revision is acknowledged."""
    return Acknowledgement.objects.filter(revision=F("order__revision")).values("order_id")
