"""End to end in real Chromium against the real ASGI server (uvicorn), with two-factor
logins: a supplier logs in with a TOTP code, sees only its own orders, filters and exports
its open lines, acknowledges a revision and proposes a new date; the buyer logs in (with
a code too) and accepts it; the supplier sees the new revision.

Screenshots of each main screen go to test-artifacts/e2e/ (kept by CI as artifacts).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import Page, expect

from tests.asgi import running_server
from tests.factories import TEST_PASSWORD, make_order
from tests.test_browser import browser  # noqa: F401 - the shared Chromium fixture
from vendorportal.collaboration.models import Acknowledgement, ChangeProposal

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.mfa]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "e2e"
SUPPLIER_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
BUYER_SECRET = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def server_password(*users) -> None:
    """Tests hash passwords with MD5 (tests/conftest.py), which the server does not know:
    give the logins a PBKDF2 hash of the test password (few rounds: it is a test)."""
    hasher = PBKDF2PasswordHasher()
    for user in users:
        user.password = hasher.encode(TEST_PASSWORD, hasher.salt(), iterations=1000)
        user.save(update_fields=["password"])


def fresh_code(secret: str) -> str:
    """The app's code now, waiting for the next 30-second step if this one ends in less
    than ten seconds (the server accepts the current step only, and on a loaded machine
    typing the code and posting it took long enough to miss a four-second margin once)."""
    if 30 - time.time() % 30 < 10:
        time.sleep(30 - time.time() % 30 + 0.2)
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def log_in_with_code(page: Page, base: str, email: str, secret: str, name: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("main button[type=submit]")
    expect(page.locator("h1")).to_have_text("Two-factor code")
    assert page.url.endswith("/accounts/2fa/authenticate/")
    shot(page, f"{name}-two-factor-code")
    page.fill("input[name=code]", fresh_code(secret))
    page.click("#mfa-authenticate button:has-text('Log in')")


def test_supplier_and_buyer_with_two_factor_logins(
    browser, tmp_path, vendor_a, vendor_b, buyer, amos
):
    vendor_a.mfa_required = True  # the supplier's admin asked for it
    vendor_a.save()
    server_password(amos, buyer)
    TOTP.activate(amos, SUPPLIER_SECRET)
    TOTP.activate(buyer, BUYER_SECRET)
    order = make_order(
        vendor=vendor_a,
        by=buyer,
        lines=[("100", "2.50"), ("40", "7.25")],
        due=dt.date(2027, 1, 15),
        number="PO-E2E-1",
    )
    make_order(vendor=vendor_a, by=buyer, number="PO-ACME-2", due=dt.date(2027, 3, 1))
    make_order(vendor=vendor_b, by=buyer, number="PO-OTHER-9")

    with running_server(tmp_path, MFA_ENFORCED="true") as server:
        base = f"http://127.0.0.1:{server.port}"
        supplier_context = browser.new_context(
            viewport={"width": 1400, "height": 900}, accept_downloads=True
        )
        supplier = supplier_context.new_page()

        # The password alone opens nothing: the code is asked for next.
        log_in_with_code(supplier, base, amos.email, SUPPLIER_SECRET, "supplier")
        expect(supplier.locator("h1")).to_contain_text("Good day")
        expect(supplier.locator("#nav-mfa")).to_have_text("Two-factor")
        shot(supplier, "supplier-home")

        # Only its own orders: vendor B's order is nowhere, and its page is a 404.
        supplier.click("nav >> text=Orders")
        expect(supplier.locator("main")).to_contain_text("PO-E2E-1")
        expect(supplier.locator("main")).to_contain_text("PO-ACME-2")
        expect(supplier.locator("main")).not_to_contain_text("PO-OTHER-9")
        shot(supplier, "supplier-orders")
        foreign = supplier.request.get(f"{base}/portal/orders/PO-OTHER-9/")
        assert foreign.status == 404

        # Open lines, filtered, and exported as CSV with the same filter.
        supplier.click("nav >> text=Open lines")
        rows = supplier.locator("#open-lines tbody tr")
        expect(rows).to_have_count(3)
        expect(supplier.locator("#open-lines")).not_to_contain_text("PO-OTHER-9")
        supplier.fill("#id_po", "E2E")
        supplier.click("form.filters button[type=submit]")
        expect(rows).to_have_count(2)
        expect(supplier.locator("#open-lines")).not_to_contain_text("PO-ACME-2")
        shot(supplier, "supplier-open-lines-filtered")
        with supplier.expect_download() as download_info:
            supplier.click("text=Export CSV")
        download = download_info.value
        assert download.suggested_filename.endswith(".csv")
        text = Path(download.path()).read_text(encoding="utf-8-sig")
        table = list(csv.reader(io.StringIO(text)))
        body = table[1:]
        assert len(body) == 2, table
        assert all("PO-E2E-1" in row for row in body), table
        assert "PO-OTHER-9" not in text
        assert "PO-ACME-2" not in text

        # Acknowledge the revision, then propose a later date for one delivery.
        supplier.click("#open-lines >> text=PO-E2E-1 >> nth=0")
        expect(supplier.locator("h1")).to_contain_text("PO-E2E-1")
        supplier.check("input[name=response][value=accepted]")
        supplier.click("#acknowledge button[type=submit]")
        expect(supplier.locator(".messages")).to_contain_text("Revision 1 acknowledged")
        assert Acknowledgement.objects.filter(order=order, revision=1, user=amos).exists()
        delivery = order.deliveries.get(line__line_number=10)
        propose = supplier.locator(f"#delivery-{delivery.pk} >> text=Propose change")
        # A full page load, not a boosted click: the page's live stream then starts after
        # the acknowledgement, whose late-arriving event would otherwise make live.js
        # re-render the form while it is being filled (seen on a loaded machine).
        supplier.goto(base + propose.get_attribute("href"))
        supplier.fill("#id_due_date", "2027-01-29")
        supplier.fill("#id_reason", "Heat treatment capacity is booked until mid-January")
        supplier.click("button:has-text('Send proposal')")
        expect(supplier.locator(".messages")).to_contain_text("sent to the buyer")
        shot(supplier, "supplier-order-after-proposal")
        assert ChangeProposal.objects.filter(order=order, status="pending").count() == 1

        # The buyer logs in with its own code and accepts the proposal.
        purchaser = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        log_in_with_code(purchaser, base, buyer.email, BUYER_SECRET, "buyer")
        expect(purchaser.locator("h1")).to_contain_text("Work queues")
        expect(purchaser.locator("main")).to_contain_text("Heat treatment capacity")
        shot(purchaser, "buyer-work-queues")
        purchaser.click("main >> text=PO-E2E-1 >> nth=0")
        expect(purchaser.locator("h1")).to_contain_text("PO-E2E-1")
        purchaser.click("#order-proposals button:has-text('Accept')")
        expect(purchaser.locator(".messages")).to_contain_text("Proposal accepted")
        shot(purchaser, "buyer-order-after-accepting")
        delivery.refresh_from_db()
        assert delivery.due_date == dt.date(2027, 1, 29)

        # The supplier sees the new revision.
        supplier.reload()
        expect(supplier.locator(f"#delivery-{delivery.pk}")).to_contain_text("29 Jan 2027")
        expect(supplier.locator("#order-header")).to_contain_text("Revision 2")
        shot(supplier, "supplier-order-revision-2")

        # And the two-factor page shows the app as active.
        supplier.click("#nav-mfa")
        expect(supplier.locator("#mfa-totp")).to_contain_text("active")
        shot(supplier, "supplier-two-factor")


def test_a_login_that_must_use_two_factor_is_sent_to_set_it_up(browser, tmp_path, buyer):
    """A buyer without an authenticator app: after the password, the portal opens only the
    setup page; with the app's code it opens, and recovery codes are shown."""
    server_password(buyer)
    with running_server(tmp_path, MFA_ENFORCED="true") as server:
        base = f"http://127.0.0.1:{server.port}"
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=login]", buyer.email)
        page.fill("input[name=password]", TEST_PASSWORD)
        page.click("main button[type=submit]")
        # Sent to set it up; allauth asks for the password again before changing how one
        # logs in.
        expect(page.locator("h1")).to_have_text("Confirm your password")
        expect(page.locator(".messages")).to_contain_text("must use two-factor")
        page.fill("input[name=password]", TEST_PASSWORD)
        page.click("#reauthenticate button[type=submit]")
        expect(page.locator("h1")).to_have_text("Set up an authenticator app")
        shot(page, "buyer-set-up-authenticator")
        page.goto(f"{base}/buying/orders/")
        expect(page.locator("h1")).to_have_text("Set up an authenticator app")
        secret = page.input_value("#authenticator_secret")
        page.fill("input[name=code]", fresh_code(secret))
        page.click("#mfa-activate button[type=submit]")
        expect(page.locator("h1")).to_have_text("Recovery codes")
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        shot(page, "buyer-recovery-codes")
        page.goto(f"{base}/buying/")
        expect(page.locator("h1")).to_contain_text("Work queues")
