"""A partial shipment in real Chromium (issue 16): the supplier announces part of an
order, the buyer receives it short against the notice, and both see the same difference;
the buyer's open order page shows the notice arrive live."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.asgi import running_server
from tests.factories import make_order
from tests.test_browser import browser, shot  # noqa: F401 - the shared Chromium fixture
from tests.test_live import session_of
from vendorportal.purchasing.models import ShipNotice, ShipNoticeStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_partial_shipment_received_short_shows_the_same_difference_to_both(
    browser, tmp_path, vendor_a, buyer, amos
):
    order = make_order(
        vendor=vendor_a,
        by=buyer,
        lines=[("100", "2.50"), ("40", "7")],
        due=dt.date(2026, 12, 18),
        number="PO-SHIP-1",
    )
    first, second = (
        order.deliveries.get(line__line_number=10),
        order.deliveries.get(line__line_number=20),
    )
    with running_server(tmp_path) as server:
        base = f"http://127.0.0.1:{server.port}"
        purchasing = browser.new_context(viewport={"width": 1280, "height": 900})
        purchasing.add_cookies([{"name": "sessionid", "value": session_of(buyer), "url": base}])
        buyer_page = purchasing.new_page()
        buyer_page.goto(f"{base}/buying/orders/PO-SHIP-1/")
        expect(buyer_page.locator("#live-status")).to_have_text("Live")

        supplying = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        supplying.add_cookies([{"name": "sessionid", "value": session_of(amos), "url": base}])
        supplier = supplying.new_page()
        supplier.goto(f"{base}/portal/orders/PO-SHIP-1/")
        supplier.click("#announce-shipment")
        supplier.fill("#id_expected_date", "2026-12-04")
        supplier.fill("#id_carrier", "DHL Freight")
        supplier.fill("#id_tracking_number", "JD014600009")
        supplier.fill(f"#id_qty_{first.pk}", "60")  # part of line 10, none of line 20
        supplier.click("button[value=submit]")
        expect(supplier.locator(".messages")).to_contain_text("sent: the buyer sees it in transit")
        expect(supplier.locator("#notice-status")).to_have_text("In transit")
        notice = ShipNotice.objects.get(order=order)
        shot(supplier, "ship-notice-supplier-phone")

        # Live: the buyer's open order page lists the notice and what is in transit.
        expect(buyer_page.locator("#order-ship-notices")).to_contain_text(notice.number)
        expect(buyer_page.locator(f"#delivery-{first.pk}")).to_contain_text("60 in transit")

        buyer_page.goto(f"{base}/buying/ship-notices/")
        buyer_page.click(f"#ship-notice-{notice.pk} a >> nth=0")
        buyer_page.click("text=Receive against notice")
        expect(buyer_page.locator(f"#id_qty_{first.pk}")).to_have_value("60")
        buyer_page.fill(f"#id_qty_{first.pk}", "55")
        buyer_page.fill(f"#id_qty_{second.pk}", "")
        buyer_page.click("main form button[type=submit]")
        expect(buyer_page.locator("#notice-status")).to_have_text("Received in part")
        row = buyer_page.locator(f"#notice-row-{first.pk}")
        expect(row).to_contain_text("short")
        expect(row).to_contain_text("-5")
        shot(buyer_page, "ship-notice-buyer-difference")

        supplier.goto(f"{base}/portal/ship-notices/{notice.pk}/")
        supplier_row = supplier.locator(f"#notice-row-{first.pk}")
        expect(supplier_row).to_contain_text("short")
        expect(supplier_row).to_contain_text("-5")
        expect(supplier.locator("text=Correct")).to_have_count(0)  # received: no corrections

        buyer_page.click("text=Close with difference")
        buyer_page.fill("#id_reason", "5 damaged in transit, credit note requested")
        buyer_page.click("main form button[type=submit]")
        expect(buyer_page.locator("#notice-status")).to_have_text("Closed with difference")
        supplier.reload()
        expect(supplier.locator("main")).to_contain_text("5 damaged in transit")
        purchasing.close()
        supplying.close()
    notice.refresh_from_db()
    first.refresh_from_db()
    assert notice.status == ShipNoticeStatus.CLOSED
    assert (first.received_quantity, first.in_transit_quantity) == (Decimal(55), Decimal(0))
