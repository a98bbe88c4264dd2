"""Compiled kernels against the numpy formulations they replace: the same numbers, bit for
bit, so that moving a step into a kernel never changes results."""

import gc

import numpy as np
import pytest

from em_abm import kernels as K
from em_abm.model import EMModel
from em_abm.stages.field import bernoulli_positions as _bernoulli_positions


def _bernoulli_reference(rng, n, p):
    """The numpy formulation of :func:`em_abm.stages.field.bernoulli_positions`."""
    if n == 0 or p <= 0.0:
        return np.empty(0, dtype=np.int64)
    if p >= 1.0:
        return np.arange(n)
    out, pos = [], -1
    while True:
        k = int(n * p + 4 * np.sqrt(n * p) + 16)
        idx = pos + np.cumsum(np.minimum(rng.geometric(p, size=k), n + 1))
        out.append(idx[idx < n])
        if idx[-1] >= n:
            break
        pos = int(idx[-1])
    return np.concatenate(out)


@pytest.mark.parametrize("seed", range(6))
def test_bernoulli_positions_equal_the_numpy_formulation(seed):
    pick = np.random.default_rng(seed)
    for _ in range(30):
        n = int(pick.integers(0, 5000))
        p = float(pick.choice([1e-12, 1e-4, 0.011, 0.3, 0.97, pick.random()]))
        a, b = np.random.default_rng(seed + 100), np.random.default_rng(seed + 100)
        np.testing.assert_array_equal(_bernoulli_positions(a, n, p), _bernoulli_reference(b, n, p))
        assert a.random() == b.random()  # the same draws were used


@pytest.mark.parametrize("seed", range(4))
def test_new_order_terms_equal_the_numpy_formulation(seed):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(0, 400)), int(rng.integers(-240, 1000))
    cohort = rng.integers(0, 5, n).astype(np.int8)
    gamma, scale = rng.standard_gamma(1.3, n), rng.uniform(5, 400, 5)
    gamma[: n // 10] = rng.integers(0, 3, n // 10) + 0.5 / scale[cohort[: n // 10]]  # ties
    u_err, expo = rng.random(n), rng.exponential(4.0, n)
    length, end, error, rework = K.arrival_terms(cohort, gamma, scale, u_err, 0.1, expo, d)
    ref_length = scale[cohort] * gamma
    np.testing.assert_array_equal(length, ref_length)
    np.testing.assert_array_equal(end, d + np.maximum(1, np.round(ref_length)).astype(np.int32))
    np.testing.assert_array_equal(error, u_err < 0.1)
    np.testing.assert_array_equal(rework, np.ceil(expo).astype(np.int32))
    assert end.dtype == np.int32 and rework.dtype == np.int32

    area_cdf = np.cumsum(rng.dirichlet(np.ones(43)))
    area_cdf[-1] = 1.0
    tag_cdf = np.cumsum(rng.dirichlet(np.ones(4), size=5), axis=1)
    risk_cdf = np.cumsum(rng.dirichlet(np.ones(3), size=5), axis=1)
    u_area, u_tag, u_risk = rng.random(n), rng.random(n), rng.random(n)
    u_area[: n // 10] = area_cdf[rng.integers(0, 43, n // 10)]  # exactly on a boundary
    area, tag, risk = K.order_attributes(cohort, u_area, area_cdf, u_tag, tag_cdf, u_risk, risk_cdf)
    np.testing.assert_array_equal(
        area, np.searchsorted(area_cdf, u_area, side="right").astype(np.int16)
    )
    np.testing.assert_array_equal(tag, (u_tag[:, None] >= tag_cdf[cohort]).sum(axis=1))
    np.testing.assert_array_equal(risk, (u_risk[:, None] >= risk_cdf[cohort]).sum(axis=1))


@pytest.mark.parametrize("seed", range(4))
def test_reorder_and_carried_hours_equal_the_numpy_formulation(seed):
    rng = np.random.default_rng(seed)
    stock, on_order = rng.integers(0, 50, (11, 4)), rng.integers(0, 30, (11, 4))
    fits = rng.uniform(0, 5, (11, 4))
    qty, total = K.reorder_quantities(stock, on_order, fits, 7.0, 21.0, 0.8)
    position = stock + on_order
    low = position < 7.0 * fits
    ref = np.where(low, np.maximum(np.ceil(21.0 * fits).astype(np.int64) - position, 0), 0)
    ref = np.floor(ref * 0.8).astype(np.int64)
    np.testing.assert_array_equal(qty, ref)
    assert total == ref.sum()

    cap, used = rng.uniform(0, 80, 11), rng.uniform(0, 80, 11)
    waiting = rng.random(11) < 0.5
    np.testing.assert_array_equal(
        K.carried_hours(cap, used, waiting, 7.5),
        np.where(waiting, np.minimum(cap - used, 7.5), 0.0),
    )


def test_a_run_spaces_collections_and_restores_the_collector():
    """Young-object collections are spaced out while a run lasts, and the thresholds are
    restored afterwards (also when the run fails; automatic collection left off stays off)."""
    before = gc.get_threshold()
    seen = []
    model = EMModel(rng=1, years=0.02, scale=0.01)
    step = model.step

    def spy():
        seen.append(gc.get_threshold())
        step()

    model.step = spy
    try:
        gc.set_threshold(700, 10, 10)
        model.run()
        assert seen and all(t[0] >= 100_000 and t[1:] == (10, 10) for t in seen)
        assert gc.get_threshold() == (700, 10, 10)

        failing = EMModel(rng=1, years=0.02, scale=0.01)
        failing.step = lambda: 1 / 0
        with pytest.raises(ZeroDivisionError):
            failing.run()
        assert gc.get_threshold() == (700, 10, 10)

        gc.set_threshold(0, 10, 10)
        seen.clear()
        model = EMModel(rng=1, years=0.02, scale=0.01)
        step = model.step
        model.step = spy
        model.run()
        assert seen and all(t[0] == 0 for t in seen)
    finally:
        gc.set_threshold(*before)


def test_every_kernel_view_spreads_into_the_compiled_parameters_in_order():
    """A stage passes named views; the wrapper spreads them positionally. The views' field
    names, in order, must be the compiled function's parameter names, so no array can land
    in another's place."""
    import inspect

    from em_abm import kernels

    for name, (compiled, *parts) in kernels.PLANS.items():
        spread = []
        for part in parts:
            spread += [part] if isinstance(part, str) else list(part._fields)
        params = list(inspect.signature(compiled.py_func).parameters)
        assert spread == params, name
        wrapper = list(inspect.signature(getattr(kernels, name)).parameters)
        assert len(wrapper) <= 12, (name, len(wrapper))


def test_people_of_closed_orders_equal_the_numpy_formulation():
    """:func:`em_abm.kernels.orders_closed` against the numpy steps it replaced: the people
    still on the closed orders are at liberty, settled, in their after-removal period, with
    the running totals moved, bit for bit; anyone else is left alone."""
    from em_abm.kernels import people as KP
    from em_abm.population import PersonState

    m = EMModel(rng=7, years=0.3, scale=0.05)
    for _ in range(m.warmup + 60):
        m.step()
    st, pt, o = m.stages.people, m.people, m.orders
    live = np.flatnonzero(o.view("state"))
    slots = np.random.default_rng(1).choice(live, 300, replace=False)
    d, day = m.day, m.day + 1
    # some inside a follow-up window, some followed longer than the after-removal period
    pt.f_start[o.person[slots[::2]]] = day - 10
    pt.track_until[o.person[slots[1::3]]] = d + 3 * st.after_days
    fields = KP.ClosedPeople._fields + KP.MovingPeople._fields
    before = {f: getattr(pt, f).copy() for f in fields}
    agg = st.agg.copy()
    before_agg = agg.copy()
    # the numpy formulation, on copies
    ref = {f: v.copy() for f, v in before.items()}
    ref_agg = agg.copy()
    persons = o.person[slots]
    mine = ((ref["state"][persons] == PersonState.ON_ORDER) & (ref["order"][persons] == slots)
            & (ref["order_uid"][persons] == o.uid[slots]))  # fmt: skip
    p, s = persons[mine], slots[mine]
    assert 50 < len(p) < len(slots)  # some closed orders' people had moved on
    KP.settle(p, day, ref["cumhaz"], ref["h_now"], ref["cum_day"])
    KP.membership(p, day, -1, ref["state"], ref["f_start"], ref["rate_fx"], ref["working"],
                  st.followup_days, ref_agg)  # fmt: skip
    ref["state"][p] = PersonState.LIBERTY
    ref["working"][p] = False
    ref["tagged_episode"][p] = o.fitted_day[s] != np.iinfo(np.int32).max
    ref["after_until"][p] = d + st.after_days
    ref["track_until"][p] = np.maximum(ref["track_until"][p], d + st.after_days)
    KP.membership(p, day, 1, ref["state"], ref["f_start"], ref["rate_fx"], ref["working"],
                  st.followup_days, ref_agg)  # fmt: skip
    ref["next_day"][p] = day
    # the kernel
    K.orders_closed(slots, d, day, st.followup_days, st.after_days, o.views(K.ClosedOrders),
                    pt.views(K.ClosedPeople), pt.views(K.MovingPeople), agg)  # fmt: skip
    for f in fields:
        np.testing.assert_array_equal(getattr(pt, f), ref[f], err_msg=f)
    np.testing.assert_array_equal(agg, ref_agg)
    assert np.all(pt.state[p] == PersonState.LIBERTY)
    assert (ref_agg != before_agg).sum() >= 4  # in and out of windows, at liberty, on orders
