"""Results do not change by accident: a pinned summary of a small run.

Refresh with ``python scripts/update_baseline.py`` only when a change of results is meant.
"""

import json
import math
from pathlib import Path

import pytest

from em_abm.results import run_model

BASELINES = sorted((Path(__file__).parent / "baseline").glob("*.json"))


def _close(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float | int) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


@pytest.mark.parametrize("path", BASELINES, ids=lambda p: p.stem)
def test_summary_matches_pinned_baseline(path):
    pinned = json.loads(path.read_text())
    summary = json.loads(json.dumps(run_model(**pinned["run"]).summary))
    changed = [k for k in pinned["summary"] if not _close(pinned["summary"][k], summary.get(k))]
    assert not changed, (
        f"results changed for {changed[:8]}; if intended, run scripts/update_baseline.py"
    )
    assert summary.keys() == pinned["summary"].keys()
