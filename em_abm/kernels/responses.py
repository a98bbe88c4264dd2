"""Kernels of the responses stage (:mod:`em_abm.stages.responses`): the packs waiting at each
desk, and a day of responses."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from em_abm.kernels.core import (
    _AWAITING_REMOVAL,
    _AWAITING_RESPONSE,
    _FITTED,
    _IN_TRANSIT,
    _POLICE,
    _PROBATION,
    _REWORK,
    _S56,
    _V_REMOVAL,
    _crn1,
)


@njit(cache=True, nogil=True)
def responses_waiting(
    n, d, state, responder, delivered_day, serious, region, area, expiry_days, desk_offset,
    out_waiting, out_desk,
):  # fmt: skip
    """Breach packs with their responders today: those that have arrived join the
    responder's queue (``state`` from in transit to awaiting response). Packs past the
    responder's expiry lapse: their slots are freed, and how many (and how many serious)
    are returned. The others are
    written to ``out_waiting`` with their desk in ``out_desk`` (a probation region, a police
    force or the Home Office, numbered from ``desk_offset[responder]``); returns
    (waiting, lapsed, serious lapsed)."""
    k = 0
    gone = 0
    gone_serious = 0
    for i in range(n):
        st = state[i]
        if st == _IN_TRANSIT and delivered_day[i] <= d:  # the pack has arrived
            st = _AWAITING_RESPONSE
            state[i] = st
        if st != _AWAITING_RESPONSE:
            continue
        r = responder[i]
        if d - delivered_day[i] >= expiry_days[r]:
            state[i] = 0
            gone += 1
            if serious[i]:
                gone_serious += 1
            continue
        if r == _PROBATION:
            place = np.int64(region[i])
        elif r == _POLICE:
            place = np.int64(area[i])
        else:
            place = 0
        out_waiting[k] = i
        out_desk[k] = desk_offset[r] + place
        k += 1
    return k, gone, gone_serious


@njit(cache=True, nogil=True)
def _responses_day(
    waiting, desk, credit, rate, d,
    nt_state, nt_responder, nt_cohort, nt_serious, nt_risk, nt_region, nt_key, nt_sent_time,
    nt_breach_time, nt_order_slot, nt_order_uid,
    o_uid, o_state, o_to_custody, o_visit, o_ready_day,
    outcome_probs, probation_caseload, caseload_threshold, overload_shift, nfa,
    is_custodial, is_compliance, return_to_court, resentence_prob, custody_kind_of,
    resentence_kind, outcome_event, resentence_event, high_risk,
    counts, outcome_counts, out_waited, n_by, out_high, out_keep,
    out_custody, out_custody_kind, out_close,
):  # fmt: skip
    """Each desk acts on its packs (``waiting``, in the policy's order and grouped by desk)
    up to its whole ``credit``; ``credit`` is reduced by the packs taken. Responses are timed
    within the day, in hours: a desk with ``rate`` responses a day makes its n-th of the day
    at ``d + n / rate`` at the earliest, and never before the pack arrived (its
    ``sent_time``), so with capacity to spare a pack is answered the hour it arrives.

    The outcome of each pack is drawn from ``outcome_probs[responder, cohort, serious]``
    with its common random number; past the threshold caseload a share of probation
    decisions moves to no further action. If the order is still the one the breach was
    about: compliance outcomes (and a return to court without custody) lower the wearer's
    propensity (the order is written to ``out_keep``); custody ends the order, after a
    removal visit if a tag is fitted (orders to close go to ``out_close``).

    Returns (answered, serious unanswered within 24 hours, orders to keep count, custody
    admissions, orders to close). Waiting times go to ``out_waited[responder]`` (counts in
    ``n_by``), breach-to-response times of serious high-risk breaches to ``out_high``,
    the packs that send their person to custody to ``out_custody`` with the kind of custody
    (``custody_kind_of[outcome]``, ``resentence_kind`` after a return to court) in
    ``out_custody_kind``.
    """
    n = waiting.shape[0]
    outcome_tag = np.uint64(outcome_event) << _S56
    resentence_tag = np.uint64(resentence_event) << _S56
    seen = np.zeros(credit.shape[0], dtype=np.int64)
    cap = np.floor(credit).astype(np.int64)
    answered = np.zeros(credit.shape[0], dtype=np.int64)
    n_outcomes = outcome_probs.shape[3]
    m = 0
    late24 = 0
    k_high = 0
    k_keep = 0
    k_cust = 0
    k_close = 0
    # Orders still the ones their breaches were about, judged before any consequence today.
    chosen = np.zeros(n, dtype=np.bool_)
    valid = np.zeros(n, dtype=np.bool_)
    for j in range(n):
        g = desk[j]
        if seen[g] < cap[g]:
            chosen[j] = True
            i = waiting[j]
            slot = nt_order_slot[i]
            st = o_state[slot]
            valid[j] = o_uid[slot] == nt_order_uid[i] and st >= _REWORK and st <= _FITTED
        seen[g] += 1
    for j in range(n):
        if not chosen[j]:
            continue
        i = waiting[j]
        credit[desk[j]] -= 1.0
        r = nt_responder[i]
        c = nt_cohort[i]
        sv = 1 if nt_serious[i] else 0
        shift = 0.0
        if r == _PROBATION:
            excess = probation_caseload[nt_region[i]] / caseload_threshold - 1.0
            excess = min(max(excess, 0.0), 1.0)
            shift = overload_shift * excess
        acc = 0.0
        u = _crn1(nt_key[i], outcome_tag, 0)
        outcome = n_outcomes - 1
        found = False
        for x in range(n_outcomes):
            pr = outcome_probs[r, c, sv, x] * (1.0 - shift)
            if x == nfa:
                pr += shift
            acc += pr
            if not found and u < acc:
                outcome = x
                found = True
        m += 1
        outcome_counts[r, outcome] += 1
        # The hour of the response: the desk works through the day at its capacity's pace
        # (its n-th response of the day no earlier than n / capacity into the day), and no
        # pack is answered before it arrives.
        g = desk[j]
        t = max(nt_sent_time[i], d + answered[g] / max(rate[g], 1.0))
        answered[g] += 1
        waited = t - nt_sent_time[i]
        out_waited[r, n_by[r]] = waited
        n_by[r] += 1
        if nt_serious[i] and waited > 1.0:
            late24 += 1
        if nt_serious[i] and nt_risk[i] == high_risk:
            out_high[k_high] = t - nt_breach_time[i]
            k_high += 1
        custody = is_custodial[outcome]
        to_court = outcome == return_to_court
        if to_court and _crn1(nt_key[i], resentence_tag, 0) < resentence_prob:
            custody = True
        comply = is_compliance[outcome] or (to_court and not custody)
        slot = nt_order_slot[i]
        if comply and valid[j]:
            out_keep[k_keep] = slot
            k_keep += 1
        if custody:
            out_custody[k_cust] = i
            out_custody_kind[k_cust] = resentence_kind if to_court else custody_kind_of[outcome]
            k_cust += 1
            if valid[j] and not o_to_custody[slot]:
                o_to_custody[slot] = True
                if o_state[slot] == _FITTED:  # the equipment is still at the address
                    o_state[slot] = _AWAITING_REMOVAL
                    o_visit[slot] = _V_REMOVAL
                    o_ready_day[slot] = d
                else:
                    out_close[k_close] = slot
                    k_close += 1
        nt_state[i] = 0
    counts[0] = m
    counts[1] = late24
    return k_high, k_keep, k_cust, k_close


class ResponseNotices(NamedTuple):
    nt_state: np.ndarray
    nt_responder: np.ndarray
    nt_cohort: np.ndarray
    nt_serious: np.ndarray
    nt_risk: np.ndarray
    nt_region: np.ndarray
    nt_key: np.ndarray
    nt_sent_time: np.ndarray
    nt_breach_time: np.ndarray
    nt_order_slot: np.ndarray
    nt_order_uid: np.ndarray


class ResponseOrders(NamedTuple):
    o_uid: np.ndarray
    o_state: np.ndarray
    o_to_custody: np.ndarray
    o_visit: np.ndarray
    o_ready_day: np.ndarray


class ResponseParams(NamedTuple):
    outcome_probs: np.ndarray  # [responder, cohort, serious, outcome]
    probation_caseload: np.ndarray
    caseload_threshold: float
    overload_shift: float
    nfa: int
    is_custodial: np.ndarray
    is_compliance: np.ndarray
    return_to_court: int
    resentence_prob: float
    custody_kind_of: np.ndarray  # kind of custody (params.CUSTODY_KINDS) by outcome
    resentence_kind: int
    outcome_event: int
    resentence_event: int
    high_risk: int


class ResponseOut(NamedTuple):
    counts: np.ndarray
    outcome_counts: np.ndarray  # [responder, outcome]
    out_waited: np.ndarray
    n_by: np.ndarray
    out_high: np.ndarray
    out_keep: np.ndarray
    out_custody: np.ndarray
    out_custody_kind: np.ndarray
    out_close: np.ndarray


def responses_day(waiting, desk, credit, rate, d, notices: ResponseNotices,
                  orders: ResponseOrders, params: ResponseParams, out: ResponseOut):  # fmt: skip
    """Each desk acts on its packs (see :func:`_responses_day`)."""
    return _responses_day(waiting, desk, credit, rate, d, *notices, *orders, *params, *out)
