"""Open-lines throughput: the supplier's 500-row open-lines page, an order page with 50
deliveries, and a bare raw-SQL page with the same 500 rows, served side by side by the real
ASGI server (`vendorportal serve`, uvicorn, 1 worker), on SQLite and on PostgreSQL.

For each database the script creates a fresh database, migrates it, loads 200 vendors and
100,000 deliveries (one vendor with exactly 500 open deliveries; see
bench/benchsite/data.py), collects static files (DEBUG is off, as in production), starts
the server with bench/benchsite/settings.py (the product settings plus a URLconf that adds
/bench/bare-open-lines/), logs in as the vendor user through the real login form, checks
the pages, then measures each target with N keep-alive connections (stdlib http.client,
one thread each) in interleaved rounds and prints medians. The server, the temporary
directory and the PostgreSQL database are removed afterwards.

This prints figures; it is not a pass/fail test. The goal it reports against:
open-lines req/s >= 0.5 x bare req/s.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/vp_bench"
GOAL = 0.5
EMAIL = "supplier@v0001.bench.example"
SENTINEL = "BENCH-INTERNAL-SENTINEL"  # planted in internal fields by the loader


# --------------------------------------------------------------------------------------
# Processes and databases
# --------------------------------------------------------------------------------------


def django_env(database_url: str, var_dir: Path, secret_key: str, password: str) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.benchsite.settings",
        DATABASE_URL=database_url,
        DEBUG="false",
        # Plain http on localhost: production terminates TLS in front (no https redirect).
        VENDORPORTAL_HTTPS="false",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS="127.0.0.1",
        VENDORPORTAL_VAR_DIR=str(var_dir),
        LOG_LEVEL="WARNING",
        BENCH_EMAIL=EMAIL,
        BENCH_PASSWORD=password,
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
    )
    return env


def run(args: list[str], env: dict, what: str) -> str:
    result = subprocess.run(
        [PYTHON, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"{what} failed (exit {result.returncode})")
    return result.stdout


@contextlib.contextmanager
def postgres_database(url: str, settings: list[str]) -> Iterator[str]:
    """A fresh, empty database at `url` (with `settings`, "name=value"), dropped afterwards."""
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
        for setting in settings:
            key, _, value = setting.partition("=")
            if not re.fullmatch(r"[a-z_]+", key) or not re.fullmatch(r"[\w.]+", value):
                raise SystemExit(f"--pg-set {setting!r}: expected name=value")
            execute(f"ALTER DATABASE {name} SET {key} = '{value}'")
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
        return s.getsockname()[1]


@contextlib.contextmanager
def server(env: dict, log: Path) -> Iterator[tuple[int, int]]:
    """`vendorportal serve` on a free port: (port, pid); stopped (by its pid) on exit."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [PYTHON, "-m", "vendorportal", "serve", "--port", str(port), "--workers", "1"],
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
                raise SystemExit(f"The server exited (code {process.returncode}):\n"
                                 + log.read_text())  # fmt: skip
            try:
                status, _, _ = request(port, "GET", "/accounts/login/")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("The server did not answer within 60 s:\n" + log.read_text())
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
# HTTP
# --------------------------------------------------------------------------------------


def request(
    port: int, method: str, path: str, *, headers: dict | None = None, body: str | None = None
) -> tuple[int, dict[str, list[str]], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        got: dict[str, list[str]] = {}
        for key, value in response.getheaders():
            got.setdefault(key.lower(), []).append(value)
        return response.status, got, response.read()
    finally:
        conn.close()


def cookies_of(headers: dict[str, list[str]]) -> dict[str, str]:
    jar = SimpleCookie()
    for raw in headers.get("set-cookie", []):
        jar.load(raw)
    return {key: morsel.value for key, morsel in jar.items()}


def log_in(port: int, password: str) -> str:
    """Log in through the real allauth form; the Cookie header of the session."""
    status, headers, body = request(port, "GET", "/accounts/login/")
    assert status == 200, status
    csrf_cookie = cookies_of(headers)["csrftoken"]
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert match, "no csrf token in the login form"
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": match.group(1).decode(), "login": EMAIL, "password": password}
    )
    status, headers, body = request(
        port,
        "POST",
        "/accounts/login/",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf_cookie}",
            "Referer": f"http://127.0.0.1:{port}/accounts/login/",
        },
        body=form,
    )
    session = cookies_of(headers).get("sessionid")
    if status != 302 or not session:
        raise SystemExit(f"Login failed: HTTP {status}\n{body[:2000]!r}")
    return f"csrftoken={csrf_cookie}; sessionid={session}"


@dataclass
class Target:
    label: str
    path: str
    rows: int  # `<tr ... id="delivery-` rows the page must contain
    rounds: list[Result] = field(default_factory=list)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    bytes: int
    server_cpu: float | None = None  # CPU seconds the server process used meanwhile

    @property
    def server_ms_per_request(self) -> float | None:
        if self.server_cpu is None or not self.requests:
            return None
        return self.server_cpu / self.requests * 1000

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def hammer(port: int, pid: int, path: str, cookie: str, connections: int, seconds: float) -> Result:
    """`connections` keep-alive connections, one thread each, back to back for `seconds`."""
    headers = {"Cookie": cookie, "Accept": "text/html", "User-Agent": "vp-bench"}
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0
    size = 0
    ends: list[float] = []
    clock: dict[str, float] = {}

    def start() -> None:
        clock["start"] = time.perf_counter()
        clock["deadline"] = clock["start"] + seconds

    barrier = threading.Barrier(connections, action=start)

    def worker() -> None:
        nonlocal errors, size
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()
        mine: list[float] = []
        bad = 0
        last = 0
        barrier.wait()
        deadline = clock["deadline"]
        while True:
            t0 = time.perf_counter()
            if t0 >= deadline:
                break
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                ok = response.status == 200
                last = len(body)
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine.append(time.perf_counter() - t0)
            bad += not ok
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += bad
            size = max(size, last)
            ends.append(time.perf_counter())

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    cpu_before = cpu_seconds(pid)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu_after = cpu_seconds(pid)
    used = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    return Result(len(latencies), max(ends) - clock["start"], latencies, errors, size, used)


def check_pages(port: int, cookie: str, targets: list[Target]) -> None:
    """Each target answers 200 with its rows; ours and bare list the same deliveries."""
    ids: dict[str, list[bytes]] = {}
    for target in targets:
        status, _, body = request(port, "GET", target.path, headers={"Cookie": cookie})
        if status != 200:
            raise SystemExit(f"{target.path}: HTTP {status}\n{body[:2000]!r}")
        found = re.findall(rb'<tr (?:class="[^"]*" )?id="delivery-(\d+)"', body)
        if len(found) != target.rows:
            raise SystemExit(f"{target.path}: {len(found)} delivery rows, expected {target.rows}")
        if SENTINEL.encode() in body:
            raise SystemExit(f"{target.path}: an internal field leaked into the page")
        ids[target.path] = found
        if target is targets[0]:
            # Every acknowledgement state of the column is on the page.
            for badge in (b"acknowledged</span>", b"not acknowledged", b"change proposed"):
                if badge not in body:
                    raise SystemExit(f"{target.path}: no {badge.decode()!r} badge")
    ours, _, bare = (ids[t.path] for t in targets)
    if ours != bare:
        raise SystemExit("The open-lines page and the bare page list different deliveries.")


# --------------------------------------------------------------------------------------
# One database
# --------------------------------------------------------------------------------------


def bench_database(kind: str, args: argparse.Namespace, tmp: Path) -> None:
    secret_key = secrets.token_urlsafe(40)
    password = secrets.token_urlsafe(16)
    var_dir = tmp / "var"  # shared: collected static files live in var/static
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{tmp / 'vp_bench.sqlite3'}"
            version = f"SQLite {sqlite3.sqlite_version}"
        else:
            url = stack.enter_context(postgres_database(args.pg_url, args.pg_set))
            version = postgres_version(url)
            if args.pg_set:
                version += f" ({', '.join(args.pg_set)})"
        env = django_env(url, var_dir, secret_key, password)
        started = time.perf_counter()
        run(["-m", "vendorportal", "migrate", "--no-input", "-v0"], env, "migrate")
        migrated = time.perf_counter() - started
        summary = json.loads(run(["-m", "bench.benchsite.data"], env, "loading data"))
        print(
            f"\n[{version}] migrated in {migrated:.1f} s; loaded {summary['vendors']} vendors, "
            f"{summary['orders']:,} orders, {summary['lines']:,} lines, "
            f"{summary['deliveries']:,} deliveries, {summary['revisions']:,} revisions, "
            f"{summary['acknowledgements']} acks, {summary['proposals']} proposals, "
            f"{summary['receipts']} receipts, {summary['events']:,} events "
            f"in {summary['build_seconds']} s"
            + (f"\n[{version}] plan: {summary['plan']}" if "plan" in summary else ""),
            flush=True,
        )
        targets = [
            Target(
                f"open lines ({summary['open_deliveries']} rows)",
                "/portal/open-lines/",
                summary["open_deliveries"],
            ),
            Target(
                f"order page ({summary['order_deliveries']} deliveries)",
                f"/portal/orders/{summary['order_number']}/",
                summary["order_deliveries"],
            ),
            Target("bare raw SQL + f-strings", "/bench/bare-open-lines/", 500),
        ]
        port, pid = stack.enter_context(server(env, tmp / f"server-{kind}.log"))
        cookie = log_in(port, password)
        check_pages(port, cookie, targets)
        for target in targets:
            hammer(port, pid, target.path, cookie, args.connections, args.warmup)
        slice_seconds = args.seconds / args.rounds
        for number in range(args.rounds):
            # Rotate the order so no target always runs first (or right after another).
            shift = number % len(targets)
            for target in targets[shift:] + targets[:shift]:
                target.rounds.append(
                    hammer(port, pid, target.path, cookie, args.connections, slice_seconds)
                )
        report(version, summary, targets, args)
        if args.profile:
            print(flush=True)
            sys.stdout.write(
                run(
                    [
                        "-m",
                        "bench.benchsite.profile",
                        "--requests",
                        "40",
                        "--order",
                        summary["order_number"],
                    ],
                    env,
                    "profiling",
                )
            )


def report(version: str, summary: dict, targets: list[Target], args: argparse.Namespace) -> None:
    title = (
        f"{version}: vendor {summary['vendor_code']}, {args.connections} connections, "
        f"{args.rounds} interleaved rounds x {args.seconds / args.rounds:.1f} s per target "
        "(medians over rounds)"
    )
    print(title)
    header = (
        f"  {'target':<34}{'path':<28}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'KiB':>6}{'srv CPU ms/req':>16}{'errors':>8}   req/s per round"
    )
    print(header)
    print("  " + "-" * (len(header) + 4))
    medians: dict[str, float] = {}
    for target in targets:
        rps = statistics.median(r.rps for r in target.rounds)
        p50 = statistics.median(r.percentile(50) for r in target.rounds) * 1000
        p99 = statistics.median(r.percentile(99) for r in target.rounds) * 1000
        errors = sum(r.errors for r in target.rounds)
        kib = max(r.bytes for r in target.rounds) / 1024
        cpu = [c for r in target.rounds if (c := r.server_ms_per_request) is not None]
        cpu_text = f"{statistics.median(cpu):.1f}" if cpu else "-"
        per_round = " ".join(f"{r.rps:.0f}" for r in target.rounds)
        medians[target.path] = rps
        print(
            f"  {target.label:<34}{target.path:<28}{rps:>8.1f}{p50:>9.1f}{p99:>9.1f}"
            f"{kib:>6.0f}{cpu_text:>16}{errors:>8}   {per_round}"
        )
    ours = medians[targets[0].path]
    bare = medians[targets[2].path]
    ratio = ours / bare if bare else float("nan")
    verdict = "meets" if ratio >= GOAL else "BELOW"
    print(f"  ours/bare (open lines): {ratio:.2f}  -> {verdict} the goal of >= {GOAL}")
    print(
        "  (srv CPU = CPU time of the uvicorn process per request; a database server's own "
        "processes are not included)"
    )
    if ratio < GOAL and not args.profile:
        print("  (run with --profile for an in-process cProfile of the open-lines view)")
    sys.stdout.flush()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db", choices=["sqlite", "postgres", "both"], default="both", help="default: both"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help="measured seconds per target, split over the rounds (default: 10)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds per target (default: 3)"
    )
    parser.add_argument(
        "--connections", type=int, default=8, help="concurrent keep-alive connections (default: 8)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="warm-up seconds per target (default: 2)"
    )
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG_URL,
        help=f"PostgreSQL database to create, use and drop (default: {DEFAULT_PG_URL})",
    )
    parser.add_argument(
        "--pg-set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL setting for the bench database (ALTER DATABASE ... SET), e.g. "
        "random_page_cost=1.1; repeatable (default: the server's settings)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile the open-lines and order views in-process (printed after each table)",
    )
    args = parser.parse_args()
    if args.seconds <= 0 or args.rounds < 1 or args.connections < 1:
        parser.error("--seconds, --rounds and --connections must be positive")

    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    tmp = Path(tempfile.mkdtemp(prefix="vp-bench-"))
    # SIGTERM (e.g. a CI timeout) unwinds like Ctrl-C, so the cleanups below run.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(
            f"Vendor Portal open-lines bench: {os.cpu_count()} CPUs, Python "
            f"{sys.version.split()[0]}, server = `vendorportal serve` (uvicorn, 1 worker), "
            f"DEBUG=false, client = {args.connections} stdlib http.client threads",
            flush=True,
        )
        static_env = django_env(
            f"sqlite:///{tmp / 'static.sqlite3'}", tmp / "var", "collectstatic-only", ""
        )
        run(["-m", "vendorportal", "collectstatic", "--no-input", "-v0"], static_env,
            "collectstatic")  # fmt: skip
        for kind in kinds:
            bench_database(kind, args, tmp)
    except KeyboardInterrupt:
        print("\nInterrupted; cleaning up.", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
