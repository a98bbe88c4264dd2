"""Invariants under random parameters drawn inside the registry's bounds (hypothesis)."""

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from em_abm import params as P
from em_abm.metrics import signed_names
from em_abm.model import EMModel
from em_abm.results import build_summary, build_timeseries

# Scalar parameters a sweep could vary (shares inside groups are left at their defaults so
# that the groups still sum to one; warm-up and durations kept short for speed).
SKIP = {"time.warmup_days"}
NUMERIC = [
    p
    for p in P.PARAMS.values()
    if p.kind in ("float", "int") and not p.group and p.name not in SKIP
]


@st.composite
def param_sets(draw):
    chosen = draw(
        st.lists(st.sampled_from(NUMERIC), min_size=1, max_size=12, unique_by=lambda p: p.name)
    )
    out = {}
    for p in chosen:
        if p.kind == "int":
            out[p.name] = draw(st.integers(int(p.lower), int(p.upper)))
        else:
            out[p.name] = draw(st.floats(p.lower, p.upper, allow_nan=False, allow_infinity=False))
    for c in P.COHORTS:  # keep orders short so a short run exercises whole lifecycles
        out.setdefault(f"demand.duration_mean_days.{c}", 30.0)
    return out


SCALE = 0.02
# Parameters inside their bounds can still ask for a very large system (a demand of 300,000
# orders a year per cohort lasting three years is 900,000 people): such draws are left out,
# since the run's size, not its correctness, is what they test (the memory check of a long
# full-scale run does that).
MAX_PEOPLE = 20_000


def expected_people(overrides: dict) -> float:
    """Orders active at the start: inflow times mean length, summed over cohorts."""
    p = {**P.defaults(), **overrides}
    per_year = sum(
        p[f"demand.orders_per_year.{c}"] * p[f"demand.duration_mean_days.{c}"] / 365.0
        for c in P.COHORTS
    )
    return per_year * p["demand.multiplier"] * SCALE


# Profiles (tests/conftest.py): 200 fixed examples in `make test`, 2,000 fresh ones in
# `make test-long`.
@given(overrides=param_sets(), seed=st.integers(0, 2**31 - 1))
def test_invariants_hold_for_any_parameters_in_bounds(overrides, seed):
    assume(expected_people(overrides) <= MAX_PEOPLE)
    overrides = {"time.warmup_days": 20, **overrides}
    m = EMModel(rng=seed, years=0.15, scale=SCALE, overrides=overrides, check_invariants=True)
    m.run()  # conservation of orders, devices and notifications; capacity; every day
    ts = build_timeseries(m)
    numeric = ts.drop(columns="date").to_numpy()
    assert np.isfinite(numeric).all()
    # Everything but the signed metrics (offences averted: a tag can raise offending) is a
    # count, a share or a cost: never negative.
    unsigned = ts.drop(columns=["date", *(c for c in signed_names() if c in ts)]).to_numpy()
    assert (unsigned >= -1e-9).all()
    summary = build_summary(m, ts)
    for name in (
        "unmonitored_share",
        "install_within_two_attempts_rate",
        "nfa_share",
        "alert_to_notification_rate",
        "device_collection_rate",
        "order_error_rate",
    ):
        assert 0.0 <= summary[name] <= 1.0, name
