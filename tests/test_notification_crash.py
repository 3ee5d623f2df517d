"""The worker killed in the middle of a batch (issue 15): after a restart every
notification reaches the SMTP server, none is lost, and each Message-ID arrives once (the
messages in flight at the kill, one per SMTP connection, may be transmitted again, each with
its own Message-ID, which mailboxes show once)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from tests.asgi import ROOT, database_url
from tests.factories import UserFactory, make_order
from tests.smtp import SmtpServer
from vendorportal.accounts.models import Role
from vendorportal.collaboration import services as collaboration
from vendorportal.events.models import Notification, NotificationStatus
from vendorportal.events.notify import notifier

pytestmark = pytest.mark.django_db(transaction=True)

LOGINS = 4
COMMENTS = 40  # 160 messages
# Each SMTP connection has at most one message in flight (PostgreSQL sends over several at
# once; SQLite over one).
CONNECTIONS = 4


class SlowInbox:
    """Takes 15 ms to accept each message, so a batch is still being sent when killed."""

    def __init__(self, inbox) -> None:
        self.inbox = inbox

    async def handle_RCPT(self, *args):
        return await self.inbox.handle_RCPT(*args)

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.015)
        return await self.inbox.handle_DATA(server, session, envelope)


def _worker(smtp: SmtpServer, *, batch: bool) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "vendorportal", "db_worker", "--no-startup-delay"]
    command += ["--no-reload", "--interval", "0.2"] + (["--batch"] if batch else [])
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "NOTIFY_CLAIM_SECONDS": "2",
        "NOTIFY_SMTP_CONNECTIONS": str(CONNECTIONS),
        "SITE_URL": "http://portal.test",
    }
    # (The killed worker's log is not read: it must not block on a full pipe.)
    errors = subprocess.PIPE if batch else subprocess.DEVNULL
    return subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors
    )


def test_killed_mid_batch_then_restarted_sends_every_notification_once(vendor_a, buyer):
    for n in range(LOGINS):
        UserFactory(email=f"clerk{n}@acme.example", role=Role.VENDOR_USER, vendor=vendor_a)
    order = make_order(vendor=vendor_a, by=buyer)
    notifier.cursor_at_end()
    for n in range(COMMENTS):
        collaboration.comment_add(order=order, by=buyer, body=f"Comment {n}")
    smtp = SmtpServer()
    smtp.controller.handler = SlowInbox(smtp.inbox)
    smtp.start()
    try:
        notifier.send_notifications.enqueue()
        worker = _worker(smtp, batch=False)
        deadline = time.monotonic() + 60
        while len(smtp.inbox.messages) < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(random.uniform(0.05, 0.4))
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        connection.close()  # read what the killed worker committed
        rows = Notification.objects.filter(kind="comment")
        total = rows.count()
        assert total == LOGINS * COMMENTS
        sent_before = rows.filter(status=NotificationStatus.SENT).count()
        assert 0 < sent_before < total, "the kill did not land in the middle of the batch"

        time.sleep(2.1)  # the killed worker's claims become stale (NOTIFY_CLAIM_SECONDS)
        notifier.send_notifications.enqueue()  # the schedule's next run does this too
        restarted = _worker(smtp, batch=True)
        _, errors = restarted.communicate(timeout=120)
        assert restarted.returncode == 0, errors.decode()[-2000:]
        assert "Traceback" not in errors.decode(), errors.decode()[-3000:]  # no task failed

        assert set(rows.values_list("status", flat=True)) == {NotificationStatus.SENT}
        arrived = Counter(str(m["Message-ID"]) for m in smtp.inbox.messages)
        expected = set(rows.values_list("message_id", flat=True))
        assert set(arrived) == expected  # none lost, none foreign
        twice = [mid for mid, count in arrived.items() if count > 1]
        in_flight = CONNECTIONS if connection.vendor == "postgresql" else 1
        assert len(twice) <= in_flight, twice  # at most the messages in flight at the kill
        print(
            f"\ncrash drill: {total} notifications, {sent_before} sent before the kill, "
            f"{len(smtp.inbox.messages)} transmissions, {len(twice)} in flight sent again"
        )
    finally:
        smtp.stop()
