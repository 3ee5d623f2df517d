"""End to end in real Chromium (Debian's package, never a downloaded browser).

A supplier logs in, reads its open lines, acknowledges a revision and proposes a new
date; the buyer accepts it. Once with JavaScript (htmx boosts links and forms) and once
without, because every page must work without it. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.factories import TEST_PASSWORD, make_order
from vendorportal.collaboration.models import Acknowledgement, ChangeProposal

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API runs an event loop in this thread; Django's ORM (used by the
    # test itself between steps) would otherwise refuse to run beside it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (.ci/run installs it).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def without_live_stream(page: Page) -> Page:
    """pytest-django's live_server is a threaded WSGI server: it cannot serve a stream
    (it would hold a thread forever and keep the test run from ending). The live stream
    is tested against uvicorn below and in test_live.py."""
    page.route("**/events?*", lambda route: route.abort())
    return page


def log_in(page: Page, base: str, email: str) -> None:
    without_live_stream(page)
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_supplier_and_buyer_work_the_same_order(
    live_server, browser, vendor_a, vendor_b, buyer, amos, javascript
):
    order = make_order(
        vendor=vendor_a,
        by=buyer,
        lines=[("100", "2.50"), ("40", "7.25")],
        due=dt.date(2027, 1, 15),
        number="PO-E2E-1",
    )
    make_order(vendor=vendor_b, by=buyer, number="PO-OTHER-9")
    base = live_server.url
    tag = "htmx" if javascript else "no-js"

    supplier = browser.new_context(
        java_script_enabled=javascript, viewport={"width": 1400, "height": 900}
    ).new_page()
    log_in(supplier, base, amos.email)
    expect(supplier.locator("h1")).to_contain_text("Good day")
    shot(supplier, f"{tag}-supplier-home")

    supplier.click("nav >> text=Open lines")
    rows = supplier.locator("#open-lines tbody tr")
    expect(rows).to_have_count(2)
    expect(supplier.locator("#open-lines")).not_to_contain_text("PO-OTHER-9")
    supplier.fill("#id_po", "E2E")
    supplier.click("form.filters button[type=submit]")
    expect(rows).to_have_count(2)
    shot(supplier, f"{tag}-supplier-open-lines")

    supplier.click("#open-lines >> text=PO-E2E-1 >> nth=0")
    expect(supplier.locator("h1")).to_contain_text("PO-E2E-1")
    supplier.check("input[name=response][value=accepted]")
    supplier.click("#acknowledge button[type=submit]")
    expect(supplier.locator(".messages")).to_contain_text("Revision 1 acknowledged")
    assert Acknowledgement.objects.filter(order=order, revision=1, user=amos).exists()

    delivery = order.deliveries.get(line__line_number=10)
    supplier.click(f"#delivery-{delivery.pk} >> text=Propose change")
    supplier.fill("#id_due_date", "2027-01-29")
    supplier.fill("#id_reason", "Heat treatment capacity is booked until mid-January")
    supplier.click("button:has-text('Send proposal')")
    expect(supplier.locator(".messages")).to_contain_text("sent to the buyer")
    shot(supplier, f"{tag}-supplier-order")
    assert ChangeProposal.objects.filter(order=order, status="pending").count() == 1

    purchaser = browser.new_context(
        java_script_enabled=javascript, viewport={"width": 1400, "height": 900}
    ).new_page()
    log_in(purchaser, base, buyer.email)
    expect(purchaser.locator("h1")).to_contain_text("Work queues")
    expect(purchaser.locator("main")).to_contain_text("Heat treatment capacity")
    shot(purchaser, f"{tag}-buyer-queues")
    purchaser.click("main >> text=PO-E2E-1 >> nth=0")
    purchaser.click("#order-proposals button:has-text('Accept')")
    expect(purchaser.locator(".messages")).to_contain_text("Proposal accepted")
    delivery.refresh_from_db()
    assert delivery.due_date == dt.date(2027, 1, 29)

    supplier.reload()
    expect(supplier.locator(f"#delivery-{delivery.pk}")).to_contain_text("29 Jan 2027")
    expect(supplier.locator("#order-header")).to_contain_text("Revision 2")


def test_a_buyers_change_appears_on_the_suppliers_open_lines_without_a_reload(
    browser, tmp_path, vendor_a, buyer, amos
):
    """Live updates in real Chromium, served by the real ASGI server (uvicorn): the buyer
    moves a due date in one browser context; the supplier's open-lines page, open in
    another, shows the new date within moments, marks the row, and never reloads."""
    from tests.asgi import running_server
    from tests.test_live import session_of

    order = make_order(vendor=vendor_a, by=buyer, due=dt.date(2027, 1, 15), number="PO-LIVE-1")
    delivery = order.deliveries.get()
    with running_server(tmp_path) as server:
        base = f"http://127.0.0.1:{server.port}"

        def context_of(user):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": session_of(user), "url": base}])
            return context.new_page()

        supplier = context_of(amos)
        supplier.goto(f"{base}/portal/open-lines/")
        row = supplier.locator("#open-lines tbody tr", has_text="PO-LIVE-1")
        expect(row).to_contain_text("15 Jan 2027")
        expect(supplier.locator("#live-status")).to_have_text("Live")
        supplier.evaluate("window.notReloaded = true")

        purchaser = context_of(buyer)
        purchaser.goto(f"{base}/buying/orders/PO-LIVE-1/revise?delivery={delivery.pk}")
        purchaser.fill("#id_due_date", "2027-02-03")
        purchaser.click("main form button[type=submit]")
        expect(purchaser.locator(".messages")).to_be_visible()
        delivery.refresh_from_db()
        assert delivery.due_date == dt.date(2027, 2, 3)

        expect(row).to_contain_text("3 Feb 2027", timeout=5000)
        expect(supplier.locator("#open-lines tbody tr.live-changed")).to_have_count(1)
        assert supplier.evaluate("window.notReloaded") is True
        shot(supplier, "live-supplier-open-lines-after-buyer-change")

        # The other way round: the supplier comments, the buyer's order page shows it,
        # and what the buyer was typing meanwhile is left as it was.
        purchaser.goto(f"{base}/buying/orders/PO-LIVE-1/")
        purchaser.evaluate("window.notReloaded = true")
        purchaser.fill("#order-timeline textarea[name=body]", "half-written reply")
        supplier.goto(f"{base}/portal/orders/PO-LIVE-1/")
        supplier.fill("#order-timeline textarea[name=body]", "We can ship on the 3rd.")
        supplier.click("#order-timeline button[type=submit]")
        expect(supplier.locator(".messages")).to_contain_text("Comment added")
        timeline = purchaser.locator("#order-timeline .timeline")
        expect(timeline).to_contain_text("We can ship on the 3rd.", timeout=5000)
        expect(purchaser.locator("#order-timeline li.live-changed")).to_have_count(1)
        assert purchaser.input_value("#order-timeline textarea[name=body]") == "half-written reply"
        assert purchaser.evaluate("window.notReloaded") is True
        shot(purchaser, "live-buyer-order-after-supplier-comment")
