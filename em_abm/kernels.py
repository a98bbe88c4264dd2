"""Compiled inner loops (numba) for the per-order work done every simulated day.

A numpy expression over the order arrays costs a few microseconds of Python overhead per
call whatever the population, and a day needs hundreds of them; one fused loop over the
orders (or over the day's visits, alerts or breach packs) does the same work in a single
pass. Each kernel reproduces the numpy formulation it replaced operation for operation
(float32 where the arrays are float32, the same hash, sums in the same order), so results
are identical to it; the regression test pins them.

The kernels read and write the model's arrays in place (``OrderTable``, ``NotificationTable``
fields, the supplier's stock); the model's methods say what each stage means and call them.
Common random numbers are built here too: every per-order or per-breach draw is
``mix(mix(key ^ event << 56) + index)``, so it does not depend on which day or in which
order a policy handles the order.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(32)
_LOW = np.uint64(0xFFFFFFFF)
_U = np.float32(1.0 / 4294967296.0)
# Event numbers of the common random numbers (below 256). A per-order or per-breach draw
# hashes the order's (or breach's) key with its event and an index, so draws for different
# purposes are independent, and each is the same whichever day or order a policy handles it.
CRN_FIT, CRN_COLLECT, CRN_REVIEW, CRN_BEHAVIOUR, CRN_SPECIALS = 1, 2, 3, 4, 5
CRN_OUTCOME, CRN_RESENTENCE, CRN_ALLOCATION, CRN_SOURCE, CRN_PROXIMITY = 6, 7, 8, 9, 10
CRN_PACK, CRN_CUSTODY = 11, 12
CRN_NOTIFY = 16  # + alert kind

# Codes shared with the model (kernels cannot import them: population imports this module);
# tests/test_model.py checks that they agree with population.State, Visit, NoticeState,
# agents.monitoring and params.RESPONDERS.
_FREE, _REWORK, _AWAITING_FIT, _ESCALATED, _UNTAGGED, _FITTED, _AWAITING_REMOVAL = range(7)
_NO_DAY = 2147483647  # population.NO_DAY
_V_FIT, _V_CHECK, _V_REMOVAL = 1, 2, 3
_IN_TRANSIT, _AWAITING_RESPONSE = 1, 2
_VIOLATION, _TAMPER, _DISCONNECT, _TECHNICAL = 0, 1, 2, 3
_PROBATION, _POLICE = 0, 1


@njit(cache=True, nogil=True)
def _mix1(x):
    z = x + _M1
    z = (z ^ (z >> _S30)) * _M2
    z = (z ^ (z >> _S27)) * _M3
    return z ^ (z >> _S31)


@njit(cache=True, nogil=True)
def _behaviour_day(
    n, d, day_hash, working_after, early_after,
    state, disconnected_day, fitted_day, behaviour_key, proximity,
    h_violation, h_tamper, h_reoffend, h_reoffend_tagged,
    uid, key, risk, tag, cohort, visit, ready_day,
    serious_by_risk, early_mult, disconnect_p, technical_p, proximity_half, use_proximity,
    a_slot, a_uid, a_key, a_time, a_kind, a_serious, a_risk, a_tag, a_cohort,
):  # fmt: skip
    """One day of behaviour for every order slot.

    Counts (active, tagged, working, offences while working, all offences) and the expected
    offences of the working had they been untagged are returned, with the number of alerts
    last.
    Alerts are written to ``a_*`` (the fields of the monitoring centre's queue). An order
    whose device is tampered with or loses contact is marked disconnected and, unless a
    visit is already pending, gets an equipment-check visit due today.

    Events come from disjoint bands of the day's first uniform ``u1``: violation (serious
    with the risk level's share), tampering, lost contact; the second uniform ``u2`` gives
    false alarms (technical alerts) and, under the victim-proximity pilot, proximity alerts
    (serious violations). Slots ``[0, n)`` are scanned.
    """
    n_active = 0
    n_fitted = 0
    n_work = 0
    n_off_work = 0
    n_off = 0
    expected = 0.0
    k = 0
    one = np.float32(1.0)
    half = np.float32(0.5)
    t = d + 0.5
    # Caps keep the bands of u1 disjoint (violation, tamper, lost contact <= 0.1 by its
    # bounds): a day has at most one device event, whatever the multipliers.
    cap_v = np.float32(0.6)
    cap_t = np.float32(0.2)
    for i in range(n):
        s = state[i]
        if s < _REWORK or s > _FITTED:
            continue
        n_active += 1
        fitted = s == _FITTED
        n_fitted += fitted
        disc = disconnected_day[i]
        connected = fitted and disc == 2147483647
        working = fitted and disc > working_after
        h = _mix1(behaviour_key[i] + day_hash)
        u1 = np.float32(h >> _S32) * _U
        u2 = np.float32(h & _LOW) * _U
        hr = h_reoffend[i]
        hr_eff = h_reoffend_tagged[i] if working else hr
        offended = (one - u2) < hr_eff
        if working:
            n_work += 1
            expected += np.float64(hr)
            if offended:
                n_off_work += 1
        if offended:
            n_off += 1
        if not connected:
            continue
        base = h_violation[i]
        hv = base * early_mult if fitted_day[i] > early_after else base
        if hv > cap_v:
            hv = cap_v
        tamper = h_tamper[i]
        if tamper > cap_t:
            tamper = cap_t
        ht = hv + tamper
        hd = ht + disconnect_p
        below = u1 < hd
        false_alarm = u2 < technical_p
        prox = use_proximity and proximity[i] and abs(u2 - half) < proximity_half
        if not (below or false_alarm or prox):
            continue
        serious = False
        if below:
            if u1 >= ht:
                kind = _DISCONNECT
            elif u1 >= hv:
                kind = _TAMPER
                serious = True
            else:
                kind = _VIOLATION
                serious = np.float64(u1) < np.float64(hv) * serious_by_risk[risk[i]]
        elif prox and not false_alarm:  # a proximity alert is a serious violation
            kind = _VIOLATION
            serious = True
        else:
            kind = _TECHNICAL
        if kind == _TAMPER or kind == _DISCONNECT:
            disconnected_day[i] = d
            if visit[i] == 0:
                visit[i] = _V_CHECK
                ready_day[i] = d
        a_slot[k] = i
        a_uid[k] = uid[i]
        a_key[k] = key[i]
        a_time[k] = t
        a_kind[k] = kind
        a_serious[k] = serious
        a_risk[k] = risk[i]
        a_tag[k] = tag[i]
        a_cohort[k] = cohort[i]
        k += 1
    return n_active, n_fitted, n_work, n_off_work, n_off, expected, k


_S11 = np.uint64(11)
_S56 = np.uint64(56)
_INV53 = 1.0 / 9007199254740992.0


@njit(cache=True, nogil=True)
def _crn1(key, tag, index):
    """One common random number: uniform [0, 1) from an order's (or breach's) key, its event
    already shifted into the top byte (``tag``) and an index."""
    return np.float64(_mix1(_mix1(key ^ tag) + np.uint64(index)) >> _S11) * _INV53


@njit(cache=True, nogil=True)
def crn_uniform(keys, event, index):
    """Uniform [0, 1) numbers for (order key, event, index): ``mix(mix(key ^ event << 56) +
    index)``, the top 53 bits. ``index`` is an array of the same length as ``keys``."""
    out = np.empty(keys.shape[0], dtype=np.float64)
    tag = np.uint64(event) << _S56
    for i in range(keys.shape[0]):
        out[i] = _crn1(keys[i], tag, index[i])
    return out


@njit(cache=True, nogil=True)
def crn_uniform_scalar(keys, event, index):
    """As :func:`crn_uniform`, with one ``index`` for every key."""
    out = np.empty(keys.shape[0], dtype=np.float64)
    tag = np.uint64(event) << _S56
    for i in range(keys.shape[0]):
        out[i] = _crn1(keys[i], tag, index)
    return out


@njit(cache=True, nogil=True)
def rank_within(group):
    """Position of each element among earlier elements of the same (non-negative) group."""
    n = group.shape[0]
    out = np.empty(n, dtype=np.int64)
    if n == 0:
        return out
    seen = np.zeros(group.max() + 1, dtype=np.int64)
    for i in range(n):
        g = group[i]
        out[i] = seen[g]
        seen[g] += 1
    return out


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
    fitted_day, disconnected_day, ready_day, key, to_custody, cohort, risk,
    stock, cap,
    crew, onsite, travel, required_days, n_regions, n_tags,
    fit_success, collection_rate, reattempt_delay, review_days,
    after_removal,
    counts, used, waiting, out_won, out_removed,
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
            if not to_custody[i]:  # back in the community after removal
                after_removal[cohort[i], risk[i]] += 1.0
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
def notify_decisions(
    key, kind, serious, tag, time, p_serious, p_alcohol, p_minor, p_technical, alcohol,
    event_base, day_offset,
):  # fmt: skip
    """Which reviewed alerts become breach notifications: a serious violation or tampering
    with ``p_serious``, another violation with ``p_alcohol`` (alcohol tags) or ``p_minor``,
    a technical alert or lost contact with ``p_technical``. The uniform is the alert's
    common random number (order key, event ``event_base + kind``, day of the alert)."""
    n = key.shape[0]
    out = np.empty(n, dtype=np.bool_)
    for i in range(n):
        k = kind[i]
        if k == _VIOLATION:
            if serious[i]:
                prob = p_serious
            elif tag[i] == alcohol:
                prob = p_alcohol
            else:
                prob = p_minor
        elif k == _TAMPER:
            prob = p_serious
        else:
            prob = p_technical
        day = np.int64(np.floor(time[i])) + day_offset
        out[i] = _crn1(key[i], np.uint64(event_base + k) << _S56, day) < prob
    return out


@njit(cache=True, nogil=True)
def _refresh_hazards(
    slots, tag, risk, cohort, propensity, proximity,
    violation_table, tamper_by_risk, reoffend_table, effect_by_tag, proximity_factor,
    h_violation, h_tamper, h_reoffend, h_reoffend_tagged,
):  # fmt: skip
    """Daily hazards of the orders in ``slots`` from their tag, risk, cohort and propensity:
    violation and tampering while monitored, offending untagged and while tagged (less
    under a victim-proximity condition)."""
    for j in range(slots.shape[0]):
        i = slots[j]
        r = np.int64(risk[i])
        t = np.int64(tag[i])
        prop = np.float64(propensity[i])
        h_violation[i] = violation_table[t * 3 + r] * prop
        h_tamper[i] = tamper_by_risk[r] * prop
        hr = reoffend_table[cohort[i], r]
        h_reoffend[i] = hr
        prox = proximity_factor if proximity[i] else 1.0
        h_reoffend_tagged[i] = hr * (1.0 - effect_by_tag[t]) * prox


@njit(cache=True, nogil=True)
def _init_orders(
    slots, new_cohort, new_tag, new_area, new_key, new_risk, new_propensity, received, end,
    region_of_area,
    cohort, tag, area, key, risk, propensity, region, received_day, end_day, attempts,
    attempts_total, rounds, first_round_open, fitted_day, disconnected_day, notifications,
    to_custody, visit, behaviour_key, proximity,
    violation_table, tamper_by_risk, reoffend_table, effect_by_tag, proximity_factor,
    h_violation, h_tamper, h_reoffend, h_reoffend_tagged,
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
        propensity[i] = new_propensity[j]
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
        slots, tag, risk, cohort, propensity, proximity,
        violation_table, tamper_by_risk, reoffend_table, effect_by_tag, proximity_factor,
        h_violation, h_tamper, h_reoffend, h_reoffend_tagged,
    )  # fmt: skip


# What a requester decides about an order escalated after two failed fitting attempts.
REISSUE, REVOKE, LEAVE_ACTIVE = 0, 1, 2
_CRN_REVIEW_TAG = np.uint64(CRN_REVIEW) << _S56
_CRN_BEHAVIOUR_TAG = np.uint64(CRN_BEHAVIOUR) << _S56
_CRN_SPECIALS_TAG = np.uint64(CRN_SPECIALS) << _S56
_CRN_PACK_TAG = np.uint64(CRN_PACK) << _S56


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
    n, d, state, ready_day, visit, attempts, rounds, end_day, key,
    first_visit_delay, reissue, revoke, max_rounds, out_closed,
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
            elif s != _AWAITING_REMOVAL:
                out_closed[k] = i
                k += 1
    return k, revoked


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
def lowest_free(state, n, out):
    """The lowest free slots (``state == 0``) among the first ``n``, up to ``len(out)`` of
    them, written to ``out``; returns how many were found."""
    k = 0
    m = out.shape[0]
    for i in range(n):
        if k == m:
            break
        if state[i] == 0:
            out[k] = i
            k += 1
    return k


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
    waiting, desk, credit, d,
    nt_state, nt_responder, nt_cohort, nt_serious, nt_risk, nt_region, nt_key, nt_sent_time,
    nt_breach_time, nt_order_slot, nt_order_uid,
    o_uid, o_state, o_to_custody, o_visit, o_ready_day,
    outcome_probs, probation_caseload, caseload_threshold, overload_shift, nfa,
    is_custodial, is_compliance, return_to_court, resentence_prob, custody_days_mean,
    outcome_event, resentence_event, custody_event, high_risk,
    counts, outcome_counts, custody_by_cohort, out_waited, n_by, out_high, out_keep,
    out_custody_days, out_close,
):  # fmt: skip
    """Each desk acts on its packs (``waiting``, in the policy's order and grouped by desk)
    up to its whole ``credit``; ``credit`` is reduced by the packs taken.

    The outcome of each pack is drawn from ``outcome_probs[responder, cohort, serious]``
    with its common random number; past the threshold caseload a share of probation
    decisions moves to no further action. If the order is still the one the breach was
    about: compliance outcomes (and a return to court without custody) lower the wearer's
    propensity (the order is written to ``out_keep``); custody ends the order, after a
    removal visit if a tag is fitted (orders to close go to ``out_close``).

    Returns (answered, serious unanswered within 24 hours, orders to keep count, custody
    admissions, orders to close). Waiting times go to ``out_waited[responder]`` (counts in
    ``n_by``), breach-to-response times of serious high-risk breaches to ``out_high``,
    custody lengths to ``out_custody_days``.
    """
    n = waiting.shape[0]
    outcome_tag = np.uint64(outcome_event) << _S56
    resentence_tag = np.uint64(resentence_event) << _S56
    custody_tag = np.uint64(custody_event) << _S56
    seen = np.zeros(credit.shape[0], dtype=np.int64)
    cap = np.floor(credit).astype(np.int64)
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
        outcome_counts[outcome] += 1
        waited = d + 0.5 - nt_sent_time[i]
        out_waited[r, n_by[r]] = waited
        n_by[r] += 1
        if nt_serious[i] and waited > 1.0:
            late24 += 1
        if nt_serious[i] and nt_risk[i] == high_risk:
            out_high[k_high] = d + 0.5 - nt_breach_time[i]
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
            custody_by_cohort[c] += 1
            u_c = _crn1(nt_key[i], custody_tag, 0)
            out_custody_days[k_cust] = -custody_days_mean[outcome] * np.log1p(-u_c)
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


@njit(cache=True, nogil=True)
def categorical(u, cdf, row):
    """Category of each uniform ``u[i]`` under the cumulative shares ``cdf[row[i]]``: the
    number of cumulative shares at or below it."""
    n = u.shape[0]
    out = np.empty(n, dtype=np.int8)
    m = cdf.shape[1]
    for i in range(n):
        c = row[i]
        k = 0
        for j in range(m):
            if u[i] >= cdf[c, j]:
                k += 1
        out[i] = k
    return out


@njit(cache=True, nogil=True)
def reorder_quantities(stock, on_order, expected_daily_fits, reorder_point_days,
                       order_up_to_days, supply_multiplier):  # fmt: skip
    """Devices to order for each region and tag type: where stock plus deliveries due is
    below the reorder point (days of expected fits), up to the order-up-to level, times the
    supply multiplier (rounded down). Returns the quantities and their total."""
    qty = np.zeros(stock.shape, dtype=np.int64)
    total = np.int64(0)
    flat_qty, flat_stock = qty.reshape(-1), stock.reshape(-1)
    flat_due, flat_fits = on_order.reshape(-1), expected_daily_fits.reshape(-1)
    for i in range(flat_qty.shape[0]):
        position = flat_stock[i] + flat_due[i]
        if position < reorder_point_days * flat_fits[i]:
            target = np.int64(np.ceil(order_up_to_days * flat_fits[i]))
            q = np.int64(np.floor(max(target - position, 0) * supply_multiplier))
            flat_qty[i] = q
            total += q
    return qty, total


@njit(cache=True, nogil=True)
def carried_hours(cap, used, waiting, most):
    """Field hours carried into tomorrow: in regions where a visit was left waiting for
    lack of hours, the hours left unused, up to ``most``; elsewhere none."""
    out = np.zeros(cap.shape[0])
    for r in range(cap.shape[0]):
        if waiting[r]:
            out[r] = min(cap[r] - used[r], most)
    return out


@njit(cache=True, nogil=True)
def gaps_to_positions(gaps, start, n):
    """Positions ``start`` plus the running sum of ``gaps`` (each capped at ``n + 1``, which
    keeps the sum from overflowing): those below ``n``, and the last position reached."""
    out = np.empty(gaps.shape[0], dtype=np.int64)
    pos = np.int64(start)
    k = 0
    for j in range(gaps.shape[0]):
        pos += min(np.int64(gaps[j]), np.int64(n) + 1)
        if pos < n:
            out[k] = pos
            k += 1
    return out[:k], pos


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


_S40 = np.uint64(40)


@njit(cache=True, nogil=True)
def notice_draws(
    a_key, a_kind, a_time, a_cohort, responder_of_cohort, specials, specials_to_home_office,
    home_office,
):  # fmt: skip
    """Keys, responders and pack-time uniforms (kept within [1e-12, 1 - 1e-12] for the
    normal quantile) of new breach notifications.

    A notification's key hashes the alert (order key, kind, day), not the order in which
    alerts were reviewed, so its pack time and outcome do not depend on triage. Specials
    go to the Home Office with probability ``specials_to_home_office``, else to probation.
    """
    n = a_key.shape[0]
    key = np.empty(n, dtype=np.uint64)
    responder = np.empty(n, dtype=np.int8)
    u_pack = np.empty(n, dtype=np.float64)
    for i in range(n):
        day = np.uint64(np.int64(np.floor(a_time[i])))
        k = _mix1(a_key[i] ^ (np.uint64(a_kind[i]) << _S40)) + day
        key[i] = k
        c = a_cohort[i]
        r = responder_of_cohort[c]
        if c == specials and _crn1(a_key[i], _CRN_SPECIALS_TAG, 0) < specials_to_home_office:
            r = home_office
        responder[i] = r
        u_pack[i] = min(max(_crn1(k, _CRN_PACK_TAG, 0), 1e-12), 1.0 - 1e-12)
    return key, responder, u_pack


@njit(cache=True, nogil=True)
def _write_notices(
    slots, a_slot, a_uid, a_cohort, a_risk, a_serious, a_time, key, responder, hours, d,
    o_uid, o_region, o_area, o_notifications,
    state, order_slot, order_uid, cohort, risk, serious, region, area, nt_responder,
    breach_time, sent_time, delivered_day, nt_key,
    window_hours, by_cohort, out_lag,
):  # fmt: skip
    """Write new breach notifications (in transit until ``delivered_day``, the day after
    the pack is sent: ``hours`` after review, which is no earlier than the middle of day
    ``d``) and count them against their orders. Returns (notifications within
    the KPI window, serious ones); lags in hours go to ``out_lag``, counts by cohort are
    added to ``by_cohort``."""
    in_window = 0
    n_serious = 0
    for j in range(slots.shape[0]):
        i = slots[j]
        s = a_slot[j]
        state[i] = _IN_TRANSIT
        order_slot[i] = s
        order_uid[i] = a_uid[j]
        cohort[i] = a_cohort[j]
        risk[i] = a_risk[j]
        serious[i] = a_serious[j]
        region[i] = o_region[s]
        area[i] = o_area[s]
        nt_responder[i] = responder[j]
        breach_time[i] = a_time[j]
        sent = max(a_time[j], d + 0.5) + hours[j] / 24.0
        sent_time[i] = sent
        delivered_day[i] = np.int32(np.ceil(sent))
        nt_key[i] = key[j]
        if o_uid[s] == a_uid[j]:
            o_notifications[s] += 1
        by_cohort[a_cohort[j]] += 1
        lag = (sent - a_time[j]) * 24.0
        out_lag[j] = lag
        if lag <= window_hours:
            in_window += 1
        if a_serious[j]:
            n_serious += 1
    return in_window, n_serious


def crn(keys: np.ndarray, event: int, index: np.ndarray | int) -> np.ndarray:
    """Uniform [0, 1) numbers for (order key, event, index), independent across all three."""
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    if np.ndim(index) == 0:
        return crn_uniform_scalar(keys, event, int(index))
    return crn_uniform(keys, event, np.ascontiguousarray(index, dtype=np.int64))


# ---------------------------------------------------------------------------- named views
# The stages call the kernels below with named views: tuples of the arrays and values a
# kernel reads and writes, each field named as the compiled function's parameter. The
# wrapper spreads them in order (``tests/test_kernels.py`` checks, for every kernel, that the
# views' names in order are the compiled function's parameters, so no array can be passed in
# the wrong place). Numba's dispatcher types a tuple of arrays slower than as many arrays
# (about 1.5 microseconds a call for 16), hence the spreading in Python.
def view(cls: type[NamedTuple], source, prefix: str = "", **rename) -> NamedTuple:
    """``cls``'s fields read from ``source`` by name: ``getattr(source, field)``, less
    ``prefix``, or the attribute ``rename[field]`` names (``region_of="region"``)."""
    return cls(*(getattr(source, rename.get(f) or f.removeprefix(prefix)) for f in cls._fields))


class HazardOrders(NamedTuple):
    tag: np.ndarray
    risk: np.ndarray
    cohort: np.ndarray
    propensity: np.ndarray
    proximity: np.ndarray


class HazardTables(NamedTuple):
    violation_table: np.ndarray  # [tag * 3 + risk]
    tamper_by_risk: np.ndarray
    reoffend_table: np.ndarray  # [cohort, risk]
    effect_by_tag: np.ndarray
    proximity_factor: float


class HazardColumns(NamedTuple):
    h_violation: np.ndarray
    h_tamper: np.ndarray
    h_reoffend: np.ndarray
    h_reoffend_tagged: np.ndarray


def refresh_hazards(slots, orders: HazardOrders, tables: HazardTables, out: HazardColumns):
    """Daily hazards of the orders ``slots`` (see :func:`_refresh_hazards`)."""
    _refresh_hazards(slots, *orders, *tables, *out)


class NewOrders(NamedTuple):
    new_cohort: np.ndarray
    new_tag: np.ndarray
    new_area: np.ndarray
    new_key: np.ndarray
    new_risk: np.ndarray
    new_propensity: np.ndarray
    received: np.ndarray
    end: np.ndarray


class InitOrders(NamedTuple):
    cohort: np.ndarray
    tag: np.ndarray
    area: np.ndarray
    key: np.ndarray
    risk: np.ndarray
    propensity: np.ndarray
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


class BehaviourOrders(NamedTuple):
    state: np.ndarray
    disconnected_day: np.ndarray
    fitted_day: np.ndarray
    behaviour_key: np.ndarray
    proximity: np.ndarray
    h_violation: np.ndarray
    h_tamper: np.ndarray
    h_reoffend: np.ndarray
    h_reoffend_tagged: np.ndarray
    uid: np.ndarray
    key: np.ndarray
    risk: np.ndarray
    tag: np.ndarray
    cohort: np.ndarray
    visit: np.ndarray
    ready_day: np.ndarray


class BehaviourParams(NamedTuple):
    serious_by_risk: np.ndarray
    early_mult: np.float32
    disconnect_p: np.float32
    technical_p: np.float32
    proximity_half: np.float32
    use_proximity: bool


class AlertColumns(NamedTuple):
    a_slot: np.ndarray
    a_uid: np.ndarray
    a_key: np.ndarray
    a_time: np.ndarray
    a_kind: np.ndarray
    a_serious: np.ndarray
    a_risk: np.ndarray
    a_tag: np.ndarray
    a_cohort: np.ndarray


def behaviour_day(n, d, day_hash, working_after, early_after, orders: BehaviourOrders,
                  params: BehaviourParams, alerts: AlertColumns):  # fmt: skip
    """One day of behaviour for every order slot (see :func:`_behaviour_day`): a device
    disconnected before day ``working_after`` is not working; orders fitted after
    ``early_after`` are in their early days."""
    return _behaviour_day(n, d, day_hash, working_after, early_after, *orders, *params, *alerts)


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
    to_custody: np.ndarray
    cohort: np.ndarray
    risk: np.ndarray


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


def field_visits_day(cand, d, orders: FieldOrders, stock, cap, params: FieldParams,
                     after_removal, out: FieldOut):  # fmt: skip
    """One day of field visits (see :func:`_field_visits_day`)."""
    return _field_visits_day(cand, d, *orders, stock, cap, *params, after_removal, *out)


class RequesterOrders(NamedTuple):
    state: np.ndarray
    ready_day: np.ndarray
    visit: np.ndarray
    attempts: np.ndarray
    rounds: np.ndarray
    end_day: np.ndarray
    key: np.ndarray


class RequesterParams(NamedTuple):
    first_visit_delay: int
    reissue: float
    revoke: float
    max_rounds: int


def requesters_and_ends_day(n, d, orders: RequesterOrders, params: RequesterParams, out_closed):
    """The requesters' day and the orders that end (see :func:`_requesters_and_ends_day`)."""
    return _requesters_and_ends_day(n, d, *orders, *params, out_closed)


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
    custody_days_mean: np.ndarray
    outcome_event: int
    resentence_event: int
    custody_event: int
    high_risk: int


class ResponseOut(NamedTuple):
    counts: np.ndarray
    outcome_counts: np.ndarray
    custody_by_cohort: np.ndarray
    out_waited: np.ndarray
    n_by: np.ndarray
    out_high: np.ndarray
    out_keep: np.ndarray
    out_custody_days: np.ndarray
    out_close: np.ndarray


def responses_day(waiting, desk, credit, d, notices: ResponseNotices, orders: ResponseOrders,
                  params: ResponseParams, out: ResponseOut):  # fmt: skip
    """Each desk acts on its packs (see :func:`_responses_day`)."""
    return _responses_day(waiting, desk, credit, d, *notices, *orders, *params, *out)


class NoticeAlerts(NamedTuple):
    a_slot: np.ndarray
    a_uid: np.ndarray
    a_cohort: np.ndarray
    a_risk: np.ndarray
    a_serious: np.ndarray
    a_time: np.ndarray


class NoticeOrders(NamedTuple):
    o_uid: np.ndarray
    o_region: np.ndarray
    o_area: np.ndarray
    o_notifications: np.ndarray


class NoticeColumns(NamedTuple):
    state: np.ndarray
    order_slot: np.ndarray
    order_uid: np.ndarray
    cohort: np.ndarray
    risk: np.ndarray
    serious: np.ndarray
    region: np.ndarray
    area: np.ndarray
    nt_responder: np.ndarray
    breach_time: np.ndarray
    sent_time: np.ndarray
    delivered_day: np.ndarray
    nt_key: np.ndarray


def write_notices(slots, alerts: NoticeAlerts, key, responder, hours, d, orders: NoticeOrders,
                  notices: NoticeColumns, window_hours, by_cohort, out_lag):  # fmt: skip
    """Write new breach notifications (see :func:`_write_notices`)."""
    return _write_notices(slots, *alerts, key, responder, hours, d, *orders, *notices,
                          window_hours, by_cohort, out_lag)  # fmt: skip


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


# Where a view's fields come from when their names are not the table's: a prefix to drop and
# fields renamed (``SlotTable.views``).
SOURCES = {
    FieldOrders: ("", {"region_of": "region"}),
    ResponseNotices: ("nt_", {}),
    ResponseOrders: ("o_", {}),
    NoticeOrders: ("o_", {}),
    NoticeColumns: ("nt_", {}),
}

# Each wrapper's compiled function and what it spreads, in order (checked by the tests).
PLANS = {
    "refresh_hazards": (_refresh_hazards, "slots", HazardOrders, HazardTables, HazardColumns),
    "init_orders": (_init_orders, "slots", NewOrders, "region_of_area", InitOrders,
                    HazardTables, HazardColumns),
    "behaviour_day": (_behaviour_day, "n", "d", "day_hash", "working_after", "early_after",
                      BehaviourOrders, BehaviourParams, AlertColumns),
    "field_visits_day": (_field_visits_day, "cand", "d", FieldOrders, "stock", "cap",
                         FieldParams, "after_removal", FieldOut),
    "requesters_and_ends_day": (_requesters_and_ends_day, "n", "d", RequesterOrders,
                                RequesterParams, "out_closed"),
    "responses_day": (_responses_day, "waiting", "desk", "credit", "d", ResponseNotices,
                      ResponseOrders, ResponseParams, ResponseOut),
    "write_notices": (_write_notices, "slots", NoticeAlerts, "key", "responder", "hours", "d",
                      NoticeOrders, NoticeColumns, "window_hours", "by_cohort", "out_lag"),
    "record_orders": (_record_orders, "n", RecordOrders, "d", "row", RecordColumns),
}  # fmt: skip
