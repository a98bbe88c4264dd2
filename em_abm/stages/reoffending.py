"""Reoffending: who offends how often, and what a tag, its removal and the courts change.

Everyone the model follows (:mod:`em_abm.stages.people`) offends while at liberty, tagged or
not, and never in custody. A person's daily hazard is the mean rate of the cohort of their
first order (``reoffending.annual_rate.<cohort>`` / 365) times a lognormal factor of mean 1
(``reoffending.rate_sd``) drawn from a latent score; the same score sets their true risk
level (its quantile against the cohort's risk mix), and the risk assessment policies see is
a noisy copy of it (``risk.assessment_correlation``). A working tag scales the hazard by one
minus the tag's effect: ``reoffending.effect_while_tagged.<tag>`` for medium true risk, times
``reoffending.effect_ratio.<risk>`` for low and high (negative effects, harm, are allowed: the
risk principle), and for ``reoffending.after_removal_days`` after a tagged order
by one minus ``reoffending.effect_after_removal``.

A share of offences is proven (``reoffending.proven_share``); a proven offence leads to
remand, a custodial sentence, court bail with a tag, a community order with a tag, or none
of these (``court.offence_*_prob``, each of the offences no earlier outcome took).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from em_abm import params as P
from em_abm.component import Component, register
from em_abm.kernels.core import categorical
from em_abm.params import COHORTS, RISK_LEVELS, TAGS

OFFENCE_OUTCOMES = ("remand", "custody", "bail_tag", "community_tag")


@register
class Reoffending(Component):
    name = "reoffending"
    params = ("reoffending.", "risk.", "court.offence_", "behaviour.risk_mix.")
    metrics = (
        "reoffences_while_tagged", "reoffences_while_unmonitored", "reoffences_while_on_order",
        "reoffences_after_order", "reoffences_expected_if_untagged", "offences",
        "offences_expected_untagged", "proven_offences",
    )  # fmt: skip

    def on_params(self) -> None:
        p = self.model.p
        self.daily_rate = np.array(P.vector(p, "reoffending.annual_rate", COHORTS)) / 365.0
        self.rate_sd = float(p["reoffending.rate_sd"])
        ratio = {"medium": 1.0, **{r: p[f"reoffending.effect_ratio.{r}"] for r in ("low", "high")}}
        effect = [p[f"reoffending.effect_while_tagged.{t}"] * ratio[r] for t in TAGS
                  for r in RISK_LEVELS]  # fmt: skip
        # [tag * 3 + true risk]; an effect above 100% means no offending while tagged
        self.tag_factor = np.maximum(1.0 - np.array(effect), 0.0)
        self.after_factor = 1.0 - p["reoffending.effect_after_removal"]
        self.proven_share = float(p["reoffending.proven_share"])
        # Each outcome's probability applies to the offences no earlier outcome took.
        conditional = np.array([p[f"court.offence_{k}_prob"] for k in OFFENCE_OUTCOMES])
        left = np.concatenate(([1.0], np.cumprod(1.0 - conditional)[:-1]))
        self.outcome_cdf = np.cumsum(conditional * left)
        self.assessment_rho = float(p["risk.assessment_correlation"])
        risk_cdf = np.cumsum(
            [P.vector(p, f"behaviour.risk_mix.{c}", RISK_LEVELS) for c in COHORTS], axis=1
        )
        risk_cdf[:, -1] = 1.0
        self.risk_cdf = risk_cdf

    def draw_people(self, cohort: np.ndarray, z: np.ndarray, eps: np.ndarray) -> dict:
        """People's offending rates and risk levels from their cohort, latent score ``z`` and
        the assessment's noise ``eps`` (both standard normal)."""
        s = self.rate_sd
        rate = self.daily_rate[cohort] * np.exp(s * z - 0.5 * s * s)
        rho = self.assessment_rho
        score = rho * z + np.sqrt(max(1.0 - rho * rho, 0.0)) * eps
        return {
            "rate": rate,
            "true_risk": self.level(cohort, z),
            "risk": self.level(cohort, score),
            "score": score,
        }

    def level(self, cohort: np.ndarray, score: np.ndarray) -> np.ndarray:
        """Risk levels: the quantile of ``score`` against the cohort's risk mix."""
        level = categorical(ndtr(score), self.risk_cdf, np.asarray(cohort, dtype=np.int64))
        return np.minimum(level, len(RISK_LEVELS) - 1)  # ndtr is 1.0 above about 8.3

    def expected_untagged(self, rate: np.ndarray, days) -> float:
        """Offences people with these daily rates would commit untagged in ``days``."""
        return float((np.asarray(days) * rate).sum())
