"""Runs per minute through the sweep machinery: 1-year runs at scale 0.1 of baseline_2026.

Runs the same 16-run sweep (a Latin hypercube over two parameters, one seed each) with one
worker and with ``--jobs`` workers (loky, and Dask on a LocalCluster with ``--dask``), each
into a fresh folder, after small warm-up sweeps that start the worker pool and load the
compiled code in this process (where the one-worker sweep runs). The
acceptance target: with 2 workers at least 1.7 times faster than with 1.

Usage: ``python benchmarks/bench_sweep.py [--runs 16] [--jobs 2] [--dask]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from em_abm import sweep as S


def spec(runs: int, name: str = "bench") -> S.Spec:
    return S.spec_from_dict({
        "name": name, "scenario": "baseline_2026", "design": "lhs", "samples": runs,
        "replicates": 1, "seed": 1, "years": 1.0, "scale": 0.1,
        "outputs": ["tagged", "cost_total_gbp.total"],
        "vary": {"field.fit_success_prob": [0.3, 0.45], "orders.error_rate": [0.15, 0.3]},
    })  # fmt: skip


def timed(s: S.Spec, jobs: int, backend: str = "loky") -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        S.sweep(s, Path(tmp) / "out", jobs=jobs, backend=backend)
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=16)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--dask", action="store_true", help="also time the Dask backend")
    args = ap.parse_args()
    timed(spec(args.jobs * 2, "warm-up"), args.jobs)  # start the pool, load compiled code
    timed(spec(1, "warm-up"), 1)  # and in this process, which runs the one-worker sweep
    s = spec(args.runs)
    serial = timed(s, 1)
    parallel = timed(s, args.jobs)
    line = (f"{args.runs} runs: 1 job {serial:.1f} s, {args.jobs} jobs (loky, "
            f"{os.cpu_count()} cores) {parallel:.1f} s")  # fmt: skip
    if args.dask:
        line += f", {args.jobs} Dask workers {timed(s, args.jobs, 'dask'):.1f} s"
    print(line)
    print(f"runs_per_minute={60 * args.runs / parallel:.1f} speedup={serial / parallel:.2f}")


if __name__ == "__main__":
    main()
