"""The pilots the NAO describes (paras 14-16), one component each.

* :class:`FitAtSource`: court-bail and court-sentence orders fitted in court
  (``pilot.tag_at_court_share``), post-release orders fitted in prison before release
  (``pilot.pre_release_share``), with success ``pilot.source_fit_success`` and while the
  region's stock lasts; no home visit for the first fit.
* :class:`VictimProximity`: a share of GPS post-release and court-bail wearers under a
  victim-proximity condition (``pilot.victim_proximity_share``), which raises proximity
  alerts and lowers offending (``pilot.proximity_effect``).
* Automated scheduling (``pilot.automated_scheduling``) saves a share of the field's travel
  time: :func:`travel_factor`, applied by :mod:`em_abm.stages.field`.
"""

from __future__ import annotations

import numpy as np

from em_abm.component import Component, register
from em_abm.kernels.core import CRN_PROXIMITY, CRN_SOURCE, crn, rank_within
from em_abm.params import COHORTS, TAGS
from em_abm.population import State, Visit


def travel_factor(p: dict) -> float:
    """The share of travel time field visits take under automated scheduling (else 1)."""
    return 1.0 - p["pilot.scheduling_travel_saving"] if p["pilot.automated_scheduling"] else 1.0


@register
class FitAtSource(Component):
    name = "fit_at_source"
    params = ("pilot.tag_at_court_share", "pilot.pre_release_share", "pilot.source_fit_success")
    metrics = ("fits_at_source",)

    def on_params(self) -> None:
        p = self.model.p
        self.source_share = np.zeros(len(COHORTS))
        for c in ("court_bail", "court_sentence"):
            self.source_share[COHORTS.index(c)] = p["pilot.tag_at_court_share"]
        self.source_share[COHORTS.index("post_release")] = p["pilot.pre_release_share"]
        self.active = bool(self.source_share.any())

    def fit(self, d: int, slots: np.ndarray) -> None:
        """Fit today's new orders ``slots`` at source where the pilot reaches them."""
        if not self.active or len(slots) == 0:
            return
        m = self.model
        o, p = m.orders, m.p
        chosen = slots[crn(o.key[slots], CRN_SOURCE, 0) < self.source_share[o.cohort[slots]]]
        fitted = chosen[crn(o.key[chosen], CRN_SOURCE, 1) < p["pilot.source_fit_success"]]
        if len(fitted) == 0:
            return
        stock = m.stages.supply.supplier.stock.ravel()
        group = o.region[fitted].astype(np.int64) * len(TAGS) + o.tag[fitted]
        rank = rank_within(np.ascontiguousarray(group, dtype=np.int64))
        fitted = fitted[rank < stock[group]]  # only while stock lasts
        np.subtract.at(stock, o.region[fitted].astype(np.int64) * len(TAGS) + o.tag[fitted], 1)
        o.state[fitted] = State.FITTED
        o.visit[fitted] = Visit.NONE
        o.fitted_day[fitted] = d
        o.attempts_total[fitted] = 1
        o.first_round_open[fitted] = False
        m.count("fits", len(fitted))
        m.count("fits_at_source", len(fitted))
        m.count("fits_within_two", len(fitted))
        m.count("first_rounds_concluded", len(fitted))
        m.stages.orders.record_fit_waits(d, fitted)


@register
class VictimProximity(Component):
    name = "victim_proximity"
    params = ("pilot.victim_proximity_share", "pilot.proximity_effect",
              "pilot.proximity_alert_per_day")  # fmt: skip

    def assign(self, slots: np.ndarray) -> None:
        """Put the new orders ``slots`` that the pilot reaches under the condition."""
        m = self.model
        share = m.p["pilot.victim_proximity_share"]
        if share <= 0:  # the condition changes the hazards: nothing to do without it
            return
        o = m.orders
        tag, cohort = o.tag[slots], o.cohort[slots]
        eligible = (tag == TAGS.index("gps")) & (
            (cohort == COHORTS.index("post_release")) | (cohort == COHORTS.index("court_bail"))
        )
        o.proximity[slots] = eligible & (crn(o.key[slots], CRN_PROXIMITY, 0) < share)
        m.stages.behaviour.refresh_hazards(slots)
