"""Compiled inner loops (numba) for the per-wearer work done every simulated day.

A numpy expression over the order arrays costs a few microseconds of Python overhead per
call whatever the population, and the daily behaviour step needs about forty of them; one
fused loop over the orders does the same work in a single pass. Each kernel reproduces its
numpy formulation operation for operation (float32 where the arrays are float32, the same
hash), so results are identical to the vectorised version it replaces; the regression test
pins them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(32)
_LOW = np.uint64(0xFFFFFFFF)
_U = np.float32(1.0 / 4294967296.0)
_FREE, _REWORK, _FITTED = 0, 1, 5


@njit(cache=True, nogil=True)
def _mix1(x):
    z = x + _M1
    z = (z ^ (z >> _S30)) * _M2
    z = (z ^ (z >> _S27)) * _M3
    return z ^ (z >> _S31)


@njit(cache=True, nogil=True)
def behaviour_day(
    state, disconnected_day, fitted_day, behaviour_key, proximity,
    h_violation, h_tamper, h_reoffend, h_reoffend_tagged,
    day_hash, working_after, early_after, early_mult, disconnect_p, technical_p,
    proximity_half, use_proximity,
    out_idx, out_u1, out_hv, out_ht, out_flags,
):  # fmt: skip
    """One day of behaviour for every order slot.

    Counts (active, working, offences while working, all offences) and the expected offences
    of the working had they been untagged are returned; orders with a device event are
    written to ``out_*`` (slot, u1, violation and tamper band edges, flags: 1 below the
    disconnection edge, 2 false alarm, 4 proximity), and their number is returned last.
    """
    n = state.shape[0]
    n_active = 0
    n_work = 0
    n_off_work = 0
    n_off = 0
    expected = 0.0
    k = 0
    one = np.float32(1.0)
    half = np.float32(0.5)
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
        flags = 0
        if u1 < hd:
            flags |= 1
        if u2 < technical_p:
            flags |= 2
        if use_proximity and proximity[i] and abs(u2 - half) < proximity_half:
            flags |= 4
        if flags:
            out_idx[k] = i
            out_u1[k] = u1
            out_hv[k] = hv
            out_ht[k] = ht
            out_flags[k] = flags
            k += 1
    return n_active, n_work, n_off_work, n_off, expected, k


_S11 = np.uint64(11)
_S56 = np.uint64(56)
_INV53 = 1.0 / 9007199254740992.0


@njit(cache=True, nogil=True)
def crn_uniform(keys, event, index):
    """Uniform [0, 1) numbers for (order key, event, index): ``mix(mix(key ^ event << 56) +
    index)``, the top 53 bits. ``index`` is an array of the same length as ``keys``."""
    out = np.empty(keys.shape[0], dtype=np.float64)
    tag = np.uint64(event) << _S56
    for i in range(keys.shape[0]):
        h = _mix1(_mix1(keys[i] ^ tag) + np.uint64(index[i]))
        out[i] = np.float64(h >> _S11) * _INV53
    return out


@njit(cache=True, nogil=True)
def crn_uniform_scalar(keys, event, index):
    """As :func:`crn_uniform`, with one ``index`` for every key."""
    out = np.empty(keys.shape[0], dtype=np.float64)
    tag = np.uint64(event) << _S56
    idx = np.uint64(index)
    for i in range(keys.shape[0]):
        h = _mix1(_mix1(keys[i] ^ tag) + idx)
        out[i] = np.float64(h >> _S11) * _INV53
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
def crn_uniform_events(keys, events, index):
    """As :func:`crn_uniform`, with an event number per key."""
    out = np.empty(keys.shape[0], dtype=np.float64)
    for i in range(keys.shape[0]):
        tag = np.uint64(events[i]) << _S56
        h = _mix1(_mix1(keys[i] ^ tag) + np.uint64(index[i]))
        out[i] = np.float64(h >> _S11) * _INV53
    return out


@njit(cache=True, nogil=True)
def day_counts(state, cohort, tag, visit, ready_day, day, n_states, n_cohorts, n_tags, n_visits):
    """One pass for the day's stocks: orders by (state, cohort), fitted orders by tag, and
    visits due by type."""
    by_state_cohort = np.zeros((n_states, n_cohorts), dtype=np.int64)
    fitted_by_tag = np.zeros(n_tags, dtype=np.int64)
    due_by_visit = np.zeros(n_visits, dtype=np.int64)
    for i in range(state.shape[0]):
        s = state[i]
        by_state_cohort[s, cohort[i]] += 1
        if s == _FITTED:
            fitted_by_tag[tag[i]] += 1
        v = visit[i]
        if v != 0 and ready_day[i] <= day:
            due_by_visit[v] += 1
    return by_state_cohort, fitted_by_tag, due_by_visit


@njit(cache=True, nogil=True)
def mix(keys):
    """splitmix64 finaliser of every key (the hash every common random number is built on)."""
    out = np.empty_like(keys)
    for i in range(keys.shape[0]):
        out[i] = _mix1(keys[i])
    return out
