"""Many runs of one scenario: K seeds in parallel, a long table and bands.

``em_abm.run_many("baseline_2026", seeds=10, years=3, scale=0.25, jobs=2)`` (or ``em-abm run
SCENARIO --seeds 10``) runs the scenario on K replicate seeds spawned from one root
(``SeedSequence(root_seed).spawn(K)``, as ``compare`` and the sweeps do) and returns a
:class:`ManyRuns`:

* ``long``: one row per run, day and metric: ``run``, ``seed``, ``date``, ``metric``,
  ``value`` (the counts of the run's scale: ``counts`` says what they are);
* ``runs``: one row per run: ``run``, ``seed`` and every scalar of its summary;
* :meth:`ManyRuns.bands`: per day and metric, the median and the 10% and 90% quantiles over
  the runs; :meth:`ManyRuns.plot` draws them (England-and-Wales equivalents, saying so).

``ManyRuns.save(out)`` writes ``runs.parquet`` (the long table), ``summary.csv`` (one row per
run), ``bands.csv``, ``metadata.json`` and ``figures/bands.png``. Each run is the same, bit
for bit, whether the runs go one by one or in a pool.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from em_abm.bands import BAND_METRICS, FLOW_WINDOW, bands, long_table
from em_abm.errors import UserError

MANY_FILES = ("runs.parquet", "summary.csv", "bands.csv", "metadata.json", "figures")
MAX_SEEDS = 10_000


@dataclass
class ManyRuns:
    """K runs of one scenario (see the module docstring)."""

    long: pd.DataFrame
    runs: pd.DataFrame
    scale: float
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> str:
        """What the long table's counts are (a scaled sample, or England and Wales)."""
        from em_abm.metrics import scale_label

        return scale_label(self.scale)

    def bands(self, metrics=None, *, per_england_and_wales: bool = True,
              flow_window: int = 1) -> pd.DataFrame:  # fmt: skip
        """Per day and metric, quantiles over the runs: see :func:`bands`."""
        return bands(self.long, self.scale, metrics, per_england_and_wales=per_england_and_wales,
                     flow_window=flow_window)  # fmt: skip

    def plot(self, folder: str | os.PathLike | None = None, metrics=BAND_METRICS):
        """The median and 10-90% band of each metric over the runs, per England and Wales;
        with ``folder``, saved as ``bands.png`` there (returns its path), else the figure."""
        from em_abm import plots

        title = (f"{self.metadata.get('scenario', '')}: {len(self.runs)} seeds, median and "
                 f"10-90% band (daily flows as {FLOW_WINDOW}-day means)")  # fmt: skip
        return plots.bands(self.bands(metrics, flow_window=FLOW_WINDOW), metrics, title=title,
                           scale=self.scale, folder=folder)  # fmt: skip

    def save(self, out: str | os.PathLike, *, force: bool = False, figures: bool = True) -> Path:
        """Write the runs into ``out`` (all or nothing; see the module docstring)."""
        from em_abm import files
        from em_abm.results import write_json

        writes = MANY_FILES if figures else MANY_FILES[:-1]
        with files.writing(out, force=force, kind="runs", writes=writes) as tmp:
            self.long.to_parquet(tmp / "runs.parquet", index=False)
            self.runs.to_csv(tmp / "summary.csv", index=False)
            self.bands().to_csv(tmp / "bands.csv", index=False, float_format="%.6g")
            write_json(tmp / "metadata.json", {**self.metadata, "counts": self.counts,
                                               "bands": "per England and Wales"})  # fmt: skip
            if figures:
                self.plot(tmp / "figures")
        return files.resolve_out(out)


def _one(scenario, seed: int, years: float, scale: float, overrides, model, metrics):
    from em_abm.results import flatten, run_model
    from em_abm.scenario import window_warned_by_caller

    with window_warned_by_caller():  # run_many warned once
        res = run_model(scenario, seed=seed, years=years, scale=scale, overrides=overrides,
                        model=model)  # fmt: skip
    ts = res.timeseries if metrics is None else res.timeseries[["date", *metrics]]
    return seed, flatten(res.summary), ts


def run_many(
    scenario="baseline_2026",
    *,
    seeds: int | list[int] = 10,
    root_seed: int = 0,
    years: float = 3.0,
    scale: float = 1.0,
    overrides: dict[str, Any] | None = None,
    model=None,
    metrics: list[str] | None = None,
    jobs: int = 1,
    progress: bool = False,
) -> ManyRuns:
    """Run ``scenario`` on ``seeds`` replicate seeds (a number K, spawned from
    ``root_seed``, or a list) in ``jobs`` processes; ``metrics`` keeps only those series in
    the long table (default: all). See the module docstring."""
    from joblib import Parallel, delayed

    from em_abm import extension, limits
    from em_abm.compare import seeds_for
    from em_abm.model import days_for_years
    from em_abm.results import series_columns
    from em_abm.scenario import load, warn_past_window

    if isinstance(seeds, bool) or not isinstance(seeds, int | list):
        raise UserError(f"seeds: got {seeds!r}; allowed: a number of seeds or a list of them")
    if isinstance(seeds, int) and not 1 <= seeds <= MAX_SEEDS:
        raise UserError(f"seeds: got {seeds}; allowed: 1 to {MAX_SEEDS}")
    seed_list = seeds_for(root_seed, seeds) if isinstance(seeds, int) else list(seeds)
    if not seed_list or len(set(seed_list)) != len(seed_list):
        raise UserError("seeds: allowed: at least one seed, each once")
    if not limits.years_ok(years):
        raise UserError(f"years: got {years!r}; allowed: {limits.YEARS_ALLOWED}")
    if not limits.scale_ok(scale):
        raise UserError(f"scale: got {scale!r}; allowed: {limits.SCALE_ALLOWED}")
    scen = load(scenario).with_overrides(dict(overrides or {}), where="overrides: ")
    extension.resolve(model)  # a wrong model is one line before any run
    if metrics is not None:
        from em_abm.errors import check_known

        known = series_columns()
        for m in metrics:
            check_known(m, known, where="metrics", what="metric",
                        allowed="time-series columns (`em-abm metrics`)")  # fmt: skip
    warn_past_window(scen, days_for_years(years))
    t0 = time.perf_counter()
    it = Parallel(n_jobs=jobs, return_as="generator")(
        delayed(_one)(scen, s, years, scale, None, model, metrics) for s in seed_list
    )
    if progress:
        from tqdm import tqdm

        it = tqdm(it, total=len(seed_list), unit="run", desc=scen.name)
    longs, rows = [], []
    for i, (seed, flat, ts) in enumerate(it):
        longs.append(long_table(ts, run=i, seed=seed))
        rows.append({"run": i, "seed": seed, **flat})
    meta = {
        "scenario": scen.name,
        "seeds": seed_list,
        "root_seed": root_seed if isinstance(seeds, int) else None,
        "years": years,
        "scale": scale,
        "model": extension.name_of(model),
        "wall_time_s": round(time.perf_counter() - t0, 3),
    }
    return ManyRuns(long=pd.concat(longs, ignore_index=True), runs=pd.DataFrame(rows),
                    scale=scale, metadata=meta)  # fmt: skip
