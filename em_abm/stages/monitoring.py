"""Stages 4 and 6 at the monitoring centre: alerts are reviewed and become breach
notifications or are closed.

The :class:`~em_abm.agents.monitoring.MonitoringCentre` keeps the queue of alerts; each day
its staff review alerts up to the day's capacity (fractions carry over), in the order the
triage policy sets (``policy.alert_triage``; first come, first served today), and a triage
rule may close low-value alerts unreviewed. A reviewed alert becomes a breach notification
with a probability by its kind (:func:`em_abm.kernels.notify_decisions`); notifications go to
:mod:`em_abm.stages.breach_packs`.
"""

from __future__ import annotations

from em_abm.agents.monitoring import MonitoringCentre
from em_abm.component import Component, register
from em_abm.kernels.core import CRN_NOTIFY
from em_abm.kernels.monitoring import notify_decisions
from em_abm.params import TAGS
from em_abm.policies import triage_policy
from em_abm.stages.behaviour import NEGATIVE_DAY_OFFSET


@register
class Monitoring(Component):
    name = "monitoring"
    params = ("monitoring.", "policy.alert_triage", "triage.")
    metrics = ("alerts_auto_closed", "alerts_reviewed")

    def on_params(self) -> None:
        self.triage = triage_policy(self.model.p["policy.alert_triage"])

    def setup(self) -> None:
        self.centre = MonitoringCentre(self.model)
        self._review_credit = 0.0

    def step(self, d: int) -> None:
        m = self.model
        p, centre = m.p, self.centre
        capacity = MonitoringCentre.reviews_per_day(p, m.scale)
        self._review_credit += capacity
        k = int(self._review_credit)
        closed = centre.auto_close(self.triage.auto_close(m, centre.queue))
        m.count("alerts_auto_closed", closed)
        a = centre.take_for_review(k, self.triage.key(m, centre.queue))
        n = len(a)
        self._review_credit = min(self._review_credit - n, 1.0)
        m.count("alerts_reviewed", n)
        if m.check_invariants:
            m.ledger["reviews"] += (capacity, n)
        if n == 0:
            return
        notify = notify_decisions(
            a["key"], a["kind"], a["serious"], a["tag"], a["time"],
            p["monitoring.notify_prob.serious"], p["monitoring.notify_prob.alcohol"],
            p["monitoring.notify_prob.minor"], p["monitoring.notify_prob.technical"],
            TAGS.index("alcohol"), CRN_NOTIFY, NEGATIVE_DAY_OFFSET,
        )  # fmt: skip
        if notify.any():
            m.stages.breach_packs.send(d, a[notify])
