"""The posterior's medians and 90% intervals, quoted to the precision each supports: the
values to write into ``em_abm/params.py`` as the calibrated defaults (with the interval in
their source), after ``make calibrate``.

    python scripts/posterior_summary.py [calibration/fitted/posterior.parquet]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from em_abm import posterior as PO
from em_abm.calibration import quoted


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    table, names = PO.load(path)
    print(f"{len(table)} posterior sets")
    print(f"{'parameter':45s} {'quoted':>10s} {'median':>12s} {'p05':>12s} {'p95':>12s}")
    for name in names:
        p05, p50, p95 = np.quantile(table[name], [0.05, 0.5, 0.95])
        print(f"{name:45s} {quoted(p50, p05, p95):>10s} {p50:12.6g} {p05:12.6g} {p95:12.6g}")


if __name__ == "__main__":
    main()
