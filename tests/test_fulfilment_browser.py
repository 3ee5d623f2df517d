"""The supplier's whole side of one order in real Chromium (issue 16): the supplier
announces a partial shipment and attaches its certificate, the buyer receives it short and
downloads the certificate, both see the same difference, the supplier invoices what was
received (the match shown before sending), and the buyer approves the invoice."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.asgi import running_server
from tests.factories import make_order
from tests.test_browser import browser, shot  # noqa: F401 - the shared Chromium fixture
from tests.test_live import session_of
from vendorportal.purchasing.models import Invoice, InvoiceStatus, ShipNotice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

CERTIFICATE = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% certificate of conformity\n%%EOF\n"


def test_announce_certify_receive_short_invoice_and_approve(
    browser, tmp_path, vendor_a, buyer, amos
):
    order = make_order(
        vendor=vendor_a,
        by=buyer,
        lines=[("100", "2.50")],
        due=dt.date(2026, 12, 18),
        number="PO-LOOP-1",
    )
    delivery = order.deliveries.get()
    line = order.lines.get()
    certificate = tmp_path / "3.1-certificate.pdf"
    certificate.write_bytes(CERTIFICATE)
    with running_server(tmp_path) as server:
        base = f"http://127.0.0.1:{server.port}"
        supplying = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        supplying.add_cookies([{"name": "sessionid", "value": session_of(amos), "url": base}])
        supplier = supplying.new_page()
        purchasing = browser.new_context(
            viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        purchasing.add_cookies([{"name": "sessionid", "value": session_of(buyer), "url": base}])
        buyer_page = purchasing.new_page()

        # The supplier announces 60 of 100 and attaches the certificate to the notice.
        supplier.goto(f"{base}/portal/orders/PO-LOOP-1/")
        supplier.click("#announce-shipment")
        supplier.fill("#id_expected_date", "2026-12-04")
        supplier.fill(f"#id_qty_{delivery.pk}", "60")
        supplier.click("button[value=submit]")
        expect(supplier.locator("#notice-status")).to_have_text("In transit")
        notice = ShipNotice.objects.get(order=order)
        files = supplier.locator("#attachments")
        files.locator("input[type=file]").set_input_files(str(certificate))
        files.locator("select[name=kind]").select_option("certificate")
        files.locator("button[type=submit]", has_text="Attach file").click()
        expect(supplier.locator("#attachments table")).to_contain_text("3.1-certificate.pdf")
        expected_sha = hashlib.sha256(CERTIFICATE).hexdigest()
        expect(supplier.locator("#attachments table code")).to_have_attribute("title", expected_sha)

        # The buyer receives 55 against the notice and downloads the certificate.
        buyer_page.goto(f"{base}/buying/ship-notices/{notice.pk}/")
        with buyer_page.expect_download() as download:
            buyer_page.locator("#attachments a", has_text="3.1-certificate.pdf").click()
        saved = tmp_path / "downloaded.pdf"
        download.value.save_as(saved)
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == expected_sha
        # The packing slip downloads too (a real download, not a page htmx would swap in).
        with buyer_page.expect_download() as slip:
            buyer_page.click("#packing-slip-pdf")
        assert slip.value.suggested_filename == f"{notice.number}-packing-slip.pdf"
        buyer_page.click("text=Receive against notice")
        expect(buyer_page.locator(f"#id_qty_{delivery.pk}")).to_have_value("60")
        buyer_page.fill(f"#id_qty_{delivery.pk}", "55")
        buyer_page.click("main form button[type=submit]")
        expect(buyer_page.locator(f"#notice-row-{delivery.pk}")).to_contain_text("short")
        supplier.reload()
        expect(supplier.locator(f"#notice-row-{delivery.pk}")).to_contain_text("-5")

        # The supplier invoices what was received: 55, matched, with tax.
        supplier.goto(f"{base}/portal/orders/PO-LOOP-1/")
        supplier.click("#invoice-order")
        expect(supplier.locator(f"#id_qty_{line.pk}")).to_have_value("55")
        expect(supplier.locator("#invoice-lines")).to_contain_text("Matched")
        supplier.fill("#id_number", "ACME-INV-5501")
        supplier.fill("#id_tax_amount", "27.50")
        supplier.fill(f"#id_qty_{line.pk}", "60")  # more than arrived: the match says so
        supplier.click("button[value=check]")
        expect(supplier.locator("#match-exceptions")).to_contain_text(
            "60 invoiced in all is more than the 55 received"
        )
        supplier.fill(f"#id_qty_{line.pk}", "55")
        supplier.click("button[value=submit]")
        expect(supplier.locator("h1")).to_contain_text("Awaiting approval")
        shot(supplier, "invoice-sent-supplier-phone")
        invoice = Invoice.objects.get(number="ACME-INV-5501")
        assert invoice.total_amount == Decimal("165.00")

        # The buyer approves it; the supplier sees it open for payment.
        buyer_page.goto(f"{base}/buying/invoices/{invoice.pk}/")
        expect(buyer_page.locator("#awaiting")).to_contain_text("approve it")
        buyer_page.click("text=Approve")
        buyer_page.click("main form button[type=submit]")
        expect(buyer_page.locator("h1")).to_contain_text("Open")
        shot(buyer_page, "invoice-approved-buyer")
        supplier.reload()
        expect(supplier.locator("h1")).to_contain_text("Open")
        purchasing.close()
        supplying.close()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN and invoice.approved_by == buyer
