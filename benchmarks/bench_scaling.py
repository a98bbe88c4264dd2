"""How run time and memory grow with scale.

Runs ``baseline_2026`` for 3 years at scales 0.25, 0.5, 1, 2 and 4, each run in a fresh
process (so peak memory is per scale) after a tiny warm-up run, as ``bench_fullscale.py``
does (the first run in a process loads the compiled kernels from numba's cache, about half
a second that is not the cost of a run). The scales are taken in turn, ``--repeat`` rounds
of all of them (every other round in reverse order), and each scale's median is kept: a
shared machine's speed drifts over the minutes this takes, and rounds spread the drift over
every scale rather than favouring the scales timed in a fast moment. Fits the exponent b
of time ~ scale^b by least squares on logs and prints a table. Expect b near 1 (linear in
the population) and peak memory well under 600 MB at scale 1.

Usage: ``python benchmarks/bench_scaling.py [--scales 0.25 0.5 1 2 4] [--years 3] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

FIGURE = Path(__file__).resolve().parent / "figures" / "scaling.png"
MEMORY_TARGETS_MB = {1.0: 600, 4.0: 2048}  # issue 4/9: peak RSS at scale 1 and at scale 4

CHILD = """
import json, resource, sys, time
from em_abm.model import EMModel
scale, years = float(sys.argv[1]), float(sys.argv[2])
EMModel("baseline_2026", rng=1, years=0.05, scale=0.01).run()  # load compiled kernels
t0 = time.perf_counter()
EMModel("baseline_2026", rng=1, years=years, scale=scale).run()
print(json.dumps({"seconds": time.perf_counter() - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _time_one(scale: float, years: float) -> tuple[float, float]:
    """Seconds and peak resident memory (MB) of one run in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(scale), str(years)],
        capture_output=True,
        text=True,
        check=True,
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return r["seconds"], r["peak_rss_mb"]


def _power_law(scales, seconds) -> np.ndarray:
    """Least-squares fit of log time on log scale: the exponent, then the log of the
    constant."""
    return np.polyfit(np.log(scales), np.log(seconds), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0, 4.0])
    ap.add_argument("--years", type=float, default=3.0)
    ap.add_argument("--repeat", type=int, default=5, help="rounds over the scales (median timed)")
    ap.add_argument(
        "--figure", type=Path, default=FIGURE, help=f"where to draw the figure (default {FIGURE})"
    )
    args = ap.parse_args()
    times: dict[float, list[float]] = {s: [] for s in args.scales}
    peaks: dict[float, float] = dict.fromkeys(args.scales, 0.0)
    for r in range(args.repeat):
        # Every other round takes the scales in reverse, so that a drift in the machine's
        # speed during a round does not always favour the same end of the scale.
        for s in args.scales if r % 2 == 0 else args.scales[::-1]:
            seconds, peak = _time_one(s, args.years)
            times[s].append(seconds)
            peaks[s] = max(peaks[s], peak)
            print(f"round {r + 1}, scale {s:g}: {seconds:.2f} s", flush=True)
    for s in args.scales:
        runs = ", ".join(f"{t:.2f}" for t in times[s])
        print(
            f"scale {s:5g}: {statistics.median(times[s]):7.2f} s ({runs})  "
            f"peak RSS {peaks[s]:7.0f} MB"
        )
    scales = np.array(args.scales)
    seconds = np.array([statistics.median(times[s]) for s in args.scales])
    power = _power_law(scales, seconds)
    b = power[0]
    large = scales >= 1
    b_large = _power_law(scales[large], seconds[large])[0] if large.sum() >= 2 else float("nan")
    # One exponent per round: how far the machine's drift alone moves the fit.
    by_round = [
        _power_law(scales, [times[s][r] for s in args.scales])[0] for r in range(args.repeat)
    ]
    print(
        "exponent of each round alone: " + ", ".join(f"{e:.2f}" for e in by_round)
        + " (the spread is the machine's drift, not the model)"
    )  # fmt: skip
    per_scale, fixed = np.polyfit(scales, seconds, 1)
    print(
        f"time ~ {fixed:.2f} s + {per_scale:.2f} s x scale (least squares); the fixed part is "
        "what a run costs whatever its population (the Python and numpy calls of every "
        "simulated day)"
    )
    draw(args.figure, scales, seconds, times, peaks, power, (fixed, per_scale), args.years)
    print(f"wrote {args.figure}")
    print(
        f"scaling_exponent={b:.3f} exponent_from_scale_1={b_large:.3f} "
        f"round_exponents={min(by_round):.3f}-{max(by_round):.3f} "
        f"fixed_s={fixed:.2f} per_scale_s={per_scale:.2f}"
    )


def draw(path: Path, scales, medians, times, peaks, power, line, years: float) -> None:
    """Time against scale on log axes (every run in ``times``, the ``medians``, the fitted
    ``power`` law and the least-squares ``line``: fixed and per-scale seconds) and peak
    memory against scale with the targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    from em_abm.plots import OKABE_ITO, PNG_META

    fixed, per_scale = line
    fig, (ax, mx) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for s in scales:
        ax.scatter([s] * len(times[s]), times[s], color=OKABE_ITO[4], s=12, zorder=2)
    ax.plot(scales, medians, "o", color=OKABE_ITO[0], label="median of the runs", zorder=3)
    grid = np.geomspace(scales.min(), scales.max(), 50)
    ax.plot(grid, np.exp(np.polyval(power, np.log(grid))), color=OKABE_ITO[0], lw=1,
            label=f"power law, exponent {power[0]:.2f}")  # fmt: skip
    ax.plot(grid, fixed + per_scale * grid, color=OKABE_ITO[5], ls="--", lw=1,
            label=f"{fixed:.2f} s + {per_scale:.2f} s x scale")  # fmt: skip
    ref = scales[scales <= 1].max() if (scales <= 1).any() else scales.min()
    at_ref = medians[scales == ref][0] / ref
    ax.plot(grid, at_ref * grid, color="black", ls=":", lw=1,
            label=f"proportional to scale, through scale {ref:g}")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("scale (1 = England and Wales)")
    ax.set_ylabel(f"seconds for {years:g} simulated years")
    ax.set_title("Run time against population", fontsize=10)
    ax.grid(alpha=0.3, linewidth=0.5, which="both")
    ax.legend(fontsize=8, loc="upper left")
    mx.plot(scales, [peaks[s] for s in scales], "o-", color=OKABE_ITO[0], label="peak RSS")
    mx.scatter(list(MEMORY_TARGETS_MB), list(MEMORY_TARGETS_MB.values()), marker="_", s=300,
               color=OKABE_ITO[5], label="target (600 MB at 1, 2 GB at 4)")  # fmt: skip
    mx.set_xscale("log")
    for a in (ax, mx):
        a.set_xticks(scales, [f"{s:g}" for s in scales])
        a.minorticks_off()
    lo, hi = min(min(t) for t in times.values()), max(max(t) for t in times.values())
    steps = [m * 10.0**e for e in range(-2, 4) for m in (1, 2, 5)]
    ax.set_yticks([v for v in steps if lo / 1.5 <= v <= hi * 1.5])
    ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    mx.set_xlabel("scale (1 = England and Wales)")
    mx.set_ylabel("MB")
    mx.set_ylim(0, None)
    mx.set_title("Peak resident memory of a run's process", fontsize=10)
    mx.grid(alpha=0.3, linewidth=0.5)
    mx.legend(fontsize=8, loc="upper left")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata=PNG_META)
    plt.close(fig)


if __name__ == "__main__":
    main()
