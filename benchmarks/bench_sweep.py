"""Runs per minute on all cores: 1-year runs at scale 0.1 in a joblib (loky) pool.

Also times the same runs with one process, so the parallel speed-up is visible.

Usage: ``python benchmarks/bench_sweep.py [--runs 16] [--jobs -1]``
"""

from __future__ import annotations

import argparse
import os
import time

from joblib import Parallel, delayed

from em_abm.compare import seeds_for
from em_abm.results import run_model


def one(seed: int) -> float:
    return run_model("baseline_2026", seed=seed, years=1.0, scale=0.1).summary["tagged"]


def timed(seeds, jobs) -> float:
    t0 = time.perf_counter()
    Parallel(n_jobs=jobs)(delayed(one)(s) for s in seeds)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=16)
    ap.add_argument("--jobs", type=int, default=-1)
    args = ap.parse_args()
    seeds = seeds_for(0, args.runs)
    timed(seeds[:2], args.jobs)  # start the pool and import everything once
    serial = timed(seeds, 1)
    parallel = timed(seeds, args.jobs)
    cores = os.cpu_count()
    print(
        f"{args.runs} runs: 1 job {serial:.1f} s, {args.jobs} jobs ({cores} cores) {parallel:.1f} s"
    )
    print(f"runs_per_minute={60 * args.runs / parallel:.1f} speedup={serial / parallel:.2f}")


if __name__ == "__main__":
    main()
