"""Parameter sweeps: designs from SALib, runs in parallel, results stored as they finish.

A sweep is described by a spec (TOML; :func:`load_spec`)::

    name = "demo"
    scenario = "baseline_2026"
    design = "sobol"          # sobol | morris | lhs | grid
    samples = 64              # sobol: base samples N; morris: trajectories; lhs: points
    replicates = 2            # seeds per design point
    seed = 20260101           # root seed: replicate seeds are SeedSequence(seed).spawn(...)
    years = 1.0
    scale = 0.1
    outputs = ["tagged", "public_protection.unmonitored_person_days"]
    horizons = [1.0]          # optional: outputs also at these earlier horizons (years)

    [vary]                    # parameters to vary, with their range
    "field.fit_success_prob" = []            # the registry's bounds
    "orders.error_rate" = [0.15, 0.3]        # narrowed (within the registry's bounds)
    "policy.visit_queue" = { values = ["fcfs", "risk_first"] }   # explicit values

    [vary.strategy]           # named levels, each a set of parameter values
    fcfs = {}
    risk_first = { "policy.visit_queue" = "risk_first", "policy.response_queue" = "risk_first" }

    [fixed]                   # values every run uses
    "field.officers" = 450

Factors with explicit values or named levels are *crossed* with the sampled ones: every
Latin-hypercube point (or grid point) is run at every level, so levels are compared on the
same sampled conditions (``lhs`` and ``grid`` designs; Sobol and Morris need numeric
ranges). The run table's ``sample`` column numbers the sampled conditions.

Outputs of the em-abm model are per England and Wales: counts, person-days and money are
divided by the run's scale (shares, rates and durations are not).

Each run is one design point on one replicate seed. With ``paired = true`` (the default)
replicate *r* uses the same seed at every point, so that differences between points are the
parameters' effects on the same simulated people (common random numbers); with ``paired =
false`` every run gets its own spawned seed. The seed is stored with each row.

Runs go through joblib: ``loky`` processes on this machine, or ``dask`` on a
``distributed`` cluster (a ``LocalCluster`` when no scheduler address is given). Finished
runs are written in batches to ``DIR/runs/part-NNNNN.parquet`` (every 10 seconds; written to
a temporary name, then renamed), gathered at the end into ``DIR/results.parquet`` (one row
per run), next to ``DIR/manifest.json`` (the spec, its hash, the package version and
the git commit). Running the same spec on the same folder again skips the finished runs; a
different spec is refused. A run that raises is stored with its error and the sweep goes on.
Each run depends only on its parameter values and seed, so the results are the same, bit for
bit, whichever backend and however many workers run them.

:func:`analyze` computes sensitivity indices with SALib (Sobol S1, ST and S2; Morris mu* and
sigma; delta and S1 for Latin hypercubes; main effects for grids) with seeded bootstrap
intervals, to ``DIR/analysis/*.csv`` and figures.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
import time
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from em_abm import __version__, limits
from em_abm import params as P
from em_abm.errors import UserError, check_known, read_toml
from em_abm.results import clean_temporaries, write_atomic

DESIGNS = ("sobol", "morris", "lhs", "grid")
BACKENDS = ("loky", "dask")
MANIFEST = "manifest.json"
RUNS = "runs"
RESULTS = "results.parquet"  # every run, one row each, rewritten at the end of each sweep
STATUS_OK, STATUS_ERROR = "ok", "error"
_KEYS = {
    "name", "description", "model", "scenario", "design", "samples", "replicates", "seed",
    "paired", "years", "scale", "outputs", "horizons", "levels", "second_order", "vary",
    "fixed",
}  # fmt: skip


# ---------------------------------------------------------------------------- models
@dataclass(frozen=True)
class Factor:
    """A varied parameter: a numeric range, explicit values, or named levels (each a set of
    parameter values; the factor's name is then a label, not a parameter)."""

    name: str
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] | None = None
    levels: dict[str, dict[str, Any]] | None = None

    @property
    def numeric(self) -> bool:
        return self.values is None and self.levels is None

    @property
    def choices(self) -> list[Any]:
        return list(self.levels) if self.levels is not None else list(self.values or ())


class EMModelRunner:
    """The em-abm model: parameters from the registry, outputs from the metrics contract."""

    name = "em_abm"

    def check_factor(self, name: str, where: str) -> tuple[float | None, float | None]:
        check_known(name, P.PARAMS, where=where, what="parameter",
                    allowed="a name from `em-abm params`")  # fmt: skip
        p = P.PARAMS[name]
        return (p.lower, p.upper) if p.kind in ("float", "int") else (None, None)

    def check_outputs(self, names: list[str], where: str) -> None:
        from em_abm.metrics import SUMMARY_NAMES_ALLOWED, summary_keys

        known = summary_keys()
        for n in names:
            check_known(n, known, where=where, what="output", allowed=SUMMARY_NAMES_ALLOWED)

    def check_fixed(self, fixed: dict[str, Any], where: str) -> dict[str, Any]:
        return P.validate(fixed, prefix=where)

    def run(self, spec: Spec, values: dict[str, Any], seed: int) -> dict[str, float]:
        from em_abm.compare import flatten
        from em_abm.metrics import scales_with_population
        from em_abm.results import run_model, summarise_series
        from em_abm.scenario import load

        scen = load(spec.scenario).with_overrides({**spec.fixed, **values})
        res = run_model(scen, seed=seed, years=spec.years, scale=spec.scale)
        per = {o: 1.0 / spec.scale if scales_with_population(o) else 1.0 for o in spec.outputs}
        flat = flatten(res.summary)
        out = {o: flat[o] * per[o] for o in spec.outputs}
        for h in spec.horizons:
            early = flatten(summarise_series(res.timeseries.iloc[: round(h * 365)]))
            out.update({f"{o}@{h:g}y": early.get(o, math.nan) * per[o] for o in spec.outputs})
        return out


class IshigamiRunner:
    """The Ishigami function (a = 7, b = 0.1), a known-answer test of the machinery:
    ``y = sin x1 + a sin^2 x2 + b x3^4 sin x1`` with x in [-pi, pi]^3."""

    name = "ishigami"
    a, b = 7.0, 0.1
    bounds: ClassVar = {
        "x1": (-math.pi, math.pi),
        "x2": (-math.pi, math.pi),
        "x3": (-math.pi, math.pi),
    }

    def check_factor(self, name: str, where: str) -> tuple[float | None, float | None]:
        if name not in self.bounds:
            raise UserError(f"{where}: unknown parameter {name!r}; allowed: x1, x2, x3")
        return self.bounds[name]

    def check_outputs(self, names: list[str], where: str) -> None:
        if list(names) != ["y"]:
            raise UserError(f"{where}: got {names!r}; allowed: ['y']")

    def check_fixed(self, fixed: dict[str, Any], where: str) -> dict[str, Any]:
        if fixed:
            raise UserError(f"{where}: allowed: nothing (the Ishigami function has no settings)")
        return {}

    def run(self, spec: Spec, values: dict[str, Any], seed: int) -> dict[str, float]:
        x1, x2, x3 = (float(values[k]) for k in ("x1", "x2", "x3"))
        y = math.sin(x1) + self.a * math.sin(x2) ** 2 + self.b * x3**4 * math.sin(x1)
        return {"y": y}

    @classmethod
    def analytic(cls) -> dict[str, dict[str, float]]:
        """First-order and total Sobol indices of x1, x2, x3."""
        a, b, pi = cls.a, cls.b, math.pi
        v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
        v2 = a**2 / 8
        v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
        var = v1 + v2 + v13
        return {
            "S1": {"x1": v1 / var, "x2": v2 / var, "x3": 0.0},
            "ST": {"x1": (v1 + v13) / var, "x2": v2 / var, "x3": v13 / var},
        }


MODELS: dict[str, Any] = {"em_abm": EMModelRunner(), "ishigami": IshigamiRunner()}


# ---------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class Spec:
    name: str
    factors: tuple[Factor, ...]
    outputs: tuple[str, ...]
    design: str = "sobol"
    samples: int = 64
    replicates: int = 1
    seed: int = 1
    paired: bool = True
    years: float = 1.0
    scale: float = 0.1
    scenario: str = "baseline_2026"
    model: str = "em_abm"
    horizons: tuple[float, ...] = ()
    levels: int = 4
    second_order: bool = False
    fixed: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.factors]

    @property
    def output_columns(self) -> list[str]:
        return [*self.outputs, *(f"{o}@{h:g}y" for h in self.horizons for o in self.outputs)]

    @property
    def numeric(self) -> list[Factor]:
        return [f for f in self.factors if f.numeric]

    @property
    def crossed(self) -> list[Factor]:
        return [f for f in self.factors if not f.numeric]

    def problem(self) -> dict[str, Any]:
        """The SALib problem (numeric factors only)."""
        return {
            "num_vars": len(self.numeric),
            "names": [f.name for f in self.numeric],
            "bounds": [[f.low, f.high] for f in self.numeric],
        }

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["factors"] = [asdict(f) for f in self.factors]
        return d

    def hash(self) -> str:
        """What the results depend on (the description does not count)."""
        d = {k: v for k, v in self.to_dict().items() if k != "description"}
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()


def load_spec(path: str | os.PathLike) -> Spec:
    path = Path(path)
    data = read_toml(path, "sweep spec")
    return spec_from_dict(data, where=str(path))


def _typed(data: dict, key: str, kind, default, where: str, allowed: str):
    value = data.get(key, default)
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise UserError(f"{where}: {key}: got {value!r}; allowed: {allowed}")
    return value


def spec_from_dict(data: dict[str, Any], *, where: str = "spec") -> Spec:
    """Validate a spec table; every mistake is one line naming the field."""
    unknown = set(data) - _KEYS
    if unknown:
        raise UserError(
            f"{where}: {sorted(unknown)[0]}: unknown key; allowed: {', '.join(sorted(_KEYS))}"
        )
    model_name = _typed(data, "model", str, "em_abm", where, ", ".join(MODELS))
    if model_name not in MODELS:
        raise UserError(f"{where}: model: got {model_name!r}; allowed: {', '.join(MODELS)}")
    model = MODELS[model_name]
    design = _typed(data, "design", str, "sobol", where, ", ".join(DESIGNS))
    if design not in DESIGNS:
        raise UserError(f"{where}: design: got {design!r}; allowed: {', '.join(DESIGNS)}")
    name = _typed(data, "name", str, Path(where).stem, where, "a name")
    samples = _typed(data, "samples", int, 64, where, "an integer >= 1")
    replicates = _typed(data, "replicates", int, 1, where, "an integer >= 1")
    seed = _typed(data, "seed", int, 1, where, "an integer >= 0")
    levels = _typed(data, "levels", int, 4, where, "an integer >= 2")
    years = _typed(data, "years", float, 1.0, where, limits.YEARS_ALLOWED)
    scale = _typed(data, "scale", float, 0.1, where, limits.SCALE_ALLOWED)
    for key, ok, allowed in (
        ("samples", samples >= 1, "an integer >= 1"),
        ("replicates", replicates >= 1, "an integer >= 1"),
        ("seed", seed >= 0, "an integer >= 0"),
        ("levels", levels >= 2, "an integer >= 2"),
        ("years", limits.years_ok(years), limits.YEARS_ALLOWED),
        ("scale", limits.scale_ok(scale), limits.SCALE_ALLOWED),
    ):
        if not ok:
            raise UserError(f"{where}: {key}: got {data[key]!r}; allowed: {allowed}")
    if design == "morris" and levels % 2:
        raise UserError(f"{where}: levels: got {levels}; allowed: an even number for morris")
    outputs = data.get("outputs")
    if not isinstance(outputs, list) or not outputs or not all(isinstance(o, str) for o in outputs):
        raise UserError(f"{where}: outputs: got {outputs!r}; allowed: a list of metric names")
    if len(set(outputs)) != len(outputs):
        raise UserError(f"{where}: outputs: names repeat; allowed: each name once")
    model.check_outputs(outputs, f"{where}: outputs")
    horizons = data.get("horizons", [])
    if not isinstance(horizons, list) or not all(
        isinstance(h, int | float) and not isinstance(h, bool) and 0 < h < years for h in horizons
    ):
        raise UserError(
            f"{where}: horizons: got {horizons!r}; allowed: a list of years in (0, {years:g})"
        )
    vary = data.get("vary")
    if not isinstance(vary, dict) or not vary:
        raise UserError(f"{where}: vary: allowed: a table of at least one parameter and range")
    factors = tuple(_factor(model, k, v, design, f"{where}: vary.{k}") for k, v in vary.items())
    if design in ("sobol", "morris") and any(not f.numeric for f in factors):
        bad = next(f.name for f in factors if not f.numeric)
        raise UserError(
            f"{where}: vary.{bad}: explicit values or levels; allowed: numeric ranges only "
            f"with design = '{design}' (use lhs or grid to cross them)"
        )
    if design != "grid" and not any(f.numeric for f in factors):
        raise UserError(f"{where}: vary: allowed: at least one numeric range for {design}")
    fixed = data.get("fixed", {})
    if not isinstance(fixed, dict):
        raise UserError(f"{where}: fixed: got {fixed!r}; allowed: a table of parameter values")
    both = set(fixed) & set(vary)
    if both:
        raise UserError(f"{where}: fixed.{sorted(both)[0]}: also in vary; allowed: one of them")
    fixed = model.check_fixed(fixed, f"{where}: fixed.")
    scenario = _typed(data, "scenario", str, "baseline_2026", where, "a scenario name or path")
    if model_name == "em_abm":
        from em_abm.scenario import load

        load(scenario)  # a clear error for an unknown scenario
    return Spec(
        name=name,
        factors=factors,
        outputs=tuple(outputs),
        design=design,
        samples=samples,
        replicates=replicates,
        seed=seed,
        paired=_typed(data, "paired", bool, True, where, "true or false"),
        years=years,
        scale=scale,
        scenario=scenario,
        model=model_name,
        horizons=tuple(float(h) for h in horizons),
        levels=levels,
        second_order=_typed(data, "second_order", bool, False, where, "true or false"),
        fixed=fixed,
        description=_typed(data, "description", str, "", where, "text"),
    )


def _factor(model, name: str, rng: Any, design: str, where: str) -> Factor:
    if isinstance(rng, dict) and rng and all(isinstance(v, dict) for v in rng.values()):
        levels = {}
        for label, values in rng.items():
            levels[label] = model.check_fixed(values, f"{where}.{label}.")
        return Factor(name, levels=levels)
    lower, upper = model.check_factor(name, where)
    if isinstance(rng, dict):
        if set(rng) != {"values"} or not isinstance(rng["values"], list) or not rng["values"]:
            raise UserError(
                f"{where}: got {rng!r}; allowed: [low, high], [], {{values = [...]}} or a "
                "table of named levels"
            )
        values = tuple(rng["values"])
        if model is MODELS["em_abm"]:
            for v in values:
                P.validate({name: v}, prefix=where.rsplit("vary.", 1)[0] + "vary.")
        return Factor(name, values=values)
    if lower is None or upper is None:
        raise UserError(f"{where}: not a bounded number; allowed: {{values = [...]}} in a grid")
    if not isinstance(rng, list) or len(rng) not in (0, 2):
        raise UserError(f"{where}: got {rng!r}; allowed: [low, high] or [] for the bounds")
    lo, hi = (lower, upper) if not rng else rng
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in (lo, hi)):
        raise UserError(f"{where}: got {rng!r}; allowed: two numbers [low, high]")
    if not (lower <= lo < hi <= upper) or not all(map(math.isfinite, (lo, hi))):
        raise UserError(
            f"{where}: got [{lo}, {hi}]; allowed: low < high within the bounds [{lower}, {upper}]"
        )
    return Factor(name, low=float(lo), high=float(hi))


# ---------------------------------------------------------------------------- the design
def design_matrix(spec: Spec) -> pd.DataFrame:
    """One row per design point, one column per factor: the sampled conditions (SALib, or a
    grid of numeric levels) crossed with every level of the other factors; ``sample``
    numbers the sampled conditions."""
    numeric = [f.name for f in spec.numeric]
    if spec.design == "grid":
        axes = [list(np.linspace(f.low, f.high, spec.levels)) for f in spec.numeric]
        sampled = pd.DataFrame(list(itertools.product(*axes)), columns=numeric)
    else:
        from SALib.sample import latin, morris, sobol

        problem = spec.problem()
        if spec.design == "sobol":
            x = sobol.sample(
                problem, spec.samples, calc_second_order=spec.second_order, seed=spec.seed
            )
        elif spec.design == "morris":
            x = morris.sample(problem, spec.samples, num_levels=spec.levels, seed=spec.seed)
        else:
            x = latin.sample(problem, spec.samples, seed=spec.seed)
        sampled = pd.DataFrame(x, columns=numeric)
    sampled.insert(0, "sample", np.arange(len(sampled), dtype=np.int64))
    combos = list(itertools.product(*(f.choices for f in spec.crossed)))
    crossed = pd.DataFrame(combos, columns=[f.name for f in spec.crossed])
    design = sampled.merge(crossed, how="cross") if len(crossed.columns) else sampled
    return design[["sample", *spec.names]].reset_index(drop=True)


def seeds_of(spec: Spec, n_points: int) -> np.ndarray:
    """Seed of each run (point-major): ``SeedSequence(seed).spawn``, one per replicate
    shared by every point when paired, else one per run."""
    from em_abm.compare import seeds_for

    if spec.paired:
        return np.tile(np.array(seeds_for(spec.seed, spec.replicates), dtype=np.int64), n_points)
    return np.array(seeds_for(spec.seed, n_points * spec.replicates), dtype=np.int64)


def run_table(spec: Spec) -> pd.DataFrame:
    """Every run of the sweep: run id, design point, replicate, seed and parameter values."""
    points = design_matrix(spec)
    n = len(points)
    runs = points.loc[np.repeat(np.arange(n), spec.replicates)].reset_index(drop=True)
    runs.insert(0, "run_id", np.arange(len(runs), dtype=np.int64))
    runs.insert(1, "point", np.repeat(np.arange(n, dtype=np.int64), spec.replicates))
    runs.insert(2, "replicate", np.tile(np.arange(spec.replicates, dtype=np.int64), n))
    runs.insert(3, "seed", seeds_of(spec, n))
    return runs


def _values(spec: Spec, row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for f in spec.factors:
        v = row[f.name]
        if f.levels is not None:
            out.update(f.levels[v])
            continue
        if spec.model == "em_abm" and P.PARAMS[f.name].kind == "int":
            v = round(v)
        elif isinstance(v, np.generic):
            v = v.item()
        out[f.name] = v
    return out


def run_one(spec: Spec, row: dict[str, Any]) -> dict[str, Any]:
    """One run; never raises for a failing model (the error is recorded in the row)."""
    t0 = time.perf_counter()
    out: dict[str, Any] = {"run_id": int(row["run_id"])}
    try:
        values = MODELS[spec.model].run(spec, _values(spec, row), int(row["seed"]))
        out.update({c: float(values[c]) for c in spec.output_columns})
        out["status"], out["error"] = STATUS_OK, ""
    except Exception as e:  # recorded, and the sweep goes on
        out.update({c: math.nan for c in spec.output_columns})
        out["status"] = STATUS_ERROR
        out["error"] = f"{type(e).__name__}: {e}"[:2000]
        out["traceback"] = traceback.format_exc()[-4000:]
    out["wall_time_s"] = time.perf_counter() - t0
    return out


# ---------------------------------------------------------------------------- the store
def manifest_for(spec: Spec) -> dict[str, Any]:
    from em_abm.results import git_commit

    return {
        "spec": spec.to_dict(),
        "spec_hash": spec.hash(),
        "package": "em-abm",
        "version": __version__,
        "git_commit": git_commit(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def open_store(out: Path, spec: Spec) -> None:
    """Create ``out`` with its manifest, or check that it holds this spec's sweep."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: is a file; allowed: a folder for the sweep's results")
    manifest = out / MANIFEST
    if manifest.exists():
        clean_temporaries(out)  # what a killed flush left
        clean_temporaries(out / RUNS)
        try:
            old = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise UserError(f"{manifest}: cannot read: {e}") from None
        if old.get("spec_hash") != spec.hash():
            raise UserError(
                f"{out}: holds a sweep of a different spec ({old.get('spec', {}).get('name')!r}); "
                "allowed: the same spec to resume, or another --out folder"
            )
        return
    if out.exists() and any(p for p in out.iterdir() if not p.name.startswith(".")):
        raise UserError(f"{out}: exists and is not a sweep folder; allowed: an empty or new folder")
    try:  # the manifest first: a folder without it is not taken for a sweep's
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(
            manifest,
            lambda p: p.write_text(json.dumps(manifest_for(spec), indent=2), encoding="utf-8"),
        )
        (out / RUNS).mkdir(exist_ok=True)
    except OSError as e:
        raise UserError(f"{out}: cannot write: {e.strerror}") from None


def read_manifest(out: Path) -> dict[str, Any]:
    path = Path(out) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{out}: not a sweep folder (no {MANIFEST}); run `em-abm sweep`") from None
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{path}: cannot read: {e}") from None


def spec_of(out: Path) -> Spec:
    d = read_manifest(out)["spec"]
    factors = tuple(
        Factor(
            f["name"],
            f["low"],
            f["high"],
            tuple(f["values"]) if f["values"] else None,
            f["levels"],
        )
        for f in d.pop("factors")
    )
    return Spec(
        **{k: tuple(v) if k in ("outputs", "horizons") else v for k, v in d.items()},
        factors=factors,
    )


def stored_runs(out: Path) -> pd.DataFrame:
    """Every stored row, one per run (a run stored twice keeps its successful row)."""
    parts = sorted((Path(out) / RUNS).glob("part-*.parquet"))
    if (Path(out) / RESULTS).is_file():  # a finished sweep kept without its parts
        parts.insert(0, Path(out) / RESULTS)
    if not parts:
        return pd.DataFrame(columns=["run_id", "status"])
    df = pd.concat([_read_part(p) for p in parts], ignore_index=True)
    df["_ok"] = df["status"] == STATUS_OK
    df = df.sort_values(["run_id", "_ok"], kind="stable").drop_duplicates("run_id", keep="last")
    return df.drop(columns="_ok").sort_values("run_id").reset_index(drop=True)


def _read_part(path: Path) -> pd.DataFrame:
    import pyarrow as pa

    try:
        return pd.read_parquet(path)
    except (OSError, pa.ArrowException) as e:
        raise UserError(
            f"{path}: cannot read ({str(e).splitlines()[0]}); allowed: a Parquet file this "
            "sweep wrote: delete it and run the sweep again to redo its runs"
        ) from None


def _next_part(out: Path) -> Iterator[Path]:
    runs = Path(out) / RUNS
    n = max((int(p.stem.split("-")[1]) for p in runs.glob("part-*.parquet")), default=0)
    while True:
        n += 1
        yield runs / f"part-{n:05d}.parquet"


def _flush(rows: list[dict], parts: Iterator[Path], design: pd.DataFrame) -> None:
    if not rows:
        return
    df = pd.DataFrame(rows)
    df = design.set_index("run_id").loc[df["run_id"]].reset_index().join(df.drop(columns="run_id"))
    if "traceback" not in df:
        df["traceback"] = ""
    df["traceback"] = df["traceback"].fillna("")
    path = next(parts)
    write_atomic(path, lambda p: df.to_parquet(p, index=False))
    rows.clear()


# ---------------------------------------------------------------------------- running
@dataclass
class SweepSummary:
    out: Path
    total: int
    skipped: int
    ran: int
    failed: int
    wall_s: float

    def line(self) -> str:
        return (
            f"{self.out}: {self.total} runs: {self.skipped} already done, {self.ran} run now, "
            f"{self.failed} failed in all ({self.wall_s:.1f} s)"
        )


def connect(scheduler: str):
    """A dask ``Client`` of the scheduler at ``scheduler``, or a one-line :class:`UserError`."""
    from distributed import Client

    try:
        return Client(scheduler, timeout="10s")
    except (OSError, ValueError, TypeError) as e:
        raise UserError(
            f"--scheduler: cannot connect to {scheduler!r} ({e}); allowed: the address of a "
            "running dask scheduler, e.g. tcp://10.0.0.5:8786"
        ) from None


@contextlib.contextmanager
def _backend(backend: str, jobs: int, scheduler: str | None):
    """joblib's configuration for ``backend``; dask connects to (or starts) a cluster."""
    from joblib import parallel_config

    if backend == "loky":
        with parallel_config(backend="loky", n_jobs=jobs):
            yield
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - a declared dependency
        raise UserError("--backend dask: needs the distributed package") from None
    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)
    if scheduler:
        client = connect(scheduler)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        with parallel_config(backend="dask", n_jobs=-1):
            yield
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def sweep(
    spec: Spec,
    out: str | os.PathLike,
    *,
    jobs: int = 1,
    backend: str = "loky",
    scheduler: str | None = None,
    progress: bool = False,
    retry_failed: bool = False,
    flush_every: int = 2000,
    flush_seconds: float = 10.0,
) -> SweepSummary:
    """Run every run of ``spec`` not yet stored in ``out``; see the module docstring."""
    if backend not in BACKENDS:
        raise UserError(f"--backend: got {backend!r}; allowed: {', '.join(BACKENDS)}")
    if scheduler and backend != "dask":
        raise UserError("--scheduler: allowed only with --backend dask")
    out = Path(out)
    t0 = time.perf_counter()
    if scheduler:  # a wrong address is found before anything is written
        connect(scheduler).close()
    open_store(out, spec)
    design = run_table(spec)
    done = stored_runs(out)
    finished = (
        set(done["run_id"][done["status"] == STATUS_OK]) if retry_failed else set(done["run_id"])
    )
    todo = design[~design["run_id"].isin(finished)]
    rows: list[dict] = []
    parts = _next_part(out)
    failed = int((done["status"] == STATUS_ERROR).sum()) if not retry_failed else 0
    ran = 0
    bar = None
    if progress and len(todo):
        from tqdm import tqdm

        bar = tqdm(total=len(design), initial=len(design) - len(todo), unit="run", desc=spec.name)
        bar.set_postfix(failed=failed)
    if len(todo):
        from joblib import Parallel, delayed

        records = todo.to_dict("records")
        last = time.monotonic()
        try:
            with _backend(backend, jobs, scheduler), warnings.catch_warnings():
                # loky restarts a worker whose memory grew (a large run does) and warns; the
                # restart is harmless and the run is not lost.
                warnings.filterwarnings("ignore", "A worker stopped", UserWarning)
                it = Parallel(return_as="generator_unordered")(
                    delayed(run_one)(spec, r) for r in records
                )
                for row in it:
                    rows.append(row)
                    ran += 1
                    failed += row["status"] == STATUS_ERROR
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(failed=failed)
                    if len(rows) >= flush_every or time.monotonic() - last > flush_seconds:
                        _flush(rows, parts, design)
                        last = time.monotonic()
        finally:
            _flush(rows, parts, design)  # finished runs survive an interruption
            if bar is not None:
                bar.close()
    table = stored_runs(out)
    write_atomic(out / RESULTS, lambda p: table.to_parquet(p, index=False))
    return SweepSummary(out, len(design), len(design) - len(todo), ran, failed,
                        time.perf_counter() - t0)  # fmt: skip


def results(out: str | os.PathLike) -> pd.DataFrame:
    """The stored runs of a sweep, one row per run, in run order."""
    read_manifest(out)
    return stored_runs(Path(out))
