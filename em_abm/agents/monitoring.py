"""MonitoringCentre: reviews every alert and sends breach packs (stages 4 and 6)."""

from __future__ import annotations

import mesa
import numpy as np

# Alert kinds
VIOLATION, TAMPER, DISCONNECT, TECHNICAL = 0, 1, 2, 3

ALERT_DTYPE = np.dtype(
    [
        ("order_slot", np.int64),
        ("order_uid", np.int64),
        ("key", np.uint64),
        ("time", np.float64),  # model day (fractional) the alert was raised
        ("kind", np.int8),
        ("serious", np.bool_),
        ("risk", np.int8),
        ("tag", np.int8),
        ("cohort", np.int8),
    ]
)


class MonitoringCentre(mesa.Agent):
    """The supplier's monitoring centre.

    Every alert a device raises joins a queue; staff review up to the day's capacity, in the
    order the triage policy sets (first come, first served today). A reviewed alert becomes
    a breach notification or is closed. A notification is sent as a breach pack: it reaches
    officials a lognormal time after review (median and spread from the contract's 29-53
    hours) and later when alerts have waited for review. A pack joins its responder's queue
    at the hour it is sent (``sent_time``; ``delivered_day`` is that day).
    """

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        self.queue = np.empty(0, dtype=ALERT_DTYPE)  # waiting alerts, oldest first

    @classmethod
    def reviews_per_day(cls, p: dict, scale: float) -> float:
        """Alerts the centre's staff review a day (fractions carry over to the next day)."""
        return p["monitoring.reviews_per_day"] * p["monitoring.capacity_multiplier"] * scale

    @property
    def waiting(self) -> int:
        return len(self.queue)

    def add_alerts(self, alerts: np.ndarray) -> None:
        """New alerts (a structured array of :data:`ALERT_DTYPE`) join the queue."""
        self.queue = np.concatenate([self.queue, alerts]) if len(self.queue) else alerts

    def take_for_review(self, capacity: int, key: np.ndarray | None = None) -> np.ndarray:
        """Remove and return up to ``capacity`` alerts, lowest ``key`` first (then oldest)."""
        q = self.queue
        if len(q) <= capacity:
            self.queue = q[:0]
            return q
        if key is None:  # the queue is in arrival order
            self.queue = q[capacity:]
            return q[:capacity]
        order = np.lexsort((q["time"], key))
        pick, rest = np.sort(order[:capacity]), np.sort(order[capacity:])
        self.queue = q[rest]
        return q[pick]

    def auto_close(self, mask: np.ndarray | None) -> int:
        """Close the alerts in ``mask`` without review (a triage rule); returns how many."""
        if mask is None or not mask.any():
            return 0
        self.queue = self.queue[~mask]
        return int(mask.sum())
