"""Notifications: from the event log to a real SMTP server's inbox, on PostgreSQL.

Setup (a fresh database, dropped at the end): V vendors (default 200) with L vendor-user
logins each (default 5; 1,000 logins) and one issued order each, made through the services;
one buyer. The SMTP server is aiosmtpd in its own process (as a mail server would be), which
notes when each message arrives, by Message-ID (CLOCK_MONOTONIC is system-wide).

0. Statements: E/10 buyer comments, then the notifier (`notifier.run_once`, the worker
   task's body) in this process over one SMTP connection, with a connection execute_wrapper
   counting its SQL statements: statements per message.
1. Throughput: E buyer comments (default 2,000, on random vendors' orders; each tells the
   vendor's L logins: 10,000 messages) are committed while nothing sends; then 1, and then
   2, `vendorportal db_worker` processes send them (each over NOTIFY_SMTP_CONNECTIONS
   connections). messages/s = messages / (last arrival - first arrival).
2. Delay: one worker runs while this process commits comments at a steady --rate
   (events/s, default 20 = 100 messages/s); delay = arrival - commit, per message; p50,
   p99 and max. The worker polls its queue every 100 ms.
3. Digest: every login chooses the daily digest for comments; E/2 more comments wait in
   the digest; then one digest run (`reminders.make_digests`, what the schedule does at
   DIGEST_HOUR) over all logins is timed, and sending the digests (one per login) too.

This prints figures; it is not a pass/fail test. Goals (issue 15): at least 200 messages/s,
and a digest run over 1,000 logins under 10 s.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from decimal import Decimal
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
WORKER_OPTIONS = ("--no-startup-delay", "--no-reload", "--interval", "0.1")


@contextlib.contextmanager
def postgres_database(url: str) -> Iterator[str]:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)

    def execute(sql: str) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql)

    execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    execute(f"CREATE DATABASE {name}")
    try:
        yield url
    finally:
        execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Sink:
    """aiosmtpd handler of the SMTP process: one line per message, `<monotonic> <Message-ID>`
    (CLOCK_MONOTONIC is system-wide on Linux, so the bench process compares directly)."""

    def __init__(self, path: str) -> None:
        self.out = open(path, "a", buffering=1)  # noqa: SIM115 - open for the process's life

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.monotonic()
        headers = envelope.content.split(b"\r\n\r\n", 1)[0]
        message = message_from_bytes(headers + b"\r\n\r\n", policy=default_policy)
        self.out.write(f"{now} {message['Message-ID']}\n")
        return "250 OK"


def sink_main(port: int, path: str) -> None:
    """The SMTP server, in its own process (as a real mail server would be)."""
    from aiosmtpd.controller import Controller

    controller = Controller(Sink(path), hostname="127.0.0.1", port=port)
    controller.start()
    while True:
        time.sleep(3600)


class Inbox:
    """What the SMTP process received: arrival times by Message-ID, read from its file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.arrived: dict[str, float] = {}
        self.count = 0

    def read(self) -> None:
        with self.path.open() as source:
            source.seek(self.offset)
            chunk = source.read()
        complete = chunk[: chunk.rfind("\n") + 1]
        self.offset += len(complete.encode())
        for line in complete.splitlines():
            at, _, mid = line.partition(" ")
            self.arrived.setdefault(mid, float(at))
            self.count += 1

    def clear(self) -> None:
        self.read()
        self.arrived.clear()
        self.count = 0

    def wait_for(self, total: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            self.read()
            if self.count >= total or time.monotonic() > deadline:
                return self.count >= total
            time.sleep(0.02)


def worker_process() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PYTHON, "-m", "vendorportal", "db_worker", *WORKER_OPTIONS],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vendors", type=int, default=200)
    parser.add_argument("--logins", type=int, default=5, help="per vendor")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0, help="events/s in the delay phase")
    parser.add_argument("--delay-events", type=int, default=400)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vp_bench_notify"
        ),
    )
    parser.add_argument("--smtp-sink", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smtp_sink:
        sink_main(int(args.smtp_sink[0]), args.smtp_sink[1])
        return

    with postgres_database(args.database_url) as url:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="vendorportal.settings",
            DATABASE_URL=url,
            DEBUG="false",
            VENDORPORTAL_HTTPS="false",
            SECRET_KEY=os.environ.get("SECRET_KEY", "bench-" + "x" * 40),
            LOG_LEVEL="WARNING",
            SITE_URL="http://portal.bench",
        )
        from tests.smtp import free_port

        port = free_port()
        path = Path(tempfile.mkdtemp()) / "inbox.log"
        path.touch()
        sink = subprocess.Popen([PYTHON, __file__, "--smtp-sink", str(port), str(path)], cwd=ROOT)
        time.sleep(1.5)  # its start-up
        os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
        try:
            run(args, Inbox(path), url)
        finally:
            sink.terminate()
            sink.wait(timeout=10)


def run(args: argparse.Namespace, inbox: Inbox, url: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from vendorportal.accounts.models import Role, User
    from vendorportal.collaboration import services as collaboration
    from vendorportal.events import log
    from vendorportal.events.models import Notification, NotificationPreference
    from vendorportal.events.notify import notifier, reminders
    from vendorportal.purchasing import services
    from vendorportal.purchasing.models import Item, Vendor

    call_command("migrate", verbosity=0)
    print(
        f"PostgreSQL {connection.cursor().connection.info.server_version // 10000}, "
        f"{os.cpu_count()} CPUs"
    )
    rng = random.Random(7)
    started = time.monotonic()
    with scopes_disabled():
        buyer = User.objects.create_user(email="buyer@bench.example", role=Role.BUYER)
        item = Item.objects.create(part_number="BENCH-1", description="Bench part")
        vendors = Vendor.objects.bulk_create(
            Vendor(code=f"V{n:04d}", name=f"Vendor {n}") for n in range(args.vendors)
        )
        User.objects.bulk_create(
            User(
                email=f"clerk{n}@v{v.pk}.example",
                username=f"clerk{n}@v{v.pk}.example",
                role=Role.VENDOR_USER,
                vendor=v,
                password="!",  # noqa: S106 - an unusable password: nobody logs in
            )
            for v in vendors
            for n in range(args.logins)
        )
        orders = []
        for vendor in vendors:
            order = services.order_create(
                vendor=vendor,
                by=buyer,
                lines=[
                    services.LineInput(
                        item=item,
                        quantity=Decimal(100),
                        unit_price=Decimal(2),
                        due_date=timezone.localdate() + dt.timedelta(days=30),
                    )
                ],
            )
            orders.append(services.order_issue(order=order, by=buyer))
        notifier.cursor_at_end()
    logins = args.vendors * args.logins
    print(
        f"setup: {args.vendors} vendors x {args.logins} logins = {logins} logins, "
        f"{len(orders)} issued orders, {time.monotonic() - started:.1f} s"
    )

    from django.conf import settings
    from django_tasks_db.models import DBTaskResult

    def comments(count: int, label: str) -> None:
        with scopes_disabled():
            for n in range(count):
                collaboration.comment_add(order=rng.choice(orders), by=buyer, body=f"{label} {n}")
        DBTaskResult.objects.all().delete()  # the commits' wake-ups: each phase runs its own

    # 0. Statements per message: the notifier in this process, one SMTP connection -------
    sample = max(args.events // 10, 10)
    comments(sample, "Counted")
    statements = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    settings.NOTIFY_SMTP_CONNECTIONS = 1
    inbox.clear()
    begin = time.monotonic()
    with connection.execute_wrapper(count):
        notifier.run_once()
    inbox.wait_for(sample * args.logins, 60)
    took = max(inbox.arrived.values()) - begin
    print(
        f"statements: {statements / (sample * args.logins):.2f} SQL statements per message "
        f"({sample * args.logins} messages in this process over one SMTP connection: "
        f"{sample * args.logins / took:.0f} messages/s)"
    )

    # 1. Throughput: the real worker, 1 and 2 processes ----------------------------------
    expected = args.events * args.logins
    for workers in args.workers:
        comments(args.events, f"Comment x{workers}")
        inbox.clear()
        for _ in range(workers):
            notifier.send_notifications.enqueue()
        begin = time.monotonic()
        processes = [worker_process() for _ in range(workers)]
        try:
            complete = inbox.wait_for(expected, 300)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
        first, last = min(inbox.arrived.values()), max(inbox.arrived.values())
        print(
            f"throughput, {workers} worker process{'es' if workers > 1 else ''}: {expected} "
            f"messages ({args.events} events x {args.logins} logins) "
            f"{'' if complete else '(TIMED OUT) '}from first to last arrival in "
            f"{last - first:.1f} s = {expected / (last - first):.0f} messages/s (goal >= 200); "
            f"{last - begin:.1f} s from the workers' start"
        )

    # 2. Delay, with the real worker -----------------------------------------------------

    DBTaskResult.objects.all().delete()  # phase 1's wake-ups: the notifier ran already
    commits: dict[int, float] = {}
    unsubscribe = log.subscribe(lambda event: commits.__setitem__(event.pk, time.monotonic()))
    worker = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "vendorportal",
            "db_worker",
            "--no-startup-delay",
            "--no-reload",
            "--interval",
            "0.1",
        ],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3)  # the worker's start-up
        inbox.clear()
        start = time.monotonic()
        with scopes_disabled():
            for n in range(args.delay_events):
                due = start + n / args.rate
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                collaboration.comment_add(order=rng.choice(orders), by=buyer, body=f"Live {n}")
        delayed = args.delay_events * args.logins
        complete = inbox.wait_for(delayed, 120)
    finally:
        worker.terminate()
        worker.wait(timeout=10)
        unsubscribe()
    with scopes_disabled():
        sent = dict(
            Notification.objects.filter(event_id__in=list(commits)).values_list(
                "message_id", "event_id"
            )
        )
    delays = [
        (arrival - commits[sent[mid]]) * 1000
        for mid, arrival in inbox.arrived.items()
        if mid in sent and sent[mid] in commits
    ]
    print(
        f"delay: {len(delays)} of {delayed} messages arrived{'' if complete else ' (TIMED OUT)'}; "
        f"{args.rate:.0f} events/s = {args.rate * args.logins:.0f} messages/s offered; "
        f"commit to inbox p50 {percentile(delays, 0.5):.0f} ms, "
        f"p99 {percentile(delays, 0.99):.0f} ms, "
        f"max {max(delays, default=0):.0f} ms (the worker polls every 100 ms)"
    )

    # 3. Digest ------------------------------------------------------------------------
    with scopes_disabled():
        NotificationPreference.objects.bulk_create(
            NotificationPreference(user_id=pk, kind="comment", delivery="digest")
            for pk in User.objects.filter(role=Role.VENDOR_USER).values_list("pk", flat=True)
        )
        for n in range(args.events // 2):
            collaboration.comment_add(order=rng.choice(orders), by=buyer, body=f"Digest {n}")
        notifier.fan_out()
        waiting = Notification.objects.filter(status="in_digest").count()
        inbox.clear()
        morning = timezone.now().replace(hour=23, minute=0)  # past DIGEST_HOUR in UTC
        begin = time.monotonic()
        made = reminders.make_digests(morning)
        made_in = time.monotonic() - begin
        begin = time.monotonic()
        notifier.send_due(now=morning)
        inbox.wait_for(made, 60)
        sent_in = time.monotonic() - begin
    print(
        f"digest: {made} digests for {logins} logins gathering {waiting} entries made in "
        f"{made_in:.1f} s (goal < 10 s), sent in {sent_in:.1f} s "
        f"({made / sent_in:.0f} digests/s)"
    )


if __name__ == "__main__":
    main()
