"""em-abm as an EMA Workbench model: uncertainties, levers and outcomes named from the registry.

:func:`model` builds an ``ema_workbench`` model from the parameter registry
(:data:`em_abm.params.PARAMS`) and the declared metrics (:mod:`em_abm.metrics`)::

    from ema_workbench import SequentialEvaluator
    from em_abm import ema

    m = ema.model(
        uncertainties=["field.officers", ("orders.error_rate", 0.1, 0.3)],
        levers={"policy.visit_queue": {"values": ["fcfs", "risk_first"]}},
        outcomes=["outstanding_visits", "cost_total_gbp.total"],
        years=1.0, scale=0.1,
    )
    with SequentialEvaluator(m) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(scenarios=16, policies=2)
    experiments, outcomes = ema.dotted_names(experiments), ema.dotted_names(outcomes)

**Inputs.** Uncertainties and levers are given as a list of names (the registry's bounds or
choices) and ``(name, low, high)`` tuples (a narrower range), or as a dict like a sweep's
``[vary]`` table: ``name: []`` (the registry's bounds), ``name: [low, high]`` or
``name: {"values": [...]}`` (explicit values, a categorical parameter). Float parameters
become ``RealParameter``, integer ones ``IntegerParameter`` (passed to em-abm as ``int``),
choices ``CategoricalParameter`` and true/false ones ``BooleanParameter``. ``constants`` sets
parameters for every run. A parameter is set in one place only, and a share of a group that
must sum to one (:func:`em_abm.params.groups`) cannot be sampled, since it would move alone.

**Names.** EMA wants Python identifiers and em-abm's names are dotted: every parameter and
outcome is named with each ``.`` replaced by ``__`` (``field.officers`` -> ``field__officers``,
``cost_total_gbp.total`` -> ``cost_total_gbp__total``; no registry name contains ``__``, so
the mapping is reversible). :func:`to_dotted` and :func:`dotted_names` map names, experiment
tables and outcome dicts back.

**Outcomes** are scalars of a run's flattened summary (:func:`em_abm.metrics.summary_keys`),
reported as England-and-Wales equivalents: counts, person-days and money are divided by the
run's scale (:func:`em_abm.metrics.scales_with_population`); shares, rates and durations are
not. :func:`describe` lists each input's range and each outcome's unit.

**Seeds and common random numbers.** Replication *r* runs with seed *r* of
``em_abm.compare.seeds_for(root_seed, replications)``, the same in every scenario and policy,
so differences between policies (and between scenarios) are paired: they compare the same
simulated people. With one replication the model is an EMA ``Model`` (its seed is the
constant ``seed``); with more, a ``ReplicatorModel`` whose outcomes are arrays with one column
per replication, in the order of the seeds (or, with ``aggregate=np.mean``, their mean).
A run depends only on its values and seed: the same experiment gives the same outcomes, bit
for bit, whichever evaluator runs it.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import em_abm
from em_abm import limits
from em_abm import params as P
from em_abm import scenario as sc
from em_abm.errors import UserError, check_known

SEP = "__"  # stands for "." in EMA names
SEED = "seed"  # the keyword that carries a replication's seed to the run
DEFAULT_ROOT_SEED = 20260101
PARAM_ALLOWED = "a name from `em-abm params`"
SPEC_ALLOWED = "[] (the registry's bounds), [low, high] or {'values': [...]}"
_SET_BY_ADAPTER = ("scenario", "seed", "years", "scale", "overrides")

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="ipyparallel not installed", category=UserWarning)
    import ema_workbench as ew


# ---------------------------------------------------------------------------- names
def to_identifier(name: str) -> str:
    """``field.officers`` -> ``field__officers`` (the name EMA sees)."""
    return name.replace(".", SEP)


def to_dotted(name: str) -> str:
    """``field__officers`` -> ``field.officers`` (the inverse of :func:`to_identifier`)."""
    return name.replace(SEP, ".")


def dotted_names(results: pd.DataFrame | Mapping[str, Any]) -> pd.DataFrame | dict[str, Any]:
    """The experiments table (its columns) or the outcomes dict (its keys) with em-abm's
    dotted names; EMA's own columns (``scenario``, ``policy``, ``model``) are unchanged."""
    if isinstance(results, pd.DataFrame):
        return results.rename(columns=to_dotted)
    return {to_dotted(k): v for k, v in results.items()}


# ---------------------------------------------------------------------------- the run
@dataclass(frozen=True)
class Runner:
    """The function EMA calls: keyword values by EMA name (and ``seed``) -> outcomes by EMA
    name. One :func:`em_abm.run`, its summary flattened, counts divided by the scale."""

    scenario: sc.Scenario
    years: float
    scale: float
    outcomes: tuple[str, ...]
    run_kwargs: dict[str, Any] = field(default_factory=dict)

    def overrides(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """EMA's values (sampled as numpy types) as the Python types the registry wants."""
        cast = {"int": _whole, "float": float, "bool": bool, "choice": str}
        return {to_dotted(k): cast[P.PARAMS[to_dotted(k)].kind](v) for k, v in values.items()}

    def __call__(self, **values: Any) -> dict[str, float]:
        from em_abm.metrics import per_england_and_wales
        from em_abm.results import flatten

        seed = int(values.pop(SEED))
        with sc.window_warned_by_caller():  # model() warned once
            res = em_abm.run(self.scenario, seed=seed, years=self.years, scale=self.scale,
                             overrides=self.overrides(values), **self.run_kwargs)  # fmt: skip
        flat = flatten(res.summary)
        return {
            to_identifier(o): per_england_and_wales(o, flat[o], self.scale) for o in self.outcomes
        }


def _whole(x: Any) -> int:
    """An integer parameter's value as an ``int`` (EMA samples numpy integers)."""
    if float(x) != int(x):
        raise UserError(f"got {x!r} for an integer parameter; allowed: a whole number")
    return int(x)


# ---------------------------------------------------------------------------- the model
def model(
    name: str = "em_abm",
    *,
    scenario: str | sc.Scenario = "baseline_2026",
    years: float = 1.0,
    scale: float = 0.1,
    uncertainties: Sequence | Mapping = (),
    levers: Sequence | Mapping = (),
    outcomes: Sequence[str] | None = None,
    constants: Mapping[str, Any] | None = None,
    replications: int | Sequence[int] = 1,
    root_seed: int = DEFAULT_ROOT_SEED,
    aggregate: Callable | None = None,
    run_kwargs: Mapping[str, Any] | None = None,
) -> ew.Model | ew.ReplicatorModel:
    """An EMA Workbench model of ``scenario`` run for ``years`` at ``scale``.

    ``uncertainties`` and ``levers``: see the module's docstring. ``outcomes``: summary
    names (default: :data:`em_abm.compare.KEY_METRICS`). ``replications``: a number of seeds
    spawned from ``root_seed``, or the seeds themselves. ``aggregate`` reduces the
    replications of each outcome to one value (``np.mean``); without it, every replication
    is kept. ``run_kwargs`` are passed to :func:`em_abm.run` as given (``components``, or
    any keyword it takes besides the scenario, seed, years, scale and overrides).
    A mistake raises :class:`~em_abm.errors.UserError` with one line naming the field.
    """
    from em_abm.compare import KEY_METRICS, seeds_for
    from em_abm.metrics import SUMMARY_NAMES_ALLOWED, summary_keys
    from em_abm.model import days_for_years

    if not isinstance(name, str) or not name.isidentifier():
        raise UserError(f"name: got {name!r}; allowed: a Python identifier, e.g. em_abm")
    if not limits.years_ok(years):
        raise UserError(f"years: got {years!r}; allowed: {limits.YEARS_ALLOWED}")
    if not limits.scale_ok(scale):
        raise UserError(f"scale: got {scale!r}; allowed: {limits.SCALE_ALLOWED}")
    seeds = _seeds(replications, root_seed, seeds_for)
    extra = _run_kwargs(run_kwargs)
    if constants is not None and not isinstance(constants, Mapping):
        raise UserError(f"constants: got {constants!r}; allowed: a dict of parameter names and "
                        "values, e.g. {'field.officers': 400}")  # fmt: skip
    fixed = dict(constants or {})
    for n in fixed:
        check_known(n, P.PARAMS, where="constants", what="parameter", allowed=PARAM_ALLOWED)
    base = sc.load(scenario)
    fixed = P.validate(fixed, prefix="constants.")
    try:
        base.with_overrides(fixed, where="constants.")  # share groups still sum to one
    except UserError as e:
        raise UserError(f"{e}; allowed: values that keep every share group summing to 1 (set "
                        "all of a group's shares together)") from None  # fmt: skip
    sc.warn_past_window(base, days_for_years(years))
    outs = tuple(KEY_METRICS if outcomes is None else _names(outcomes, "outcomes"))
    known = summary_keys()
    for i, o in enumerate(outs):
        check_known(o, known, where="outcomes", what="output", allowed=SUMMARY_NAMES_ALLOWED)
        if o in outs[:i]:
            raise UserError(f"outcomes: {o} given twice; allowed: each outcome once")

    unc = _parameters(uncertainties, "uncertainties")
    lev = _parameters(levers, "levers")
    _check_set_once({"constants": list(fixed), "uncertainties": unc, "levers": lev})

    runner = Runner(base, float(years), float(scale), outs, extra)
    if len(seeds) == 1:
        m = ew.Model(name, function=runner)
        m.outcomes = [_outcome(ew.ScalarOutcome, o) for o in outs]
    else:
        m = ew.ReplicatorModel(name, function=runner)
        m.replications = [{SEED: s} for s in seeds]
        m.outcomes = [
            _outcome(ew.ArrayOutcome, o)
            if aggregate is None
            else _outcome(ew.ScalarOutcome, o, function=aggregate)
            for o in outs
        ]
    fixed_seed = [ew.Constant(SEED, seeds[0])] if len(seeds) == 1 else []
    m.constants = [*fixed_seed, *(ew.Constant(to_identifier(k), v) for k, v in fixed.items())]
    m.uncertainties = list(unc.values())
    m.levers = list(lev.values())
    return m


def _outcome(cls: type, name: str, **kw: Any) -> ew.em_framework.outcomes.Outcome:
    """``cls`` named for the summary metric ``name``. EMA records one outcome class per name
    for the whole process (for ``save_results``) and refuses another: a model with one seed or
    an ``aggregate`` (scalars) and one with several (arrays) may name the same metric, so the
    record is replaced by the newest model's class."""
    from ema_workbench.em_framework.outcomes import register

    ident = to_identifier(name)
    if register.outcomes.get(ident, cls) is not cls:
        del register.outcomes[ident]
    return cls(ident, **kw)


def _seeds(replications: Any, root_seed: Any, seeds_for: Callable) -> list[int]:
    def seed_ok(x: Any) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and x >= 0

    if isinstance(replications, int) and not isinstance(replications, bool):
        if not 1 <= replications <= 10_000:
            raise UserError(f"replications: got {replications!r}; allowed: a number from 1 "
                            "to 10000, or a list of seeds")  # fmt: skip
        if not seed_ok(root_seed):
            raise UserError(f"root_seed: got {root_seed!r}; allowed: a non-negative integer")
        return seeds_for(root_seed, replications)
    seeds = list(replications) if isinstance(replications, Sequence) else None
    if not seeds or not all(map(seed_ok, seeds)) or len(set(seeds)) < len(seeds):
        raise UserError(f"replications: got {replications!r}; allowed: a number of seeds, or a "
                        "list of distinct non-negative integer seeds")  # fmt: skip
    return seeds


def _run_kwargs(run_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """The keywords of :func:`em_abm.run` besides the ones the adapter sets itself."""
    extra = dict(run_kwargs or {})
    accepted = [k for k in inspect.signature(em_abm.run).parameters if k not in _SET_BY_ADAPTER]
    for k in extra:
        if k in _SET_BY_ADAPTER:
            raise UserError(f"run_kwargs: {k!r} is set by the adapter; allowed: "
                            f"{', '.join(accepted)}")  # fmt: skip
        check_known(k, accepted, where="run_kwargs", what="keyword", allowed=", ".join(accepted))
    if extra.get("model") is not None:  # an extended model: found now, not in each run
        from em_abm import extension

        extension.resolve(extra["model"], where="run_kwargs['model']")
    return extra


def _names(items: Any, where: str) -> list[str]:
    if isinstance(items, str) or not isinstance(items, Sequence):
        raise UserError(f"{where}: got {items!r}; allowed: a list of names")
    for x in items:
        if not isinstance(x, str):
            raise UserError(f"{where}: got {x!r}; allowed: names (strings)")
    return list(items)


def _parameters(spec: Sequence | Mapping, where: str) -> dict[str, ew.Parameter]:
    """Uncertainties or levers, by dotted name, from a list of names and ``(name, low, high)``
    tuples or a dict of name -> ``[]``, ``[low, high]`` or ``{"values": [...]}``."""
    if isinstance(spec, Mapping):
        items = list(spec.items())
    elif isinstance(spec, Sequence) and not isinstance(spec, str):
        items = []
        for x in spec:
            if isinstance(x, str):
                items.append((x, []))
            elif isinstance(x, tuple) and len(x) == 3 and isinstance(x[0], str):
                items.append((x[0], [x[1], x[2]]))
            else:
                raise UserError(f"{where}: got {x!r}; allowed: a name or (name, low, high)")
    else:
        raise UserError(f"{where}: got {spec!r}; allowed: a list of names and (name, low, high), "
                        f"or a dict of name -> {SPEC_ALLOWED}")  # fmt: skip
    out: dict[str, ew.Parameter] = {}
    for n, rng in items:
        if not isinstance(n, str):
            raise UserError(f"{where}: got {n!r}; allowed: parameter names (strings)")
        check_known(n, P.PARAMS, where=where, what="parameter", allowed=PARAM_ALLOWED)
        if n in out:
            raise UserError(f"{where}: {n} given twice; allowed: each parameter once")
        out[n] = _parameter(P.PARAMS[n], rng, f"{where}: {n}")
    return out


def _parameter(p: P.Param, rng: Any, where: str) -> ew.Parameter:
    ident = to_identifier(p.name)
    group = next((g for g, names in P.groups().items() if p.name in names), None)
    if group:
        raise UserError(f"{where}: a share of {group}, whose shares must sum to 1, would move "
                        f"alone; allowed: parameters outside share groups (set {group}'s "
                        "shares together in constants)")  # fmt: skip
    if isinstance(rng, Mapping):
        values = rng.get("values")
        if set(rng) != {"values"} or not isinstance(values, Sequence) or isinstance(values, str):
            raise UserError(f"{where}: got {rng!r}; allowed: {SPEC_ALLOWED}")
        values = [p.validate(v.item() if hasattr(v, "item") else v, where=where) for v in values]
        if len(set(values)) < 2 or len(set(values)) < len(values):
            raise UserError(f"{where}: got {rng['values']!r}; allowed: two or more distinct "
                            f"values, each {p.allowed}")  # fmt: skip
        return ew.CategoricalParameter(ident, values)
    if rng is None:
        rng = []
    if p.kind in ("bool", "choice"):
        if not (isinstance(rng, Sequence) and len(rng) == 0):
            raise UserError(f"{where}: got {rng!r}; allowed: [] or {{'values': [...]}} "
                            f"({p.allowed})")  # fmt: skip
        if p.kind == "bool":
            return ew.BooleanParameter(ident)
        if len(p.choices) < 2:
            raise UserError(f"{where}: has one choice ({p.choices[0]!r}); allowed: parameters "
                            "with two or more values")  # fmt: skip
        return ew.CategoricalParameter(ident, list(p.choices))
    if not isinstance(rng, Sequence) or isinstance(rng, str) or len(rng) not in (0, 2):
        raise UserError(f"{where}: got {rng!r}; allowed: {SPEC_ALLOWED}")
    lo, hi = (p.lower, p.upper) if len(rng) == 0 else rng
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (lo, hi))
    whole = p.kind != "int" or (numbers and float(lo).is_integer() and float(hi).is_integer())
    if not (numbers and whole and math.isfinite(lo) and math.isfinite(hi)
            and p.lower <= lo < hi <= p.upper):  # fmt: skip
        what = "integers" if p.kind == "int" else "numbers"
        raise UserError(f"{where}: got [{lo}, {hi}]; allowed: {what} low < high, each "
                        f"{p.allowed}")  # fmt: skip
    if p.kind == "int":
        return ew.IntegerParameter(ident, int(lo), int(hi))
    return ew.RealParameter(ident, float(lo), float(hi))


def _check_set_once(places: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for place, names in places.items():
        for n in names:
            if n in seen:
                raise UserError(f"{place}: {n} is also in {seen[n]}; allowed: each parameter "
                                "in one place (constants, uncertainties or levers)")  # fmt: skip
            seen[n] = place


# ---------------------------------------------------------------------------- description
def describe(m: ew.Model | ew.ReplicatorModel) -> pd.DataFrame:
    """One row per input and outcome of a model from :func:`model`: its role, dotted name,
    EMA name, range or values, unit and description. Outcomes' units are those of the run
    summary (flows summed over the run); ``per_england_and_wales`` marks the outcomes divided
    by the scale."""
    from em_abm.metrics import BY_NAME, scales_with_population, summary_keys

    rows = []
    for role, params in (("uncertainty", m.uncertainties), ("lever", m.levers)):
        for par in params:
            p = P.PARAMS[to_dotted(par.name)]
            if isinstance(par, ew.CategoricalParameter):
                values = [c.value for c in par.categories]
            else:
                values = [par.lower_bound, par.upper_bound]
            rows.append((role, p.name, par.name, values, p.unit, p.description, False))
    for c in m.constants:
        if c.name != SEED:
            p = P.PARAMS[to_dotted(c.name)]
            rows.append(("constant", p.name, c.name, [c.value], p.unit, p.description, False))
    keys = summary_keys()
    for o in m.outcomes:
        n = to_dotted(o.name)
        metric = label = keys[n]
        if metric.kind == "composite":  # the unit of its part's first metric
            metric = BY_NAME[dict(metric.parts)[n.split(".", 1)[1]][0]]
        unit = metric.unit.removesuffix("/day") if metric.kind == "flow" else metric.unit
        text = f"{label.label}: {n.split('.', 1)[1]}" if label.kind == "composite" else label.label
        rows.append(("outcome", n, o.name, None, unit, text, scales_with_population(n)))
    cols = ["role", "name", "ema_name", "values", "unit", "description", "per_england_and_wales"]
    return pd.DataFrame(rows, columns=cols)


__all__ = ["Runner", "describe", "dotted_names", "model", "to_dotted", "to_identifier"]
