"""Sensitivity analysis of a stored sweep (``em-abm analyze DIR``), with SALib.

Replicates are averaged per design point first; then, for each output:

* ``sobol``: first-order (S1), total (ST) and, when sampled, second-order (S2) indices with
  bootstrap confidence intervals, and ST recomputed on the first 2^k base samples (a
  convergence check: the estimates should settle as the sample grows);
* ``morris``: mu* (mean absolute elementary effect, with its interval), mu and sigma;
* ``lhs``: the delta moment-independent measure and S1 (Plischke et al. 2013);
* ``grid``: main effects, the mean of each output at each level of each factor with a 95%
  interval over the other factors and replicates.

Bootstrap resamples are seeded with the spec's seed, so an analysis is the same every time.
The sweep's manifest and stored runs are checked as a sweep checks them (a manifest of another
shape, or a part file that does not match the design, is one line naming the file), and the
folder is locked while it is analysed, so that a sweep still writing it is not analysed
half-done.
Tables go to ``DIR/analysis/*.csv``, figures to ``DIR/analysis/figures/``; the folder is
written whole or not at all.

Indices that cannot be trusted are said so, in one line per table (an
:class:`~em_abm.errors.AnalysisWarning`, which the command line prints as ``em-abm: warning:``,
also written to ``DIR/analysis/warnings.txt``): Sobol or delta indices outside [0, 1] by more
than their confidence intervals (an index is a share of variance), or fewer samples than
:data:`MIN_SOBOL_SAMPLES` base samples (Sobol) or :data:`MIN_MORRIS_TRAJECTORIES` trajectories
(Morris). The tables are written all the same.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from em_abm import sweep as S
from em_abm.errors import AnalysisWarning, UserError

CONF_LEVEL = 0.95
# Fewer base samples than this and Sobol indices are uncertain by more than about 0.05 even on
# a smooth function of three factors: on the Ishigami function (sweep.IshigamiRunner, whose
# indices are known), the largest error of its six S1 and ST estimates, over 20 seeds, has a
# median of 0.17 at N = 32, 0.08 at N = 128 and 0.05 at N = 256. A stochastic model with more
# factors needs more. A warning, not a refusal: a small sweep still shows what dominates.
MIN_SOBOL_SAMPLES = 256
# Fewer trajectories than this and Morris's ranking is unreliable: the usual advice is 10 to
# 20 (Saltelli et al. 2008, Global Sensitivity Analysis: The Primer, ch. 3).
MIN_MORRIS_TRAJECTORIES = 10
WARNINGS_FILE = "warnings.txt"


def point_means(spec: S.Spec, runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(design points, mean output per point over its successful replicates)."""
    design = S.design_matrix(spec)
    ok = runs[runs["status"] == S.STATUS_OK]
    means = ok.groupby("point")[spec.output_columns].mean()
    return design, means.reindex(range(len(design)))


def _complete(spec: S.Spec, means: pd.DataFrame, out: Path) -> None:
    missing = int(means.isna().any(axis=1).sum())
    if missing:
        raise UserError(
            f"{out}: {missing} of {len(means)} design points have no successful run; allowed: "
            f"a complete sweep for {spec.design} (run `em-abm sweep` again; failed runs need "
            "--retry-failed)"
        )


def _sobol(spec, y, seed, num_resamples):
    from SALib.analyze import sobol

    return sobol.analyze(
        spec.problem(), y, calc_second_order=spec.second_order, num_resamples=num_resamples,
        conf_level=CONF_LEVEL, seed=seed,
    )  # fmt: skip


def sobol_tables(spec, means, num_resamples=1000):
    first, second, conv = [], [], []
    d = len(spec.factors)
    block = 2 * d + 2 if spec.second_order else d + 2
    sizes = [2**k for k in range(3, 31) if 2**k < spec.samples] + [spec.samples]
    for col in spec.output_columns:
        y = means[col].to_numpy()
        si = _sobol(spec, y, spec.seed, num_resamples)
        for i, name in enumerate(spec.names):
            first.append({
                "output": col, "parameter": name, "S1": si["S1"][i], "S1_conf": si["S1_conf"][i],
                "ST": si["ST"][i], "ST_conf": si["ST_conf"][i],
            })  # fmt: skip
        if spec.second_order:
            for i in range(d):
                for j in range(i + 1, d):
                    second.append({
                        "output": col, "parameter_1": spec.names[i], "parameter_2": spec.names[j],
                        "S2": si["S2"][i, j], "S2_conf": si["S2_conf"][i, j],
                    })  # fmt: skip
        for n in sizes:
            sub = _sobol(spec, y[: n * block], spec.seed, num_resamples)
            for i, name in enumerate(spec.names):
                conv.append({"output": col, "parameter": name, "base_samples": n,
                             "ST": sub["ST"][i], "ST_conf": sub["ST_conf"][i]})  # fmt: skip
    return pd.DataFrame(first), pd.DataFrame(second), pd.DataFrame(conv)


def morris_table(spec, design, means, num_resamples=1000):
    from SALib.analyze import morris

    rows = []
    x = design[spec.problem()["names"]].to_numpy(dtype=float)
    for col in spec.output_columns:
        si = morris.analyze(
            spec.problem(), x, means[col].to_numpy(), num_resamples=num_resamples,
            conf_level=CONF_LEVEL, num_levels=spec.levels, seed=spec.seed,
        )  # fmt: skip
        for i, name in enumerate(spec.names):
            rows.append({
                "output": col, "parameter": name, "mu_star": si["mu_star"][i],
                "mu_star_conf": si["mu_star_conf"][i], "mu": si["mu"][i], "sigma": si["sigma"][i],
            })  # fmt: skip
    return pd.DataFrame(rows)


def delta_table(spec, design, means, num_resamples=200):
    """Delta and S1 of the numeric factors, for each level of the crossed factors (``level``
    names it; empty when nothing is crossed)."""
    from SALib.analyze import delta

    rows = []
    names = spec.problem()["names"]
    crossed = [f.name for f in spec.crossed]
    groups = design.groupby(crossed, sort=False) if crossed else [((), design)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        level = ", ".join(f"{n}={v}" for n, v in zip(crossed, key, strict=True))
        x = part[names].to_numpy(dtype=float)
        m = means.loc[part.index]
        keep = m.notna().all(axis=1).to_numpy()
        for col in spec.output_columns:
            with contextlib.redirect_stdout(io.StringIO()):  # SALib prints binning notices
                si = delta.analyze(
                    spec.problem(), x[keep], m[col].to_numpy()[keep],
                    num_resamples=num_resamples, conf_level=CONF_LEVEL, seed=spec.seed,
                )  # fmt: skip
            for i, name in enumerate(names):
                rows.append({
                    "output": col, "level": level, "parameter": name,
                    "delta": si["delta_raw"][i], "delta_conf": si["delta_raw_conf"][i],
                    "S1": si["S1"][i], "S1_conf": si["S1_conf"][i],
                })  # fmt: skip
    table = pd.DataFrame(rows)
    return table if crossed else table.drop(columns="level")


def main_effects_table(spec, design, runs):
    """Mean of each output at each level of each factor, over every successful run."""
    ok = runs[runs["status"] == S.STATUS_OK]
    rows = []
    for f in spec.names:
        for col in spec.output_columns:
            g = ok.groupby(f, sort=True)[col]
            for level, vals in g:
                v = vals.to_numpy(dtype=float)
                half = 1.96 * v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan
                rows.append({"output": col, "parameter": f, "level": level, "mean": v.mean(),
                             "ci95": half, "runs": len(v)})  # fmt: skip
    return pd.DataFrame(rows)


def outside_unit_interval(table: pd.DataFrame, indices: tuple[str, ...]) -> list[str]:
    """Each index of ``table`` outside [0, 1] by more than its interval, the farthest first,
    as ``ST = 1.59 +/- 0.21 for field.officers on tagged``."""
    found = []
    for idx in indices:
        v, c = table[idx].to_numpy(dtype=float), table[f"{idx}_conf"].to_numpy(dtype=float)
        beyond = np.maximum(v - c - 1, -(v + c))  # > 0: outside by more than the interval
        for i in np.flatnonzero(beyond > 0):
            r = table.iloc[i]
            found.append((beyond[i], f"{idx} = {v[i]:.3g} +/- {c[i]:.2g} for {r['parameter']} "
                                     f"on {r['output']}"))  # fmt: skip
    return [text for _, text in sorted(found, key=lambda x: -x[0])]


def index_warnings(spec: S.Spec, tables: dict[str, pd.DataFrame]) -> list[str]:
    """One line per table whose indices cannot be trusted (see the module docstring); none
    when all is well."""
    notes = []
    checks = {"sobol": ("S1", "ST"), "delta": ("delta", "S1")}
    minimum = {
        "sobol": ("base samples", MIN_SOBOL_SAMPLES, "MIN_SOBOL_SAMPLES"),
        "morris": ("trajectories", MIN_MORRIS_TRAJECTORIES, "MIN_MORRIS_TRAJECTORIES"),
    }
    for name, table in tables.items():
        parts = []
        if name in checks:
            outside = outside_unit_interval(table, checks[name])
            if outside:
                n = len(table) * len(checks[name])
                parts.append(
                    f"{len(outside)} of {n} indices lie outside [0, 1] beyond their "
                    f"{CONF_LEVEL:.0%} intervals (farthest: {outside[0]})"
                )
        if name in minimum and spec.samples < minimum[name][1]:
            what, least, constant = minimum[name]
            parts.append(f"samples = {spec.samples} is below the minimum of {least} {what} "
                         f"(em_abm.analysis.{constant})")  # fmt: skip
        if parts:
            notes.append(f"{name}: " + "; ".join(parts) + ": these indices are not reliable; "
                         "raise samples")  # fmt: skip
    return notes


def analyze(out: str | os.PathLike, *, num_resamples: int = 1000) -> dict[str, pd.DataFrame]:
    """Analyse the sweep in ``out``; writes ``out/analysis`` and returns its tables."""
    from em_abm import files

    out = Path(out)
    spec = S.spec_of(out)  # a folder that is not a sweep's is refused before anything is locked
    with files.locked(out.resolve(), "analyze"):  # not while a sweep is writing the runs
        return _analyze(out, spec, num_resamples)


def _analyze(out: Path, spec: S.Spec, num_resamples: int) -> dict[str, pd.DataFrame]:
    from em_abm import files, plots

    # The analysis folder is em-abm's own: replaced whole, but never over a user's files.
    files.check_out_dir(out / "analysis", force=False, own=True, kind="analysis", option="analyze")
    runs = S.stored_runs(out, spec)
    if "status" not in runs or not (runs["status"] == S.STATUS_OK).any():
        raise UserError(
            f"{out}: no finished runs to analyse; allowed: a sweep with runs stored (run "
            "`em-abm sweep` on it again to finish it)"
        )
    design, means = point_means(spec, runs)
    tables: dict[str, pd.DataFrame] = {}
    if spec.design == "sobol":
        _complete(spec, means, out)
        first, second, conv = sobol_tables(spec, means, num_resamples)
        tables["sobol"], tables["sobol_convergence"] = first, conv
        if spec.second_order:
            tables["sobol_s2"] = second
    elif spec.design == "morris":
        _complete(spec, means, out)
        tables["morris"] = morris_table(spec, design, means, num_resamples)
    elif spec.design == "lhs":
        if means.notna().all(axis=1).sum() < 10:
            raise UserError(f"{out}: fewer than 10 complete design points; allowed: at least 10")
        tables["delta"] = delta_table(spec, design, means, min(num_resamples, 200))
    else:
        tables["main_effects"] = main_effects_table(spec, design, runs)
    notes = index_warnings(spec, tables)
    with files.writing(
        out / "analysis", force=False, own=True, kind="analysis", option="analyze"
    ) as tmp:
        for name, table in tables.items():
            table.to_csv(tmp / f"{name}.csv", index=False, float_format="%.6g")
        plots.sensitivity(spec, tables, folder=tmp / "figures")
        if notes:
            (tmp / WARNINGS_FILE).write_text("".join(f"{n}\n" for n in notes), encoding="utf-8")
    for note in notes:
        warnings.warn(f"{out}: {note}", AnalysisWarning, stacklevel=3)
    return tables
