"""The screens as a person uses them: forms post, refusals show next to their field,
and a refused post stores nothing."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests.factories import make_order
from vendorportal.collaboration.models import Acknowledgement, ChangeProposal, Comment
from vendorportal.purchasing import services

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def order(vendor_a, buyer):
    return make_order(
        vendor=vendor_a, by=buyer, lines=[("100", "2.50"), ("10", "9")], due=dt.date(2026, 12, 15)
    )


def test_supplier_acknowledges_and_a_stale_revision_is_refused_by_name(client, order, buyer, amos):
    client.force_login(amos)
    page = client.get(f"/portal/orders/{order.number}/").content.decode()
    assert "Acknowledge revision 1" in page
    services.order_revise(
        order=order, by=buyer, changes=[services.SetLine(20, "unit_price", D("8.5"))]
    )
    # amos still has revision 1 on screen and sends it.
    response = client.post(
        f"/portal/orders/{order.number}/acknowledge", {"revision": 1, "response": "accepted"}
    )
    assert response.status_code == 400
    assert "the order is at revision 2" in response.content.decode()
    assert not Acknowledgement.objects.exists()
    response = client.post(
        f"/portal/orders/{order.number}/acknowledge",
        {"revision": 2, "response": "rejected", "comment": ""},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'class="form-row field-error"' in body and "A comment is required" in body
    response = client.post(
        f"/portal/orders/{order.number}/acknowledge", {"revision": 2, "response": "accepted"}
    )
    assert response.status_code == 302
    assert Acknowledgement.objects.get().revision == 2
    assert "acknowledged" in client.get(f"/portal/orders/{order.number}/").content.decode()


def test_supplier_proposes_and_buyer_accepts(client, order, buyer, amos):
    delivery = order.deliveries.get(line__line_number=10)
    client.force_login(amos)
    url = f"/portal/orders/{order.number}/propose"
    empty = client.post(url, {"delivery": delivery.pk, "reason": "Late steel"})
    assert empty.status_code == 400 and "Enter the new value you propose." in empty.content.decode()
    assert not ChangeProposal.objects.exists()
    response = client.post(
        url, {"delivery": delivery.pk, "reason": "Late steel", "due_date": "2026-12-22"}
    )
    assert response.status_code == 302
    proposal = ChangeProposal.objects.get()
    delivery.refresh_from_db()
    assert delivery.due_date == dt.date(2026, 12, 15)

    client.force_login(buyer)
    queue = client.get("/buying/").content.decode()
    assert "Late steel" in queue
    response = client.post(f"/buying/orders/{order.number}/proposals/{proposal.pk}/accept")
    assert response.status_code == 302
    delivery.refresh_from_db()
    order.refresh_from_db()
    assert delivery.due_date == dt.date(2026, 12, 22) and order.revision == 2
    assert Acknowledgement.objects.get(revision=2).user == amos


def test_buyer_revises_a_delivery_and_errors_show_by_the_field(client, order, buyer):
    delivery = order.deliveries.get(line__line_number=10)
    client.force_login(buyer)
    url = f"/buying/orders/{order.number}/revise"
    bad = client.post(url, {"delivery": delivery.pk, "due_date": "15/12/2026", "quantity": "-3"})
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "Enter the date as YYYY-MM-DD, e.g. " in text
    assert "Ensure this value is greater than or equal to 0.0001." in text
    response = client.post(
        url,
        {
            "delivery": delivery.pk,
            "due_date": "2027-01-04",
            "quantity": "120",
            "reason": "Demand up",
        },
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.revision == 2
    assert order.revisions.get(number=2).reason == "Demand up"


def test_buyer_receives_and_over_receipt_is_refused_with_nothing_stored(client, order, buyer):
    delivery = order.deliveries.get(line__line_number=10)
    client.force_login(buyer)
    url = f"/buying/orders/{order.number}/receive"
    response = client.post(url, {"receipt_date": "2026-11-20", f"qty_{delivery.pk}": "500"})
    assert response.status_code == 400
    assert "beyond the 100 ordered" in response.content.decode()
    assert not order.receipts.exists()
    response = client.post(
        url, {"receipt_date": "2026-11-20", "packing_slip": "PS-1", f"qty_{delivery.pk}": "60"}
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.received_quantity == D("60")


def test_comments_shared_and_internal(client, order, buyer, amos):
    client.force_login(amos)
    # The supplier's form has no internal option, and posting one anyway is ignored.
    assert (
        "Internal (buyers only)"
        not in client.get(f"/portal/orders/{order.number}/").content.decode()
    )
    client.post(
        f"/portal/orders/{order.number}/comments", {"body": "Boxes of 50?", "internal": "on"}
    )
    client.force_login(buyer)
    client.post(
        f"/buying/orders/{order.number}/comments", {"body": "Check with QA first", "internal": "on"}
    )
    shared, internal = Comment.objects.order_by("pk")
    assert (shared.internal, internal.internal) == (False, True)
    client.force_login(amos)
    page = client.get(f"/portal/orders/{order.number}/").content.decode()
    assert "Boxes of 50?" in page and "Check with QA first" not in page
    empty = client.post(f"/portal/orders/{order.number}/comments", {"body": ""})
    assert empty.status_code == 400 and "This field is required." in empty.content.decode()


def test_open_lines_filter_sort_and_exports(client, vendor_a, buyer, amos):
    make_order(vendor=vendor_a, by=buyer, number="PO-EARLY", due=dt.date(2026, 1, 10))
    make_order(vendor=vendor_a, by=buyer, number="PO-LATE", due=dt.date(2027, 3, 1))
    client.force_login(amos)
    page = client.get("/portal/open-lines/?sort=-due").content.decode()
    assert page.index("PO-LATE") < page.index("PO-EARLY")
    overdue = client.get("/portal/open-lines/?overdue=on").content.decode()
    assert "PO-EARLY" in overdue and "PO-LATE" not in overdue
    bad = client.get("/portal/open-lines/?due_from=2026-12-01&due_to=2026-11-01")
    assert "The end of the due range is before its start." in bad.content.decode()
    csv_text = client.get("/portal/open-lines.csv?po=EARLY").content.decode("utf-8-sig")
    header, *rows = csv_text.strip().splitlines()
    assert header.startswith("PO,Order date,Revision,Line,Delivery,Item")
    assert len(rows) == 1 and rows[0].startswith("PO-EARLY,")
    assert ",1,10,1," in rows[0]
    workbook = load_workbook(io.BytesIO(client.get("/portal/open-lines.xlsx").content))
    sheet = workbook.active
    assert sheet.max_row == 3  # header + two open deliveries
    assert {sheet.cell(row=r, column=1).value for r in (2, 3)} == {"PO-EARLY", "PO-LATE"}


def test_buyer_records_an_invoice_and_its_payment(client, order, buyer, amos):
    line = order.lines.get(line_number=10)
    client.force_login(buyer)
    page = client.get(f"/buying/orders/{order.number}/").content.decode()
    assert "Record invoice" in page
    url = f"/buying/orders/{order.number}/invoice"
    response = client.post(
        url,
        {
            "number": "INV-77",
            "invoice_date": "2026-11-20",
            f"qty_{line.pk}": "10",
            f"price_{line.pk}": "2.75",
        },
    )
    assert response.status_code == 302
    invoice = order.vendor.invoices.get(number="INV-77")
    duplicate = client.post(
        url, {"number": "INV-77", "invoice_date": "2026-11-20", f"qty_{line.pk}": "1"}
    )
    assert duplicate.status_code == 400
    assert "already has an invoice numbered INV-77" in duplicate.content.decode()
    pay = f"/buying/invoices/{invoice.pk}/pay"
    too_much = client.post(pay, {"amount": "100", "paid_on": "2026-11-25"})
    assert (
        too_much.status_code == 400 and "exceeds the 27.50 outstanding" in too_much.content.decode()
    )
    assert client.post(pay, {"amount": "27.50", "paid_on": "2026-11-25"}).status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    # The supplier sees why: nothing received yet on line 10, and the price above the order.
    client.force_login(amos)
    detail = client.get(f"/portal/invoices/{invoice.pk}/").content.decode()
    assert "Quantity and price exceptions" in detail
    assert "Record payment" not in detail


def test_what_changed_between_any_two_revisions(client, order, buyer, amos):
    services.order_revise(
        order=order,
        by=buyer,
        reason="Pull in",
        changes=[services.SetDelivery(10, 1, "due_date", dt.date(2026, 12, 1))],
    )
    services.order_revise(
        order=order,
        by=buyer,
        reason="Price",
        changes=[services.SetLine(20, "unit_price", D("8.75"))],
    )
    client.force_login(amos)
    url = f"/portal/orders/{order.number}/changes/"
    latest = client.get(url).content.decode()
    assert "What changed from revision 2 to 3" in latest
    assert "Line 20 unit price: 9 → 8.75" in latest and "due date" not in latest
    both = client.get(url + "?from=1&to=3").content.decode()
    assert "Line 10 delivery 1 due date: 15 Dec 2026 → 1 Dec 2026" in both
    assert "Line 20 unit price: 9 → 8.75" in both
    assert client.get(url + "?from=1&to=9").status_code == 404
    assert client.get(url + "?to=x").status_code == 404
