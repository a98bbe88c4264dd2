"""The range of a run's length and population scale, shared by every way of starting one
(the model, the command line, sweep specs, calibration and targets files).

The upper limits keep a mistyped value from asking for more memory than a machine has: a
run holds its daily series (``years`` x 365 rows) and its orders (about 30,000 x ``scale``
live at once; scale 4 peaks under 400 MB). The lower limits keep a run meaningful: at least
one simulated day (a shorter run records nothing and ends before it starts), and a scale of
at least 0.001, about 29 people tagged at once (at 0.0001 a run usually holds nobody, and
every metric is zero or undefined).

Scenario dates lie in [:data:`MIN_DATE`, :data:`MAX_DATE`]: the model's calendar, dated
changes and day counts are only meaningful there, and a date near the year 9999 overflows
the calendar arithmetic.
"""

from __future__ import annotations

import datetime as dt
import math

MAX_YEARS = 50.0
MIN_YEARS = 1 / 365  # one simulated day
MAX_SCALE = 4.0
MIN_SCALE = 0.001
YEARS_ALLOWED = f"a number of years from {MIN_YEARS:.5f} (one day) to {MAX_YEARS:g}"
SCALE_ALLOWED = f"a number from {MIN_SCALE:g} to {MAX_SCALE:g} (1 = England and Wales)"
# Worker processes and seeds at once: each worker holds a model (up to 400 MB), each seed a
# run's table.
MAX_JOBS, MAX_SEEDS = 256, 10_000
MIN_DATE = dt.date(2000, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)
DATE_ALLOWED = f"a date from {MIN_DATE.isoformat()} to {MAX_DATE.isoformat()}"


def years_ok(value) -> bool:
    return _in_range(value, MIN_YEARS, MAX_YEARS)


def scale_ok(value) -> bool:
    return _in_range(value, MIN_SCALE, MAX_SCALE)


def date_ok(value) -> bool:
    return isinstance(value, dt.date) and MIN_DATE <= _as_date(value) <= MAX_DATE


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _in_range(value, low: float, top: float) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= top
    )
