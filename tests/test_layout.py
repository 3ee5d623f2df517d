"""Every main page fits the screen, in real Chromium, on the demo data (issue 13).

At 390 px (a phone), 1280 px and 1366 px, on both sides, no page is wider than the
viewport: wide tables scroll inside their own panel (the first column stays in view), the
navigation folds, and nothing else may stick out. At 1280 px and wider, the order page's
tables and timeline, open lines and the audit trail fit without scrolling sideways at all.
Screenshots of each page at each width go to test-artifacts/layout/. On a phone a list
page's filters fold behind their summary (no script) until it is opened; wider, the panel
shows as it always did.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django_scopes import scopes_disabled
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.clock import days
from tests.factories import make_order
from tests.test_browser import ARGS, CHROMIUM
from vendorportal.accounts.models import User
from vendorportal.purchasing import demo
from vendorportal.purchasing.models import Invoice, OrderKind, PurchaseOrder, Vendor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "layout"
WIDTHS = (390, 1280, 1366)

# Elements sticking out past the viewport's right edge, outside any panel that scrolls.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (style.overflowX === 'auto' || style.overflowX === 'scroll') return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1 && !scrolls(el)) {
      const classes = typeof el.className === 'string' ? el.className.trim() : '';
      out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
               (classes ? '.' + classes.split(/\\s+/).join('.') : '') +
               ' right=' + Math.round(box.right));
      if (out.length >= 5) break;
    }
  }
  return {page: document.documentElement.scrollWidth, width, out};
}"""

# Panels that scroll sideways: at a desktop width none of the listed ones may need to.
SIDEWAYS = """(selectors) => {
  const out = [];
  for (const selector of selectors) {
    for (const el of document.querySelectorAll(selector)) {
      if (el.scrollWidth > el.clientWidth + 1) {
        out.push(selector + ' ' + el.scrollWidth + '>' + el.clientWidth);
      }
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (.ci/run installs it).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def session_cookie(user: User, base: str) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    return {"name": "sessionid", "value": cookie.value, "url": base}


def pages_of(side: str) -> list[str]:
    with scopes_disabled():
        acme = Vendor.objects.get(code="BOLT")  # it has a blanket order
        orders = PurchaseOrder.objects.filter(vendor=acme, status="issued")
        blanket = orders.filter(kind=OrderKind.BLANKET).order_by("-revision").first()
        standard = orders.filter(kind=OrderKind.STANDARD).order_by("-revision").first()
        invoice = Invoice.objects.filter(vendor=acme).order_by("-pk").first()
        assert blanket and standard and invoice
        delivery = standard.deliveries.filter(status="open").first()
        assert delivery
    common = [
        "",
        "open-lines/",
        "orders/",
        f"orders/{blanket.number}/",
        f"orders/{standard.number}/",
        f"orders/{standard.number}/changes/",
        "receipts/",
        "invoices/",
        f"invoices/{invoice.pk}/",
        "/accounts/notifications/",  # (a path from the root: either side's own settings)
    ]
    if side == "portal":
        return [
            *common,
            f"orders/{standard.number}/propose?delivery={delivery.pk}",
            "team/",
            "api-tokens/",
        ]
    return [
        *common,
        f"orders/{standard.number}/revise",
        f"orders/{standard.number}/receive",
        f"orders/{standard.number}/invoice",
        "audit/",
    ]


def visit(page: Page, url: str) -> None:
    page.route("**/events?*", lambda route: route.abort())  # no live stream on live_server
    response = page.goto(url)
    assert response is not None and response.status == 200, url


def test_every_main_page_fits_the_screen(live_server, browser):
    call_command("demo", verbosity=0)
    with scopes_disabled():
        supplier = User.objects.get(email=demo.RICK)  # an admin: the team page too
        buyer = User.objects.get(email=demo.MAIN_BUYER_EMAIL)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for side, user in (("portal", supplier), ("buying", buyer)):
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900})
            context.add_cookies([session_cookie(user, live_server.url)])  # type: ignore[list-item]
            page = context.new_page()
            for path in pages_of(side):
                url = live_server.url + (path if path.startswith("/") else f"/{side}/{path}")
                visit(page, url)
                found = page.evaluate(OVERFLOW)
                if found["page"] > found["width"] or found["out"]:
                    problems.append(f"{width} px /{side}/{path}: {found}")
                if width >= 1280:
                    wide = page.evaluate(
                        SIDEWAYS,
                        [
                            "#order-lines",
                            "#order-timeline",
                            ".table-wrap:has(#open-lines)",
                            "#audit-entries",
                        ],
                    )
                    problems += [f"{width} px /{side}/{path}: scrolls sideways {w}" for w in wide]
                name = path.split("?")[0].strip("/").replace("/", "_") or "home"
                if width != 1366:
                    page.screenshot(path=str(ARTIFACTS / f"{side}-{width}-{name}.png"))
            context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_the_filters_fold_on_a_phone_and_show_on_a_laptop(
    live_server, browser, vendor_a, buyer, amos, javascript
):
    make_order(vendor=vendor_a, by=buyer, number="PO-FOLD-1", due=days(15))
    url = f"{live_server.url}/portal/open-lines/"
    controls = ("#id_q", "#id_po", "#id_item", "#id_due_from", "#id_due_to", "#id_overdue")

    def page_at(width: int) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": 900}, java_script_enabled=javascript
        )
        context.add_cookies([session_cookie(amos, live_server.url)])  # type: ignore[list-item]
        return context.new_page()

    phone = page_at(390)
    visit(phone, url)
    summary = phone.locator("details.filters > summary")
    expect(summary).to_be_visible()
    expect(summary).to_have_text("Filters")
    for control in controls:
        expect(phone.locator(control)).to_be_hidden()
    expect(phone.locator("#open-lines")).to_be_visible()  # the table comes first
    summary.click()
    for control in controls:
        expect(phone.locator(control)).to_be_visible()
    phone.fill("#id_po", "FOLD")
    phone.check("#id_overdue")
    phone.click("form.filters button[type=submit]")
    expect(phone.locator("details.filters > summary")).to_have_text("Filters · 2 active")
    expect(phone.locator("#id_po")).to_be_hidden()  # folded again on the filtered page
    # A refused filter opens the panel by itself, to show why.
    visit(phone, f"{url}?due_from={days(14):%d/%m/%Y}")
    expect(phone.locator("#id_due_from")).to_be_visible()
    expect(phone.locator("form.filters .errorlist")).to_contain_text("YYYY-MM-DD")

    for width in (1280, 1366):
        laptop = page_at(width)
        visit(laptop, f"{url}?po=FOLD")
        expect(laptop.locator("details.filters > summary")).to_be_hidden()
        for control in controls:
            expect(laptop.locator(control)).to_be_visible()
        # The fold adds nothing around the panel: it is the form, as it was before.
        assert laptop.locator("details.filters").bounding_box() == (
            laptop.locator("form.filters").bounding_box()
        )
        laptop.context.close()
    phone.context.close()
