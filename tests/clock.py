"""The suite's clock: pinned, so that no test depends on the day it runs.

Tests write the dates of their scenarios out (an order due 15 Dec 2026, a proposal for 29 Dec
2026) and assert what the screens print about them, while the product reads today's date to
decide what is overdue, what sorts first, what is due within 14 days. Both hold only while
"today" is the day the test was written for, so the whole suite runs on one pinned day, TODAY,
with the clock ticking from PINNED_AT (time-machine, started before any test is collected).

Subprocesses read the same clock: `pin()` puts the offset between the pinned and the real
clock in the environment and `tests/pinned_clock/` on PYTHONPATH, whose `sitecustomize.py`
applies that offset when any Python subprocess starts (the real ASGI server of the live,
hardening and end-to-end tests, the `vendorportal` commands they run, the worker). Parent and
child therefore agree to the millisecond, which two-factor codes computed in the test and
checked by the server need. The browser keeps the machine's clock; pages use no client-side
dates, and cookies carry Max-Age, which Chromium prefers to Expires.

A test about a calendar edge (a month's end, a leap day) travels there itself with
`time_machine.travel(...)`; nested travels return to the pinned clock when they end.

`make test-shifted` runs the suite with the clock every Python process starts from moved by
days (VENDORPORTAL_TEST_SHIFT_SECONDS, applied by the same sitecustomize), to show that no
test reads the machine's clock past the pin: CI runs it a year ahead.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import time_machine

# A Monday morning, inside the span of dates the scenarios were written for.
PINNED_AT = dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC)
TODAY = PINNED_AT.date()

OFFSET_VARIABLE = "VENDORPORTAL_TEST_CLOCK_OFFSET"
SHIFT_VARIABLE = "VENDORPORTAL_TEST_SHIFT_SECONDS"
SITECUSTOMIZE_DIR = Path(__file__).resolve().parent / "pinned_clock"

_traveller: time_machine.travel | None = None


def pin() -> None:
    """Pin this process's clock and every Python subprocess's it starts from now on."""
    global _traveller
    if _traveller is not None:
        return
    # From the clock a subprocess starts on: the machine's, moved by the shift of `make
    # test-shifted` as sitecustomize moves it (computed, not read from this process's moved
    # clock, which time-machine does not tick while an outer travel is the only one).
    hatch = time_machine.escape_hatch
    machine_now = hatch.time.time() if hatch.is_travelling() else time.time()
    started_on = machine_now + float(os.environ.get(SHIFT_VARIABLE, 0))
    os.environ[OFFSET_VARIABLE] = repr(PINNED_AT.timestamp() - started_on)
    path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SITECUSTOMIZE_DIR), path]))
    _traveller = time_machine.travel(PINNED_AT, tick=True)
    _traveller.start()
    # time-machine starts a ticking clock at its first reading, not at start(): read it now,
    # or the clock lags by however long collection takes to ask the time (seconds: enough
    # for a two-factor code computed here to be refused by the server subprocess).
    time.time()


def days(n: int) -> dt.date:
    """TODAY plus n days (negative: before)."""
    return TODAY + dt.timedelta(days=n)
