"""Pins the clock of a Python subprocess that a test starts (see tests/clock.py).

Python imports `sitecustomize` at start-up from the first folder on its path that has one;
tests/clock.py puts this folder on PYTHONPATH and the offset between the suite's pinned clock
and the real one in VENDORPORTAL_TEST_CLOCK_OFFSET. Outside the suite neither is set and this
file is never imported.
"""

from __future__ import annotations

import os

_offset = os.environ.get("VENDORPORTAL_TEST_CLOCK_OFFSET")
if _offset:
    import time

    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
