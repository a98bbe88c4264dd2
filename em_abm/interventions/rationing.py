"""Rationing who is tagged at all: a share of each cohort's orders accepted
(``allocation.tag_share.<cohort>``), then a yearly cap (``allocation.cap_per_year.<cohort>``,
per England and Wales). Declined orders are never tagged; their person-days and the offences
their people are expected to commit untagged are counted, and their people are followed at
liberty (:meth:`em_abm.stages.people.People.declined`)."""

from __future__ import annotations

import numpy as np

from em_abm import params as P
from em_abm.component import Component, register
from em_abm.kernels.core import CRN_ALLOCATION, crn
from em_abm.params import COHORTS


@register
class Rationing(Component):
    name = "rationing"
    params = ("allocation.",)
    metrics = ("orders_declined", "declined_person_days", "reoffences_expected_declined")

    def on_params(self) -> None:
        m = self.model
        p = m.p
        self.tag_share = np.array(P.vector(p, "allocation.tag_share", COHORTS))
        cap = np.array(P.vector(p, "allocation.cap_per_year", COHORTS))
        no_cap = P.PARAMS["allocation.cap_per_year.court_bail"].upper
        self.yearly_cap = np.where(cap >= no_cap, np.inf, cap * m.scale)
        # Are new orders rationed (a tagged share below one, or a yearly cap)?
        self.active = bool((self.tag_share < 1.0).any() or np.isfinite(self.yearly_cap).any())

    def setup(self) -> None:
        self._cap_year: int | None = None
        self._accepted_this_year = np.zeros(len(COHORTS), dtype=np.int64)

    def accept(self, d: int, attrs: dict[str, np.ndarray], length: np.ndarray) -> np.ndarray | None:
        """Which of today's new orders are accepted for tagging (a mask), or ``None`` when
        every one is. Declined ones are counted."""
        if not self.active:
            return None
        accept = self._allocate(d, attrs)
        if accept.all():
            return None
        m = self.model
        m.count("orders_declined", int((~accept).sum()))
        gone = ~accept
        days = np.maximum(1, np.round(length[gone]))
        m.count("declined_person_days", float(days.sum()))
        expected = m.stages.reoffending.expected_untagged(attrs["rate"][gone], days)
        m.count("reoffences_expected_declined", expected)
        return accept

    def _allocate(self, d: int, attrs: dict[str, np.ndarray]) -> np.ndarray:
        """A share per cohort, then a yearly cap."""
        m = self.model
        cohort = attrs["cohort"]
        if (self.tag_share >= 1.0).all():  # u < 1 always: everyone is accepted
            accept = np.ones(len(cohort), dtype=bool)
        else:
            accept = crn(attrs["key"], CRN_ALLOCATION, 0) < self.tag_share[cohort]
        if np.isfinite(self.yearly_cap).any():
            year = m.date_of(d).year if d >= 0 else None
            if year != self._cap_year:
                self._cap_year, self._accepted_this_year[:] = year, 0
            for c in np.unique(cohort[accept]).tolist():
                if not np.isfinite(self.yearly_cap[c]):
                    continue
                idx = np.flatnonzero(accept & (cohort == c))
                room = max(0, int(self.yearly_cap[c] - self._accepted_this_year[c]))
                accept[idx[room:]] = False
                self._accepted_this_year[c] += min(room, len(idx))
        return accept
