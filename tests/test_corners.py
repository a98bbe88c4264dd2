"""Named extremes: the model runs, keeps its invariants, and gives the obvious answer."""

import numpy as np
import pytest

from em_abm import params as P
from em_abm.model import EMModel
from em_abm.results import build_summary, build_timeseries

UNLIMITED = {
    "field.capacity_multiplier": 5.0,
    "monitoring.capacity_multiplier": 5.0,
    "probation.capacity_multiplier": 100.0,
    "police.capacity_multiplier": 1000.0,
    "home_office.capacity_multiplier": 100.0,
}


def _run(overrides, years=0.5, scale=0.03):
    m = EMModel(rng=3, years=years, scale=scale, overrides=overrides, check_invariants=True)
    m.run()
    ts = build_timeseries(m)
    assert np.isfinite(ts.drop(columns="date").to_numpy()).all()
    return ts, build_summary(m, ts)


def test_no_demand_means_no_orders_and_nobody_tagged():
    # The system starts at its steady state, which without inflow is empty.
    ts, s = _run({"demand.multiplier": 0.0}, years=0.3)
    assert s["orders_received"] == 0
    assert (ts["tagged"] == 0).all() and (ts["outstanding_visits"] == 0).all()
    assert s["cost_total_gbp"]["total"] == 0


def test_fitting_almost_never_succeeds():
    # The registry's lowest fitting success (0.01): hardly any tags are fitted, the tagged
    # stock runs down, and orders are revoked after their rounds of attempts.
    ts, s = _run({"field.fit_success_prob": 0.01})
    assert s["install_within_two_attempts_rate"] < 0.05
    assert ts["tagged"].iloc[-1] < 0.5 * ts["tagged"].iloc[0]
    assert s["orders_revoked"] > 0


def test_unlimited_capacity_everywhere_leaves_no_backlog():
    ts, s = _run(UNLIMITED)
    _, base = _run({})
    assert s["outstanding_visits"] <= base["outstanding_visits"]
    assert ts["outstanding_visits"].iloc[-30:].mean() < 400 * 0.03  # the tolerable level
    assert s["unmonitored_share"] <= base["unmonitored_share"] + 1e-9


def test_no_field_capacity_means_no_fits_and_a_growing_backlog():
    # From the steady state (no warm-up): nothing is fitted and the backlog climbs until
    # orders end unfitted as fast as they arrive.
    ts, s = _run({"field.capacity_multiplier": 0.0, "time.warmup_days": 0}, years=0.3)
    _, base = _run({"time.warmup_days": 0}, years=0.3)
    assert s["fits"] == 0 and base["fits"] > 0
    weekly = ts["outstanding_visits"].to_numpy()[::7]
    assert (np.diff(weekly[:8]) > 0).all(), weekly
    assert weekly[-1] > 20 * base["outstanding_visits"]


# ---------------------------------------------------------------------------------------
# Every parameter at its lower and at its upper bound, one at a time (every choice, both
# booleans). A share inside a group moves to its bound and the others of the group take up
# the rest in proportion, so that the group still sums to one.
def _with_group_rest(name: str, value: float) -> dict:
    p = P.PARAMS[name]
    out = {name: value}
    if p.group:
        others = [n for n in P.groups()[p.group] if n != name]
        rest = sum(P.PARAMS[n].default for n in others)
        for n in others:
            d = P.PARAMS[n].default
            out[n] = (1.0 - value) * (d / rest if rest > 0 else 1.0 / len(others))
    return out


def _corner_cases():
    for p in P.PARAMS.values():
        if p.kind == "choice":
            values = [("choice", c) for c in p.choices]
        elif p.kind == "bool":
            values = [("false", False), ("true", True)]
        else:
            values = [("lower", p.lower), ("upper", p.upper)]
        for label, v in values:
            if v is None:
                continue
            if p.kind == "float":
                v = float(v)
            yield pytest.param(p.name, v, id=f"{p.name}={label}")


@pytest.mark.parametrize(("name", "value"), list(_corner_cases()))
def test_every_parameter_at_its_bounds(name, value):
    overrides = {"time.warmup_days": 10, **_with_group_rest(name, value)}
    m = EMModel(rng=5, years=0.06, scale=0.01, overrides=overrides, check_invariants=True)
    m.run()  # conservation, capacities and stock invariants every day
    ts = build_timeseries(m)
    numeric = ts.drop(columns="date").to_numpy()
    assert np.isfinite(numeric).all() and (numeric >= -1e-9).all()
    s = build_summary(m, ts)
    for key in ("unmonitored_share", "install_within_two_attempts_rate", "device_collection_rate"):
        assert 0.0 <= s[key] <= 1.0, key
    assert min(s["cost_total_gbp"].values()) >= 0


# A 20-year horizon at full scale: no crash, no NaN, a steady state that stays steady, and
# peak memory within twice a 3-year run's (each run in its own process, so that each peak
# is its own).
_LONG_RUN = """
import json, resource, sys
import numpy as np
import em_abm
r = em_abm.run("baseline_2026", seed=1, years=float(sys.argv[1]), scale=1.0)
from em_abm.metrics import signed_names
ts = r.timeseries
x = ts.drop(columns="date").to_numpy()
unsigned = ts.drop(columns=["date", *(c for c in signed_names() if c in ts)]).to_numpy()
tagged = ts["tagged"].to_numpy()
print(json.dumps({
    "finite": bool(np.isfinite(x).all()), "nonnegative": bool((unsigned >= -1e-9).all()),
    "first_year_tagged": float(tagged[:365].mean()),
    "last_year_tagged": float(tagged[-365:].mean()),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


@pytest.mark.slow  # 50 s of one CI worker (two full-scale runs): `make test-slow` runs it
def test_a_20_year_full_scale_run_stays_finite_steady_and_within_memory():
    import json
    import subprocess
    import sys

    def run(years):
        out = subprocess.run([sys.executable, "-c", _LONG_RUN, str(years)], capture_output=True,
                             text=True, check=True, timeout=600)  # fmt: skip
        return json.loads(out.stdout.strip().splitlines()[-1])

    short, long = run(3), run(20)
    assert long["finite"] and long["nonnegative"]
    assert long["last_year_tagged"] == pytest.approx(long["first_year_tagged"], rel=0.15)
    assert long["peak_rss_mb"] <= 2 * short["peak_rss_mb"], (short, long)
