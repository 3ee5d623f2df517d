"""ERP import throughput: the same generated master data and orders loaded through the sync
API's batch endpoints (the real ASGI server) and through `vendorportal import`, side by side,
on PostgreSQL; then both loaded again, where every record must answer "unchanged".

Data (deterministic, `--seed`): V vendors (default 50), I items (default 2,000) and orders
of `--lines-per-order` lines (default 10) totalling `--lines` order lines (default 100,000,
i.e. 10,000 orders), each line with 1 or 2 deliveries; every order is issued (so each gets
revision 1). External ids and numbers are unique. Quantities and prices are sent as strings.

Databases: a template database is created and migrated once, and an administrator buyer
(`vendorportal add-buyer --admin`) added to it; the API database and the import database
are fresh copies of it (CREATE DATABASE ... TEMPLATE), so both paths start from the same
empty, migrated state. All of them are dropped at the end.

1. API: `vendorportal serve` (uvicorn, 1 worker, DEBUG=false after collectstatic,
   API_RATE_LIMIT raised so the throttle never answers 429) with an integration token made
   by `vendorportal token create --integration`. One client in this process (stdlib
   http.client, one keep-alive connection, sequential requests) POSTs /api/v1/sync/
   vendors/batch, items/batch (1,000 records per request, the endpoints' limit) and
   orders/batch (`--batch-size` orders per request, default 100 = 1,000 lines). No
   Idempotency-Key is sent, so each record is its own transaction (as in the import).
   Request bodies are serialised before the clock starts; the wall time is from the
   first request sent to the last answer read. Latency = one request, sent to read.
2. Import: the same records written to one JSON file (docs/import.md) and
   `vendorportal import FILE --no-progress` run as a subprocess against the import
   database; the wall time is the whole process (start-up and reading the file included;
   the command's own figure, which excludes them, is printed too).
3. Again, on the loaded databases: the same requests and the same file. Every record must
   answer "unchanged"; the purchasing_revision and events_event rows are counted before
   and after, and the difference printed.
4. Checks: vendors, items, issued orders, lines and deliveries in each database against
   the generated counts, a digest of every delivery row (order external id, line number,
   line quantity and price, delivery number, quantity and due date) against the generated
   data's, and the errors (refused records, non-200 answers).

Statistics: a PostgreSQL server with autovacuum off (as the one this bench was written on)
never analyzes the new tables, so every query of the load is planned as if the database were
empty; some plans then scan whole tables and each record costs more the more is loaded
(sync.py's `order.deliveries.all()`, with Delivery's default ordering joining line and order,
became a hash join over all lines: ~9 ms at 30,000 lines, 0.9 ms after ANALYZE). Where
autovacuum is off, the bench therefore runs ANALYZE on the database being loaded every
`--analyze-every` seconds (default 60, autovacuum's default naptime) and once before each
second load, as autovacuum would; `--analyze-every 0` shows the product without it.

CPU figures: the server's (or the import process's) own CPU time, and how busy the whole
machine was (/proc/stat; PostgreSQL's backends are most of the rest).

`--profile`: afterwards, `vendorportal import` runs in-process under cProfile on a further
fresh database with the first `--profile-lines` lines' orders (vendors and items loaded
first, unprofiled), once for the first load and once for the unchanged re-import: the top
functions, and the SQL statements per order grouped by their text.

Duration: each first load runs at 150-190 order lines/s on a 2-CPU machine, so the default
(100,000 lines) takes 22-25 minutes in all; `--lines 20000` about 5, `--lines 5000` about
1.5. `--skip-api` or `--skip-import` halves it.

This prints figures; it is not a pass/fail test (it exits 1 if a check fails).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import http.client
import io
import json
import math
import os
import platform
import pstats
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/vp_import_bench"
ADMIN_EMAIL = "erp-admin@bench.example"
MAX_BATCH = 1000  # the sync endpoints' limit (vendorportal/api/sync.py)
PROFILE_CHILD = "_profile_import"


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


@dataclass
class Data:
    vendors: list[dict[str, Any]]
    items: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    lines: int
    deliveries: int
    digest: str  # md5 of the delivery rows, as `database_digest` computes it

    @property
    def records(self) -> int:
        return len(self.vendors) + len(self.items) + len(self.orders)

    def as_file(self, orders: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {
            "vendors": self.vendors,
            "items": self.items,
            "orders": self.orders if orders is None else orders,
        }


def _money(rng: random.Random, low: int, high: int) -> str:
    """A price with 4 decimals between low/10000 and high/10000, as a string."""
    n = rng.randint(low, high)
    return f"{n // 10000}.{n % 10000:04d}"


def generate(vendors: int, items: int, lines: int, per_order: int, seed: int) -> Data:
    rng = random.Random(seed)
    base = date(2026, 1, 5)
    materials = ["A2 stainless", "zinc plated", "brass", "nylon", "aluminium 6061", "PTFE"]
    vendor_records = [
        {
            "external_id": f"BENCH-V-{v:04d}",
            "code": f"BV{v:04d}",
            "name": f"Bench Vendor {v:04d} Ltd",
            "contact_name": f"Contact {v}",
            "contact_email": f"orders@v{v:04d}.bench.example",
            "phone": f"+44 20 7946 {v:04d}",
            "address": f"{v} Bench Street\nTestville",
        }
        for v in range(1, vendors + 1)
    ]
    item_records = [
        {
            "external_id": f"BENCH-M-{i:06d}",
            "part_number": f"BP-{i:06d}",
            "description": f"Bench part {i}, {rng.choice(materials)}",
            "unit_of_measure": rng.choice(["EA", "EA", "EA", "KG", "M", "BOX"]),
            "standard_cost": _money(rng, 100, 5_000_000),
        }
        for i in range(1, items + 1)
    ]
    orders: list[dict[str, Any]] = []
    rows: list[tuple[str, int, int, str]] = []  # sortable delivery rows for the digest
    deliveries = 0
    count = math.ceil(lines / per_order)
    for o in range(1, count + 1):
        size = per_order if o < count else lines - per_order * (count - 1)
        external_id = f"BENCH-PO-{o:07d}"
        picks = rng.sample(range(1, items + 1), size) if items >= size else None
        order_lines = []
        for n in range(size):
            item = picks[n] if picks else rng.randint(1, items)
            quantity = rng.randint(1, 5000)
            price = _money(rng, 50, 2_000_000)
            first_due = base + timedelta(days=rng.randint(14, 180))
            if quantity >= 2 and rng.random() < 0.5:
                split = rng.randint(1, quantity - 1)
                schedule = [
                    (split, first_due),
                    (quantity - split, first_due + timedelta(days=rng.randint(7, 60))),
                ]
            else:
                schedule = [(quantity, first_due)]
            line_number = 10 * (n + 1)
            line: dict[str, Any] = {
                "line_number": line_number,
                "item_external_id": f"BENCH-M-{item:06d}",
                "quantity": str(quantity),
                "unit_price": price,
                "deliveries": [
                    {"delivery_number": k, "quantity": str(q), "due_date": due.isoformat()}
                    for k, (q, due) in enumerate(schedule, start=1)
                ],
            }
            if rng.random() < 0.3:
                line["vendor_part_number"] = f"VP-{item:06d}"
            order_lines.append(line)
            for k, (q, due) in enumerate(schedule, start=1):
                rows.append(
                    (
                        external_id,
                        line_number,
                        k,
                        f"{external_id}|{line_number}|{quantity}.0000|{price}|{k}|{q}.0000|"
                        f"{due.isoformat()}",
                    )
                )
            deliveries += len(schedule)
        orders.append(
            {
                "external_id": external_id,
                "number": f"BPO-{o:07d}",
                "vendor_external_id": f"BENCH-V-{rng.randint(1, vendors):04d}",
                "kind": "standard",
                "status": "issued",
                "order_date": (base + timedelta(days=rng.randint(0, 60))).isoformat(),
                "currency": rng.choice(["USD", "USD", "USD", "EUR"]),
                "payment_terms": rng.choice(["Net 30", "Net 45", "Net 60"]),
                "incoterms": rng.choice(["DAP", "FCA", "EXW"]),
                "notes_to_vendor": f"Quote BPO-{o:07d} on every box.",
                "lines": order_lines,
            }
        )
    rows.sort()
    digest = hashlib.md5("\n".join(r[3] for r in rows).encode(), usedforsecurity=False)
    return Data(vendor_records, item_records, orders, lines, deliveries, digest.hexdigest())


# --------------------------------------------------------------------------------------
# Processes and databases
# --------------------------------------------------------------------------------------


def django_env(database_url: str, var_dir: Path, secret_key: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="vendorportal.settings",
        DATABASE_URL=database_url,
        DEBUG="false",
        # Plain http on localhost: production terminates TLS in front (no https redirect).
        VENDORPORTAL_HTTPS="false",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS="127.0.0.1",
        VENDORPORTAL_VAR_DIR=str(var_dir),
        LOG_LEVEL="WARNING",
        API_RATE_LIMIT="100000000/min",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
    )
    return env


def run(args: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(
        [PYTHON, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"{what} failed (exit {result.returncode})")
    return result.stdout


def _pg(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def database_url(base: str, suffix: str) -> str:
    parts = urllib.parse.urlsplit(base)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"Refusing unusual database name {name!r}.")
    return parts._replace(path=f"/{name}_{suffix}").geturl()


def _admin_execute(url: str, sql: str) -> None:
    import psycopg

    admin = _pg(urllib.parse.urlsplit(url)._replace(path="/postgres").geturl())
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql)


@contextlib.contextmanager
def postgres_database(url: str, settings: list[str], template: str | None = None) -> Iterator[str]:
    """A fresh database at `url` (empty, or a copy of the database `template`) with
    `settings` ("name=value", ALTER DATABASE ... SET), dropped afterwards."""
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    _admin_execute(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _admin_execute(url, f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    try:
        for setting in settings:
            key, _, value = setting.partition("=")
            if not re.fullmatch(r"[a-z_]+", key) or not re.fullmatch(r"[\w.]+", value):
                raise SystemExit(f"--pg-set {setting!r}: expected name=value")
            _admin_execute(url, f"ALTER DATABASE {name} SET {key} = '{value}'")
        yield url
    finally:
        _admin_execute(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def query(url: str, sql: str, *, setup: str = "") -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(_pg(url)) as conn:
        if setup:
            conn.execute(setup)
        return list(conn.execute(sql).fetchall())


def postgres_about(url: str) -> str:
    (row,) = query(
        url,
        "SELECT current_setting('server_version'), current_setting('synchronous_commit'), "
        "current_setting('fsync'), current_setting('shared_buffers'), "
        "current_setting('autovacuum'), current_setting('jit')",
    )
    return (
        f"PostgreSQL {row[0].split()[0]} (synchronous_commit={row[1]}, fsync={row[2]}, "
        f"shared_buffers={row[3]}, autovacuum={row[4]}, jit={row[5]})"
    )


def autovacuum_on(url: str) -> bool:
    (row,) = query(url, "SELECT current_setting('autovacuum')")
    return row[0] == "on"


class Analyzer:
    """ANALYZE of one bench database every `every` seconds while a load runs (in a thread),
    and on demand: what autovacuum's autoanalyze does on a server where it is on (its
    default naptime is 1 min). Without it, a server with autovacuum off plans every query
    of the load with the statistics of the empty database."""

    def __init__(self, url: str, every: float) -> None:
        self.url, self.every = url, every
        self.runs = 0
        self.seconds = 0.0

    def analyze(self) -> None:
        import psycopg

        started = time.perf_counter()
        with psycopg.connect(_pg(self.url), autocommit=True) as conn:
            conn.execute("ANALYZE")
        self.seconds += time.perf_counter() - started
        self.runs += 1

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        if self.every <= 0:
            yield
            return
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(self.every):
                self.analyze()

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


COUNTS_SQL = """
SELECT (SELECT count(*) FROM purchasing_vendor),
       (SELECT count(*) FROM purchasing_item),
       (SELECT count(*) FROM purchasing_purchaseorder),
       (SELECT count(*) FROM purchasing_purchaseorder WHERE status = 'issued'),
       (SELECT count(*) FROM purchasing_line),
       (SELECT count(*) FROM purchasing_delivery),
       (SELECT count(*) FROM purchasing_revision),
       (SELECT count(*) FROM events_event)
"""
COUNT_NAMES = ("vendors", "items", "orders", "issued", "lines", "deliveries", "revisions", "events")

DIGEST_SQL = """
SELECT md5(string_agg(
         o.external_id || '|' || l.line_number || '|' || l.quantity || '|' || l.unit_price
         || '|' || d.delivery_number || '|' || d.quantity || '|' || d.due_date,
         E'\\n' ORDER BY o.external_id COLLATE "C", l.line_number, d.delivery_number))
FROM purchasing_delivery d
JOIN purchasing_line l ON l.id = d.line_id
JOIN purchasing_purchaseorder o ON o.id = d.order_id
"""


def counts(url: str) -> dict[str, int]:
    (row,) = query(url, COUNTS_SQL)
    return dict(zip(COUNT_NAMES, (int(v) for v in row), strict=True))


def database_digest(url: str) -> str:
    (row,) = query(url, DIGEST_SQL, setup="SET DateStyle = 'ISO, YMD'")
    return str(row[0] or "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[int, int, int]:
    """(busy, stolen, total) CPU ticks of the whole machine so far (/proc/stat). Stolen:
    the hypervisor ran something else while this machine wanted to run (counted in busy)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, values[7], sum(values)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def server(env: dict[str, str], log: Path) -> Iterator[tuple[int, int]]:
    """`vendorportal serve` (1 worker) on a free port: (port, pid); stopped by its pid."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [PYTHON, "-m", "vendorportal", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our Ctrl-C handling stops it, not a second SIGINT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(
                    f"The server exited (code {process.returncode}):\n{log.read_text()}"
                )
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                try:
                    conn.request("GET", "/health/live")
                    if conn.getresponse().status == 200:
                        break
                finally:
                    conn.close()
            if time.monotonic() > deadline:
                raise SystemExit(f"The server did not answer within 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield port, process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One load of the whole data set by one path."""

    path: str  # "API" or "import"
    label: str
    again: bool  # the second load, onto the loaded database
    seconds: float
    records: int
    lines: int
    counts: Counter[str] = field(default_factory=Counter)  # created/updated/unchanged/errors
    requests: int = 0
    latencies: list[float] = field(default_factory=list)  # order batches only
    order_seconds: float | None = None  # the orders' part of the wall time
    command_seconds: float | None = None  # the import command's own figure
    cpu: float | None = None  # the server's / the import process's CPU seconds
    machine_busy: float | None = None  # share of all CPUs busy meanwhile
    machine_stolen: float | None = None  # share of all CPUs stolen by the hypervisor
    bytes_sent: int = 0
    analyses: int = 0  # ANALYZE runs during the load (`Analyzer`)
    problems: list[str] = field(default_factory=list)
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def batches(records: list[dict[str, Any]], size: int) -> list[bytes]:
    return [
        json.dumps({"records": records[i : i + size]}, separators=(",", ":")).encode()
        for i in range(0, len(records), size)
    ]


def api_load(
    port: int,
    pid: int,
    token: str,
    data: Data,
    batch_size: int,
    analyzer: Analyzer,
    *,
    again: bool,
) -> Outcome:
    url = analyzer.url
    label = "API batch, again" if again else "API batch"
    plan = [
        (kind, body)
        for kind, records, size in (
            ("vendors", data.vendors, MAX_BATCH),
            ("items", data.items, MAX_BATCH),
            ("orders", data.orders, batch_size),
        )
        for body in batches(records, size)
    ]
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": "vp-import-bench",
    }
    result = Outcome("API", label, again, 0.0, data.records, data.lines, before=counts(url))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.connect()
    analyses = analyzer.runs
    cpu_before, machine_before = cpu_seconds(pid), machine_cpu()
    started = time.perf_counter()
    orders_started = None
    try:
        with analyzer.running():
            for kind, body in plan:
                if kind == "orders" and orders_started is None:
                    orders_started = time.perf_counter()
                t0 = time.perf_counter()
                conn.request("POST", f"/api/v1/sync/{kind}/batch", body=body, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                elapsed = time.perf_counter() - t0
                result.requests += 1
                result.bytes_sent += len(body)
                if kind == "orders":
                    result.latencies.append(elapsed)
                if response.status != 200:
                    result.counts["errors"] += len(json.loads(body)["records"])
                    result.problems.append(f"{kind}/batch: HTTP {response.status} {raw[:300]!r}")
                    continue
                answer = json.loads(raw)
                for key in ("created", "updated", "unchanged", "errors"):
                    result.counts[key] += answer[key]
                for record in answer["results"]:
                    if record["result"] == "error" and len(result.problems) < 5:
                        result.problems.append(
                            f"{kind} {record['external_id']}: {record['error']['message']}"
                        )
    finally:
        conn.close()
    ended = time.perf_counter()
    result.seconds = ended - started
    result.order_seconds = ended - orders_started if orders_started else None
    result.cpu = cpu_seconds(pid) - cpu_before
    busy, stolen, total = (b - a for a, b in zip(machine_before, machine_cpu(), strict=True))
    result.machine_busy = busy / total if total else None
    result.machine_stolen = stolen / total if total else None
    result.analyses = analyzer.runs - analyses
    result.after = counts(url)
    return result


SUMMARY_LINE = re.compile(
    r"^\s+(\w+)\s+(\d+) created\s+(\d+) updated\s+(\d+) unchanged\s+(\d+) refused", re.M
)


def import_load(
    env: dict[str, str], file: Path, data: Data, analyzer: Analyzer, *, again: bool
) -> Outcome:
    url = analyzer.url
    label = "import command, again" if again else "import command"
    result = Outcome("import", label, again, 0.0, data.records, data.lines, before=counts(url))
    analyses = analyzer.runs
    cpu_before, machine_before = children_cpu(), machine_cpu()
    started = time.perf_counter()
    with analyzer.running():
        process = subprocess.run(
            [PYTHON, "-m", "vendorportal", "import", str(file), "--no-progress"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    result.seconds = time.perf_counter() - started
    result.analyses = analyzer.runs - analyses
    result.cpu = children_cpu() - cpu_before
    busy, stolen, total = (b - a for a, b in zip(machine_before, machine_cpu(), strict=True))
    result.machine_busy = busy / total if total else None
    result.machine_stolen = stolen / total if total else None
    result.requests = 1
    result.bytes_sent = file.stat().st_size
    for _kind, created, updated, unchanged, refused in SUMMARY_LINE.findall(process.stdout):
        result.counts["created"] += int(created)
        result.counts["updated"] += int(updated)
        result.counts["unchanged"] += int(unchanged)
        result.counts["errors"] += int(refused)
    if match := re.search(r"Imported (\d+) record\(s\) in ([\d.]+) s", process.stdout):
        result.command_seconds = float(match.group(2))
    if process.returncode != 0:
        result.problems.append(f"exit status {process.returncode}")
        result.problems += [
            line.strip()
            for line in (process.stdout + process.stderr).splitlines()
            if "refused:" in line or "Error" in line
        ][:5]
    if sum(result.counts.values()) != data.records:
        result.problems.append(
            f"the summary accounts for {sum(result.counts.values())} of {data.records} records"
        )
    result.after = counts(url)
    return result


# --------------------------------------------------------------------------------------
# Profiling (in-process, in a child with the bench database's environment)
# --------------------------------------------------------------------------------------


def _shape(sql: str) -> str:
    """An SQL statement's text without its variable parts (IN lists, VALUES rows)."""
    shape = re.sub(r"\s+", " ", sql)
    shape = re.sub(r"IN \((%s, )+%s\)", "IN (...)", shape)
    shape = re.sub(r"VALUES \((.*?)\)(, \(.*\))?", "VALUES (...)", shape)
    shape = re.sub(r'"s\d+_x\d+"', '"s..._x..."', shape)  # savepoint ids
    return shape[:110]


def _profiled_import(file: Path, label: str, orders: int) -> None:
    """`vendorportal import FILE` in-process under cProfile, every SQL statement counted."""
    from django.core.management import call_command
    from django.db import connection

    statements: Counter[str] = Counter()
    spent: Counter[str] = Counter()

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = _shape(sql)
            statements[key] += 1
            spent[key] += time.perf_counter() - t0

    def commit() -> None:  # Django commits with the driver's commit(), not a statement
        t0 = time.perf_counter()
        try:
            product_commit()
        finally:
            statements["COMMIT (connection.commit)"] += 1
            spent["COMMIT (connection.commit)"] += time.perf_counter() - t0

    out = io.StringIO()
    profiler = cProfile.Profile()
    product_commit = connection._commit
    connection._commit = commit  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(count):
            started = time.perf_counter()
            profiler.enable()
            call_command("import", str(file), no_progress=True, stdout=out)
            profiler.disable()
            seconds = time.perf_counter() - started
    finally:
        del connection._commit
    total = sum(statements.values())
    sql_seconds = sum(spent.values())
    print(
        f"\n== cProfile, {label}: {orders} orders in {seconds:.2f} s under the profiler "
        f"({seconds / orders * 1000:.1f} ms/order); {total} SQL statements "
        f"({total / orders:.1f}/order), {sql_seconds:.2f} s inside cursor.execute "
        f"({sql_seconds / seconds:.0%}: SQL, round trips and commits)"
    )
    print(out.getvalue().rstrip())
    print(f"  {'statements/order':>16} {'ms/order':>9}  SQL (first 110 characters)")
    for shape, n in statements.most_common(25):
        print(f"  {n / orders:>16.2f} {spent[shape] / orders * 1000:>9.3f}  {shape}")
    for order_by, limit in (("cumulative", 45), ("tottime", 25)):
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats(order_by).print_stats(limit)
        print("\n".join(line for line in stream.getvalue().splitlines() if line.strip()))


def profile_child(argv: list[str]) -> None:
    """`import_sync.py _profile_import MASTER.json ORDERS.json ORDERS_COUNT`: import the
    master data, then the orders twice (first load, then unchanged), each profiled."""
    master, orders_file, orders = Path(argv[0]), Path(argv[1]), int(argv[2])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("import", str(master), no_progress=True, stdout=io.StringIO())
    _profiled_import(orders_file, "first load", orders)
    _profiled_import(orders_file, "re-import, all unchanged", orders)


def profile(args: argparse.Namespace, data: Data, env: dict[str, str], tmp: Path, tpl: str) -> None:
    lines = 0
    orders = []
    for order in data.orders:
        if lines >= args.profile_lines:
            break
        orders.append(order)
        lines += len(order["lines"])
    master = tmp / "profile-master.json"
    master.write_text(json.dumps({"vendors": data.vendors, "items": data.items}))
    orders_file = tmp / "profile-orders.json"
    orders_file.write_text(json.dumps({"orders": orders}))
    url = database_url(args.pg_url, "prof")
    with postgres_database(url, args.pg_set, template=tpl):
        print(
            f"\nProfile: `vendorportal import` in-process (call_command) on a fresh database, "
            f"{len(orders)} orders = {lines} lines (vendors and items imported first, "
            "unprofiled)",
            flush=True,
        )
        sys.stdout.write(
            run(
                [
                    str(Path(__file__).resolve()),
                    PROFILE_CHILD,
                    str(master),
                    str(orders_file),
                    str(len(orders)),
                ],
                {**env, "DATABASE_URL": url},
                "profiling",
            )
        )


# --------------------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------------------


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    import django

    return (
        f"{os.cpu_count()} CPUs ({model or platform.processor() or platform.machine()}){memory}, "
        f"{platform.system()} {platform.release()}, Python {sys.version.split()[0]}, "
        f"Django {django.get_version()}"
    )


def report(outcomes: list[Outcome], data: Data) -> None:
    print(
        f"\nResults ({data.lines:,} order lines = {len(data.orders):,} orders + "
        f"{len(data.vendors)} vendors + {len(data.items):,} items = {data.records:,} records):"
    )
    header = (
        f"  {'run':<28}{'wall s':>8}{'lines/s':>9}{'rec/s':>8}{'req':>6}{'p50 ms':>9}"
        f"{'p99 ms':>9}{'CPU s':>8}{'busy/stolen':>12}  {'created':>8}{'updated':>8}{'unchgd':>8}"
        f"{'errors':>7}{'+rev':>7}{'+events':>8}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for r in outcomes:
        p50 = f"{r.percentile(50) * 1000:.0f}" if r.latencies else "-"
        p99 = f"{r.percentile(99) * 1000:.0f}" if r.latencies else "-"
        busy = (
            f"{r.machine_busy:.0%}/{r.machine_stolen:.0%}"
            if r.machine_busy is not None and r.machine_stolen is not None
            else "-"
        )
        revisions = r.after["revisions"] - r.before["revisions"]
        events = r.after["events"] - r.before["events"]
        print(
            f"  {r.label:<28}{r.seconds:>8.1f}{r.lines_per_second:>9,.0f}"
            f"{r.records / r.seconds if r.seconds else 0:>8,.0f}{r.requests:>6}{p50:>9}{p99:>9}"
            f"{r.cpu if r.cpu is not None else float('nan'):>8.1f}{busy:>12}  "
            f"{r.counts['created']:>8}{r.counts['updated']:>8}{r.counts['unchanged']:>8}"
            f"{r.counts['errors']:>7}{revisions:>7}{events:>8}"
        )
    print(
        "  (wall = everything: vendors, items and orders; lines/s = order lines / wall; "
        "rec/s = records / wall;\n"
        "   p50/p99 = order batch requests; CPU s = the server's, or the import process's, "
        "own CPU time;\n"
        "   busy/stolen = share of the machine's CPUs busy meanwhile (PostgreSQL is most of "
        "the rest) / taken by the hypervisor;\n"
        "   +rev/+events = purchasing_revision/events_event rows added by the run)"
    )
    for r in outcomes:
        notes = []
        if r.path == "API" and r.order_seconds:
            orders = len(data.orders)
            notes.append(
                f"orders part {r.order_seconds:.1f} s = {data.lines / r.order_seconds:,.0f} "
                f"lines/s, {orders / r.order_seconds:,.1f} orders/s; "
                f"{r.bytes_sent / max(1, r.requests) / 1024:,.0f} KiB/request on average, "
                f"max latency {max(r.latencies) * 1000:,.0f} ms"
            )
        if r.path == "import" and r.command_seconds is not None:
            notes.append(
                f"the command's own figure {r.command_seconds:.1f} s = "
                f"{data.lines / r.command_seconds:,.0f} lines/s (without process start-up "
                f"and reading the {r.bytes_sent / 1024 / 1024:.1f} MiB file)"
            )
        if r.analyses:
            notes.append(f"{r.analyses} ANALYZE run(s) during the load")
        for note in notes:
            print(f"  {r.label}: {note}")
    print()
    for r in outcomes:
        for problem in r.problems:
            print(f"  PROBLEM {r.label}: {problem}")


def check(label: str, url: str, data: Data, outcomes: list[Outcome]) -> bool:
    got = counts(url)
    digest = database_digest(url)
    wanted = {
        "vendors": len(data.vendors),
        "items": len(data.items),
        "orders": len(data.orders),
        "issued": len(data.orders),
        "lines": data.lines,
        "deliveries": data.deliveries,
    }
    errors = sum(r.counts["errors"] + len(r.problems) for r in outcomes)
    firsts = [r for r in outcomes if not r.again]
    reruns = [r for r in outcomes if r.again]
    created_ok = all(r.counts["created"] == r.records for r in firsts)
    unchanged_ok = all(
        r.counts["unchanged"] == r.records
        and r.after["revisions"] == r.before["revisions"]
        and r.after["events"] == r.before["events"]
        for r in reruns
    )
    ok = all(got[k] == v for k, v in wanted.items()) and digest == data.digest and not errors
    ok = ok and unchanged_ok and created_ok
    print(
        f"  {label:<8} "
        + ", ".join(
            f"{k} {got[k]:,}" + ("" if got[k] == v else f" (generated {v:,}!)")
            for k, v in wanted.items()
        )
        + f"; revisions {got['revisions']:,}, events {got['events']:,}; "
        f"delivery digest {'matches' if digest == data.digest else 'DIFFERS'}; "
        f"{errors} errors"
    )
    for r in firsts:
        print(f"  {label:<8} {r.label}: {r.counts['created']:,} of {r.records:,} records created")
    for r in reruns:
        new_revisions = r.after["revisions"] - r.before["revisions"]
        new_events = r.after["events"] - r.before["events"]
        print(
            f"  {label:<8} {r.label}: {r.counts['unchanged']:,} of {r.records:,} records "
            f"unchanged; {new_revisions} new revisions, {new_events} new events "
            f"(before {r.before['revisions']:,} / {r.before['events']:,}, after "
            f"{r.after['revisions']:,} / {r.after['events']:,})"
        )
    print(f"  {label:<8} -> {'OK' if ok else 'FAILED'}")
    return ok


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def bench(args: argparse.Namespace, tmp: Path) -> bool:
    started = time.perf_counter()
    data = generate(args.vendors, args.items, args.lines, args.lines_per_order, args.seed)
    file = tmp / "import.json"
    file.write_text(json.dumps(data.as_file(), separators=(",", ":")))
    generated = time.perf_counter() - started
    var_dir = tmp / "var"
    secret_key = secrets.token_urlsafe(40)
    template_url = database_url(args.pg_url, "tpl")
    template = urllib.parse.urlsplit(template_url).path.lstrip("/")
    server_url = template_url.rsplit("/", 1)[0] + "/postgres"
    autovacuum = autovacuum_on(server_url)
    if args.analyze_every is None:
        args.analyze_every = 0.0 if autovacuum else 60.0
    print(
        f"Vendor Portal import bench: {machine()}\n"
        f"{postgres_about(server_url)}"
        + (f"; for the bench databases: {', '.join(args.pg_set)}" if args.pg_set else "")
        + "\n"
        + (
            f"statistics: ANALYZE of the database being loaded every {args.analyze_every:g} s "
            "during each load and once before each second load, as autovacuum would"
            + ("" if autovacuum else " (it is off on this server)")
            + " (--analyze-every 0: never)\n"
            if args.analyze_every > 0
            else "statistics: left to the server's autovacuum\n"
            if autovacuum
            else "statistics: never analyzed (--analyze-every 0; autovacuum is off): every "
            "query is planned with the empty database's statistics\n"
        )
        + f"data (seed {args.seed}): {len(data.vendors)} vendors, {len(data.items):,} items, "
        f"{len(data.orders):,} issued orders x {args.lines_per_order} lines = {data.lines:,} "
        f"lines, {data.deliveries:,} deliveries; JSON file {file.stat().st_size / 1024 / 1024:.1f}"
        f" MiB; generated in {generated:.1f} s; load average before: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    outcomes: dict[str, list[Outcome]] = {}
    urls: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        stack.enter_context(postgres_database(template_url, args.pg_set))
        env = django_env(template_url, var_dir, secret_key)
        t0 = time.perf_counter()
        run(["-m", "vendorportal", "migrate", "--no-input", "-v0"], env, "migrate")
        password = secrets.token_urlsafe(16)
        run(
            ["-m", "vendorportal", "add-buyer", ADMIN_EMAIL, "--admin", "--password", password],
            env,
            "add-buyer",
        )
        setup = (
            f"template database migrated, administrator added in {time.perf_counter() - t0:.1f} s"
        )
        if not args.skip_api:
            t0 = time.perf_counter()
            run(["-m", "vendorportal", "collectstatic", "--no-input", "-v0"], env, "collectstatic")
            setup += f"; collectstatic {time.perf_counter() - t0:.1f} s"
        print(setup, flush=True)

        if not args.skip_api:
            url = stack.enter_context(
                postgres_database(database_url(args.pg_url, "api"), args.pg_set, template=template)
            )
            urls["API"] = url
            api_env = django_env(url, var_dir, secret_key)
            token = run(
                ["-m", "vendorportal", "token", "create", "import-bench", "--integration"],
                api_env,
                "token create",
            ).strip()
            with server(api_env, tmp / "server.log") as (port, pid):
                print(
                    f"API: `vendorportal serve` (uvicorn, 1 worker, DEBUG=false) on port "
                    f"{port}; one client, one keep-alive connection, sequential requests; "
                    f"{args.batch_size} orders per orders/batch request",
                    flush=True,
                )
                analyzer = Analyzer(url, args.analyze_every)
                runs = outcomes.setdefault("API", [])
                for again in (False, True):
                    if again and args.analyze_every > 0:
                        analyzer.analyze()  # what autovacuum would have done by now
                    runs.append(
                        api_load(port, pid, token, data, args.batch_size, analyzer, again=again)
                    )
                    print(f"  {runs[-1].label}: {runs[-1].seconds:.1f} s", flush=True)
            problems = [
                line
                for line in (tmp / "server.log").read_text(errors="replace").splitlines()
                if re.search(r"\b(ERROR|Traceback|WARNING)\b", line)
            ]
            if problems:
                print(f"  server log: {len(problems)} warning/error line(s), e.g. {problems[0]}")

        if not args.skip_import:
            url = stack.enter_context(
                postgres_database(database_url(args.pg_url, "cli"), args.pg_set, template=template)
            )
            urls["import"] = url
            cli_env = django_env(url, var_dir, secret_key)
            print(
                f"import: `vendorportal import {file.name} --no-progress` (subprocess), "
                "one record per transaction",
                flush=True,
            )
            analyzer = Analyzer(url, args.analyze_every)
            runs = outcomes.setdefault("import", [])
            for again in (False, True):
                if again and args.analyze_every > 0:
                    analyzer.analyze()  # what autovacuum would have done by now
                runs.append(import_load(cli_env, file, data, analyzer, again=again))
                print(f"  {runs[-1].label}: {runs[-1].seconds:.1f} s", flush=True)

        # First loads, then the loads again (sorted is stable: API before import).
        ok = True
        if outcomes:
            every = [r for runs in outcomes.values() for r in runs]
            report(sorted(every, key=lambda r: r.again), data)
            print("Checks (database contents against the generated data):")
            checked = [check(path, urls[path], data, runs) for path, runs in outcomes.items()]
            ok = all(checked)
        if args.profile:
            profile(args, data, env, tmp, template)
    return ok


def main() -> None:
    if sys.argv[1:2] == [PROFILE_CHILD]:
        profile_child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--lines", type=int, default=100_000, help="order lines in all (default: 100,000)"
    )
    parser.add_argument(
        "--lines-per-order", type=int, default=10, help="lines per order (default: 10)"
    )
    parser.add_argument("--vendors", type=int, default=50, help="vendors (default: 50)")
    parser.add_argument("--items", type=int, default=2000, help="items (default: 2,000)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=100,
        help=f"orders per orders/batch request, at most {MAX_BATCH} (default: 100)",
    )
    parser.add_argument("--seed", type=int, default=1, help="data seed (default: 1)")
    parser.add_argument("--skip-api", action="store_true", help="no API runs")
    parser.add_argument("--skip-import", action="store_true", help="no import-command runs")
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG_URL,
        help="PostgreSQL server and base name: NAME_tpl, NAME_api and NAME_cli (and NAME_prof "
        f"with --profile) are created and dropped (default: {DEFAULT_PG_URL})",
    )
    parser.add_argument(
        "--pg-set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL setting for the bench databases (ALTER DATABASE ... SET), e.g. "
        "synchronous_commit=off; repeatable (default: the server's settings)",
    )
    parser.add_argument(
        "--analyze-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="ANALYZE the database being loaded this often during a load, and before the "
        "second load; 0: never (default: 60 if the server's autovacuum is off, else 0)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="afterwards, cProfile `vendorportal import` in-process on a fresh database",
    )
    parser.add_argument(
        "--profile-lines",
        type=int,
        default=2000,
        help="order lines the profile imports (default: 2,000)",
    )
    args = parser.parse_args()
    if min(args.lines, args.lines_per_order, args.vendors, args.items, args.batch_size) < 1:
        parser.error("--lines, --lines-per-order, --vendors, --items and --batch-size must be >= 1")
    if args.batch_size > MAX_BATCH:
        parser.error(f"--batch-size: the endpoint takes at most {MAX_BATCH} records")
    if args.lines_per_order > 1000:
        parser.error("--lines-per-order: an order has at most 1000 lines")
    if args.skip_api and args.skip_import and not args.profile:
        parser.error("nothing to do: both --skip-api and --skip-import")

    tmp = Path(tempfile.mkdtemp(prefix="vp-import-bench-"))
    signal.signal(signal.SIGTERM, _interrupt)  # unwinds like Ctrl-C: the cleanups run
    started = time.perf_counter()
    try:
        ok = bench(args, tmp)
    except KeyboardInterrupt:
        print("\nInterrupted; cleaning up.", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nTotal {time.perf_counter() - started:.0f} s.")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
