"""Paired comparison of scenarios and policies over common random numbers.

An *arm* is a scenario (packaged name or TOML path), optionally with parameter overrides:
``baseline_2026``, ``baseline_2026@policy.visit_queue=risk_first``,
``sentencing_act_2027@policy.response_queue=risk_first,pilot.tag_at_court_share=0.5``.
Every arm runs with the same K seeds (spawned from one root seed). Because arrivals and each
wearer's behaviour are drawn from streams and hashes that no policy touches, two arms that
differ only in policy see the same people arrive and behave alike on the same days, and
the per-seed differences isolate the policy's effect.

Output (``compare``): per run, every scalar of the summary (flat, under the documented names:
:func:`em_abm.results.flatten`); per arm and metric, the mean and the paired difference from
the first arm with a 95% t interval.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from em_abm import scenario as sc
from em_abm.errors import UserError

# Metrics drawn in the comparison figure (flattened summary names).
KEY_METRICS = (
    "tagged",
    "unmonitored_share",
    "outstanding_visits",
    "public_protection.unmonitored_person_days",
    "followup_offences_per_100",
    "followup_expected_offences_per_100",
    "followup_offences_averted_per_100",
    "followup_custody_days_per_100",
    "public_protection.serious_breaches_unanswered_24h",
    "custody_days",
    "cost_total_gbp.total",
)


@dataclass(frozen=True)
class Arm:
    label: str
    scenario: sc.Scenario


def parse_arm(text: str) -> Arm:
    """``SCENARIO[@NAME=VALUE,NAME=VALUE...]`` -> a validated :class:`Arm`."""
    name, at, rest = text.partition("@")
    scen = sc.load(name, field=f"arm {text}")
    if at:
        items = [x for x in rest.split(",") if x.strip()]
        if not items:
            raise UserError(f"arm {text}: nothing after @; allowed: SCENARIO or "
                            "SCENARIO@NAME=VALUE,NAME=VALUE")  # fmt: skip
        where = f"arm {text}: "
        scen = scen.with_overrides(sc.parse_assignments(items, where=where), where=where)
    return Arm(label=text, scenario=scen)


def seeds_for(root: int, k: int) -> list[int]:
    """K replicate seeds from one root (``SeedSequence(root).spawn``), as plain integers."""
    return [
        int(s.generate_state(1, dtype=np.uint32)[0]) for s in np.random.SeedSequence(root).spawn(k)
    ]


def flatten(summary: dict[str, Any]) -> dict[str, float]:
    """Kept for code that imported it here: :func:`em_abm.results.flatten`."""
    from em_abm.results import flatten

    return flatten(summary)


def _one(arm: Arm, seed: int, years: float, scale: float, model, series, root=None):
    from em_abm.extension import on_path
    from em_abm.results import run_model
    from em_abm.scenario import window_warned_by_caller

    on_path(root)  # a worker started before the model's folder was on the search path
    with window_warned_by_caller():  # run_arms warned once
        res = run_model(arm.scenario, seed=seed, years=years, scale=scale, model=model)
    row = {"arm": arm.label, "seed": seed, **flatten(res.summary)}
    ts = res.timeseries if series is None else res.timeseries[["date", *series]]
    return row, ts if series != () else None


def run_arms(
    arms: list[Arm],
    *,
    seeds: list[int],
    years: float,
    scale: float,
    jobs: int = 1,
    progress: bool = False,
    model=None,
    series: tuple[str, ...] | None = (),
    desc: str = "compare",
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Every arm on every seed (in ``jobs`` processes): a table of each run's summary
    scalars (``arm``, ``seed``, ...), and a long table (``run``, ``seed``, ``date``,
    ``metric``, ``value``, ``arm``) of the time series named in ``series`` (all of them
    with ``None``; none, and no table, with ``()``)."""
    from em_abm.bands import long_table
    from em_abm.model import days_for_years
    from em_abm.scenario import warn_past_window

    for scenario in {a.scenario.name: a.scenario for a in arms}.values():
        warn_past_window(scenario, days_for_years(years))
    tasks = [(a, s) for a in arms for s in seeds]
    from em_abm.extension import import_root, resolve

    resolve(model)  # found here first: its folder goes with each run
    root = import_root(model)
    series = None if series is None else tuple(series)
    it = Parallel(n_jobs=jobs, return_as="generator")(
        delayed(_one)(a, s, years, scale, model, series, root) for a, s in tasks
    )
    if progress:
        from tqdm import tqdm

        it = tqdm(it, total=len(tasks), unit="run", desc=desc)
    results = list(it)
    rows = pd.DataFrame([r for r, _ in results])
    if series == ():
        return rows, None
    pairs = enumerate(zip(results, tasks, strict=True))
    longs = [long_table(ts, run=i, seed=seed).assign(arm=arm.label)
             for i, ((_, ts), (arm, seed)) in pairs]  # fmt: skip
    return rows, pd.concat(longs, ignore_index=True)


def mean_and_half_width(values: np.ndarray) -> tuple[float, float]:
    """Mean and half-width of its 95% t interval (NaN with fewer than two values)."""
    from scipy import stats

    n = len(values)
    if n == 0:
        return math.nan, math.nan
    if n == 1:
        return float(values[0]), math.nan
    half = stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n)
    return float(values.mean()), float(half)


def paired_table(runs: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Mean per arm and metric; paired difference from ``reference`` with a 95% t interval."""
    metrics = [c for c in runs.columns if c not in ("arm", "seed", "seed_", "years", "scale")]
    ref = runs[runs["arm"] == reference].set_index("seed")
    rows = []
    for arm, group in runs.groupby("arm", sort=False):
        g = group.set_index("seed")
        for m in metrics:
            diff = (g[m] - ref[m]).dropna()
            n = len(diff)
            mean_d, half = mean_and_half_width(diff.to_numpy(dtype=float))
            rows.append(
                {
                    "metric": m,
                    "arm": arm,
                    "mean": float(g[m].mean()),
                    "reference_mean": float(ref[m].mean()),
                    "diff": mean_d,
                    "ci_low": mean_d - half,
                    "ci_high": mean_d + half,
                    "n": n,
                }
            )
    return pd.DataFrame(rows)


def compare(
    arm_texts: list[str],
    *,
    seeds: int,
    years: float,
    scale: float,
    out: str | os.PathLike,
    root_seed: int = 0,
    jobs: int = 1,
    force: bool = False,
    progress: bool = False,
    model=None,
) -> pd.DataFrame:
    """Run the arms over paired seeds and write ``runs.csv``, ``compare.csv``,
    ``bands.csv`` (each arm's median and 10-90% band over the seeds of the key series, per
    England and Wales) and figures (``compare.png``, ``bands.png``). ``model``: an
    ``EMModel`` or ``Component`` subclass or its import path (:mod:`em_abm.extension`)."""
    from em_abm import extension, files
    from em_abm.bands import BAND_METRICS, FLOW_WINDOW, bands
    from em_abm.metrics import scale_label
    from em_abm.results import git_commit, write_json

    if len(arm_texts) < 2:
        raise UserError("compare: give at least two arms (scenarios or scenario@NAME=VALUE,...)")
    if seeds < 2:
        raise UserError(f"--seeds: got {seeds}; allowed: an integer of at least 2")
    arms = [parse_arm(t) for t in arm_texts]
    if len({a.label for a in arms}) != len(arms):
        raise UserError("compare: the same arm is given twice")
    with files.locked(files.check_out_dir(out, force=force, kind="compare")):
        seed_list = seeds_for(root_seed, seeds)
        runs, long = run_arms(arms, seeds=seed_list, years=years, scale=scale, jobs=jobs,
                              progress=progress, model=model, series=BAND_METRICS)  # fmt: skip
        table = paired_table(runs, arms[0].label)
        table["counts"] = scale_label(scale)  # every row says what its counts are
        band = pd.concat(
            [bands(g, scale, flow_window=FLOW_WINDOW).assign(arm=arm)
             for arm, g in long.groupby("arm", sort=False)], ignore_index=True,
        )  # fmt: skip
        from em_abm import plots

        with files.writing(out, force=force, kind="compare") as tmp:
            runs.to_csv(tmp / "runs.csv", index=False)
            table.to_csv(tmp / "compare.csv", index=False)
            band.to_csv(tmp / "bands.csv", index=False, float_format="%.6g")
            meta = {
                "arms": arm_texts,
                "reference": arms[0].label,
                "seeds": seed_list,
                "root_seed": root_seed,
                "years": years,
                "scale": scale,
                "counts": scale_label(scale),
                "bands": f"per England and Wales; daily flows as {FLOW_WINDOW}-day means",
                "model": extension.name_of(model),
                "git_commit": git_commit(),
            }
            write_json(tmp / "metadata.json", meta)
            labels = [a.label for a in arms]
            plots.comparison(table, labels, KEY_METRICS, folder=tmp / "figures", scale=scale)
            plots.bands(band, BAND_METRICS, scale=scale, folder=tmp / "figures",
                        title=f"{len(arms)} arms on the same {seeds} seeds: median and 10-90% "
                              f"band (daily flows as {FLOW_WINDOW}-day means)")  # fmt: skip
    return table


def format_table(table: pd.DataFrame, metrics=KEY_METRICS) -> str:
    w = max([3, *(len(a) for a in table["arm"])])  # arms in full: they may differ at the end
    lines = [f"{'metric':58s} {'arm':{w}s} {'mean':>14s} {'diff vs ref [95% CI]':>40s}"]
    for m in metrics:
        for _, r in table[table["metric"] == m].iterrows():
            ci = "" if math.isnan(r["ci_low"]) else f"[{r['ci_low']:,.4g}, {r['ci_high']:,.4g}]"
            lines.append(f"{m:58s} {r['arm']:{w}s} {r['mean']:14,.4g} {r['diff']:14,.4g} {ci:>25s}")
    return "\n".join(lines)
