"""Full-scale timing of em-abm against the framework floor.

Runs ``baseline_2026`` for 3 simulated years at full scale (one warm-up run, then the median
of ``--repeats`` runs) and, in the same process, the framework floor: a bare ``mesa.Model``
with 28,700 x scale agents whose ``step()`` does nothing, advanced one ``shuffle_do("step")``
per simulated day for the same number of days (warm-up days included, as the model simulates
them too). The floor's days are timed in ``--repeats`` parts, one after each timed model run,
so that a shared machine's drift in speed weighs on the model and the floor alike.

Since people are followed (2.3), the model's Mesa agents are the people it follows, about
five times the people tagged; a second floor loops over that many agents (timed over a tenth
of the days and scaled), and the people followed per second are printed too.

The last line printed is machine-readable:
``wearer_days_per_s=<x> floor_ratio=<model s / floor s>
floor_ratio_own_agents=<model s / the second floor's s> peak_rss_mb=<m>``
where wearer-days are the tagged person-days the run simulates (``EMModel.wearer_days``:
tagged orders on each simulated day, warm-up days included), the same days the timing and
the floor cover. The line before gives the tagged person-days of the recorded period alone
(the warm-up excluded) per second of the same timing, a lower bound.

Usage: ``python benchmarks/bench_fullscale.py [--scale 1] [--years 3] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from typing import NamedTuple

import mesa

from em_abm import targets
from em_abm.agents import Person
from em_abm.model import EMModel
from em_abm.results import build_timeseries

# The floor's agents at scale 1: the people tagged in March 2026 (28,700; NAO key facts, the
# calibration target in calibration/targets.toml), the population the floor visits.
FLOOR_AGENTS = round(targets.value("tagged"))


class _Idle(mesa.Agent):
    def step(self) -> None:
        pass


def floor_model(n_agents: int) -> mesa.Model:
    """A bare Mesa model of ``n_agents`` agents whose ``step()`` does nothing."""
    model = mesa.Model(rng=1)
    _Idle.create_agents(model, n_agents)
    return model


def time_floor(model: mesa.Model, days: int) -> float:
    """Seconds for ``days`` of one ``shuffle_do("step")`` each."""
    t0 = time.perf_counter()
    for _ in range(days):
        model.agents.shuffle_do("step")
    return time.perf_counter() - t0


class Timed(NamedTuple):
    seconds: float  # to build, run and summarise the model
    wearer_days: int  # tagged person-days simulated, warm-up included
    recorded_days: float  # tagged person-days of the recorded period
    days: int  # simulated days
    agents: float  # the model's mean number of Mesa agents over the recorded period
    followed_days: float  # person-days of the people followed, recorded period


def time_model(scale: float, years: float) -> Timed:
    t0 = time.perf_counter()
    model = EMModel("baseline_2026", rng=1, years=years, scale=scale)
    model.run()
    ts = build_timeseries(model)
    seconds = time.perf_counter() - t0
    others = len(model.agents) - len(model.agents_by_type.get(Person, ()))
    return Timed(
        seconds, model.wearer_days, float(ts["tagged"].sum()), model.warmup + model.n_days,
        float(ts["people_followed"].mean()) + others, float(ts["people_followed"].sum()),
    )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--years", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    days = time_model(args.scale, args.years).days  # warm-up: imports, caches
    n_floor = round(FLOOR_AGENTS * args.scale)
    floor = floor_model(n_floor)
    parts = [days // args.repeats + (i < days % args.repeats) for i in range(args.repeats)]
    runs, floor_s = [], 0.0
    for part in parts:  # alternate model runs and parts of the floor
        runs.append(time_model(args.scale, args.years))
        floor_s += time_floor(floor, part)
    model_s = statistics.median(r.seconds for r in runs)
    wearer_days, recorded_days = runs[0].wearer_days, runs[0].recorded_days
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"model: {model_s:.2f} s (median of {args.repeats}: "
        f"{', '.join(f'{r.seconds:.2f}' for r in runs)}) for {days} simulated days "
        f"at scale {args.scale:g}"
    )
    print(f"floor: {floor_s:.2f} s (bare Mesa loop over {n_floor:,} agents)")
    print(
        f"tagged person-days: {wearer_days / 1e6:.1f} M simulated ({days} days), of which "
        f"{recorded_days / 1e6:.1f} M recorded ({recorded_days / model_s / 1e6:.2f} M per second "
        "counting the recorded period alone)"
    )
    # The floor over the agents the model has: a person model follows everyone on an order,
    # in custody after one or in their year after it (about five times the people tagged);
    # a bare loop over that many agents, timed over a tenth of the days.
    n_own = round(runs[0].agents)
    own = floor_model(n_own)
    own_days = max(1, days // 10)
    own_s = time_floor(own, own_days) * days / own_days
    print(
        f"floor over the model's own agents: {own_s:.2f} s (bare Mesa loop over {n_own:,} "
        f"agents, the model's mean; timed over {own_days} days and scaled to {days})"
    )
    print(
        f"people followed: {runs[0].followed_days / 1e6:.1f} M person-days recorded "
        f"({runs[0].followed_days / model_s / 1e6:.1f} M per second)"
    )
    print(
        f"wearer_days_per_s={wearer_days / model_s:.0f} floor_ratio={model_s / floor_s:.3f} "
        f"floor_ratio_own_agents={model_s / own_s:.3f} peak_rss_mb={peak_mb:.0f}"
    )


if __name__ == "__main__":
    main()
