"""Kernels of the orders stage (:mod:`em_abm.stages.orders`): new orders' attributes and
slots, and the requesters' daily work with the orders that end."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from em_abm.kernels.behaviour import HazardColumns, HazardTables, _refresh_hazards
from em_abm.kernels.core import (
    _AWAITING_FIT,
    _AWAITING_REMOVAL,
    _CRN_BEHAVIOUR_TAG,
    _CRN_REVIEW_TAG,
    _ESCALATED,
    _FITTED,
    _FREE,
    _NO_DAY,
    _REWORK,
    _UNTAGGED,
    _V_FIT,
    _V_REMOVAL,
    _crn1,
    _mix1,
    categorical,
)


@njit(cache=True, nogil=True)
def _init_orders(
    slots, new_cohort, new_tag, new_area, new_key, new_risk, new_true_risk, new_propensity,
    new_person, received, end,
    region_of_area,
    cohort, tag, area, key, risk, true_risk, propensity, person, region, received_day, end_day,
    attempts, attempts_total, rounds, first_round_open, fitted_day, disconnected_day,
    notifications, to_custody, visit, behaviour_key, proximity,
    violation_table, tamper_by_risk,
    h_violation, h_tamper,
):  # fmt: skip
    """Write new orders' attributes into their slots, with every per-order counter reset:
    no attempts yet, first round open, not fitted, connected, no notifications, no visit
    pending, no proximity condition; then their daily hazards (:func:`refresh_hazards`).
    ``behaviour_key`` is the hash the daily behaviour draws start from."""
    for j in range(slots.shape[0]):
        i = slots[j]
        cohort[i] = new_cohort[j]
        tag[i] = new_tag[j]
        area[i] = new_area[j]
        key[i] = new_key[j]
        risk[i] = new_risk[j]
        true_risk[i] = new_true_risk[j]
        propensity[i] = new_propensity[j]
        person[i] = new_person[j]
        region[i] = region_of_area[new_area[j]]
        received_day[i] = received[j]
        end_day[i] = end[j]
        attempts[i] = 0
        attempts_total[i] = 0
        rounds[i] = 1
        first_round_open[i] = True
        fitted_day[i] = _NO_DAY
        disconnected_day[i] = _NO_DAY
        notifications[i] = 0
        to_custody[i] = False
        visit[i] = 0
        behaviour_key[i] = _mix1(new_key[j] ^ _CRN_BEHAVIOUR_TAG)
        proximity[i] = False
    _refresh_hazards(
        slots, tag, true_risk, propensity, violation_table, tamper_by_risk, h_violation, h_tamper
    )


# What a requester decides about an order escalated after two failed fitting attempts.
REISSUE, REVOKE, LEAVE_ACTIVE = 0, 1, 2


@njit(cache=True, nogil=True)
def review_decision(u, rounds, reissue, revoke, max_rounds):
    """A requester's decision on an escalated order, from its common random number ``u``:
    re-issue for another round of attempts (share ``reissue``), revoke (share ``revoke``) or
    leave the order active without a tag. After ``max_rounds`` rounds it is revoked instead
    of re-issued."""
    if u < reissue:
        return REVOKE if rounds >= max_rounds else REISSUE
    if u < reissue + revoke:
        return REVOKE
    return LEAVE_ACTIVE


@njit(cache=True, nogil=True)
def _requesters_and_ends_day(
    n, d, state, ready_day, visit, attempts, rounds, end_day, key, person,
    first_visit_delay, reissue, revoke, max_rounds, p_next_day, out_closed,
):  # fmt: skip
    """The requesters' daily work and the orders that end today, for every order slot.

    Orders whose rework is done join the fitting queue; escalated orders whose review is
    due are re-issued, revoked or left active untagged (:func:`review_decision`). Then
    orders ending today wait for removal if fitted, and otherwise close. Slots of orders
    that close (revoked or ended) are written to ``out_closed``; returns their number and
    the number revoked.
    """
    k = 0
    revoked = 0
    for i in range(n):
        s = state[i]
        if s == _FREE:
            continue
        if ready_day[i] <= d:
            if s == _REWORK:
                s = _AWAITING_FIT
                state[i] = s
                visit[i] = _V_FIT
                ready_day[i] = d + first_visit_delay
            elif s == _ESCALATED:
                u = _crn1(key[i], _CRN_REVIEW_TAG, rounds[i])
                decision = review_decision(u, rounds[i], reissue, revoke, max_rounds)
                if decision == REVOKE:
                    revoked += 1
                    out_closed[k] = i
                    k += 1
                    continue
                if decision == REISSUE:
                    s = _AWAITING_FIT
                    visit[i] = _V_FIT
                    attempts[i] = 0
                    rounds[i] += 1
                    ready_day[i] = d + first_visit_delay
                else:
                    s = _UNTAGGED
                state[i] = s
        if end_day[i] <= d:
            if s == _FITTED:
                state[i] = _AWAITING_REMOVAL
                visit[i] = _V_REMOVAL
                ready_day[i] = d
                p = person[i]  # the order is over: the people pass looks today
                if p_next_day[p] > d:
                    p_next_day[p] = d
            elif s != _AWAITING_REMOVAL:
                out_closed[k] = i
                k += 1
    return k, revoked


@njit(cache=True, nogil=True)
def order_attributes(cohort, u_area, area_cdf, u_tag, tag_cdf, u_risk, risk_cdf):
    """New orders' home areas (``u_area`` against the cumulative population shares, as
    ``np.searchsorted(area_cdf, u_area, side="right")``) and their tag types and risk levels
    (:func:`categorical` by cohort)."""
    n = cohort.shape[0]
    area = np.empty(n, dtype=np.int16)
    m = area_cdf.shape[0]
    for i in range(n):
        lo, hi = 0, m  # the number of cumulative shares at or below u_area[i]
        while lo < hi:
            mid = (lo + hi) // 2
            if area_cdf[mid] <= u_area[i]:
                lo = mid + 1
            else:
                hi = mid
        area[i] = lo
    return area, categorical(u_tag, tag_cdf, cohort), categorical(u_risk, risk_cdf, cohort)


@njit(cache=True, nogil=True)
def arrival_terms(cohort, gamma_draw, length_scale, u_error, error_rate, rework_draw, d):
    """New orders' lengths (``length_scale`` by cohort times a standard gamma draw), last
    days (``d`` plus the length rounded half to even, at least one day), whether each was
    sent with an error, and the days its rework takes (rounded up)."""
    n = cohort.shape[0]
    length = np.empty(n)
    end = np.empty(n, dtype=np.int32)
    error = np.empty(n, dtype=np.bool_)
    rework = np.empty(n, dtype=np.int32)
    for i in range(n):
        length[i] = length_scale[cohort[i]] * gamma_draw[i]
        end[i] = np.int32(d) + np.int32(max(1.0, np.rint(length[i])))
        error[i] = u_error[i] < error_rate
        rework[i] = np.int32(np.ceil(rework_draw[i]))
    return length, end, error, rework


@njit(cache=True, nogil=True)
def queue_new_orders(slots, error, rework, d, first_visit_delay, state, visit, ready_day):
    """New orders' first step: those sent with errors go back to the requester for
    ``rework`` days; the others wait for their first fitting visit."""
    for j in range(slots.shape[0]):
        i = slots[j]
        if error[j]:
            state[i] = _REWORK
            visit[i] = 0
            ready_day[i] = d + rework[j]
        else:
            state[i] = _AWAITING_FIT
            visit[i] = _V_FIT
            ready_day[i] = d + first_visit_delay


class NewOrders(NamedTuple):
    new_cohort: np.ndarray
    new_tag: np.ndarray
    new_area: np.ndarray
    new_key: np.ndarray
    new_risk: np.ndarray
    new_true_risk: np.ndarray
    new_propensity: np.ndarray
    new_person: np.ndarray
    received: np.ndarray
    end: np.ndarray


class InitOrders(NamedTuple):
    cohort: np.ndarray
    tag: np.ndarray
    area: np.ndarray
    key: np.ndarray
    risk: np.ndarray
    true_risk: np.ndarray
    propensity: np.ndarray
    person: np.ndarray
    region: np.ndarray
    received_day: np.ndarray
    end_day: np.ndarray
    attempts: np.ndarray
    attempts_total: np.ndarray
    rounds: np.ndarray
    first_round_open: np.ndarray
    fitted_day: np.ndarray
    disconnected_day: np.ndarray
    notifications: np.ndarray
    to_custody: np.ndarray
    visit: np.ndarray
    behaviour_key: np.ndarray
    proximity: np.ndarray


def init_orders(slots, new: NewOrders, region_of_area, orders: InitOrders,
                tables: HazardTables, out: HazardColumns) -> None:  # fmt: skip
    """Write new orders into their slots (see :func:`_init_orders`)."""
    _init_orders(slots, *new, region_of_area, *orders, *tables, *out)


class RequesterOrders(NamedTuple):
    state: np.ndarray
    ready_day: np.ndarray
    visit: np.ndarray
    attempts: np.ndarray
    rounds: np.ndarray
    end_day: np.ndarray
    key: np.ndarray
    person: np.ndarray


class RequesterParams(NamedTuple):
    first_visit_delay: int
    reissue: float
    revoke: float
    max_rounds: int


def requesters_and_ends_day(n, d, orders: RequesterOrders, params: RequesterParams, p_next_day,
                            out_closed):  # fmt: skip
    """The requesters' day and the orders that end (see :func:`_requesters_and_ends_day`)."""
    return _requesters_and_ends_day(n, d, *orders, *params, p_next_day, out_closed)
