"""Reoffending: a cohort- and risk-specific hazard, lower while a working tag is on.

Wearers offend at their cohort's annual rate times their risk level's multiplier; a working
RF or GPS tag lowers the hazard by ``reoffending.effect_while_tagged.<tag>`` (the MoJ
evaluations' direction). Wearers with no working tag (never fitted, or disconnected 14 days
or more) are unmonitored and offend as if untagged. The daily draws are made in the
behaviour stage's pass over the orders (:mod:`em_abm.stages.behaviour`), which reports
them here. People in their first 12 months after removal offend as a pool, by cohort and
risk, at the untagged rate times the after-removal effect (a parameter centred on zero).
"""

from __future__ import annotations

import numpy as np

from em_abm import params as P
from em_abm.component import Component, register
from em_abm.params import COHORTS, RISK_LEVELS, TAGS

HISTORY = 366  # days of removals the after-removal pool remembers (a ring buffer)


@register
class Reoffending(Component):
    name = "reoffending"
    params = ("reoffending.", "behaviour.risk_multiplier.")
    metrics = (
        "reoffences_while_tagged", "reoffences_while_unmonitored",
        "reoffences_expected_if_untagged", "reoffences_after_removal_12m",
    )  # fmt: skip

    def on_params(self) -> None:
        p = self.model.p
        risk_mult = np.array(P.vector(p, "behaviour.risk_multiplier", RISK_LEVELS))
        annual = np.array(P.vector(p, "reoffending.annual_rate", COHORTS))
        self.reoffend_table = np.outer(annual / 365.0, risk_mult)  # [cohort, risk]
        self.effect_by_tag = np.array(P.vector(p, "reoffending.effect_while_tagged", TAGS))

    def setup(self) -> None:
        # Removals per day by cohort and risk over the last year (a ring buffer by day), and
        # the pool they make up.
        self.after_removal = np.zeros((HISTORY, len(COHORTS), len(RISK_LEVELS)))
        self._after_pool = np.zeros((len(COHORTS), len(RISK_LEVELS)))

    def removals_today(self, d: int) -> np.ndarray:
        """Today's row of the removal history, which removal visits add to [cohort, risk]."""
        return self.after_removal[d % HISTORY]

    def count_while_on_order(self, n_tagged: int, n_all: int, expected: float) -> None:
        """The behaviour pass's offences: while a working tag is on, while unmonitored, and
        the expected number had no one been tagged."""
        m = self.model
        m.count("reoffences_while_tagged", n_tagged)
        m.count("reoffences_while_unmonitored", n_all - n_tagged)
        m.count("reoffences_expected_if_untagged", expected)

    def expected_untagged(self, cohort: np.ndarray, risk: np.ndarray, days) -> float:
        """Offences people of these cohorts and risks would commit untagged in ``days``."""
        return float((days * self.reoffend_table[cohort, risk]).sum())

    def step(self, d: int) -> None:
        """The after-removal pool: people in their first 12 months after removal, by cohort
        and risk, offending at the untagged rate times the after-removal effect."""
        m = self.model
        if d == 0 and m.warmup:
            self._extend_history()
        slot = d % HISTORY
        self._after_pool += self.after_removal[(d - 1) % HISTORY]
        self._after_pool -= self.after_removal[slot]
        self.after_removal[slot] = 0.0
        lam = float((self._after_pool * self.reoffend_table).sum())
        lam *= 1.0 - m.p["reoffending.effect_after_removal"]
        m.count("reoffences_after_removal_12m", int(m.rngs["behaviour"].poisson(max(lam, 0.0))))

    def _extend_history(self) -> None:
        """At the scenario start, fill the year before warm-up with the removals per day seen
        during warm-up, so that the 12-month after-removal pool starts full, not empty."""
        w = min(self.model.warmup, 365)
        seen = [(-k) % HISTORY for k in range(1, w + 1)]
        daily = self.after_removal[seen].sum(axis=0) / w
        for k in range(w + 1, HISTORY):
            self.after_removal[(-k) % HISTORY] = daily
        self._after_pool += daily * (365 - w)
