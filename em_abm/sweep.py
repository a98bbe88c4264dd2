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

Each parameter is set in one place only: ``[fixed]``, one ``[vary]`` range or values, or the
levels of one named factor (a value set twice would be recorded for runs that used the other).
Share groups (parameters that must sum to one, such as ``escalation.*``; see
:func:`em_abm.params.check_groups`) must sum to one in every run, at the start and after each of
the scenario's dated changes: a level sets all of a group's shares together, and a group's share
cannot be a sampled range, whose values would break the sum.

Sizes are limited so that a mistyped number is refused at once rather than after filling the
memory: at most :data:`MAX_RUNS` runs in all (a million runs of a second each is 12 days of one
processor) and :data:`MAX_VALUES` parameter values in the run table (runs x factors, 160 MB as
floats); ``samples`` at most :data:`MAX_SAMPLES`, ``replicates`` at most
:data:`MAX_REPLICATES`, ``levels`` at most :data:`MAX_LEVELS`, ``horizons`` at most
:data:`MAX_HORIZONS`. The number of runs is counted before anything is sampled (:func:`count_runs`:
Sobol N (D + 2), or N (2D + 2) with second order; Morris N (D + 1); lhs N; grid levels^D; times
the crossed levels and the replicates).

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
One sweep at a time writes a folder (:func:`em_abm.files.locked`); a second is refused.

``results.parquet`` describes itself: each column's unit and description are in its Parquet
field metadata, and what the counts are in the schema's (:func:`em_abm.results.units`,
:func:`em_abm.results.describe`). Integer parameters are stored as the integers that were run
(``field.officers`` 534, not the sampled 534.0115; the analysis uses the sampled design,
:func:`design_matrix`); a store written before issue 2.6 holds the sampled value, and is read
(and checked against the design) as the integer run. Outputs are named as in the flat summary
(:mod:`em_abm.metrics`); the older names (``tagged_by_cohort.court_bail``) are accepted and
keep their name as a column.

Stored rows are checked against the design when read: a part file with a run that is not in
the design, or whose parameter values differ from the design's, is refused (one line naming the
file) rather than skipped, because such a file was not written by this sweep (another sweep's,
or edited), and silently dropping or keeping its rows would give results the spec does not
describe; deleting the file and running the sweep again redoes its runs. The sweep deletes only
the temporary files it writes itself (``.part-NNNNN.parquet.tmp``, ``.results.parquet.tmp``,
``.manifest.json.tmp``). Loky workers end when the sweep process dies, even by ``kill -9``
(:func:`_watch_parent`; dask's local workers do so by themselves).
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
import re
import threading
import time
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from em_abm import files, limits
from em_abm import params as P
from em_abm.errors import DesignWarning, UserError, check_known
from em_abm.files import read_toml
from em_abm.results import write_atomic
from em_abm.scenario import warn_past_window, window_warned_by_caller
from em_abm.version import __version__

DESIGNS = ("sobol", "morris", "lhs", "grid")
BACKENDS = ("loky", "dask")
MANIFEST = "manifest.json"
RUNS = "runs"
RESULTS = "results.parquet"  # every run, one row each, rewritten at the end of each sweep
STATUS_OK, STATUS_ERROR = "ok", "error"
MAX_RUNS = 1_000_000
MAX_VALUES = 20_000_000  # runs x factors: the run table's parameter values
MAX_SAMPLES = MAX_RUNS
MAX_REPLICATES = 10_000
MAX_LEVELS = 1_000
MAX_HORIZONS = 20
SIZE_ALLOWED = (
    f"at most {MAX_RUNS:,} runs and {MAX_VALUES:,} parameter values (runs x factors) in all"
)
# Columns of the run table besides the factors' (a factor named like one would overwrite it).
RESERVED = ("run_id", "point", "replicate", "seed", "sample", "posterior_set", "status", "error",
            "traceback", "wall_time_s")  # fmt: skip
_PART = re.compile(r"part-(\d+)\.parquet")
# The temporary names of the sweep's own writes (results.write_atomic), in DIR and DIR/runs.
_TEMPORARY = re.compile(rf"\.({re.escape(RESULTS)}|{re.escape(MANIFEST)})\.tmp")
_PART_TEMPORARY = re.compile(r"\.part-\d+\.parquet\.tmp")
_KEYS = {
    "name", "description", "model", "scenario", "design", "samples", "replicates", "seed",
    "paired", "years", "scale", "outputs", "horizons", "levels", "second_order", "vary",
    "fixed", "posterior",
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
    """The em-abm model, or a subclass of it or of one of its components named by import
    path (:mod:`em_abm.extension`): parameters from the registry, outputs from the metrics
    contract."""

    def __init__(self, name: str = "em_abm") -> None:
        self.name = name

    def check_factor(self, name: str, where: str) -> tuple[float | None, float | None]:
        check_known(name, P.PARAMS, where=where, what="parameter",
                    allowed="a name from `em-abm params`")  # fmt: skip
        p = P.PARAMS[name]
        return (p.lower, p.upper) if p.kind in ("float", "int") else (None, None)

    def check_outputs(self, names: list[str], where: str) -> None:
        from em_abm.metrics import SUMMARY_NAMES_ALLOWED, summary_keys

        known = summary_keys(aliases=True)  # older names too: stored sweeps' specs use them
        for n in names:
            check_known(n, known, where=where, what="output", allowed=SUMMARY_NAMES_ALLOWED)

    def check_fixed(self, fixed: dict[str, Any], where: str) -> dict[str, Any]:
        return P.validate(fixed, prefix=where)

    def run(self, spec: Spec, values: dict[str, Any], seed: int) -> dict[str, float]:
        from em_abm.metrics import per_england_and_wales as per_ew
        from em_abm.results import flatten, run_model, summarise_series
        from em_abm.scenario import load

        scen = load(spec.scenario).with_overrides({**spec.fixed, **values})
        res = run_model(scen, seed=seed, years=spec.years, scale=spec.scale, model=self.name)
        flat = flatten(res.summary)
        out = {o: per_ew(o, flat[o], spec.scale) for o in spec.outputs}
        for h in spec.horizons:
            early = flatten(summarise_series(res.timeseries.iloc[: round(h * 365)]))
            out.update({f"{o}@{h:g}y": per_ew(o, early.get(o, math.nan), spec.scale)
                        for o in spec.outputs})  # fmt: skip
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
MODELS_ALLOWED = (
    f"{', '.join(MODELS)}, or 'package.module:Class' (an EMModel or Component subclass)"
)


def runner(name: str, where: str = "model", *, load: bool = True):
    """The runner of a spec's ``model``: a packaged one, or an :class:`EMModelRunner` of the
    class an import path names (with ``load``, checked by importing it; each worker imports
    it to run; reading a stored sweep's results does not need it)."""
    if name in MODELS:
        return MODELS[name]
    if isinstance(name, str) and ":" in name:
        from em_abm import extension

        if load:
            extension.resolve(name, where=where)
        else:  # reading a stored sweep: import the module if it is here (it may register
            with contextlib.suppress(UserError):  # policies its runs used), else read on
                extension.resolve(name, where=where)
        return EMModelRunner(name)
    raise UserError(f"{where}: got {name!r}; allowed: {MODELS_ALLOWED}")


def is_em(name: str) -> bool:
    """Whether a spec's ``model`` is em-abm's (packaged or extended): registry parameters,
    outputs per England and Wales."""
    return name == "em_abm" or (isinstance(name, str) and ":" in name)


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
    # Run over the calibrated posterior (em_abm.posterior): replicate r uses set r mod K; the
    # file's hash is part of what the results depend on.
    posterior: int = 0
    posterior_sha: str = ""

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


def spec_from_dict(
    data: dict[str, Any], *, where: str = "spec", check_scenario: bool = True
) -> Spec:
    """Validate a spec table; every mistake is one line naming the field. With
    ``check_scenario`` the scenario and an extended model are loaded and every run's share
    groups checked."""
    unknown = set(data) - _KEYS
    if unknown:
        raise UserError(
            f"{where}: {sorted(unknown)[0]}: unknown key; allowed: {', '.join(sorted(_KEYS))}"
        )
    model_name = _typed(data, "model", str, "em_abm", where, MODELS_ALLOWED)
    model = runner(model_name, f"{where}: model", load=check_scenario)
    design = _typed(data, "design", str, "sobol", where, ", ".join(DESIGNS))
    if design not in DESIGNS:
        raise UserError(f"{where}: design: got {design!r}; allowed: {', '.join(DESIGNS)}")
    name = _typed(data, "name", str, Path(where).stem, where, "a name")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise UserError(f"{where}: name: got {name!r}; allowed: a name in UTF-8") from None
    allowed_samples = f"an integer >= 1 and at most {MAX_SAMPLES:,}"
    allowed_replicates = f"an integer >= 1 and at most {MAX_REPLICATES:,}"
    allowed_levels = f"an integer >= 2 and at most {MAX_LEVELS:,}"
    samples = _typed(data, "samples", int, 64, where, allowed_samples)
    replicates = _typed(data, "replicates", int, 1, where, allowed_replicates)
    seed = _typed(data, "seed", int, 1, where, "an integer >= 0")
    levels = _typed(data, "levels", int, 4, where, allowed_levels)
    years = _typed(data, "years", float, 1.0, where, limits.YEARS_ALLOWED)
    scale = _typed(data, "scale", float, 0.1, where, limits.SCALE_ALLOWED)
    for key, ok, allowed in (
        ("samples", 1 <= samples <= MAX_SAMPLES, allowed_samples),
        ("replicates", 1 <= replicates <= MAX_REPLICATES, allowed_replicates),
        ("seed", seed >= 0, "an integer >= 0"),
        ("levels", 2 <= levels <= MAX_LEVELS, allowed_levels),
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
    if (
        not isinstance(horizons, list)
        or len(horizons) > MAX_HORIZONS
        or not all(
            isinstance(h, int | float) and not isinstance(h, bool) and 0 < h < years
            for h in horizons
        )
        or len({f"{h:g}" for h in horizons}) < len(horizons)  # each names its own columns
    ):
        raise UserError(
            f"{where}: horizons: got {horizons!r}; allowed: a list of at most {MAX_HORIZONS} "
            f"different years in (0, {years:g})"
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
    taken = set(RESERVED) | set(outputs)
    for h in horizons:
        taken |= {f"{o}@{h:g}y" for o in outputs}
    clash = next((f.name for f in factors if f.name in taken), None)
    if clash is not None:
        raise UserError(
            f"{where}: vary.{clash}: the name of a column of the run table; allowed: another "
            f"name (not {', '.join(RESERVED)} or an output)"
        )
    fixed = data.get("fixed", {})
    if not isinstance(fixed, dict):
        raise UserError(f"{where}: fixed: got {fixed!r}; allowed: a table of parameter values")
    fixed = model.check_fixed(fixed, f"{where}: fixed.")
    _check_set_once(fixed, factors, where)
    scenario = _typed(data, "scenario", str, "baseline_2026", where, "a scenario name or path")
    posterior = _typed(data, "posterior", int, 0, where, "an integer >= 0 (0: no posterior)")
    posterior_sha = ""
    if posterior:
        from em_abm import posterior as PO

        if not is_em(model_name) or posterior < 0:
            raise UserError(f"{where}: posterior: got {posterior!r}; allowed: 0, or a number "
                            "of calibrated sets for model em_abm")  # fmt: skip
        PO.check_k(posterior, where)
        if replicates < posterior:
            raise UserError(
                f"{where}: posterior: {posterior} sets need at least {posterior} replicates "
                f"(replicate r uses set r mod {posterior}); allowed: replicates >= posterior"
            )
        posterior_sha = PO.sha256()
    spec = Spec(
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
        posterior=posterior,
        posterior_sha=posterior_sha,
    )
    check_size(spec, where)
    if is_em(model_name) and check_scenario:
        from em_abm.scenario import load

        _check_shares(spec, load(scenario), where)  # and a clear error for an unknown scenario
    return spec


def _check_set_once(fixed: dict[str, Any], factors: tuple[Factor, ...], where: str) -> None:
    """Refuse a parameter set in two places: a run would use one value and its row could
    record the other."""
    first: dict[str, str] = {name: f"fixed.{name}" for name in fixed}
    for f in factors:
        places = {f.name: f"vary.{f.name}"} if f.levels is None else {}
        for label, values in (f.levels or {}).items():  # one factor's levels: one place
            for name in values:
                places.setdefault(name, f"vary.{f.name}.{label}")
        for name, place in places.items():
            if name in first:
                raise UserError(
                    f"{where}: {name}: set in {first[name]} and also in {place}; allowed: each "
                    "parameter in one place (fixed, one range or values, or one factor's levels)"
                )
        first.update(places)


def _check_shares(spec: Spec, scen, where: str) -> None:
    """Refuse a spec under which some run would break a share group (shares summing to one).

    A run's values are the scenario's, then the fixed ones, then one choice of each crossed
    factor (each parameter from one place, :func:`_check_set_once`), so a group's sum is a sum
    of one term per factor: every run keeps it at one exactly when the runs that change one
    factor's choice, the others at their first, all do. Those are the runs checked (with the
    scenario's dated changes). Sums are checked within a tolerance, though, so two factors
    each a little off can break a group together: when the factors that set shares have at
    most :data:`MAX_SHARE_COMBINATIONS` combinations of choices, every combination is checked.
    A sampled range moves its share alone and always breaks it."""
    grouped = {n: g for g, names in P.groups().items() for n in names}
    for f in spec.numeric:
        if f.name in grouped:
            g = grouped[f.name]
            raise UserError(
                f"{where}: vary.{f.name}: a share of {g}, whose shares must sum to 1 in every "
                "run, and a sampled value would change it alone; allowed: named levels that "
                f"each set all of {g}'s shares, e.g. [vary.{g}] a = {{...}}, b = {{...}}"
            )
    choices = {f.name: _choice_values(f) for f in spec.crossed}
    # Only factors that set a share can break a group; the others are left at the scenario's.
    choices = {k: c for k, c in choices.items() if any(n in grouped for v in c.values() for n in v)}
    first = {k: v for c in choices.values() for k, v in next(iter(c.values())).items()}
    others = " (the other factors at their first level)" if len(choices) > 1 else ""
    checks = [("fixed", spec.fixed, "")]
    for name, c in choices.items():
        checks += [(f"vary.{name}.{label}", {**spec.fixed, **first, **v}, others)
                   for label, v in c.items()]  # fmt: skip
    if len(choices) > 1 and math.prod(len(c) for c in choices.values()) <= MAX_SHARE_COMBINATIONS:
        for combo in itertools.product(*(c.items() for c in choices.values())):
            values = {k: v for _, vals in combo for k, v in vals.items()}
            place = " and ".join(
                f"vary.{n}.{label}" for n, (label, _) in zip(choices, combo, strict=True)
            )
            checks.append((place, {**spec.fixed, **values}, " together"))
    for place, values, note in checks:
        try:
            scen.with_overrides(values)
        except UserError as e:
            raise UserError(
                f"{where}: {place}{note}: {e}; allowed: values that keep every share group "
                "summing to 1 in every run: set all of a group's shares together"
            ) from None


MAX_SHARE_COMBINATIONS = 10_000


def _choice_values(f: Factor) -> dict[str, dict[str, Any]]:
    """The parameter values of each choice of a crossed factor, by its label."""
    if f.levels is not None:
        return f.levels
    return {repr(v): {f.name: v} for v in f.values or ()}


def with_posterior(spec: Spec, k: int, *, where: str = "posterior") -> Spec:
    """``spec`` run over ``k`` calibrated parameter sets (replicates raised to ``k`` if
    fewer); refused for another model or more sets than the posterior holds."""
    import dataclasses

    from em_abm import posterior as PO

    if not is_em(spec.model):
        raise UserError(f"{where}: allowed only for em-abm's model (got {spec.model!r})")
    PO.check_k(k, where)
    spec = dataclasses.replace(spec, posterior=k, posterior_sha=PO.sha256(),
                               replicates=max(spec.replicates, k))  # fmt: skip
    check_size(spec, where)
    return spec


def count_runs(spec: Spec) -> int:
    """The number of runs of ``spec``, counted (nothing is sampled): the design's points times
    the crossed factors' choices times the replicates."""
    d = len(spec.numeric)
    points = {
        "sobol": spec.samples * (2 * d + 2 if spec.second_order else d + 2),
        "morris": spec.samples * (d + 1),
        "lhs": spec.samples,
        "grid": spec.levels**d,
    }[spec.design]
    return points * math.prod(len(f.choices) for f in spec.crossed) * spec.replicates


def check_size(spec: Spec, where: str = "spec") -> None:
    """Refuse a sweep larger than :data:`MAX_RUNS` runs or :data:`MAX_VALUES` values."""
    runs = count_runs(spec)
    if runs <= MAX_RUNS and runs * len(spec.factors) <= MAX_VALUES:
        return
    d = len(spec.numeric)
    points = {
        "sobol": f"{spec.samples:,} samples x ({2 * d if spec.second_order else d} + 2)",
        "morris": f"{spec.samples:,} trajectories x ({d} + 1)",
        "lhs": f"{spec.samples:,} samples",
        "grid": f"{spec.levels:,} levels ^ {d}",
    }[spec.design]
    crossed = "".join(f" x {len(f.choices):,} {f.name}" for f in spec.crossed)
    raise UserError(
        f"{where}: a {spec.design} design of {points}{crossed} x {spec.replicates:,} replicates "
        f"= {runs:,} runs of {len(spec.factors)} factors; allowed: {SIZE_ALLOWED}"
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
        kinds = {bool if isinstance(v, bool) else float if isinstance(v, int | float) else type(v)
                 for v in values}  # fmt: skip
        if len(kinds) > 1 or not kinds <= {bool, float, str}:
            raise UserError(f"{where}: got {rng['values']!r}; allowed: values of one kind "
                            "(numbers, strings or true/false)")  # fmt: skip
        if isinstance(model, EMModelRunner):
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
            _warn_not_power_of_2(spec.samples)
            with warnings.catch_warnings():  # said above, in em-abm's words
                warnings.filterwarnings("ignore", "The balance properties of Sobol", UserWarning)
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


def _warn_not_power_of_2(samples: int) -> None:
    """A :class:`DesignWarning` (instead of the sampling library's raw one) when Sobol'
    ``samples`` is not a power of 2, whose points lose their balance."""
    if samples & (samples - 1) == 0:
        return
    low = 1 << (samples.bit_length() - 1)
    warnings.warn(
        f"samples = {samples}: Sobol' points are balanced only when samples is a power of 2 "
        f"(e.g. {low} or {2 * low}); allowed, but the indices converge more slowly",
        DesignWarning,
        stacklevel=3,
    )


def integer_factors(spec: Spec) -> list[str]:
    """The sampled factors a run uses rounded to an integer (:func:`_values`, by the same
    rule): the em-abm model's integer parameters. The run table, and so ``results.parquet``,
    holds them as the integers that were run, not the design's sampled values (which
    :func:`design_matrix` keeps, for the analysis)."""
    if not is_em(spec.model):
        return []
    return [f.name for f in spec.numeric if P.PARAMS[f.name].kind == "int"]


def seeds_of(spec: Spec, n_points: int) -> np.ndarray:
    """Seed of each run (point-major): ``SeedSequence(seed).spawn``, one per replicate
    shared by every point when paired, else one per run."""
    from em_abm.compare import seeds_for

    if spec.paired:
        return np.tile(np.array(seeds_for(spec.seed, spec.replicates), dtype=np.int64), n_points)
    return np.array(seeds_for(spec.seed, n_points * spec.replicates), dtype=np.int64)


def run_table(spec: Spec) -> pd.DataFrame:
    """Every run of the sweep: run id, design point, replicate, seed and parameter values, as
    run (integer parameters rounded: :func:`integer_factors`)."""
    points = design_matrix(spec)
    for name in integer_factors(spec):
        points[name] = np.round(points[name].to_numpy(dtype=float)).astype(np.int64)
    n = len(points)
    runs = points.loc[np.repeat(np.arange(n), spec.replicates)].reset_index(drop=True)
    runs.insert(0, "run_id", np.arange(len(runs), dtype=np.int64))
    runs.insert(1, "point", np.repeat(np.arange(n, dtype=np.int64), spec.replicates))
    runs.insert(2, "replicate", np.tile(np.arange(spec.replicates, dtype=np.int64), n))
    runs.insert(3, "seed", seeds_of(spec, n))
    if spec.posterior:
        runs.insert(4, "posterior_set", runs["replicate"] % spec.posterior)
    return runs


def _values(spec: Spec, row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for f in spec.factors:
        v = row[f.name]
        if f.levels is not None:
            out.update(f.levels[v])
            continue
        if is_em(spec.model) and P.PARAMS[f.name].kind == "int":
            v = round(v)
        elif isinstance(v, np.generic):
            v = v.item()
        out[f.name] = v
    if spec.posterior:  # the set's values, where the sweep neither varies nor fixes them
        from em_abm import posterior as PO

        if PO.sha256() != spec.posterior_sha:
            raise UserError(f"{PO._path(None)}: changed since the sweep started; allowed: the "
                            "posterior the sweep's spec was made with")  # fmt: skip
        keep = set(spec.fixed) | set(out)
        out = {**PO.overrides(int(row["posterior_set"]), spec.scenario, keep=keep), **out}
    return out


def run_one(spec: Spec, row: dict[str, Any], root: str | None = None) -> dict[str, Any]:
    """One run; never raises for a failing model (the error is recorded in the row).
    ``root``: where an extended model's module was found (:func:`em_abm.extension.import_root`)."""
    t0 = time.perf_counter()
    out: dict[str, Any] = {"run_id": int(row["run_id"])}
    try:
        if root:
            from em_abm.extension import on_path

            on_path(root)
        with window_warned_by_caller():  # sweep() warned once
            values = runner(spec.model).run(spec, _values(spec, row), int(row["seed"]))
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
    from em_abm.metrics import scale_label
    from em_abm.results import git_commit

    return {
        "spec": spec.to_dict(),
        "spec_hash": spec.hash(),
        "counts": scale_label(spec.scale, equivalent=True) if is_em(spec.model) else "",
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
    if manifest.exists() or manifest.is_symlink():
        clean_temporaries(out, _TEMPORARY)  # what a killed write left
        clean_temporaries(out / RUNS, _PART_TEMPORARY)
        old = spec_of(out)  # checked as a spec
        if read_manifest(out)["spec_hash"] != spec.hash() or old.hash() != spec.hash():
            raise UserError(
                f"{out}: holds a sweep of a different spec ({old.name!r}); "
                "allowed: the same spec to resume, or another --out folder"
            )
        if (out / RUNS).exists() and not (out / RUNS).is_dir():
            raise UserError(f"{out / RUNS}: is not a folder; allowed: the sweep's runs/ folder")
        with _io(out):
            (out / RUNS).mkdir(exist_ok=True)  # a kept sweep may have lost it
        return
    if out.exists() and any(p for p in out.iterdir() if p.name != f".{MANIFEST}.tmp"):
        raise UserError(f"{out}: exists and is not a sweep folder; allowed: an empty or new folder")
    with _io(out):  # the manifest first: a folder without it is not taken for a sweep's
        out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(manifest_for(spec), indent=2)
        write_atomic(manifest, lambda p: p.write_text(text, encoding="utf-8"))
        (out / RUNS).mkdir(exist_ok=True)


@contextlib.contextmanager
def _io(where: Path):
    """An OSError while writing the store (a full disk) as one :class:`files.IOFailure` line."""
    try:
        yield
    except files.IOFailure:
        raise
    except OSError as e:
        raise files.as_io_failure(e, where) from None


def clean_temporaries(folder: Path, names: re.Pattern) -> None:
    """Delete the temporary files the sweep's own writes leave in ``folder`` when killed (their
    ``names``), and nothing else: another ``.*.tmp`` file is not the sweep's to delete."""
    try:
        found = os.listdir(folder)
    except OSError:
        return
    for name in found:
        if names.fullmatch(name):
            with contextlib.suppress(OSError):
                (Path(folder) / name).unlink()


def read_manifest(out: str | os.PathLike) -> dict[str, Any]:
    """The manifest of the sweep in ``out``: a JSON object with the spec and its hash."""
    path = Path(out) / MANIFEST
    if not (path.exists() or path.is_symlink()):
        raise UserError(f"{out}: not a sweep folder (no {MANIFEST}); run `em-abm sweep`")
    data = files.read_json(path, "sweep manifest")
    if not isinstance(data.get("spec"), dict) or not isinstance(data.get("spec_hash"), str):
        raise UserError(
            f"{path}: not the sweep manifest em-abm writes (a spec table and its spec_hash); "
            "allowed: the manifest.json of `em-abm sweep`"
        )
    return data


def spec_of(out: str | os.PathLike) -> Spec:
    """The spec of the sweep in ``out``, validated again as a spec file would be (a manifest
    edited into another shape is refused in one line naming it)."""
    path = Path(out) / MANIFEST
    d = read_manifest(out)["spec"]
    factors = d.get("factors")
    if not isinstance(factors, list) or not all(
        isinstance(f, dict) and isinstance(f.get("name"), str) for f in factors
    ):
        raise UserError(
            f"{path}: spec.factors: got {str(factors)[:60]!r}; allowed: the list of factors "
            "em-abm writes (each a table with a name)"
        )
    vary = {}
    for f in factors:
        if f.get("levels") is not None:
            vary[f["name"]] = f["levels"]
        elif f.get("values") is not None:
            vary[f["name"]] = {"values": f["values"]}
        else:
            vary[f["name"]] = [f.get("low"), f.get("high")]
    table = {k: v for k, v in d.items() if k not in ("factors", "posterior_sha")} | {"vary": vary}
    if not table.get("posterior"):
        return spec_from_dict(table, where=f"{path}: spec", check_scenario=False)
    # A sweep over the posterior: the spec as it was made, with the file's hash it recorded
    # (a changed posterior then makes a different spec, and the store refuses it).
    import dataclasses

    spec = spec_from_dict({**table, "posterior": 0}, where=f"{path}: spec",
                          check_scenario=False)  # fmt: skip
    sha = d.get("posterior_sha")
    if not isinstance(sha, str):
        raise UserError(f"{path}: spec.posterior_sha: missing; allowed: the hash em-abm wrote")
    return dataclasses.replace(spec, posterior=int(table["posterior"]), posterior_sha=sha)


def stored_runs(
    out: str | os.PathLike, spec: Spec | None = None, design: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every stored row, one per run (a run stored twice keeps its successful row); each file
    is checked against the design (see the module docstring)."""
    out = Path(out)
    spec = spec_of(out) if spec is None else spec
    design = run_table(spec) if design is None else design
    runs = out / RUNS
    parts = sorted(p for p in runs.iterdir() if _PART.fullmatch(p.name)) if runs.is_dir() else []
    if (out / RESULTS).exists():  # a finished sweep kept without its parts
        parts.insert(0, out / RESULTS)
    if not parts:
        return pd.DataFrame(columns=["run_id", "status"])
    df = pd.concat([_read_part(p, spec, design) for p in parts], ignore_index=True)
    df["_ok"] = df["status"] == STATUS_OK
    df = df.sort_values(["run_id", "_ok"], kind="stable").drop_duplicates("run_id", keep="last")
    return df.drop(columns="_ok").sort_values("run_id").reset_index(drop=True)


def _read_part(path: Path, spec: Spec, design: pd.DataFrame) -> pd.DataFrame:
    """A part (or results) file, refused unless every row is a run of ``design`` with the
    design's values."""
    import pyarrow as pa

    files.check_input(path, "sweep part", limit=files.TABLE_LIMIT)
    fix = "allowed: a file this sweep wrote: delete it and run the sweep again to redo its runs"
    try:
        df = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as e:
        raise UserError(f"{path}: cannot read ({str(e).splitlines()[0]}); {fix}") from None
    missing = [c for c in (*design.columns, "status", *spec.output_columns) if c not in df]
    if missing:
        raise UserError(f"{path}: no column {missing[0]!r}; {fix}")
    bad = [c for c in spec.output_columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise UserError(f"{path}: output {bad[0]!r} holds {df[bad[0]].dtype} values; {fix}")
    ids = df["run_id"]
    if not pd.api.types.is_integer_dtype(ids):
        raise UserError(f"{path}: run_id holds {ids.dtype} values, not run numbers; {fix}")
    outside = np.flatnonzero((ids < 0) | (ids >= len(design)))
    status = np.flatnonzero(~df["status"].isin([STATUS_OK, STATUS_ERROR]))
    if len(outside) or len(status):
        i = outside[0] if len(outside) else status[0]
        what = "is not a run of this sweep" if len(outside) else "has a status not ok or error"
        raise UserError(f"{path}: run {ids.iloc[i]} {what}; {fix}")
    expected = design.iloc[ids.to_numpy()]  # a design's run_id is its row
    integers = set(integer_factors(spec))
    for col in design.columns[1:]:
        got, want = df[col].to_numpy(dtype=object), expected[col].to_numpy(dtype=object)
        try:
            if col in integers and pd.api.types.is_numeric_dtype(df[col]):
                # As run: a store written before issue 2.6 holds the design's sampled value
                # (534.0115) of a run that used its integer (534).
                same = np.round(df[col].to_numpy(dtype=float)) == want.astype(float)
            else:
                same = np.asarray(got == want, dtype=bool)
        except (ValueError, TypeError):  # cells that do not compare (lists)
            same = np.zeros(len(got), dtype=bool)
        if not same.all():
            i = np.flatnonzero(~same)[0]
            raise UserError(
                f"{path}: run {ids.iloc[i]}: {col} is {got[i]!r}, the design's {want[i]!r}; {fix}"
            )
        if col in integers:
            df[col] = expected[col].to_numpy()  # the integers run
    return df


def _next_part(out: Path) -> Iterator[Path]:
    runs = Path(out) / RUNS
    names = (_PART.fullmatch(p.name) for p in runs.iterdir()) if runs.is_dir() else ()
    n = max((int(m.group(1)) for m in names if m), default=0)
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
    with _io(path):
        write_atomic(path, lambda p: df.to_parquet(p, index=False))
    rows.clear()


def _watch_parent(parent: int) -> None:
    """A loky worker's initializer: end the worker when the sweep process ``parent`` that
    started it dies (the worker's parent is then another). Loky's workers otherwise outlive a
    ``kill -9`` of the sweep by their idle timeout (300 s), and keep loky's resource trackers
    alive with them: those end when the last process holding their pipe does. ``parent`` is
    passed, not read here, so that a sweep killed while the worker starts is noticed too."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="em-abm-watch-parent", daemon=True).start()


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


def check_backend(backend: str, scheduler: str | None) -> None:
    """Refuse, in one line, a backend em-abm has no pool for, or a scheduler without dask."""
    if backend not in BACKENDS:
        raise UserError(f"--backend: got {backend!r}; allowed: {', '.join(BACKENDS)}")
    if scheduler and backend != "dask":
        raise UserError("--scheduler: allowed only with --backend dask")


@contextlib.contextmanager
def pool(backend: str, jobs: int, scheduler: str | None):
    """joblib's configuration for ``backend``: the pool every ``joblib.Parallel`` inside
    uses; dask connects to (or starts, with ``jobs`` workers) a cluster."""
    from joblib import parallel_config

    if backend == "loky":
        with parallel_config(backend="loky", n_jobs=jobs, initializer=_watch_parent,
                             initargs=(os.getpid(),)):  # fmt: skip
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
    check_backend(backend, scheduler)
    check_size(spec)  # a spec made in code, not read by spec_from_dict
    shown, out = Path(out), files.resolve_out(out, "--out")
    t0 = time.perf_counter()
    if scheduler:  # a wrong address is found before anything is written
        connect(scheduler).close()
    root = None
    if is_em(spec.model):
        runner(spec.model, "model")  # an import path that fails is one line, before any run
        from em_abm.extension import import_root

        root = import_root(spec.model)
        from em_abm.model import days_for_years
        from em_abm.scenario import load

        warn_past_window(load(spec.scenario), days_for_years(spec.years))
    with files.locked(out, "--out"):  # one sweep at a time writes a folder
        open_store(out, spec)
        design = run_table(spec)
        done = stored_runs(out, spec, design)
        finished = set(done["run_id"][done["status"] == STATUS_OK] if retry_failed
                       else done["run_id"])  # fmt: skip
        todo = design[~design["run_id"].isin(finished)]
        rows: list[dict] = []
        parts = _next_part(out)
        failed = int((done["status"] == STATUS_ERROR).sum()) if not retry_failed else 0
        ran = 0
        bar = None
        if progress and len(todo):
            from tqdm import tqdm

            bar = tqdm(total=len(design), initial=len(design) - len(todo), unit="run",
                       desc=spec.name)  # fmt: skip
            bar.set_postfix(failed=failed)
        if len(todo):
            from joblib import Parallel, delayed

            chunk = 10_000  # rows made into tasks as they are needed, not all at once
            records = (r for i in range(0, len(todo), chunk)
                       for r in todo.iloc[i : i + chunk].to_dict("records"))  # fmt: skip
            last = time.monotonic()
            try:
                with pool(backend, jobs, scheduler), warnings.catch_warnings():
                    # loky restarts a worker whose memory grew (a large run does) and warns;
                    # the restart is harmless and the run is not lost.
                    warnings.filterwarnings("ignore", "A worker stopped", UserWarning)
                    it = Parallel(return_as="generator_unordered")(
                        delayed(run_one)(spec, r, root) for r in records
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
        table = stored_runs(out, spec, design)
        with _io(out / RESULTS):
            write_atomic(out / RESULTS, lambda p: write_results(table, p, spec))
    return SweepSummary(shown, len(design), len(design) - len(todo), ran, failed,
                        time.perf_counter() - t0)  # fmt: skip


def results(out: str | os.PathLike) -> pd.DataFrame:
    """The stored runs of a sweep, one row per run, in run order."""
    return stored_runs(out)


_RUN_COLUMNS = {
    "run_id": ("-", "run number: the run's row of the design"),
    "point": ("-", "design point (the runs of one point differ only in seed)"),
    "replicate": ("-", "replicate number at the design point"),
    "seed": ("-", "random seed of the run"),
    "sample": ("-", "number of the sampled condition (crossed factors' levels share it)"),
    "posterior_set": ("-", "calibrated parameter set the run used (replicate mod K)"),
    "status": ("-", "ok, or error (the run raised; see error and traceback)"),
    "error": ("-", "the error of a failed run"),
    "traceback": ("-", "the end of a failed run's traceback"),
    "wall_time_s": ("s", "wall time of the run"),
}


def column_info(spec: Spec) -> dict[str, tuple[str, str]]:
    """(unit, description) of each column of the sweep's run table: the run's own columns,
    the factors (the parameter registry's unit and description) and the outputs (the metrics';
    per England and Wales for the em-abm model, see :func:`manifest_for`)."""
    from em_abm.metrics import describe_summary

    out = dict(_RUN_COLUMNS)
    em = spec.model == "em_abm"
    for f in spec.factors:
        if f.levels is not None:
            out[f.name] = ("-", f"named level of {f.name} (its parameter values: manifest.json)")
        elif em and f.name in P.PARAMS:
            out[f.name] = (P.PARAMS[f.name].unit or "-", P.PARAMS[f.name].description)
        else:
            out[f.name] = ("-", f"input {f.name} of model {spec.model}")
    for o in spec.outputs:
        unit, text = (describe_summary(o) if em else None) or ("-", f"output {o}")
        out[o] = (unit, text)
        for h in spec.horizons:
            out[f"{o}@{h:g}y"] = (unit, f"{text}; over the first {h:g} years")
    return out


def write_results(table: pd.DataFrame, path: Path, spec: Spec) -> None:
    """The run table as Parquet, each column's unit and description in its field's metadata
    and what the counts are (``em_abm.counts``) in the schema's (read them back with
    :func:`em_abm.results.units` or :func:`em_abm.results.describe`)."""
    from em_abm import results as R
    from em_abm.metrics import scale_label

    meta = {R.SCALE: f"{spec.scale:g}"}
    if spec.model == "em_abm":  # as the manifest says
        meta[R.COUNTS] = scale_label(spec.scale, equivalent=True)
    R.write_parquet(table, path, column_info(spec), meta)
