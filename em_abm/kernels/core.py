"""Shared parts of the compiled kernels: the common-random-number hash, the codes shared
with the model, small helpers, and :func:`view` (named views of a state table)."""

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
CRN_NOTIFY = 16  # + alert kind (four kinds)
# People: daily offending, later orders' keys, release onto an order, the kind of recall,
# custody after a proven offence.
CRN_OFFENCE, CRN_PERSON_ORDER, CRN_RELEASE, CRN_RECALL_TYPE, CRN_OFFENCE_CUSTODY = range(20, 25)

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


_CRN_REVIEW_TAG = np.uint64(CRN_REVIEW) << _S56
_CRN_BEHAVIOUR_TAG = np.uint64(CRN_BEHAVIOUR) << _S56
_CRN_SPECIALS_TAG = np.uint64(CRN_SPECIALS) << _S56
_CRN_PACK_TAG = np.uint64(CRN_PACK) << _S56


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
