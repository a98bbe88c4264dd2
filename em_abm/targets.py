"""Calibration targets and validation checks: evaluate the model against published figures.

``calibration/targets.toml`` lists each figure with its source, its tolerance and its role:
"input", a figure one parameter is set to reproduce (an identity: shown, but no evidence that
the model works); "target", a figure the calibration fits that tests how the parts work
together; "check", a figure reproduced without tuning (validation, never in the objective).
A check can be a difference between two scenarios run on the same seeds (``minus``), and a
series read as a yearly total over its window (``stat = "annual"``). :func:`evaluate`
runs every scenario the file names over K seeds (joblib) and returns, for each row, the
model's median and 90% interval across seeds and a verdict: the median within tolerance.

Model values are per England and Wales: counts that scale with the population are divided
by the run's scale.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from pydantic import BaseModel, ConfigDict, Field

from em_abm import limits
from em_abm.errors import UserError, check_known, check_schema
from em_abm.files import read_toml
from em_abm.metrics import scales_with_population
from em_abm.scenario import available

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "calibration" / "targets.toml"
HMPPS_FILE = DEFAULT_FILE.parent / "hmpps_caseload.csv"
# The backlog figures the NAO reports for the 2024 transition (key facts, para 9), to draw.
NAO_BACKLOG = [
    ("2024-05-15", 1200, "NAO: about 1,200 (May 2024)"),
    ("2024-10-15", 7000, "NAO: peak of 7,000 (October 2024)"),
]


@dataclass(frozen=True)
class Target:
    name: str
    role: str
    scenario: str
    source: str
    lower: float
    upper: float
    value: float | None = None
    metric: str = ""
    series: str = ""
    window: tuple[dt.date, dt.date] | None = None
    stat: str = "mean"
    years: float = 3.0
    per_year: bool = False
    note: str = ""  # why the figure is a check, or how to read the comparison
    parameter: str = ""  # an input's parameter: the one it is an identity of
    minus: str = ""  # a check of a difference: this scenario minus that one, same seeds
    # Parameter values both runs use (a check of what a published estimate assumes), as sorted
    # (name, value) pairs.
    overrides: tuple[tuple[str, Any], ...] = ()

    @property
    def runs(self) -> tuple[tuple[str, float, tuple], ...]:
        """The (scenario, years, overrides) runs this figure reads: one, or two for a
        difference."""
        own = ((self.scenario, self.years, self.overrides),)
        return own + (((self.minus, self.years, self.overrides),) if self.minus else ())

    @property
    def run(self) -> tuple[str, float, tuple]:
        return self.runs[0]

    @property
    def reference_run(self) -> tuple[str, float, tuple] | None:
        return self.runs[1] if self.minus else None

    def measure(self, result, reference=None) -> float:
        """This target's quantity in one run, per England and Wales (for a difference, minus
        its value in ``reference``, the ``minus`` scenario's run on the same seed)."""
        value = self._measure(result)
        if self.minus:
            if reference is None:
                raise ValueError(f"{self.name}: a difference needs the {self.minus} run")
            value -= self._measure(reference)
        return value

    def _measure(self, result) -> float:
        scale = result.summary["scale"]
        if self.series:
            ts = result.timeseries.set_index("date")[self.series]
            ts = ts[str(self.window[0]) : str(self.window[1])]
            if self.stat == "annual":
                days = (self.window[1] - self.window[0]).days + 1
                value = float(ts.sum()) * 365.25 / days
            else:
                value = float(ts.max() if self.stat == "max" else ts.mean())
            return value / scale if scales_with_population(self.series) else value
        if self.metric.startswith("share:"):
            num, den = self.metric[len("share:") :].split("/")
            den = _lookup(result.summary, den)  # none of the denominator: undefined, not an error
            return _lookup(result.summary, num) / den if den else float("nan")
        value = _lookup(result.summary, self.metric)
        if self.per_year:
            value /= result.summary["years"]
        return value / scale if scales_with_population(self.metric) else value


def _check_names(row: _Row, where: str) -> None:
    """A row's metric (or both names of a ``share:a/b``) must be a summary scalar, and its
    series a daily column: checked when the file is read, before any run."""
    from em_abm.metrics import (
        SERIES_NAMES_ALLOWED,
        SUMMARY_NAMES_ALLOWED,
        series_names,
        summary_keys,
    )

    if row.series:
        check_known(row.series, series_names(), where=f"{where}.series",
                    allowed=SERIES_NAMES_ALLOWED)  # fmt: skip
        return
    names = [row.metric]
    if row.metric.startswith("share:"):
        names = row.metric[len("share:") :].split("/")
        if len(names) != 2:
            raise UserError(
                f"{where}.metric: got {row.metric!r}; allowed: share:NUMERATOR/DENOMINATOR"
            )
    known = summary_keys(aliases=True)  # the older names too: the targets file uses some
    for name in names:
        check_known(name, known, where=f"{where}.metric", allowed=SUMMARY_NAMES_ALLOWED)


def _lookup(summary: dict, name: str) -> float:
    """A flat summary name's value (an older alias too: see :mod:`em_abm.metrics`)."""
    from em_abm.results import flatten

    flat = flatten(summary)
    if name not in flat:
        raise UserError(f"targets: metric {name!r} is not in the summary")
    return flat[name]


Number = Annotated[float, Field(allow_inf_nan=False)]


class _Row(BaseModel):
    """One ``[[target]]`` row of the targets file, as written (checked before use)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: str
    role: Literal["input", "target", "check"]
    scenario: str
    source: str
    years: Annotated[Number, Field(ge=limits.MIN_YEARS, le=limits.MAX_YEARS)] = 3.0
    metric: str = ""
    series: str = ""
    window: Annotated[list[dt.date], Field(min_length=2, max_length=2)] | None = None
    stat: Literal["mean", "max", "annual"] = "mean"
    value: Number | None = None
    tol: Annotated[Number, Field(ge=0)] | None = None
    lower: Number | None = None
    upper: Number | None = None
    per_year: bool = False
    note: str = ""
    parameter: str = ""
    minus: str = ""
    overrides: dict[str, Any] = {}


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    target: list[_Row] = Field(min_length=1)


def load(path: str | Path = DEFAULT_FILE) -> list[Target]:
    path = Path(path)
    rows = check_schema(_File, read_toml(path, "targets"), str(path)).target
    out = []
    for i, row in enumerate(rows):
        where = f"{path}: target.{i}"
        if row.scenario not in available():
            raise UserError(
                f"{where}.scenario: got {row.scenario!r}; allowed: {', '.join(available())}"
            )
        if bool(row.metric) == bool(row.series):
            raise UserError(f"{where}: give exactly one of metric and series")
        if row.minus and row.minus not in available():
            raise UserError(f"{where}.minus: got {row.minus!r}; allowed: {', '.join(available())}")
        if row.minus and row.role != "check":
            raise UserError(
                f"{where}.minus: a difference of scenarios is for checks only (role = "
                f"{row.role!r}); allowed: role = 'check'"
            )
        if row.role == "input" and not row.parameter:
            raise UserError(
                f"{where}.parameter: missing; an input names the parameter it is an identity of"
            )
        if row.overrides:
            from em_abm import params as P

            if row.role != "check":
                raise UserError(
                    f"{where}.overrides: parameter values of its own are for checks only; "
                    "allowed: role = 'check'"
                )
            P.validate(row.overrides, prefix=f"{where}.overrides.")
        if row.parameter:
            from em_abm import params as P

            check_known(row.parameter, P.PARAMS, where=f"{where}.parameter",
                        allowed="a parameter name (em-abm params)")  # fmt: skip
        _check_names(row, where)
        if row.series and row.window is None:
            raise UserError(f"{where}.window: missing; a series target needs [start, end]")
        if row.tol is not None:
            if row.value is None:
                raise UserError(f"{where}.tol: needs a value")
            lower, upper = row.value - row.tol, row.value + row.tol
        else:
            lower = -np.inf if row.lower is None else row.lower
            upper = np.inf if row.upper is None else row.upper
        if not lower <= upper:
            raise UserError(
                f"{where}: got lower {lower:g} > upper {upper:g}; allowed: lower <= upper"
            )
        out.append(Target(
            name=row.name, role=row.role, scenario=row.scenario, source=row.source,
            lower=float(lower), upper=float(upper), value=row.value, metric=row.metric,
            series=row.series, window=tuple(row.window) if row.window else None,
            stat=row.stat, years=row.years, per_year=row.per_year, note=row.note,
            parameter=row.parameter, minus=row.minus,
            overrides=tuple(sorted(row.overrides.items())),
        ))  # fmt: skip
    return out


def named(name: str, path: str | Path = DEFAULT_FILE) -> Target:
    """The row called ``name`` (its tolerance and source), for code that compares with a
    published figure rather than typing it again."""
    for t in load(path):
        if t.name == name:
            return t
    raise KeyError(f"{path}: no row named {name!r}")


def value(metric: str, path: str | Path = DEFAULT_FILE) -> float:
    """The published figure the targets file gives for ``metric`` (its first row naming it),
    so that code needing a target (a benchmark's population, a test) reads the one declared
    value with its source rather than typing it again."""
    for t in load(path):
        if t.metric == metric and t.value is not None:
            return t.value
    raise KeyError(f"{path}: no target with a value for metric {metric!r}")


def _run(scenario: str, years: float, overrides: tuple, seed: int, scale: float):
    from em_abm.results import run_model
    from em_abm.scenario import window_warned_by_caller

    # Each figure is read inside its scenario's window, or is a projection by design (the
    # Sentencing Act's): no warning.
    with window_warned_by_caller():
        return run_model(scenario, seed=seed, years=years, scale=scale,
                         overrides=dict(overrides))  # fmt: skip


def evaluate(
    targets: list[Target], *, seeds: list[int], scale: float, jobs: int = 1
) -> pd.DataFrame:
    """Median and 90% interval across seeds of every target's model value, with a verdict."""
    runs = sorted({run for t in targets for run in t.runs}, key=repr)
    tasks = [(run, s) for run in runs for s in seeds]
    results = Parallel(n_jobs=jobs)(delayed(_run)(*run, s, scale) for run, s in tasks)
    by_run: dict[tuple, list[Any]] = {}
    for (run, _), res in zip(tasks, results, strict=True):
        by_run.setdefault(run, []).append(res)
    rows = []
    for t in targets:
        refs = by_run[t.reference_run] if t.minus else [None] * len(seeds)
        pairs = zip(by_run[t.run], refs, strict=True)
        values = np.array([t.measure(r, ref) for r, ref in pairs])
        median = float(np.median(values))
        p05, p95 = np.quantile(values, [0.05, 0.95])
        rows.append({
            "name": t.name, "role": t.role, "scenario": t.scenario, "target": _describe(t),
            "model_median": median, "model_p05": float(p05), "model_p95": float(p95),
            "pass": bool(t.lower <= median <= t.upper), "source": t.source, "note": t.note,
        })  # fmt: skip
    return pd.DataFrame(rows)


def _f(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _describe(t: Target) -> str:
    if t.value is not None and np.isfinite(t.lower) and np.isfinite(t.upper):
        return f"{_f(t.value)} ({_f(t.lower)} to {_f(t.upper)})"
    if np.isfinite(t.lower) and np.isfinite(t.upper):
        return f"{_f(t.lower)} to {_f(t.upper)}"
    return f"at least {_f(t.lower)}" if np.isfinite(t.lower) else f"at most {_f(t.upper)}"


def to_markdown(table: pd.DataFrame, *, seeds: int, scale: float) -> str:
    lines = [
        f"Model: median and 90% interval over {seeds} seeds at scale {scale:g}, "
        "per England and Wales.",
        "",
    ]
    for role, title in (
        ("input", "Inputs reproduced (identities of one parameter each: not evidence)"),
        ("target", "Calibration targets"),
        ("check", "Validation checks (not tuned to)"),
    ):
        header = (
            "| figure | scenario | published | model median [90% interval] | verdict | source |"
        )
        lines += [f"### {title}", "", header, "|---|---|---|---|---|---|"]
        for _, r in table[table["role"] == role].iterrows():
            lines.append(
                f"| {r['name']} | {r['scenario']} | {r['target']} | {_f(r['model_median'])} "
                f"[{_f(r['model_p05'])}, {_f(r['model_p95'])}] | {'pass' if r['pass'] else 'FAIL'} "
                f"| {r['source']} |"
            )
        lines.append("")
        if role == "check":
            rows = table[table["role"] == role]
            lines += note_lines(zip(rows["name"], rows["note"], strict=True))
    return "\n".join(lines)


def note_lines(named_notes) -> list[str]:
    """The reasoning behind each figure that has a note, as a list under its table."""
    noted = [(name, note) for name, note in named_notes if note]
    if not noted:
        return []
    return ["How to read the checks:", "", *(f"- **{n}**: {note}" for n, note in noted), ""]
