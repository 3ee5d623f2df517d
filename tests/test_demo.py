"""`vendorportal demo`: realistic, complete, idempotent demo data."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max, Q
from django.test import override_settings
from django.utils import timezone
from django_scopes import scopes_disabled

from vendorportal.accounts.models import Role, User
from vendorportal.accounts.selectors import seat_report
from vendorportal.collaboration.models import (
    Acknowledgement,
    AcknowledgementResponse,
    ChangeProposal,
    Comment,
    ProposalStatus,
)
from vendorportal.events.models import Event
from vendorportal.purchasing import access, demo, revisions
from vendorportal.purchasing.models import (
    Delivery,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Item,
    LineStatus,
    MatchStatus,
    OrderKind,
    OrderStatus,
    PurchaseOrder,
    Receipt,
    ReceiptKind,
    Revision,
    Vendor,
)

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def fingerprint() -> dict[str, Any]:
    """Row count, highest id and latest update of every table the demo writes."""
    result: dict[str, Any] = {}
    with scopes_disabled():
        for label in ("purchasing", "collaboration", "events", "accounts"):
            for model in apps.get_app_config(label).get_models():
                rows = model._base_manager.all()
                names = {f.name for f in model._meta.concrete_fields}
                aggregates: dict[str, Any] = {"rows": Count("pk"), "last_id": Max("pk")}
                if "updated_at" in names:
                    aggregates["updated"] = Max("updated_at")
                result[model._meta.label] = rows.aggregate(**aggregates)
        result["passwords"] = dict(User.objects.values_list("email", "password"))
    return result


@pytest.fixture(scope="class")
def loaded(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """The demo, loaded once for the class (committed), removed again afterwards."""
    with django_db_blocker.unblock():
        with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
            started = time.monotonic()
            output = run_demo()
            seconds = time.monotonic() - started
        try:
            yield {"output": output, "seconds": seconds}
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.mark.django_db
@pytest.mark.usefixtures("loaded")
class TestDemoData:
    @pytest.fixture(autouse=True)
    def internal_scope(self) -> Iterator[None]:
        with scopes_disabled():
            yield

    def test_reports_logins_and_counts(self, loaded: dict[str, Any]) -> None:
        # How long loading takes is printed, not asserted: a timed test fails on a busy
        # machine (the rule: speed goals belong in bench/).
        print(f"demo loaded in {loaded['seconds']:.1f} s")
        output = loaded["output"]
        assert "Demo data loaded" in output
        for login in demo.LOGINS:
            assert login.email in output
        assert demo.DEFAULT_PASSWORD in output
        assert "63 orders" in output

    def test_demo_buyers_log_in_with_the_documented_two_factor_secret(
        self, loaded: dict[str, Any]
    ) -> None:
        from allauth.mfa.models import Authenticator

        output = loaded["output"]
        assert demo.DEMO_TOTP_SECRET in output
        assert "vendorportal demo-code" in output
        totp = Authenticator.objects.filter(type=Authenticator.Type.TOTP)
        assert set(totp.values_list("user__email", flat=True)) == {b.email for b in demo.BUYERS}
        assert {a.data["secret"] for a in totp} == {demo.DEMO_TOTP_SECRET}
        assert len(demo.current_code()) == 6

    def test_master_data(self) -> None:
        vendors = Vendor.objects.all()
        assert vendors.count() >= 5
        assert all(v.contact_name and v.contact_email and v.address for v in vendors)
        assert vendors.exclude(internal_notes="").count() >= 3
        assert vendors.filter(rating__isnull=False).count() >= 3
        assert Item.objects.count() >= 35
        assert set(Item.objects.values_list("unit_of_measure", flat=True)) >= {
            "EA",
            "KG",
            "M",
            "BOX",
        }
        assert not Item.objects.filter(standard_cost__isnull=True).exists()

    def test_logins_and_roles(self) -> None:
        buyers = User.objects.filter(role=Role.BUYER)
        assert buyers.count() == 3
        assert all(b.first_name and b.last_name and b.vendor_id is None for b in buyers)
        main = User.objects.get(email="buyer@demo.vendorportal.test")
        assert main.role == Role.BUYER and main.is_staff and main.is_superuser
        roles = {
            (u.email, u.role, u.vendor.code if u.vendor else None)
            for u in User.objects.exclude(role=Role.BUYER).select_related("vendor")
        }
        assert roles == {
            ("admin@acme.demo.vendorportal.test", Role.VENDOR_ADMIN, "ACME"),
            ("sales@acme.demo.vendorportal.test", Role.VENDOR_USER, "ACME"),
            ("admin@bolt.demo.vendorportal.test", Role.VENDOR_ADMIN, "BOLT"),
            ("orders@bolt.demo.vendorportal.test", Role.VENDOR_USER, "BOLT"),
        }
        for user in User.objects.all():
            assert user.check_password(demo.DEFAULT_PASSWORD), user.email
            assert not user.is_superuser or user.email == main.email

    def test_vendor_logins_are_seats_since_they_joined(self) -> None:
        report = seat_report(timezone.localdate())
        assert {(v.code, v.seats) for v in report.vendors} == {("ACME", 2), ("BOLT", 2)}
        assert report.total == 4 * Decimal(settings.PORTAL_SEAT_PRICE)
        # The history starts when the logins joined, before the first order.
        first_order = PurchaseOrder.objects.order_by("created_at").first()
        assert first_order is not None
        earlier = seat_report(first_order.created_at.date() - dt.timedelta(days=1))
        assert earlier.seats == 4

    def test_orders_in_every_status_over_the_last_120_days(self) -> None:
        today = timezone.localdate()
        orders = PurchaseOrder.objects.all()
        assert orders.count() == 63
        assert set(orders.values_list("status", flat=True)) == set(OrderStatus.values)
        assert (
            orders.filter(status=OrderStatus.DRAFT, revision=0).count()
            == orders.filter(status=OrderStatus.DRAFT).count()
        )
        first = min(orders.values_list("order_date", flat=True))
        assert today - dt.timedelta(days=125) <= first <= today - dt.timedelta(days=100)
        assert max(orders.values_list("order_date", flat=True)) < today
        standard = orders.filter(kind=OrderKind.STANDARD).annotate(n=Count("lines"))
        assert {o.n for o in standard} <= {1, 2, 3, 4, 5, 6}  # 6: one line added by revision
        assert orders.exclude(notes_to_vendor="").count() >= 30
        assert orders.exclude(internal_notes="").count() >= 10
        # Several buyers and vendors share the work.
        assert orders.values("buyer").distinct().count() == 3
        assert orders.values("vendor").distinct().count() >= 5

    def test_blanket_orders_with_releases(self) -> None:
        blankets = PurchaseOrder.objects.filter(kind=OrderKind.BLANKET)
        assert blankets.count() >= 3
        for order in blankets:
            assert order.valid_from and order.valid_to and order.valid_from < order.valid_to
            for line in order.lines.all():
                releases = line.deliveries.all()
                assert releases.count() >= 2, order.number
                assert sum(d.quantity for d in releases) <= line.quantity
            assert order.deliveries.filter(received_quantity__gt=0).exists()
            assert order.deliveries.filter(status=LineStatus.OPEN).exists()
            assert Event.objects.filter(order=order, kind="release.added").count() >= 2

    def test_ship_notices_in_every_state(self) -> None:
        from vendorportal.purchasing.models import ShipNotice, ShipNoticeStatus

        today = timezone.localdate()
        counts = Counter(ShipNotice.objects.values_list("status", flat=True))
        for status in ShipNoticeStatus.values:
            assert counts[status] >= 1, (status, counts)
        assert counts[ShipNoticeStatus.RECEIVED] >= 10, counts
        # What is on its way shows on the deliveries, expected from today on.
        in_transit = Delivery.objects.filter(in_transit_quantity__gt=0)
        assert in_transit.exists()
        assert not in_transit.filter(expected_date__isnull=True).exists()
        for notice in ShipNotice.objects.filter(status=ShipNoticeStatus.SUBMITTED):
            assert notice.expected_date >= today and notice.submitted_at.date() < today
        # Received against notices, and the short ones closed with a reason.
        assert Receipt.objects.filter(ship_notice__isnull=False).count() >= 10
        for notice in ShipNotice.objects.filter(status=ShipNoticeStatus.CLOSED):
            assert notice.closed_reason and notice.receipts.exists()

    def test_suppliers_invoice_from_the_portal(self) -> None:
        from vendorportal.purchasing.models import InvoiceKind, InvoiceOrigin

        sent = Invoice.objects.filter(origin=InvoiceOrigin.SUPPLIER, kind=InvoiceKind.INVOICE)
        counts = Counter(sent.values_list("status", flat=True))
        assert counts[InvoiceStatus.SUBMITTED] >= 1, counts
        assert counts[InvoiceStatus.WITHDRAWN] >= 1, counts
        assert counts[InvoiceStatus.OPEN] + counts[InvoiceStatus.PAID] >= 5, counts
        for invoice in sent.exclude(status__in=[InvoiceStatus.SUBMITTED, InvoiceStatus.WITHDRAWN]):
            assert invoice.approved_at is not None and invoice.approved_by is not None
            assert (
                invoice.created_by is not None and invoice.created_by.vendor_id == invoice.vendor_id
            )
        credits = Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE)
        assert credits.filter(status=InvoiceStatus.APPLIED).exists()
        for credit in credits.filter(status=InvoiceStatus.APPLIED):
            assert (
                credit.credits is not None and credit.credits.credited_amount >= credit.total_amount
            )
        # A paid invoice with a credit was paid what the credit left.
        for invoice in Invoice.objects.filter(status=InvoiceStatus.PAID, credited_amount__gt=0):
            assert invoice.paid_amount + invoice.credited_amount == invoice.total_amount

    def test_drawings_certificates_and_invoice_pdfs_are_attached(self) -> None:
        import hashlib

        from django.core.files.storage import storages

        from vendorportal.collaboration.models import Attachment, AttachmentKind

        today = timezone.localdate()
        files = Attachment.objects.filter(deleted_at__isnull=True)
        counts = Counter(files.values_list("kind", flat=True))
        assert counts[AttachmentKind.DRAWING] >= 5, counts
        assert counts[AttachmentKind.CERTIFICATE] >= 5, counts
        assert counts[AttachmentKind.INVOICE_PDF] >= 3, counts
        assert (
            files.filter(kind=AttachmentKind.DRAWING, line__isnull=False).count()
            == counts[AttachmentKind.DRAWING]
        )
        assert files.filter(kind=AttachmentKind.CERTIFICATE, ship_notice__isnull=False).exists()
        assert files.filter(kind=AttachmentKind.INVOICE_PDF, invoice__isnull=False).exists()
        for attachment in files[:12]:
            assert attachment.uploaded_at.date() < today
            with storages["attachments"].open(attachment.storage_key) as stored:
                content = stored.read()
            assert content.startswith(b"%PDF-")
            assert hashlib.sha256(content).hexdigest() == attachment.sha256

    def test_schedules_receipts_and_returns(self) -> None:
        today = timezone.localdate()
        open_deliveries = Delivery.objects.filter(status=LineStatus.OPEN)
        assert open_deliveries.filter(due_date__lt=today).exists()  # overdue
        assert open_deliveries.filter(due_date__gt=today).exists()
        # Partly received, still open.
        assert open_deliveries.filter(
            received_quantity__gt=0, received_quantity__lt=F("quantity")
        ).exists()
        # A standard line split into several deliveries.
        split = (
            Delivery.objects.filter(order__kind=OrderKind.STANDARD)
            .values("line")
            .annotate(n=Count("id"))
            .filter(n__gte=2)
        )
        assert split.exists()
        returns = Receipt.objects.filter(kind=ReceiptKind.RETURN)
        assert returns.exists()
        for receipt in returns:
            assert receipt.reason
            assert all(line.quantity < 0 for line in receipt.lines.all())
        assert Receipt.objects.filter(kind=ReceiptKind.RECEIPT).count() >= 40
        assert not Receipt.objects.filter(receipt_date__gte=today).exists()
        assert Event.objects.filter(kind="line.closed").exists()
        assert Event.objects.filter(kind="order.closed").exists()

    def test_revisions(self) -> None:
        revised = PurchaseOrder.objects.filter(kind=OrderKind.STANDARD, revision__gte=2)
        assert revised.filter(revision__lte=4).exists()
        assert revised.count() >= 5
        changes = [c for r in Revision.objects.filter(number__gte=2) for c in r.changes]
        fields = {(c["target"], c.get("field"), c["op"]) for c in changes}
        assert ("delivery", "due_date", "set") in fields
        assert ("line", "quantity", "set") in fields
        assert ("line", "unit_price", "set") in fields
        assert ("line", None, "add") in fields
        assert ("delivery", "cancelled", "set") in fields
        assert Revision.objects.exclude(reason="").count() == Revision.objects.count()
        # Every issued order's latest revision is what the order is now.
        for order in PurchaseOrder.objects.filter(issued_at__isnull=False):
            last = order.revisions.order_by("-number").first()
            assert last is not None and last.number == order.revision
            assert last.snapshot == revisions.order_snapshot(order), order.number

    def test_invoices_payments_and_match_exceptions(self) -> None:
        statuses = set(Invoice.objects.values_list("status", flat=True))
        assert {
            InvoiceStatus.OPEN,
            InvoiceStatus.PARTIALLY_PAID,
            InvoiceStatus.PAID,
            InvoiceStatus.DISPUTED,
        } <= statuses
        for invoice in Invoice.objects.filter(status=InvoiceStatus.PAID):
            assert invoice.paid_amount + invoice.credited_amount == invoice.total_amount > 0
        partly = Invoice.objects.filter(status=InvoiceStatus.PARTIALLY_PAID)
        assert all(0 < i.paid_amount < i.total_amount for i in partly)
        variance = InvoiceLine.objects.filter(match_status=MatchStatus.PRICE_VARIANCE)
        assert variance.filter(unit_price__gt=F("order_unit_price")).exists()
        excess = InvoiceLine.objects.filter(match_status=MatchStatus.QUANTITY_EXCEPTION)
        assert excess.filter(invoiced_quantity__gt=F("received_quantity")).exists()
        assert InvoiceLine.objects.filter(match_status=MatchStatus.MATCHED).count() >= 40

    def test_history_is_dated_in_the_past_and_in_order(self) -> None:
        now = timezone.now()
        horizon = now - dt.timedelta(days=130)
        events = list(Event.objects.order_by("id").values_list("created_at", flat=True))
        assert events == sorted(events)  # ids follow the clock, as in real use
        assert horizon < events[0] and events[-1] < now - dt.timedelta(hours=1)
        for model in (
            PurchaseOrder,
            Revision,
            Receipt,
            Invoice,
            Acknowledgement,
            ChangeProposal,
            Comment,
        ):
            assert not model.objects.filter(created_at__gt=now - dt.timedelta(hours=1)).exists()
        assert not ChangeProposal.objects.filter(decided_at__gt=now - dt.timedelta(hours=1))
        issued = PurchaseOrder.objects.exclude(status=OrderStatus.DRAFT).exclude(
            issued_at__isnull=True
        )
        for order in issued:
            assert order.issued_at is not None
            assert order.issued_at.date() >= order.order_date
        closed = PurchaseOrder.objects.filter(status=OrderStatus.CLOSED)
        assert not closed.filter(Q(closed_at__isnull=True) | Q(closed_at__gt=now)).exists()
        # Deliveries by weight were received within the over-receipt tolerance.
        assert Delivery.objects.filter(received_quantity__gt=F("quantity")).exists()
        assert not Delivery.objects.filter(
            received_quantity__gt=F("quantity") * Decimal("1.05")
        ).exists()

    # -- what the suppliers with logins and the buyers say --------------------------------

    @staticmethod
    def vendors_with_logins() -> list[Vendor]:
        vendors = list(Vendor.objects.filter(users__isnull=False).distinct().order_by("code"))
        assert [v.code for v in vendors] == ["ACME", "BOLT"]
        return vendors

    def test_acknowledgements_follow_the_revisions(self) -> None:
        acks = Acknowledgement.objects.select_related("order", "user")
        responses = Counter(acks.values_list("response", flat=True))
        assert responses[AcknowledgementResponse.REJECTED] == 1
        assert responses[AcknowledgementResponse.ACCEPTED_WITH_CHANGES] == 2
        assert responses[AcknowledgementResponse.ACCEPTED] >= 25
        assert not acks.exclude(response=AcknowledgementResponse.ACCEPTED).filter(comment="")
        for ack in acks:
            # Given by a login of the order's own supplier, after the revision was made and
            # (unless it came with an accepted proposal) before the next one.
            assert ack.user is not None and ack.user.vendor_id == ack.order.vendor_id
            assert ack.vendor_id == ack.order.vendor_id
            made = Revision.objects.get(order=ack.order, number=ack.revision).created_at
            following = Revision.objects.filter(order=ack.order, number=ack.revision + 1).first()
            if ack.proposal_id is None:
                assert made < ack.created_at, ack
                assert following is None or ack.created_at < following.created_at, ack
            else:
                assert made == ack.created_at
        # The rejected revision was revised by the buyer afterwards.
        rejected = acks.get(response=AcknowledgementResponse.REJECTED)
        assert rejected.revision < rejected.order.revision
        # History shows acknowledgements of older revisions too.
        assert acks.filter(revision__lt=F("order__revision")).count() >= 5

    def test_most_revisions_acknowledged_but_some_still_waiting(self) -> None:
        for vendor in self.vendors_with_logins():
            issued = PurchaseOrder.objects.filter(
                vendor=vendor, status__in=[OrderStatus.ISSUED, OrderStatus.CLOSED]
            ).annotate(acknowledged=access.current_revision_acknowledged_for())
            answered = issued.filter(acknowledged=True).count()
            assert answered > issued.count() / 2, vendor.code
            waiting = issued.filter(status=OrderStatus.ISSUED, acknowledged=False)
            assert waiting.count() >= 3, vendor.code
        assert not Acknowledgement.objects.exclude(order__vendor__code__in=["ACME", "BOLT"])

    def test_delivery_dates_confirmed(self) -> None:
        confirmed = Delivery.objects.filter(promised_date__isnull=False)
        # Each promise is a confirmation, or an accepted proposal of the supplier's own date.
        by_confirmation = {
            e.data["delivery"] for e in Event.objects.filter(kind="delivery.confirmed")
        }
        by_proposal = set(
            ChangeProposal.objects.filter(
                status=ProposalStatus.ACCEPTED, delivery__isnull=False
            ).values_list("delivery_id", flat=True)
        )
        assert by_proposal and by_proposal <= set(confirmed.values_list("pk", flat=True))
        assert set(confirmed.values_list("pk", flat=True)) <= by_confirmation | by_proposal
        assert not confirmed.exclude(promised_date=F("due_date")).exists()
        assert set(confirmed.values_list("order__vendor__code", flat=True)) == {"ACME", "BOLT"}
        for vendor in self.vendors_with_logins():
            still_open = Delivery.objects.filter(order__vendor=vendor, status=LineStatus.OPEN)
            promised = still_open.filter(promised_date__isnull=False).count()
            assert promised >= 3 and promised >= still_open.count() / 4, vendor.code
        assert confirmed.filter(status=LineStatus.CLOSED).exists()  # kept in the history

    def test_change_proposals(self) -> None:
        proposals = ChangeProposal.objects.select_related("created_by", "decided_by", "order")
        statuses = Counter(proposals.values_list("status", flat=True))
        assert statuses[ProposalStatus.ACCEPTED] == 2
        assert statuses[ProposalStatus.REJECTED] == 1
        assert statuses[ProposalStatus.WITHDRAWN] == 1
        for vendor in self.vendors_with_logins():
            pending = proposals.filter(vendor=vendor, status=ProposalStatus.PENDING)
            assert pending.count() >= 2, vendor.code
            assert not pending.exclude(order__status=OrderStatus.ISSUED).exists()
        pending = proposals.filter(status=ProposalStatus.PENDING)
        assert pending.filter(proposed_due_date__gt=F("current_due_date")).exists()
        assert pending.filter(proposed_quantity__lt=F("current_quantity")).exists()
        assert pending.filter(proposed_unit_price__gt=F("current_unit_price")).exists()
        for proposal in proposals:
            assert proposal.reason
            assert proposal.created_by.vendor_id == proposal.vendor_id == proposal.order.vendor_id
            if proposal.status == ProposalStatus.PENDING:
                assert proposal.decided_at is None and proposal.decided_by is None
                continue
            assert proposal.decided_at is not None and proposal.decided_at > proposal.created_at
            if proposal.status == ProposalStatus.WITHDRAWN:
                assert proposal.decided_by is not None and proposal.decided_by.vendor_id
            else:
                assert proposal.decided_by is not None and proposal.decided_by.is_buyer
        assert proposals.get(status=ProposalStatus.REJECTED).decision_note
        for proposal in proposals.filter(status=ProposalStatus.ACCEPTED):
            assert proposal.resulting_revision is not None
            revision = Revision.objects.get(
                order=proposal.order, number=proposal.resulting_revision
            )
            assert revision.created_at == proposal.decided_at
            ack = Acknowledgement.objects.get(
                order=proposal.order, revision=proposal.resulting_revision
            )
            assert ack.proposal_id == proposal.pk
            assert ack.user_id == proposal.created_by_id
            assert ack.response == AcknowledgementResponse.ACCEPTED

    def test_comments(self) -> None:
        comments = Comment.objects.select_related("author", "order", "line")
        shared = comments.filter(internal=False)
        assert shared.filter(author__role=Role.BUYER).count() >= 2
        assert shared.exclude(author__role=Role.BUYER).count() >= 5
        assert shared.filter(line__isnull=False).exists()
        assert shared.filter(line__isnull=True).exists()
        internal = comments.filter(internal=True)
        assert internal.count() == 2
        assert all(c.author.is_buyer for c in internal)
        for comment in comments:
            assert comment.body and comment.vendor_id == comment.order.vendor_id
            assert comment.line is None or comment.line.order_id == comment.order_id
            if not comment.author.is_buyer:
                assert comment.author.vendor_id == comment.order.vendor_id
        events = Event.objects.filter(kind="comment.added")
        assert events.count() == comments.count()
        assert events.filter(internal=True).count() == 2

    def test_second_run_changes_nothing(self) -> None:
        before = fingerprint()
        output = run_demo()
        assert fingerprint() == before
        assert "already loaded" in output and "nothing was created" in output
        for login in demo.LOGINS:
            assert login.email in output
        assert demo.DEFAULT_PASSWORD in output

    def test_password_option_resets_only_the_passwords(self) -> None:
        before = fingerprint()
        output = run_demo("--password", "another-Secret-42")
        after = fingerprint()
        assert after.pop("passwords") != before.pop("passwords")
        assert after == before
        assert "another-Secret-42" in output
        for login in demo.LOGINS:
            user = User.objects.get(email=login.email)
            assert user.check_password("another-Secret-42")
            assert not user.check_password(demo.DEFAULT_PASSWORD)
        # Without --password a later run does not print a password it does not know.
        later = run_demo()
        assert "another-Secret-42" not in later and demo.DEFAULT_PASSWORD not in later

    def test_empty_password_is_refused(self) -> None:
        with pytest.raises(CommandError, match="must not be empty"):
            run_demo("--password", "")


@pytest.mark.django_db
def test_refuses_to_mix_with_existing_data_of_the_same_names() -> None:
    with scopes_disabled():
        Vendor.objects.create(code="ACME", name="Some other Acme")
    with pytest.raises(CommandError, match="vendor ACME"):
        run_demo()
    with scopes_disabled():
        assert PurchaseOrder.objects.count() == 0
    assert not User.objects.exists()
