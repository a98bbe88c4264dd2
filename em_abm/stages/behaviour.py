"""Stage 4, monitoring and behaviour: what wearers do and what their devices report.

Every day, for every active order in one compiled pass (:func:`em_abm.kernels.behaviour_day`):
a working device may see a violation (curfew breach, zone entry, drinking, a missed
check-in), tampering or absconding, a loss of contact (fixed by an equipment-check visit) or
a technical alert; each becomes an alert for the monitoring centre
(:mod:`em_abm.stages.monitoring`). Offending is the people stage's
(:mod:`em_abm.stages.people`), for everyone followed, on an order or not. Two uniforms per
order and day come from hashing the order's key with the day: the same wearer draws the same
numbers on the same day whatever the policy.

Each order's daily hazards (violation, tampering) are worked out from its tag, the wearer's
true risk and propensity when it arrives and when the parameters or its propensity change
(:meth:`Behaviour.refresh_hazards`). Alerts carry the assessed risk, which is what triage
and response policies see.
"""

from __future__ import annotations

import numpy as np

from em_abm import params as P
from em_abm.agents.monitoring import ALERT_DTYPE
from em_abm.component import Component, register
from em_abm.kernels.behaviour import (
    AlertColumns,
    BehaviourOrders,
    BehaviourParams,
    HazardColumns,
    HazardOrders,
    HazardTables,
    behaviour_day,
    refresh_hazards,
)
from em_abm.params import RISK_LEVELS, TAGS

NEGATIVE_DAY_OFFSET = 1 << 20  # day indices are negative during warm-up; hash d + offset
# The alert queue's columns (agents.monitoring.ALERT_DTYPE) in AlertColumns' order.
ALERT_FIELDS = ("order_slot", "order_uid", "key", "time", "kind", "serious", "risk", "tag",
                "cohort")  # fmt: skip


@register
class Behaviour(Component):
    name = "behaviour"
    params = ("behaviour.", "pilot.proximity_alert_per_day")
    metrics = ("unmonitored_days", "alerts")

    def on_params(self) -> None:
        p = self.model.p
        risk_mult = np.array(P.vector(p, "behaviour.risk_multiplier", RISK_LEVELS))
        base = np.array(P.vector(p, "behaviour.violation_per_day", TAGS))
        self.violation_table = np.outer(base, risk_mult).ravel()  # [tag * 3 + risk]
        self.tamper_by_risk = p["behaviour.tamper_per_day"] * risk_mult
        self.serious_by_risk = np.array(P.vector(p, "behaviour.serious_share", RISK_LEVELS))
        self.kernel_params = BehaviourParams(
            serious_by_risk=self.serious_by_risk,
            early_mult=np.float32(p["behaviour.early_multiplier"]),
            disconnect_p=np.float32(p["behaviour.disconnect_per_day"]),
            technical_p=np.float32(p["behaviour.technical_alert_per_day"]),
            proximity_half=np.float32(p["pilot.proximity_alert_per_day"] / 2),
            use_proximity=p["pilot.victim_proximity_share"] > 0,
        )
        o = self.model.orders
        if o.n:  # a change of parameters: every live order's hazards again
            self.refresh_hazards(o.live())

    def setup(self) -> None:
        self._alert_buffer = np.empty(0, dtype=ALERT_DTYPE)
        self._alerts = AlertColumns(*(self._alert_buffer[f] for f in ALERT_FIELDS))
        self.unmonitored_today = 0

    def refresh_hazards(self, slots: np.ndarray) -> None:
        """Per-order daily hazards from cohort, tag, risk, propensity and the parameters."""
        o = self.model.orders
        refresh_hazards(np.asarray(slots, dtype=np.int64), o.views(HazardOrders),
                        self.hazard_tables(), o.views(HazardColumns))  # fmt: skip

    def hazard_tables(self) -> HazardTables:
        """The parameter tables the daily hazards come from."""
        return HazardTables(self.violation_table, self.tamper_by_risk)

    def step(self, d: int) -> None:
        """Violations, tampering, lost contact, technical alerts and reoffending, for every
        active order at once; only orders with an event are gathered."""
        m = self.model
        o, p = m.orders, m.p
        if len(self._alert_buffer) < o.n:
            self._alert_buffer = buf = np.empty(o.capacity, dtype=ALERT_DTYPE)
            self._alerts = AlertColumns(*(buf[f] for f in ALERT_FIELDS))
        buf = self._alert_buffer
        n_active, n_fitted, n_work, k = behaviour_day(
            o.n, d, np.uint64(d + NEGATIVE_DAY_OFFSET),
            d - p["behaviour.unmonitored_after_days"], d - p["behaviour.early_days"],
            m.people.next_day, o.views(BehaviourOrders), self.kernel_params, self._alerts,
        )  # fmt: skip
        m.count("unmonitored_days", n_active - n_work)
        m.wearer_days += n_fitted
        self.unmonitored_today = n_active - n_work
        if k:
            m.stages.monitoring.centre.add_alerts(buf[:k].copy())
            m.count("alerts", k)
