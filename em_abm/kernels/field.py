"""Kernels of the field stage (:mod:`em_abm.stages.field`): the visits due, a day of visits,
and the hours carried over."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from em_abm.kernels.core import (
    _ESCALATED,
    _FITTED,
    _NO_DAY,
    _S56,
    _V_CHECK,
    _V_FIT,
    _V_REMOVAL,
    CRN_COLLECT,
    CRN_FIT,
    _crn1,
)

# Counters returned by :func:`field_visits_day`, in this order (metric column names).
FIELD_COUNTERS = (
    "visits_done", "visits_done.fit", "visits_done.check", "visits_done.removal",
    "kpi_checks", "kpi_checks_on_time", "kpi_removals", "kpi_removals_on_time",
    "kpi_first_attempts", "kpi_first_attempts_on_time",
    "fits", "fits_within_two", "visits_failed", "escalations", "first_rounds_concluded",
    "removals", "devices_collected", "devices_lost",
    "kpi_fit_attempts", "kpi_fit_attempts_on_time",
)  # fmt: skip


_CRN_FIT_TAG = np.uint64(CRN_FIT) << _S56
_CRN_COLLECT_TAG = np.uint64(CRN_COLLECT) << _S56


@njit(cache=True, nogil=True)
def _field_visits_day(
    cand, d,
    region_of, visit, area, tag, state, attempts, attempts_total, first_round_open,
    fitted_day, disconnected_day, ready_day, key, person,
    stock, cap,
    crew, onsite, travel, required_days, n_regions, n_tags,
    fit_success, collection_rate, reattempt_delay, review_days,
    counts, used, waiting, out_won, out_removed, p_next_day,
):  # fmt: skip
    """One day of field visits: each region's officers take the visits ``cand`` (already in
    the policy's order, grouped by region) until their hours ``cap`` are spent; a fit needs
    a device of its type in the region's ``stock``. Outcomes are written to the order arrays:
    fits succeed with probability ``fit_success`` (two failures escalate the order),
    checks restore contact, removals collect the device with probability
    ``collection_rate`` and free the order. Returns the number of fitted orders written to
    ``out_won`` and of removed orders written to ``out_removed``; adds :data:`FIELD_COUNTERS`
    to ``counts``, hours used to ``used`` and flags regions with visits left in ``waiting``.

    Hours are counted as a running total over all candidates, less the total at the start
    of each region's run, exactly as the vectorised formulation it replaces.
    """
    n = cand.shape[0]
    stock0 = stock.copy()
    seen = np.zeros(stock.shape[0], dtype=np.int64)
    keep = np.zeros(n, dtype=np.bool_)
    cost = np.empty(n, dtype=np.float64)
    for j in range(n):
        i = cand[j]
        v = visit[i]
        if v == _V_FIT:
            g = np.int64(region_of[i]) * n_tags + tag[i]
            keep[j] = seen[g] < stock0[g]
            seen[g] += 1
        else:
            keep[j] = True
        cost[j] = crew * (onsite[v] + travel[area[i]])
    cum = 0.0
    before = 0.0
    current = -1
    k_won = 0
    k_rem = 0
    for j in range(n):
        if not keep[j]:
            continue
        i = cand[j]
        r = np.int64(region_of[i])
        if r != current:
            current = r
            before = cum
        cum += cost[j]
        if not (cum - before <= cap[r] + 1e-9):
            waiting[r] = True
            continue
        used[r] += cost[j]
        v = visit[i]
        on_time = d <= ready_day[i] + required_days[v]
        counts[0] += 1
        counts[v] += 1
        if v == _V_CHECK:
            counts[4] += 1
            if on_time:
                counts[5] += 1
            visit[i] = 0
            disconnected_day[i] = _NO_DAY  # an equipment check restores contact
            p = person[i]  # whose tag may work again tomorrow: the people pass looks
            if p_next_day[p] > d + 1:
                p_next_day[p] = d + 1
        elif v == _V_REMOVAL:
            counts[6] += 1
            if on_time:
                counts[7] += 1
            counts[15] += 1
            g = np.int64(region_of[i]) * n_tags + tag[i]
            if _crn1(key[i], _CRN_COLLECT_TAG, 0) < collection_rate:
                stock[g] += 1
                counts[16] += 1
            else:
                counts[17] += 1
            out_removed[k_rem] = i
            k_rem += 1
        else:
            first_attempt = attempts_total[i] == 0
            if first_attempt:
                counts[8] += 1
                if on_time:
                    counts[9] += 1
            if attempts_total[i] < 2:  # the standard two attempts (the Serco KPI)
                counts[18] += 1
                if on_time:
                    counts[19] += 1
            ok = _crn1(key[i], _CRN_FIT_TAG, attempts_total[i]) < fit_success
            attempts_total[i] += 1
            first = first_round_open[i]
            if ok:
                state[i] = _FITTED
                visit[i] = 0
                fitted_day[i] = d
                disconnected_day[i] = _NO_DAY
                p = person[i]  # tagged from tomorrow: the people pass looks
                if p_next_day[p] > d + 1:
                    p_next_day[p] = d + 1
                stock[np.int64(region_of[i]) * n_tags + tag[i]] -= 1
                counts[10] += 1
                if first:
                    counts[11] += 1
                    counts[14] += 1
                    first_round_open[i] = False
                out_won[k_won] = i
                k_won += 1
            else:
                attempts[i] += 1
                counts[12] += 1
                if attempts[i] >= 2:
                    state[i] = _ESCALATED
                    visit[i] = 0
                    ready_day[i] = d + review_days
                    counts[13] += 1
                    if first:
                        counts[14] += 1
                        first_round_open[i] = False
                else:
                    ready_day[i] = d + reattempt_delay
    return k_won, k_rem


@njit(cache=True, nogil=True)
def visit_scan(n, d, state, visit, ready_day, out_idle, out_due):
    """Slots of fitted orders with no visit pending (``out_idle``: candidates for a routine
    equipment check) and of orders with a visit due by day ``d`` (``out_due``); returns
    both counts."""
    k_idle = 0
    k_due = 0
    for i in range(n):
        v = visit[i]
        if v == 0:
            if state[i] == _FITTED:
                out_idle[k_idle] = i
                k_idle += 1
        elif ready_day[i] <= d:
            out_due[k_due] = i
            k_due += 1
    return k_idle, k_due


@njit(cache=True, nogil=True)
def carried_hours(cap, used, waiting, most):
    """Field hours carried into tomorrow: in regions where a visit was left waiting for
    lack of hours, the hours left unused, up to ``most``; elsewhere none."""
    out = np.zeros(cap.shape[0])
    for r in range(cap.shape[0]):
        if waiting[r]:
            out[r] = min(cap[r] - used[r], most)
    return out


class FieldOrders(NamedTuple):
    region_of: np.ndarray  # the order table's ``region``
    visit: np.ndarray
    area: np.ndarray
    tag: np.ndarray
    state: np.ndarray
    attempts: np.ndarray
    attempts_total: np.ndarray
    first_round_open: np.ndarray
    fitted_day: np.ndarray
    disconnected_day: np.ndarray
    ready_day: np.ndarray
    key: np.ndarray
    person: np.ndarray


class FieldParams(NamedTuple):
    crew: float
    onsite: np.ndarray  # hours on site by visit type
    travel: np.ndarray  # hours of travel by area
    required_days: np.ndarray
    n_regions: int
    n_tags: int
    fit_success: float
    collection_rate: float
    reattempt_delay: int
    review_days: int


class FieldOut(NamedTuple):
    counts: np.ndarray  # FIELD_COUNTERS
    used: np.ndarray  # hours used by region
    waiting: np.ndarray  # a visit left waiting for hours, by region
    out_won: np.ndarray
    out_removed: np.ndarray
    p_next_day: np.ndarray  # the people table's next_day (a fit or a check brings it in)


def field_visits_day(cand, d, orders: FieldOrders, stock, cap, params: FieldParams,
                     out: FieldOut):  # fmt: skip
    """One day of field visits (see :func:`_field_visits_day`)."""
    return _field_visits_day(cand, d, *orders, stock, cap, *params, *out)
