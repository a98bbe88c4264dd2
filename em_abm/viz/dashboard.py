"""The dashboard's runs: the model day by day for the browser, with no Solara in it.

``em-abm dashboard [SCENARIO] [--port P]`` serves :mod:`em_abm.viz.app`, a Solara page that
holds, for each browser session, one :class:`Runs`: one policy (arm A) or two (A and B, the
comparison), each on one or more seeds (the same seeds in both arms, so the difference between
them is the policy's, not chance's), stepped together several days at a time.

Every control changes the run from the scenario's start: each model is warmed up under the
scenario as it stands, then the policies, capacities and levers chosen are set on day 0
(:class:`DashboardModel`), so day 0 does not already show their effect.

The browser can send any value for a control over the page's websocket: a select's list and a
slider's range hold only in the page. So every value is checked against what the page offers
(:func:`check_controls`) before anything is built, and a scenario is only ever one of the
packaged names or the one the dashboard was started with, never another path.
"""

from __future__ import annotations

import datetime as dt
import math
import threading

import numpy as np
import pandas as pd

from em_abm import params as P
from em_abm.errors import UserError
from em_abm.metrics import BY_NAME, COLUMN_INDEX, per_england_and_wales, scale_label
from em_abm.model import EMModel
from em_abm.plots import TOLERABLE_BACKLOG
from em_abm.population import NoticeState, State
from em_abm.scenario import available

COLOUR_BY = {
    "outstanding visits": "visits",
    "notifications awaiting a response": "notices",
}
ARMS = ("A", "B")
YEARS = 3.0


def _choice(name: str, label: str) -> dict:
    p = P.PARAMS[name]
    return {"type": "Select", "value": p.default, "values": list(p.choices), "label": label}


def _slider(label: str, value: float, lo: float, hi: float, step: float) -> dict:
    return {"type": "SliderFloat", "value": value, "min": lo, "max": hi, "step": step,
            "label": label}  # fmt: skip


def _whole(label: str, value: int, lo: int, hi: int) -> dict:
    return {"type": "SliderInt", "value": value, "min": lo, "max": hi, "step": 1, "label": label}


def _capacity(label: str) -> dict:
    return _slider(label, 1.0, 0.2, 2.0, 0.05)


def _checkbox(label: str, value: bool = False) -> dict:
    return {"type": "Checkbox", "value": value, "label": label}


MAX_SEED = 100  # the seed slider's largest value
# What one arm's controls set, from the scenario start: control -> parameter(s).
LEVERS = {
    "visit_queue": ("policy.visit_queue",),
    "alert_triage": ("policy.alert_triage",),
    "response_queue": ("policy.response_queue",),
    "field_capacity": ("field.capacity_multiplier",),
    "monitoring_capacity": ("monitoring.capacity_multiplier",),
    "probation_capacity": ("probation.capacity_multiplier",),
    "police_capacity": ("police.capacity_multiplier",),
    "tag_at_court_share": ("pilot.tag_at_court_share",),
    "pre_release_share": ("pilot.pre_release_share",),
    "automated_scheduling": ("pilot.automated_scheduling",),
    "tag_share": tuple(f"allocation.tag_share.{c}" for c in P.COHORTS),
    "contingency": ("contingency.enabled",),
}


def model_params(scenario: str) -> dict:
    """One arm's controls: each a keyword of :class:`DashboardModel` with its widget, and what
    the model accepts for it (:func:`check_controls`)."""
    return {
        "scenario_name": {
            "type": "Select",
            "value": scenario,
            "values": list(available()) + ([] if scenario in available() else [scenario]),
            "label": "scenario",
        },
        # England and Wales: queues are scale artefacts below it (README, Scale)
        "scale": _slider("scale (share of England and Wales)", 1.0, 0.02, 1.0, 0.02),
        "seed": _whole("seed", 1, 1, MAX_SEED),
        "visit_queue": _choice("policy.visit_queue", "field visits: order"),
        "alert_triage": _choice("policy.alert_triage", "alert triage"),
        "response_queue": _choice("policy.response_queue", "breach responses: order"),
        "field_capacity": _capacity("field officers' capacity (x plan)"),
        "monitoring_capacity": _capacity("monitoring centre's capacity (x plan)"),
        "probation_capacity": _capacity("probation's capacity (x plan)"),
        "police_capacity": _capacity("police capacity (x plan)"),
        "tag_at_court_share": _slider("pilot: share fitted in court", 0.0, 0.0, 1.0, 0.05),
        "pre_release_share": _slider("pilot: share fitted in prison", 0.0, 0.0, 1.0, 0.05),
        "automated_scheduling": _checkbox("pilot: automated scheduling"),
        "tag_share": _slider("rationing: share of new orders tagged", 1.0, 0.0, 1.0, 0.05),
        "contingency": _checkbox(
            f"contingency: surge capacity above {TOLERABLE_BACKLOG:,.0f} visits"
        ),
    }


# Shared by both arms (the same run, scale and seeds); the rest of model_params is per arm.
RUN_KEYS = ("scale", "seed")

SESSION_CONTROLS = {
    "compare": _checkbox("compare with a second policy (B)"),
    "replicates": _whole("seeds (replicate runs, for bands)", 1, 1, 4),
    "days_per_frame": _whole("days per frame", 14, 1, 30),
}


def check_controls(values: dict, controls: dict) -> None:
    """Refuse, as one :class:`UserError` line, a value that no widget of ``controls``
    (:func:`model_params`) offers: a select's value must be one of its choices, a checkbox's
    True or False, a slider's a finite number within its range (a whole number for
    ``SliderInt``). Nothing else is done with the values first, so a refused scenario is never
    looked up on disk."""
    for name, value in values.items():
        spec = controls[name]
        if spec["type"] == "Select":
            if isinstance(value, str) and value in spec["values"]:
                continue
            allowed = ", ".join(spec["values"])
        elif spec["type"] == "Checkbox":
            if isinstance(value, bool):
                continue
            allowed = "true or false"
        else:
            lo, hi, whole = spec["min"], spec["max"], spec["type"] == "SliderInt"
            real = int | float | np.integer | np.floating
            number = isinstance(value, real) and not isinstance(value, bool)
            if number and lo <= value <= hi and (not whole or float(value).is_integer()):
                continue
            allowed = f"{'a whole number' if whole else 'a number'} from {lo:g} to {hi:g}"
        shown = repr(value) if len(repr(value)) <= 200 else repr(value)[:197] + "..."
        raise UserError(f"{spec['label']}: got {shown}; allowed: {allowed}")


class DashboardModel(EMModel):
    """:class:`EMModel` with the dashboard's controls as keyword arguments, started at the
    scenario's start (warm-up done under the scenario as it stands, then the controls' values
    set), stopping at the end of ``years``.

    The controls' values are checked against :attr:`controls` (the packaged scenarios only);
    :meth:`offering` makes the class the dashboard builds, which also offers the scenario it
    was started with.
    """

    controls: dict = model_params("baseline_2026")

    @classmethod
    def offering(cls, scenario: str) -> type[DashboardModel]:
        """This class, offering the packaged scenarios and ``scenario`` (a name or the path
        of the file the dashboard was started with)."""
        return type(cls.__name__, (cls,), {"controls": model_params(scenario)})

    def __init__(
        self,
        scenario_name: str = "baseline_2026",
        scale: float = 1.0,
        seed: int = 1,
        years: float = YEARS,
        visit_queue: str = P.PARAMS["policy.visit_queue"].default,
        alert_triage: str = P.PARAMS["policy.alert_triage"].default,
        response_queue: str = P.PARAMS["policy.response_queue"].default,
        field_capacity: float = 1.0,
        monitoring_capacity: float = 1.0,
        probation_capacity: float = 1.0,
        police_capacity: float = 1.0,
        tag_at_court_share: float = 0.0,
        pre_release_share: float = 0.0,
        automated_scheduling: bool = False,
        tag_share: float = 1.0,
        contingency: bool = False,
    ) -> None:
        given = {k: v for k, v in locals().items() if k in self.controls}
        check_controls(given, self.controls)
        super().__init__(scenario_name, rng=int(seed), years=years, scale=scale)
        # Past the scenario's calibrated window: the page says so (the app keeps the warning
        # out of the server's log).
        self.window_note = self.scenario_def.past_window(self.n_days) or ""
        # A capacity control multiplies the scenario's own capacity (dated changes included);
        # any other control left at its default leaves the scenario's value alone.
        self.factors: dict[str, float] = {}
        self.fixed: dict[str, object] = {}
        for control, names in LEVERS.items():
            value = given[control]
            if isinstance(value, np.generic):
                value = value.item()
            if value == self.controls[control]["value"]:
                continue
            for n in names:
                if control.endswith("_capacity"):
                    self.factors[n] = float(value)
                else:
                    self.fixed[n] = value
        self.fixed = self.scenario_def.with_overrides(self.fixed).overrides  # checked
        self._levers_set = False
        self.advance(self.warmup)
        # Set from the scenario's start: the warm-up ran under the scenario as it stands.
        self._levers_set = True
        self._set_levers(set(self.factors) | set(self.fixed))

    def _set_levers(self, names: set[str]) -> None:
        """The controls' values for the parameters ``names`` (those just set by the scenario)."""
        names = names & (set(self.factors) | set(self.fixed))
        for n in names:
            if n in self.factors:
                self.p[n] = min(self.p[n] * self.factors[n], P.PARAMS[n].upper)
            else:
                self.p[n] = self.fixed[n]
        if names:
            self.apply_params()

    def _apply_due_changes(self) -> list:
        """The scenario's dated changes, then the controls' values on what they changed."""
        due = super()._apply_due_changes()
        if self._levers_set and due:
            self._set_levers(set().union(*(c.values for c in due)))
        return due

    # ---------------------------------------------------------------- what the panels show
    def recorded(self) -> np.ndarray:
        """The daily metrics rows recorded so far (days since the scenario start)."""
        return self.series[: max(self.day + 1, 0)]

    def by_area(self) -> dict[str, np.ndarray]:
        """Today's tagged people, outstanding visits and notifications awaiting a response,
        per force area (counts of this run's scale)."""
        o, nt = self.orders, self.notices
        n_areas = len(self.geography.areas)
        state, area = o.view("state"), o.view("area")
        due = (o.view("visit") != 0) & (o.view("ready_day") <= self.day)
        waiting = nt.view("state") == NoticeState.AWAITING_RESPONSE
        return {
            "tagged": np.bincount(area[state == State.FITTED], minlength=n_areas),
            "visits": np.bincount(area[due], minlength=n_areas),
            "notices": np.bincount(nt.view("area")[waiting], minlength=n_areas),
        }


def default_settings(model_class: type[DashboardModel]) -> dict:
    """The page's settings as it opens: the session's controls, the run's, and arm A's and
    arm B's (B as A until changed)."""
    arm = {k: s["value"] for k, s in model_class.controls.items() if k not in RUN_KEYS}
    return {
        **{k: s["value"] for k, s in SESSION_CONTROLS.items()},
        **{k: model_class.controls[k]["value"] for k in RUN_KEYS},
        "A": dict(arm),
        "B": dict(arm),
    }


def check_settings(settings: dict, model_class: type[DashboardModel]) -> None:
    """Every value of ``settings`` (:func:`default_settings`) against its control, in one
    :class:`UserError` line; keys other than the controls' are refused too."""
    controls = model_class.controls
    session = {k: v for k, v in settings.items() if k in SESSION_CONTROLS}
    check_controls(session, SESSION_CONTROLS)
    check_controls({k: settings.get(k) for k in RUN_KEYS}, controls)
    for arm in ARMS:
        values = settings.get(arm)
        if not isinstance(values, dict) or set(values) != set(controls) - set(RUN_KEYS):
            raise UserError(f"policy {arm}: got other controls; allowed: {', '.join(controls)}")
        check_controls(values, controls)
    extra = set(settings) - set(SESSION_CONTROLS) - set(RUN_KEYS) - set(ARMS)
    if extra:
        raise UserError(f"settings: got {sorted(extra)!r}; allowed: the page's controls")


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """The seeds of the replicate runs: ``seed`` and the next ones (after the seed slider's
    largest, 1 again)."""
    return [(seed - 1 + k) % MAX_SEED + 1 for k in range(replicates)]


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least ``x``."""
    if x <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(x))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= x)


class Runs:
    """The session's runs: for each arm (A, or A and B), one :class:`DashboardModel` per seed,
    all on the same seeds and stepped together. Counts are read as England-and-Wales
    equivalents (divided by the scale)."""

    def __init__(self, settings: dict, model_class: type[DashboardModel], progress=None):
        check_settings(settings, model_class)
        self.settings = settings
        self.scale = float(settings["scale"])
        self.seeds = replicate_seeds(int(settings["seed"]), int(settings["replicates"]))
        self.arms = ARMS if settings["compare"] else ARMS[:1]
        self.lock = threading.Lock()
        self.panels = None  # the page's time-series panels, made when first drawn
        self.player = None  # the play loop stepping these runs, if any
        self.models: dict[str, list[DashboardModel]] = {}
        total, done = len(self.arms) * len(self.seeds), 0
        for arm in self.arms:
            self.models[arm] = []
            for seed in self.seeds:
                if progress:
                    progress(done, total)
                self.models[arm].append(
                    model_class(scale=self.scale, seed=seed, years=YEARS, **settings[arm])
                )
                done += 1
        first = self.first
        self.n_days = first.n_days
        self.start_date = first.start_date
        self.names = [first.geography.graph.nodes[a]["name"] for a in first.geography.areas]
        # The map's colour scale, fixed for the run: 0 to three times the largest area's
        # count at the start (at least 10), rounded up; areas above it take the top colour.
        start = self.by_area()
        self.colour_max = {m: nice_ceiling(max(10.0, 3 * start[c].max()))
                           for m, c in COLOUR_BY.items()}  # fmt: skip
        self.tagged_max = nice_ceiling(max(start["tagged"].max(), 1.0))

    @property
    def first(self) -> DashboardModel:
        return self.models["A"][0]

    @property
    def day(self) -> int:
        return self.first.day

    @property
    def ended(self) -> bool:
        return self.day >= self.n_days - 1

    @property
    def date(self) -> dt.date:
        return self.first.date_of(max(self.day, 0))

    @property
    def last_date(self) -> dt.date:
        return self.first.date_of(self.n_days - 1)

    def step(self, days: int) -> int:
        """Simulate up to ``days`` days in every run (fewer at the horizon); the days done."""
        with self.lock:
            n = max(0, min(int(days), self.n_days - 1 - self.day))
            for models in self.models.values():
                for m in models:
                    m.advance(n)
            return n

    def per(self, column: str) -> float:
        """What a count of ``column`` is multiplied by to give England and Wales."""
        return per_england_and_wales(column, 1.0, self.scale)

    def series(self, column: str) -> np.ndarray:
        """``column`` by arm, seed and day so far (England-and-Wales equivalents)."""
        i = COLUMN_INDEX[column]
        return np.array(
            [[m.recorded()[:, i] for m in self.models[a]] for a in self.arms]
        ) * self.per(column)

    def dates(self) -> np.ndarray:
        return np.datetime64(self.start_date) + np.arange(max(self.day + 1, 0))

    def by_area(self) -> dict[str, np.ndarray]:
        """Arm A's counts per force area today, mean over its seeds (England and Wales)."""
        counts = [m.by_area() for m in self.models["A"]]
        per = self.per("tagged")  # counts of people, visits and notices scale alike
        return {k: np.mean([c[k] for c in counts], axis=0) * per for k in counts[0]}

    def outcomes(self) -> list[tuple[str, str, np.ndarray]]:
        """The research outcomes so far, each (label, unit, values by arm and seed)."""

        def total(*columns):
            return sum(self.series(c).sum(axis=2) for c in columns)

        def today(column):
            s = self.series(column)
            return s[:, :, -1] if s.shape[2] else np.zeros(s.shape[:2])

        def rate(name):  # a rate metric as declared: its numerator over its denominator
            m = BY_NAME[name]
            return m.factor * total(m.num) / total(m.den)

        # The composites' parts as declared in em_abm/metrics.py (one definition).
        protection = dict(BY_NAME["public_protection"].parts)
        cost = dict(BY_NAME["cost_total_gbp"].parts)["total"]
        with np.errstate(invalid="ignore", divide="ignore"):
            rows = [
                ("Offences per 100 people followed for 12 months (primary outcome)",
                 "per 100", rate("followup_offences_per_100")),
                ("Offences averted by tags per 100 people followed",
                 "per 100", rate("followup_offences_averted_per_100")),
                ("Unmonitored person-days (on an order without a working tag, or declined)",
                 "person-days", total(*protection["unmonitored_person_days"])),
                ("Serious breaches not acted on within 24 hours",
                 "breaches", total(*protection["serious_breaches_unanswered_24h"])),
                ("People followed who are in custody today", "people", today("people_in_custody")),
                ("Days in custody of people followed", "bed-days", total("custody_days")),
                ("Cost so far: EM service, probation, police and custody", "GBP million",
                 total(*cost) / 1e6),
                ("Tagged people today", "people", today("tagged")),
                ("Outstanding field visits today", "visits", today("outstanding_visits")),
            ]  # fmt: skip
        return [(label, unit, np.nan_to_num(v)) for label, unit, v in rows]

    def table(self) -> pd.DataFrame:
        """Every run's series so far, one row per arm, seed and day, with every metric (counts
        as England-and-Wales equivalents) and what the counts are: the CSV export."""
        with self.lock:
            parts = []
            for arm in self.arms:
                for seed, m in zip(self.seeds, self.models[arm], strict=True):
                    f = m.frame()
                    scaled = f.drop(columns="date")
                    scaled = scaled.mul([self.per(c) for c in scaled.columns], axis=1)
                    head = pd.DataFrame({
                        "arm": arm, "scenario": m.scenario_def.name, "seed": seed,
                        "scale": self.scale, "counts": scale_label(self.scale, equivalent=True),
                        "date": f["date"],
                    })  # fmt: skip
                    parts.append(pd.concat([head, scaled], axis=1))
        return pd.concat(parts, ignore_index=True)

    def description(self, arm: str) -> str:
        """What differs in ``arm`` from the controls' defaults, in a few words."""
        values = self.settings[arm]
        controls = self.first.controls
        changed = [
            f"{controls[k]['label']} {v:g}" if isinstance(v, float) else
            f"{controls[k]['label']} {v}"
            for k, v in values.items() if k != "scenario_name" and v != controls[k]["value"]
        ]  # fmt: skip
        return f"{values['scenario_name']}" + (f" ({'; '.join(changed)})" if changed else "")
