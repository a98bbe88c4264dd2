"""Kernel of the people stage (:mod:`em_abm.stages.people`): a day of everyone the model
follows, in one compiled pass."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from em_abm.kernels.core import (
    _FITTED,
    _LOW,
    _NO_DAY,
    _REWORK,
    _S32,
    _U,
    _mix1,
)

# Person states (population.PersonState)
_P_FREE, _P_LIBERTY, _P_ON_ORDER, _P_CUSTODY = 0, 1, 2, 3
# Consequences of a proven offence (the cumulative probabilities' order in PeopleParams)
OFFENCE_REMAND, OFFENCE_CUSTODY, OFFENCE_BAIL_TAG, OFFENCE_COMMUNITY_TAG, OFFENCE_NONE = range(5)
# Positions in the day's counts (PeopleDay.counts)
(
    C_OFF_TAGGED, C_OFF_UNMONITORED, C_OFF_AFTER, C_EXPECTED_TAGGED, C_PROVEN, C_CUSTODY_DAYS,
    C_F_OFFENCES, C_F_EXPECTED, C_F_CUSTODY, C_F_LIBERTY, C_F_PROVEN, C_ON_ORDER, C_LIBERTY,
    C_RELEASED, C_EXPECTED_ALL,
) = range(15)  # fmt: skip
N_COUNTS = 15


@njit(cache=True, nogil=True)
def _people_day(
    n, d, day_hash, working_after,
    state, rate, offence_key, order, order_uid, true_risk, release_day, after_until,
    tagged_episode, track_until, last_offence_day, f_start, f_cohort, f_proven,
    o_uid, o_state, o_tag, o_disconnected_day, o_fitted_day, o_proximity,
    tag_factor, after_factor, proven_share, outcome_cdf, proximity_factor, followup_days,
    after_days,
    counts, f_reoffenders, out_released, out_offender, out_outcome, out_leave, out_done,
):  # fmt: skip
    """One day of every person followed (slots ``[0, n)``).

    In custody: released when the release day has come (written to ``out_released``), else a
    day in custody. On an order whose order has ended since yesterday (its state is no longer
    active): back at liberty, in the after-removal period. Everyone at liberty (on an order or
    not) may offend: a working tag scales the hazard by ``tag_factor[tag * 3 + true_risk]``
    (and a victim-proximity condition by ``proximity_factor``); after a tagged order, by
    ``after_factor`` for ``after_days``. A proven offence (share ``proven_share``) has a
    consequence from ``outcome_cdf``: custody, or a new tagged order for people not on one;
    offenders with a consequence go to ``out_offender`` with it in ``out_outcome``.
    People in the follow-up window (``f_start`` for ``followup_days`` days) add to the
    follow-up counts; those whose window ends today go to ``out_done``. People at liberty
    past ``track_until`` leave (``out_leave``; their slots are freed).

    The day's uniforms come from hashing each person's ``offence_key`` with the day, so the
    same person draws the same numbers on the same day whatever the policy. Returns the
    numbers written to each output list."""
    a_c_off_tagged = 0.0
    a_c_off_unmonitored = 0.0
    a_c_off_after = 0.0
    a_c_expected_tagged = 0.0
    a_c_proven = 0.0
    a_c_custody_days = 0.0
    a_c_f_offences = 0.0
    a_c_f_expected = 0.0
    a_c_f_custody = 0.0
    a_c_f_liberty = 0.0
    a_c_f_proven = 0.0
    a_c_on_order = 0.0
    a_c_liberty = 0.0
    a_c_released = 0.0
    a_c_expected_all = 0.0
    k_rel = 0
    k_off = 0
    k_leave = 0
    k_done = 0
    for i in range(n):
        s = state[i]
        if s == _P_FREE:
            continue
        fs = f_start[i]
        in_window = fs != _NO_DAY and d >= fs and d < fs + followup_days
        if s == _P_CUSTODY:
            if release_day[i] <= d:
                s = _P_LIBERTY
                state[i] = s
                tagged_episode[i] = False
                if track_until[i] < d + after_days:
                    track_until[i] = d + after_days
                out_released[k_rel] = i
                k_rel += 1
                a_c_released += 1
            else:
                a_c_custody_days += 1
                if in_window:
                    a_c_f_custody += 1
                    if d == fs + followup_days - 1:
                        out_done[k_done] = i
                        k_done += 1
                continue
        working = False
        tag = 0
        prox = False
        if s == _P_ON_ORDER:
            o = order[i]
            os = o_state[o]
            if o_uid[o] != order_uid[i] or os < _REWORK or os > _FITTED:  # the order ended
                tagged_episode[i] = o_uid[o] == order_uid[i] and o_fitted_day[o] != _NO_DAY
                s = _P_LIBERTY
                state[i] = s
                after_until[i] = d + after_days
                if track_until[i] < d + after_days:
                    track_until[i] = d + after_days
            else:
                working = os == _FITTED and o_disconnected_day[o] > working_after
                tag = o_tag[o]
                prox = o_proximity[o]
        base = min(np.float64(rate[i]), 1.0)  # at most one offence a day
        if working:
            hz = base * tag_factor[tag * 3 + true_risk[i]]
            if prox:
                hz *= proximity_factor
            a_c_expected_tagged += base
        elif s == _P_LIBERTY and tagged_episode[i] and d < after_until[i]:
            hz = base * after_factor
        else:
            hz = base
        a_c_expected_all += base
        if s == _P_ON_ORDER:
            a_c_on_order += 1
        else:
            a_c_liberty += 1
        h = _mix1(offence_key[i] + day_hash)
        u1 = np.float64(np.float32(h >> _S32) * _U)
        offended = u1 < hz
        proven = False
        if offended:
            last_offence_day[i] = d
            if working:
                a_c_off_tagged += 1
            elif s == _P_ON_ORDER:
                a_c_off_unmonitored += 1
            else:
                a_c_off_after += 1
            proven = np.float32(h & _LOW) * _U < proven_share
            if proven:
                a_c_proven += 1
        if in_window:
            a_c_f_liberty += 1
            a_c_f_expected += base
            if offended:
                a_c_f_offences += 1
                if proven:
                    a_c_f_proven += 1
                    if not f_proven[i]:
                        f_proven[i] = True
                        f_reoffenders[f_cohort[i]] += 1
            if d == fs + followup_days - 1:
                out_done[k_done] = i
                k_done += 1
        if proven:
            u3 = np.float64(_mix1(h) >> np.uint64(11)) * (1.0 / 9007199254740992.0)
            outcome = OFFENCE_NONE
            for x in range(outcome_cdf.shape[0]):
                if u3 < outcome_cdf[x]:
                    outcome = x
                    break
            new_tag = outcome == OFFENCE_BAIL_TAG or outcome == OFFENCE_COMMUNITY_TAG
            if outcome < OFFENCE_BAIL_TAG or (new_tag and s == _P_LIBERTY):
                out_offender[k_off] = i
                out_outcome[k_off] = outcome
                k_off += 1
        if s == _P_LIBERTY and d >= track_until[i] and not in_window:
            state[i] = _P_FREE
            out_leave[k_leave] = i
            k_leave += 1
    counts[C_OFF_TAGGED] += a_c_off_tagged
    counts[C_OFF_UNMONITORED] += a_c_off_unmonitored
    counts[C_OFF_AFTER] += a_c_off_after
    counts[C_EXPECTED_TAGGED] += a_c_expected_tagged
    counts[C_PROVEN] += a_c_proven
    counts[C_CUSTODY_DAYS] += a_c_custody_days
    counts[C_F_OFFENCES] += a_c_f_offences
    counts[C_F_EXPECTED] += a_c_f_expected
    counts[C_F_CUSTODY] += a_c_f_custody
    counts[C_F_LIBERTY] += a_c_f_liberty
    counts[C_F_PROVEN] += a_c_f_proven
    counts[C_ON_ORDER] += a_c_on_order
    counts[C_LIBERTY] += a_c_liberty
    counts[C_RELEASED] += a_c_released
    counts[C_EXPECTED_ALL] += a_c_expected_all
    return k_rel, k_off, k_leave, k_done


@njit(cache=True, nogil=True)
def mix_keys(keys, tag):
    """``mix(key ^ tag)`` of each key: the hash a person's draws of one kind start from."""
    out = np.empty(keys.shape[0], dtype=np.uint64)
    for i in range(keys.shape[0]):
        out[i] = _mix1(keys[i] ^ tag)
    return out


@njit(cache=True, nogil=True)
def episode_keys(keys, tag, episode, count):
    """Keys and ``count`` uniforms for each person's next order: ``mix(mix(key ^ tag) +
    episode * 16 + j)`` (the key: its top 63 bits for j = 0; uniforms: top 53 bits)."""
    n = keys.shape[0]
    out_key = np.empty(n, dtype=np.uint64)
    out_u = np.empty((n, count))
    for i in range(n):
        base = _mix1(keys[i] ^ tag) + np.uint64(episode[i]) * np.uint64(16)
        out_key[i] = _mix1(base) >> np.uint64(1)
        for j in range(count):
            out_u[i, j] = np.float64(_mix1(base + np.uint64(j + 1)) >> np.uint64(11)) * (
                1.0 / 9007199254740992.0
            )
    return out_key, out_u


class PeopleDay(NamedTuple):
    state: np.ndarray
    rate: np.ndarray
    offence_key: np.ndarray
    order: np.ndarray
    order_uid: np.ndarray
    true_risk: np.ndarray
    release_day: np.ndarray
    after_until: np.ndarray
    tagged_episode: np.ndarray
    track_until: np.ndarray
    last_offence_day: np.ndarray
    f_start: np.ndarray
    f_cohort: np.ndarray
    f_proven: np.ndarray


class PeopleOrders(NamedTuple):
    o_uid: np.ndarray
    o_state: np.ndarray
    o_tag: np.ndarray
    o_disconnected_day: np.ndarray
    o_fitted_day: np.ndarray
    o_proximity: np.ndarray


class PeopleParams(NamedTuple):
    tag_factor: np.ndarray  # [tag * 3 + true risk]: 1 - effect while tagged
    after_factor: float
    proven_share: float
    outcome_cdf: np.ndarray  # cumulative: remand, custody, bail with tag, community with tag
    proximity_factor: float
    followup_days: int
    after_days: int


class PeopleOut(NamedTuple):
    counts: np.ndarray  # float64 [N_COUNTS]
    f_reoffenders: np.ndarray  # by cohort of the follow-up's first order
    out_released: np.ndarray
    out_offender: np.ndarray
    out_outcome: np.ndarray
    out_leave: np.ndarray
    out_done: np.ndarray


def people_day(n, d, day_hash, working_after, people: PeopleDay, orders: PeopleOrders,
               params: PeopleParams, out: PeopleOut):  # fmt: skip
    """A day of everyone followed (see :func:`_people_day`)."""
    return _people_day(n, d, day_hash, working_after, *people, *orders, *params, *out)
