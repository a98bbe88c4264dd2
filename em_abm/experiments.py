"""Experiments: named research questions, each one or more sweeps and a report.

An experiment is a pair of files in ``experiments/``: ``NAME.toml`` holds its sweep specs
(``[sweeps.<id>]``, each a spec as in :mod:`em_abm.sweep`) and the smaller sizes of its quick
mode (``[quick.<id>]``, keys that replace the spec's); ``NAME.py`` holds ``report(ctx)``,
which turns the stored runs into tables and figures, and may adjust the specs
(``prepare(tables, quick)``). ``em-abm experiment NAME [--quick]`` (or ``python
experiments/NAME.py [--quick]``) runs the sweeps into ``results/NAME/sweeps/<id>/``
(resumable: an interrupted experiment continues where it stopped) and writes the report's
tables to ``results/NAME/`` and figures to ``results/NAME/figures/``. Quick mode writes to
``results/NAME-quick/``.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from em_abm import files
from em_abm import sweep as S
from em_abm.errors import UserError
from em_abm.files import read_toml
from em_abm.results import write_atomic, write_text_atomic

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS_DIR = ROOT / "experiments"
RESULTS_DIR = ROOT / "results"


@dataclass
class Context:
    """What a report works from: the specs, their stored runs and where to write."""

    name: str
    quick: bool
    out: Path
    specs: dict[str, S.Spec]
    runs: dict[str, pd.DataFrame] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)

    @property
    def figures(self) -> Path:
        path = self.out / "figures"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def write_table(self, table: pd.DataFrame, name: str) -> Path:
        path = self.out / name
        write_atomic(path, lambda p: table.to_csv(p, index=False, float_format="%.6g"))
        self.written.append(path)
        return path

    def write_text(self, text: str, name: str) -> Path:
        path = self.out / name
        write_text_atomic(path, text)
        self.written.append(path)
        return path

    def figure(self, path: Path) -> Path:
        self.written.append(path)
        return path


def available() -> dict[str, str]:
    """Experiment names with the first line of their description."""
    out = {}
    for path in sorted(EXPERIMENTS_DIR.glob("*.toml")):
        if path.with_suffix(".py").is_file():
            data = read_toml(path, "experiment")
            lines = str(data.get("description", "")).strip().splitlines()
            out[path.stem] = lines[0] if lines else ""
    return out


def _module(name: str):
    path = EXPERIMENTS_DIR / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"em_abm_experiment_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_specs(name: str, *, quick: bool = False, posterior: int | None = None
               ) -> dict[str, S.Spec]:  # fmt: skip
    """The experiment's sweep specs, validated (with the quick sizes when ``quick``; over
    ``posterior`` calibrated parameter sets when given)."""
    names = available()
    if name not in names:
        raise UserError(
            f"experiment: got {name!r}; allowed: {', '.join(names) or 'none found'} "
            "(`em-abm experiment list`)"
        )
    path = EXPERIMENTS_DIR / f"{name}.toml"
    data = read_toml(path, "experiment")
    tables = copy.deepcopy(data.get("sweeps", {}))
    if not tables:
        raise UserError(f"{path}: sweeps: allowed: at least one [sweeps.<id>] table")
    if quick:
        for sid, changes in data.get("quick", {}).items():
            if sid not in tables:
                raise UserError(f"{path}: quick.{sid}: no such sweep; allowed: {', '.join(tables)}")
            tables[sid].update(changes)
    module = _module(name)
    if hasattr(module, "prepare"):
        module.prepare(tables, quick)
    specs = {
        sid: S.spec_from_dict({"name": f"{name}.{sid}", **t}, where=f"{path}: sweeps.{sid}")
        for sid, t in tables.items()
    }
    if posterior:
        specs = {sid: S.with_posterior(s, posterior, where="--posterior")
                 for sid, s in specs.items()}  # fmt: skip
    return specs


def run(
    name: str,
    *,
    quick: bool = False,
    jobs: int = 1,
    out: str | os.PathLike | None = None,
    progress: bool = True,
    posterior: int | None = None,
    model: str | None = None,
) -> Context:
    """Run (or resume) an experiment's sweeps and write its report (over ``posterior``
    calibrated parameter sets when given, by default into ``results/NAME-posteriorK``; with
    ``model``, an extended model's import path, in every sweep, by default into
    ``results/NAME-CLASS``)."""
    specs = load_specs(name, quick=quick, posterior=posterior)
    default = results_dir(name, quick)
    if posterior:
        default = default.with_name(f"{default.name}-posterior{posterior}")
    if model:
        specs = with_model(specs, model)
        default = default.with_name(f"{default.name}-{model.rpartition(':')[2]}")
    out = files.resolve_out(out if out else default)
    with files.locked(out):  # a second run of the same experiment is refused, not interleaved
        _check_out(out, name)
        return _run(name, specs, out, quick=quick, jobs=jobs, progress=progress,
                    posterior=posterior, model=model)  # fmt: skip


def with_model(specs: dict[str, S.Spec], model: str, where: str = "model"
               ) -> dict[str, S.Spec]:  # fmt: skip
    """Every sweep of an experiment run with ``model`` (an import path, checked)."""
    import dataclasses

    from em_abm.extension import check_em_model

    check_em_model(model, where=where)
    bad = next((k for k, s in specs.items() if not S.is_em(s.model)), None)
    if bad:
        raise UserError(f"{where}: sweep {bad!r} runs {specs[bad].model!r}; allowed: only "
                        "experiments of em-abm's model")  # fmt: skip
    return {k: dataclasses.replace(s, model=model) for k, s in specs.items()}


def _check_out(out: Path, name: str) -> None:
    """An experiment writes into a new or empty folder, or one holding its own earlier
    report (``experiment.json`` naming it): never among a user's files."""
    if not out.is_dir() or not any(out.iterdir()):
        if out.exists() and not out.is_dir():
            raise UserError(f"--out: {out} is a file; allowed: a folder")
        return
    for sub in ("figures", "sweeps"):  # written into: never through a link or over a file
        if (out / sub).is_symlink() or ((out / sub).exists() and not (out / sub).is_dir()):
            raise UserError(f"--out: {out / sub} is a link or a file; allowed: a folder")
    try:
        record = files.read_json(out / "experiment.json", "experiment record")
    except UserError:
        record = {}
    if record.get("experiment") != name:
        raise UserError(
            f"--out: {out} holds files that are not this experiment's report; allowed: a new "
            "or empty folder, or the folder of an earlier run of the same experiment"
        )


def _earlier_files(out: Path) -> set[str]:
    """The tables and figures an earlier report in ``out`` wrote (its ``experiment.json``)."""
    try:
        files_ = files.read_json(out / "experiment.json", "experiment record").get("files", [])
    except UserError:
        return set()
    return {f for f in files_ if isinstance(f, str)} if isinstance(files_, list) else set()


def _remove_stale(out: Path, names: set[str]) -> None:
    """Delete what an earlier report wrote and this one did not (a horizon or table the
    experiment no longer makes), so that no stale result sits beside the new ones. Only
    plain files inside ``out`` (not under ``sweeps/``) that the earlier record lists."""
    root = out.resolve()
    for name in sorted(names):
        path = out / name
        try:
            inside = path.resolve().is_relative_to(root) and not name.startswith("sweeps/")
        except OSError:
            continue
        if inside and path.is_file() and not path.is_symlink():
            path.unlink()
            print(f"removed {path} (the earlier report's; this one does not write it)")


def _own_store(store: Path) -> bool:
    """Whether ``store`` holds nothing but a sweep em-abm wrote (so it may be deleted)."""
    if store.is_symlink() or not store.is_dir():
        return False
    allowed = {S.MANIFEST, S.RESULTS, S.RUNS, "analysis"}
    for p in store.iterdir():
        if p.name not in allowed or p.is_symlink():
            return False
    analysis = store / "analysis"
    if analysis.exists() and set(files._entries(analysis)) - files.ours(analysis, "analysis"):
        return False  # the user's files in the analysis folder
    runs = store / S.RUNS
    return not runs.exists() or all(
        p.name.startswith("part-") and p.suffix == ".parquet" and not p.is_symlink()
        for p in runs.iterdir()
    )


def _run(name: str, specs: dict[str, S.Spec], out: Path, *, quick: bool, jobs: int,
         progress: bool, posterior: int | None = None,
         model: str | None = None) -> Context:  # fmt: skip
    from em_abm.results import git_commit
    from em_abm.version import __version__

    ctx = Context(name=name, quick=quick, out=out, specs=specs)
    earlier = _earlier_files(out)
    for sid, spec in specs.items():
        store = out / "sweeps" / sid
        if (store / S.MANIFEST).exists() and S.read_manifest(store).get("spec_hash") != spec.hash():
            # The experiment's own store of an earlier version of the spec: run it afresh.
            if not _own_store(store):
                raise UserError(
                    f"{store}: holds files that are not a sweep em-abm wrote; allowed: a "
                    "folder holding only the experiment's own sweeps (move those files away)"
                )
            print(f"{store}: the spec changed; discarding its stored runs")
            shutil.rmtree(store)
        summary = S.sweep(spec, store, jobs=jobs, progress=progress)
        print(summary.line())
        ctx.runs[sid] = S.results(store)
    _module(name).report(ctx)
    command = (f"em-abm experiment {name}" + (" --quick" if quick else "")
               + (f" --posterior {posterior}" if posterior else "")
               + (f" --model {model}" if model else ""))  # fmt: skip
    meta = {
        "experiment": name,
        "command": command,
        "quick": quick,
        "version": __version__,
        "git_commit": git_commit(),
        "sweeps": {
            sid: {"spec_hash": s.hash(), "runs": len(ctx.runs[sid])} for sid, s in specs.items()
        },
        "files": sorted(str(p.relative_to(out)) for p in ctx.written),
    }
    text = json.dumps(meta, indent=2) + "\n"
    write_text_atomic(out / "experiment.json", text)
    _remove_stale(out, earlier - set(meta["files"]))
    print(f"wrote {out}/ ({len(ctx.written)} tables and figures; made by `{command}`)")
    return ctx


def results_dir(name: str, quick: bool = False) -> Path:
    return RESULTS_DIR / (f"{name}-quick" if quick else name)


def is_current(name: str, *, quick: bool = False, out: str | os.PathLike | None = None) -> bool:
    """Whether ``out`` holds this experiment's report for its current specs and this version
    of em-abm, with every file the report wrote (so it need not run again)."""
    from em_abm.version import __version__

    out = Path(out) if out else results_dir(name, quick)
    try:
        meta = files.read_json(out / "experiment.json", "experiment record")
    except UserError:
        return False
    specs = load_specs(name, quick=quick)
    hashes = {sid: s.hash() for sid, s in specs.items()}
    try:
        return (
            meta.get("version") == __version__
            and {sid: v.get("spec_hash") for sid, v in meta.get("sweeps", {}).items()} == hashes
            and all((out / str(rel)).is_file() for rel in meta.get("files", []))
        )
    except (AttributeError, TypeError):  # a record changed by hand: not current
        return False


def main(name: str, argv: list[str] | None = None) -> int:
    """``python experiments/NAME.py [--quick] [--jobs N]``."""
    import argparse

    ap = argparse.ArgumentParser(prog=f"experiments/{name}.py")
    ap.add_argument("--quick", action="store_true", help="a small version (minutes)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    try:
        run(name, quick=args.quick, jobs=args.jobs, out=args.out)
    except UserError as e:
        print(f"em-abm: error: {e}", file=sys.stderr)
        return 2
    return 0


# ---------------------------------------------------------------------------- helpers
def paired(runs: pd.DataFrame, by: str, reference: str, outputs: list[str],
           within: list[str] | None = None) -> pd.DataFrame:  # fmt: skip
    """Mean of each output per level of ``by`` and its paired difference from ``reference``
    (same replicate seed, and the same ``within`` levels) with a 95% t interval (seeds
    alone; over a posterior, :func:`ensemble_differences`)."""
    from em_abm.compare import mean_and_half_width

    rows = []
    for label, o, diff, _, values in _paired_cells(runs, by, reference, outputs, within):
        d, half = mean_and_half_width(diff[np.isfinite(diff)])
        mean, mean_half = mean_and_half_width(values)
        rows.append({
            **label, "output": o, "mean": mean, "mean_ci": mean_half, "diff": d,
            "diff_low": d - half, "diff_high": d + half, "n": int(np.isfinite(diff).sum()),
        })  # fmt: skip
    return pd.DataFrame(rows)


def _paired_cells(runs: pd.DataFrame, by: str, reference: str, outputs: list[str],
                  within: list[str] | None):  # fmt: skip
    """Per level of ``by`` (within the ``within`` levels) and output: its label, the paired
    differences from ``reference`` by replicate (NaN where either run is missing), each
    replicate's parameter set, and the level's values."""
    within = within or []
    ok = runs[runs["status"] == S.STATUS_OK].copy()
    ok["_set"] = _sets(ok)
    keys = [*within, "replicate"]
    ref = ok[ok[by] == reference].set_index(keys)
    for level_key, group in ok.groupby([*within, by], sort=False):
        g = group.set_index(keys)
        key = level_key if isinstance(level_key, tuple) else (level_key,)
        label = dict(zip([*within, by], key, strict=True))
        for o in outputs:
            diff = (g[o] - ref[o].reindex(g.index)).to_numpy(dtype=float)
            yield label, o, diff, g["_set"].to_numpy(), g[o].to_numpy(dtype=float)


def all_finite(table: pd.DataFrame, columns: list[str]) -> bool:
    return bool(np.isfinite(table[columns].to_numpy(dtype=float)).all())


def output_label(output: str) -> str:
    """A readable name for an output column (``public_protection.x@1y`` -> ``x``)."""
    from em_abm.metrics import summary_keys

    name = output.partition("@")[0]
    m = summary_keys(aliases=True)[name]
    what = name.partition(".")[2].replace("_", " ") if m.kind == "composite" else m.label
    unit = "" if m.unit in ("-", "") else f" ({m.unit})"
    return f"{what}{unit}"


def horizons(spec: S.Spec) -> list[tuple[str, str, str]]:
    """(label, output suffix, file tag) of each horizon of a spec, the shortest first."""
    years = [*spec.horizons, spec.years]
    return [
        (f"{h:g} year" + ("s" if h != 1 else ""), f"@{h:g}y" if h != spec.years else "",
         f"{h:g}y".replace(".", "_"))
        for h in years
    ]  # fmt: skip


def fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


# ---------------------------------------------------------------------------- ensembles
def _sets(frame: pd.DataFrame) -> pd.Series:
    """Each run's parameter set: its ``posterior_set`` in a sweep over the posterior, else
    its replicate (every run a set of its own: parameters known, seeds alone vary)."""
    if "posterior_set" in frame and frame["posterior_set"].notna().all():
        return frame["posterior_set"].astype(int)
    return frame["replicate"].astype(int)


def ensemble_differences(runs: pd.DataFrame, by: str, reference: str, outputs: list[str],
                         within: list[str] | None = None) -> pd.DataFrame:  # fmt: skip
    """Per level of ``by`` (and the ``within`` levels) and output: the mean over the
    ensemble, the expected paired difference from ``reference`` (same parameter set and
    seed; the mean of the per-set means), and:

    * ``diff_low``/``diff_high``: 95% t interval of the posterior-mean difference, with the
      parameter sets as clusters (it narrows as more sets are run: the Monte Carlo
      uncertainty of the ensemble's mean, between-set and seed variation included);
    * ``seed_low``/``seed_high``: the same from the variation between seeds within a set
      alone (as if the parameters were known; NaN with one seed a set);
    * ``spread_low``/``spread_high``: how large the effect could be across the plausible
      parameters: the mean +/- 1.645 between-set standard deviations, the variance of the
      set means less the part the seeds explain (a normal 90% range; it does not narrow
      with more sets);
    * ``set_p05``/``set_p95``: the raw percentiles of the set means (seed noise included).
    """
    from scipy import stats

    rows = []
    for label, o, diff, sets, values in _paired_cells(runs, by, reference, outputs, within):
        good = np.isfinite(diff)
        diff, sets = diff[good], sets[good]
        by_set = pd.Series(diff).groupby(sets)
        set_means = by_set.mean().to_numpy()
        k, n = len(set_means), len(diff)
        d = float(set_means.mean()) if k else np.nan
        half = (stats.t.ppf(0.975, k - 1) * set_means.std(ddof=1) / np.sqrt(k)
                if k > 1 else np.nan)  # fmt: skip
        resid = diff - by_set.transform("mean").to_numpy()
        dof = n - k
        within_var = (resid**2).sum() / dof if dof > 0 else np.nan
        seed_half = stats.t.ppf(0.975, dof) * np.sqrt(within_var / n) if dof > 0 else np.nan
        per_set = n / k if k else np.nan
        between = (max(set_means.var(ddof=1) - (within_var if dof > 0 else 0.0) / per_set, 0.0)
                   if k > 1 else np.nan)  # fmt: skip
        p05, p95 = np.quantile(set_means, [0.05, 0.95]) if k else (np.nan, np.nan)
        rows.append({
            **label, "output": o, "mean": float(np.nanmean(values)), "diff": d,
            "diff_low": d - half, "diff_high": d + half,
            "seed_low": d - seed_half, "seed_high": d + seed_half,
            "spread_low": d - 1.645 * np.sqrt(between),
            "spread_high": d + 1.645 * np.sqrt(between),
            "set_p05": float(p05), "set_p95": float(p95), "sets": k, "n": n,
        })  # fmt: skip
    return pd.DataFrame(rows)


def probability_best(runs: pd.DataFrame, by: str, output: str,
                     within: list[str] | None = None) -> pd.DataFrame:  # fmt: skip
    """The probability that each level of ``by`` is best (lowest ``output``) in each
    ``within`` cell: the share of parameter sets in which its mean over the set's seeds is
    the lowest (tied levels share a set). It describes the parameters' uncertainty together
    with what remains of the seeds' noise after averaging a set's few seeds, so small
    differences between levels spread it."""
    within = within or []
    ok = runs[runs["status"] == S.STATUS_OK].copy()
    ok["_set"] = _sets(ok)
    means = ok.groupby([*within, "_set", by], sort=False)[output].mean().reset_index()
    rows = []
    for cell, g in means.groupby(within, sort=False) if within else [((), means)]:
        cell = cell if isinstance(cell, tuple) else (cell,)
        wide = g.pivot(index="_set", columns=by, values=output).dropna()
        best = wide.to_numpy() <= wide.min(axis=1).to_numpy()[:, None] + 1e-12
        share = (best / best.sum(axis=1, keepdims=True)).mean(axis=0)
        for level, p in zip(wide.columns, share, strict=True):
            rows.append({**dict(zip(within, cell, strict=True)), by: level,
                         "p_best": float(p), "sets": len(wide)})  # fmt: skip
    return pd.DataFrame(rows)


def evppi(table: pd.DataFrame, options: list[str], inputs: list[str], *,
          permutations: int = 50, seed: int = 0) -> tuple[float, float]:  # fmt: skip
    """Expected value of (partial) perfect information about ``inputs`` for a choice among
    ``options`` (columns of ``table``: the loss of each option in each sampled condition,
    lower is better; the other columns the sampled inputs), by the regression method
    (Strong, Oakley and Brennan 2014): each option's loss is regressed on the inputs, and
    EVPPI = (lowest mean loss) - mean over conditions of the lowest predicted loss.

    The predictions are out of sample (5-fold cross-validation, a quadratic in the inputs
    without interactions), so that neither the regression's flexibility nor the losses'
    own noise counts as information. Returns (EVPPI, its null: the 95th percentile of the
    same with the inputs' rows permuted ``permutations`` times). An EVPPI below its null is
    indistinguishable from none."""
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import KFold, cross_val_predict

    loss = table[options].to_numpy(dtype=float)
    x = table[inputs].to_numpy(dtype=float)
    folds = KFold(n_splits=min(5, len(table)), shuffle=True, random_state=seed)
    best_mean = loss.mean(axis=0).min()

    def value(features: np.ndarray) -> float:
        f = np.hstack([features, features**2])
        pred = np.column_stack([cross_val_predict(LinearRegression(), f, loss[:, j], cv=folds)
                                for j in range(loss.shape[1])])  # fmt: skip
        return max(float(best_mean - pred.min(axis=1).mean()), 0.0)

    rng = np.random.default_rng(seed)
    null = [value(x[rng.permutation(len(x))]) for _ in range(permutations)]
    return value(x), float(np.quantile(null, 0.95)) if null else np.nan


def prim_box(x: pd.DataFrame, y: np.ndarray, *, min_density: float = 0.8):
    """A PRIM box (the EMA Workbench's) describing where ``y`` is true: the box of the
    peeling trajectory with the most coverage at ``min_density`` or more (else the densest).
    Returns (limits as {input: (low, high)} for the restricted inputs, coverage, density),
    or None when ``y`` is never true."""
    import logging
    import warnings

    if not np.asarray(y).any():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("EMA").setLevel(logging.ERROR)
        from ema_workbench.analysis import prim

        # Inputs as floats: EMA Workbench 3.0's PRIM fails on integer columns under pandas 3
        # (it writes a peeled bound such as 514.5 into an int64 column).
        x = x.reset_index(drop=True).astype(float)
        box = prim.Prim(x, np.asarray(y, dtype=bool), peel_alpha=0.1,
                        mass_min=0.05).find_box()  # fmt: skip
    traj = box.peeling_trajectory
    dense = traj[traj["density"] >= min_density]
    i = int(dense["coverage"].idxmax()) if len(dense) else int(traj["density"].idxmax())
    lims = box.box_lims[i]
    full = box.box_lims[0]
    restricted = {
        c: (float(lims[c].iloc[0]), float(lims[c].iloc[1])) for c in x.columns
        if lims[c].iloc[0] > full[c].iloc[0] or lims[c].iloc[1] < full[c].iloc[1]
    }  # fmt: skip
    return restricted, float(traj["coverage"].iloc[i]), float(traj["density"].iloc[i])
