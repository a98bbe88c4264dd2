"""The 2024 supplier transition against the backlog figures the NAO reports.

Runs ``transition_2024`` over several seeds and draws outstanding visits (median and range)
with the reported points: about 1,200 in May 2024, a peak of 7,000 in October 2024, and
HMPPS's tolerable level of 400 (NAO HC 266 key facts, paras 9-10).

Usage: ``python calibration/plot_transition.py [--seeds 5] [--scale 0.25] [--out docs]``
"""

from __future__ import annotations

import argparse

from joblib import Parallel, delayed

from em_abm import plots
from em_abm.compare import seeds_for
from em_abm.results import run_model
from em_abm.targets import NAO_BACKLOG


def backlog(seed: int, scale: float):
    r = run_model("transition_2024", seed=seed, years=1.7, scale=scale)
    return r.timeseries.set_index("date")["outstanding_visits"].rename(seed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--out", default="docs")
    args = ap.parse_args()
    series = Parallel(n_jobs=-1)(delayed(backlog)(s, args.scale) for s in seeds_for(0, args.seeds))
    plots.backlog_against_reported(
        series,
        scale=args.scale,
        reported=NAO_BACKLOG,
        folder=args.out,
        name="transition_2024_backlog.png",
        title=f"transition_2024: outstanding visits (scale {args.scale:g}, per England and Wales)",
    )
    print(f"wrote {args.out}/transition_2024_backlog.png")


if __name__ == "__main__":
    main()
