"""How run time and memory grow with scale.

Runs ``baseline_2026`` for 3 years at scales 0.25, 0.5, 1, 2 and 4, each in a fresh process
(so peak memory is per scale), and times the median of ``--repeat`` runs after a tiny
warm-up run, as ``bench_fullscale.py`` does (the first run in a process loads the compiled
kernels from numba's cache, about half a second that is not the cost of a run). Fits the
exponent b of time ~ scale^b by least squares on logs and prints a table. Expect b near 1
(linear in the population) and peak memory well under 600 MB at scale 1.

Usage: ``python benchmarks/bench_scaling.py [--scales 0.25 0.5 1 2 4] [--years 3] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np

CHILD = """
import gc, json, resource, sys, time
from em_abm.model import EMModel
scale, years, repeat = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
EMModel("baseline_2026", rng=1, years=0.05, scale=0.01).run()  # load compiled kernels
seconds = []
for _ in range(repeat):
    t0 = time.perf_counter()
    m = EMModel("baseline_2026", rng=1, years=years, scale=scale)
    m.run()
    seconds.append(time.perf_counter() - t0)
    del m
    gc.collect()  # a finished model is a web of references: free it before the next
print(json.dumps({"seconds": sorted(seconds)[len(seconds) // 2],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0, 4.0])
    ap.add_argument("--years", type=float, default=3.0)
    ap.add_argument("--repeat", type=int, default=3, help="runs per scale (median timed)")
    args = ap.parse_args()
    rows = []
    for s in args.scales:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(s), str(args.years), str(args.repeat)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append((s, r["seconds"], r["peak_rss_mb"]))
        print(
            f"scale {s:5g}: {r['seconds']:7.2f} s  peak RSS {r['peak_rss_mb']:7.0f} MB", flush=True
        )
    scales, seconds = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    b = np.polyfit(np.log(scales), np.log(seconds), 1)[0]
    large = scales >= 1
    b_large = (
        np.polyfit(np.log(scales[large]), np.log(seconds[large]), 1)[0]
        if large.sum() >= 2
        else float("nan")
    )
    per_scale, fixed = np.polyfit(scales, seconds, 1)
    print(
        f"time ~ {fixed:.2f} s + {per_scale:.2f} s x scale (least squares); the fixed part is "
        "what a run costs whatever its population (about 1,300 simulated days of Python "
        "and numpy calls)"
    )
    print(
        f"scaling_exponent={b:.3f} exponent_from_scale_1={b_large:.3f} "
        f"fixed_s={fixed:.2f} per_scale_s={per_scale:.2f}"
    )


if __name__ == "__main__":
    main()
