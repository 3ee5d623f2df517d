"""The suite's pinned clock (tests/clock.py) holds in this process and in its subprocesses."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

import time_machine
from django.utils import timezone

from tests import clock


def test_this_process_runs_on_the_pinned_day():
    assert dt.datetime.now(dt.UTC).date() == clock.TODAY
    assert timezone.localdate() == clock.TODAY
    assert abs(time.time() - clock.PINNED_AT.timestamp()) < 24 * 3600


def test_a_python_subprocess_reads_the_same_clock_as_the_test():
    # Two-factor codes computed here are checked by the server subprocess: the clocks must
    # agree to well within a code's 30-second window, not just on the day.
    before = time.time()
    result = subprocess.run(
        [sys.executable, "-c", "import time; print(repr(time.time()))"],
        env=os.environ,
        capture_output=True,
        text=True,
        check=True,
    )
    after = time.time()
    seen = float(result.stdout.strip())
    assert before - 1 <= seen <= after + 1


def test_a_test_can_travel_to_a_calendar_edge_and_come_back():
    with time_machine.travel(dt.datetime(2028, 2, 29, 12, tzinfo=dt.UTC), tick=False):
        assert timezone.localdate() == dt.date(2028, 2, 29)
    assert timezone.localdate() == clock.TODAY


def test_the_shifted_run_moves_a_process_clock_and_the_pin_still_holds():
    """`make test-shifted`: a process starts on another day; with the suite's offset it is
    back on the pinned clock."""
    code = "import time; print(time.time())"
    shifted = {**os.environ, "VENDORPORTAL_TEST_SHIFT_SECONDS": str(365 * 86400)}
    del shifted[clock.OFFSET_VARIABLE]
    real = time_machine.escape_hatch.time.time()
    moved = subprocess.run(  # noqa: S603 - this interpreter
        [sys.executable, "-c", code], env=shifted, capture_output=True, text=True, check=True
    )
    assert abs(float(moved.stdout) - (real + 365 * 86400)) < 5
    # The offset the pin exported was taken from this process's clock: shifted and offset
    # together land on the pinned clock (only the offset applies to this process's children).
    both = {**shifted, clock.OFFSET_VARIABLE: repr(time.time() - real - 365 * 86400)}
    pinned = subprocess.run(  # noqa: S603 - this interpreter
        [sys.executable, "-c", code], env=both, capture_output=True, text=True, check=True
    )
    assert abs(float(pinned.stdout) - time.time()) < 5
