"""Serving: the supplier's 500-row open-lines page under the server `vendorportal serve`
starts today, side by side with the server it started before (issue 17, goal 1), and with a
raw-SQL page that no middleware touches, on the same server; plus each server's memory.

Setup as bench/open_lines.py (which this reuses): a fresh database (PostgreSQL by default),
migrated, with 200 vendors and 100,000 deliveries (one vendor with exactly 500 open ones,
bench/benchsite/data.py), static files collected, DEBUG off, the vendor logged in through
the real login form on each server.

The servers, all on the same database, started one after the other for each round:

- before: what `vendorportal serve` ran until this change: uvicorn with its pure-Python
  parts (h11, asyncio), one process, every view through Django's ASGI handler
  (`vendorportal.asgi:django_application`);
- after: `vendorportal serve` with its defaults (vendorportal/asgi.py: sync views through
  Django's WSGI handler in a thread pool, streams on ASGI; httptools and uvloop; one
  process per CPU on PostgreSQL).

Targets, each measured with N keep-alive connections (stdlib http.client, one thread
each) in interleaved rounds (before and after alternate; the order rotates), medians:

- open lines on before and after (`/portal/open-lines/`, 500 rows);
- raw on after: `/bench/raw-open-lines/` (bench/benchsite/raw.py), the same 500 rows with
  one query and f-strings, answered by the first middleware;
- open lines on all-ASGI: after's processes, httptools and uvloop, but every view through
  Django's ASGI handler, which says what the WSGI threads themselves add or save.

Memory: VmRSS of each server's processes (the supervisor and every worker), at rest after
the warm-up and at its highest during the measured rounds (sampled every 50 ms).

Goals printed: after/before >= 3 (req/s, open lines) and open lines/raw >= 0.5 on after.
This prints figures; it is not a pass/fail test. The machine's CPUs are shared by the
server, PostgreSQL and this client: the CPU time of each is printed per request (the
server's processes, every `postgres` process of the machine, and this process), which says
how much of the machine a request takes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.open_lines import (
    DEFAULT_PG_URL,
    ROOT,
    Result,
    cpu_seconds,
    django_env,
    free_port,
    hammer,
    log_in,
    postgres_database,
    postgres_version,
    request,
    run,
)

PYTHON = sys.executable
SPEEDUP_GOAL = 3.0
RAW_GOAL = 0.5
# fmt: off
BEFORE = [
    PYTHON, "-m", "uvicorn", "vendorportal.asgi:django_application", "--http", "h11",
    "--loop", "asyncio", "--lifespan", "off", "--workers", "1", "--no-access-log",
    "--timeout-graceful-shutdown", "3", "--log-level", "warning",
]
ASGI_FAST = [
    PYTHON, "-m", "uvicorn", "vendorportal.asgi:django_application", "--http", "httptools",
    "--loop", "uvloop", "--lifespan", "off", "--no-access-log",
    "--timeout-graceful-shutdown", "3", "--log-level", "warning",
]
# fmt: on


def group_pids(leader: int) -> list[int]:
    """The server's processes: its session (started with start_new_session)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == leader:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return sorted(pids)


def postgres_cpu() -> float:
    """CPU seconds used so far by this machine's PostgreSQL processes (their `comm`)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += cpu_seconds(int(entry.name)) or 0.0
            except OSError:
                continue
    return total


def rss_kib(pids: list[int]) -> dict[int, int]:
    out = {}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[pid] = int(line.split()[1])
        except OSError:
            continue
    return out


@dataclass
class Server:
    name: str
    command: list[str]
    port: int = 0
    leader: int = 0
    rest_rss: dict[int, int] = field(default_factory=dict)  # KiB per process, after warm-up
    # (of the round where all its processes together were largest)
    peak_total: int = 0  # KiB, all its processes together, highest sample under load
    peak_process: int = 0  # KiB, the largest single process, highest sample


@contextlib.contextmanager
def running(server: Server, env: dict, log: Path) -> Iterator[Server]:
    server.port = free_port()
    command = [*server.command, "--port", str(server.port)]
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server.leader = process.pid
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{server.name} exited:\n{log.read_text()}")
            with contextlib.suppress(OSError):
                if request(server.port, "GET", "/accounts/login/")[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"{server.name} did not answer in 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class Target:
    label: str
    server: Server
    path: str
    rounds: list[Result] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # server CPU ms per request, per round
    client_cpu: list[float] = field(default_factory=list)  # this process's, the same way
    database_cpu: list[float] = field(default_factory=list)  # PostgreSQL's, the same way


def measure(target: Target, cookie: str, connections: int, seconds: float) -> None:
    pids = group_pids(target.server.leader)
    server = target.server
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            now = rss_kib(pids)
            server.peak_total = max(server.peak_total, sum(now.values()))
            server.peak_process = max(server.peak_process, max(now.values(), default=0))

    sampler = threading.Thread(target=sample)
    before = sum(cpu_seconds(pid) or 0 for pid in pids)
    client_before, database_before = time.process_time(), postgres_cpu()
    sampler.start()
    result = hammer(
        port=server.port,
        pid=server.leader,
        path=target.path,
        cookie=cookie,
        connections=connections,
        seconds=seconds,
    )
    stop.set()
    sampler.join()
    used = sum(cpu_seconds(pid) or 0 for pid in pids) - before
    requests = max(1, result.requests)
    target.rounds.append(result)
    target.cpu.append(used / requests * 1000)
    target.client_cpu.append((time.process_time() - client_before) / requests * 1000)
    target.database_cpu.append((postgres_cpu() - database_before) / requests * 1000)


def bench_database(kind: str, args: argparse.Namespace, tmp: Path) -> None:
    password = secrets.token_urlsafe(16)
    var_dir = tmp / "var"
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{tmp / 'vp_bench.sqlite3'}"
            version = f"SQLite {sqlite3.sqlite_version}"
        else:
            url = stack.enter_context(postgres_database(args.pg_url, []))
            version = postgres_version(url)
        env = django_env(url, var_dir, secrets.token_urlsafe(40), password)
        run(["-m", "vendorportal", "migrate", "--no-input", "-v0"], env, "migrate")
        summary = json.loads(run(["-m", "bench.benchsite.data"], env, "loading data"))
        vendor = summary["vendor_id"]
        after_command = [PYTHON, "-m", "vendorportal", "serve"]
        if args.workers:
            after_command += ["--workers", str(args.workers)]
        workers = str(args.workers or (1 if kind == "sqlite" else os.cpu_count() or 1))
        before, after = Server("before", BEFORE), Server("after", after_command)
        # The same processes and C parts as after, every view through Django's ASGI handler:
        # what the WSGI threads add or save on their own.
        all_asgi = Server("all-ASGI", [*ASGI_FAST, "--workers", workers])
        servers = [before, after, all_asgi]
        targets = [
            Target("open lines, before", before, "/portal/open-lines/"),
            Target("open lines, after", after, "/portal/open-lines/"),
            Target("open lines, all-ASGI", all_asgi, "/portal/open-lines/"),
            Target("raw, no middleware, after", after, f"/bench/raw-open-lines/?vendor={vendor}"),
        ]
        print(
            f"\n[{version}] {summary['deliveries']:,} deliveries; vendor {summary['vendor_code']}"
            f" with {summary['open_deliveries']} open",
            flush=True,
        )
        for number in range(args.rounds):
            shift = number % len(servers)
            for server in servers[shift:] + servers[:shift]:
                with running(server, env, tmp / f"{server.name}.log"):
                    cookie = log_in(server.port, password)
                    mine = [t for t in targets if t.server is server]
                    # Each start is warmed up (imports, templates, pooled connections)
                    # before its memory at rest is read and the clock starts.
                    for target in mine:
                        hammer(server.port, server.leader, target.path, cookie,
                               args.connections, args.warmup)  # fmt: skip
                    time.sleep(0.5)
                    rest = rss_kib(group_pids(server.leader))
                    if sum(rest.values()) > sum(server.rest_rss.values()):
                        server.rest_rss = rest
                    for target in mine if number % 2 else mine[::-1]:
                        measure(target, cookie, args.connections, args.seconds)
        report(version, targets, servers, args)


def report(version: str, targets: list[Target], servers: list[Server], args) -> None:
    print(
        f"{version}: {args.connections} connections, {args.rounds} rounds x "
        f"{args.seconds:.0f} s per target, medians over rounds; {os.cpu_count()} CPUs"
    )
    header = (
        f"  {'target':<28}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU ms/req: server':>20}{'db':>6}{'client':>8}{'errors':>8}   req/s per round"
    )
    print(header)
    print("  " + "-" * (len(header) + 2))
    rps = {}
    for t in targets:
        rps[t.label] = statistics.median(r.rps for r in t.rounds)
        p50 = statistics.median(r.percentile(50) for r in t.rounds) * 1000
        p99 = statistics.median(r.percentile(99) for r in t.rounds) * 1000
        print(
            f"  {t.label:<28}{rps[t.label]:>8.1f}{p50:>9.1f}{p99:>9.1f}"
            f"{statistics.median(t.cpu):>20.1f}{statistics.median(t.database_cpu):>6.1f}"
            f"{statistics.median(t.client_cpu):>8.1f}{sum(r.errors for r in t.rounds):>8}   "
            + " ".join(f"{r.rps:.0f}" for r in t.rounds)
        )
    speedup = rps["open lines, after"] / rps["open lines, before"]
    raw = rps["open lines, after"] / rps["raw, no middleware, after"]
    for name, value, goal in (
        ("after/before (open lines)", speedup, SPEEDUP_GOAL),
        ("open lines/raw (after)", raw, RAW_GOAL),
    ):
        print(
            f"  {name:<28}{value:>6.2f}   goal >= {goal}: "
            + ("meets" if value >= goal else "BELOW")
        )
    print("  memory (VmRSS, MiB)     all processes: at rest / peak   largest one: at rest / peak")
    for server in servers:
        rest = server.rest_rss.values()
        print(
            f"  {server.name:<24}{sum(rest) / 1024:>20.0f}{server.peak_total / 1024:>7.0f}"
            f"{max(rest, default=0) / 1024:>22.0f}{server.peak_process / 1024:>7.0f}"
            f"   ({len(server.rest_rss)} processes)"
        )
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--seconds", type=float, default=5.0, help="per target and round (5)")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds (3)")
    parser.add_argument("--connections", type=int, default=8, help="client connections (8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds (2)")
    parser.add_argument(
        "--workers", type=int, default=0, help="after's --workers (default: serve's own default)"
    )
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vp-serving-"))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        print(
            f"Vendor Portal serving bench: {os.cpu_count()} CPUs, Python "
            f"{sys.version.split()[0]}, client = {args.connections} http.client threads",
            flush=True,
        )
        static_env = django_env(f"sqlite:///{tmp / 'static.sqlite3'}", tmp / "var", "static", "")
        run(
            ["-m", "vendorportal", "collectstatic", "--no-input", "-v0"],
            static_env,
            "collectstatic",
        )
        bench_database(args.db, args, tmp)
    except KeyboardInterrupt:
        print("\nInterrupted; cleaning up.", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
