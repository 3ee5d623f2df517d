"""A fixture world for the authorization matrix and the mass-assignment tests.

Two vendors with objects of every kind, each built through the services as the product
builds them: vendor A (admin alice, user amos, deactivated user dora) and vendor B (user
bob), a buyer and an administrator (staff buyer), and API tokens (vendor A read-write,
vendor A read-only, vendor B, integration, revoked, and one of the deactivated login).

`build_world()` needs the database and the internal scope (tests/conftest.py's autouse
`_internal_scope`, or `scopes_disabled()`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone

from tests.factories import ItemFactory, UserFactory, VendorFactory
from vendorportal.accounts import services as accounts
from vendorportal.accounts.models import Invitation, Role, User
from vendorportal.api import tokens
from vendorportal.api.models import ApiToken
from vendorportal.collaboration import attachments
from vendorportal.collaboration import services as collaboration
from vendorportal.collaboration.models import Attachment, ChangeProposal, Comment
from vendorportal.events.models import Event, WebhookDelivery, WebhookSubscription
from vendorportal.purchasing import services
from vendorportal.purchasing.models import (
    Delivery,
    Invoice,
    Line,
    Payment,
    PurchaseOrder,
    Receipt,
    ShipNotice,
    Vendor,
)

D = Decimal


@dataclass
class VendorSide:
    """One vendor's objects (every id a route can take)."""

    vendor: Vendor
    order: PurchaseOrder  # issued, revised once, with two lines
    blanket: PurchaseOrder  # issued blanket order with a release
    draft: PurchaseOrder
    line: Line
    blanket_line: Line
    delivery: Delivery
    release: Delivery
    receipt: Receipt
    invoice: Invoice
    payment: Payment
    proposal: ChangeProposal  # pending
    comment: Comment
    internal_comment: Comment
    ship_notice: ShipNotice  # submitted, on the order's line 10
    draft_notice: ShipNotice  # a draft, on the order's line 20
    users: list[User] = field(default_factory=list)
    invitation: Invitation | None = None
    attachment: Attachment | None = None  # the buyer's shared drawing on the order's line 10
    supplier_attachment: Attachment | None = None  # the supplier's certificate on the order
    token: ApiToken | None = None
    # the supplier's invoice from the order, awaiting the buyer's approval (1 on line 10)
    submitted_invoice: Invoice | None = None


@dataclass
class World:
    a: VendorSide
    b: VendorSide
    buyer: User
    administrator: User
    alice: User  # vendor A admin
    amos: User  # vendor A user
    dora: User  # vendor A user, deactivated
    bob: User  # vendor B's admin
    bert: User  # vendor B's user
    secrets: dict[str, str]  # token role -> bearer secret
    token_objects: dict[str, ApiToken]
    webhook: WebhookSubscription
    webhook_delivery: WebhookDelivery | None
    extra: dict[str, Any] = field(default_factory=dict)


def _side(vendor: Vendor, buyer: User, supplier: User, prefix: str) -> VendorSide:
    order = services.order_create(
        vendor=vendor,
        by=buyer,
        number=f"PO-{prefix}-100",
        internal_notes=f"INTERNAL-{prefix}",
        notes_to_vendor=f"Notes for {prefix}",
        lines=[
            services.LineInput(
                item=ItemFactory(),
                quantity=D("100"),
                unit_price=D("2.5"),
                due_date=dt.date(2026, 12, 15),
                internal_notes=f"LINE-INTERNAL-{prefix}",
            ),
            services.LineInput(
                item=ItemFactory(),
                quantity=D("10"),
                unit_price=D("9"),
                due_date=dt.date(2026, 12, 20),
            ),
        ],
    )
    order = services.order_issue(order=order, by=buyer)
    line = order.lines.get(line_number=10)
    services.order_revise(
        order=order,
        by=buyer,
        reason="Price update",
        changes=[services.SetLine(line=10, field="unit_price", value=D("2.6"))],
    )
    order.refresh_from_db()
    blanket = services.order_create(
        vendor=vendor,
        by=buyer,
        kind="blanket",
        number=f"PO-{prefix}-200",
        lines=[services.LineInput(item=ItemFactory(), quantity=D("1000"), unit_price=D("1"))],
    )
    blanket = services.order_issue(order=blanket, by=buyer)
    blanket_line = blanket.lines.get()
    services.release_add(
        line=blanket_line, quantity=D("100"), due_date=dt.date(2026, 12, 1), by=buyer
    )
    release = blanket_line.deliveries.get()
    delivery = order.deliveries.get(line__line_number=10)
    receipt = services.receipt_record(
        order=order, by=buyer, lines=[services.ReceiptLineInput(delivery, D("40"))]
    )
    invoice = services.invoice_record(
        vendor=vendor,
        number=f"INV-{prefix}-1",
        by=buyer,
        lines=[services.InvoiceLineInput(line, D("40"), D("2.6"))],
    )
    payment = services.payment_record(invoice=invoice, amount=D("10.00"), by=buyer)
    other_delivery = order.deliveries.get(line__line_number=20)
    proposal = collaboration.proposal_create(
        order=order,
        line=other_delivery.line,
        delivery=other_delivery,
        by=supplier,
        due_date=dt.date(2026, 12, 29),
        reason="Holiday shutdown",
    )
    comment = collaboration.comment_add(order=order, by=supplier, body=f"Shared {prefix}")
    internal_comment = collaboration.comment_add(
        order=order, by=buyer, body=f"COMMENT-INTERNAL-{prefix}", internal=True
    )
    ship_notice = services.ship_notice_create(
        order=order,
        by=supplier,
        lines=[services.ShipNoticeLineInput(delivery, D("20"))],
        ship_date=dt.date(2026, 11, 28),
        expected_date=dt.date(2026, 12, 2),
        carrier="DHL",
        tracking_number=f"TRACK-{prefix}",
        packing_slip=f"PS-{prefix}",
        note=f"ASN-NOTE-{prefix}",
    )
    draft_notice = services.ship_notice_create(
        order=order,
        by=supplier,
        lines=[services.ShipNoticeLineInput(other_delivery, D("5"))],
        expected_date=dt.date(2026, 12, 9),
        submit=False,
    )
    draft = services.order_create(
        vendor=vendor,
        by=buyer,
        number=f"PO-{prefix}-DRAFT",
        lines=[
            services.LineInput(
                item=ItemFactory(), quantity=D("1"), unit_price=D("1"), due_date=dt.date(2027, 1, 5)
            )
        ],
    )
    attachment = attachments.attachment_add(
        target=line,
        upload=ContentFile(b"%PDF-1.7\n%%EOF\n", name=f"drawing-{prefix}.pdf"),
        kind="drawing",
        by=buyer,
    )
    supplier_attachment = attachments.attachment_add(
        target=order,
        upload=ContentFile(b"%PDF-1.7\n%%EOF\n", name=f"cert-{prefix}.pdf"),
        kind="certificate",
        by=supplier,
    )
    submitted_invoice = services.invoice_submit(
        order=order,
        number=f"INV-{prefix}-PORTAL",
        by=supplier,
        lines=[services.InvoiceLineInput(line, D("1"), D("2.5"))],
        accept_exceptions=True,
    )
    return VendorSide(
        submitted_invoice=submitted_invoice,
        attachment=attachment,
        supplier_attachment=supplier_attachment,
        vendor=vendor,
        order=order,
        blanket=blanket,
        draft=draft,
        line=line,
        blanket_line=blanket_line,
        delivery=delivery,
        release=release,
        receipt=receipt,
        invoice=invoice,
        payment=payment,
        proposal=proposal,
        comment=comment,
        internal_comment=internal_comment,
        ship_notice=ship_notice,
        draft_notice=draft_notice,
    )


def build_world() -> World:
    vendor_a = VendorFactory(code="ACME", name="Acme Components", internal_notes="VENDOR-A-INT")
    vendor_b = VendorFactory(code="BOLT", name="Bolt Fasteners", internal_notes="VENDOR-B-INT")
    buyer = UserFactory(email="buyer@example.com", role=Role.BUYER, first_name="Bea")
    administrator = UserFactory(
        email="admin@example.com", role=Role.BUYER, is_staff=True, is_superuser=True
    )
    alice = UserFactory(email="alice@acme.example", role=Role.VENDOR_ADMIN, vendor=vendor_a)
    amos = UserFactory(email="amos@acme.example", role=Role.VENDOR_USER, vendor=vendor_a)
    dora = UserFactory(email="dora@acme.example", role=Role.VENDOR_USER, vendor=vendor_a)
    bob = UserFactory(email="bob@bolt.example", role=Role.VENDOR_ADMIN, vendor=vendor_b)
    bert = UserFactory(email="bert@bolt.example", role=Role.VENDOR_USER, vendor=vendor_b)

    a = _side(vendor_a, buyer, amos, "A")
    b = _side(vendor_b, buyer, bob, "B")
    a.users = [alice, amos, dora]
    b.users = [bob, bert]
    a.invitation = accounts.invitation_create(
        vendor=vendor_a,
        email="new@acme.example",
        role=Role.VENDOR_USER,
        by=alice,
        site_url="http://testserver",
    )
    b.invitation = accounts.invitation_create(
        vendor=vendor_b,
        email="new@bolt.example",
        role=Role.VENDOR_USER,
        by=bob,
        site_url="http://testserver",
    )

    secrets: dict[str, str] = {}
    objects: dict[str, ApiToken] = {}

    def token(role: str, user: User, vendor: Vendor | None, read_only: bool = False) -> None:
        objects[role], secrets[role] = tokens.token_create(
            name=f"{role} token", vendor=vendor, user=user, read_only=read_only
        )

    token("vendor_token", amos, vendor_a)
    token("read_only_token", amos, vendor_a, read_only=True)
    token("vendor_b_token", bob, vendor_b)
    token("integration_token", administrator, None)
    token("revoked_token", amos, vendor_a)
    tokens.token_revoke(token=objects["revoked_token"])
    token("deactivated_token", dora, vendor_a)
    a.token = objects["vendor_token"]
    b.token = objects["vendor_b_token"]
    accounts.user_deactivate(user=dora, by=alice)

    webhook = WebhookSubscription.objects.create(
        name="ERP hook", url="https://erp.example/hook", secret="s3cret"
    )
    event = Event.objects.order_by("id").first()
    webhook_delivery = (
        WebhookDelivery.objects.create(
            subscription=webhook, event=event, next_attempt_at=timezone.now()
        )
        if event
        else None
    )
    return World(
        a=a,
        b=b,
        buyer=buyer,
        administrator=administrator,
        alice=alice,
        amos=amos,
        dora=dora,
        bob=bob,
        bert=bert,
        secrets=secrets,
        token_objects=objects,
        webhook=webhook,
        webhook_delivery=webhook_delivery,
    )
