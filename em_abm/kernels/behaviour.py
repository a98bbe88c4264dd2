"""Kernels of the behaviour stage (:mod:`em_abm.stages.behaviour`): a day of wearers'
behaviour, and each order's daily hazards."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from em_abm.kernels.core import (
    _DISCONNECT,
    _FITTED,
    _LOW,
    _REWORK,
    _S32,
    _TAMPER,
    _TECHNICAL,
    _U,
    _V_CHECK,
    _VIOLATION,
    _mix1,
)


@njit(cache=True, nogil=True)
def _behaviour_day(
    n, d, day_hash, working_after, early_after, p_next_day,
    state, disconnected_day, fitted_day, behaviour_key, proximity,
    h_violation, h_tamper,
    uid, key, risk, true_risk, tag, cohort, visit, ready_day, person,
    serious_by_risk, early_mult, disconnect_p, technical_p, proximity_half, use_proximity,
    a_slot, a_uid, a_key, a_time, a_kind, a_serious, a_risk, a_tag, a_cohort,
):  # fmt: skip
    """One day of behaviour for every order slot.

    Counts (active, tagged, working) are returned, with the number of alerts last (offending
    is the people stage's: :mod:`em_abm.kernels.people`).
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
    k = 0
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
        if working:
            n_work += 1
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
                serious = np.float64(u1) < np.float64(hv) * serious_by_risk[true_risk[i]]
        elif prox and not false_alarm:  # a proximity alert is a serious violation
            kind = _VIOLATION
            serious = True
        else:
            kind = _TECHNICAL
        if kind == _TAMPER or kind == _DISCONNECT:
            disconnected_day[i] = d
            # the tag stops counting as working after the NAO's 14 days: the people pass
            # looks then
            flip = max(d + (d - working_after), d + 1)
            p = person[i]
            if p_next_day[p] > flip:
                p_next_day[p] = flip
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
    return n_active, n_fitted, n_work, k


@njit(cache=True, nogil=True)
def _refresh_hazards(
    slots, tag, true_risk, propensity,
    violation_table, tamper_by_risk,
    h_violation, h_tamper,
):  # fmt: skip
    """Daily hazards of the orders in ``slots`` from their tag, the wearer's true risk and
    propensity: violation and tampering while monitored."""
    for j in range(slots.shape[0]):
        i = slots[j]
        r = np.int64(true_risk[i])
        t = np.int64(tag[i])
        prop = np.float64(propensity[i])
        h_violation[i] = violation_table[t * 3 + r] * prop
        h_tamper[i] = tamper_by_risk[r] * prop


class HazardOrders(NamedTuple):
    tag: np.ndarray
    true_risk: np.ndarray
    propensity: np.ndarray


class HazardTables(NamedTuple):
    violation_table: np.ndarray  # [tag * 3 + true risk]
    tamper_by_risk: np.ndarray


class HazardColumns(NamedTuple):
    h_violation: np.ndarray
    h_tamper: np.ndarray


def refresh_hazards(slots, orders: HazardOrders, tables: HazardTables, out: HazardColumns):
    """Daily hazards of the orders ``slots`` (see :func:`_refresh_hazards`)."""
    _refresh_hazards(slots, *orders, *tables, *out)


class BehaviourOrders(NamedTuple):
    state: np.ndarray
    disconnected_day: np.ndarray
    fitted_day: np.ndarray
    behaviour_key: np.ndarray
    proximity: np.ndarray
    h_violation: np.ndarray
    h_tamper: np.ndarray
    uid: np.ndarray
    key: np.ndarray
    risk: np.ndarray
    true_risk: np.ndarray
    tag: np.ndarray
    cohort: np.ndarray
    visit: np.ndarray
    ready_day: np.ndarray
    person: np.ndarray


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


def behaviour_day(n, d, day_hash, working_after, early_after, p_next_day,
                  orders: BehaviourOrders, params: BehaviourParams,
                  alerts: AlertColumns):  # fmt: skip
    """One day of behaviour for every order slot (see :func:`_behaviour_day`): a device
    disconnected before day ``working_after`` is not working; orders fitted after
    ``early_after`` are in their early days."""
    return _behaviour_day(
        n, d, day_hash, working_after, early_after, p_next_day, *orders, *params, *alerts
    )
