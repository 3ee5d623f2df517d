"""Moves and pins the clock of Python processes of the test suite (see tests/clock.py).

Python imports `sitecustomize` at start-up from the first folder on its path that has one;
tests/clock.py and `make test-shifted` put this folder on PYTHONPATH. Outside the suite
neither variable below is set and this file is never imported.

- VENDORPORTAL_TEST_SHIFT_SECONDS (`make test-shifted`): the clock this process starts from is
  the machine's moved by this much, as if the suite ran on another day.
- VENDORPORTAL_TEST_CLOCK_OFFSET (`clock.pin()` in the test process): from there, the offset to
  the suite's pinned clock, so that a subprocess a test starts agrees with the test.
"""

from __future__ import annotations

import os

_shift = os.environ.get("VENDORPORTAL_TEST_SHIFT_SECONDS")
_offset = os.environ.get("VENDORPORTAL_TEST_CLOCK_OFFSET")
if _shift or _offset:
    import time

    import time_machine

    # Each clock is read at once after start(): time-machine starts a ticking clock at its
    # first reading, and a late first reading would put this process behind the test's.
    if _shift:
        time_machine.travel(time.time() + float(_shift), tick=True).start()
        time.time()
    if _offset:
        # Travels nest: time.time() is already the moved clock here, as it was when the
        # test process computed the offset.
        time_machine.travel(time.time() + float(_offset), tick=True).start()
        time.time()
