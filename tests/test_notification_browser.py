"""From e-mail to the shared record, in real Chromium (issue 15): the buyer revises an
order; the supplier's message arrives at a real SMTP server, sent by the real worker;
following its link (no login) acknowledges; the buyer's open page shows it live."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.asgi import ROOT, database_url, running_server
from tests.factories import make_order
from tests.smtp import SmtpServer, parts
from tests.test_browser import browser, shot  # noqa: F401 - the shared Chromium fixture
from tests.test_live import session_of
from vendorportal.collaboration.models import Acknowledgement
from vendorportal.events.notify import notifier

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
WORKER_OPTIONS = ("--no-startup-delay", "--no-reload", "--interval", "0.2")


def test_a_revision_e_mail_acknowledges_in_one_click_and_the_buyer_sees_it_live(
    browser,
    tmp_path,
    vendor_a,
    buyer,
    amos,
):
    order = make_order(vendor=vendor_a, by=buyer, due=dt.date(2027, 1, 15), number="PO-MAIL-1")
    delivery = order.deliveries.get()
    notifier.cursor_at_end()
    smtp = SmtpServer().start()
    mail = {"EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}"}
    try:
        with running_server(tmp_path, **mail) as server:
            base = f"http://127.0.0.1:{server.port}"
            worker = subprocess.Popen(  # noqa: S603 - our own command
                [sys.executable, "-m", "vendorportal", "db_worker", *WORKER_OPTIONS],
                cwd=ROOT,
                env={
                    **os.environ,
                    **mail,
                    "DATABASE_URL": database_url(),
                    "SECRET_KEY": settings.SECRET_KEY,
                    "SITE_URL": base,
                },
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                context.add_cookies(
                    [{"name": "sessionid", "value": session_of(buyer), "url": base}]
                )
                purchaser = context.new_page()
                purchaser.goto(f"{base}/buying/orders/PO-MAIL-1/revise?delivery={delivery.pk}")
                purchaser.fill("#id_due_date", "2027-01-22")
                purchaser.click("main form button[type=submit]")
                expect(purchaser.locator(".messages")).to_be_visible()
                purchaser.goto(f"{base}/buying/orders/PO-MAIL-1/")
                expect(purchaser.locator("#live-status")).to_have_text("Live")
                purchaser.evaluate("window.notReloaded = true")

                deadline = time.monotonic() + 30
                while not smtp.inbox.to(amos.email) and time.monotonic() < deadline:
                    time.sleep(0.1)
                (message,) = smtp.inbox.to(amos.email)
                text, _ = parts(message)
                assert message["Subject"] == "PO-MAIL-1: revised (revision 2)"
                assert "Line 10 delivery 1 due date: 15 Jan 2027 → 22 Jan 2027" in text
                link = re.search(r"Accept revision 2: (\S+)", text)
                assert link and link.group(1).startswith(f"{base}/a/")

                # The supplier's clerk, not logged in, follows the link from the mailbox.
                mailbox = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
                mailbox.goto(link.group(1))
                expect(mailbox.locator("h1")).to_contain_text("Accept revision 2 of order")
                shot(mailbox, "notification-one-click-confirm")
                mailbox.click("#confirm-action")
                expect(mailbox.locator("#action-done")).to_contain_text(
                    "Revision 2 of order PO-MAIL-1 is accepted."
                )
                ack = Acknowledgement.objects.get(order=order)
                assert (ack.revision, ack.user_id) == (2, amos.pk)

                timeline = purchaser.locator("#order-timeline .timeline")
                expect(timeline).to_contain_text("Revision 2 accepted", timeout=5000)
                assert purchaser.evaluate("window.notReloaded") is True
                shot(purchaser, "notification-buyer-sees-the-acknowledgement")
            finally:
                worker.terminate()
                worker.wait(timeout=10)
    finally:
        smtp.stop()
