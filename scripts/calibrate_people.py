"""Fit the person model's offending parameters and the endogenous share of demand.

Targets (docs/FACTS.md, "Re-offending, custody and risk assessment"):

* 12-month proven reoffending of people starting a post-release or court-sentence order:
  35.2% (MoJ proven reoffending bulletin, adults released from custody or starting court
  orders, April-June 2023 cohort); court bail: 30% (assumption: below that, as bail is
  pre-conviction; the all-adult figure is 27.3%);
* proven reoffences per reoffender: 2.9 (MoJ, 2011-12; the latest published);
* the assessed score's AUC for 12-month proven reoffending: 0.75 (OGRS/OASys: 0.70-0.80);
* demand: the share of each cohort's orders that come from people already followed is set
  so that total inflows stay at the calibrated ``demand.orders_per_year``.

Fixed-point iteration on the baseline (scale and years below), printing the values to paste
into em_abm/params.py. Run: ``python scripts/calibrate_people.py [scale] [iterations]``.
"""

from __future__ import annotations

import sys

import numpy as np

from em_abm import params as P
from em_abm import targets
from em_abm.model import EMModel
from em_abm.params import COHORTS
from em_abm.results import build_summary, build_timeseries

# The published figures, read from calibration/targets.toml; court bail has no published
# rate, and 30% is an assumption (the all-adult figure is 27.3%).
_BY = "followup_proven_reoffending_12m_by_cohort"
TARGET_PROVEN = {
    "post_release": targets.value(f"{_BY}.post_release"),
    "court_bail": 0.30,
    "court_sentence": targets.value(f"{_BY}.court_sentence"),
}
TARGET_PER_REOFFENDER = targets.value("followup_proven_offences_per_reoffender")
TARGET_AUC = 0.75


def auc(score: np.ndarray, outcome: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney), ties counted half."""
    from scipy.stats import rankdata

    pos = outcome > 0.5
    n1, n0 = pos.sum(), (~pos).sum()
    if not n1 or not n0:
        return float("nan")
    r = rankdata(score)
    return float((r[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def measure(values: dict, scale: float, seed: int = 1) -> dict:
    m = EMModel(rng=seed, years=2.0, scale=scale, overrides=values)
    m.run()
    s = build_summary(m, build_timeseries(m))
    s["auc"] = auc(m.sample("followup_score"), m.sample("followup_proven"))
    return s


def main() -> None:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 0.25
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    d = P.defaults()
    names = [f"reoffending.annual_rate.{c}" for c in TARGET_PROVEN]
    values = {n: d[n] for n in names}
    values["reoffending.rate_sd"] = d["reoffending.rate_sd"]
    values["risk.assessment_correlation"] = d["risk.assessment_correlation"]
    for c in COHORTS:
        values[f"demand.endogenous_share.{c}"] = d[f"demand.endogenous_share.{c}"]
    for it in range(iterations):
        s = measure(values, scale)
        proven = s["followup_proven_reoffending_12m_by_cohort"]
        per = s["followup_proven_offences_per_reoffender"]
        print(
            f"iteration {it}: proven {', '.join(f'{c} {proven[c]:.3f}' for c in TARGET_PROVEN)}"
            f"; per reoffender {per:.2f}; AUC {s['auc']:.3f}"
        )
        for c, target in TARGET_PROVEN.items():
            n = f"reoffending.annual_rate.{c}"
            ratio = np.log1p(-target) / np.log1p(-min(proven[c], 0.95))
            values[n] = round(float(np.clip(values[n] * ratio, 0.01, 10.0)), 3)
        values["reoffending.rate_sd"] = round(
            float(np.clip(values["reoffending.rate_sd"] * (TARGET_PER_REOFFENDER / per) ** 0.5,
                          0.2, 3.0)), 3)  # fmt: skip
        rho = values["risk.assessment_correlation"] + 1.5 * (TARGET_AUC - s["auc"])
        values["risk.assessment_correlation"] = round(float(np.clip(rho, 0.05, 1.0)), 3)
        endo, got = s["orders_endogenous_by_cohort"], s["orders_received_by_cohort"]
        for c in COHORTS:
            share = endo[c] / got[c] if got[c] else 0.0
            values[f"demand.endogenous_share.{c}"] = round(float(min(share, 0.9)), 3)
    s = measure(values, scale, seed=2)
    proven = s["followup_proven_reoffending_12m_by_cohort"]
    print(
        "check (seed 2):",
        {c: round(proven[c], 3) for c in TARGET_PROVEN},
        "per reoffender",
        round(s["followup_proven_offences_per_reoffender"], 2),
        "AUC",
        round(s["auc"], 3),
        "tagged",
        round(s["tagged"] / scale),
    )
    for n, v in values.items():
        print(f"{n} = {v}")


if __name__ == "__main__":
    main()
