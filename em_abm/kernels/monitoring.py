"""Kernels of the monitoring centre (:mod:`em_abm.stages.monitoring`): which reviewed alerts
become breach notifications."""

from __future__ import annotations

import numpy as np
from numba import njit

from em_abm.kernels.core import _S56, _TAMPER, _VIOLATION, _crn1


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
