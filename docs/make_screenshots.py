"""Take the README's screenshots from a running demo (`make run`) in headless Chromium.

    .venv/bin/python docs/make_screenshots.py [--base http://127.0.0.1:8000]

Uses Debian's chromium (/usr/bin/chromium, or $CHROMIUM) through Playwright and the
demo logins (default password, see `vendorportal demo`).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import struct
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

OUT = Path(__file__).resolve().parent / "screenshots"
# Every demo buyer's authenticator secret (vendorportal/purchasing/demo.py).
DEMO_TOTP_SECRET = "VENDORPORTALDEMOBUYERSECRETKEYAA"  # noqa: S105 - public demo credential


def totp_now(secret: str) -> str:
    """RFC 6238: the 6-digit code of a 30-second step (what an authenticator app shows)."""
    key = base64.b32decode(secret, casefold=True)
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def log_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    if page.locator("input[name=code]").count():
        # Demo buyers use two-factor authentication with the documented demo secret.
        page.fill("input[name=code]", totp_now(DEMO_TOTP_SECRET))
        page.click("main button[type=submit] >> nth=0")
        page.wait_for_load_state("networkidle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--password", default="demo-portal-2026")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        log_in(page, args.base, "admin@acme.demo.vendorportal.test", args.password)
        page.screenshot(path=str(OUT / "supplier-home.png"))
        page.goto(f"{args.base}/portal/open-lines/")
        page.screenshot(path=str(OUT / "supplier-open-lines.png"))
        # The order at the highest revision makes the richest order page.
        page.goto(f"{args.base}/portal/orders/?show=open&sort=-revision")
        page.click("table.data tbody tr >> nth=0 >> a")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(OUT / "supplier-order.png"), full_page=True)
        buyer = browser.new_page(viewport={"width": 1400, "height": 900})
        log_in(buyer, args.base, "buyer@demo.vendorportal.test", args.password)
        buyer.screenshot(path=str(OUT / "buyer-work-queues.png"))
        # A blanket order: the agreement's ledger first, its call-offs below.
        buyer.goto(f"{args.base}/buying/orders/?show=open&sort=-revision")
        buyer.click("table.data tbody tr:has-text('Blanket') >> nth=0 >> a")
        buyer.wait_for_load_state("networkidle")
        buyer.screenshot(path=str(OUT / "buyer-blanket-order.png"), full_page=True)
        # A supplier's phone (390 px): the menu folds, tables scroll in their panel.
        phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        log_in(phone, args.base, "sales@acme.demo.vendorportal.test", args.password)
        phone.screenshot(path=str(OUT / "supplier-phone-home.png"))
        phone.goto(f"{args.base}/portal/open-lines/")
        phone.screenshot(path=str(OUT / "supplier-phone-open-lines.png"))
        browser.close()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
