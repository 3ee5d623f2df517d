"""Ship notices on the screens: the supplier announces and corrects, the buyer receives
against the notice in one step, and both see the same differences."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.test import Client

from tests.factories import make_order
from tests.test_purchasing_properties import fingerprint
from vendorportal.purchasing import services
from vendorportal.purchasing.models import ShipNotice, ShipNoticeStatus

pytestmark = pytest.mark.django_db
D = Decimal


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def order(vendor_a, buyer):
    return make_order(vendor=vendor_a, by=buyer, lines=[("100", "2"), ("50", "3")])


def deliveries(order):
    return {d.line.line_number: d for d in order.deliveries.select_related("line")}


def post_notice(client, order, quantities, **fields):
    body = {
        "ship_date": "2026-12-01",
        "expected_date": "2026-12-04",
        "carrier": "DHL",
        "tracking_number": "JD014600003",
        "packing_slip": "PS-77",
        "note": "",
        "action": "submit",
        **fields,
    }
    for line_number, quantity in quantities.items():
        body[f"qty_{deliveries(order)[line_number].pk}"] = quantity
    return client.post(f"/portal/orders/{order.number}/ship", body)


def test_the_supplier_announces_and_both_sides_see_it_in_transit(order, amos, buyer):
    supplier = client_for(amos)
    form = supplier.get(f"/portal/orders/{order.number}/ship")
    assert form.status_code == 200
    assert b"Still to ship" in form.content
    filled = supplier.get(f"/portal/orders/{order.number}/ship?fill=all").content.decode()
    first = deliveries(order)[10]
    assert re.search(rf'name="qty_{first.pk}"[^>]*value="100"', filled), "filled in"

    answer = post_notice(supplier, order, {10: "40"})
    notice = ShipNotice.objects.get()
    assert answer.status_code == 302 and answer["Location"] == (
        f"/portal/ship-notices/{notice.pk}/"
    )
    assert notice.status == ShipNoticeStatus.SUBMITTED and notice.carrier == "DHL"

    page = supplier.get(answer["Location"]).content.decode()
    assert notice.number in page and "JD014600003" in page and "in transit" in page

    purchasing = client_for(buyer)
    incoming = purchasing.get("/buying/ship-notices/").content.decode()
    assert notice.number in incoming and "4 Dec 2026" in incoming
    order_page = purchasing.get(f"/buying/orders/{order.number}/").content.decode()
    assert "40 in transit, expected 4 Dec 2026" in order_page
    assert f"/buying/ship-notices/{notice.pk}/receive" in order_page
    lines = purchasing.get("/buying/open-lines/").content.decode()
    row = re.search(rf'<tr id="delivery-{first.pk}".*?</tr>', lines, re.S).group(0)
    assert '<td class="num">40<div class="small muted">4 Dec 2026</div></td>' in row

    exported = purchasing.get("/buying/open-lines.csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(exported)))
    mine = next(r for r in rows if r["Line"] == "10")
    assert (mine["In transit"], mine["Expected arrival"]) == ("40", "2026-12-04")


def test_an_over_shipment_in_the_form_is_refused_and_nothing_written(order, amos):
    supplier = client_for(amos)
    before = fingerprint()
    answer = post_notice(supplier, order, {10: "500"})
    assert answer.status_code == 400
    assert "Line 10 delivery 1: announcing 500 is more than can still come" in (
        answer.content.decode()
    )
    assert fingerprint() == before


def test_an_empty_notice_and_a_bad_date_are_refused_by_field(order, amos):
    supplier = client_for(amos)
    empty = post_notice(supplier, order, {})
    assert empty.status_code == 400
    assert "Enter the quantity shipped on at least one delivery." in empty.content.decode()
    early = post_notice(supplier, order, {10: "5"}, expected_date="2026-11-20")
    assert early.status_code == 400 and "is before the ship date" in early.content.decode()
    assert not ShipNotice.objects.exists()


def test_a_draft_is_corrected_then_sent(order, amos):
    supplier = client_for(amos)
    post_notice(supplier, order, {10: "30"}, action="draft")
    notice = ShipNotice.objects.get()
    assert notice.status == ShipNoticeStatus.DRAFT
    edit = supplier.get(f"/portal/ship-notices/{notice.pk}/edit").content.decode()
    assert re.search(rf'name="qty_{deliveries(order)[10].pk}"[^>]*value="30', edit)
    supplier.post(
        f"/portal/ship-notices/{notice.pk}/edit",
        {
            "ship_date": "2026-12-01",
            "expected_date": "2026-12-05",
            "carrier": "UPS",
            f"qty_{deliveries(order)[10].pk}": "35",
        },
    )
    supplier.post(f"/portal/ship-notices/{notice.pk}/submit")
    notice.refresh_from_db()
    assert (notice.status, notice.carrier, notice.lines.get().quantity) == (
        ShipNoticeStatus.SUBMITTED,
        "UPS",
        D("35"),
    )
    history = supplier.get(f"/portal/ship-notices/{notice.pk}/").content.decode()
    assert "draft changed: Expected arrival 4 Dec 2026 → 5 Dec 2026; Carrier DHL → UPS" in history


def test_the_buyer_receives_short_and_both_see_the_difference(order, amos, buyer):
    supplier = client_for(amos)
    post_notice(supplier, order, {10: "40", 20: "10"})
    notice = ShipNotice.objects.get()
    first, second = deliveries(order)[10], deliveries(order)[20]
    purchasing = client_for(buyer)
    form = purchasing.get(f"/buying/ship-notices/{notice.pk}/receive").content.decode()
    # The receipt form is filled from the notice, packing slip included.
    assert re.search(rf'name="qty_{first.pk}"[^>]*value="40', form)
    assert re.search(rf'name="qty_{second.pk}"[^>]*value="10', form)
    assert 'value="PS-77"' in form
    answer = purchasing.post(
        f"/buying/ship-notices/{notice.pk}/receive",
        {
            "receipt_date": "2026-12-04",
            "packing_slip": "PS-77",
            f"qty_{first.pk}": "36",
            f"qty_{second.pk}": "10",
        },
    )
    assert answer.status_code == 302
    notice.refresh_from_db()
    assert notice.status == ShipNoticeStatus.PARTIALLY_RECEIVED
    for client, side in ((supplier, "portal"), (purchasing, "buying")):
        page = client.get(f"/{side}/ship-notices/{notice.pk}/").content.decode()
        row = re.search(rf'<tr id="notice-row-{first.pk}".*?</tr>', page, re.S).group(0)
        assert ">36<" in row and ">-4<" in row and ">short<" in row, row
        assert "Received in part" in page
    # The supplier may no longer correct it; the buyer closes the difference.
    assert f"/portal/ship-notices/{notice.pk}/edit" not in (
        supplier.get(f"/portal/ship-notices/{notice.pk}/").content.decode()
    )
    refused = supplier.get(f"/portal/ship-notices/{notice.pk}/edit")
    assert refused.status_code == 302
    purchasing.post(
        f"/buying/ship-notices/{notice.pk}/close", {"reason": "4 damaged, credit requested"}
    )
    notice.refresh_from_db()
    assert notice.status == ShipNoticeStatus.CLOSED
    page = supplier.get(f"/portal/ship-notices/{notice.pk}/").content.decode()
    assert "4 damaged, credit requested" in page and "Closed with difference" in page


def test_another_vendor_sees_nothing_of_it(order, amos, bob, vendor_b, buyer):
    post_notice(client_for(amos), order, {10: "40"}, note="SENTINEL-NOTE-A")
    notice = ShipNotice.objects.get()
    other = client_for(bob)
    for url in (
        f"/portal/ship-notices/{notice.pk}/",
        f"/portal/ship-notices/{notice.pk}/edit",
        f"/portal/orders/{order.number}/ship",
    ):
        assert other.get(url).status_code == 404, url
    for action in ("cancel", "submit", "edit"):
        url = f"/portal/ship-notices/{notice.pk}/{action}"
        assert other.post(url).status_code == 404, url
    page = client_for(amos).get(f"/portal/ship-notices/{notice.pk}/").content.decode()
    assert "SENTINEL-NOTE-A" in page  # the owner sees it, so its absence above means something
    listing = other.get("/portal/ship-notices/?show=all").content.decode()
    assert notice.number not in listing and "JD014600003" not in listing
    assert "No ship notices here." in listing
    notice.refresh_from_db()
    assert notice.status == ShipNoticeStatus.SUBMITTED


def test_the_supplier_cancels_a_notice_before_it_arrives(order, amos):
    supplier = client_for(amos)
    post_notice(supplier, order, {10: "40"})
    notice = ShipNotice.objects.get()
    supplier.post(f"/portal/ship-notices/{notice.pk}/cancel", {"reason": "Missed the truck"})
    notice.refresh_from_db()
    assert notice.status == ShipNoticeStatus.CANCELLED
    assert deliveries(order)[10].in_transit_quantity == 0
    listing = supplier.get("/portal/ship-notices/").content.decode()
    assert f'id="ship-notice-{notice.pk}"' not in listing  # the default: what is on its way
    cancelled = supplier.get("/portal/ship-notices/?show=cancelled").content.decode()
    assert f'id="ship-notice-{notice.pk}"' in cancelled


def test_the_lists_filter_and_search(order, amos, buyer):
    supplier = client_for(amos)
    post_notice(supplier, order, {10: "10"}, tracking_number="FIND-ME")
    post_notice(supplier, order, {20: "5"}, tracking_number="OTHER")
    purchasing = client_for(buyer)
    found = purchasing.get("/buying/ship-notices/?q=FIND-ME").content.decode()
    assert "FIND-ME" in found and "OTHER" not in found
    assert "1 active" in found
    services.ship_notice_cancel(notice=ShipNotice.objects.get(tracking_number="OTHER"), by=amos)
    shown = purchasing.get("/buying/ship-notices/").content.decode()
    assert "FIND-ME" in shown and "OTHER" not in shown
