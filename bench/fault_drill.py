"""Fault drill: restart PostgreSQL under steady write load; count errors, recovery time
and acknowledged writes lost (which must be 0).

What it does
1. PostgreSQL: by default its OWN throwaway cluster: `initdb` into a temporary directory
   (as the `postgres` user when run as root), started with `pg_ctl` on 127.0.0.1:`--port`
   (default 5433), removed at the end. Restarting it hurts nobody else: the shared server
   on 5432, where other test runs may be going on, is never touched. `--cluster 15/drill`
   uses an existing Debian cluster instead (e.g. one made with
   `pg_createcluster 15 drill --port 5433 -- --auth=trust`), restarted with
   `pg_ctlcluster`; `--port` must then be that cluster's port. Either way the drill works
   in its own database (`--database`, default fault_drill), created at the start and
   dropped at the end.
2. The product: migrated, an administrator buyer added, static files collected, then the
   real server (`vendorportal serve`, uvicorn, 1 worker, DEBUG=false, the product's own
   database settings: psycopg's pool) with an integration token (the ERP) and a vendor
   token (a vendor admin of the drill's vendor). Through the sync API: the vendor,
   `--ack-orders` issued orders to acknowledge, and one order per receipt client with a
   delivery large enough for every receipt of the run.
3. Load: `--ack-clients` threads acknowledge orders (vendor token, POST
   /api/v1/orders/{number}/acknowledgements), `--receipt-clients` threads post goods
   receipts of 1 unit (integration token, POST /api/v1/sync/receipts, a new external id
   each). Each write carries an Idempotency-Key; a failed attempt (5xx or a broken
   connection) is retried with the same key every 0.1 s, as a careful client would, so a
   write whose answer was lost is answered from the stored answer, not done twice.
4. Faults, after `--warmup` seconds of load and `--gap` seconds apart: a fast restart
   (`pg_ctl restart -m fast`, or `pg_ctlcluster VER NAME restart`), then a crash
   (`stop -m immediate`: no checkpoint, clients cut off mid-transaction) with the server
   down for `--down` seconds before it is started again. The application server is never
   restarted: it must recover by itself.
5. Figures: requests (attempts) and errors by status per phase, how long PostgreSQL was
   unavailable, seconds from each fault until writes succeed again (the first success
   after the last failure), and the check: every write a client got a 2xx for is in the
   database afterwards (acknowledgements by order and revision, receipts by external id,
   and each receipt order's received quantity equals its acknowledged receipts: nothing
   counted twice). Acknowledged writes lost must be 0, and writes must succeed again
   after each fault without restarting the application server; the script exits 1
   otherwise.

Recovery time: the server uses the product's settings, i.e. psycopg's pool with health
checks (settings.py): a dead pooled connection is tested and replaced before a request
gets it. While PostgreSQL is down, the pool retries its connections with exponential
backoff (1, 2, 4, 8 s ...: psycopg_pool's own schedule), so writes resume at the pool's
next attempt after PostgreSQL is back, not at once; `DATABASE_POOL_MAX_SIZE=0` in the
environment runs the server without the pool (a connection per thread, checked before
reuse) for comparison.

Usage: `.venv/bin/python bench/fault_drill.py` (about 1.5 minutes). This prints figures;
it is not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ADMIN_EMAIL = "erp-admin@drill.example"
SUPPLIER_EMAIL = "supplier-admin@drill.example"
VENDOR = {"external_id": "DRILL-V", "code": "DRILL", "name": "Drill Supplies"}
RETRY_FOR = 60.0  # a client gives up on one write after this many seconds


# --------------------------------------------------------------------------------------
# PostgreSQL under test
# --------------------------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: install PostgreSQL's server binaries.")
    return found


def _as_postgres() -> list[str]:
    """Run PostgreSQL's tools as its owner (they refuse to run as root)."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(args: list[str], what: str) -> None:
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(
            f"{what} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}"
        )


class Cluster:
    """The PostgreSQL the drill restarts: a throwaway one (initdb + pg_ctl) or an existing
    Debian cluster (pg_ctlcluster)."""

    def __init__(self, port: int, debian: str | None) -> None:
        self.port, self.debian = port, debian
        self.tmp: Path | None = None

    @property
    def about(self) -> str:
        if self.debian:
            return f"Debian cluster {self.debian} on port {self.port} (pg_ctlcluster)"
        return f"throwaway cluster in {self.tmp} on port {self.port} (initdb + pg_ctl)"

    def _ctl(self, *args: str) -> None:
        if self.debian:
            version, name = self.debian.split("/", 1)
            _run(["pg_ctlcluster", version, name, *args], f"pg_ctlcluster {' '.join(args)}")
        else:
            assert self.tmp is not None
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 "
                f"-c unix_socket_directories={self.tmp}"
            )
            command = [_pg_bin("pg_ctl"), "-D", str(self.tmp / "data"), "-w", "-t", "60"]
            if args[0] in ("start", "restart"):
                command += ["-l", str(self.tmp / "postgres.log"), "-o", options]
            _run([*_as_postgres(), *command, *args], f"pg_ctl {' '.join(args)}")

    @contextlib.contextmanager
    def running(self) -> Iterator[Cluster]:
        if self.debian:
            yield self
            return
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                raise SystemExit(f"Port {self.port} is taken; choose another with --port.")
        self.tmp = Path(tempfile.mkdtemp(prefix="fault-drill-pg-"))
        try:
            if os.geteuid() == 0:
                owner = pwd.getpwnam("postgres")
                os.chown(self.tmp, owner.pw_uid, owner.pw_gid)
            _run(
                [
                    *_as_postgres(),
                    _pg_bin("initdb"),
                    "-D",
                    str(self.tmp / "data"),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-instructions",
                ],
                "initdb",
            )
            self._ctl("start")
            yield self
        finally:
            with contextlib.suppress(SystemExit):
                self._ctl("stop", "-m", "fast")
            shutil.rmtree(self.tmp, ignore_errors=True)

    def restart_fast(self) -> None:
        self._ctl("restart", "-m", "fast") if not self.debian else self._ctl("restart")

    def crash(self, down: float) -> None:
        self._ctl("stop", "-m", "immediate")
        time.sleep(down)
        self._ctl("start")


def _admin_execute(port: int, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as c:
        c.execute(sql)


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
        return list(conn.execute(sql).fetchall())


# --------------------------------------------------------------------------------------
# The product
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


def manage(args: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(
        [PYTHON, "-m", "vendorportal", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"{what} failed (exit {result.returncode})")
    return result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(env: dict[str, str], log: Path) -> Iterator[int]:
    """`vendorportal serve` (1 worker) on a free port; stopped by its pid."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [PYTHON, "-m", "vendorportal", "serve", "--port", str(port), "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"The server exited:\n{log.read_text()}")
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
        yield port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Client:
    """One keep-alive connection; reconnects after an error."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: Any, key: str | None = None) -> tuple[int, Any]:
        """(status, body); status 0 when the connection failed."""
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request("POST", "/api/v1" + path, json.dumps(body), headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            return 0, None
        try:
            return response.status, json.loads(data)
        except ValueError:
            return response.status, data[:200]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# --------------------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------------------


@dataclass
class Attempt:
    kind: str  # "ack" or "receipt"
    started: float
    ended: float
    status: int  # 0: the connection failed


@dataclass
class Load:
    attempts: list[Attempt] = field(default_factory=list)
    acknowledged: set[tuple[str, int]] = field(default_factory=set)  # (order, revision)
    received: set[str] = field(default_factory=set)  # receipt external ids
    receipts_per_order: Counter[str] = field(default_factory=Counter)
    gave_up: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def write(self, client: Client, kind: str, path: str, body: Any, key: str) -> int | None:
        """One write, retried with the same key until it is answered (or refused)."""
        first = time.monotonic()
        while True:
            started = time.monotonic()
            status, _ = client.post(path, body, key)
            with self.lock:
                self.attempts.append(Attempt(kind, started, time.monotonic(), status))
            if 200 <= status < 300 or 400 <= status < 500:
                return status
            if time.monotonic() - first > RETRY_FOR:
                with self.lock:
                    self.gave_up += 1
                return None
            time.sleep(0.1)


def ack_client(load: Load, port: int, token: str, orders: list[str], run: str) -> None:
    client = Client(port, token)
    for number in orders:
        if load.stop.is_set():
            break
        body = {"revision": 1, "response": "accepted", "comment": ""}
        path = f"/orders/{number}/acknowledgements"
        status = load.write(client, "ack", path, body, f"{run}-ack-{number}")
        if status is not None and 200 <= status < 300:
            with load.lock:
                load.acknowledged.add((number, 1))
    client.close()


def receipt_client(load: Load, port: int, token: str, order: str, run: str) -> None:
    client = Client(port, token)
    n = 0
    while not load.stop.is_set():
        n += 1
        external_id = f"{order}-GR-{n}"
        body = {
            "external_id": external_id,
            "order_external_id": order,
            "lines": [{"line_number": 1, "delivery_number": 1, "quantity": "1"}],
        }
        status = load.write(client, "receipt", "/sync/receipts", body, f"{run}-{external_id}")
        if status is not None and 200 <= status < 300:
            with load.lock:
                load.received.add(external_id)
                load.receipts_per_order[order] += 1
    client.close()


def order_record(external_id: str, number: str, quantity: int) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "number": number,
        "vendor_external_id": VENDOR["external_id"],
        "lines": [
            {
                "line_number": 1,
                "quantity": str(quantity),
                "unit_price": "1.00",
                "description": "Drill bit",
                "deliveries": [
                    {"delivery_number": 1, "quantity": str(quantity), "due_date": "2027-06-30"}
                ],
            }
        ],
    }


# --------------------------------------------------------------------------------------
# The drill
# --------------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    started: float
    pg_back: float  # PostgreSQL accepts connections again


def recovery(load: Load, fault: Fault, until: float) -> tuple[float | None, Counter[str]]:
    """Seconds from the fault until writes succeed again (the first success after the
    last failure in the window), and the errors in the window."""
    window = [a for a in load.attempts if fault.started <= a.ended < until]
    errors = Counter(str(a.status or "connection") for a in window if not 200 <= a.status < 300)
    failures = [a.ended for a in window if not 200 <= a.status < 300]
    last_failure = max(failures, default=fault.started)
    successes = [a.ended for a in window if 200 <= a.status < 300 and a.ended >= last_failure]
    return (min(successes) - fault.started if successes else None), errors


def drill(args: argparse.Namespace, cluster: Cluster, tmp: Path) -> bool:
    port = cluster.port
    url = f"postgres://postgres@127.0.0.1:{port}/{args.database}"
    _admin_execute(port, f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
    _admin_execute(port, f"CREATE DATABASE {args.database}")
    try:
        env = django_env(url, tmp / "var", secrets.token_urlsafe(40))
        manage(["migrate", "--no-input", "-v0"], env, "migrate")
        password = secrets.token_urlsafe(16)
        manage(["add-buyer", ADMIN_EMAIL, "--admin", "--password", password], env, "add-buyer")
        manage(["collectstatic", "--no-input", "-v0"], env, "collectstatic")
        erp_token = manage(
            ["token", "create", "drill-erp", "--integration"], env, "token create"
        ).strip()
        with server(env, tmp / "server.log") as http_port:
            setup = Client(http_port, erp_token)
            status, body = setup.post("/sync/vendors", VENDOR)
            assert status == 200, (status, body)
            manage(
                [
                    "add-vendor-user",
                    VENDOR["code"],
                    SUPPLIER_EMAIL,
                    "--admin",
                    "--password",
                    password,
                ],
                env,
                "add-vendor-user",
            )
            vendor_token = manage(
                ["token", "create", "drill-supplier", "--vendor", VENDOR["code"]],
                env,
                "token create",
            ).strip()
            run = secrets.token_hex(4)
            ack_numbers = [f"DA-{i:06d}" for i in range(args.ack_orders)]
            receipt_orders = [f"DR-{i:03d}" for i in range(args.receipt_clients)]
            records = [order_record(f"X-{n}", n, 10) for n in ack_numbers] + [
                order_record(n, n, 10_000_000) for n in receipt_orders
            ]
            setup.close()  # idle for longer than the server's keep-alive timeout
            t0 = time.monotonic()
            for i in range(0, len(records), 100):
                status, body = setup.post("/sync/orders/batch", {"records": records[i : i + 100]})
                assert status == 200 and body["errors"] == 0, (status, body)
            setup.close()
            print(
                f"setup: {len(records)} issued orders synced in {time.monotonic() - t0:.1f} s; "
                f"server on port {http_port} (1 worker, DEBUG=false)",
                flush=True,
            )

            load = Load()
            threads = [
                threading.Thread(
                    target=ack_client,
                    args=(load, http_port, vendor_token, ack_numbers[i :: args.ack_clients], run),
                )
                for i in range(args.ack_clients)
            ] + [
                threading.Thread(
                    target=receipt_client, args=(load, http_port, erp_token, order, run)
                )
                for order in receipt_orders
            ]
            begin = time.monotonic()
            for thread in threads:
                thread.start()
            faults: list[Fault] = []
            time.sleep(args.warmup)
            started = time.monotonic()
            cluster.restart_fast()
            faults.append(Fault("fast restart", started, time.monotonic()))
            print(
                f"fault 1: fast restart, PostgreSQL back after {time.monotonic() - started:.2f} s"
            )
            time.sleep(args.gap)
            started = time.monotonic()
            cluster.crash(args.down)
            faults.append(
                Fault(f"crash (immediate stop, {args.down:g} s down)", started, time.monotonic())
            )
            back = time.monotonic() - started
            print(f"fault 2: immediate stop + start, PostgreSQL back after {back:.2f} s")
            time.sleep(args.gap)
            load.stop.set()
            for thread in threads:
                thread.join(timeout=RETRY_FOR + 30)
            end = time.monotonic()
            log = (tmp / "server.log").read_text(errors="replace").splitlines()
        return report(args, url, load, faults, begin, end, log)
    finally:
        _admin_execute(port, f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")


def report(
    args: argparse.Namespace,
    url: str,
    load: Load,
    faults: list[Fault],
    begin: float,
    end: float,
    log: list[str],
) -> bool:
    ok_attempts = [a for a in load.attempts if 200 <= a.status < 300]
    print(
        f"\nload: {args.ack_clients} acknowledging + {args.receipt_clients} receipt clients for "
        f"{end - begin:.1f} s: {len(load.attempts)} requests, {len(ok_attempts)} succeeded "
        f"({len(load.acknowledged)} acknowledgements, {len(load.received)} receipts), "
        f"{len(load.attempts) - len(ok_attempts)} errors, {load.gave_up} writes given up"
    )
    all_errors = Counter(
        str(a.status or "connection") for a in load.attempts if not 200 <= a.status < 300
    )
    print(f"errors by status (whole run): {dict(sorted(all_errors.items())) or 'none'}")
    bounds = [f.started for f in faults[1:]] + [end]
    recovered = True
    for fault, until in zip(faults, bounds, strict=True):
        seconds, errors = recovery(load, fault, until)
        recovered = recovered and seconds is not None
        print(
            f"{fault.name}: PostgreSQL unavailable {fault.pg_back - fault.started:.2f} s; "
            f"writes succeed again after "
            + (f"{seconds:.2f} s" if seconds is not None else "NEVER")
            + f"; errors {dict(sorted(errors.items())) or 'none'}"
        )
    acks = {
        (number, revision)
        for number, revision in query(
            url,
            "SELECT o.number, a.revision FROM collaboration_acknowledgement a "
            "JOIN purchasing_purchaseorder o ON o.id = a.order_id",
        )
    }
    receipts = {row[0] for row in query(url, "SELECT external_id FROM purchasing_receipt")}
    received = dict(
        query(
            url,
            "SELECT o.external_id, d.received_quantity FROM purchasing_delivery d "
            "JOIN purchasing_purchaseorder o ON o.id = d.order_id WHERE o.external_id LIKE 'DR-%'",
        )
    )
    lost_acks = load.acknowledged - acks
    lost_receipts = load.received - receipts
    miscounted = {
        order: (int(quantity), load.receipts_per_order[order])
        for order, quantity in received.items()
        if int(quantity) != load.receipts_per_order[order]
    }
    lost = len(lost_acks) + len(lost_receipts)
    print(
        f"acknowledged writes lost: {lost} (acknowledgements {len(lost_acks)} of "
        f"{len(load.acknowledged)}, receipts {len(lost_receipts)} of {len(load.received)}); "
        f"in the database: {len(acks)} acknowledgements, {len(receipts)} receipts; "
        f"received quantity differing from the acknowledged receipts: {miscounted or 'none'}"
    )
    tracebacks = sum("Traceback" in line for line in log)
    # The last line of each traceback names the exception: which ones the faults caused.
    kinds = Counter(
        line.split(":", 1)[0]
        for line in log
        if re.match(r"^[\w.]+(Error|Exception|Timeout|Closed)\b", line)
    )
    print(f"server log: {len(log)} lines, {tracebacks} tracebacks: {dict(kinds) or 'none'}")
    return lost == 0 and not miscounted and recovered and not load.gave_up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5433, help="PostgreSQL port (default 5433)")
    parser.add_argument(
        "--cluster",
        metavar="VER/NAME",
        help="an existing Debian cluster to restart with pg_ctlcluster (default: a "
        "throwaway cluster made with initdb)",
    )
    parser.add_argument("--database", default="fault_drill")
    parser.add_argument("--ack-clients", type=int, default=2)
    parser.add_argument("--receipt-clients", type=int, default=2)
    parser.add_argument("--ack-orders", type=int, default=500)
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument("--gap", type=float, default=12.0)
    parser.add_argument("--down", type=float, default=2.0)
    args = parser.parse_args()
    if not args.database.isidentifier():
        raise SystemExit("--database: a plain name, please.")
    cluster = Cluster(args.port, args.cluster)
    with cluster.running(), tempfile.TemporaryDirectory(prefix="fault-drill-") as tmp:
        print(f"PostgreSQL: {cluster.about}", flush=True)
        ok = drill(args, cluster, Path(tmp))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
