"""Where the time of one open-lines request goes, measured in-process (no HTTP server).

    DJANGO_SETTINGS_MODULE=bench.benchsite.settings DATABASE_URL=... BENCH_EMAIL=... \
    python -m bench.benchsite.profile [--requests N]

Runs the full middleware stack through Django's test client as the bench's vendor login:
first plain timings of the product pages and the bare page, then cProfile over the
open-lines page (and, with --order, the order page), printed as a phase breakdown plus the
top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from vendorportal.accounts.models import User  # noqa: E402

OURS = "/portal/open-lines/"
BARE = "/bench/bare-open-lines/"

# (label, file suffix, function name): cumulative time of these, per request.
PHASES = [
    ("whole request (handler)", "django/core/handlers/base.py", "get_response"),
    ("  session load (SessionStore.load)", "sessions/backends/db.py", "load"),
    ("  user load (get_user)", "contrib/auth/__init__.py", "get_user"),
    ("  view open_lines", "vendorportal/web/views.py", "open_lines"),
    ("    filter form", "vendorportal/web/views.py", "_open_lines_form"),
    ("    count query (QuerySet.count)", "django/db/models/query.py", "count"),
    ("    rows + total query (open_line_page)", "purchasing/selectors.py", "open_line_page"),
    ("      SQL compile (as_sql)", "django/db/models/sql/compiler.py", "as_sql"),
    ("      DB execute (CursorWrapper.execute)", "django/db/backends/utils.py", "execute"),
    ("      value converters (apply_converters)", "sql/compiler.py", "apply_converters"),
    ("    rows HTML (open_line_rows_html)", "vendorportal/web/rows.py", "open_line_rows_html"),
    ("    page template (render)", "django/shortcuts.py", "render"),
    ("  DB connect", "django/db/backends/base/base.py", "connect"),
    ("  DB close (request_finished)", "django/db/__init__.py", "close_old_connections"),
]


ORDER_PHASES = [
    ("whole request (handler)", "django/core/handlers/base.py", "get_response"),
    ("  view order_detail", "vendorportal/portal/views.py", "order_detail"),
    ("    order_context", "vendorportal/web/views.py", "order_context"),
    ("      order page reads (order_page)", "purchasing/selectors.py", "order_page"),
    ("        SQL compile (as_sql)", "django/db/models/sql/compiler.py", "as_sql"),
    ("        DB execute (CursorWrapper.execute)", "django/db/backends/utils.py", "execute"),
    ("      lines HTML (order_line_rows_html)", "vendorportal/web/rows.py", "order_line_rows_html"),
    ("    page template (render)", "django/shortcuts.py", "render"),
    ("      form widgets (Widget.render)", "django/forms/widgets.py", "render"),
    ("      reverse()", "django/urls/base.py", "reverse"),
]


@contextmanager
def sql_timer() -> Iterator[list[float]]:
    """Wall time spent inside cursor.execute (for PostgreSQL this includes fetching; for
    SQLite rows are fetched later, while iterating)."""
    spent: list[float] = []

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append(time.perf_counter() - start)

    # execute_wrapper is per connection object; the connection object survives reconnects.
    with connection.execute_wrapper(wrapper):
        yield spent


def timed(client: Client, path: str, n: int) -> tuple[float, float, float]:
    """Median ms per request, SQL ms per request, queries per request."""
    times = []
    with sql_timer() as spent:
        for _ in range(n):
            start = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
    return statistics.median(times) * 1000, sum(spent) / n * 1000, len(spent) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--order", default="", help="also profile this order's page")
    args = parser.parse_args()
    n = args.requests
    order = f"/portal/orders/{args.order}/" if args.order else ""

    user = User.objects.get(email=os.environ["BENCH_EMAIL"])
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    pages = [p for p in (OURS, order, BARE) if p]
    for path in pages:
        for _ in range(5):
            client.get(path)

    print(f"In-process, {connection.vendor}, {n} requests each (test client, full middleware):")
    print(f"  {'page':<28}{'median ms':>10}{'SQL ms':>9}{'queries':>9}")
    for path in pages:
        median, sql, queries = timed(client, path, n)
        print(f"  {path:<28}{median:>10.2f}{sql:>9.2f}{queries:>9.1f}")

    profile(client, OURS, PHASES, n, args.top)
    if order:
        profile(client, order, ORDER_PHASES, n, args.top)


def profile(
    client: Client, path: str, phases: list[tuple[str, str, str]], n: int, top: int
) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        client.get(path)
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in raw.values()) / n * 1000
    print(f"\ncProfile of {path} (ms per request, inflated by profiling; {total:.1f} ms total):")
    for label, suffix, name in phases:
        ct = sum(
            v[3] for (file, _line, func), v in raw.items() if func == name and file.endswith(suffix)
        )
        calls = sum(
            v[1] for (file, _line, func), v in raw.items() if func == name and file.endswith(suffix)
        )
        print(f"  {label:<44}{ct / n * 1000:>8.2f} ms  ({calls / n:.0f} calls)")
    print(f"\nTop {top} functions by own time:")
    stats.sort_stats("tottime").print_stats(top)


if __name__ == "__main__":
    main()
