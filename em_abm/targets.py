"""Calibration targets and validation checks: evaluate the model against published figures.

``calibration/targets.toml`` lists each figure with its source, its tolerance and its role
("target": the model is tuned to it; "check": reproduced without tuning). :func:`evaluate`
runs every scenario the file names over K seeds (joblib) and returns, for each row, the
model's median and 90% interval across seeds and a verdict: the median within tolerance.

Model values are per England and Wales: counts that scale with the population are divided
by the run's scale.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from em_abm.errors import UserError
from em_abm.metrics import scales_with_population

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "calibration" / "targets.toml"
HMPPS_FILE = DEFAULT_FILE.parent / "hmpps_caseload.csv"
# The backlog figures the NAO reports for the 2024 transition (key facts, para 9), to draw.
NAO_BACKLOG = [
    ("2024-05-15", 1200, "NAO: about 1,200 (May 2024)"),
    ("2024-10-15", 7000, "NAO: peak of 7,000 (October 2024)"),
]
_KEYS = {
    "name",
    "role",
    "scenario",
    "years",
    "metric",
    "series",
    "window",
    "stat",
    "value",
    "tol",
    "lower",
    "upper",
    "per_year",
    "source",
    "note",
}


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

    def measure(self, result) -> float:
        """This target's quantity in one run, per England and Wales."""
        scale = result.summary["scale"]
        if self.series:
            ts = result.timeseries.set_index("date")[self.series]
            ts = ts[str(self.window[0]) : str(self.window[1])]
            value = float(ts.max() if self.stat == "max" else ts.mean())
            return value / scale if scales_with_population(self.series) else value
        if self.metric.startswith("share:"):
            num, den = self.metric[len("share:") :].split("/")
            return _lookup(result.summary, num) / _lookup(result.summary, den)
        value = _lookup(result.summary, self.metric)
        if self.per_year:
            value /= result.summary["years"]
        return value / scale if scales_with_population(self.metric) else value


def _lookup(summary: dict, name: str) -> float:
    head, _, key = name.partition(".")
    if head not in summary:
        raise UserError(f"targets: metric {name!r} is not in the summary")
    value = summary[head]
    return float(value[key] if key else value)


def load(path: str | Path = DEFAULT_FILE) -> list[Target]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise UserError(f"{path}: cannot read targets: {e}") from None
    out = []
    for i, row in enumerate(data.get("target", [])):
        where = f"{path}: target[{i}]"
        unknown = set(row) - _KEYS
        if unknown:
            raise UserError(
                f"{where}.{sorted(unknown)[0]}: unknown key; allowed: {', '.join(sorted(_KEYS))}"
            )
        for key in ("name", "role", "scenario", "source"):
            if key not in row:
                raise UserError(f"{where}.{key}: missing")
        if row["role"] not in ("target", "check"):
            raise UserError(f"{where}.role: got {row['role']!r}; allowed: 'target', 'check'")
        if ("metric" in row) == ("series" in row):
            raise UserError(f"{where}: give exactly one of metric and series")
        value = row.get("value")
        if "tol" in row:
            if value is None:
                raise UserError(f"{where}.tol: needs a value")
            lower, upper = value - row["tol"], value + row["tol"]
        else:
            lower, upper = row.get("lower", -np.inf), row.get("upper", np.inf)
        window = tuple(row["window"]) if "window" in row else None
        out.append(Target(
            name=row["name"], role=row["role"], scenario=row["scenario"], source=row["source"],
            lower=float(lower), upper=float(upper), value=value, metric=row.get("metric", ""),
            series=row.get("series", ""), window=window, stat=row.get("stat", "mean"),
            years=float(row.get("years", 3.0)), per_year=bool(row.get("per_year", False)),
            note=str(row.get("note", "")),
        ))  # fmt: skip
    return out


def _run(scenario: str, years: float, seed: int, scale: float):
    from em_abm.results import run_model

    return run_model(scenario, seed=seed, years=years, scale=scale)


def evaluate(
    targets: list[Target], *, seeds: list[int], scale: float, jobs: int = 1
) -> pd.DataFrame:
    """Median and 90% interval across seeds of every target's model value, with a verdict."""
    runs = sorted({(t.scenario, t.years) for t in targets})
    tasks = [(sc, y, s) for sc, y in runs for s in seeds]
    results = Parallel(n_jobs=jobs)(delayed(_run)(sc, y, s, scale) for sc, y, s in tasks)
    by_run: dict[tuple, list[Any]] = {}
    for (sc, y, _), res in zip(tasks, results, strict=True):
        by_run.setdefault((sc, y), []).append(res)
    rows = []
    for t in targets:
        values = np.array([t.measure(r) for r in by_run[(t.scenario, t.years)]])
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
