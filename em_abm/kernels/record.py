"""The day's stocks of orders written into the metrics row (the model's daily record)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from em_abm.kernels.core import _FITTED, _REWORK


@njit(cache=True, nogil=True)
def _record_orders(
    n, state, cohort, tag, visit, ready_day, d, row,
    col_state, col_tagged, cols_tagged_cohort, cols_tagged_tag, col_active,
    col_active_untagged, cols_visits,
):  # fmt: skip
    """The day's stocks of orders written into the metrics ``row``: orders by state
    (``col_state[s]``, -1 for none), tagged orders in all and by cohort and tag, active
    orders with and without a tag, and visits due (``cols_visits[0]`` all, then by type)."""
    n_states = col_state.shape[0]
    by_state = np.zeros(n_states, dtype=np.int64)
    fitted_by_cohort = np.zeros(cols_tagged_cohort.shape[0], dtype=np.int64)
    fitted_by_tag = np.zeros(cols_tagged_tag.shape[0], dtype=np.int64)
    due = np.zeros(cols_visits.shape[0], dtype=np.int64)
    for i in range(n):
        s = state[i]
        by_state[s] += 1
        if s == _FITTED:
            fitted_by_cohort[cohort[i]] += 1
            fitted_by_tag[tag[i]] += 1
        v = visit[i]
        if v != 0 and ready_day[i] <= d:
            due[v] += 1
            due[0] += 1
    for s in range(n_states):
        if col_state[s] >= 0:
            row[col_state[s]] = by_state[s]
    row[col_tagged] = by_state[_FITTED]
    for c in range(fitted_by_cohort.shape[0]):
        row[cols_tagged_cohort[c]] = fitted_by_cohort[c]
    for t in range(fitted_by_tag.shape[0]):
        row[cols_tagged_tag[t]] = fitted_by_tag[t]
    active = 0
    for s in range(_REWORK, _FITTED + 1):
        active += by_state[s]
    row[col_active] = active
    row[col_active_untagged] = active - by_state[_FITTED]
    for v in range(cols_visits.shape[0]):
        row[cols_visits[v]] = due[v]


class RecordOrders(NamedTuple):
    state: np.ndarray
    cohort: np.ndarray
    tag: np.ndarray
    visit: np.ndarray
    ready_day: np.ndarray


class RecordColumns(NamedTuple):
    col_state: np.ndarray
    col_tagged: int
    cols_tagged_cohort: np.ndarray
    cols_tagged_tag: np.ndarray
    col_active: int
    col_active_untagged: int
    cols_visits: np.ndarray


def record_orders(n, orders: RecordOrders, d, row, columns: RecordColumns) -> None:
    """The day's stocks of orders into the metrics ``row`` (see :func:`_record_orders`)."""
    _record_orders(n, *orders, d, row, *columns)
