"""Wall time of each part of the daily cycle, per simulated day.

Wraps each component's ``step`` (em_abm/component.py) and the model's daily record with
timers and runs ``baseline_2026`` for one year (plus warm-up). Comparing scales separates
the fixed per-day overhead (what a tiny scale still costs) from the work that grows with the
population.

Usage: ``python benchmarks/profile_steps.py [--scale 1.0] [--years 1]``
"""

from __future__ import annotations

import argparse
import collections
import time

from em_abm.model import EMModel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--years", type=float, default=1.0)
    args = ap.parse_args()
    EMModel(rng=1, years=0.01, scale=0.01).run()  # compile kernels, warm caches
    model = EMModel(rng=1, years=args.years, scale=args.scale)
    spent: collections.Counter[str] = collections.Counter()
    parts = [(stage, "step", name) for name, stage in model.stages.items()]
    for owner, method_name, label in [*parts, (model, "_record", "(record)")]:
        method = getattr(owner, method_name)

        def timed(*a, _method=method, _label=label, **k):
            t = time.perf_counter()
            out = _method(*a, **k)
            spent[_label] += time.perf_counter() - t
            return out

        setattr(owner, method_name, timed)
    t0 = time.perf_counter()
    model.run()
    total = time.perf_counter() - t0
    days = model.warmup + model.n_days
    print(f"scale {args.scale:g}: {total:.2f} s for {days} days = {total / days * 1e3:.2f} ms/day")
    for name, seconds in spent.most_common():
        print(f"  {name:24s} {seconds / days * 1e3:6.3f} ms/day")
    other = total - sum(spent.values())
    print(f"  {'(Mesa, events, rest)':24s} {other / days * 1e3:6.3f} ms/day")


if __name__ == "__main__":
    main()
