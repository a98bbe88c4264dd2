"""The model's ODD description (Grimm et al. 2020), generated from a template.

``paper/ODD.in.md`` is the prose; every number in it that the code holds is a placeholder
that :func:`render_odd` fills from the code and its data, so the description cannot drift
from the model:

* ``{{p:NAME}}``, ``{{pct:NAME}}``, ``{{unit:NAME}}``, ``{{bounds:NAME}}``: a parameter's
  default (for calibrated parameters, the calibrated value), as a percentage, its unit and
  its bounds (:data:`em_abm.params.PARAMS`);
* ``{{s:SCENARIO:NAME}}`` and ``{{spct:SCENARIO:NAME}}``: the value a packaged scenario
  sets at its start, or on a date with ``{{s:SCENARIO@2024-08-01:NAME}}``;
* ``{{n_targets:SCENARIO}}``, ``{{n_checks:SCENARIO}}``: rows of ``calibration/targets.toml``;
* ``{{calc:NAME}}``: a quantity derived from parameters (:data:`_CALC`);
* plain names (:data:`_SIMPLE`): counts (``{{n_params}}``, ``{{n_force_areas}}``, ...) and
  generated blocks (``{{param_table}}``, ``{{scenarios}}``, ``{{targets_table}}``,
  ``{{geography_sources}}``, ...).

An unknown placeholder, an unknown parameter or scenario, or a ``{{`` left unclosed raises
:class:`~em_abm.errors.UserError` naming it. The output depends only on the code, its data
files and the template: no dates, no environment.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from em_abm import params as P
from em_abm.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "paper" / "ODD.in.md"
OUTPUT = ROOT / "paper" / "ODD.md"

_PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")


# ---------------------------------------------------------------------------- formatting
def fmt_value(x: Any) -> str:
    """A parameter value for prose and tables: thousands separated, no float noise."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, str):
        return f"`{x}`"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x.is_integer():
            return f"{int(x):,}"
        return f"{x:,.6g}"
    return str(x)


def fmt_pct(x: float) -> str:
    """A share as a percentage with three significant figures (0.3932 -> 39.3%)."""
    return f"{100.0 * float(x):.3g}%"


def _fmt_number(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _bounds(p: P.Param) -> str:
    if p.kind == "choice":
        return "one of " + ", ".join(f"`{c}`" for c in p.choices)
    if p.kind == "bool":
        return "true or false"
    return f"{fmt_value(p.lower)} to {fmt_value(p.upper)}"


def _param(name: str, where: str) -> P.Param:
    try:
        return P.PARAMS[name]
    except KeyError:
        raise UserError(f"{where}: unknown parameter {name!r}") from None


# ---------------------------------------------------------------------------- blocks
def param_table() -> str:
    """Every parameter of the registry, in declaration order."""
    lines = [
        "| name | value | bounds | unit | description | source |",
        "|---|---|---|---|---|---|",
    ]
    for p in P.PARAMS.values():
        cells = (f"`{p.name}`", fmt_value(p.default), _bounds(p), p.unit, p.description, p.source)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def calibrated_list() -> str:
    rows = [p for p in P.PARAMS.values() if p.source.startswith("calibrated")]
    return "\n".join(f"- `{p.name}` = {fmt_value(p.default)} ({p.unit})" for p in rows)


def _shift_headings(text: str, by: int) -> str:
    def shift(m: re.Match) -> str:
        return "#" * min(6, len(m.group(1)) + by) + " "

    return re.sub(r"^(#{1,6}) ", shift, text, flags=re.MULTILINE)


def geography_sources() -> str:
    """``em_abm/data/SOURCES.md``, its headings moved below the ODD's section headings."""
    text = resources.files("em_abm").joinpath("data", "SOURCES.md").read_text(encoding="utf-8")
    return _shift_headings(text.strip(), 3)


def _scenario_names() -> list[str]:
    from em_abm.scenario import available

    return sorted(available())


def _load_scenario(name: str, where: str):
    from em_abm.scenario import available, load

    if name not in available():
        raise UserError(f"{where}: unknown scenario {name!r}")
    return load(name)


def scenarios_block() -> str:
    """Each packaged scenario: start, base, what differs from the defaults at the start,
    the dated changes it runs (those inherited from its base marked) and its sources."""
    from em_abm.scenario import available, load

    defaults = P.defaults()
    out = []
    for name in _scenario_names():
        sc = load(name)
        raw = tomllib.loads(available()[name].read_text(encoding="utf-8"))
        base = raw.get("base")
        inherited = list(load(base).changes) if base else []
        out.append(f"#### `{name}`")
        out.append("")
        start = f"Starts {sc.start.isoformat()}"
        start += f"; builds on `{base}`." if base else "."
        out.append(f"{start} {' '.join(sc.description.split())}")
        out.append("")
        differs = {k: v for k, v in sc.params.items() if v != defaults[k]}
        if differs:
            out.append("Set from the start (differing from the defaults):")
            out.append("")
            out += [f"- `{k}` = {fmt_value(v)}" for k, v in differs.items()]
            out.append("")
        if sc.changes:
            out.append("Dated changes:")
            out.append("")
            for ch in sc.changes:
                values = "; ".join(f"`{k}` = {fmt_value(v)}" for k, v in ch.values.items())
                note = f" ({ch.note})" if ch.note else ""
                origin = f" [from `{base}`]" if ch in inherited else ""
                out.append(f"- {ch.date.isoformat()}{note}: {values}{origin}")
            out.append("")
        if sc.sources:
            out.append("Sources:")
            out.append("")
            out += [f"- {s}" for s in sc.sources]
            out.append("")
    return "\n".join(out).rstrip()


def _targets(role: str | None = None, scenario: str | None = None) -> list:
    from em_abm import targets

    rows = targets.load()
    return [
        t
        for t in rows
        if (role is None or t.role == role) and (scenario is None or t.scenario == scenario)
    ]


def _published(t) -> str:
    finite_lo, finite_hi = math.isfinite(t.lower), math.isfinite(t.upper)
    if t.value is not None and finite_lo and finite_hi:
        half = (t.upper - t.lower) / 2
        return f"{_fmt_number(t.value)} ± {_fmt_number(half)}"
    if finite_lo and finite_hi:
        return f"{_fmt_number(t.lower)} to {_fmt_number(t.upper)}"
    if finite_lo:
        return f"at least {_fmt_number(t.lower)}"
    return f"at most {_fmt_number(t.upper)}"


def targets_table(role: str) -> str:
    inputs = role == "input"
    lines = [
        "| figure | scenario | published (tolerance) | "
        + ("identity of | " if inputs else "")
        + "source |",
        "|---|---|---|---|" + ("---|" if inputs else ""),
    ]
    for t in _targets(role):
        scenario = f"`{t.scenario}`" + (f" minus `{t.minus}`" if t.minus else "")
        cells = (t.name, scenario, _published(t), *([f"`{t.parameter}`"] if inputs else []),
                 t.source)  # fmt: skip
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def policies_block() -> str:
    """The prioritisation strategies of each queue, from their docstrings."""
    from em_abm.policies import RESPONSE_POLICIES, TRIAGE_POLICIES, VISIT_POLICIES

    lines = ["| queue (parameter) | policy | what it does |", "|---|---|---|"]
    for param, registry in (
        ("policy.visit_queue", VISIT_POLICIES),
        ("policy.alert_triage", TRIAGE_POLICIES),
        ("policy.response_queue", RESPONSE_POLICIES),
    ):
        default = P.PARAMS[param].default
        for name, cls in registry.items():
            label = f"`{name}` (default)" if name == default else f"`{name}`"
            doc = " ".join((cls.__doc__ or "").split())
            lines.append(f"| `{param}` | {label} | {_cell(doc)} |")
    return "\n".join(lines)


def _geography():
    from em_abm.geography import Geography

    return Geography()


def regions_block() -> str:
    geo = _geography()
    lines = []
    for r, region in enumerate(geo.regions):
        names = [geo.area_names[a] for a in range(len(geo.areas)) if geo.area_region[a] == r]
        hub = geo.area_names[int(geo.region_hub[r])]
        lines.append(f"- {region} ({len(names)}; base: {hub}): {', '.join(names)}")
    return "\n".join(lines)


def _edges(kind: str) -> int:
    g = _geography().graph
    return sum(1 for *_, k in g.edges(data="kind") if k == kind)


def _metric_count() -> int:
    from em_abm.metrics import METRICS

    return len(METRICS)


def _column_count() -> int:
    from em_abm.metrics import COLUMNS

    return len(COLUMNS)


def _streams() -> str:
    from em_abm.model import STREAMS

    return ", ".join(f"`{s}`" for s in STREAMS)


def _n_streams() -> int:
    from em_abm.model import STREAMS

    return len(STREAMS)


def _metrics_const(name: str) -> int:
    from em_abm import metrics

    return int(getattr(metrics, name))


def _default_years() -> str:
    import inspect

    from em_abm.model import EMModel

    return fmt_value(inspect.signature(EMModel.__init__).parameters["years"].default)


def _population() -> int:
    return int(_geography().population.sum())


# ---------------------------------------------------------------------------- derived values
def _d(name: str) -> Any:
    return P.PARAMS[name].default


def _within_two(p: float) -> float:
    return 1.0 - (1.0 - p) ** 2


def _staffed(values: dict[str, Any]) -> float:
    return 1.0 - values["probation.shortfall_fte"] / values["probation.establishment_fte"]


def _officer_hours_per_day() -> float:
    return _d("field.shift_hours") * _d("field.days_per_week") / 7.0 * _d("field.availability")


def _pack_within_window() -> float:
    """Share of breach packs within the contractual window when alerts wait for no review."""
    z = math.log(_d("kpi.notification_window_hours") / _d("monitoring.pack_hours_median"))
    return 0.5 * (1.0 + math.erf(z / _d("monitoring.pack_hours_sigma") / math.sqrt(2.0)))


def _scenario_on(name: str, date: str) -> dict[str, Any]:
    return _load_scenario(name, "calc").params_on(dt.date.fromisoformat(date))


_CALC: dict[str, Callable[[], str]] = {
    "fit_within_two": lambda: fmt_pct(_within_two(_d("field.fit_success_prob"))),
    "fit_within_two_transition": lambda: fmt_pct(
        _within_two(_scenario_on("transition_2024", "2025-01-01")["field.fit_success_prob"])
    ),
    "staffed_share": lambda: fmt_pct(_staffed(P.defaults())),
    "staffed_share_sep2026": lambda: fmt_pct(_staffed(_scenario_on("baseline_2026", "2026-09-01"))),
    "officer_hours_per_day": lambda: f"{_officer_hours_per_day():.2f}",
    "field_hours_per_day": lambda: f"{_officer_hours_per_day() * _d('field.officers'):,.0f}",
    "crew_factor": lambda: f"{1.0 + _d('field.double_crew_share'):g}",
    "pack_within_window": lambda: fmt_pct(_pack_within_window()),
    "police_responses_per_day": lambda: (
        f"{_d('police.responses_per_100k_day') * _population() / 1e5:.0f}"
    ),
    "checks_per_day": lambda: f"{_d('field.check_visits_per_year') / 365.0:.4f}",
}

_SIMPLE: dict[str, Callable[[], str]] = {
    "param_table": param_table,
    "calibrated_list": calibrated_list,
    "geography_sources": geography_sources,
    "scenarios": scenarios_block,
    "inputs_table": lambda: targets_table("input"),
    "targets_table": lambda: targets_table("target"),
    "checks_table": lambda: targets_table("check"),
    "policies": policies_block,
    "regions": regions_block,
    "streams": _streams,
    "n_params": lambda: str(len(P.PARAMS)),
    "n_calibrated": lambda: str(sum(p.source.startswith("calibrated") for p in P.PARAMS.values())),
    "n_force_areas": lambda: str(len(_geography().areas)),
    "n_regions": lambda: str(len(_geography().regions)),
    "n_land_borders": lambda: str(_edges("land")),
    "n_road_links": lambda: str(_edges("road_link")),
    "population": lambda: f"{_population():,}",
    "n_cohorts": lambda: str(len(P.COHORTS)),
    "n_tags": lambda: str(len(P.TAGS)),
    "n_risk_levels": lambda: str(len(P.RISK_LEVELS)),
    "n_outcomes": lambda: str(len(P.OUTCOMES)),
    "n_metrics": lambda: str(_metric_count()),
    "n_columns": lambda: str(_column_count()),
    "n_scenarios": lambda: str(len(_scenario_names())),
    "n_inputs": lambda: str(len(_targets("input"))),
    "n_targets": lambda: str(len(_targets("target"))),
    "n_checks": lambda: str(len(_targets("check"))),
    "n_streams": lambda: str(_n_streams()),
    "default_years": _default_years,
    "rate_window_days": lambda: str(_metrics_const("RATE_WINDOW_DAYS")),
    "final_period_days": lambda: str(_metrics_const("FINAL_PERIOD_DAYS")),
}


def _scenario_value(arg: str, where: str) -> Any:
    """``SCENARIO:NAME`` (value at the start) or ``SCENARIO@YYYY-MM-DD:NAME``."""
    head, sep, name = arg.partition(":")
    if not sep or not name:
        raise UserError(f"{where}: expected SCENARIO:NAME or SCENARIO@DATE:NAME")
    scenario, _, date = head.partition("@")
    sc = _load_scenario(scenario, where)
    _param(name, where)
    if not date:
        return sc.params[name]
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        raise UserError(f"{where}: {date!r} is not a date like 2024-08-01") from None
    return sc.params_on(day)[name]


def _fill(key: str) -> str:
    where = f"placeholder {{{{{key}}}}}"
    kind, sep, arg = key.partition(":")
    if not sep:
        if key not in _SIMPLE:
            raise UserError(f"{where}: unknown placeholder {key!r}")
        return _SIMPLE[key]()
    if kind == "p":
        return fmt_value(_param(arg, where).default)
    if kind == "pct":
        return fmt_pct(_param(arg, where).default)
    if kind == "unit":
        return _param(arg, where).unit
    if kind == "bounds":
        return _bounds(_param(arg, where))
    if kind == "s":
        return fmt_value(_scenario_value(arg, where))
    if kind == "spct":
        return fmt_pct(_scenario_value(arg, where))
    if kind in ("n_inputs", "n_targets", "n_checks"):
        _load_scenario(arg, where)
        role = {"n_inputs": "input", "n_targets": "target", "n_checks": "check"}[kind]
        return str(len(_targets(role, arg)))
    if kind == "calc":
        if arg not in _CALC:
            raise UserError(f"{where}: unknown derived value {arg!r}")
        return _CALC[arg]()
    raise UserError(f"{where}: unknown placeholder kind {kind!r}")


# ---------------------------------------------------------------------------- API
def render_odd(template_path: Path | None = None) -> str:
    """The ODD with every placeholder of ``template_path`` (``paper/ODD.in.md``) filled."""
    path = Path(template_path) if template_path is not None else TEMPLATE
    try:
        template = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UserError(f"{path}: cannot read the ODD template: {e.strerror}") from None
    cache: dict[str, str] = {}

    def replace(m: re.Match) -> str:
        key = m.group(1).strip()
        if key not in cache:
            cache[key] = _fill(key)
        return cache[key]

    body = _PLACEHOLDER.sub(replace, template)
    left = re.search(r"\{\{[^\n]{0,40}", body)
    if left:
        raise UserError(f"{path}: placeholder left unfilled: {left.group(0)!r}")
    try:
        source = path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        source = path.name
    header = f"<!-- Generated from {source} by `em-abm paper --odd`; do not edit by hand. -->"
    return f"{header}\n{body.rstrip()}\n"


def write_odd(out: Path = OUTPUT) -> Path:
    """Render the ODD and write it to ``out`` atomically; returns ``out``."""
    from em_abm.results import write_text_atomic

    out = Path(out)
    write_text_atomic(out, render_odd())
    return out
