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

import numpy as np
import pandas as pd

from em_abm import limits
from em_abm.bands import BAND_METRICS, FLOW_WINDOW, bands
from em_abm.errors import UserError

MANY_FILES = ("runs.parquet", "summary.csv", "bands.csv", "metadata.json", "figures")
MAX_SEEDS, MAX_JOBS = limits.MAX_SEEDS, limits.MAX_JOBS
BANDS_NOTE = f"per England and Wales; daily flows as {FLOW_WINDOW}-day means"


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

    def plot(self, folder: str | os.PathLike | None = None, metrics=None):
        """The median and 10-90% band of each metric over the runs (by default
        :data:`~em_abm.bands.BAND_METRICS`, or the first six series these runs kept), per
        England and Wales, daily flows as 28-day means; with ``folder``, saved as
        ``bands.png`` there (returns its path), else the figure."""
        from em_abm import plots

        if metrics is None:
            present = list(dict.fromkeys(self.long["metric"]))
            metrics = [m for m in BAND_METRICS if m in present] or present[:6]
        title = (f"{self.metadata.get('scenario', '')}: {len(self.runs)} seeds, median and "
                 f"10-90% band (daily flows as {FLOW_WINDOW}-day means)")  # fmt: skip
        return plots.bands(self.bands(metrics, flow_window=FLOW_WINDOW), metrics, title=title,
                           scale=self.scale, folder=folder)  # fmt: skip

    def save(self, out: str | os.PathLike, *, force: bool = False, figures: bool = True) -> Path:
        """Write the runs into ``out`` (all or nothing; see the module docstring)."""
        from em_abm import files
        from em_abm.results import COUNTS, SCALE, write_json, write_parquet

        columns = {"value": ("", f"the metric's value, in its unit; {self.counts}")}
        with files.writing(out, force=force, kind="runs", writes=many_files(figures)) as tmp:
            write_parquet(self.long, tmp / "runs.parquet", columns,
                          {COUNTS: self.counts, SCALE: f"{self.scale:g}"})  # fmt: skip
            self.runs.to_csv(tmp / "summary.csv", index=False)
            self.bands(flow_window=FLOW_WINDOW).to_csv(tmp / "bands.csv", index=False,
                                                       float_format="%.6g")  # fmt: skip
            write_json(tmp / "metadata.json", {**self.metadata, "counts": self.counts,
                                               "bands": BANDS_NOTE})  # fmt: skip
            if figures:
                self.plot(tmp / "figures")
        return files.resolve_out(out)


def many_files(figures: bool = True) -> tuple[str, ...]:
    """The top-level entries a saved :class:`ManyRuns` has."""
    return MANY_FILES if figures else tuple(f for f in MANY_FILES if f != "figures")


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
    ``root_seed``, or a list) in ``jobs`` processes (-1: every core); ``metrics`` keeps only
    those series in the long table (default: all). See the module docstring."""
    from em_abm import extension
    from em_abm.compare import Arm, run_arms, seeds_for
    from em_abm.errors import check_known
    from em_abm.record import series_columns
    from em_abm.results import SCHEMA_VERSION, git_commit
    from em_abm.scenario import load
    from em_abm.version import __version__

    def whole(x) -> bool:
        return isinstance(x, int | np.integer) and not isinstance(x, bool)

    if not (whole(seeds) or isinstance(seeds, list)):
        raise UserError(f"seeds: got {seeds!r}; allowed: a number of seeds or a list of them")
    if whole(seeds) and not 1 <= seeds <= MAX_SEEDS:
        raise UserError(f"seeds: got {seeds}; allowed: 1 to {MAX_SEEDS}")
    if not whole(root_seed) or root_seed < 0:
        raise UserError(f"root_seed: got {root_seed!r}; allowed: a non-negative integer")
    if isinstance(seeds, list) and not all(whole(s) and s >= 0 for s in seeds):
        raise UserError(f"seeds: got {seeds!r}; allowed: non-negative integers")
    seed_list = seeds_for(root_seed, int(seeds)) if whole(seeds) else [int(s) for s in seeds]
    if not seed_list or len(set(seed_list)) != len(seed_list):
        raise UserError("seeds: allowed: at least one seed, each once")
    if not whole(jobs) or not (jobs == -1 or 1 <= jobs <= MAX_JOBS):
        raise UserError(f"jobs: got {jobs!r}; allowed: 1 to {MAX_JOBS}, or -1 for every core")
    if not limits.years_ok(years):
        raise UserError(f"years: got {years!r}; allowed: {limits.YEARS_ALLOWED}")
    if not limits.scale_ok(scale):
        raise UserError(f"scale: got {scale!r}; allowed: {limits.SCALE_ALLOWED}")
    scen = load(scenario).with_overrides(dict(overrides or {}))
    if metrics is not None:
        for m in metrics:
            check_known(m, series_columns(), where="metrics", what="metric",
                        allowed="time-series columns (`em-abm metrics`)")  # fmt: skip
    t0 = time.perf_counter()
    rows, long = run_arms([Arm(scen.name, scen)], seeds=seed_list, years=years, scale=scale,
                          jobs=jobs, progress=progress, model=model,
                          series=None if metrics is None else tuple(metrics),
                          desc=scen.name)  # fmt: skip
    rows = rows.drop(columns="arm")
    rows.insert(0, "run", np.arange(len(rows)))
    meta = {
        "schema_version": SCHEMA_VERSION,
        "package": "em-abm",
        "version": __version__,
        "git_commit": git_commit(),
        "scenario": scen.name,
        "seeds": seed_list,
        "root_seed": root_seed if whole(seeds) else None,
        "years": years,
        "scale": scale,
        "model": extension.name_of(model),
        "overrides": dict(scen.overrides),  # every override applied (--set's, or the API's)
        "params": dict(scen.params),
        "changes": scen.to_dict().get("changes", []),
        "wall_time_s": round(time.perf_counter() - t0, 3),
    }
    return ManyRuns(long=long.drop(columns="arm"), runs=rows, scale=scale, metadata=meta)
