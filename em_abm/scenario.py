"""Scenarios: named, partial overrides of the parameter defaults plus a dated timeline.

A scenario is a TOML file (the packaged ones live in ``em_abm/scenarios/``)::

    name = "baseline_2026"
    description = "..."
    start = 2026-01-01
    sources = ["NAO HC 266 ..."]

    [params]                      # values from the start date
    field.officers = 480          # dotted keys or nested tables, as TOML allows

    [[changes]]                   # values set from a later date
    date = 2026-09-01
    note = "why"
    field.capacity_multiplier = 1.2

``window = [first, last]`` (dates) is the period the scenario was calibrated for: the period
its inputs and targets describe. A run that goes past it is a projection on the scenario's
assumptions, and warns once (:class:`~em_abm.errors.WindowWarning`, one line naming the
window). A scenario with a ``base`` inherits its window unless it gives its own.

Scenario files hold data only; every mechanism they can switch lives in the model and is
named by a parameter. Loading validates everything (names, types, bounds, share groups,
dates) and raises :class:`~em_abm.errors.UserError` with the TOML path of the field.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from em_abm import limits
from em_abm import params as P
from em_abm.errors import UserError, WindowWarning
from em_abm.files import read_toml

# A scenario's name is its results folder's default name (results/<name>).
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
NAME_ALLOWED = "letters, digits, -, _ and . (not first)"
_TOP_KEYS = {"name", "description", "start", "window", "sources", "base", "params", "changes"}
_CHANGE_KEYS = {"date", "note"}
MAX_BASE_DEPTH = 16  # scenarios in a chain of `base =` (the packaged ones use two)


@dataclass(frozen=True)
class Change:
    """Parameter values that take effect on ``date``."""

    date: dt.date
    values: dict[str, Any]
    note: str = ""


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the parameters in force at ``start`` and the dated changes."""

    name: str
    start: dt.date
    params: dict[str, Any]
    changes: tuple[Change, ...] = ()
    description: str = ""
    sources: tuple[str, ...] = ()
    path: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)
    window: tuple[dt.date, dt.date] | None = None  # the period it was calibrated for

    def past_window(self, days: int) -> str | None:
        """The one-line warning for a run of ``days`` days from the start that goes past
        the calibrated window, or None."""
        if self.window is None:
            return None
        last = self.start + dt.timedelta(days=days - 1)
        first, end = self.window
        if last <= end:
            return None
        return (
            f"scenario {self.name} was calibrated for {first.isoformat()} to "
            f"{end.isoformat()}; the run to {last.isoformat()} goes past that window, so its "
            "later days are a projection on the scenario's assumptions"
        )

    def with_overrides(
        self, overrides: dict[str, Any], *, where: str = "", keyed: bool = False
    ) -> Scenario:
        """A copy with ``overrides`` (validated) applied from the start date. Errors name a
        value after ``where`` (``--set field.officers: ...``), or with ``keyed`` as a key of
        the dict ``where`` names (``overrides['field.officers']: ...``, the Python API's)."""
        if not overrides:
            return self
        clean = P.validate(overrides, prefix=where, keyed=keyed)
        merged = {**self.params, **clean}
        P.check_groups(merged, where=f"{where}: " if keyed else where)
        _check_timeline(merged, self.changes, where=self.path + ": " if self.path else "")
        return Scenario(
            name=self.name,
            start=self.start,
            params=merged,
            changes=self.changes,
            description=self.description,
            sources=self.sources,
            path=self.path,
            overrides={**self.overrides, **clean},
            window=self.window,
        )

    def params_on(self, date: dt.date) -> dict[str, Any]:
        """The parameter values in force on ``date``."""
        out = dict(self.params)
        for ch in self.changes:
            if ch.date <= date:
                out.update(ch.values)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "start": self.start.isoformat(),
            "window": [d.isoformat() for d in self.window] if self.window else None,
            "description": self.description,
            "path": self.path,
            "overrides": self.overrides,
            "changes": [
                {"date": c.date.isoformat(), "note": c.note, "values": c.values}
                for c in self.changes
            ],
        }


def scenario_dir() -> Path:
    return Path(str(resources.files("em_abm") / "scenarios"))


def available() -> dict[str, Path]:
    """Packaged scenarios: name -> path."""
    return {p.stem: p for p in sorted(scenario_dir().glob("*.toml"))}


def load(name_or_path: str | Path | Scenario, *, field: str = "scenario") -> Scenario:
    """Load a packaged scenario by name, or a user's TOML file by path (``field`` names the
    input in errors)."""
    if isinstance(name_or_path, Scenario):
        return name_or_path
    path = _locate(str(name_or_path), field)
    return _load_file(path, chain=())


def _locate(text: str, field: str, *, relative_to: Path | None = None) -> Path:
    """The file of a packaged scenario name or a path (a relative path is taken from
    ``relative_to``'s folder first when given, as a ``base`` is)."""
    packaged = available()
    allowed = f"allowed: {', '.join(packaged)} or a path to a .toml file"
    if text in packaged:
        return packaged[text]
    if not text.strip():
        raise UserError(f"{field}: got {text!r}; {allowed}")
    path = Path(text)
    if relative_to is not None and not path.is_absolute():
        candidate = relative_to.parent / path
        path = candidate if candidate.exists() else path
    if not (path.suffix == ".toml" or "/" in text or path.exists()):
        raise UserError(f"{field}: unknown scenario {text!r}; {allowed}")
    if path.is_dir():
        raise UserError(f"{field}: {text} is a folder; {allowed}")
    if not path.exists():
        raise UserError(f"{field}: file not found: {text}; {allowed}")
    return path  # anything but a regular file is refused when it is read


def _load_file(path: Path, *, chain: tuple[Path, ...]) -> Scenario:
    """Read and validate one scenario file; ``chain`` holds the files that include it through
    ``base``, to refuse a cycle."""
    data = read_toml(path, "scenario")
    return from_dict(data, path=str(path), default_name=path.stem, _chain=chain)


def from_dict(
    data: dict[str, Any],
    *,
    path: str = "",
    default_name: str = "custom",
    _chain: tuple[Path, ...] = (),
) -> Scenario:
    """Validate a parsed scenario table.

    ``base = "other"`` starts from another scenario (packaged name or path relative to this
    file): its parameters and dated changes, with this file's on top. ``start`` may then be
    omitted.
    """
    where = f"{path}: " if path else ""
    base_scenario = None
    if "base" in data:
        ref = data["base"]
        if not isinstance(ref, str) or not ref:
            raise UserError(f"{where}base: got {ref!r}; allowed: a scenario name or path")
        base_path = _locate(ref, f"{where}base", relative_to=Path(path) if path else None)
        chain = (*_chain, Path(path).resolve()) if path else _chain
        if len(chain) >= MAX_BASE_DEPTH:
            raise UserError(
                f"{where}base: a chain of more than {MAX_BASE_DEPTH} scenarios each starting "
                f"from the next; allowed: at most {MAX_BASE_DEPTH}"
            )
        if base_path.resolve() in chain:
            raise UserError(
                f"{where}base: {ref!r} includes this file again (a cycle); allowed: a "
                "scenario that does not start from this one"
            )
        base_scenario = _load_file(base_path, chain=chain)
        data = {"start": base_scenario.start, **data}
    unknown = set(data) - _TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise UserError(
            f"{where}{key}: unknown key; allowed top-level keys: {', '.join(sorted(_TOP_KEYS))}"
        )
    name = data.get("name", default_name)
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        origin = "" if "name" in data else ' (from the file\'s name; set name = "...")'
        raise UserError(f"{where}name: got {name!r}{origin}; allowed: {NAME_ALLOWED}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise UserError(f"{where}description: must be a string")
    sources = data.get("sources", [])
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise UserError(f"{where}sources: must be a list of strings")
    if "start" not in data:
        raise UserError(f"{where}start: missing; give the scenario's start date, e.g. 2026-01-01")
    start = data["start"]
    if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
        raise UserError(f"{where}start: must be a TOML date like 2026-01-01 (got {start!r})")
    if not limits.date_ok(start):
        raise UserError(f"{where}start: got {start.isoformat()}; allowed: {limits.DATE_ALLOWED}")
    window = _window(data, where) if "window" in data else None
    if window is None and base_scenario is not None:
        window = base_scenario.window

    raw = data.get("params", {})
    if not isinstance(raw, dict):
        raise UserError(f"{where}params: must be a table of parameter values")
    overrides = P.validate(_flatten(raw, where=f"{where}params."), prefix=f"{where}params.")
    inherited = base_scenario.params_on(start) if base_scenario else P.defaults()
    base = {**inherited, **overrides}
    P.check_groups(base, where=where)

    changes_raw = data.get("changes", [])
    if not isinstance(changes_raw, list):
        raise UserError(f"{where}changes: must be an array of tables ([[changes]])")
    changes = []
    for i, ch in enumerate(changes_raw):
        at = f"{where}changes[{i}]"
        if not isinstance(ch, dict):
            raise UserError(f"{at}: must be a table with a date and parameter values")
        if "date" not in ch:
            raise UserError(f"{at}.date: missing; every change needs a date")
        date = ch["date"]
        if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
            raise UserError(f"{at}.date: must be a TOML date like 2026-09-01 (got {date!r})")
        if not limits.date_ok(date):
            raise UserError(f"{at}.date: got {date.isoformat()}; allowed: {limits.DATE_ALLOWED}")
        if date < start:
            raise UserError(
                f"{at}.date: {date.isoformat()} is before the scenario start {start.isoformat()}"
            )
        note = ch.get("note", "")
        if not isinstance(note, str):
            raise UserError(f"{at}.note: must be a string")
        values = {k: v for k, v in ch.items() if k not in _CHANGE_KEYS}
        if not values:
            raise UserError(f"{at}: sets no parameter")
        flat = _flatten(values, where=f"{at}.")
        changes.append(Change(date, P.validate(flat, prefix=f"{at}."), note))
    if base_scenario:
        changes = [c for c in base_scenario.changes if c.date >= start] + changes
        if not sources:
            sources = list(base_scenario.sources)
        overrides = {**base_scenario.overrides, **overrides}
    changes.sort(key=lambda c: c.date)
    _check_timeline(base, changes, where=where)
    return Scenario(
        name=name,
        start=start,
        params=base,
        changes=tuple(changes),
        description=description.strip(),
        sources=tuple(sources),
        path=path,
        overrides=overrides,
        window=window,
    )


def warn_past_window(scenario: Scenario, days: int) -> None:
    """Warn (once, :class:`~em_abm.errors.WindowWarning`) if a run of ``days`` days of
    ``scenario`` goes past the window it was calibrated for."""
    import warnings

    past = scenario.past_window(days)
    if past:
        warnings.warn(past, WindowWarning, stacklevel=3)


@contextlib.contextmanager
def window_warned_by_caller():
    """Runs made in a pool for a sweep, a comparison or a calibration: the parent gives the
    window's warning once, not every run."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WindowWarning)
        yield


def _window(data: dict[str, Any], where: str) -> tuple[dt.date, dt.date]:
    """A scenario's ``window = [first, last]``: two dates, in order."""
    w = data["window"]
    allowed = "two TOML dates [first, last] with first <= last, e.g. [2024-05-01, 2025-12-31]"
    ok = (
        isinstance(w, list)
        and len(w) == 2
        and all(isinstance(x, dt.date) and not isinstance(x, dt.datetime) for x in w)
    )
    if not ok or w[0] > w[1] or not all(limits.date_ok(x) for x in w):
        raise UserError(f"{where}window: got {w!r}; allowed: {allowed}")
    return (w[0], w[1])


def _check_timeline(base: dict[str, Any], changes: Any, *, where: str) -> None:
    """Share groups must sum to one after every change too."""
    current = dict(base)
    for ch in changes:
        current.update(ch.values)
        P.check_groups(current, where=f"{where}change of {ch.date.isoformat()}: ")


def _flatten(table: dict[str, Any], prefix: str = "", *, where: str = "") -> dict[str, Any]:
    """Nested tables to dotted names; a name given twice (``"a.b" = 1`` beside ``a.b = 2``,
    which TOML reads as different keys) is refused."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        items = (
            _flatten(value, f"{name}.", where=where) if isinstance(value, dict) else {name: value}
        )
        for k, v in items.items():
            if k in out:
                raise UserError(f"{where}{k}: given twice; allowed: one value per parameter")
            out[k] = v
    return out


def parse_assignments(items: list[str] | None, *, where: str = "--set ") -> dict[str, Any]:
    """``["field.officers=300", "policy.visit_queue='fcfs'"]`` -> a dict (values parsed as TOML).

    Bare words that are not TOML literals are taken as strings, so ``policy.visit_queue=fcfs``
    works without quotes.
    """
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item or "\n" in item or "\r" in item:
            raise UserError(
                f"{where}{item!r}: expected one NAME=VALUE on one line, e.g. field.officers=300"
            )
        name, value = (s.strip() for s in item.split("=", 1))
        if name in out:
            raise UserError(f"{where}{name}: given twice; allowed: one value per parameter")
        try:
            out[name] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[name] = value
    return out
