"""Stage 6, breach packs: a notification is sent to the responder of the wearer's cohort.

The pack reaches officials a lognormal time after the review (median
``monitoring.pack_hours_median`` hours, spread from the contract's 29-53-hour window), later
when alerts waited for review, and joins the responder's queue at the hour it is sent
(``sent_time``; ``delivered_day`` is that day: responses are timed in hours within it).
Court-bail packs go to the police, immigration packs to the Home Office, the others to
probation (a share of specials to the Home Office). Each notification lives in the model's
:class:`~em_abm.population.NotificationTable` until the responder acts on it or it lapses
(:mod:`em_abm.stages.responses`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from em_abm.component import Component, register
from em_abm.kernels.breach_packs import (
    NoticeAlerts,
    NoticeColumns,
    PackOrders,
    notice_draws,
    write_notices,
)
from em_abm.params import COHORTS, RESPONDERS

PROBATION, POLICE, HOME_OFFICE = range(len(RESPONDERS))
RESPONDER_OF_COHORT = {
    "post_release": PROBATION,
    "court_bail": POLICE,
    "immigration": HOME_OFFICE,
    "court_sentence": PROBATION,
    "specials": PROBATION,
}
RESPONDER_BY_COHORT = np.array([RESPONDER_OF_COHORT[c] for c in COHORTS], dtype=np.int8)


@register
class BreachPacks(Component):
    name = "breach_packs"
    params = ("monitoring.pack_hours_", "specials.home_office_share",
              "kpi.notification_window_hours")  # fmt: skip
    metrics = ("breach_notifications", "kpi_notifications_in_window", "serious_notifications")

    def send(self, d: int, a: np.ndarray) -> None:
        """Send breach packs for the reviewed alerts ``a`` that became notifications."""
        m = self.model
        o, p, nt = m.orders, m.p, m.notices
        n = len(a)
        key, responder, u = notice_draws(
            a["key"], a["kind"], a["time"], a["cohort"], RESPONDER_BY_COHORT,
            COHORTS.index("specials"), p["specials.home_office_share"], HOME_OFFICE,
        )  # fmt: skip
        z = ndtri(u)
        hours = p["monitoring.pack_hours_median"] * np.exp(p["monitoring.pack_hours_sigma"] * z)
        slots = nt.allocate(n)
        by_cohort = np.zeros(len(COHORTS), dtype=np.int64)
        lag = np.empty(n)
        alerts = NoticeAlerts(a["order_slot"], a["order_uid"], a["cohort"], a["risk"],
                              a["serious"], a["time"])  # fmt: skip
        in_window, n_serious = write_notices(
            slots, alerts, key, responder, hours, d, o.views(PackOrders),
            nt.views(NoticeColumns), p["kpi.notification_window_hours"], by_cohort, lag,
        )  # fmt: skip
        # The person each breach is about, by number (the order may have closed since, and
        # its person's slot passed to someone else: the responses stage checks the number).
        same = o.uid[a["order_slot"]] == a["order_uid"]
        nt.person[slots] = np.where(same, o.person[a["order_slot"]], -1)
        nt.person_uid[slots] = np.where(same, o.person_uid[a["order_slot"]], -1)
        m.notices_created += n
        m.count("breach_notifications", n)
        m.count_by("breach_notifications", by_cohort)
        m.add_sample(d, "notification_lag_hours", lag)
        m.count("kpi_notifications_in_window", in_window)
        m.count("serious_notifications", n_serious)
