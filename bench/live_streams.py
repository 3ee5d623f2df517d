"""Live streams: commit-to-browser latency, correctness and memory of many open SSE streams,
on PostgreSQL, with two web processes.

What it sets up (all in a fresh PostgreSQL database, dropped at the end):

- N vendors (default 20), each with M vendor-user logins (default 10) made with
  `accounts.services.vendor_login_create`, and one order each made and issued with
  `purchasing.services.order_create/order_issue`; B buyer logins (default 2) made with
  `accounts.services.buyer_create`. Passwords are hashed with MD5 during setup only (as the
  tests do): Argon2 would spend ~30 s on 200 logins, and streams never check a password,
  only the session's HMAC of the stored hash.
- One session per login, made in-process with `django.test.Client().force_login` (the
  servers get the same SECRET_KEY through the environment, so they accept the cookie).
- Two separate `vendorportal serve` processes (uvicorn, 1 worker each) on two ports, rather
  than one `serve --workers 2`: with separate processes the script knows each server's pid
  (for VmRSS and CPU time) and which server each stream is on, and can split streams evenly
  (uvicorn's workers share one socket and the kernel picks). DEBUG is off, as in production.
  Every vendor has half of its logins on each server, and buyers alternate, so both servers
  route every vendor's events (each server's single LISTEN connection gets every notice).

How it measures:

- Clients: every login opens its stream (`/portal/events` for vendor users, `/buying/events`
  for buyers) from this process, all held open concurrently on one asyncio event loop, over
  raw asyncio streams (HTTP/1.1 request written by hand, chunked transfer-encoding and the
  SSE lines parsed here). The receive time of a message is `time.monotonic_ns()` taken as
  soon as its chunk has been read.
- Load: a committer, by default a separate process (`--committer thread` runs it as a
  thread of this process instead, sharing the GIL with the clients), adds comments through
  `collaboration.services.comment_add` on random vendors' orders at a steady rate (an
  absolute schedule: event i is due at start + i/rate), by a random login of that vendor or
  a buyer; a share of them (default 10%) are internal buyer comments, which vendor streams
  must never receive. The commit time is `time.monotonic_ns()` right after the service
  returns (the transaction has committed). CLOCK_MONOTONIC is system-wide on Linux, so the
  two processes' clocks compare directly. The event id is taken from an in-process
  `events.log.subscribe` callback (called on commit).
- Latency = receive - commit, per delivery (one event reaches many streams). Each round has
  a short warm-up (committed and checked, not timed). Rounds are repeated over the same
  open streams; the table prints each round and the medians of the rounds.
  PostgreSQL sends the notice when the commit is durable, at about the moment it answers
  the COMMIT, so a delivery can arrive before the committer's process gets to read its
  clock (those latencies are negative). The committer also notes when it sent COMMIT;
  receive - that is printed as an upper bound (it includes the WAL flush).
- Client-side event-loop lag is measured alongside: a task asks to wake every 10 ms and
  records how late it wakes up. If that lag is large, the latency figures overstate the
  server's share.
- Correctness, over all rounds: the events in the database committed after the streams
  opened are the truth. Each vendor stream must receive exactly its vendor's non-internal
  events and each buyer stream all events, each once, in increasing id order: foreign,
  missing, duplicate and out-of-order counts must all be 0.
- Memory: VmRSS (/proc/<pid>/status) of each server after a warm-up (one stream opened and
  closed on each, so one-time imports and the hub are not counted), then with all streams
  open; (open - before) / streams on that server = KiB per open stream. Also after the load.
- Each server's /health/live is read before and after the load: open_streams and how many
  notices its LISTEN connection received (each must equal the events committed).

- CPUs busy/stolen per round (/proc/stat, the whole machine) and how late the committer
  ran against its schedule say whether other work on a shared machine disturbed a round.

Connections and threads: an open stream does not hold a database connection (the stream
body gives the request thread's connection back to the pool; before that fix a process
could hold only pool-size streams, which this bench found), but each open stream still
keeps one idle thread in Django's ASGI handler (threads are printed).

This prints figures; it is not a pass/fail test. The goal it reports against: p99 latency
(commit -> received, median of the rounds) within 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import importlib.util
import itertools
import json
import multiprocessing
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/vp_live_bench"
GOAL_P99_MS = 20.0
LAG_INTERVAL = 0.010  # the event-loop lag probe's sleep


# --------------------------------------------------------------------------------------
# Processes and databases
# --------------------------------------------------------------------------------------


def django_env(database_url: str, var_dir: Path, secret_key: str) -> dict[str, str]:
    """The environment of this process's Django, the committer and both servers."""
    return {
        "DJANGO_SETTINGS_MODULE": "vendorportal.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        # Plain http on localhost: production terminates TLS in front (no https redirect).
        "VENDORPORTAL_HTTPS": "false",
        "SECRET_KEY": secret_key,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "VENDORPORTAL_VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
    }


@contextlib.contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """A fresh, empty database at `url`, dropped afterwards."""
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"Refusing unusual database name {name!r}.")
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


def postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0].split()[0] if row else '?'}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def live_health(port: int) -> dict[str, Any]:
    status, body = http_get(port, "/health/live")
    if status != 200:
        raise SystemExit(f"/health/live on port {port}: HTTP {status} {body[:500]!r}")
    return json.loads(body)


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.contextmanager
def server(name: str, env: dict[str, str], log: Path) -> Iterator[Server]:
    """`vendorportal serve` (1 worker) on a free port; stopped by its pid on exit. Its
    database connections carry application_name=vp-bench-<name> (counted in
    pg_stat_activity)."""
    port = free_port()
    url = env["DATABASE_URL"]
    url += ("&" if "?" in url else "?") + f"application_name=vp-bench-{name}"
    command = [PYTHON, "-m", "vendorportal", "serve", "--port", str(port), "--workers", "1"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env, "DATABASE_URL": url},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our Ctrl-C handling stops it, not a second SIGINT
        )
    running = Server(name, port, process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(
                    f"Server {name} exited (code {process.returncode}):\n{log.read_text()}"
                )
            with contextlib.suppress(OSError):
                if http_get(port, "/health/live")[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"Server {name} did not answer within 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[int, int, int]:
    """(busy, stolen, total) CPU ticks of the whole machine so far (/proc/stat). Stolen:
    the hypervisor ran something else while this machine wanted to run."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle, steal = values[3] + values[4], values[7]  # idle + iowait; steal
    return sum(values) - idle - steal, steal, sum(values)


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise RuntimeError(f"no Threads for pid {pid}")


def pg_backends(url: str) -> dict[str, int]:
    """Open PostgreSQL connections to the bench database, by application_name."""
    import psycopg

    name = urllib.parse.urlsplit(url).path.lstrip("/")
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
        rows = conn.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = %s "
            "GROUP BY application_name",
            [name],
        ).fetchall()
    return {str(app): int(n) for app, n in rows}


def log_problems(log: Path) -> list[str]:
    return [
        line
        for line in log.read_text(errors="replace").splitlines()
        if "Traceback" in line or "ERROR" in line or "WARNING" in line
    ]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


# --------------------------------------------------------------------------------------
# Data and sessions (in this process, through the services)
# --------------------------------------------------------------------------------------


@dataclass
class Login:
    user_id: int
    vendor_id: int | None  # None: a buyer
    session: str


@dataclass
class Plan:
    vendors: list[int]
    orders: dict[int, int]  # vendor id -> its issued order's id
    logins: list[Login]
    buyer_ids: list[int]


def make_data(vendors: int, users_per_vendor: int, buyers: int) -> Plan:
    """Vendors, logins, one issued order per vendor (through the services) and sessions."""
    import datetime as dt
    from decimal import Decimal

    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.test import Client
    from django.test.utils import override_settings
    from django_scopes import scopes_disabled

    from vendorportal.accounts import services as accounts
    from vendorportal.accounts.models import Role
    from vendorportal.purchasing import services as purchasing
    from vendorportal.purchasing.models import Vendor

    password = secrets.token_urlsafe(18)
    due = dt.date.today() + dt.timedelta(days=60)  # noqa: DTZ011 - a date a while ahead
    logins: list[Login] = []
    orders: dict[int, int] = {}
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with scopes_disabled(), override_settings(PASSWORD_HASHERS=fast):
        buyer_users = [
            accounts.buyer_create(email=f"buyer{b + 1}@buying.bench.example", password=password)
            for b in range(buyers)
        ]
        for user in buyer_users:
            # Buyers must use two-factor authentication (accounts/mfa.py): each gets an
            # authenticator, as after setting up an app, so its session may stream.
            TOTP.activate(user, generate_totp_secret())
        buyer = buyer_users[0] if buyer_users else None
        vendor_ids = []
        for v in range(vendors):
            vendor = Vendor.objects.create(
                code=f"V{v + 1:04d}", name=f"Bench Vendor {v + 1}", contact_email="x@example.com"
            )
            vendor_ids.append(vendor.pk)
            for u in range(users_per_vendor):
                user = accounts.vendor_login_create(
                    vendor=vendor,
                    email=f"user{u + 1}@v{v + 1:04d}.bench.example",
                    role=Role.VENDOR_USER,
                    password=password,
                )
                logins.append(Login(user.pk, vendor.pk, ""))
            order = purchasing.order_create(
                vendor=vendor,
                by=buyer,
                lines=[
                    purchasing.LineInput(
                        quantity=Decimal("100"),
                        unit_price=Decimal("2.50"),
                        description="Bench part",
                        unit_of_measure="EA",
                        due_date=due,
                    )
                ],
            )
            orders[vendor.pk] = purchasing.order_issue(order=order, by=buyer).pk
        logins += [Login(user.pk, None, "") for user in buyer_users]
        from vendorportal.accounts.models import User

        users = User.objects.in_bulk([login.user_id for login in logins])
        for login in logins:
            client = Client()
            client.force_login(users[login.user_id])
            login.session = client.cookies["sessionid"].value
    return Plan(vendor_ids, orders, logins, [u.pk for u in buyer_users])


# --------------------------------------------------------------------------------------
# The committer (a separate process by default, or a thread of this one)
# --------------------------------------------------------------------------------------

# (event id, vendor id, internal, round, warm-up?, call start ns, COMMIT sent ns,
#  committed ns = the service has returned)
Commit = tuple[int, int, bool, int, bool, int, int, int]


def commit_round(
    *,
    round_no: int,
    orders: dict[int, int],
    vendor_users: dict[int, list[int]],
    buyer_ids: list[int],
    rate: float,
    seconds: float,
    warmup: float,
    internal_share: float,
    seed: int,
) -> tuple[list[Commit], list[float]]:
    """Comments at `rate`/s for warmup + seconds; the commits and how late each call began
    against its schedule (ms)."""
    import random

    from django.db import close_old_connections, connections
    from django_scopes import scopes_disabled

    from vendorportal.accounts.models import User
    from vendorportal.collaboration import services as collaboration
    from vendorportal.events import log
    from vendorportal.purchasing.models import PurchaseOrder

    rng = random.Random(seed * 1000 + round_no)
    with scopes_disabled():
        order_objects = PurchaseOrder.objects.in_bulk(list(orders.values()))
        all_user_ids = [uid for ids in vendor_users.values() for uid in ids] + buyer_ids
        users = User.objects.in_bulk(all_user_ids)
    vendor_ids = sorted(orders)
    captured: list[Any] = []
    unsubscribe = log.subscribe(captured.append)
    commits: list[Commit] = []
    late_ms: list[float] = []
    total = int((warmup + seconds) * rate)
    warm_count = int(warmup * rate)
    # When COMMIT is sent: the commit becomes visible between this and the service's return.
    database: Any = connections["default"]
    commit_sent: list[int] = []
    product_commit = database._commit

    def timed_commit() -> Any:
        commit_sent.append(time.monotonic_ns())
        return product_commit()

    database._commit = timed_commit
    start = time.monotonic_ns() + 50_000_000  # a moment to settle
    try:
        with scopes_disabled():
            for i in range(total):
                due = start + int(i * 1e9 / rate)
                now = time.monotonic_ns()
                if due > now:
                    time.sleep((due - now) / 1e9)
                vendor_id = rng.choice(vendor_ids)
                internal = bool(buyer_ids) and rng.random() < internal_share
                if internal:
                    author = users[rng.choice(buyer_ids)]
                else:
                    author = users[rng.choice(vendor_users[vendor_id] + buyer_ids)]
                captured.clear()
                commit_sent.clear()
                began = time.monotonic_ns()
                late_ms.append((began - due) / 1e6)
                collaboration.comment_add(
                    order=order_objects[orders[vendor_id]],
                    by=author,
                    body=f"Bench comment {round_no}.{i}",
                    internal=internal,
                )
                done = time.monotonic_ns()
                (event,) = captured
                sent = commit_sent[-1] if commit_sent else done
                warm = i < warm_count
                commits.append((event.pk, vendor_id, internal, round_no, warm, began, sent, done))
    finally:
        del database._commit  # the class's method again
        unsubscribe()
        close_old_connections()
    return commits, late_ms


def committer_process(conn: Any) -> None:
    """The committer as a process: one round per message received, None to stop."""
    import django

    django.setup()
    from django.db import connections

    conn.send("ready")
    while (job := conn.recv()) is not None:
        try:
            conn.send(commit_round(**job))
        except Exception as error:  # report it to the parent instead of hanging it
            conn.send(error)
    connections.close_all()


class Committer:
    def __init__(self, mode: str, env: dict[str, str]) -> None:
        self.mode = mode
        self.process: Any = None
        if mode == "process":
            context = multiprocessing.get_context("spawn")  # no fork of this process's pool
            self.conn, child = context.Pipe()
            saved = dict(os.environ)
            os.environ.update(env)
            try:
                self.process = context.Process(
                    target=committer_process, args=(child,), name="committer", daemon=True
                )
                self.process.start()
            finally:
                os.environ.clear()
                os.environ.update(saved)
            if not self.conn.poll(60) or self.conn.recv() != "ready":
                raise SystemExit("The committer process did not start.")

    def run(self, job: dict[str, Any]) -> tuple[list[Commit], list[float]]:
        if self.mode == "thread":
            return commit_round(**job)
        self.conn.send(job)
        result = self.conn.recv()
        if isinstance(result, Exception):
            raise result
        return result

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)


# --------------------------------------------------------------------------------------
# Stream clients (asyncio, raw sockets)
# --------------------------------------------------------------------------------------


@dataclass(eq=False)
class StreamClient:
    login: Login
    server: Server
    received: list[tuple[int, int]] = field(default_factory=list)  # (event id, receive ns)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    status: int = 0
    error: str = ""
    bad: int = 0  # malformed messages (id line and data disagree, or not "change")
    ended: bool = False
    writer: asyncio.StreamWriter | None = None

    @property
    def path(self) -> str:
        return "/buying/events" if self.login.vendor_id is None else "/portal/events"

    async def run(self) -> None:
        try:
            await self._run()
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self.ended = True
            self.connected.set()  # never leave a waiter hanging

    async def _run(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        self.writer = writer
        writer.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.server.port}\r\n"
                f"Accept: text/event-stream\r\nCookie: sessionid={self.login.session}\r\n"
                "User-Agent: vp-live-bench\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status_line, *header_lines = head.split("\r\n")
        self.status = int(status_line.split()[1])
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (h.partition(":") for h in header_lines if h)
        }
        if self.status != 200:
            self.error = f"HTTP {self.status}"
            return
        if headers.get("transfer-encoding", "").lower() != "chunked":
            raise ValueError(f"expected a chunked response, got headers {headers}")
        buffer = b""
        while True:
            size_line = await reader.readline()
            if not size_line:
                return  # closed
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                return  # the server ended the stream
            chunk = await reader.readexactly(size + 2)
            now = time.monotonic_ns()
            buffer += chunk[:-2]
            while b"\n\n" in buffer:
                message, buffer = buffer.split(b"\n\n", 1)
                self._message(message, now)

    def _message(self, message: bytes, now: int) -> None:
        event_id: int | None = None
        kind, data = "message", ""
        for line in message.decode().split("\n"):
            if line.startswith(":"):
                if line == ": connected":
                    self.connected.set()
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "id":
                event_id = int(value)
            elif name == "event":
                kind = value
            elif name == "data":
                data += value
        if event_id is None:
            return  # the retry hint
        try:
            payload_id = json.loads(data)["id"]
        except (ValueError, KeyError, TypeError):
            payload_id = None
        if kind != "change" or payload_id != event_id:
            self.bad += 1
        self.received.append((event_id, now))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def lag_probe(samples: list[float], stop: asyncio.Event) -> None:
    """How late (ms) the event loop wakes up from a 10 ms sleep."""
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(LAG_INTERVAL)
        samples.append((time.monotonic() - before - LAG_INTERVAL) * 1000)


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------


@dataclass
class RoundResult:
    round_no: int
    committed: int
    measured: int
    rate: float
    expected: int
    received: int
    latencies: list[float]  # ms, commit -> received, measured events only
    from_sent: list[float]  # ms, COMMIT sent -> received (an upper bound)
    by_server: dict[str, list[float]]
    call_ms: list[float]
    commit_ms: list[float]  # COMMIT sent -> the service returned
    late_ms: list[float]
    loop_lag: list[float]
    drained_in: float
    machine_busy: float  # share of all CPUs busy (anything on the machine) in the round
    machine_stolen: float  # share of all CPUs stolen by the hypervisor


async def warm_up(servers: list[Server], plan: Plan) -> None:
    """One stream opened and closed on each server: imports and the hub, not measured."""
    vendor_login = next(login for login in plan.logins if login.vendor_id is not None)
    for srv in servers:
        client = StreamClient(vendor_login, srv)
        task = asyncio.create_task(client.run())
        await asyncio.wait_for(client.connected.wait(), 30)
        if client.status != 200:
            raise SystemExit(f"warm-up stream on {srv.name}: {client.error}")
        client.close()
        await asyncio.wait_for(task, 10)
    await wait_for_streams(servers, {srv.name: 0 for srv in servers})


async def wait_for_streams(servers: list[Server], wanted: dict[str, int]) -> None:
    deadline = time.monotonic() + 30
    while True:
        counts = {
            srv.name: (await asyncio.to_thread(live_health, srv.port))["open_streams"]
            for srv in servers
        }
        if counts == wanted:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"open streams per server: {counts}, expected {wanted}")
        await asyncio.sleep(0.1)


def expected_deliveries(commits: list[Commit], clients: list[StreamClient]) -> int:
    per_vendor: dict[int, int] = {}
    buyers = 0
    for client in clients:
        if client.login.vendor_id is None:
            buyers += 1
        else:
            per_vendor[client.login.vendor_id] = per_vendor.get(client.login.vendor_id, 0) + 1
    return sum(buyers + (0 if internal else per_vendor.get(vendor, 0))
               for _, vendor, internal, *_ in commits)  # fmt: skip


async def run_round(
    round_no: int,
    args: argparse.Namespace,
    plan: Plan,
    clients: list[StreamClient],
    committer: Committer,
) -> tuple[RoundResult, list[Commit]]:
    vendor_users: dict[int, list[int]] = {}
    for login in plan.logins:
        if login.vendor_id is not None:
            vendor_users.setdefault(login.vendor_id, []).append(login.user_id)
    job = {
        "round_no": round_no,
        "orders": plan.orders,
        "vendor_users": vendor_users,
        "buyer_ids": plan.buyer_ids,
        "rate": args.rate,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "internal_share": args.internal_share,
        "seed": args.seed,
    }
    marks = [len(client.received) for client in clients]
    lag: list[float] = []
    stop = asyncio.Event()
    probe = asyncio.create_task(lag_probe(lag, stop))
    started = time.monotonic()
    cpu_start = machine_cpu()
    commits, late_ms = await asyncio.get_running_loop().run_in_executor(None, committer.run, job)
    elapsed = time.monotonic() - started
    busy, stolen, total = (b - a for a, b in zip(cpu_start, machine_cpu(), strict=True))
    # Let the last deliveries arrive (and any stray extra ones).
    expected = expected_deliveries(commits, clients)
    drain_start = time.monotonic()
    while time.monotonic() - drain_start < args.drain:
        got = sum(len(c.received) - m for c, m in zip(clients, marks, strict=True))
        if got >= expected:
            break
        await asyncio.sleep(0.01)
    drained_in = time.monotonic() - drain_start
    await asyncio.sleep(0.3)
    stop.set()
    await probe

    committed_at = {c[0]: c[7] for c in commits if not c[4]}
    sent_at = {c[0]: c[6] for c in commits if not c[4]}
    from_sent: list[float] = []
    latencies: list[float] = []
    by_server: dict[str, list[float]] = {}
    received = 0
    for client, mark in zip(clients, marks, strict=True):
        new = client.received[mark:]
        received += len(new)
        mine = by_server.setdefault(client.server.name, [])
        for event_id, at in new:
            if event_id in committed_at:
                ms = (at - committed_at[event_id]) / 1e6
                latencies.append(ms)
                mine.append(ms)
                from_sent.append((at - sent_at[event_id]) / 1e6)
    measured = [c for c in commits if not c[4]]
    duration = (measured[-1][7] - measured[0][5]) / 1e9 if len(measured) > 1 else elapsed
    return (
        RoundResult(
            round_no=round_no,
            committed=len(commits),
            measured=len(measured),
            rate=(len(measured) - 1) / duration if duration > 0 else float("nan"),
            expected=expected,
            received=received,
            latencies=latencies,
            from_sent=from_sent,
            by_server=by_server,
            call_ms=[(c[7] - c[5]) / 1e6 for c in measured],
            commit_ms=[(c[7] - c[6]) / 1e6 for c in measured],
            late_ms=late_ms,
            loop_lag=lag,
            drained_in=drained_in,
            machine_busy=busy / max(1, total),
            machine_stolen=stolen / max(1, total),
        ),
        commits,
    )


def check_correctness(clients: list[StreamClient], after_id: int) -> dict[str, int]:
    """Compare what each stream received with the events in the database after `after_id`."""
    from django_scopes import scopes_disabled

    from vendorportal.events.models import Event

    with scopes_disabled():
        events = list(
            Event.objects.filter(id__gt=after_id)
            .order_by("id")
            .values_list("id", "vendor_id", "internal")
        )
    counts = {
        "events": len(events),
        "expected": 0,
        "received": 0,
        "foreign": 0,
        "missing": 0,
        "duplicates": 0,
        "out_of_order": 0,
        "malformed": 0,
        "streams_with_errors": 0,
    }
    for client in clients:
        vendor = client.login.vendor_id
        wanted = [
            eid for eid, v, internal in events if vendor is None or (v == vendor and not internal)
        ]
        ids = [eid for eid, _ in client.received]
        counts["expected"] += len(wanted)
        counts["received"] += len(ids)
        wanted_set, got_set = set(wanted), set(ids)
        counts["foreign"] += sum(1 for eid in ids if eid not in wanted_set)
        counts["missing"] += len(wanted_set - got_set)
        counts["duplicates"] += len(ids) - len(got_set)
        counts["out_of_order"] += sum(1 for a, b in itertools.pairwise(ids) if b <= a)
        counts["malformed"] += client.bad
        counts["streams_with_errors"] += bool(client.error) or client.ended
    return counts


def latest_event_id() -> int:
    from django_scopes import scopes_disabled

    from vendorportal.events.models import Event

    with scopes_disabled():
        return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


async def bench(
    args: argparse.Namespace, servers: list[Server], plan: Plan, committer: Any
) -> bool:
    """Open every stream, then measure. False (and a report of why) if some streams could
    not open."""
    url = os.environ["DATABASE_URL"]
    await warm_up(servers, plan)
    await asyncio.sleep(0.5)
    rss_before = {srv.name: rss_kib(srv.pid) for srv in servers}
    threads_before = {srv.name: threads(srv.pid) for srv in servers}
    backends_before = await asyncio.to_thread(pg_backends, url)

    # Logins (grouped by vendor, buyers last) alternate between the servers: every vendor
    # with 2+ logins has streams on both, and the totals differ by at most one.
    clients = [
        StreamClient(login, servers[n % len(servers)]) for n, login in enumerate(plan.logins)
    ]
    wanted = {srv.name: sum(c.server is srv for c in clients) for srv in servers}

    opened = time.monotonic()
    limit = asyncio.Semaphore(args.connect_concurrency or len(clients))

    async def start(client: StreamClient) -> asyncio.Task[None]:
        async with limit:
            task = asyncio.create_task(client.run())
            await asyncio.wait_for(client.connected.wait(), 60)
            return task

    tasks = await asyncio.gather(*(start(client) for client in clients))
    open_seconds = time.monotonic() - opened
    failed = [c for c in clients if c.status != 200 or c.ended]
    if failed:
        health = {srv.name: await asyncio.to_thread(live_health, srv.port) for srv in servers}
        backends = await asyncio.to_thread(pg_backends, url)
        statuses: dict[str, int] = {}
        for client in failed:
            key = client.error or "ended"
            statuses[key] = statuses.get(key, 0) + 1
        print(
            f"streams: only {len(clients) - len(failed)} of {len(clients)} opened within "
            f"{open_seconds:.1f} s; the others got "
            + ", ".join(f"{n} x {what}" for what, n in sorted(statuses.items()))
        )
        for srv in servers:
            text = srv.log.read_text(errors="replace")
            causes = re.findall(r"^[\w.]+(?:Error|Exception|Timeout)[^\n]*$", text, re.M)
            common = max(set(causes), key=causes.count) if causes else "(no exception logged)"
            app = f"vp-bench-{srv.name}"
            print(
                f"  {srv.name}: open_streams {health[srv.name]['open_streams']} of "
                f"{wanted[srv.name]} sent to it; PostgreSQL connections "
                f"{backends_before.get(app, 0)} -> {backends.get(app, 0)}; threads "
                f"{threads_before[srv.name]} -> {threads(srv.pid)}; log: {len(causes)} x "
                f"{common[:160]}"
            )
        for client in clients:
            client.close()
        await asyncio.wait(tasks, timeout=10)
        return False
    await wait_for_streams(servers, wanted)
    await asyncio.sleep(1.0)
    rss_open = {srv.name: rss_kib(srv.pid) for srv in servers}
    threads_open = {srv.name: threads(srv.pid) for srv in servers}
    backends_open = await asyncio.to_thread(pg_backends, url)
    health_before = {srv.name: await asyncio.to_thread(live_health, srv.port) for srv in servers}
    baseline = await asyncio.to_thread(latest_event_id)
    cpu_before = {srv.name: cpu_seconds(srv.pid) for srv in servers}

    print(
        f"streams: {len(clients)} open ("
        + ", ".join(f"{srv.name} {wanted[srv.name]}" for srv in servers)
        + f") in {open_seconds:.1f} s; committer = {args.committer}, {args.rate:g} comments/s, "
        f"{args.rounds} round(s) x {args.seconds:g} s (+{args.warmup:g} s warm-up each), "
        f"{args.internal_share:.0%} internal",
        flush=True,
    )
    results: list[RoundResult] = []
    all_commits: list[Commit] = []
    load_started = time.monotonic()
    for round_no in range(1, args.rounds + 1):
        result, commits = await run_round(round_no, args, plan, clients, committer)
        results.append(result)
        all_commits += commits
        print_round(result, [srv.name for srv in servers])
    load_seconds = time.monotonic() - load_started
    cpu_after = {srv.name: cpu_seconds(srv.pid) for srv in servers}
    rss_after = {srv.name: rss_kib(srv.pid) for srv in servers}
    health_after = {srv.name: await asyncio.to_thread(live_health, srv.port) for srv in servers}
    counts = await asyncio.to_thread(check_correctness, clients, baseline)

    for client in clients:
        client.close()
    await asyncio.wait(tasks, timeout=10)

    print_summary(
        args,
        servers,
        results,
        all_commits,
        counts,
        {
            "before": rss_before,
            "open": rss_open,
            "after": rss_after,
            "streams": wanted,
            "health_before": health_before,
            "health_after": health_after,
            "cpu": {k: cpu_after[k] - cpu_before[k] for k in cpu_after},
            "load_seconds": load_seconds,
            "threads": (threads_before, threads_open),
            "backends": (backends_before, backends_open),
        },
    )
    return True


# --------------------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------------------


def fmt_ms(values: list[float]) -> str:
    if not values:
        return "     -      -      -      -"
    return " ".join(f"{percentile(values, p):6.1f}" for p in (50, 90, 99)) + (
        f" {max(values):6.1f}"
    )


HEADER = (
    "  round  events   /s  deliveries exp/recv   p50    p90    p99    max ms"
    "   loop lag p99/max ms   call p50 ms   committer late p99 ms   CPUs busy/stolen"
)


def print_round(r: RoundResult, server_names: list[str]) -> None:
    if r.round_no == 1:
        print(HEADER)
    print(
        f"  {r.round_no:>5} {r.measured:>7} {r.rate:>4.0f}  {r.expected:>9}/{r.received:<9}"
        f"  {fmt_ms(r.latencies)}   {percentile(r.loop_lag, 99):8.1f}/{max(r.loop_lag):<8.1f}"
        f"   {statistics.median(r.call_ms) if r.call_ms else float('nan'):8.1f}"
        f"      {percentile(r.late_ms, 99):8.1f}        {r.machine_busy:4.0%}/"
        f"{r.machine_stolen:.0%}",
        flush=True,
    )
    if percentile(r.late_ms, 99) > 20 or percentile(r.loop_lag, 99) > 10:
        print(
            "        (noisy: the committer or the clients' loop ran late; other work on the "
            "machine competes for its CPUs)"
        )
    for name in server_names:
        print(f"        {name}: p50/p90/p99/max {fmt_ms(r.by_server.get(name, []))}")


def print_summary(
    args: argparse.Namespace,
    servers: list[Server],
    results: list[RoundResult],
    commits: list[Commit],
    counts: dict[str, int],
    extra: dict[str, Any],
) -> None:
    def med(key: Any) -> float:
        return statistics.median(key(r) for r in results)

    pooled = [ms for r in results for ms in r.latencies]
    lag = [x for r in results for x in r.loop_lag]
    p50, p90, p99, top = (med(lambda r, p=p: percentile(r.latencies, p)) for p in (50, 90, 99, 100))
    print(
        f"\n  median of {len(results)} round(s): p50 {p50:.1f} / p90 {p90:.1f} / p99 {p99:.1f}"
        f" / max {top:.1f} ms   (pooled over {len(pooled)} timed deliveries: p99 "
        f"{percentile(pooled, 99):.1f} ms, min {min(pooled or [0]):.2f} ms)"
    )
    sent = [ms for r in results for ms in r.from_sent]
    commit_ms = [ms for r in results for ms in r.commit_ms]
    negative = sum(ms < 0 for ms in pooled)
    print(
        f"  from when COMMIT was sent instead (an upper bound): p50 {percentile(sent, 50):.1f}"
        f" / p99 {percentile(sent, 99):.1f} / max {max(sent or [0]):.1f} ms; COMMIT sent -> "
        f"service returned: p50 {percentile(commit_ms, 50):.1f} / p99 "
        f"{percentile(commit_ms, 99):.1f} ms; {negative} deliveries "
        f"({negative / max(1, len(pooled)):.1%}) arrived before the service returned"
    )
    print(
        f"  client loop lag, all rounds: p50 {percentile(lag, 50):.2f} / p99 "
        f"{percentile(lag, 99):.2f} / max {max(lag or [0]):.2f} ms (how late a "
        f"{LAG_INTERVAL * 1000:.0f} ms sleep wakes up)"
    )
    print(
        f"  correctness: {counts['events']} events committed while streams were open; "
        f"deliveries expected {counts['expected']}, received {counts['received']}; "
        f"foreign {counts['foreign']}, missing {counts['missing']}, "
        f"duplicates {counts['duplicates']}, out of order {counts['out_of_order']}, "
        f"malformed {counts['malformed']}, streams ended/failed {counts['streams_with_errors']}"
    )
    if counts["events"] != len(commits):
        print(f"  SUSPICIOUS: the committer recorded {len(commits)} events, the database has "
              f"{counts['events']}")  # fmt: skip
    print(
        "\n  server  pid      streams  VmRSS KiB: before  all open  after load  KiB/stream"
        "  threads    PG conns  CPU s in load  notices in load"
    )
    threads_before, threads_open = extra["threads"]
    backends_before, backends_open = extra["backends"]
    for srv in servers:
        name = srv.name
        before, opened, after = extra["before"][name], extra["open"][name], extra["after"][name]
        streams = extra["streams"][name]
        per_stream = (opened - before) / streams if streams else float("nan")
        notices = (
            extra["health_after"][name]["notices_received"]
            - extra["health_before"][name]["notices_received"]
        )
        app = f"vp-bench-{name}"
        conns = f"{backends_before.get(app, 0)}->{backends_open.get(app, 0)}"
        print(
            f"  {name:<6}  {srv.pid:<7}  {streams:>7}  {before:>16}  {opened:>8}  {after:>10}"
            f"  {per_stream:>10.1f}  {threads_before[name]:>3}->{threads_open[name]:<4}"
            f"  {conns:>8}  {extra['cpu'][name]:>6.1f} of {extra['load_seconds']:<4.0f}"
            f"  {notices:>6} of {len(commits)}"
        )
    print(
        "  (before: after a warm-up stream was opened and closed; threads and PG conns: "
        "before -> all streams open; open_streams per /health/live: "
        + ", ".join(
            f"{srv.name} {extra['health_before'][srv.name]['open_streams']}" for srv in servers
        )
        + ")"
    )
    verdict = "meets" if p99 <= GOAL_P99_MS else "MISSES"
    ok = all(counts[k] == 0 for k in ("foreign", "missing", "duplicates", "out_of_order"))
    print(
        f"\n  p99 (commit -> received, median of rounds) {p99:.1f} ms -> {verdict} the "
        f"goal of <= {GOAL_P99_MS:.0f} ms; correctness {'OK' if ok else 'FAILED'}"
    )
    sys.stdout.flush()


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vendors", type=int, default=20, help="vendors (default: 20)")
    parser.add_argument(
        "--users-per-vendor",
        type=int,
        default=10,
        help="vendor-user logins, one stream each, per vendor (default: 10)",
    )
    parser.add_argument(
        "--buyers", type=int, default=2, help="buyer logins, one stream each (default: 2)"
    )
    parser.add_argument("--servers", type=int, default=2, help="server processes (default: 2)")
    parser.add_argument(
        "--rate", type=float, default=30.0, help="comments committed per second (default: 30)"
    )
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="timed seconds per round (default: 20)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="untimed seconds before each round (default: 2)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default: 3)")
    parser.add_argument(
        "--internal-share",
        type=float,
        default=0.1,
        help="share of internal buyer comments, which vendor streams must not get (default: 0.1)",
    )
    parser.add_argument(
        "--committer",
        choices=["process", "thread"],
        default="process",
        help="run the committing service calls in a separate process (default) or in a "
        "thread of the clients' process (shares their GIL)",
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=5.0,
        help="seconds to wait for the last deliveries after a round (default: 5)",
    )
    parser.add_argument(
        "--connect-concurrency",
        type=int,
        default=0,
        help="streams being opened at once (default: 0 = all at once)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG_URL,
        help=f"PostgreSQL database to create, use and drop (default: {DEFAULT_PG_URL})",
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the servers' logs (path printed)"
    )
    args = parser.parse_args()
    if min(args.vendors, args.users_per_vendor, args.servers, args.rounds) < 1:
        parser.error("--vendors, --users-per-vendor, --servers and --rounds must be >= 1")
    if args.rate <= 0 or args.seconds <= 0 or args.warmup < 0 or args.buyers < 0:
        parser.error("--rate and --seconds must be positive, --warmup and --buyers >= 0")
    if not 0 <= args.internal_share <= 1:
        parser.error("--internal-share must be between 0 and 1")

    import uvicorn

    http_impl = "httptools" if importlib.util.find_spec("httptools") else "h11"
    tmp = Path(tempfile.mkdtemp(prefix="vp-live-bench-"))
    signal.signal(signal.SIGTERM, _interrupt)
    committer: Committer | None = None
    try:
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(postgres_database(args.pg_url))
            env = django_env(url, tmp / "var", secrets.token_urlsafe(40))
            os.environ.update(env)
            print(
                f"Vendor Portal live-streams bench: {os.cpu_count()} CPUs "
                f"({platform.processor() or platform.machine()}), Python "
                f"{sys.version.split()[0]}, {postgres_version(url)}, uvicorn {uvicorn.__version__}"
                f" ({http_impl}, asyncio loop), {args.servers} x `vendorportal serve` "
                f"(1 worker each), DEBUG=false; load average before: "
                f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
                flush=True,
            )
            import django

            django.setup()
            from django.core.management import call_command

            started = time.perf_counter()
            call_command("migrate", interactive=False, verbosity=0)
            migrated = time.perf_counter() - started
            started = time.perf_counter()
            call_command("collectstatic", interactive=False, verbosity=0)
            collected = time.perf_counter() - started
            started = time.perf_counter()
            plan = make_data(args.vendors, args.users_per_vendor, args.buyers)
            made = time.perf_counter() - started
            print(
                f"setup: migrated in {migrated:.1f} s, collectstatic {collected:.1f} s; "
                f"{args.vendors} vendors x {args.users_per_vendor} vendor-user logins + "
                f"{args.buyers} buyers, {len(plan.orders)} issued orders, {len(plan.logins)} "
                f"sessions in {made:.1f} s",
                flush=True,
            )
            committer = Committer(args.committer, env)
            with contextlib.ExitStack() as servers_stack:
                servers = [
                    servers_stack.enter_context(server(f"srv{n + 1}", env, tmp / f"srv{n + 1}.log"))
                    for n in range(args.servers)
                ]
                measured = asyncio.run(bench(args, servers, plan, committer))
                for srv in servers:
                    problems = log_problems(srv.log)
                    if problems and measured:
                        print(
                            f"  {srv.name} log has {len(problems)} warning/error line(s), "
                            f"e.g.: {problems[0][:200]}"
                        )
                if args.keep_logs:
                    kept = Path(tempfile.mkdtemp(prefix="vp-live-bench-logs-"))
                    for srv in servers:
                        shutil.copy(srv.log, kept / srv.log.name)
                    print(f"  server logs kept in {kept}")
                if not measured:
                    tails = "\n".join(
                        f"--- {srv.name} log (end) ---\n"
                        f"{srv.log.read_text(errors='replace')[-3000:]}"
                        for srv in servers
                    )
                    raise SystemExit("Not every stream could open; nothing measured.\n" + tails)
            committer.stop()
            committer = None
            from django.db import connections

            connections.close_all()
    except KeyboardInterrupt:
        print("\nInterrupted; cleaning up.", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        if committer is not None:
            committer.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
