"""The range of a run's length and population scale, shared by every way of starting one
(the model, the command line, sweep specs, calibration and targets files).

The upper limits keep a mistyped value from asking for more memory than a machine has: a
run holds its daily series (``years`` x 365 rows) and its orders (about 30,000 x ``scale``
live at once; scale 4 peaks under 400 MB).
"""

from __future__ import annotations

import math

MAX_YEARS = 50.0
MAX_SCALE = 4.0
YEARS_ALLOWED = f"a number of years in (0, {MAX_YEARS:g}]"
SCALE_ALLOWED = f"a number in (0, {MAX_SCALE:g}] (1 = England and Wales)"


def years_ok(value) -> bool:
    return _in_range(value, MAX_YEARS)


def scale_ok(value) -> bool:
    return _in_range(value, MAX_SCALE)


def _in_range(value, top: float) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 < value <= top
    )
