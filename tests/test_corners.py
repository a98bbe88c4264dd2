"""Named extremes: the model runs, keeps its invariants, and gives the obvious answer."""

import numpy as np
import pytest

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


def test_every_order_in_error():
    _, s = _run({"orders.error_rate": 1.0})
    assert s["order_error_rate"] == pytest.approx(1.0)


def test_unlimited_capacity_everywhere_leaves_no_backlog():
    ts, s = _run(UNLIMITED)
    _, base = _run({})
    assert s["outstanding_visits"] <= base["outstanding_visits"]
    assert ts["outstanding_visits"].iloc[-30:].mean() < 400 * 0.03  # the tolerable level
    assert s["unmonitored_share"] <= base["unmonitored_share"] + 1e-9
