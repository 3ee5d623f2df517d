"""The back office (/admin/): every page opens, service-written data is read-only, order
actions go through the services, and vendor logins are kept out."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import ItemFactory, UserFactory, VendorFactory, make_order
from tests.test_purchasing_properties import fingerprint
from vendorportal.accounts.models import Role, User
from vendorportal.events.models import Event
from vendorportal.purchasing import services
from vendorportal.purchasing.models import (
    Invoice,
    Item,
    OrderStatus,
    Payment,
    PurchaseOrder,
    Receipt,
    Revision,
    Vendor,
)

pytestmark = pytest.mark.django_db
D = Decimal

READ_ONLY = (PurchaseOrder, Revision, Receipt, Invoice, Payment, Event)
EDITABLE = (Vendor, Item, User)
OURS = READ_ONLY + EDITABLE


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def trade(vendor, buyer, *, lines=(("100", "2.50"),)):
    """An issued order with a receipt, an invoice and a payment on it."""
    order = make_order(vendor=vendor, by=buyer, lines=list(lines))
    line = order.lines.get(line_number=10)
    services.receipt_record(
        order=order,
        by=buyer,
        lines=[services.ReceiptLineInput(order.deliveries.get(line=line), D("40"))],
        packing_slip="PS-1",
    )
    invoice = services.invoice_record(
        vendor=vendor,
        number=f"INV-{order.number}",
        by=buyer,
        lines=[services.InvoiceLineInput(line, D("40"), D("2.75"))],
    )
    services.payment_record(invoice=invoice, amount=D("50"), by=buyer)
    return order


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Argon2 costs ~0.1 s per user made; these tests are not about hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser(db):
    return UserFactory(email="root@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def back_office(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def data(vendor_a, buyer, alice):
    """At least one row of every model the back office shows."""
    return trade(vendor_a, buyer)


class TestPages:
    def test_every_changelist_and_change_page_opens(self, back_office, data):
        for model, model_admin in admin.site._registry.items():
            response = back_office.get(url(model, "changelist"))
            assert response.status_code == 200, model
            obj = model_admin.get_queryset(response.wsgi_request).first()
            if obj is None:
                assert model not in OURS, f"no {model.__name__} to open"
                continue
            response = back_office.get(url(model, "change", quote(obj.pk)))
            assert response.status_code == 200, model
        for model in EDITABLE:
            assert back_office.get(url(model, "add")).status_code == 200, model

    def test_order_page_shows_lines_schedule_revision_words_and_timeline(
        self, back_office, data, buyer
    ):
        services.order_revise(
            order=data, by=buyer, changes=[services.SetLine(10, "unit_price", D("2.75"))]
        )
        page = back_office.get(url(PurchaseOrder, "change", data.pk)).content.decode()
        assert "Line 10 unit price: 2.5 → 2.75" in page
        assert "Line 10 added: 100 EA of" in page  # revision 1 lists the whole order
        assert "PS-1" in page  # the receipt event on the timeline
        assert 'name="_save"' not in page  # nothing to save: read-only

        revision = data.revisions.get(number=2)
        page = back_office.get(url(Revision, "change", revision.pk)).content.decode()
        assert "Line 10 unit price: 2.5 → 2.75" in page

    def test_invoice_page_shows_match_and_payments(self, back_office, data):
        invoice = Invoice.objects.get()
        page = back_office.get(url(Invoice, "change", invoice.pk)).content.decode()
        assert f"{data.number} line 10" in page
        assert "Price differs from order" in page
        assert "50.00" in page  # the payment

    def test_changelists_do_not_grow_queries_with_rows(self, back_office, data, buyer):
        def counts():
            result = {}
            for model in OURS:
                with CaptureQueriesContext(connection) as queries:
                    assert back_office.get(url(model, "changelist")).status_code == 200
                result[model.__name__] = len(queries)
            return result

        before = counts()
        other = VendorFactory(code="BOLT")
        UserFactory(email="bob@bolt.example", role=Role.VENDOR_USER, vendor=other)
        trade(other, buyer, lines=[("100", "2.50"), ("5", "1")])
        make_order(vendor=other, by=buyer, issue=False)
        assert counts() == before

    def test_order_page_queries_do_not_grow_with_lines(self, back_office, vendor_a, buyer):
        def count(order):
            with CaptureQueriesContext(connection) as queries:
                assert back_office.get(url(PurchaseOrder, "change", order.pk)).status_code == 200
            return len(queries)

        small = trade(vendor_a, buyer)
        large = trade(vendor_a, buyer, lines=[("100", "2.50"), ("5", "1"), ("7", "3")])
        assert count(large) == count(small)


class TestReadOnly:
    @pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m.__name__)
    def test_service_written_models_refuse_add_change_delete(self, back_office, data, model):
        obj = model.objects.order_by("pk").first()
        before = fingerprint()
        assert back_office.get(url(model, "add")).status_code == 403
        assert back_office.post(url(model, "add"), {}).status_code == 403
        assert back_office.post(url(model, "change", obj.pk), {}).status_code == 403
        assert back_office.get(url(model, "delete", obj.pk)).status_code == 403
        assert back_office.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
        response = back_office.post(
            url(model, "changelist"),
            {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
        )
        assert response.status_code in (200, 302)
        assert model.objects.filter(pk=obj.pk).exists()
        assert fingerprint() == before


class TestOrderActions:
    def run(self, client, action, *orders):
        return client.post(
            url(PurchaseOrder, "changelist"),
            {"action": action, "_selected_action": [o.pk for o in orders]},
            follow=True,
        )

    def test_issue_issues_a_draft_as_revision_one(self, back_office, vendor_a, buyer, superuser):
        draft = make_order(vendor=vendor_a, by=buyer, issue=False)
        response = self.run(back_office, "issue_drafts", draft)
        draft.refresh_from_db()
        assert (draft.status, draft.revision) == (OrderStatus.ISSUED, 1)
        assert messages_of(response) == [f"Issued 1 order(s): {draft.number}."]
        event = Event.objects.get(order=draft, kind="order.issued")
        assert event.actor == superuser

    def test_refused_close_shows_the_message_and_changes_nothing(
        self, back_office, vendor_a, buyer
    ):
        draft = make_order(vendor=vendor_a, by=buyer, issue=False)
        before = fingerprint()
        events = Event.objects.count()
        response = self.run(back_office, "close_orders", draft)
        assert messages_of(response) == [
            f"Order {draft.number} is draft; only an issued order can be closed."
        ]
        assert fingerprint() == before
        assert Event.objects.count() == events
        draft.refresh_from_db()
        assert draft.status == OrderStatus.DRAFT

    def test_close_refuses_an_order_with_nothing_received(self, back_office, vendor_a, buyer):
        received = trade(vendor_a, buyer)
        untouched = make_order(vendor=vendor_a, by=buyer)
        response = self.run(back_office, "close_orders", received, untouched)
        received.refresh_from_db()
        untouched.refresh_from_db()
        assert (received.status, untouched.status) == (OrderStatus.CLOSED, OrderStatus.ISSUED)
        assert (
            f"Nothing was received on {untouched.number}; cancel it instead of closing."
            in messages_of(response)
        )

    def test_each_order_succeeds_or_is_refused_on_its_own(self, back_office, vendor_a, buyer):
        draft = make_order(vendor=vendor_a, by=buyer, issue=False)
        issued = make_order(vendor=vendor_a, by=buyer)
        response = self.run(back_office, "cancel_orders", draft, issued)
        draft.refresh_from_db()
        issued.refresh_from_db()
        assert draft.status == issued.status == OrderStatus.CANCELLED
        assert messages_of(response) == [
            f"Cancelled 2 order(s): {', '.join(sorted([draft.number, issued.number]))}."
        ]
        response = self.run(back_office, "issue_drafts", draft)
        assert messages_of(response) == [
            f"Order {draft.number} is already cancelled; only a draft can be issued."
        ]

    def test_view_only_staff_cannot_run_actions(self, client, vendor_a, buyer):
        viewer = UserFactory(email="viewer@example.com", is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_purchaseorder"))
        client.force_login(viewer)
        draft = make_order(vendor=vendor_a, by=buyer, issue=False)
        page = client.get(url(PurchaseOrder, "changelist"))
        assert page.status_code == 200
        assert "issue_drafts" not in page.content.decode()
        self.run(client, "issue_drafts", draft)
        draft.refresh_from_db()
        assert draft.status == OrderStatus.DRAFT


class TestUsers:
    def test_add_user_by_email_mirrors_username(self, back_office, vendor_a):
        response = back_office.post(
            url(User, "add"),
            {
                "email": "New.Person@Acme.Example",
                "role": Role.VENDOR_USER,
                "vendor": vendor_a.pk,
                "usable_password": "true",
                "password1": "a long enough passphrase 42",
                "password2": "a long enough passphrase 42",
            },
        )
        assert response.status_code == 302, response.content.decode()
        user = User.objects.get(email="new.person@acme.example")
        assert user.username == user.email
        assert (user.role, user.vendor) == (Role.VENDOR_USER, vendor_a)
        assert user.check_password("a long enough passphrase 42")

    def test_vendor_login_without_vendor_is_refused(self, back_office):
        response = back_office.post(
            url(User, "add"),
            {
                "email": "orphan@example.com",
                "role": Role.VENDOR_USER,
                "usable_password": "false",
            },
        )
        assert response.status_code == 200
        assert "A vendor login needs a vendor; a buyer has none." in response.content.decode()
        assert not User.objects.filter(email="orphan@example.com").exists()

    def test_duplicate_address_is_refused(self, back_office, buyer):
        response = back_office.post(
            url(User, "add"),
            {"email": "BUYER@example.com", "role": Role.BUYER, "usable_password": "false"},
        )
        assert response.status_code == 200
        assert "A user with that e-mail address already exists." in response.content.decode()

    def test_changing_the_email_changes_the_username(self, back_office, buyer):
        data = {
            "email": "Bea@Example.com",
            "first_name": "Bea",
            "last_name": "",
            "role": Role.BUYER,
            "vendor": "",
            "is_active": "on",
        }
        response = back_office.post(url(User, "change", buyer.pk), data)
        assert response.status_code == 302, response.content.decode()
        buyer.refresh_from_db()
        assert buyer.email == buyer.username == "bea@example.com"


class TestVendorLoginsAreKeptOut:
    def test_staff_flag_on_a_vendor_login_is_refused_and_would_open_nothing(self, rf, alice):
        # The database refuses staff rights on a vendor login...
        alice.is_staff = alice.is_superuser = True
        with pytest.raises(IntegrityError), transaction.atomic():
            alice.save()
        # ...and should one ever get through in memory, the back office still says no:
        # it is for buyers, whatever the flags.
        request = rf.get(reverse("admin:index"))
        request.user = alice
        assert alice.is_staff and alice.is_active
        assert admin.site.has_permission(request) is False


def test_vendor_and_item_are_editable(back_office):
    response = back_office.post(
        url(Vendor, "add"),
        {"code": "NEW", "name": "New Vendor", "active": "on", "rating": "4"},
    )
    assert response.status_code == 302, response.content.decode()
    vendor = Vendor.objects.get(code="NEW")
    item = ItemFactory()
    response = back_office.post(
        url(Item, "change", item.pk),
        {
            "part_number": item.part_number,
            "description": "Changed",
            "unit_of_measure": "KG",
            "standard_cost": "3.5",
        },
    )
    assert response.status_code == 302, response.content.decode()
    item.refresh_from_db()
    assert (item.description, item.active) == ("Changed", False)
    response = back_office.post(url(Vendor, "delete", vendor.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Vendor.objects.filter(code="NEW").exists()
