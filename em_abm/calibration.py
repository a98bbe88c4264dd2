"""Calibration by history matching: which parameter sets reproduce the published figures?

The free parameters and their prior ranges are in ``calibration/calibrate.toml``; the
figures are the rows of ``calibration/targets.toml`` with ``role = "input"`` (identities of
one parameter) or ``"target"`` (the "check" rows are validation and never enter here). The
method is history matching in waves (Vernon et al. 2010; Andrianakis et al. 2015), with the
simulator itself in place of an emulator, since a run costs seconds:

1. wave 1 evaluates a Latin hypercube (SALib) over the prior box: each parameter set is run
   on every scenario the targets name, on the configured seeds, at a reduced scale;
2. each target's implausibility is ``I = |model - centre| / (half-width / 2)``: the
   published tolerance is read as two standard deviations of observation and model
   discrepancy, so ``I <= 2`` means within tolerance. One-sided targets ("at most 400") have
   ``I = 0`` inside and ``2 + 2 * distance / |bound|`` outside;
3. quadratic regression emulators of every figure, fitted to the sets run so far (those
   inside the current box when there are enough), judge
   where the figures can be met: a set is not implausible when its largest emulated
   implausibility is at most the cutoff (3, the usual choice; the emulators' error widens
   each tolerance). The next wave runs sets spread through that region, and its box
   encloses it, widened by a tenth of its width and clipped to the prior;
4. the accepted sets, from every wave, are those within every target's tolerance. They are
   the calibrated sample: their medians are the calibrated values, their spread the
   parameters' uncertainty.

Evaluations are stored after every batch (``calibration/runs/<name>/evaluations.parquet``),
so an interrupted calibration resumes where it stopped; the design of each wave depends only
on the configuration and the earlier waves' results, so a resumed run gives the same answer.
Raising ``waves`` continues a finished calibration; stored sets of a wave whose design no
longer matches (the method changed) are evaluated again from that wave on.
Parameter sets are evaluated in a joblib pool (``--jobs``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import os
import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from pydantic import BaseModel, ConfigDict, Field

from em_abm import files, limits
from em_abm import params as P
from em_abm import targets as T
from em_abm.errors import UserError, check_schema
from em_abm.files import read_toml
from em_abm.results import write_text_atomic
from em_abm.scenario import NAME_ALLOWED, NAME_PATTERN, available, window_warned_by_caller

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "calibration" / "calibrate.toml"
# The calibrations, in the order they run: the 2026 steady state, then the 2024-2025 path
# given it.
CONFIGS = {
    "baseline": DEFAULT_CONFIG,
    "transition": ROOT / "calibration" / "calibrate_transition.toml",
}
RUNS_DIR = ROOT / "calibration" / "runs"
FITTED_DIR = ROOT / "calibration" / "fitted"
ACCEPT = 2.0  # implausibility within every target's tolerance
Number = Annotated[float, Field(allow_inf_nan=False)]


class _Fields(BaseModel):
    """A calibration file's keys with their types (values are checked in load_config)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: str | None = None
    free: dict[str, list[Number]] = {}
    scale: Number = 0.1
    scale_by_scenario: dict[str, Number] = {}
    report_scale: Number = 0.25
    seeds: list[int] = [1]
    waves: int = 3
    points: int = 64
    cutoff: Number = 3.0
    design_seed: int = 1
    abc_points: int = 0
    scenarios: list[str] = []
    after: str = ""
    report: str = "report.md"


class _File(_Fields):
    quick: dict[str, Any] = {}  # the same keys, applied with --quick


@dataclass(frozen=True)
class Config:
    """A calibration: free parameters with prior ranges, and the size of the search."""

    name: str
    free: dict[str, tuple[float, float]]
    scale: float = 0.1
    scale_by_scenario: dict[str, float] = field(default_factory=dict)
    report_scale: float = 0.25
    seeds: tuple[int, ...] = (1,)
    waves: int = 3
    points: int = 64
    cutoff: float = 3.0
    design_seed: int = 1
    # The ABC stage: sets drawn uniformly (Latin hypercube) in the last wave's box, each run on
    # seeds of its own; those within every tolerance are the posterior sample. 0: none.
    abc_points: int = 0
    targets_file: str = str(T.DEFAULT_FILE)
    # Only the targets (and checks) of these scenarios; empty: every scenario.
    scenarios: tuple[str, ...] = ()
    # A calibration whose accepted sets' medians every run starts from (a later stage).
    after: str = ""
    report: str = "report.md"  # file name of this calibration's report in calibration/

    def rows(self, *roles: str) -> list[T.Target]:
        """The rows of the targets file with one of ``roles`` that this calibration uses, in
        the file's order."""
        return [
            t
            for t in T.load(self.targets_file)
            if t.role in roles and (not self.scenarios or t.scenario in self.scenarios)
        ]

    def fitted_rows(self) -> list[T.Target]:
        """The figures the calibration fits: inputs (identities) and targets."""
        return self.rows("input", "target")

    def base(self, folder: Path | None = None) -> dict[str, float]:
        """The medians of the earlier stage (``after``), or nothing."""
        if not self.after:
            return {}
        path = (folder or FITTED_DIR) / f"{self.after}.csv"
        if not path.exists():
            raise UserError(
                f"after: {path} does not exist; allowed: the name of a calibration whose "
                f"accepted sets are in calibration/fitted/ (run it first)"
            )
        sets = _read_sets(path)
        prior = load_config(CONFIGS.get(self.after, DEFAULT_CONFIG))
        return {k: _round(float(np.median(sets[k])), P.PARAMS[split_key(k)[2]].kind)
                for k in prior.names}  # fmt: skip

    @property
    def names(self) -> list[str]:
        return list(self.free)

    def fingerprint(self, targets: list[T.Target]) -> str:
        """Identifies what the stored evaluations were made with (the wave count may grow)."""
        keep = ("free", "scale", "scale_by_scenario", "seeds", "points", "cutoff", "design_seed",
                "scenarios")  # fmt: skip
        spec = {k: v for k, v in asdict(self).items() if k in keep}
        spec["after"] = self.base()
        spec["targets"] = [{k: v for k, v in asdict(t).items() if k != "note"} for t in targets]
        return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def load_config(path: str | Path = DEFAULT_CONFIG, *, quick: bool = False) -> Config:
    """Read and check a calibration file; ``quick`` applies its ``[quick]`` table."""
    path = Path(path)
    top = check_schema(_File, read_toml(path, "calibration"), str(path))
    data = top.model_dump(exclude={"quick"})
    if quick:
        if not top.quick:
            raise UserError(
                f"{path}: quick: missing; --quick needs a [quick] table in the file (the "
                "sizes to use instead, e.g. points = 16)"
            )
        q = check_schema(_Fields, top.quick, f"{path}: quick")
        data.update(q.model_dump(exclude_unset=True))
    free = {}
    for key, rng in data.get("free", {}).items():
        scenario, date, name = split_key(key)
        if scenario and scenario not in available():
            raise UserError(
                f"{path}: free.{key}: unknown scenario {scenario!r}; allowed: "
                f"{', '.join(sorted(available()))}"
            )
        if date is not None:
            _check_change(path, key, scenario, date, name)
        if name not in P.PARAMS:
            raise UserError(f"{path}: free.{name}: unknown parameter; see `em-abm params`")
        p = P.PARAMS[name]
        if p.kind not in ("float", "int") or p.lower is None or p.upper is None:
            raise UserError(f"{path}: free.{name}: allowed: a bounded number parameter")
        if len(rng) not in (0, 2):
            raise UserError(f"{path}: free.{key}: got {rng!r}; allowed: [low, high] or []")
        lo, hi = (p.lower, p.upper) if not rng else tuple(rng)
        if not (p.lower <= lo < hi <= p.upper):
            raise UserError(
                f"{path}: free.{name}: got [{lo}, {hi}]; allowed: low < high within the "
                f"parameter's bounds [{p.lower}, {p.upper}]"
            )
        free[key] = (float(lo), float(hi))
    if not free:
        raise UserError(f"{path}: free: allowed: at least one parameter")
    cfg = Config(
        name=data["name"] or path.stem,
        free=free,
        scale=float(data.get("scale", 0.1)),
        scale_by_scenario={k: float(v) for k, v in data.get("scale_by_scenario", {}).items()},
        report_scale=float(data.get("report_scale", 0.25)),
        seeds=tuple(int(s) for s in data.get("seeds", [1])),
        waves=int(data.get("waves", 3)),
        points=int(data.get("points", 64)),
        cutoff=float(data.get("cutoff", 3.0)),
        design_seed=int(data.get("design_seed", 1)),
        abc_points=int(data.get("abc_points", 0)),
        scenarios=tuple(data.get("scenarios", ())),
        after=str(data.get("after", "")),
        report=str(data.get("report", "report.md")),
    )
    for sc in cfg.scenarios:
        if sc not in available():
            raise UserError(
                f"{path}: scenarios: unknown scenario {sc!r}; allowed: "
                f"{', '.join(sorted(available()))}"
            )
    if cfg.after and cfg.after not in CONFIGS:
        raise UserError(f"{path}: after: got {cfg.after!r}; allowed: {', '.join(sorted(CONFIGS))}")
    for key, ok, allowed in (
        ("scale", limits.scale_ok(cfg.scale), limits.SCALE_ALLOWED),
        ("report_scale", limits.scale_ok(cfg.report_scale), limits.SCALE_ALLOWED),
        (
            "report",
            re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.md", cfg.report) is not None,
            "a file name ending .md, written in calibration/ (no folders)",
        ),
        (
            "scale_by_scenario",
            all(limits.scale_ok(v) for v in cfg.scale_by_scenario.values()),
            f"numbers from {limits.MIN_SCALE:g} to {limits.MAX_SCALE:g}",
        ),
        (
            "seeds",
            0 < len(cfg.seeds) <= 100 and min(cfg.seeds) >= 0,
            "1 to 100 non-negative integers",
        ),
        ("waves", 1 <= cfg.waves <= 100, "an integer from 1 to 100"),
        ("points", 2 <= cfg.points <= 100_000, "an integer from 2 to 100,000"),
        ("abc_points", 0 <= cfg.abc_points <= 1_000_000, "an integer from 0 to 1,000,000"),
        ("cutoff", cfg.cutoff >= ACCEPT, f"a number >= {ACCEPT}"),
    ):
        if not ok:
            raise UserError(f"{path}: {key}: got {getattr(cfg, key)!r}; allowed: {allowed}")
    if not NAME_PATTERN.fullmatch(cfg.name):  # it names folders, as a scenario's name does
        raise UserError(f"{path}: name: got {cfg.name!r}; allowed: {NAME_ALLOWED}")
    return cfg


# ---------------------------------------------------------------------------- implausibility
def implausibility(
    values: np.ndarray, targets: list[T.Target], emulator_var: np.ndarray | None = None
) -> np.ndarray:
    """Implausibility of model values (sets x targets) against each target's tolerance. With
    ``emulator_var`` (one variance per target) the values are an emulator's predictions and
    its error widens the tolerance: ``|value - centre| / sqrt((half / 2)^2 + var)``."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    out = np.empty_like(values)
    for j, t in enumerate(targets):
        m = values[:, j]
        var = 0.0 if emulator_var is None else float(emulator_var[j])
        if np.isfinite(t.lower) and np.isfinite(t.upper):
            centre, half = (t.lower + t.upper) / 2, (t.upper - t.lower) / 2
            out[:, j] = np.abs(m - centre) / np.sqrt((half / 2) ** 2 + var)
        else:
            bound = t.upper if np.isfinite(t.upper) else t.lower
            dist = np.maximum(_outside(m, t) - 2.0 * np.sqrt(var), 0.0)
            scale = max(abs(bound), 1e-9)
            out[:, j] = np.where(dist > 0, ACCEPT + ACCEPT * dist / scale, 0.0)
    out[~np.isfinite(values)] = np.inf
    return out


def _outside(values: np.ndarray, t: T.Target) -> np.ndarray:
    """How far each value lies outside the target's tolerance (negative: inside): beyond
    the nearer edge of a band, or beyond a one-sided bound."""
    if np.isfinite(t.lower) and np.isfinite(t.upper):
        return np.abs(values - (t.lower + t.upper) / 2) - (t.upper - t.lower) / 2
    if np.isfinite(t.upper):
        return values - t.upper
    return t.lower - values


# ---------------------------------------------------------------------------- evaluation
def evaluate_set(
    theta: dict[str, float],
    targets: list[T.Target],
    *,
    scale: float,
    seeds: tuple[int, ...],
    scale_by_scenario: dict[str, float] | None = None,
) -> np.ndarray:
    """Mean over seeds of every target's model value for one parameter set. Scenarios run at
    ``scale``, or at their own in ``scale_by_scenario`` (queues are longer in a smaller
    system, so figures about backlogs need a larger one)."""
    scale_by_scenario = scale_by_scenario or {}
    from em_abm.results import run_model

    runs = sorted({run for t in targets for run in t.runs}, key=repr)
    values = np.zeros((len(seeds), len(targets)))
    for i, seed in enumerate(seeds):
        results = {}
        for run in runs:
            scenario, years, overrides = run
            scen = scenario_for(theta, scenario).with_overrides(dict(overrides))
            with window_warned_by_caller():  # targets are read inside their windows
                results[run] = run_model(
                    scen, seed=seed, years=years, scale=scale_by_scenario.get(scenario, scale)
                )
        for j, t in enumerate(targets):
            ref = results[t.reference_run] if t.minus else None
            values[i, j] = t.measure(results[t.run], ref)
    return values.mean(axis=0)


def split_key(key: str) -> tuple[str, dt.date | None, str]:
    """``"[<scenario>[@<date>]:]<parameter>"`` as (scenario or "", date or None, parameter)."""
    where, _, name = key.rpartition(":")
    scenario, _, date = where.partition("@")
    if not date:
        return scenario, None, name
    try:
        return scenario, dt.date.fromisoformat(date), name
    except ValueError:
        raise UserError(f"free.{key}: {date!r} is not a date; allowed: YYYY-MM-DD") from None


def _check_change(path: Path, key: str, scenario: str, date: dt.date, name: str) -> None:
    from em_abm.scenario import load

    dated = [c for c in load(scenario).changes if c.date == date and name in c.values]
    if not dated:
        allowed = [f"{scenario}@{c.date}:{k}" for c in load(scenario).changes for k in c.values]
        raise UserError(
            f"{path}: free.{key}: {scenario} has no change on {date} that sets {name}; "
            f"allowed: {', '.join(allowed) or 'none (the scenario has no dated changes)'}"
        )


def _value(value: float, name: str) -> float | int:
    kind = P.PARAMS[name].kind
    return _round(value, kind) if kind == "int" else float(value)


def overrides_for(theta: dict[str, float], scenario: str) -> dict[str, float | int]:
    """The starting values a scenario runs with. A plain free parameter stands for the
    parameter's default: it applies to every scenario that does not set its own value (the
    2024 transition keeps its 2024 demand level, for example). ``"<scenario>:<parameter>"``
    is that scenario's own starting value. Dated changes are in :func:`scenario_for`."""
    from em_abm.scenario import load

    start = load(scenario).params
    out: dict[str, float | int] = {}
    for key, value in theta.items():
        where, date, name = split_key(key)
        own = start[name] != P.PARAMS[name].default
        if date is None and (where == scenario or (where == "" and not own)):
            out[name] = _value(value, name)
    return out


def scenario_for(theta: dict[str, float], scenario: str):
    """The scenario a parameter set runs: :func:`overrides_for` from its start, and
    ``"<scenario>@<date>:<parameter>"`` as the value that the scenario's change on that date
    sets (the 2024 transition's fitting success after the changeover, for example)."""
    from em_abm.scenario import Change, load

    scen = load(scenario)
    dated = {
        (d, name): _value(v, name)
        for key, v in theta.items()
        for where, d, name in [split_key(key)]
        if where == scenario and d is not None
    }
    if dated:
        changes = tuple(
            Change(
                c.date,
                {k: dated.get((c.date, k), v) for k, v in c.values.items()},
                c.note,
            )
            for c in scen.changes
        )
        scen = dataclasses.replace(scen, changes=changes)
    return scen.with_overrides(overrides_for(theta, scenario))


def _design(cfg: Config, box: np.ndarray, wave: int, emu=None, targets=None) -> np.ndarray:
    """A wave's sets: a Latin hypercube over ``box`` (SALib), or, once emulators exist, sets
    the emulators find not implausible, spread through that region (every k-th of a Sobol
    sample of the box that passes), topped up from the hypercube if too few pass."""
    from SALib.sample import latin

    problem = {"num_vars": len(cfg.free), "names": cfg.names, "bounds": box.tolist()}
    hypercube = latin.sample(problem, cfg.points, seed=cfg.design_seed + wave)
    if emu is None:
        return hypercube
    cands = _candidates(box, cfg.design_seed + DESIGN_SEED_OFFSET + wave)
    plausible = cands[emu.implausibility(cands, targets) <= cfg.cutoff]
    if len(plausible) >= cfg.points:
        pick = np.linspace(0, len(plausible) - 1, cfg.points).round().astype(int)
        return plausible[pick]
    return np.vstack([plausible, hypercube[: cfg.points - len(plausible)]])


EMULATOR_CANDIDATES = 2**16  # candidate sets the emulators judge per wave
# Method settings of the emulators (not model parameters): a quadratic is fitted locally
# when the box holds this many sets per regression term; fewer plausible candidates than
# this and the simulator's own sets decide the next box; the candidate samples' seeds are
# apart from the designs' (design_seed + wave).
LOCAL_FIT_SETS_PER_TERM = 4
MIN_PLAUSIBLE_CANDIDATES = 20
REFOCUS_SEED_OFFSET = 100
DESIGN_SEED_OFFSET = 200

# The ABC screen's margin in emulator errors. Measured on the baseline calibration's waves
# (emulators fitted to waves 4-6, judging all 585 sets run): a margin of 2 or 3 keeps all 5
# accepted sets, and 18% of the sets it passes at 3 are accepted (of the sets the waves ran
# as not implausible at cutoff 3, 1.5%).
ABC_SCREEN_SDS = 3.0


@dataclass(frozen=True)
class Emulators:
    """Quadratic regression emulators, one per figure, of the figures on the free
    parameters (scaled to the prior), fitted to the sets evaluated so far, with each
    emulator's residual variance as its error (Andrianakis et al. 2015 use Gaussian
    processes; a quadratic is enough for figures that are near-monotone in a few
    parameters, and its error is counted in the implausibility)."""

    prior: np.ndarray
    beta: np.ndarray  # features x figures
    var: np.ndarray  # figures

    @staticmethod
    def _features(u: np.ndarray) -> np.ndarray:
        return np.hstack([np.ones((len(u), 1)), u, u**2])

    @classmethod
    def fit(cls, prior: np.ndarray, thetas: np.ndarray, values: np.ndarray) -> Emulators:
        u = (thetas - prior[:, 0]) / (prior[:, 1] - prior[:, 0])
        f = cls._features(u)
        ok = np.isfinite(values).all(axis=1)
        f, y = f[ok], values[ok]
        a = f.T @ f + 1e-8 * len(f) * np.eye(f.shape[1])  # a touch of ridge for stability
        beta = np.linalg.solve(a, f.T @ y)
        dof = max(len(f) - f.shape[1], 1)
        var = ((y - f @ beta) ** 2).sum(axis=0) / dof
        return cls(prior, beta, var)

    def predict(self, thetas: np.ndarray) -> np.ndarray:
        """The emulated figures (sets x figures)."""
        u = (thetas - self.prior[:, 0]) / (self.prior[:, 1] - self.prior[:, 0])
        return self._features(u) @ self.beta

    def implausibility(self, thetas: np.ndarray, targets: list[T.Target]) -> np.ndarray:
        """The largest emulated implausibility of each set."""
        return implausibility(self.predict(thetas), targets, self.var).max(axis=1)

    def screen(
        self, thetas: np.ndarray, targets: list[T.Target], sds: float = ABC_SCREEN_SDS
    ) -> np.ndarray:
        """Whether each set could be within every tolerance: no figure's emulated value lies
        outside its tolerance by more than ``sds`` emulator errors (the residual standard
        deviation of its fit, which holds the seeds' noise). Sets that fail cannot be
        accepted, bar a ``sds``-sigma emulator error, so the ABC stage does not run them."""
        mean = self.predict(thetas)
        ok = np.ones(len(thetas), dtype=bool)
        for j, t in enumerate(targets):
            ok &= _outside(mean[:, j], t) <= sds * float(np.sqrt(self.var[j]))
        return ok


def _candidates(box: np.ndarray, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    unit = qmc.Sobol(len(box), scramble=True, seed=seed).random(EMULATOR_CANDIDATES)
    return qmc.scale(unit, box[:, 0], box[:, 1])


def _refocus(
    cfg: Config, prior: np.ndarray, box: np.ndarray, done: pd.DataFrame,
    targets: list[T.Target], wave: int,
) -> tuple[np.ndarray, float, Emulators]:  # fmt: skip
    """The next wave's box, by emulator-based history matching: emulators fitted to every set
    so far judge a Sobol sample of the current box; the next box encloses the candidates not
    implausible on any figure (largest emulated implausibility at most the cutoff), widened
    by a tenth of its width. Returns the box, the share of the current box judged not
    implausible, and the emulators. With too few such candidates, the simulator's own sets
    decide (:func:`_next_box`)."""
    names, tnames = cfg.names, [t.name for t in targets]
    thetas, values = done[names].to_numpy(), done[tnames].to_numpy()
    # Fitted locally: to the sets inside the current box when there are enough of them (a
    # quadratic fits a small region better than the whole prior), else to every set.
    inside = ((thetas >= box[:, 0]) & (thetas <= box[:, 1])).all(axis=1)
    if inside.sum() >= LOCAL_FIT_SETS_PER_TERM * (2 * len(names) + 1):
        thetas, values = thetas[inside], values[inside]
    emu = Emulators.fit(prior, thetas, values)
    cands = _candidates(box, cfg.design_seed + REFOCUS_SEED_OFFSET + wave)
    keep = emu.implausibility(cands, targets) <= cfg.cutoff
    share = float(keep.mean())
    if keep.sum() < MIN_PLAUSIBLE_CANDIDATES:
        current = done[done["wave"] == wave].sort_values("index")
        imp = implausibility(current[tnames].to_numpy(), targets)
        return _next_box(cfg, prior, box, current[names].to_numpy(), imp), share, emu
    lo, hi = cands[keep].min(axis=0), cands[keep].max(axis=0)
    pad = np.maximum(0.1 * (hi - lo), 0.01 * (box[:, 1] - box[:, 0]))
    new = np.column_stack([np.maximum(lo - pad, prior[:, 0]), np.minimum(hi + pad, prior[:, 1])])
    return new, share, emu


def _next_box(
    cfg: Config, prior: np.ndarray, box: np.ndarray, thetas: np.ndarray, imp: np.ndarray
) -> np.ndarray:
    """The box for the next wave: around the wave's non-implausible sets (largest
    implausibility at most the cutoff), or, while there are fewer than five of them (or a
    tenth of the wave), around its best fifth by the sum of squared implausibilities (so
    that one noisy target does not decide alone); widened by a tenth of its width (at least
    a hundredth of the current box) and kept within the prior. Parameters that matter
    shrink fast; the others keep their range."""
    keep = imp.max(axis=1) <= cfg.cutoff
    if keep.sum() < max(5, cfg.points // 10):
        score = (np.minimum(imp, 1e6) ** 2).sum(axis=1)
        keep = score <= np.quantile(score, 0.2)
    lo, hi = thetas[keep].min(axis=0), thetas[keep].max(axis=0)
    pad = np.maximum(0.1 * (hi - lo), 0.01 * (box[:, 1] - box[:, 0]))
    return np.column_stack([np.maximum(lo - pad, prior[:, 0]), np.minimum(hi + pad, prior[:, 1])])


@dataclass
class Calibration:
    """The outcome: every evaluated set, and the accepted ones."""

    config: Config
    targets: list[T.Target]
    evaluations: pd.DataFrame
    boxes: list[np.ndarray] = field(default_factory=list)  # each wave's
    last_box: np.ndarray | None = None  # the box after the last wave: the ABC stage's
    volumes: list[float] = field(default_factory=list)  # share of each box found plausible
    abc_screened: int = 0  # ABC draws the emulators' screen passed (each was run)

    @property
    def accepted(self) -> pd.DataFrame:
        """The sets within every target's tolerance: of the ABC stage when there is one (the
        posterior sample), else of every wave."""
        ev = self.evaluations
        if self.config.abc_points:
            ev = ev[ev["wave"] == self.config.waves + 1]
        return ev[ev["max_implausibility"] <= ACCEPT]

    @property
    def abc(self) -> pd.DataFrame:
        """Every set of the ABC stage (empty without one)."""
        if not self.config.abc_points:
            return self.evaluations.iloc[:0]
        return self.evaluations[self.evaluations["wave"] == self.config.waves + 1]

    def median(self) -> dict[str, float]:
        """Per-parameter median of the accepted sets (rounded to 4 significant digits)."""
        acc = self.accepted
        out = {}
        for key in self.config.names:
            value = float(np.median(acc[key]))
            out[key] = _round(value, P.PARAMS[key.rpartition(":")[2]].kind)
        return out


def _round(value: float, kind: str) -> float | int:
    if kind == "int":
        return round(float(value))
    return float(f"{value:.4g}")


def run(
    cfg: Config,
    *,
    jobs: int = 1,
    store: Path | None = None,
    restart: bool = False,
    progress: bool = True,
) -> Calibration:
    """Run (or resume) a calibration; evaluations are stored in ``store`` after each batch."""
    targets = cfg.fitted_rows()
    if not targets:
        raise UserError(f"{cfg.targets_file}: no rows with role = 'input' or 'target'")
    base = cfg.base()
    store = store or RUNS_DIR / cfg.name
    done = _load_store(store, cfg, targets, restart)
    names, tnames = cfg.names, [t.name for t in targets]
    prior = np.array([cfg.free[n] for n in names])
    box = prior.copy()
    boxes: list[np.ndarray] = []
    volumes: list[float] = []  # each wave's share of its box the emulators found plausible
    emu = None
    bar = None
    screened = 0
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.waves * cfg.points, unit="set", desc=f"calibrate {cfg.name}")
    for wave in range(1, cfg.waves + 1):
        boxes.append(box)
        thetas = _design(cfg, box, wave, emu, targets)
        done, rows = _kept(done, wave, thetas, names)
        todo = [i for i in range(len(thetas)) if rows is None or i not in rows.index]
        if bar is not None:
            bar.update(len(thetas) - len(todo))
        batch = max(2 * max(jobs, 1), 8)
        for start in range(0, len(todo), batch):
            idx = todo[start : start + batch]
            values = _evaluate_sets(cfg, base, names, thetas, idx, targets, jobs,
                                    scale=cfg.scale, seeds=lambda i: cfg.seeds)  # fmt: skip
            done = _stored(store, done, wave, idx, thetas, names, tnames, values)
            if bar is not None:
                bar.update(len(idx))
        box, share, emu = _refocus(cfg, prior, box, done[done["wave"] <= wave], targets, wave)
        volumes.append(share)
    if cfg.abc_points:
        box = _abc_box(cfg, prior, box, emu, targets)
        done, screened = _abc_stage(cfg, targets, names, box, done, store, jobs, base, bar, emu)
    if bar is not None:
        bar.close()
    done = done[done["wave"] <= cfg.waves + (1 if cfg.abc_points else 0)]
    done = done.sort_values(["wave", "index"], ignore_index=True)
    imp = implausibility(done[tnames].to_numpy(), targets)
    done["max_implausibility"] = imp.max(axis=1)
    return Calibration(config=cfg, targets=targets, evaluations=done, boxes=boxes, last_box=box,
                       volumes=volumes, abc_screened=screened)  # fmt: skip


ABC_MARGIN = 0.25  # the ABC box: the non-implausible sets' box widened by this share a side


def _abc_box(cfg: Config, prior: np.ndarray, box: np.ndarray, emu: Emulators,
             targets) -> np.ndarray:  # fmt: skip
    """The box the ABC stage samples: around the candidates of the last wave's box that the
    emulators find not implausible (cutoff 3, wider than the tolerance, with the emulators'
    error), widened by a quarter of its width on each side and kept within the prior. The
    acceptance region must lie inside it, or the posterior is cut off; the report shows how
    near the accepted sets come to its edges."""
    cands = _candidates(box, cfg.design_seed + ABC_DESIGN_OFFSET + 1)
    keep = emu.implausibility(cands, targets) <= cfg.cutoff
    if keep.sum() < 2:  # nothing plausible: the whole box
        return box
    lo, hi = cands[keep].min(axis=0), cands[keep].max(axis=0)
    pad = np.maximum(ABC_MARGIN * (hi - lo), 0.01 * (prior[:, 1] - prior[:, 0]))
    return np.column_stack([np.maximum(lo - pad, prior[:, 0]), np.minimum(hi + pad, prior[:, 1])])


def abc_seeds(cfg: Config, index: int) -> tuple[int, ...]:
    """The seeds of ABC set ``index``: its own, so that the posterior takes in the model's
    randomness rather than that of the few seeds the waves share."""
    k = len(cfg.seeds)
    return tuple(ABC_SEED_BASE + index * k + j for j in range(k))


ABC_SEED_BASE = 1_000_000


def _abc_stage(cfg, targets, names, box, done, store, jobs, base, bar, emu):
    """Approximate Bayesian computation by rejection (a uniform kernel: every target within
    its tolerance) over the box of :func:`_abc_box`: ``abc_points`` draws of a scrambled
    Sobol sequence (uniform; a larger ``abc_points`` keeps the sets already run). The
    emulators screen the draws (:meth:`Emulators.screen`): a draw that cannot be within every
    tolerance is not run. Each draw run has seeds of its own; they are stored as wave
    ``waves + 1``. Returns the evaluations and the number of draws the screen passed."""
    wave = cfg.waves + 1
    thetas = abc_design(cfg, box)
    screened = np.concatenate([
        emu.screen(thetas[i : i + ABC_CHUNK], targets) for i in range(0, len(thetas), ABC_CHUNK)
    ]) if len(thetas) else np.zeros(0, dtype=bool)  # fmt: skip
    tnames = [t.name for t in targets]
    done, rows = _kept(done, wave, thetas, names)
    if rows is not None and not screened[rows.index.to_numpy()].all():
        # Stored by an earlier screen: the stage is the draws this screen passes, so that a
        # resumed run holds what a fresh one would.
        gone = (done["wave"] == wave) & ~done["index"].isin(np.flatnonzero(screened))
        done = done[~gone].reset_index(drop=True)
        rows = rows[screened[rows.index.to_numpy()]]
    todo = [i for i in np.flatnonzero(screened) if rows is None or i not in rows.index]
    if bar is not None:
        bar.total += int(screened.sum())
        bar.update(int(screened.sum()) - len(todo))
    batch = max(4 * max(jobs, 1), 16)
    for start in range(0, len(todo), batch):
        idx = todo[start : start + batch]
        values = _evaluate_sets(cfg, base, names, thetas, idx, targets, jobs, scale=cfg.scale,
                                seeds=lambda i: abc_seeds(cfg, i))  # fmt: skip
        done = _stored(store, done, wave, idx, thetas, names, tnames, values)
        if bar is not None:
            bar.update(len(idx))
    return done, int(screened.sum())


ABC_CHUNK = 2**16  # draws the emulators screen at a time (bounded memory for large stages)


def _stored(store, done, wave, idx, thetas, names, tnames, values) -> pd.DataFrame:
    """``done`` with a batch's evaluations added, saved to the store (so a stopped run
    resumes after it)."""
    new = pd.DataFrame(thetas[idx], columns=names)
    new.insert(0, "index", idx)
    new.insert(0, "wave", wave)
    new[tnames] = np.array(values)
    done = pd.concat([done, new], ignore_index=True) if len(done) else new
    _save_store(store, done)
    return done


ABC_DESIGN_OFFSET = 7919  # the ABC design's seed, apart from the waves' (design_seed + wave)


def abc_design(cfg: Config, box: np.ndarray) -> np.ndarray:
    """The first ``abc_points`` points of a scrambled Sobol sequence over ``box``: uniform,
    and the same first points whatever the count, so raising it extends the stage."""
    from scipy.stats import qmc

    sobol = qmc.Sobol(len(box), scramble=True, seed=cfg.design_seed + ABC_DESIGN_OFFSET)
    with warnings.catch_warnings():  # balance needs a power of two; uniformity does not
        warnings.simplefilter("ignore", UserWarning)
        unit = sobol.random(cfg.abc_points)
    return qmc.scale(unit, box[:, 0], box[:, 1])


def _parallel(jobs: int, tasks) -> list:
    """``Parallel(n_jobs=jobs)(tasks)``. loky restarts a worker whose memory grew by 300 MB
    since it started (a full-scale run does) and warns about it; the restart is harmless."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "A worker stopped", UserWarning)
        return Parallel(n_jobs=jobs)(tasks)


def _evaluate_sets(cfg, base, names, thetas, idx, rows, jobs, *, scale, seeds) -> list:
    """The figures ``rows`` of parameter sets ``thetas[idx]`` (columns ``names``, on top of
    ``base``), each run at ``scale`` on ``seeds(i)`` and averaged over them, in a pool."""
    return _parallel(
        jobs,
        (
            delayed(evaluate_set)(
                {**base, **dict(zip(names, thetas[i].tolist(), strict=True))},
                rows,
                scale=scale,
                seeds=seeds(i),
                scale_by_scenario=cfg.scale_by_scenario,
            )
            for i in idx
        ),
    )


def _kept(done: pd.DataFrame, wave: int, thetas: np.ndarray, names: list[str]):
    """``done`` and the stored rows of ``wave`` (by design index), when they are sets of
    this design; else ``done`` without that wave and later ones (the method or the box
    changed: they are evaluated again), and no rows."""
    rows = done[done["wave"] == wave].set_index("index") if len(done) else None
    if rows is None or not len(rows):
        return done, rows
    same = rows.index.max() < len(thetas) and np.allclose(
        rows[names].to_numpy(), thetas[rows.index.to_numpy()], rtol=1e-12, atol=0
    )
    if same:
        return done, rows
    return done[done["wave"] < wave].reset_index(drop=True), None


def _load_store(store: Path, cfg: Config, targets: list[T.Target], restart: bool) -> pd.DataFrame:
    meta, data = store / "config.json", store / "evaluations.parquet"
    fingerprint = cfg.fingerprint(targets)
    if restart or not meta.exists():
        store.mkdir(parents=True, exist_ok=True)
        data.unlink(missing_ok=True)
        write_text_atomic(meta, json.dumps({"fingerprint": fingerprint}, indent=2) + "\n")
        return pd.DataFrame()
    if files.read_json(meta, "calibration store").get("fingerprint") != fingerprint:
        raise UserError(
            f"{store}: holds evaluations of a different configuration or targets; "
            "allowed: --restart to discard them, or another name"
        )
    if not data.exists():
        return pd.DataFrame()
    path = files.check_input(data, "calibration store", limit=files.TABLE_LIMIT)
    try:
        return pd.read_parquet(path)
    except Exception as e:  # a changed or truncated store, however it fails to parse
        raise UserError(
            f"{path}: cannot read ({str(e).splitlines()[0][:120] if str(e) else e!r}); "
            "allowed: the store em-abm wrote: run again with --restart"
        ) from None


def _read_sets(path: Path) -> pd.DataFrame:
    """A fitted sets table (CSV) through the one input reader, or one line."""
    path = files.check_input(path, "fitted sets", limit=files.TABLE_LIMIT)
    try:
        return pd.read_csv(path)
    except Exception as e:  # any way a changed file fails to parse is the same mistake
        raise UserError(
            f"{path}: cannot read ({str(e).splitlines()[0][:120] if str(e) else e!r}); "
            "allowed: the fitted sets em-abm wrote"
        ) from None


def _save_store(store: Path, df: pd.DataFrame) -> None:
    tmp = store / "evaluations.parquet.tmp"
    df.to_parquet(tmp, index=False)
    os.replace(tmp, store / "evaluations.parquet")


# ---------------------------------------------------------------------------- outputs
def write_fitted(cal: Calibration, folder: Path = FITTED_DIR) -> list[Path]:
    """The accepted sets (CSV) and a scenario with their medians (TOML) in ``folder``."""
    acc = cal.accepted
    if acc.empty:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    name = cal.config.name
    sets = acc[["wave", "index", *cal.config.names, *[t.name for t in cal.targets],
                "max_implausibility"]]  # fmt: skip
    csv_path, toml_path = folder / f"{name}.csv", folder / f"{name}.toml"
    tmp = csv_path.with_suffix(".csv.tmp")
    sets.to_csv(tmp, index=False, float_format="%.10g")
    os.replace(tmp, csv_path)
    text = fitted_scenario(name, cal.median(), len(acc), len(cal.evaluations))
    write_text_atomic(toml_path, text)
    written = [csv_path, toml_path]
    if cal.config.abc_points:
        written += write_posterior(cal, folder)
    return written


def write_posterior(cal: Calibration, folder: Path = FITTED_DIR) -> list[Path]:
    """The ABC stage's accepted sets as the posterior ensemble (``posterior.parquet``, in the
    design's random order, with each set's seeds) and what made it (``posterior.json``)."""
    cfg = cal.config
    acc = cal.accepted.sort_values("index")
    table = acc[["index", *cfg.names, *[t.name for t in cal.targets], "max_implausibility"]]
    table = table.rename(columns={"index": "abc_index"}).reset_index(drop=True)
    table.insert(1, "seeds", [" ".join(map(str, abc_seeds(cfg, int(i)))) for i in acc["index"]])
    path, meta_path = folder / "posterior.parquet", folder / "posterior.json"
    tmp = path.with_suffix(".parquet.tmp")
    table.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    box = cal.last_box if cal.last_box is not None else np.array([cfg.free[n] for n in cfg.names])
    meta = {
        "configuration": cfg.name,
        "method": "history matching in waves (quadratic emulators refocus the box), then ABC "
        "by rejection (uniform kernel: every input and target within its tolerance) over the "
        "box around the emulators' non-implausible region; a draw is run only when no "
        f"figure's emulated value lies outside its tolerance by more than {ABC_SCREEN_SDS:g} "
        "emulator errors",
        "plausible_share_by_wave": cal.volumes,
        "parameters": cfg.names,
        "prior": {n: list(cfg.free[n]) for n in cfg.names},
        "abc_box": {n: [float(lo), float(hi)] for n, (lo, hi) in zip(cfg.names, box, strict=True)},
        "fitted": [t.name for t in cal.targets],
        "scale": cfg.scale,
        "scale_by_scenario": cfg.scale_by_scenario,
        "seeds_per_set": len(cfg.seeds),
        "waves": cfg.waves,
        "points_per_wave": cfg.points,
        "abc_drawn": cfg.abc_points,
        "abc_screened": cal.abc_screened,
        "abc_run": len(cal.abc),
        "abc_accepted": len(acc),
    }
    write_text_atomic(meta_path, json.dumps(meta, indent=2) + "\n")
    return [path, meta_path]


def _count(n) -> str:
    return f"{n:,}" if isinstance(n, int) else "?"


def fitted_scenario(name: str, median: dict[str, float], accepted: int, evaluated: int) -> str:
    """A runnable scenario (TOML) with the calibrated medians.

    Values scoped to one scenario (``transition_2024:...``, ``transition_2024@DATE:...``)
    make that scenario the base, set from its start or as dated changes on top of its own;
    unscoped values go in ``[params]``. Values scoped to several scenarios cannot be one
    scenario: they stay as comments on a ``baseline_2026`` base.
    """
    scoped = {k: split_key(k) for k in median if ":" in k}
    scenarios = {scenario for scenario, _, _ in scoped.values()}
    base = scenarios.pop() if len(scenarios) == 1 else "baseline_2026"
    runnable = not scenarios  # at most one scenario was named
    params = {k: v for k, v in median.items() if ":" not in k}
    changes: dict[dt.date, dict[str, float]] = {}
    comments = []
    for key, (_, date, pname) in scoped.items():
        if not runnable:
            comments.append(_scoped_comment(key, median[key]))
        elif date is None:
            params[pname] = median[key]
        else:
            changes.setdefault(date, {})[pname] = median[key]
    lines = [
        f"# Calibrated by history matching (em-abm calibrate, configuration {name!r}):",
        f"# the median of {accepted} accepted parameter sets out of {evaluated}.",
        f'name = "calibrated_{name}"',
        f'description = "{base} with the medians of the {name} calibration"',
        f'base = "{base}"',
        *(["", *comments] if comments else []),
        "",
        "[params]",
        *(f'"{k}" = {v!r}' for k, v in params.items()),
    ]
    for date, values in sorted(changes.items()):
        lines += ["", "[[changes]]", f"date = {date.isoformat()}", 'note = "calibrated"']
        lines += [f'"{k}" = {v!r}' for k, v in values.items()]
    return "\n".join(lines) + "\n"


def _scoped_comment(key: str, value: float) -> str:
    scenario, date, name = split_key(key)
    when = f"on {date} sets" if date else "starts with"
    return f"# {scenario} {when} {name} = {value!r}"


def summary_table(cal: Calibration) -> pd.DataFrame:
    """Per free parameter: prior range, accepted median and 90% interval (NaN if none)."""
    return summary_table_from(cal.config, cal.accepted)


# ---------------------------------------------------------------------------- report
REPORT_SEEDS = (1, 2, 3)
REPORT_SETS = 12  # accepted sets run for the validation checks' interval


def report(
    cfg: Config, *, folder: Path = FITTED_DIR, out: Path | None = None, jobs: int = 1
) -> str:
    """``calibration/report.md`` and its figures, from the committed accepted sets alone.

    Targets: the model at the calibrated values (median over :data:`REPORT_SEEDS`, at the
    configuration's ``report_scale``, larger than the calibration's: a check of the scale
    effect), with the 90% interval of the accepted sets' values. Validation checks: the
    same, the interval from up to :data:`REPORT_SETS` accepted sets (evenly spaced in the
    file), since checks are never evaluated during calibration. Runs use fixed seeds, so
    the report is the same every time it is made from the same files.
    """
    csv_path = folder / f"{cfg.name}.csv"
    if not csv_path.exists():
        raise UserError(f"{csv_path}: no accepted sets; run `em-abm calibrate` first")
    sets = _read_sets(csv_path)
    targets, checks = cfg.fitted_rows(), cfg.rows("check")
    all_rows = targets + checks
    base = cfg.base()
    median = {k: float(np.median(sets[k])) for k in cfg.names}
    median = {k: _round(v, P.PARAMS[k.rpartition(":")[2]].kind) for k, v in median.items()}
    at_median = _values_over_seeds({**base, **median}, all_rows, cfg, REPORT_SEEDS, jobs)
    pick = np.unique(np.linspace(0, len(sets) - 1, min(REPORT_SETS, len(sets))).astype(int))
    # Targets added after these sets were evaluated (fitted by another script): their
    # intervals come from the same sampled sets as the checks'.
    later = [t for t in targets if t.name not in sets.columns]
    targets = [t for t in targets if t.name in sets.columns]
    checks_and_later = [*checks, *later]
    check_sets = _evaluate_sets(
        cfg, base, cfg.names, sets[cfg.names].to_numpy(dtype=float), pick, checks_and_later,
        jobs, scale=cfg.report_scale, seeds=lambda i: (REPORT_SEEDS[0],),
    )  # fmt: skip
    check_values = np.array(check_sets)
    out = out or ROOT / "calibration" / cfg.report
    figdir = out.parent / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    from em_abm.plots import calibration_marginals

    calibration_marginals(
        sets[cfg.names],
        ranges=cfg.free,
        calibrated=median,
        path=figdir / f"posterior_marginals_{cfg.name}.png",
    )
    path_figure = (
        _transition_figure({**base, **median}, cfg, figdir, jobs)
        if any(t.scenario == TRANSITION for t in targets)
        else None
    )

    def table(rows, interval_values):
        lines = [
            "| figure | scenario | published | at calibrated values | accepted sets, 90% "
            "interval | verdict | source |",
            "|---|---|---|---|---|---|---|",
        ]
        for j, t in enumerate(rows):
            value = float(np.median(at_median[t.name]))
            column = interval_values[j] if isinstance(interval_values, list) else (
                interval_values[:, j])  # fmt: skip
            lo, hi = np.quantile(column, [0.05, 0.95])
            ok = t.lower <= value <= t.upper
            lines.append(
                f"| {t.name} | {t.scenario} | {T._describe(t)} | {T._f(value)} | "
                f"[{T._f(lo)}, {T._f(hi)}] | {'pass' if ok else 'FAIL'} | {t.source} |"
            )
        return lines, sum(t.lower <= float(np.median(at_median[t.name])) <= t.upper for t in rows)

    later_values = check_values[:, len(checks) :]
    check_values = check_values[:, : len(checks)]
    fitted_values = {t.name: sets[t.name].to_numpy() for t in targets}
    fitted_values.update({t.name: later_values[:, j] for j, t in enumerate(later)})
    fitted = [*targets, *later]

    def fitted_table(role):
        rows = [t for t in fitted if t.role == role]
        lines, n = table(rows, [fitted_values[t.name] for t in rows])
        marked = [
            f"{line[:-2]} (fitted outside this history matching) |"
            if t.name not in sets.columns else line
            for t, line in zip(rows, lines[2:], strict=True)
        ]  # fmt: skip
        return lines[:2] + marked, n, rows

    input_lines, n_input_ok, inputs = fitted_table("input")
    target_lines, n_ok, targets = fitted_table("target")
    check_lines, n_check_ok = table(checks, check_values)
    summary = summary_table_from(cfg, sets)
    param_lines = [
        "| parameter | prior range | calibrated (median) | 90% interval |",
        "|---|---|---|---|",
    ]
    for _, r in summary.iterrows():
        name = r["parameter"]
        param_lines.append(
            f"| `{name}` | {T._f(r['prior_low'])} to {T._f(r['prior_high'])} | "
            f"{T._f(median[name])} | [{T._f(r['p05'])}, {T._f(r['p95'])}] |"
        )
    posterior_lines: list[str] = []
    if cfg.abc_points:
        param_lines = identifiability_lines(identifiability(cfg, sets))
        from em_abm.plots import correlation_heatmap

        correlation_heatmap(sets[cfg.names], path=figdir / f"posterior_correlations_{cfg.name}.png")
        rows = cfg.fitted_rows() + checks
        values = predictive(cfg, sets, rows, jobs)
        pp_lines, pp_ok = predictive_lines(rows, values)
        n_checks_ok = sum(
            t.lower <= float(np.median(values[:, j])) <= t.upper
            for j, t in enumerate(rows) if t.role == "check"
        )  # fmt: skip
        meta_path = folder / "posterior.json"
        meta = files.read_json(meta_path, "posterior") if meta_path.exists() else {}
        posterior_lines = [
            "## The posterior",
            "",
            f"{len(sets)} parameter sets were accepted of the ABC stage's "
            f"{_count(meta.get('abc_drawn'))} draws, of which {_count(meta.get('abc_run'))} "
            "were run "
            "(`calibration/fitted/posterior.parquet`). The draws are uniform (a scrambled Sobol "
            "sequence) in a box around the region the history matching's emulators find "
            "plausible, widened by a quarter of its width on each side. A draw is run only "
            "when no figure's emulated value lies outside its tolerance by more than "
            f"{ABC_SCREEN_SDS:g} emulator errors (the emulators' residual standard deviation, "
            "which holds the seeds' noise); each draw run is run on "
            f"{len(cfg.seeds)} seeds of its own at scale {cfg.scale:g} and kept when every "
            "input and target is within its tolerance: rejection ABC with a uniform kernel. "
            "Share of each wave's box the emulators found plausible: "
            + ", ".join(f"{v:.3g}" for v in meta.get("plausible_share_by_wave", []))
            + ". Sweeps and experiments run over it with `posterior = K` (or "
            "`--posterior K`).",
            "",
            "### Identifiability: what the data pin down",
            "",
            "The table above. A parameter whose posterior is as wide as its prior "
            "(ratio near 1) is not identified by these figures: its value in any result is "
            "an assumption, and sweeps over the posterior carry its uncertainty.",
            "",
            "### Pairwise correlations",
            "",
            *correlation_lines(cfg, sets),
            "",
            f"![posterior correlations](figures/posterior_correlations_{cfg.name}.png)",
            "",
            f"### Posterior predictive: every input, target and check ({pp_ok} of "
            f"{len(rows)} medians within their bands; checks {n_checks_ok} of "
            f"{sum(t.role == 'check' for t in rows)})",
            "",
            f"{values.shape[0]} posterior sets, each run once at scale {cfg.report_scale:g} "
            "on a seed of its own: the spread takes in both the parameters' uncertainty and "
            "the model's randomness. Checks were never fitted.",
            "",
            *pp_lines,
            "",
        ]
    scales = ", ".join(f"{k} at {v:g}" for k, v in cfg.scale_by_scenario.items())
    config_path = os.path.relpath(CONFIGS.get(cfg.name, DEFAULT_CONFIG), ROOT)
    text = "\n".join([
        f"# Calibration report: `{cfg.name}`",
        "",
        f"Made by `em-abm calibrate --config {config_path} --report` from "
        f"`calibration/fitted/{cfg.name}.csv` ({len(sets)} accepted parameter sets). "
        f"History matching in {cfg.waves} waves of {cfg.points} sets (the first a Latin "
        "hypercube of the prior, SALib; the others spread through the region quadratic "
        f"emulators find plausible), each run on seeds {list(cfg.seeds)} at scale {cfg.scale:g}"
        + (f" ({scales})" if scales else "")
        + "; a set is accepted when every target is within its tolerance. Method: "
        f"`em_abm/calibration.py`; configuration: `{config_path}`."
        + (f" Targets of {', '.join(cfg.scenarios)} only." if cfg.scenarios else "")
        + (
            f" Every run starts from the medians of the `{cfg.after}` calibration "
            f"(`calibration/{load_config(CONFIGS[cfg.after]).report}`), a stage before this one."
            if cfg.after
            else ""
        ),
        "",
        "## Calibrated parameters",
        "",
        *param_lines,
        "",
        f"![posterior marginals](figures/posterior_marginals_{cfg.name}.png)",
        "",
        *posterior_lines,
        f"## Inputs reproduced: {n_input_ok} of {len(inputs)} within tolerance",
        "",
        "Each is an identity of one parameter (named in `calibration/targets.toml`), set to "
        "reproduce it: shown, but no evidence that the model works.",
        "",
        *input_lines,
        "",
        f"## Calibration targets: {n_ok} of {len(targets)} within tolerance",
        "",
        f"At calibrated values: the median over seeds {list(REPORT_SEEDS)} of runs with the "
        f"calibrated values at scale {cfg.report_scale:g}"
        + (
            f" (calibration ran at {cfg.scale:g}: a check of the scale effect)"
            if cfg.report_scale != cfg.scale
            else " (the calibration's scale)"
        )
        + ". Interval: 5th to 95th percentile of the accepted sets' values at the "
        "calibration's scale.",
        "",
        *target_lines,
        "",
        f"## Validation checks (never tuned to): {n_check_ok} of {len(checks)} within "
        "tolerance",
        "",
        f"Interval: 5th to 95th percentile over {len(pick)} accepted sets (seed "
        f"{REPORT_SEEDS[0]}, scale {cfg.report_scale:g}).",
        "",
        *check_lines,
        "",
        *T.note_lines((t.name, t.note) for t in checks),
        *(
            [
                "## The 2024-2025 path",
                "",
                f"`{TRANSITION}` at the calibrated values (seeds {list(REPORT_SEEDS)}, scale "
                f"{cfg.scale_by_scenario.get(TRANSITION, cfg.report_scale):g}): people tagged "
                "against the HMPPS caseload series (`calibration/hmpps_caseload.csv`; the "
                "points before May 2024 are context, the model starts then) and outstanding "
                "visits against the NAO's figures.",
                "",
                f"![2024-2025 path](figures/{path_figure})",
                "",
            ]
            if path_figure
            else []
        ),
    ])  # fmt: skip
    write_text_atomic(out, text)
    return text


TRANSITION = "transition_2024"


def _transition_series(theta, seed: int, scale: float, years: float):
    from em_abm.results import run_model

    with window_warned_by_caller():  # the path is drawn to its window's end
        ts = run_model(scenario_for(theta, TRANSITION), seed=seed, years=years, scale=scale)
    ts = ts.timeseries.set_index("date")
    return ts["tagged"].rename(seed), ts["outstanding_visits"].rename(seed)


def _transition_figure(theta, cfg: Config, figdir: Path, jobs: int) -> str:
    from em_abm.plots import transition_path

    scale = cfg.scale_by_scenario.get(TRANSITION, cfg.report_scale)
    years = max(t.years for t in T.load(cfg.targets_file) if t.scenario == TRANSITION)
    runs = _parallel(
        jobs, (delayed(_transition_series)(theta, s, scale, years) for s in REPORT_SEEDS)
    )
    name = "transition_2024_path.png"
    transition_path(
        [r[0] for r in runs],
        [r[1] for r in runs],
        scale=scale,
        published=pd.read_csv(T.HMPPS_FILE),
        reported=T.NAO_BACKLOG,
        folder=figdir,
        name=name,
    )
    return name


def _values_over_seeds(theta, rows, cfg, seeds, jobs) -> dict[str, np.ndarray]:
    per_seed = _parallel(
        jobs,
        (
            delayed(evaluate_set)(
                theta,
                rows,
                scale=cfg.report_scale,
                seeds=(s,),
                scale_by_scenario=cfg.scale_by_scenario,
            )
            for s in seeds
        ),
    )
    values = np.array(per_seed)
    return {t.name: values[:, j] for j, t in enumerate(rows)}


def summary_table_from(cfg: Config, sets: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for name in cfg.names:
        lo, hi = cfg.free[name]
        q05, q50, q95 = np.quantile(sets[name], [0.05, 0.5, 0.95]) if len(sets) else [math.nan] * 3
        rows.append(
            {"parameter": name, "prior_low": lo, "prior_high": hi, "median": q50,
             "p05": q05, "p95": q95}
        )  # fmt: skip
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- the posterior
PREDICTIVE_SETS = 50  # posterior sets run for the posterior predictive intervals
PINNED, CONSTRAINED = 0.25, 0.75  # posterior width over prior width: identifiability verdicts


def quoted(median: float, p05: float, p95: float) -> str:
    """A value quoted to the precision its 90% interval supports: rounded to the power of ten
    at or below a fifth of the interval's width (e.g. 0.393 in [0.366, 0.409] is 0.39)."""
    width = p95 - p05
    if not (np.isfinite(width) and width > 0):
        return T._f(median)
    step = 10.0 ** math.floor(math.log10(width / 5))
    value = round(median / step) * step
    digits = max(0, -math.floor(math.log10(step)))
    return f"{value:,.{digits}f}"


def identifiability(cfg: Config, sets: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: the prior's range, the posterior's median and 90% interval, and the
    ratio of the posterior's 90% width to the prior's (a uniform prior's 90% width is 0.9 of
    its range): below a quarter the data pin the parameter down, above three quarters they
    say little about it."""
    rows = []
    for name in cfg.names:
        lo, hi = cfg.free[name]
        p05, p50, p95 = np.quantile(sets[name], [0.05, 0.5, 0.95])
        ratio = (p95 - p05) / (0.9 * (hi - lo))
        verdict = ("pinned down" if ratio < PINNED else
                   "constrained" if ratio < CONSTRAINED else "not identified")  # fmt: skip
        rows.append({"parameter": name, "prior_low": lo, "prior_high": hi, "median": p50,
                     "p05": p05, "p95": p95, "width_ratio": ratio, "verdict": verdict})  # fmt: skip
    return pd.DataFrame(rows)


def identifiability_lines(table: pd.DataFrame) -> list[str]:
    lines = [
        "| parameter | prior range | posterior median (quoted) | 90% interval | posterior "
        "width / prior width | the data |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        lines.append(
            f"| `{r['parameter']}` | {T._f(r['prior_low'])} to {T._f(r['prior_high'])} | "
            f"{quoted(r['median'], r['p05'], r['p95'])} | [{T._f(r['p05'])}, {T._f(r['p95'])}]"
            f" | {r['width_ratio']:.2f} | {r['verdict']} |"
        )
    return lines


def correlation_lines(cfg: Config, sets: pd.DataFrame, threshold: float = 0.3) -> list[str]:
    """The pairs of parameters whose posterior rank correlation is at least ``threshold``
    in size: trade-offs the data cannot separate."""
    rho = sets[cfg.names].rank().corr().to_numpy()
    pairs = [
        (abs(rho[i, j]), rho[i, j], cfg.names[i], cfg.names[j])
        for i in range(len(cfg.names))
        for j in range(i + 1, len(cfg.names))
        if abs(rho[i, j]) >= threshold
    ]
    if not pairs:
        return [f"No pair of parameters has a rank correlation of {threshold:g} or more in size."]
    lines = ["| parameter | parameter | rank correlation |", "|---|---|---|"]
    for _, r, a, b in sorted(pairs, reverse=True):
        lines.append(f"| `{a}` | `{b}` | {r:+.2f} |")
    return lines


def predictive(cfg: Config, sets: pd.DataFrame, rows: list[T.Target], jobs: int,
               k: int = PREDICTIVE_SETS) -> np.ndarray:  # fmt: skip
    """Posterior predictive values of ``rows``: up to ``k`` posterior sets (the first in the
    file, a random order), each run once at the report scale on a seed of its own; one row per
    set."""
    base = cfg.base()
    n = min(k, len(sets))
    values = _evaluate_sets(
        cfg, base, cfg.names, sets[cfg.names].to_numpy(dtype=float), range(n), rows, jobs,
        scale=cfg.report_scale, seeds=lambda i: (PREDICTIVE_SEED_BASE + i,),
    )  # fmt: skip
    return np.array(values).reshape(n, len(rows))


PREDICTIVE_SEED_BASE = 2_000_000


def predictive_lines(rows: list[T.Target], values: np.ndarray) -> tuple[list[str], int]:
    """A table of each figure's posterior predictive median and 90% interval, the share of
    sets within the published band, and a verdict (the median within the band)."""
    lines = [
        "| figure | role | scenario | published | posterior predictive median [90% interval] "
        "| sets within the band | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    n_ok = 0
    for j, t in enumerate(rows):
        v = values[:, j]
        med = float(np.median(v))
        lo, hi = np.quantile(v, [0.05, 0.95])
        inside = float(np.mean((v >= t.lower) & (v <= t.upper)))
        ok = t.lower <= med <= t.upper
        n_ok += ok
        scenario = t.scenario + (f" minus {t.minus}" if t.minus else "")
        lines.append(
            f"| {t.name} | {t.role} | {scenario} | {T._describe(t)} | {T._f(med)} "
            f"[{T._f(lo)}, {T._f(hi)}] | {inside:.0%} | {'pass' if ok else 'FAIL'} |"
        )
    return lines, n_ok
