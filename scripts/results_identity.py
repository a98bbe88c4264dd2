"""Check that a change leaves results bit-for-bit identical (for optimisations).

Runs six configurations that exercise every part of the model (three scenarios, every
policy, the pilots, rationing, contingency, a demand surge) with invariant checks on, and
saves or compares their full daily time series and every per-event sample. The regression
test pins one summary; this compares everything, exactly.

Usage::

    python scripts/results_identity.py save    # before the change
    python scripts/results_identity.py check   # after it: IDENTICAL, or what differs

The snapshot is written to ``results/identity_snapshot.npz`` (not committed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from em_abm.metrics import COLUMNS
from em_abm.model import EMModel
from em_abm.results import run_model
from em_abm.scenario import available

SNAPSHOT = Path(__file__).resolve().parent.parent / "results" / "identity_snapshot.npz"
CONFIGS = {
    "base": dict(scenario="baseline_2026", rng=1, years=1, scale=0.2),
    "sentencing_act": dict(scenario="sentencing_act_2027", rng=2, years=2.5, scale=0.1),
    "transition": dict(scenario="transition_2024", rng=3, years=1, scale=0.1),
    "levers": dict(scenario="baseline_2026", rng=4, years=1, scale=0.1, overrides={
        "policy.visit_queue": "cohort_priority", "policy.alert_triage": "risk_based",
        "policy.response_queue": "risk_first", "pilot.tag_at_court_share": 0.3,
        "pilot.pre_release_share": 0.4, "pilot.victim_proximity_share": 0.5,
        "pilot.automated_scheduling": True, "contingency.enabled": True,
        "allocation.tag_share.court_bail": 0.7, "allocation.cap_per_year.immigration": 300,
        "field.officers": 250}),
    "surge": dict(scenario="baseline_2026", rng=5, years=1, scale=0.1, overrides={
        "policy.visit_queue": "risk_first", "policy.response_queue": "cohort_priority",
        "contingency.enabled": True, "field.officers": 200, "demand.multiplier": 1.3}),
    "deadline": dict(scenario="baseline_2026", rng=6, years=1, scale=0.1, overrides={
        "policy.visit_queue": "deadline_first"}),
}  # fmt: skip
# Every packaged scenario at two seeds, 2 years at scale 0.1, through em_abm.run (its summary
# too, flattened, as well as the daily series).
PACKAGED = [(name, seed) for name in sorted(available()) for seed in (11, 12)]


def snapshot() -> dict[str, np.ndarray]:
    out = {}
    for name, cfg in CONFIGS.items():
        model = EMModel(**cfg, check_invariants=True)
        model.run()
        for i, column in enumerate(COLUMNS):  # by name: an added column is not a change
            out[f"{name}/series/{column}"] = model.series[:, i]
        for sample in sorted(model.samples):  # order within a day may change: compare sorted
            out[f"{name}/sample/{sample}"] = np.sort(model.sample(sample))
    for name, seed in PACKAGED:
        r = run_model(name, seed=seed, years=2, scale=0.1)
        for column in r.timeseries.columns.drop("date"):
            out[f"{name}@{seed}/series/{column}"] = r.timeseries[column].to_numpy()
        for key, value in _flat(r.summary):
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[f"{name}@{seed}/summary/{key}"] = np.array([value], dtype=float)
    return out


def _flat(d: dict, prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flat(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def main() -> int:
    if len(sys.argv) != 2 or sys.argv[1] not in ("save", "check"):
        print(__doc__.split("Usage::")[1].strip(), file=sys.stderr)
        return 2
    now = snapshot()
    if sys.argv[1] == "save":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        np.savez_compressed(SNAPSHOT, **now)
        print(f"saved {SNAPSHOT}")
        return 0
    if not SNAPSHOT.exists():
        print(f"no snapshot at {SNAPSHOT}; run with 'save' first", file=sys.stderr)
        return 2
    before = dict(np.load(SNAPSHOT))
    added = sorted(now.keys() - before.keys())
    differ = sorted(k for k in before.keys() if not _same(before[k], now.get(k)))
    for key in differ:
        print(key)
    if added:
        print(f"new (not compared): {', '.join(added[:8])}{' ...' if len(added) > 8 else ''}")
    print("IDENTICAL" if not differ else "DIFFERENT")
    return 0 if not differ else 1


def _same(a, b) -> bool:
    return (
        a is not None and b is not None and a.shape == b.shape
        and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
