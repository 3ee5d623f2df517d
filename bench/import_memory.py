"""Peak memory of `vendorportal import` (issue 17, goal 6): files of 10,000 and 100,000
order lines (10 lines per order, 1 or 2 deliveries each: bench/import_sync.py's generator),
each imported into a fresh, migrated database by its own process. Printed per file: its
size, the peak RSS of the import process (`os.wait4`'s ru_maxrss of that child) and the
time it took; and, for scale, the peak RSS of a process that only starts Django
(`vendorportal check`).

A streamed import holds about one record at a time, so its peak does not grow with the
file: the ratio peak(100,000) / peak(10,000) says whether it does. SQLite by default (the
figure is the import process's memory, not the database's); `--db postgres` for
PostgreSQL.

This prints figures; it is not a pass/fail test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.import_sync import generate
from bench.open_lines import DEFAULT_PG_URL, ROOT, django_env, postgres_database, run

PYTHON = sys.executable


def peak_rss(args: list[str], env: dict, log: Path) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of one child process running `python args`."""
    started = time.perf_counter()
    with log.open("w") as out:
        child = subprocess.Popen(
            [PYTHON, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    # wait4, not wait(): its resource usage is this child's alone.
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        sys.stderr.write(log.read_text()[-3000:])
        raise SystemExit(f"{' '.join(args[:3])} exited with {child.returncode}")
    return usage.ru_maxrss / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--sizes", default="10000,100000", help="order lines per file")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="vp-import-memory-"))
    print(f"vendorportal import, peak memory ({args.db}); Python {sys.version.split()[0]}")
    print(f"  {'order lines':>12}{'orders':>9}{'file MiB':>10}{'peak RSS MiB':>14}{'seconds':>9}")
    peaks = {}
    try:
        for size in sizes:
            data = generate(vendors=50, items=2000, lines=size, per_order=10, seed=7)
            file = tmp / f"import-{size}.json"
            file.write_text(json.dumps(data.as_file()))
            with contextlib.ExitStack() as stack:
                if args.db == "sqlite":
                    url = f"sqlite:///{tmp / f'import-{size}.sqlite3'}"
                else:
                    url = stack.enter_context(postgres_database(args.pg_url, []))
                env = django_env(url, tmp / "var", secrets.token_urlsafe(40), "")
                run(["-m", "vendorportal", "migrate", "--no-input", "-v0"], env, "migrate")
                run(
                    ["-m", "vendorportal", "add-buyer", "bench-import@example.com", "--admin"],
                    env,
                    "add-buyer",
                )
                if not peaks:
                    django_only, _ = peak_rss(
                        ["-m", "vendorportal", "check"], env, tmp / "check.log"
                    )
                    print(f"  {'(Django only)':>12}{'':>9}{'':>10}{django_only:>14.0f}")
                peak, seconds = peak_rss(
                    [
                        "-m",
                        "vendorportal",
                        "import",
                        str(file),
                        "--no-progress",
                        "--as",
                        "bench-import@example.com",
                    ],
                    env,
                    tmp / f"import-{size}.log",
                )
            peaks[size] = peak
            mib = file.stat().st_size / 2**20
            print(
                f"  {size:>12,}{len(data.orders):>9,}{mib:>10.1f}{peak:>14.0f}{seconds:>9.1f}",
                flush=True,
            )
        if len(sizes) > 1:
            small, large = min(sizes), max(sizes)
            print(
                f"  peak({large:,}) / peak({small:,}) = {peaks[large] / peaks[small]:.2f}"
                f"  (file x{large / small:.0f}; a streamed import stays near 1)"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
