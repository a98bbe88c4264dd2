"""Kernels of the breach-pack stage (:mod:`em_abm.stages.breach_packs`): responders and pack
times of new notifications, and writing them."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from em_abm.kernels.core import _CRN_PACK_TAG, _CRN_SPECIALS_TAG, _IN_TRANSIT, _crn1, _mix1

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
    """Write new breach notifications (in transit until ``delivered_day``, the day in which
    the pack reaches its responder: ``hours`` after review, which is no earlier than the
    middle of day ``d``) and count them against their orders. Returns (notifications within
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
        delivered_day[i] = np.int32(np.floor(sent))
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


class NoticeAlerts(NamedTuple):
    a_slot: np.ndarray
    a_uid: np.ndarray
    a_cohort: np.ndarray
    a_risk: np.ndarray
    a_serious: np.ndarray
    a_time: np.ndarray


class PackOrders(NamedTuple):
    """The columns of the orders a breach pack is about, which write_notices reads and counts
    the pack against."""

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


def write_notices(slots, alerts: NoticeAlerts, key, responder, hours, d, orders: PackOrders,
                  notices: NoticeColumns, window_hours, by_cohort, out_lag):  # fmt: skip
    """Write new breach notifications (see :func:`_write_notices`)."""
    return _write_notices(slots, *alerts, key, responder, hours, d, *orders, *notices,
                          window_hours, by_cohort, out_lag)  # fmt: skip
