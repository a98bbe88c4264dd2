"""The speed of two versions of em-abm, measured in one invocation, alternating.

Checks out ``--before`` (a git revision) into a temporary worktree and, for each scale,
times ``baseline_2026`` for ``--years`` at that scale in fresh processes, alternating the
two versions (before, after, after, before, ...) so that a shared machine's drift weighs on
both alike. Each process compiles (or loads from cache) the kernels and runs one untimed
short model first. Prints the median seconds of each version and their ratio.

Usage: ``python benchmarks/bench_versions.py --before REV [--after REV] [--scales 1 0.1]
[--rounds 6] [--years 3]`` (``--after`` defaults to the working tree).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_TIME = """
import json, sys, time
from em_abm.model import EMModel
EMModel(rng=1, years=0.02, scale=0.01).run()
t = time.perf_counter()
m = EMModel(rng=1, years={years}, scale={scale})
m.run()
print(json.dumps({{"s": time.perf_counter() - t, "wearer_days": m.wearer_days}}))
"""


def _worktree(rev: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(where), rev],
                   check=True, capture_output=True)  # fmt: skip
    return where


def _time(tree: Path, scale: float, years: float) -> dict:
    code = _TIME.format(scale=scale, years=years)
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, env=env, cwd=tree)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="git revision of the earlier version")
    ap.add_argument("--after", default=None, help="git revision (default: the working tree)")
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.1])
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--years", type=float, default=3.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"before": _worktree(args.before, Path(tmp) / "before")}
        trees["after"] = _worktree(args.after, Path(tmp) / "after") if args.after else ROOT
        try:
            for scale in args.scales:
                times: dict[str, list[float]] = {"before": [], "after": []}
                work = {}
                for r in range(args.rounds):
                    order = ("before", "after") if r % 2 == 0 else ("after", "before")
                    for name in order:
                        res = _time(trees[name], scale, args.years)
                        times[name].append(res["s"])
                        work[name] = res["wearer_days"]
                med = {k: statistics.median(v) for k, v in times.items()}
                same = "same work" if work["before"] == work["after"] else "DIFFERENT work"
                print(
                    f"scale {scale:g}: before {med['before']:.3f} s, after {med['after']:.3f} s "
                    f"(medians of {args.rounds}; {same}); after/before = "
                    f"{med['after'] / med['before']:.3f}"
                )
                for name in ("before", "after"):
                    print(f"  {name}: " + ", ".join(f"{t:.3f}" for t in times[name]))
        finally:
            for tree in trees.values():
                if tree != ROOT:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                    str(tree)], capture_output=True)  # fmt: skip


if __name__ == "__main__":
    main()
