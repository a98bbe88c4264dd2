"""EMModel: electronic monitoring in England and Wales as a Mesa model.

The model holds the clock, the random streams, the state tables and the daily record, and
runs its components (:mod:`em_abm.component`) in the order of :data:`COMPONENTS`, one for
each stage of the NAO's system and one for each pilot or intervention. Time is in days;
Mesa runs :meth:`EMModel.step` once per simulated day, and timed happenings (equipment
deliveries, surge capacity, dated scenario changes) are Mesa events that fire at the start
of their day. A day:

1. ``orders`` (stage 2, :mod:`em_abm.stages.orders`): requesters send new orders, rationed by
   ``rationing`` and fitted at source by ``fit_at_source`` under those pilots; rework and
   review of escalated orders; orders that end today;
2. ``people`` (:mod:`em_abm.stages.people`): everyone followed (on an order, in custody after
   one, or in their after-order or follow-up period) is released, offends at the rates of
   ``reoffending`` (:mod:`em_abm.stages.reoffending`) and meets the courts' response;
3. ``behaviour`` (stage 4, :mod:`em_abm.stages.behaviour`): violations, tampering, lost
   contact, false alarms and offending, for every active order in one compiled pass;
4. ``monitoring`` (stages 4 and 6, :mod:`em_abm.stages.monitoring`): alerts are reviewed up to
   capacity; ``breach_packs`` (stage 6) sends notifications;
5. ``responses`` (stage 7, :mod:`em_abm.stages.responses`): probation, police and the Home
   Office act on the packs they hold;
6. ``field`` (stages 3, 5 and 8, :mod:`em_abm.stages.field`): field officers take due visits
   (fits, checks, removals) in the policy's order until their hours are spent;
7. ``contingency`` (:mod:`em_abm.interventions.contingency`): escalation thresholds;
8. ``supply`` (stage 1, :mod:`em_abm.stages.supply`): the supplier reorders regional stock;
9. ``removal`` (stage 8, :mod:`em_abm.stages.removal`): the day's closed orders leave; the
   day's metrics are recorded.

Per-order work runs in compiled passes over the :class:`~em_abm.population.OrderTable`
(:mod:`em_abm.kernels`) or numpy operations on it; Python code runs per order only when an
order arrives or closes (its Mesa agent is created or removed).

Randomness: one seed. Independent streams are spawned from it for arrivals, the initial
state, check visits and the after-removal pool, so that a change of policy never reshuffles
who arrives when. Outcomes that belong to an order or a breach (does attempt *k* succeed, is
its device collected, what does the requester decide in round *r*, does the wearer violate
or offend on day *d*, how long is the breach pack, what does the responder decide) are drawn
by hashing the order's key with the event, so they are the same whichever day or order a
policy handles them in: common random numbers for paired policy comparisons.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import math
from collections.abc import Mapping
from typing import Any

import mesa
import numpy as np

import em_abm.interventions
import em_abm.stages  # noqa: F401 (importing the packages registers their components)
from em_abm import limits
from em_abm.component import Component, Stages, declared_fields, resolve
from em_abm.errors import UserError
from em_abm.geography import Geography
from em_abm.kernels.core import crn  # noqa: F401 (em_abm.model.crn: the API tests use)
from em_abm.kernels.field import FIELD_COUNTERS
from em_abm.metrics import COLUMN_INDEX, COLUMNS
from em_abm.params import COHORTS, OUTCOMES, RESPONDERS
from em_abm.population import NotificationTable, OrderTable, PersonTable
from em_abm.record import MetricCollector, Record
from em_abm.scenario import Scenario, load, warn_past_window

# Random streams spawned from the run's seed, in this order. Append new streams at the end
# only: the position of a stream fixes its numbers.
STREAMS = ("arrivals", "init", "maintenance", "behaviour")

# The components, in the order they run each day (and are set up).
COMPONENTS = (
    "orders", "rationing", "fit_at_source", "victim_proximity", "reoffending", "people",
    "behaviour", "monitoring", "breach_packs", "responses", "field", "contingency", "supply",
    "removal",
)  # fmt: skip

# Metric columns of per-cohort, per-outcome and per-counter counts, added in one go.
COUNT_GROUPS = {
    "breach_notifications": [f"breach_notifications.{c}" for c in COHORTS],
    "responses": [f"responses.{x}" for x in OUTCOMES],
    "custody_admissions_from_breach": [f"custody_admissions_from_breach.{c}" for c in COHORTS],
    "orders_received": [f"orders_received.{c}" for c in COHORTS],
    "orders_endogenous": [f"orders_endogenous.{c}" for c in COHORTS],
    "followup_people_12m": [f"followup_people_12m.{c}" for c in COHORTS],
    "followup_proven_reoffenders_12m": [f"followup_proven_reoffenders_12m.{c}" for c in COHORTS],
    "field": list(FIELD_COUNTERS),
}
_GROUP_INDEX = {k: np.array([COLUMN_INDEX[c] for c in v]) for k, v in COUNT_GROUPS.items()}


def days_for_years(years: float) -> int:
    return round(years * 365.25)


class EMModel(Record, mesa.Model):
    """The electronic monitoring system of England and Wales.

    Args:
        scenario: a packaged scenario name, a path to a TOML file, or a :class:`Scenario`.
        rng: the run's seed (an int). ``None`` draws one from the operating system; it is
            recorded as ``model.seed`` either way.
        years: simulated years after the scenario start.
        scale: population and every capacity multiplied by this (0.1 = a tenth of England
            and Wales).
        overrides: parameter values applied on top of the scenario from its start.
        components: replacements for registered components, ``{name: Component subclass}``
            (see :mod:`em_abm.component`).
        check_invariants: assert conservation and capacity invariants every day (tests).
        **params: parameter values by their dotted names, as keywords
            (``EMModel(**{"field.officers": 400})``; what ``mesa.batch_run`` passes); the same
            as ``overrides``, and refused if a name is in both.

    Each Mesa step simulates one day (warm-up first); ``running`` turns False at the
    horizon, ``datacollector`` collects the declared metrics, and :meth:`value` reads one
    metric on one day: see :mod:`em_abm.record`.
    """

    def __init__(
        self,
        scenario: str | Scenario = "baseline_2026",
        *,
        rng: int | None = None,
        years: float = 3.0,
        scale: float = 1.0,
        overrides: dict[str, Any] | None = None,
        components: Mapping[str, type[Component]] | None = None,
        check_invariants: bool = False,
        **params: Any,
    ) -> None:
        if not limits.years_ok(years):
            raise UserError(f"years: got {years!r}; allowed: {limits.YEARS_ALLOWED}")
        if not limits.scale_ok(scale):
            raise UserError(f"scale: got {scale!r}; allowed: {limits.SCALE_ALLOWED}")
        if rng is None:
            rng = int(np.random.SeedSequence().entropy % (2**63))
        if isinstance(rng, bool) or not isinstance(rng, int | np.integer) or rng < 0:
            raise UserError(f"seed: got {rng!r}; allowed: a non-negative integer")
        if overrides is not None and not isinstance(overrides, Mapping):
            raise UserError(
                f"overrides: got a {type(overrides).__name__}; allowed: a dict of parameter "
                "names and values, e.g. {'field.officers': 400}"
            )
        if overrides and not all(isinstance(k, str) for k in overrides):
            bad = next(k for k in overrides if not isinstance(k, str))
            raise UserError(f"overrides: key {bad!r}; allowed: parameter names (strings)")
        both = sorted(set(params) & set(overrides or {}))
        if both:
            raise UserError(f"{both[0]}: given as a keyword and in overrides; allowed: one of them")
        overrides = {**(overrides or {}), **params}
        self.scenario_def = load(scenario).with_overrides(
            dict(overrides or {}), where="overrides", keyed=True
        )
        classes = resolve(COMPONENTS, components)
        super().__init__(rng=int(rng))
        # Mesa makes `step` the method that advances its clock, then calls ours; a step past
        # the horizon is refused before the clock moves (a timed run past it does nothing).
        self._mesa_step, self.step = self.step, self._step_within_horizon
        self.seed = int(rng)
        self.years = float(years)
        self.scale = float(scale)
        self.check_invariants = check_invariants
        # With check_invariants: each desk's capacity since the start against its work.
        self.ledger = {"reviews": np.zeros(2), "responses": np.zeros((2, len(RESPONDERS)))}
        self.p: dict[str, Any] = dict(self.scenario_def.params)
        self.start_date: dt.date = self.scenario_def.start
        self.n_days = days_for_years(self.years)
        warn_past_window(self.scenario_def, self.n_days)
        self.warmup = int(self.p["time.warmup_days"])
        self.day = -self.warmup - 1  # index of the day being simulated; < 0 during warm-up

        seqs = np.random.SeedSequence(self.seed).spawn(len(STREAMS))
        self.rngs = {name: np.random.default_rng(s) for name, s in zip(STREAMS, seqs, strict=True)}
        self.geography = Geography(
            road_speed_kmh=self.p["field.road_speed_kmh"],
            road_circuity=self.p["field.road_circuity"],
        )
        self.n_regions = len(self.geography.regions)
        self.stages = Stages((name, cls(self)) for name, cls in classes.items())
        # The state tables, with the fields the components declare.
        orders, notices, people = (
            declared_fields(self.stages, k)
            for k in ("order_fields", "notice_fields", "person_fields")
        )
        self.orders = OrderTable(capacity=int(60_000 * self.scale) + 64, extra=orders)
        self.people = PersonTable(capacity=int(150_000 * self.scale) + 64, extra=people)
        self.notices = NotificationTable(capacity=int(4000 * self.scale) + 64, extra=notices)
        self.samples: dict[str, list[np.ndarray]] = {}
        self.series = np.zeros((self.n_days, len(COLUMNS)), dtype=np.float64)
        self._flow = np.zeros(len(COLUMNS), dtype=np.float64)
        # The components with a day's work (a patched instance's step counts too).
        self._stepping = [
            c
            for c in self.stages.values()
            if type(c).step is not Component.step or "step" in vars(c)
        ]
        self.apply_params()
        for stage in self.stages.values():
            stage.setup()
        for stage in self.stages.values():
            stage.init_state()
        self._schedule_changes()
        self._frame: tuple[int, Any] = (-1, None)
        self.datacollector = MetricCollector(self)

    # ------------------------------------------------------------------ time
    def date_of(self, day: int) -> dt.date:
        return self.start_date + dt.timedelta(days=int(day))

    def time_of_day_start(self, day: int) -> float:
        """Mesa time just before the step that simulates ``day``."""
        return day + self.warmup + 0.5

    def _day_of_event(self) -> int:
        """The day whose start a timed event fires at (days are negative during warm-up)."""
        return math.floor(self.time - self.warmup)

    # ------------------------------------------------------------------ parameters
    def apply_params(self) -> None:
        """Every component derives its tables from the current parameter values."""
        for stage in self.stages.values():
            stage.on_params()

    def _schedule_changes(self) -> None:
        self._pending_changes = list(self.scenario_def.changes)
        days = {(c.date - self.start_date).days for c in self._pending_changes}
        for t in sorted(self.time_of_day_start(d) for d in days):
            self.schedule_event(self._apply_due_changes, at=t)

    def _apply_due_changes(self) -> list:
        """Timed event: apply the scenario's dated changes that are due; returns them."""
        today = self.date_of(self._day_of_event())
        due = [c for c in self._pending_changes if c.date <= today]
        self._pending_changes = [c for c in self._pending_changes if c.date > today]
        for c in due:
            self.p.update(c.values)
        if due:
            self.apply_params()
        return due

    # ------------------------------------------------------------------ the record
    devices_lost = 0  # devices not collected at removal, since the start of warm-up
    orders_closed = 0  # orders that have left the system, since the start of warm-up
    notices_created = 0  # breach notifications sent, since the start of warm-up
    notices_answered = 0
    notices_unanswered = 0
    wearer_days = 0  # tagged person-days simulated, warm-up included (the work a run does)

    def count(self, column: str, value: float) -> None:
        """Add ``value`` to today's metric ``column`` (a flow)."""
        self._flow[COLUMN_INDEX[column]] += value

    def count_by(self, group: str, values: np.ndarray) -> None:
        """Add ``values`` to today's columns of ``group`` (:data:`COUNT_GROUPS`)."""
        self._flow[_GROUP_INDEX[group]] += values

    def add_sample(self, d: int, name: str, values: np.ndarray) -> None:
        """Per-event values of ``name`` (e.g. hours from breach to pack) on day ``d``."""
        if d >= 0 and len(values):
            self.samples.setdefault(name, []).append(np.asarray(values, dtype=np.float64))

    def sample(self, name: str) -> np.ndarray:
        """All recorded values of a per-event quantity (e.g. ``notification_lag_hours``;
        ``order_to_fit.<cohort>`` for one cohort's waits)."""
        head, _, cohort = name.partition(".")
        if head == "order_to_fit" and cohort:
            return self.sample(head)[self.sample("order_to_fit_cohort") == COHORTS.index(cohort)]
        parts = self.samples.get(name)
        return np.concatenate(parts) if parts else np.empty(0)

    @property
    def order_to_fit_days(self) -> np.ndarray:
        return self.sample("order_to_fit")

    # ------------------------------------------------------------------ the day
    def _step_within_horizon(self) -> None:
        if self.day >= self.n_days - 1:
            raise UserError(
                f"step: the run ended at its horizon ({self.date_of(self.n_days - 1)}); "
                "allowed: a new model (or more years)"
            )
        self._mesa_step()

    def step(self) -> None:
        if self.day >= self.n_days - 1:
            return  # past the horizon (Mesa's run_for/run_until): nothing to simulate
        self.day += 1
        d = self.day
        self._flow[:] = 0.0
        for stage in self._stepping:
            stage.step(d)
        if self.check_invariants:
            from em_abm.invariants import check

            check(self)
        if d >= 0:
            self._record(d)
            self.datacollector.collect(self)
            if d == self.n_days - 1:
                self.running = False  # the horizon: Mesa's run_model and batch_run stop
        self.stages.supply.supplier.delivered_today = 0

    def run(self, *, progress: bool = False) -> None:
        """Simulate warm-up and the scenario period (what is left of them)."""
        if not progress:
            self.advance(self.days_left)
            return
        from tqdm import tqdm

        with tqdm(total=self.days_left, unit="day", desc=self.scenario_def.name, leave=False) as b:
            self.advance(self.days_left, each_day=b.update)

    @property
    def days_left(self) -> int:
        """Days (warm-up days count) still to simulate before the horizon."""
        return self.total_steps - (self.day + self.warmup + 1)

    def advance(self, days: int, each_day=None) -> int:
        """Simulate the next ``days`` days (warm-up days count), fewer at the horizon, with the
        collector's young collections spaced as in a run (and ``each_day()`` called after
        each, if given); returns the days simulated."""
        n = max(0, min(int(days), self.days_left))
        with _young_collections_spaced(YOUNG_GC_THRESHOLD):
            for _ in range(n):
                self.step()
                if each_day is not None:
                    each_day()
        return n


# Python's collector looks at young objects after every 700 net allocations (its default);
# a day at scale 4 allocates more, so every day started a collection and one in a hundred a
# full one over all live agents (benchmarks/README.md, item 5). The model makes no reference
# cycles per day, so collections are spaced while a run lasts; results do not depend on it.
YOUNG_GC_THRESHOLD = 100_000


@contextlib.contextmanager
def _young_collections_spaced(threshold: int):
    """Raise the collector's first-generation threshold to at least ``threshold`` for the
    duration of the block, then restore the previous thresholds."""
    old = gc.get_threshold()
    if old[0]:  # 0 means automatic collection is off: leave it so
        gc.set_threshold(max(old[0], threshold), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
