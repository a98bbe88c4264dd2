"""Escalation and contingency (NAO recommendation a).

A backlog of outstanding visits over ``contingency.visit_threshold`` (times the scale) brings
surge field capacity after a lag, for a number of days (a Mesa timed event starts it); a slow
probation response (the median days to respond over a window above a threshold) switches
every responder to risk-first until it recovers. Off unless ``contingency.enabled``.
"""

from __future__ import annotations

import numpy as np

from em_abm.component import Component, register
from em_abm.population import Visit


@register
class Contingency(Component):
    name = "contingency"
    params = ("contingency.",)
    metrics = ("escalations_triggered",)

    def setup(self) -> None:
        self.surge_until = -(1 << 30)  # last day of the current surge (< 0 in warm-up)
        self._surge_pending = False
        self._surge_start = 0
        self.risk_first_override = False
        self._recent_probation: list[tuple[int, np.ndarray]] = []

    def surge_factor(self, d: int) -> float:
        """The field's hours today are multiplied by this (surge capacity, or 1)."""
        return self.model.p["contingency.surge_multiplier"] if d <= self.surge_until else 1.0

    def probation_response_times(self, d: int, waited: np.ndarray) -> None:
        """Days probation took to respond to today's answered packs (kept for the window)."""
        if self.model.p["contingency.enabled"] and len(waited):
            self._recent_probation.append((d, waited.copy()))

    def step(self, d: int) -> None:
        m = self.model
        p = m.p
        if not p["contingency.enabled"]:
            return
        o = m.orders
        due = np.count_nonzero((o.view("visit") != Visit.NONE) & (o.view("ready_day") <= d))
        if (
            due > p["contingency.visit_threshold"] * m.scale
            and not self._surge_pending
            and (d > self.surge_until)
        ):
            self._surge_pending = True
            self._surge_start = d + max(1, p["contingency.surge_lag_days"])
            m.schedule_event(self._start_surge, at=m.time_of_day_start(self._surge_start))
            m.count("escalations_triggered", 1)
        window = p["contingency.window_days"]
        self._recent_probation = [(day, t) for day, t in self._recent_probation if day > d - window]
        if self._recent_probation:
            median = float(np.median(np.concatenate([t for _, t in self._recent_probation])))
            slow = median > p["contingency.probation_days_threshold"]
            if slow and not self.risk_first_override:
                m.count("escalations_triggered", 1)
            self.risk_first_override = slow

    def _start_surge(self) -> None:
        """Timed event: surge field capacity starts."""
        self._surge_pending = False
        self.surge_until = self._surge_start + self.model.p["contingency.surge_days"] - 1
