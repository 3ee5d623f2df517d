"""JSON API throughput against raw JSON views of the same rows, in-process.

For each database (SQLite, PostgreSQL) the script creates a fresh database, migrates it,
loads bench/benchsite/data.py (200 vendors, 100,000 deliveries, one vendor with exactly
500 open deliveries), collects static files (DEBUG is off), makes a vendor API token with
`vendorportal token create`, and then measures IN-PROCESS with Django's test Client
(the whole middleware stack, bench/benchsite/settings.py) in interleaved rounds:

- the supplier's open-lines HTML page (500 rows, logged in as the bench vendor user);
- `/api/v1/deliveries?limit=200` (200 is the API's largest page, paging.MAX_LIMIT, so the
  API is compared page for page with a raw view of the same 200 rows; the 500 rows of
  the HTML page are also fetched as three cursor pages, against a raw view of 500 rows);
- `/api/v1/orders?limit=200` and `/api/v1/orders/{number}` (the order with 50 deliveries);
- the raw views of bench/benchsite/urls.py (`/bench/raw/...`): the token checked as the
  API does, the rows read with raw SQL (one query; three for the order) and orjson.

Before measuring, it checks that each API answer and its raw view list the same ids (and
compares the whole answers), and that no internal field (BENCH-INTERNAL-SENTINEL) and no
other vendor's order appear. It prints req/s, p50, queries per request, api/raw against
the goal (>= 0.7) and api/html. Figures, not a pass/fail test.

    python -m bench.api_json [--db sqlite|postgres|both] [--rounds 5] [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.open_lines import (
    DEFAULT_PG_URL,
    PYTHON,
    ROOT,
    SENTINEL,
    django_env,
    postgres_database,
    postgres_version,
    run,
)

GOAL = 0.7


@dataclass
class Target:
    label: str
    fetch: Callable[[], Any]  # one unit of work; returns the last response
    requests: int = 1  # HTTP requests per unit
    rounds: list[list[float]] = field(default_factory=list)  # seconds per unit, per round
    queries: int = 0

    def p50(self) -> float:
        return statistics.median(statistics.median(r) for r in self.rounds) * 1000

    def rps(self) -> float:
        return statistics.median(len(r) * self.requests / sum(r) for r in self.rounds)


def child(args: argparse.Namespace) -> None:
    """Runs inside the environment of one database, already migrated and loaded."""
    import django

    django.setup()
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_scopes import scopes_disabled

    from vendorportal.accounts.models import User

    summary = json.loads(os.environ["BENCH_SUMMARY"])
    number = summary["order_number"]
    out = StringIO()
    call_command("token", "create", "api-json bench", "--vendor", summary["vendor_code"],
                 "--as", os.environ["BENCH_EMAIL"], stdout=out, stderr=StringIO())  # fmt: skip
    secret = out.getvalue().strip()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    html = Client()
    with scopes_disabled():
        html.force_login(User.objects.get(email=os.environ["BENCH_EMAIL"]))

    def get(client: Client, path: str) -> Any:
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}\n{response.content[:2000]!r}")
        return response

    def pages(path: str) -> Callable[[], Any]:
        def fetch() -> Any:
            body = json.loads(get(api, path).content)
            items = body["items"]
            while body["next_cursor"] and len(items) < 500:
                body = json.loads(get(api, f"{path}&cursor={body['next_cursor']}").content)
                items += body["items"]
            return items

        return fetch

    def one(client: Client, path: str) -> Callable[[], Any]:
        return lambda: get(client, path)

    t = {
        "html": Target("open lines HTML (500 rows)", one(html, "/portal/open-lines/")),
        "api_d": Target("API deliveries (200)", one(api, "/api/v1/deliveries?limit=200")),
        "raw_d": Target("raw deliveries (200)", one(api, "/bench/raw/deliveries/?limit=200")),
        "api_d500": Target(
            "API deliveries (500, 3 pages)", pages("/api/v1/deliveries?limit=200"), requests=3
        ),
        "api_o": Target("API orders (200)", one(api, "/api/v1/orders?limit=200")),
        "raw_o": Target("raw orders (200)", one(api, "/bench/raw/orders/?limit=200")),
        "api_1": Target(f"API order {number}", one(api, f"/api/v1/orders/{number}")),
        "raw_1": Target(f"raw order {number}", one(api, f"/bench/raw/orders/{number}/")),
    }
    check(t, summary)
    for target in t.values():
        with CaptureQueriesContext(connection) as captured:
            target.fetch()
        target.queries = len(captured)
        for _ in range(args.warmup):
            target.fetch()
    targets = list(t.values())
    for number_ in range(args.rounds):
        shift = number_ % len(targets)
        for target in targets[shift:] + targets[:shift]:
            times: list[float] = []
            deadline = time.perf_counter() + args.seconds
            while time.perf_counter() < deadline or len(times) < 3:
                started = time.perf_counter()
                target.fetch()
                times.append(time.perf_counter() - started)
            target.rounds.append(times)
    report(t, args)


def check(t: dict[str, Target], summary: dict[str, Any]) -> None:
    """The API and the raw views answer the same rows; no sentinel, no other vendor."""

    def body(key: str) -> Any:
        return json.loads(t[key].fetch().content)

    for api_key, raw_key in (("api_d", "raw_d"), ("api_o", "raw_o"), ("api_1", "raw_1")):
        ours, raw = body(api_key), body(raw_key)
        for text in (json.dumps(ours), json.dumps(raw)):
            if SENTINEL in text:
                raise SystemExit(f"{t[api_key].label}: an internal field leaked")
        if api_key == "api_1":
            ids = [
                [d["id"] for line in x["lines"] for d in line["deliveries"]] for x in (ours, raw)
            ]
            if len(ids[0]) != summary["order_deliveries"]:
                raise SystemExit(f"{t[api_key].label}: {len(ids[0])} deliveries")
        else:
            key = "id" if api_key == "api_d" else "number"
            ids = [[item[key] for item in x["items"]] for x in (ours, raw)]
            ours.pop("next_cursor")
            raw.pop("next_cursor")
            if api_key == "api_o" and any(
                item["vendor"]["code"] != summary["vendor_code"] for item in ours["items"]
            ):
                raise SystemExit("API orders: another vendor's order")
        if ids[0] != ids[1] or not ids[0]:
            raise SystemExit(f"{t[api_key].label} and {t[raw_key].label}: different rows")
        same = "identical answers" if ours == raw else "same ids, answers DIFFER"
        print(f"  check: {t[api_key].label} vs raw: {len(ids[0])} rows, {same}")
    api500 = [d["id"] for d in t["api_d500"].fetch()]
    html = t["html"].fetch().content.decode()
    on_page = [int(pk) for pk in re.findall(r'<tr (?:class="[^"]*" )?id="delivery-(\d+)"', html)]
    if SENTINEL in html or len(on_page) != summary["open_deliveries"]:
        raise SystemExit("The open-lines page does not list the 500 rows")
    if len(api500) != len(on_page) or sorted(api500) != sorted(on_page):
        raise SystemExit("The API's 500 deliveries are not the open-lines page's")
    print(
        f"  check: API deliveries (3 pages of 200) vs the HTML page: {len(api500)} rows, same ids"
    )


def report(t: dict[str, Target], args: argparse.Namespace) -> None:
    print(f"  {args.rounds} interleaved rounds x {args.seconds:.1f} s per target, medians")
    header = f"  {'target':<34}{'req/s':>9}{'p50 ms':>9}{'queries':>9}"
    print(header)
    print("  " + "-" * (len(header) - 2))
    for target in t.values():
        per = f"{target.queries}" + (f"/{target.requests}" if target.requests > 1 else "")
        print(f"  {target.label:<34}{target.rps():>9.1f}{target.p50():>9.2f}{per:>9}")
    print()
    for api_key, raw_key in (("api_d", "raw_d"), ("api_o", "raw_o"), ("api_1", "raw_1")):
        # Rates of the same rows, page for page (p50s: a unit of work each).
        ratio = t[raw_key].p50() / t[api_key].p50()
        verdict = "meets" if ratio >= GOAL else "BELOW"
        print(f"  api/raw {t[api_key].label:<32}{ratio:>6.2f}  -> {verdict} the goal >= {GOAL}")
    ratio = t["html"].p50() / t["api_d500"].p50()
    print(f"  api/html (500 rows: 3 API pages of 200, cursor, vs the HTML page): {ratio:.2f}")
    ratio = t["html"].p50() * 200 / 500 / t["api_d"].p50()
    print(f"  api/html per row (one 200-row API page vs the 500-row HTML page): {ratio:.2f}")
    sys.stdout.flush()


def bench_database(kind: str, args: argparse.Namespace, tmp: Path) -> None:
    password = secrets.token_urlsafe(16)
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{tmp / 'vp_api_json.sqlite3'}"
            version = f"SQLite {sqlite3.sqlite_version}"
        else:
            url = stack.enter_context(postgres_database(args.pg_url, []))
            version = postgres_version(url)
        env = django_env(url, tmp / "var", secrets.token_urlsafe(40), password)
        env.update(ALLOWED_HOSTS="testserver", API_RATE_LIMIT="100000000/min")
        started = time.perf_counter()
        run(["-m", "vendorportal", "migrate", "--no-input", "-v0"], env, "migrate")
        summary_text = run(["-m", "bench.benchsite.data"], env, "loading data")
        summary = json.loads(summary_text)
        print(f"\n[{version}] fresh database, migrated and loaded in "
              f"{time.perf_counter() - started:.0f} s: {summary['deliveries']:,} deliveries, "
              f"vendor {summary['vendor_code']} with {summary['open_deliveries']} open",
              flush=True)  # fmt: skip
        env["BENCH_SUMMARY"] = summary_text
        command = [PYTHON, "-m", "bench.api_json", "--child", "--rounds", str(args.rounds),
                   "--seconds", str(args.seconds), "--warmup", str(args.warmup)]  # fmt: skip
        result = subprocess.run(command, cwd=ROOT, env=env, check=False)
        if result.returncode != 0:
            raise SystemExit(f"[{version}] the measurement failed (exit {result.returncode})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="seconds per target per round (default 1)"
    )
    parser.add_argument("--warmup", type=int, default=5, help="warm-up units per target")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL.replace("vp_bench", "vp_api_json"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    tmp = Path(tempfile.mkdtemp(prefix="vp-api-json-"))
    try:
        print(f"Vendor Portal JSON API bench: in-process (django.test.Client), DEBUG=false, "
              f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}", flush=True)  # fmt: skip
        static_env = django_env(f"sqlite:///{tmp / 'static.sqlite3'}", tmp / "var", "static", "")
        run(["-m", "vendorportal", "collectstatic", "--no-input", "-v0"], static_env,
            "collectstatic")  # fmt: skip
        for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
            bench_database(kind, args, tmp)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
