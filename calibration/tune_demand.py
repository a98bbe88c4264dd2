"""Calibrate order inflows so that the baseline reproduces the March 2026 tagged stock.

Targets (FACTS.md): 28,700 people tagged in March 2026 (NAO key facts, para 7) split 37% post-
release, 34% court bail, 15% immigration, 14% court sentences (NAO Figure 1 D) and specials at
0.32% (89 of 28,111 in December 2025, HMPPS statistics; the NAO reports "less than 0.5%").

Method: a fixed-point iteration. Run ``baseline_2026`` at full scale over several seeds,
take each cohort's mean tagged stock over the final year, and multiply that cohort's
``demand.orders_per_year`` by target / model. The tagged stock is close to proportional to
the inflow while field capacity is not binding, so two or three rounds converge.

Usage: ``python calibration/tune_demand.py [--rounds 3] [--seeds 3] [--years 2]``. It prints
the calibrated values to paste into ``em_abm/params.py`` (``_ORDERS``).
"""

from __future__ import annotations

import argparse

import numpy as np
from joblib import Parallel, delayed

import em_abm
from em_abm import targets
from em_abm.params import COHORTS, defaults

TOTAL = targets.value("tagged")
SPECIALS_SHARE = 89 / 28_111
SHARES = {
    c: targets.value(f"share:tagged_by_cohort.{c}/tagged")
    for c in ("post_release", "court_bail", "immigration", "court_sentence")
}
TARGET = {c: TOTAL * (1 - SPECIALS_SHARE) * s for c, s in SHARES.items()}
TARGET["specials"] = TOTAL * SPECIALS_SHARE


def tagged_by_cohort(orders: dict[str, float], seed: int, years: float) -> dict[str, float]:
    overrides = {f"demand.orders_per_year.{c}": v for c, v in orders.items()}
    res = em_abm.run("baseline_2026", seed=seed, years=years, scale=1.0, overrides=overrides)
    return res.summary["tagged_by_cohort"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--years", type=float, default=2.0)
    args = ap.parse_args()
    d = defaults()
    orders = {c: d[f"demand.orders_per_year.{c}"] for c in COHORTS}
    for r in range(args.rounds):
        runs = Parallel(n_jobs=-1)(
            delayed(tagged_by_cohort)(orders, s, args.years) for s in range(1, args.seeds + 1)
        )
        model = {c: float(np.mean([x[c] for x in runs])) for c in COHORTS}
        print(f"round {r + 1}: total tagged {sum(model.values()):,.0f}")
        for c in COHORTS:
            print(f"  {c:15s} model {model[c]:8.0f} target {TARGET[c]:8.0f}")
            orders[c] *= TARGET[c] / model[c]
    print("\n_ORDERS = {")
    for c in COHORTS:
        print(f'    "{c}": {round(orders[c]):_}.0,')
    print("}")


if __name__ == "__main__":
    main()
