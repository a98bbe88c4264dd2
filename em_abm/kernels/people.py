"""Kernel of the people stage (:mod:`em_abm.stages.people`): a day of everyone the model
follows, in one compiled pass that visits only the people who need it.

**Offending as a Poisson process in cumulative-hazard time.** Each person has a running
cumulative hazard (``cumhaz``: the sum of their daily offending hazards so far, at liberty)
and thresholds ``E_0, E_0 + E_1, ...`` of unit exponentials hashed from their key and the
offence's number. An offence happens on the day the cumulative hazard crosses the next
threshold (several if it crosses several). So offences are a Poisson process whose expected
number is exactly the sum of the daily hazards, and the *k*-th offence of a person has the
same threshold whatever the policy: common random numbers that move an offence smoothly
when a policy changes how long someone is at liberty or tagged.

**Who is visited.** A person's hazard is constant until something happens, so each carries
``next_day``: the first day that needs them (their next offence, release, the end of the
after-removal period, the last day of their follow-up window, the day they may leave, or,
on an order, the day a lost contact passes 14 days). Whatever else changes a tag's working
brings the day forward where it happens: a fit or an equipment check (the field kernel),
lost contact (the behaviour kernel), the order's end (the requesters' kernel), custody or a
closed order (:mod:`em_abm.stages.people`), a change of parameters. Other days a person is
skipped: what they add to the day's counts (days at liberty, on an order and in custody,
expected offences) comes from running totals (``agg``) kept exactly, in fixed point, by every
change of state (:func:`membership`); the daily invariants check them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from em_abm.kernels.core import (
    _AWAITING_REMOVAL,
    _FITTED,
    _NO_DAY,
    _REWORK,
    _V_REMOVAL,
    _mix1,
)

# Person states (population.PersonState)
_P_FREE, _P_LIBERTY, _P_ON_ORDER, _P_CUSTODY = 0, 1, 2, 3
# Consequences of a proven offence (the cumulative probabilities' order in PeopleParams)
OFFENCE_REMAND, OFFENCE_CUSTODY, OFFENCE_BAIL_TAG, OFFENCE_COMMUNITY_TAG, OFFENCE_NONE = range(5)
# Positions in the day's counts (PeopleOut.counts)
(
    C_OFF_TAGGED, C_OFF_UNMONITORED, C_OFF_AFTER, C_EXPECTED_TAGGED, C_PROVEN, C_CUSTODY_DAYS,
    C_F_OFFENCES, C_F_EXPECTED, C_F_CUSTODY, C_F_LIBERTY, C_F_PROVEN, C_ON_ORDER, C_LIBERTY,
    C_RELEASED, C_EXPECTED_ALL,
) = range(15)  # fmt: skip
N_COUNTS = 15
# Running totals of the people skipped on a day (PeopleOut.agg): at liberty (number, sum of
# rates), at liberty inside a follow-up window (number, sum of rates), in custody (number,
# inside a window), on an order (number, sum of rates, inside a window: number and sum of
# rates; sum of rates of those with a working tag). Rates are summed in fixed point
# (RATE_ONE per offence a day), exactly.
(
    A_LIBERTY, A_LIBERTY_RATE, A_F_LIBERTY, A_F_LIBERTY_RATE, A_CUSTODY, A_F_CUSTODY, A_ORDER,
    A_ORDER_RATE, A_F_ORDER, A_F_ORDER_RATE, A_WORKING_RATE,
) = range(11)  # fmt: skip
N_AGG = 11
RATE_ONE = 2.0**40
_INV53 = 1.0 / 9007199254740992.0
_S11 = np.uint64(11)
_PROVEN_TAG = np.uint64(0x5BD1E995) << np.uint64(24)
_OUTCOME_TAG = np.uint64(0x27D4EB2F) << np.uint64(24)


@njit(cache=True, nogil=True)
def _uniform(key, k):
    """A uniform [0, 1) number from a person's key and an index (53 bits)."""
    return np.float64(_mix1(key + np.uint64(k)) >> _S11) * _INV53


@njit(cache=True, nogil=True)
def threshold_gap(key, k):
    """The unit exponential between a person's offences ``k - 1`` and ``k``."""
    return -np.log1p(-_uniform(key, k))


@njit(cache=True, nogil=True)
def _in_window(fs, day, followup_days):
    return fs != _NO_DAY and day >= fs and day < fs + followup_days


@njit(cache=True, nogil=True)
def _add(agg, s, in_window, rate_fx, sign, working):
    """Add (``sign`` 1) or take away (-1) one person's part of the running totals."""
    if s == _P_ON_ORDER:
        agg[A_ORDER] += sign
        agg[A_ORDER_RATE] += sign * rate_fx
        if working:
            agg[A_WORKING_RATE] += sign * rate_fx
        if in_window:
            agg[A_F_ORDER] += sign
            agg[A_F_ORDER_RATE] += sign * rate_fx
    elif s == _P_LIBERTY:
        agg[A_LIBERTY] += sign
        agg[A_LIBERTY_RATE] += sign * rate_fx
        if in_window:
            agg[A_F_LIBERTY] += sign
            agg[A_F_LIBERTY_RATE] += sign * rate_fx
    elif s == _P_CUSTODY:
        agg[A_CUSTODY] += sign
        if in_window:
            agg[A_F_CUSTODY] += sign


@njit(cache=True, nogil=True)
def membership(persons, day, sign, state, f_start, rate_fx, working, followup_days, agg):
    """Add or take away the running-total parts of ``persons`` (in their current states,
    for the day ``day``): done around every change of state made outside the daily pass."""
    for j in range(persons.shape[0]):
        i = persons[j]
        _add(agg, state[i], _in_window(f_start[i], day, followup_days), rate_fx[i], sign,
             working[i])  # fmt: skip


@njit(cache=True, nogil=True)
def _settle1(i, day, cumhaz, h_now, cum_day):
    """Bring person ``i``'s cumulative hazard up to the start of ``day`` (``h_now`` a day
    since their last visit)."""
    if cum_day[i] < day:
        cumhaz[i] += h_now[i] * (day - cum_day[i])
        cum_day[i] = day


@njit(cache=True, nogil=True)
def settle(persons, day, cumhaz, h_now, cum_day):
    """Bring the cumulative hazards of ``persons`` up to the start of ``day`` (people
    skipped since their last visit accumulated ``h_now`` a day)."""
    for j in range(persons.shape[0]):
        _settle1(persons[j], day, cumhaz, h_now, cum_day)


@njit(cache=True, nogil=True)
def _crossing_day(day, cumhaz, target, h):
    """The day the cumulative hazard (``cumhaz`` at the start of ``day``, growing ``h`` a
    day) crosses ``target``: the day of the next offence (never, at no hazard)."""
    if h <= 0.0:
        return np.int64(_NO_DAY)
    gap = (target - cumhaz) / h  # > 0: days of hazard until the crossing
    if gap >= 1e9:
        return np.int64(_NO_DAY)
    return max(day - 1 + np.int64(np.ceil(gap)), np.int64(day))


@njit(cache=True, nogil=True)
def _liberty_next(i, day, cumhaz, target, h, track_until, tagged_episode, after_until, fs,
                  followup_days):  # fmt: skip
    """The next day a person at liberty needs a visit, from the start of ``day``: their next
    offence (the day the cumulative hazard crosses the threshold), the end of the
    after-removal period, the last day of the follow-up window, or the day they may leave."""
    nd = _crossing_day(day, cumhaz[i], target[i], h)
    leave = max(np.int64(track_until[i]), np.int64(day))
    nd = min(nd, leave)
    if tagged_episode[i] and after_until[i] >= day:
        nd = min(nd, np.int64(after_until[i]))
    if _in_window(fs, day, followup_days):
        nd = min(nd, np.int64(fs) + followup_days - 1)
    return nd


@njit(cache=True, nogil=True)
def _people_day(
    n, d, working_after,
    state, rate, rate_fx, offence_key, order, order_uid, true_risk, release_day, after_until,
    tagged_episode, track_until, last_offence_day, f_start, f_cohort, f_proven, cumhaz,
    target, h_now, cum_day, n_offences, next_day, working,
    o_uid, o_state, o_tag, o_disconnected_day, o_fitted_day, o_proximity,
    tag_factor, after_factor, proven_share, outcome_cdf, proximity_factor, followup_days,
    after_days,
    counts, agg, f_reoffenders, out_released, out_offender, out_outcome, out_leave, out_done,
):  # fmt: skip
    """One day of the people followed (slots ``[0, n)``; see the module docstring).

    People on an order, and people at liberty or in custody whose ``next_day`` has come:
    in custody, released on the release day (written to ``out_released``); on an order that
    has ended since yesterday (no longer active), back at liberty in the after-removal
    period. Everyone at liberty (on an order or not) accumulates their hazard: a working tag
    scales it by ``tag_factor[tag * 3 + true_risk]`` (and a victim-proximity condition by
    ``proximity_factor``); after a tagged order, by ``after_factor`` until ``after_until``.
    Each offence is proven with probability ``proven_share``; a proven offence has a
    consequence from ``outcome_cdf``: custody, or a new tagged order for people not on one
    (the day's first such offender goes to ``out_offender``, its outcome to ``out_outcome``).
    Follow-up windows (``f_start`` for ``followup_days`` days) add to the follow-up counts;
    people whose window ends today go to ``out_done``. People at liberty past
    ``track_until`` and outside a window leave (``out_leave``; their slots are freed).
    Returns the numbers written to each output list."""
    a_off_tagged = 0.0
    a_off_unmonitored = 0.0
    a_off_after = 0.0
    a_expected_tagged = 0.0
    a_proven = 0.0
    a_custody = 0.0
    a_f_offences = 0.0
    a_f_expected = 0.0
    a_f_custody = 0.0
    a_f_liberty = 0.0
    a_f_proven = 0.0
    a_on_order = 0.0
    a_liberty = 0.0
    a_released = 0.0
    a_expected = 0.0
    sk = agg.copy()  # the skipped people's totals: agg less everyone visited today
    k_rel = 0
    k_off = 0
    k_leave = 0
    k_done = 0
    # First the people due today (a tight scan of one array), then each of them in turn.
    due = np.empty(n, dtype=np.int64)
    n_due = 0
    for i in range(n):
        if next_day[i] <= d:
            due[n_due] = i
            n_due += 1
    for j in range(n_due):
        i = due[j]
        s = state[i]
        if s == _P_FREE:
            continue
        fs = f_start[i]
        in_window = _in_window(fs, d, followup_days)
        last_window_day = in_window and d == fs + followup_days - 1
        released_today = False
        _add(sk, s, in_window, rate_fx[i], -1, working[i])
        _add(agg, s, in_window, rate_fx[i], -1, working[i])
        if s == _P_CUSTODY:
            if release_day[i] <= d:
                released_today = True
                s = _P_LIBERTY
                state[i] = s
                tagged_episode[i] = False
                cum_day[i] = d
                if track_until[i] < d + after_days:
                    track_until[i] = d + after_days
                out_released[k_rel] = i
                k_rel += 1
                a_released += 1
            else:
                a_custody += 1
                if in_window:
                    a_f_custody += 1
                    if last_window_day:
                        out_done[k_done] = i
                        k_done += 1
                _add(agg, s, _in_window(fs, d + 1, followup_days), rate_fx[i], 1, False)
                nd = np.int64(release_day[i])
                if _in_window(fs, d + 1, followup_days):
                    nd = min(nd, np.int64(fs) + followup_days - 1)
                next_day[i] = nd
                continue
        works = False
        tag = 0
        prox = False
        o = 0
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
                works = os == _FITTED and o_disconnected_day[o] > working_after
                tag = o_tag[o]
                prox = o_proximity[o]
        base = np.float64(rate[i])
        if works:
            hz = base * tag_factor[tag * 3 + true_risk[i]]
            if prox:
                hz *= proximity_factor
            a_expected_tagged += base
        elif s == _P_LIBERTY and tagged_episode[i] and d < after_until[i]:
            hz = base * after_factor
        else:
            hz = base
        if hz < 0.0:
            hz = 0.0
        a_expected += base
        if s == _P_ON_ORDER:
            a_on_order += 1
        else:
            a_liberty += 1
        if in_window:
            a_f_liberty += 1
            a_f_expected += base
        # Days skipped since the last visit, then today's hazard: thresholds crossed today
        # are today's offences.
        _settle1(i, d, cumhaz, h_now, cum_day)
        end = cumhaz[i] + hz
        key = offence_key[i]
        outcome = OFFENCE_NONE
        while target[i] <= end:
            k = n_offences[i]
            n_offences[i] = k + 1
            target[i] += threshold_gap(key, k + 1)
            last_offence_day[i] = d
            if works:
                a_off_tagged += 1
            elif s == _P_ON_ORDER:
                a_off_unmonitored += 1
            else:
                a_off_after += 1
            proven = _uniform(key ^ _PROVEN_TAG, k) < proven_share
            if proven:
                a_proven += 1
            if in_window:
                a_f_offences += 1
                if proven:
                    a_f_proven += 1
                    if not f_proven[i]:
                        f_proven[i] = True
                        f_reoffenders[f_cohort[i]] += 1
            if proven and outcome == OFFENCE_NONE:
                u3 = _uniform(key ^ _OUTCOME_TAG, k)
                x_out = OFFENCE_NONE
                for x in range(outcome_cdf.shape[0]):
                    if u3 < outcome_cdf[x]:
                        x_out = x
                        break
                new_tag = x_out == OFFENCE_BAIL_TAG or x_out == OFFENCE_COMMUNITY_TAG
                if x_out < OFFENCE_BAIL_TAG or (new_tag and s == _P_LIBERTY):
                    outcome = x_out
        if outcome != OFFENCE_NONE:
            out_offender[k_off] = i
            out_outcome[k_off] = outcome
            k_off += 1
        cumhaz[i] = end
        cum_day[i] = d + 1
        h_now[i] = hz
        if last_window_day:
            out_done[k_done] = i
            k_done += 1
        working[i] = works
        acted = released_today or outcome != OFFENCE_NONE  # its consequence comes later today
        if s == _P_LIBERTY:
            if d >= track_until[i] and not in_window and not acted:
                state[i] = _P_FREE
                next_day[i] = _NO_DAY
                out_leave[k_leave] = i
                k_leave += 1
                continue
            _add(agg, s, _in_window(fs, d + 1, followup_days), rate_fx[i], 1, False)
            next_day[i] = _liberty_next(i, d + 1, cumhaz, target, hz, track_until,
                                        tagged_episode, after_until, fs, followup_days)  # fmt: skip
        else:  # on an order: visited again at the next offence, or when its tag may stop
            # working (a lost contact's 14th day); fits, checks and the order's end bring
            # the visit forward (the field, behaviour and requesters' kernels)
            _add(agg, s, _in_window(fs, d + 1, followup_days), rate_fx[i], 1, works)
            nd = _crossing_day(d + 1, cumhaz[i], target[i], hz)
            disc = o_disconnected_day[o]
            if os == _FITTED and disc != _NO_DAY:
                flip = np.int64(disc) + (d - working_after)
                if flip > d:
                    nd = min(nd, flip)
            if _in_window(fs, d + 1, followup_days):
                nd = min(nd, np.int64(fs) + followup_days - 1)
            next_day[i] = nd
    counts[C_OFF_TAGGED] += a_off_tagged
    counts[C_OFF_UNMONITORED] += a_off_unmonitored
    counts[C_OFF_AFTER] += a_off_after
    counts[C_EXPECTED_TAGGED] += a_expected_tagged + sk[A_WORKING_RATE] / RATE_ONE
    counts[C_PROVEN] += a_proven
    counts[C_CUSTODY_DAYS] += a_custody + sk[A_CUSTODY]
    counts[C_F_OFFENCES] += a_f_offences
    counts[C_F_EXPECTED] += a_f_expected + (sk[A_F_LIBERTY_RATE] + sk[A_F_ORDER_RATE]) / RATE_ONE
    counts[C_F_CUSTODY] += a_f_custody + sk[A_F_CUSTODY]
    counts[C_F_LIBERTY] += a_f_liberty + sk[A_F_LIBERTY] + sk[A_F_ORDER]
    counts[C_F_PROVEN] += a_f_proven
    counts[C_ON_ORDER] += a_on_order + sk[A_ORDER]
    counts[C_LIBERTY] += a_liberty + sk[A_LIBERTY]
    counts[C_RELEASED] += a_released
    counts[C_EXPECTED_ALL] += a_expected + (sk[A_LIBERTY_RATE] + sk[A_ORDER_RATE]) / RATE_ONE
    return k_rel, k_off, k_leave, k_done


@njit(cache=True, nogil=True)
def _init_people(
    slots, d, day, after_days, offence_tag,
    new_cohort, new_area, new_key, new_propensity, new_rate, new_true_risk, new_risk,
    new_score,
    state, cohort, area, key, propensity, rate, true_risk, risk, score, offence_key, rate_fx,
    cumhaz, cum_day, h_now, target, n_offences, next_day, order, order_uid, episodes,
    tagged_episode, working, custody_kind, custody_since, release_day, after_until,
    track_until, last_offence_day, f_start, f_cohort, f_proven,
    agg,
):  # fmt: skip
    """Write new people into their slots: at liberty from today (``d``), their first visit
    on ``day`` (the next pass), no order, no offence yet, outside any follow-up; and add them
    to the running totals."""
    for j in range(slots.shape[0]):
        i = slots[j]
        state[i] = _P_LIBERTY
        cohort[i] = new_cohort[j]
        area[i] = new_area[j]
        key[i] = new_key[j]
        propensity[i] = new_propensity[j]
        rate[i] = new_rate[j]
        true_risk[i] = new_true_risk[j]
        risk[i] = new_risk[j]
        score[i] = new_score[j]
        okey = _mix1(key[i] ^ offence_tag)
        offence_key[i] = okey
        fx = np.int64(np.rint(np.float64(rate[i]) * RATE_ONE))
        rate_fx[i] = fx
        cumhaz[i] = 0.0
        cum_day[i] = day
        h_now[i] = 0.0
        target[i] = threshold_gap(okey, 0)
        n_offences[i] = 0
        next_day[i] = day
        order[i] = -1
        order_uid[i] = -1
        episodes[i] = 0
        tagged_episode[i] = False
        working[i] = False
        custody_kind[i] = 0
        custody_since[i] = _NO_DAY
        release_day[i] = _NO_DAY
        after_until[i] = d
        track_until[i] = d + after_days
        last_offence_day[i] = _NO_DAY
        f_start[i] = _NO_DAY
        f_cohort[i] = 0
        f_proven[i] = False
        _add(agg, _P_LIBERTY, False, fx, 1, False)


class NewPeople(NamedTuple):
    new_cohort: np.ndarray
    new_area: np.ndarray
    new_key: np.ndarray
    new_propensity: np.ndarray
    new_rate: np.ndarray
    new_true_risk: np.ndarray
    new_risk: np.ndarray
    new_score: np.ndarray


class InitPeople(NamedTuple):
    state: np.ndarray
    cohort: np.ndarray
    area: np.ndarray
    key: np.ndarray
    propensity: np.ndarray
    rate: np.ndarray
    true_risk: np.ndarray
    risk: np.ndarray
    score: np.ndarray
    offence_key: np.ndarray
    rate_fx: np.ndarray
    cumhaz: np.ndarray
    cum_day: np.ndarray
    h_now: np.ndarray
    target: np.ndarray
    n_offences: np.ndarray
    next_day: np.ndarray
    order: np.ndarray
    order_uid: np.ndarray
    episodes: np.ndarray
    tagged_episode: np.ndarray
    working: np.ndarray
    custody_kind: np.ndarray
    custody_since: np.ndarray
    release_day: np.ndarray
    after_until: np.ndarray
    track_until: np.ndarray
    last_offence_day: np.ndarray
    f_start: np.ndarray
    f_cohort: np.ndarray
    f_proven: np.ndarray


def init_people(slots, d, day, after_days, offence_tag, new: NewPeople, people: InitPeople,
                agg) -> None:  # fmt: skip
    """Write new people into their slots (see :func:`_init_people`)."""
    _init_people(slots, d, day, after_days, offence_tag, *new, *people, agg)


@njit(cache=True, nogil=True)
def _move(i, to, day, followup_days, state, working, cumhaz, h_now, cum_day, f_start, rate_fx,
          agg):  # fmt: skip
    """Person ``i`` goes to state ``to``, with no working tag, from the next pass (``day``):
    their cumulative hazard settled to it, their part of the running totals moved."""
    _settle1(i, day, cumhaz, h_now, cum_day)
    in_window = _in_window(f_start[i], day, followup_days)
    _add(agg, state[i], in_window, rate_fx[i], -1, working[i])
    state[i] = to
    working[i] = False
    _add(agg, to, in_window, rate_fx[i], 1, False)


class MovingPeople(NamedTuple):
    """What a person's change of state (:func:`_move`) reads and writes."""

    state: np.ndarray
    working: np.ndarray
    cumhaz: np.ndarray
    h_now: np.ndarray
    cum_day: np.ndarray
    f_start: np.ndarray
    rate_fx: np.ndarray


@njit(cache=True, nogil=True)
def _admit_to_custody(
    persons, kinds, days, d, day, followup_days,
    custody_kind, custody_since, release_day, order, order_uid, tagged_episode, next_day,
    state, working, cumhaz, h_now, cum_day, f_start, rate_fx,
    o_uid, o_state, o_to_custody, o_visit, o_ready_day,
    agg, out_close, out_admitted,
):  # fmt: skip
    """Send ``persons`` (at liberty or on an order; the first time each is listed today) to
    custody of ``kinds`` for about ``days`` (at least one), from today ``d``; ``day`` is the
    next pass over people. An order still active ends: a fitted one waits for its tag's
    removal (due today), any other closes (written to ``out_close``). Custody starts on
    ``day``: the day of admission, if the pass over people has not counted it yet, else the
    next. Whether each entry was admitted goes to ``out_admitted``. Returns the number
    admitted and the number of orders to close."""
    k_in = 0
    k_close = 0
    for j in range(persons.shape[0]):
        i = persons[j]
        s = state[i]
        out_admitted[j] = False
        if s != _P_LIBERTY and s != _P_ON_ORDER:
            continue  # already held (or gone): one admission a day
        out_admitted[j] = True
        _move(i, _P_CUSTODY, day, followup_days, state, working, cumhaz, h_now, cum_day,
              f_start, rate_fx, agg)  # fmt: skip
        if s == _P_ON_ORDER:
            o = order[i]
            if o_uid[o] == order_uid[i] and o_state[o] >= _REWORK and o_state[o] <= _FITTED:
                o_to_custody[o] = True
                if o_state[o] == _FITTED:  # the equipment is still at the address
                    o_state[o] = _AWAITING_REMOVAL
                    o_visit[o] = _V_REMOVAL
                    o_ready_day[o] = d
                else:
                    out_close[k_close] = o
                    k_close += 1
        custody_kind[i] = kinds[j]
        custody_since[i] = d
        release = day + max(np.int64(1), np.int64(np.rint(days[j])))
        release_day[i] = release
        order[i] = -1
        order_uid[i] = -1
        tagged_episode[i] = False
        h_now[i] = 0.0
        nd = release
        fs = f_start[i]
        if _in_window(fs, day, followup_days):
            nd = min(nd, np.int64(fs) + followup_days - 1)
        next_day[i] = nd
        k_in += 1
    return k_in, k_close


class CustodyPeople(NamedTuple):
    custody_kind: np.ndarray
    custody_since: np.ndarray
    release_day: np.ndarray
    order: np.ndarray
    order_uid: np.ndarray
    tagged_episode: np.ndarray
    next_day: np.ndarray


class CustodyOrders(NamedTuple):
    o_uid: np.ndarray
    o_state: np.ndarray
    o_to_custody: np.ndarray
    o_visit: np.ndarray
    o_ready_day: np.ndarray


def admit_to_custody(persons, kinds, days, d, day, followup_days, people: CustodyPeople,
                     moving: MovingPeople, orders: CustodyOrders, agg, out_close,
                     out_admitted):  # fmt: skip
    """Send people to custody (see :func:`_admit_to_custody`)."""
    return _admit_to_custody(persons, kinds, days, d, day, followup_days, *people, *moving,
                             *orders, agg, out_close, out_admitted)  # fmt: skip


@njit(cache=True, nogil=True)
def _start_orders(
    persons, orders, day, followup_days, o_uid,
    order, order_uid, episodes, tagged_episode, next_day,
    state, working, cumhaz, h_now, cum_day, f_start, rate_fx,
    agg,
):  # fmt: skip
    """People whose new orders (``orders``) start: on an order from the next pass (``day``),
    which works out their hazard; their cumulative hazard settled to it."""
    for j in range(persons.shape[0]):
        i = persons[j]
        _move(i, _P_ON_ORDER, day, followup_days, state, working, cumhaz, h_now, cum_day,
              f_start, rate_fx, agg)  # fmt: skip
        order[i] = orders[j]
        order_uid[i] = o_uid[orders[j]]
        episodes[i] += 1
        tagged_episode[i] = False
        next_day[i] = day


class StartPeople(NamedTuple):
    order: np.ndarray
    order_uid: np.ndarray
    episodes: np.ndarray
    tagged_episode: np.ndarray
    next_day: np.ndarray


def start_orders(persons, orders, day, followup_days, o_uid, people: StartPeople,
                 moving: MovingPeople, agg) -> None:  # fmt: skip
    """People whose new orders start (see :func:`_start_orders`)."""
    _start_orders(persons, orders, day, followup_days, o_uid, *people, *moving, agg)


@njit(cache=True, nogil=True)
def _orders_closed(
    slots, d, day, followup_days, after_days,
    o_person, o_uid, o_fitted_day,
    order, order_uid, tagged_episode, after_until, track_until, next_day,
    state, working, cumhaz, h_now, cum_day, f_start, rate_fx,
    agg,
):  # fmt: skip
    """Orders closed on day ``d`` (``slots``): their people, if still on them, are at
    liberty in their after-removal period, with their cumulative hazard settled to the next
    pass (``day``), which schedules them."""
    for j in range(slots.shape[0]):
        s = slots[j]
        i = o_person[s]
        if state[i] != _P_ON_ORDER or order[i] != s or order_uid[i] != o_uid[s]:
            continue
        _move(i, _P_LIBERTY, day, followup_days, state, working, cumhaz, h_now, cum_day,
              f_start, rate_fx, agg)  # fmt: skip
        tagged_episode[i] = o_fitted_day[s] != _NO_DAY
        after_until[i] = d + after_days
        if track_until[i] < d + after_days:
            track_until[i] = d + after_days
        next_day[i] = day


class ClosedPeople(NamedTuple):
    order: np.ndarray
    order_uid: np.ndarray
    tagged_episode: np.ndarray
    after_until: np.ndarray
    track_until: np.ndarray
    next_day: np.ndarray


class ClosedOrders(NamedTuple):
    o_person: np.ndarray
    o_uid: np.ndarray
    o_fitted_day: np.ndarray


def orders_closed(slots, d, day, followup_days, after_days, orders: ClosedOrders,
                  people: ClosedPeople, moving: MovingPeople, agg) -> None:  # fmt: skip
    """People whose orders closed (see :func:`_orders_closed`)."""
    _orders_closed(slots, d, day, followup_days, after_days, *orders, *people, *moving, agg)


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
            out_u[i, j] = np.float64(_mix1(base + np.uint64(j + 1)) >> _S11) * _INV53
    return out_key, out_u


class PeopleDay(NamedTuple):
    state: np.ndarray
    rate: np.ndarray
    rate_fx: np.ndarray
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
    cumhaz: np.ndarray
    target: np.ndarray
    h_now: np.ndarray
    cum_day: np.ndarray
    n_offences: np.ndarray
    next_day: np.ndarray
    working: np.ndarray


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
    agg: np.ndarray  # int64 [N_AGG]: the running totals
    f_reoffenders: np.ndarray  # by cohort of the follow-up's first order
    out_released: np.ndarray
    out_offender: np.ndarray
    out_outcome: np.ndarray
    out_leave: np.ndarray
    out_done: np.ndarray


def people_day(n, d, working_after, people: PeopleDay, orders: PeopleOrders,
               params: PeopleParams, out: PeopleOut):  # fmt: skip
    """A day of the people followed (see :func:`_people_day`)."""
    return _people_day(n, d, working_after, *people, *orders, *params, *out)
