"""Refresh the pinned regression baseline (tests/baseline/*.json).

The regression test (tests/test_regression.py) compares the summary of a small, fixed run
with this file, so that an optimisation or refactoring that changes results by accident
fails. Run this script only when a change of results is intended, and say why in the
commit message.

Usage: ``python scripts/update_baseline.py``
"""

from __future__ import annotations

import json
from pathlib import Path

from em_abm.results import run_model

ROOT = Path(__file__).resolve().parent.parent
RUNS = {
    "baseline_2026_seed1_1y_scale0.1": dict(scenario="baseline_2026", seed=1, years=1.0, scale=0.1)
}


def main() -> None:
    for name, spec in RUNS.items():
        summary = run_model(**spec).summary
        path = ROOT / "tests" / "baseline" / f"{name}.json"
        path.write_text(
            json.dumps({"run": spec, "summary": summary}, indent=2, sort_keys=True) + "\n"
        )
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
