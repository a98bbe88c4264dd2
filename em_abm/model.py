"""EMModel: electronic monitoring in England and Wales as a Mesa model.

Time is in days. Mesa runs :meth:`EMModel.step` once per simulated day; timed happenings
(equipment deliveries, surge capacity, dated scenario changes) are Mesa events that fire
at the start of their day. A day:

1. requesters send new orders (stage 2), rationed by the allocation levers; about a fifth
   arrive with errors and go back for rework; clean orders join the fitting queue, or are
   fitted at source (court, prison) under those pilots;
2. requesters finish rework and review orders escalated after two failed attempts;
3. orders that end today: fitted ones wait for removal, others close;
4. wearers' behaviour (stage 4): violations, tampering, lost contact, false alarms and
   reoffending, for every active order in one compiled pass;
5. the monitoring centre reviews alerts up to its capacity and sends breach packs (stage 6);
6. probation, police and the Home Office receive the packs that have arrived and act on
   those they hold (stage 7): outcomes, custody, lapsed notifications;
7. fitted tags raise equipment-check visits (stage 5);
8. field officers in each region take due visits in the policy's order until their hours
   are spent: fits (stage 3, each attempt fails with a probability; two failures escalate
   the order), checks, removals (stage 8, the device is collected or lost);
9. contingency thresholds are checked; the equipment supplier reorders regional stock
   (stage 1); metrics for the day are recorded; agents of closed orders are removed.

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
from scipy.special import ndtri

from em_abm import limits
from em_abm import params as P
from em_abm.agents import Court, EquipmentSupplier, FieldOfficer, HomeOffice, Prison, TagWearer
from em_abm.agents.monitoring import (
    ALERT_DTYPE,
    MonitoringCentre,
)
from em_abm.agents.police import PoliceForce
from em_abm.agents.probation import ProbationOfficer
from em_abm.errors import UserError
from em_abm.geography import Geography
from em_abm.kernels import (
    CRN_ALLOCATION,
    CRN_CUSTODY,
    CRN_NOTIFY,
    CRN_OUTCOME,
    CRN_PROXIMITY,
    CRN_RESENTENCE,
    CRN_SOURCE,
    FIELD_COUNTERS,
    arrival_terms,
    behaviour_day,
    carried_hours,
    crn_uniform,
    crn_uniform_scalar,
    field_visits_day,
    gaps_to_positions,
    init_orders,
    notice_draws,
    notify_decisions,
    order_attributes,
    queue_new_orders,
    rank_within,
    record_orders,
    refresh_hazards,
    requesters_and_ends_day,
    responses_day,
    responses_waiting,
    visit_scan,
    write_notices,
)
from em_abm.metrics import COLUMN_INDEX, COLUMNS
from em_abm.params import COHORTS, OUTCOMES, RESPONDERS, RISK_LEVELS, TAGS, VISIT_TYPES
from em_abm.policies import response_policy, triage_policy, visit_policy
from em_abm.population import (
    NO_DAY,
    NoticeState,
    NotificationTable,
    OrderTable,
    State,
    Visit,
)
from em_abm.scenario import Scenario, load

# Random streams spawned from the run's seed, in this order. Append new streams at the end
# only: the position of a stream fixes its numbers.
STREAMS = ("arrivals", "init", "maintenance", "behaviour")

NEGATIVE_DAY_OFFSET = 1 << 20  # day indices are negative during warm-up; hash d + offset

PROBATION, POLICE, HOME_OFFICE = range(len(RESPONDERS))
_O = {name: i for i, name in enumerate(OUTCOMES)}
CUSTODIAL = ("recall", "remand", "detention", "arrest")
COMPLIANCE = ("engage", "warning", "adjust_conditions", "bail_continued")
_CUSTODY_KIND = {
    "recall": "recall",
    "remand": "remand",
    "detention": "detention",
    "arrest": "detention",
    "return_to_court": "resentence",
}
_IS_CUSTODIAL = np.isin(OUTCOMES, CUSTODIAL)
# Metric columns of per-cohort, per-outcome and per-tag counts, for adding them in one go.
_COLS = {
    "breach_notifications": np.array([COLUMN_INDEX[f"breach_notifications.{c}"] for c in COHORTS]),
    "responses": np.array([COLUMN_INDEX[f"responses.{x}"] for x in OUTCOMES]),
    "custody_admissions_from_breach": np.array(
        [COLUMN_INDEX[f"custody_admissions_from_breach.{c}"] for c in COHORTS]
    ),
    "tagged_by_cohort": np.array([COLUMN_INDEX[f"tagged.{c}"] for c in COHORTS]),
    "tagged_by_tag": np.array([COLUMN_INDEX[f"tagged.{t}"] for t in TAGS]),
}
# Where record_orders writes the day's stocks of orders (kernels.record_orders).
_STATE_COLUMNS = {
    State.REWORK: "orders_in_rework",
    State.AWAITING_FIT: "orders_awaiting_fit",
    State.ESCALATED: "orders_escalated",
    State.AWAITING_REMOVAL: "orders_awaiting_removal",
}
_RECORD_COLUMNS = (
    np.array([COLUMN_INDEX[_STATE_COLUMNS[s]] if s in _STATE_COLUMNS else -1 for s in State]),
    COLUMN_INDEX["tagged"],
    _COLS["tagged_by_cohort"],
    _COLS["tagged_by_tag"],
    COLUMN_INDEX["active_orders"],
    COLUMN_INDEX["active_orders_without_tag"],
    np.array(
        [COLUMN_INDEX["outstanding_visits"]]
        + [COLUMN_INDEX[f"outstanding_visits.{v.name.lower()}"] for v in list(Visit)[1:]]
    ),
)
_IS_COMPLIANCE = np.isin(OUTCOMES, COMPLIANCE)
_RESPONDER_OF_COHORT = {
    "post_release": PROBATION,
    "court_bail": POLICE,
    "immigration": HOME_OFFICE,
    "court_sentence": PROBATION,
    "specials": PROBATION,
}
_RESPONDER_BY_COHORT = np.array([_RESPONDER_OF_COHORT[c] for c in COHORTS], dtype=np.int8)


def crn(keys: np.ndarray, event: int, index: np.ndarray | int) -> np.ndarray:
    """Uniform [0, 1) numbers for (order key, event, index), independent across all three."""
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    if np.ndim(index) == 0:
        return crn_uniform_scalar(keys, event, int(index))
    return crn_uniform(keys, event, np.ascontiguousarray(index, dtype=np.int64))


def days_for_years(years: float) -> int:
    return round(years * 365.25)


class EMModel(mesa.Model):
    """The electronic monitoring system of England and Wales.

    Args:
        scenario: a packaged scenario name, a path to a TOML file, or a :class:`Scenario`.
        rng: the run's seed (an int). ``None`` draws one from the operating system; it is
            recorded as ``model.seed`` either way.
        years: simulated years after the scenario start.
        scale: population and every capacity multiplied by this (0.1 = a tenth of England
            and Wales).
        overrides: parameter values applied on top of the scenario from its start.
        check_invariants: assert conservation and capacity invariants every day (tests).
    """

    def __init__(
        self,
        scenario: str | Scenario = "baseline_2026",
        *,
        rng: int | None = None,
        years: float = 3.0,
        scale: float = 1.0,
        overrides: dict[str, Any] | None = None,
        check_invariants: bool = False,
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
        self.scenario_def = load(scenario).with_overrides(
            dict(overrides or {}), where="overrides: "
        )
        super().__init__(rng=int(rng))
        self.seed = int(rng)
        self.years = float(years)
        self.scale = float(scale)
        self.check_invariants = check_invariants
        # With check_invariants: each desk's capacity since the start against its work.
        self._ledger = {
            "reviews": np.zeros(2),
            "responses": np.zeros((2, len(RESPONDERS))),
        }
        self.p: dict[str, Any] = dict(self.scenario_def.params)
        self.start_date: dt.date = self.scenario_def.start
        self.n_days = days_for_years(self.years)
        self.warmup = int(self.p["time.warmup_days"])
        self.day = -self.warmup - 1  # index of the day being simulated; < 0 during warm-up

        seqs = np.random.SeedSequence(self.seed).spawn(len(STREAMS))
        self.rngs = {name: np.random.default_rng(s) for name, s in zip(STREAMS, seqs, strict=True)}

        self.geography = Geography(
            road_speed_kmh=self.p["field.road_speed_kmh"],
            road_circuity=self.p["field.road_circuity"],
        )
        self.n_regions = len(self.geography.regions)
        self.orders = OrderTable(capacity=int(60_000 * self.scale) + 64)

        self.requesters = [Prison(self), Court(self), HomeOffice(self)]
        self.home_office = self.requesters[2]
        self.monitoring = MonitoringCentre(self)
        geo = self.geography
        self.police_forces = [
            PoliceForce(self, i, geo.area_names[i], int(geo.population[i]))
            for i in range(len(geo.areas))
        ]
        self.notices = NotificationTable(capacity=int(4000 * self.scale) + 64)
        self.probation_officers: list[ProbationOfficer] = []
        self.samples: dict[str, list[np.ndarray]] = {}
        self._review_credit = 0.0
        self._alert_buffer = np.empty(0, dtype=ALERT_DTYPE)
        # Response desks: probation regions, then police forces, then the Home Office.
        self._desk_offset = np.array([0, self.n_regions, self.n_regions + len(geo.areas)])
        self._response_credit = np.zeros(self.n_regions + len(geo.areas) + 1)
        self._cap_year: int | None = None
        self._accepted_this_year = np.zeros(len(COHORTS), dtype=np.int64)
        self.surge_until = -(
            1 << 30
        )  # last day of the current surge (days are negative in warm-up)
        self._surge_pending = False
        self._risk_first_override = False
        self._recent_probation: list[tuple[int, np.ndarray]] = []
        self._field_carry = np.zeros(self.n_regions)
        self._closed_today: list[np.ndarray] = []
        self._slot_buffer = np.empty(0, dtype=np.int64)
        self._due_buffer = np.empty(0, dtype=np.int64)
        self._idle_buffer = np.empty(0, dtype=np.int64)
        self._after_removal = np.zeros((366, len(COHORTS), len(RISK_LEVELS)))
        self._after_pool = np.zeros((len(COHORTS), len(RISK_LEVELS)))
        self._apply_params()
        self._probation_basis = self._expected_probation_cases()
        self._staff_probation()
        self._create_officers()
        self.supplier = EquipmentSupplier(
            self,
            stock=np.ceil(self.p["equipment.initial_stock_days"] * self.expected_daily_fits),
        )

        self.series = np.zeros((self.n_days, len(COLUMNS)), dtype=np.float64)
        self._field_columns = np.array([COLUMN_INDEX[c] for c in FIELD_COUNTERS])
        self._flow = np.zeros(len(COLUMNS), dtype=np.float64)
        self._initial_population()
        self._schedule_changes()

    # ------------------------------------------------------------------ set-up
    def date_of(self, day: int) -> dt.date:
        return self.start_date + dt.timedelta(days=int(day))

    def _time_of_day_start(self, day: int) -> float:
        """Mesa time just before the step that simulates ``day``."""
        return day + self.warmup + 0.5

    def _day_of_event(self) -> int:
        """The day whose start a timed event fires at (days are negative during warm-up)."""
        return math.floor(self.time - self.warmup)

    def _apply_params(self) -> None:
        """Derive the arrays the daily cycle uses from the current parameter values."""
        p, s = self.p, self.scale
        geo = self.geography
        self.daily_orders = (
            np.array(P.vector(p, "demand.orders_per_year", COHORTS))
            * p["demand.multiplier"]
            * s
            / 365.0
        )
        self.duration_mean = np.array(P.vector(p, "demand.duration_mean_days", COHORTS))
        self.tag_cdf = np.cumsum(
            [P.vector(p, f"demand.tag_mix.{c}", TAGS) for c in COHORTS], axis=1
        )
        self.tag_cdf[:, -1] = 1.0
        mix = self.tag_cdf - np.pad(self.tag_cdf[:, :-1], ((0, 0), (1, 0)))
        # Expected new orders per day by region and tag, the supplier's planning figure.
        by_tag = self.daily_orders @ mix
        self.expected_daily_fits = np.outer(geo.region_population_share, by_tag)
        travel = geo.visit_travel_hours(p["field.chain_factor"])
        if p["pilot.automated_scheduling"]:
            travel = travel * (1.0 - p["pilot.scheduling_travel_saving"])
        self.visit_travel = travel
        self.onsite = np.array([0.0, *P.vector(p, "field.onsite_hours", VISIT_TYPES)])
        self.crew = 1.0 + p["field.double_crew_share"]
        self.policy = visit_policy(p["policy.visit_queue"])
        self.triage = triage_policy(p["policy.alert_triage"])
        self.response_policy = response_policy(p["policy.response_queue"])
        self._risk_first = response_policy("risk_first")
        self.required_days = np.array([0.0, *P.vector(p, "kpi.required_days", VISIT_TYPES)])
        self.tag_share = np.array(P.vector(p, "allocation.tag_share", COHORTS))
        cap = np.array(P.vector(p, "allocation.cap_per_year", COHORTS))
        no_cap = P.PARAMS["allocation.cap_per_year.court_bail"].upper
        self.yearly_cap = np.where(cap >= no_cap, np.inf, cap * self.scale)
        self.source_share = np.zeros(len(COHORTS))
        for c in ("court_bail", "court_sentence"):
            self.source_share[COHORTS.index(c)] = p["pilot.tag_at_court_share"]
        self.source_share[COHORTS.index("post_release")] = p["pilot.pre_release_share"]
        self._fits_at_source = bool(self.source_share.any())
        # Are new orders rationed (a tagged share below one, or a yearly cap)?
        self._rationed = bool((self.tag_share < 1.0).any() or np.isfinite(self.yearly_cap).any())
        self._apply_behaviour_params()
        self._apply_response_params()
        if self.orders.n:
            self._refresh_hazards(self.orders.live())
        if self.probation_officers:
            self._staff_probation()
        if hasattr(self, "officers") and len(self.officers) != round(
            p["field.officers"] * self.scale
        ):
            self._create_officers()

    def _apply_behaviour_params(self) -> None:
        p = self.p
        self.risk_cdf = np.cumsum(
            [P.vector(p, f"behaviour.risk_mix.{c}", RISK_LEVELS) for c in COHORTS], axis=1
        )
        self.risk_cdf[:, -1] = 1.0
        risk_mult = np.array(P.vector(p, "behaviour.risk_multiplier", RISK_LEVELS))
        base = np.array(P.vector(p, "behaviour.violation_per_day", TAGS))
        self.violation_table = np.outer(base, risk_mult).ravel()  # [tag * 3 + risk]
        self.tamper_by_risk = p["behaviour.tamper_per_day"] * risk_mult
        self.serious_by_risk = np.array(P.vector(p, "behaviour.serious_share", RISK_LEVELS))
        annual = np.array(P.vector(p, "reoffending.annual_rate", COHORTS))
        self.reoffend_table = np.outer(annual / 365.0, risk_mult)  # [cohort, risk]
        self.effect_by_tag = np.array(P.vector(p, "reoffending.effect_while_tagged", TAGS))
        self.probation_cohort = np.array([_RESPONDER_OF_COHORT[c] == PROBATION for c in COHORTS])

    def _apply_response_params(self) -> None:
        """Outcome probabilities [responder, cohort, serious, outcome] and capacities."""
        p = self.p
        probs = np.zeros((len(RESPONDERS), len(COHORTS), 2, len(OUTCOMES)))
        for r, responder in enumerate(RESPONDERS):
            for c, cohort in enumerate(COHORTS):
                row = np.zeros(len(OUTCOMES))
                for name in P.groups()[f"response.{responder}"]:
                    outcome = name.rsplit(".", 1)[-1]
                    if outcome == "enforce":
                        outcome = "return_to_court" if cohort == "court_sentence" else "recall"
                    row[_O[outcome]] += p[name]
                probs[r, c, 0] = row
                serious = row.copy()
                serious[_O["nfa"]] *= p["response.serious_nfa_factor"]
                for o in (*CUSTODIAL, "return_to_court"):
                    serious[_O[o]] *= p["response.serious_custody_factor"]
                probs[r, c, 1] = serious / serious.sum() if serious.sum() > 0 else row
        self.outcome_probs = probs
        self.custody_days_mean = np.array(
            [p[f"custody.days_mean.{_CUSTODY_KIND.get(x, 'detention')}"] for x in OUTCOMES]
        )
        geo = self.geography
        self.police_capacity = (
            geo.population
            / 1e5
            * p["police.responses_per_100k_day"]
            * p["police.capacity_multiplier"]
            * self.scale
        )
        self.home_office_capacity = np.array(
            [p["home_office.responses_per_day"] * p["home_office.capacity_multiplier"] * self.scale]
        )
        self.expiry_days = np.array(
            [p["probation.expiry_days"], p["police.expiry_days"], p["home_office.expiry_days"]]
        )

    def _expected_probation_cases(self) -> float:
        """EM cases probation supervises at the scenario's start (active orders, stationary):
        the caseload the service is staffed for."""
        active = self.daily_orders * self.duration_mean
        share = np.array([1.0 if _RESPONDER_OF_COHORT[c] == PROBATION else 0.0 for c in COHORTS])
        share[COHORTS.index("specials")] = 1.0 - self.p["specials.home_office_share"]
        return float((active * share).sum())

    def _staff_probation(self) -> None:
        """Probation officers by region: the staffed-for caseload over the target caseload,
        times the staffed share of posts. Adds or removes officer agents to match."""
        p = self.p
        staffed = max(0.0, 1.0 - p["probation.shortfall_fte"] / p["probation.establishment_fte"])
        total = round(self._probation_basis / p["probation.target_caseload"] * staffed)
        per_region = _apportion(total, self.geography.region_population_share)
        current = (
            np.bincount([o.region for o in self.probation_officers], minlength=self.n_regions)
            if self.probation_officers
            else np.zeros(self.n_regions, dtype=np.int64)
        )
        for r in range(self.n_regions):
            have = [o for o in self.probation_officers if o.region == r]
            for o in have[per_region[r] :]:
                o.remove()
                self.probation_officers.remove(o)
            for _ in range(per_region[r] - current[r]):
                self.probation_officers.append(ProbationOfficer(self, r))
        self.probation_officers_per_region = per_region
        self.probation_caseload = np.zeros(self.n_regions)

    def _create_officers(self) -> None:
        """Field officers by region, in proportion to each region's expected visit hours
        (replacing any there were: the workforce changes in some scenarios)."""
        for officer in getattr(self, "officers", []):
            officer.remove()
        geo = self.geography
        workload = np.bincount(
            geo.area_region,
            weights=geo.population_share * (self.onsite[1] + self.visit_travel),
            minlength=self.n_regions,
        )
        # Each region's exact share of the (scaled) workforce, in FTE. Officers are whole
        # agents; where a region's share is not a whole number its officers are part-time, so
        # capacity is exact at any scale (a region with a share gets at least one officer).
        quota = self.p["field.officers"] * self.scale * workload / workload.sum()
        count = np.where(quota > 0, np.maximum(1, np.round(quota)), 0).astype(np.int64)
        self.officers_per_region = count
        self.officer_region = np.repeat(np.arange(self.n_regions), count)
        self.officer_fte = np.repeat(
            np.divide(quota, count, out=np.zeros_like(quota), where=count > 0), count
        )
        self.officers = [
            FieldOfficer(self, i, int(r), int(geo.region_hub[r]), float(self.officer_fte[i]))
            for i, r in enumerate(self.officer_region)
        ]
        total = len(self.officers)
        self._officer_hours = (
            np.zeros(total),
            np.zeros(self.n_regions),
            np.zeros(self.n_regions),
            None,
        )

    def _initial_population(self) -> None:
        """Active orders at the start of warm-up, drawn from the stationary distribution.

        For orders arriving at a constant rate with gamma(k, theta) lengths, those active on a
        given day have length-biased lengths, gamma(k + 1, theta), and are a uniform fraction
        of the way through.
        """
        rng = self.rngs["init"]
        p = self.p
        k = p["demand.duration_shape"]
        counts = rng.poisson(self.daily_orders * self.duration_mean)
        cohort = np.repeat(_COHORT_CODES, counts)
        n = len(cohort)
        length = rng.gamma(k + 1.0, self.duration_mean[cohort] / k)
        elapsed = rng.random(n) * length
        day0 = -self.warmup
        slots = self._new_orders(
            self._draw_orders(rng, cohort),
            received=day0 - np.floor(elapsed).astype(np.int32),
            end=day0 + np.maximum(1, np.ceil(length - elapsed)).astype(np.int32),
        )
        o = self.orders
        fitted = rng.random(n) < p["init.tagged_share"]
        o.state[slots] = np.where(fitted, State.FITTED, State.UNTAGGED)
        o.fitted_day[slots] = np.where(fitted, o.received_day[slots], NO_DAY)
        o.first_round_open[slots] = False
        o.visit[slots] = Visit.NONE
        f = slots[fitted]
        devices = np.bincount(
            o.region[f].astype(np.int64) * len(TAGS) + o.tag[f],
            minlength=self.n_regions * len(TAGS),
        )
        self._initial_devices_fitted = int(devices.sum())

    def _schedule_changes(self) -> None:
        self._pending_changes = list(self.scenario_def.changes)
        for t in sorted(
            {
                self._time_of_day_start((c.date - self.start_date).days)
                for c in self._pending_changes
            }
        ):
            self.schedule_event(self._apply_due_changes, at=t)

    def _apply_due_changes(self) -> None:
        """Timed event: apply the scenario's dated changes that are due."""
        today = self.date_of(self._day_of_event())
        due = [c for c in self._pending_changes if c.date <= today]
        self._pending_changes = [c for c in self._pending_changes if c.date > today]
        for c in due:
            self.p.update(c.values)
        if due:
            self._apply_params()

    # ------------------------------------------------------------------ orders
    def _draw_orders(self, rng: np.random.Generator, cohort: np.ndarray) -> dict[str, np.ndarray]:
        """Attributes of new orders of the given cohorts (all drawn, whatever happens next,
        so that later decisions never shift the random stream)."""
        n = len(cohort)
        k = self.p["behaviour.propensity_shape"]
        u_area = rng.random(n)  # home areas in proportion to population
        u_tag = rng.random(n)
        # The same numbers as rng.integers(0, 2**63 - 1, n, dtype=np.int64, endpoint=True)
        # (numpy takes the top 63 bits of each raw draw for this range), without its checks.
        key = rng.bit_generator.random_raw(n) >> np.uint64(1)
        u_risk = rng.random(n)
        area, tag, risk = order_attributes(
            cohort, u_area, self.geography.area_cdf, u_tag, self.tag_cdf, u_risk, self.risk_cdf
        )
        return {
            "cohort": cohort,
            "tag": tag,
            "area": area,
            "key": key,
            "risk": risk,
            "propensity": rng.gamma(k, 1.0 / k, size=n),
        }

    def _new_orders(self, attrs: dict[str, np.ndarray], *, received, end) -> np.ndarray:
        """Allocate slots for new orders, write their attributes and create their agents."""
        n = len(attrs["cohort"])
        o = self.orders
        slots = o.allocate(n)
        if n == 0:
            return slots
        init_orders(
            slots, attrs["cohort"], attrs["tag"], attrs["area"], attrs["key"], attrs["risk"],
            attrs["propensity"], np.full(n, received, dtype=np.int32),
            np.asarray(end, dtype=np.int32), self.geography.area_region,
            o.cohort, o.tag, o.area, o.key, o.risk, o.propensity, o.region, o.received_day,
            o.end_day, o.attempts, o.attempts_total, o.rounds, o.first_round_open,
            o.fitted_day, o.disconnected_day, o.notifications, o.to_custody, o.visit,
            o.behaviour_key, o.proximity, *self._hazard_terms(),
        )  # fmt: skip
        if self.p["pilot.victim_proximity_share"] > 0:  # the condition changes the hazards
            tag, cohort = o.tag[slots], o.cohort[slots]
            eligible = (tag == TAGS.index("gps")) & (
                (cohort == COHORTS.index("post_release")) | (cohort == COHORTS.index("court_bail"))
            )
            o.proximity[slots] = eligible & (
                crn(o.key[slots], CRN_PROXIMITY, 0) < self.p["pilot.victim_proximity_share"]
            )
            self._refresh_hazards(slots)
        TagWearer.enter(self, slots)
        return slots

    def _close(self, slots: np.ndarray) -> None:
        """Orders that are over: their slots are freed now; they are counted and their
        agents removed at the end of the day (:meth:`_finish_closed`)."""
        self._closed_today.append(slots)
        self.orders.release(slots)

    def _finish_closed(self) -> None:
        if not self._closed_today:
            return
        o = self.orders
        slots = (
            np.concatenate(self._closed_today)
            if len(self._closed_today) > 1
            else (self._closed_today[0])
        )
        self._closed_today = []
        was_fitted = o.fitted_day[slots] != NO_DAY
        self._count("orders_closed_fitted", np.count_nonzero(was_fitted))
        self._count(
            "orders_closed_with_breach", np.count_nonzero(was_fitted & (o.notifications[slots] > 0))
        )
        self.orders_closed += len(slots)
        TagWearer.leave(self, slots)

    def _arrivals(self, d: int) -> None:
        rng, p = self.rngs["arrivals"], self.p
        rate = self.daily_orders
        growth = p["demand.growth_per_year"]
        if growth and d > 0:
            rate = rate * (1.0 + growth) ** (d / 365.0)
        rates = rate.tolist()
        counts = [0] * len(COHORTS)
        for req in self.requesters:
            for c, count in zip(req.cohort_ids, req.new_orders(rng, rates), strict=True):
                counts[c] = count
        cohort = np.repeat(_COHORT_CODES, counts)
        n = len(cohort)
        k = p["demand.duration_shape"]
        # gamma(k, scale) is scale times a standard gamma(k) draw: same numbers, and numpy's
        # scalar-parameter path is much faster than an array of scales.
        length, end, error, rework = arrival_terms(
            cohort, rng.standard_gamma(k, size=n), self.duration_mean / k, rng.random(n),
            p["orders.error_rate"], rng.exponential(p["orders.rework_days_mean"], n), d,
        )  # fmt: skip
        attrs = self._draw_orders(rng, cohort)
        self._count("orders_received", n)
        self._count("orders_with_error", int(np.count_nonzero(error)))

        if self._rationed:
            accept = self._allocate_capacity(d, attrs)
            if not accept.all():
                self._count("orders_declined", int((~accept).sum()))
                gone = ~accept
                days = np.maximum(1, np.round(length[gone]))
                self._count("declined_person_days", float(days.sum()))
                rate = self.reoffend_table[attrs["cohort"][gone], attrs["risk"][gone]]
                self._count("reoffences_expected_declined", float((days * rate).sum()))
                attrs = {name: v[accept] for name, v in attrs.items()}
                end, error, rework = end[accept], error[accept], rework[accept]
        slots = self._new_orders(attrs, received=d, end=end)
        o = self.orders
        queue_new_orders(
            slots, error, rework, d, p["field.first_visit_delay_days"], o.state, o.visit,
            o.ready_day,
        )  # fmt: skip
        if self._fits_at_source:
            self._fit_at_source(d, slots)

    def _allocate_capacity(self, d: int, attrs: dict[str, np.ndarray]) -> np.ndarray:
        """Which new orders are accepted for tagging: a share per cohort, then a yearly cap."""
        cohort = attrs["cohort"]
        if (self.tag_share >= 1.0).all():  # u < 1 always: everyone is accepted
            accept = np.ones(len(cohort), dtype=bool)
        else:
            accept = crn(attrs["key"], CRN_ALLOCATION, 0) < self.tag_share[cohort]
        if np.isfinite(self.yearly_cap).any():
            year = self.date_of(d).year if d >= 0 else None
            if year != self._cap_year:
                self._cap_year, self._accepted_this_year[:] = year, 0
            for c in np.unique(cohort[accept]).tolist():
                if not np.isfinite(self.yearly_cap[c]):
                    continue
                idx = np.flatnonzero(accept & (cohort == c))
                room = max(0, int(self.yearly_cap[c] - self._accepted_this_year[c]))
                accept[idx[room:]] = False
                self._accepted_this_year[c] += min(room, len(idx))
        return accept

    def _fit_at_source(self, d: int, slots: np.ndarray) -> None:
        """Pilots: court-bail and court-sentence orders fitted in court, post-release orders
        fitted in prison before release; no home visit for the first fit."""
        if len(slots) == 0:
            return
        o, p = self.orders, self.p
        chosen = slots[crn(o.key[slots], CRN_SOURCE, 0) < self.source_share[o.cohort[slots]]]
        fitted = chosen[crn(o.key[chosen], CRN_SOURCE, 1) < p["pilot.source_fit_success"]]
        if len(fitted) == 0:
            return
        stock = self.supplier.stock.ravel()
        group = o.region[fitted].astype(np.int64) * len(TAGS) + o.tag[fitted]
        fitted = fitted[_rank_within(group) < stock[group]]  # only while stock lasts
        np.subtract.at(stock, o.region[fitted].astype(np.int64) * len(TAGS) + o.tag[fitted], 1)
        o.state[fitted] = State.FITTED
        o.visit[fitted] = Visit.NONE
        o.fitted_day[fitted] = d
        o.attempts_total[fitted] = 1
        o.first_round_open[fitted] = False
        self._count("fits", len(fitted))
        self._count("fits_at_source", len(fitted))
        self._count("fits_within_two", len(fitted))
        self._count("first_rounds_concluded", len(fitted))
        self._sample_fit_waits(d, fitted)

    def _sample_fit_waits(self, d: int, fitted: np.ndarray) -> None:
        o = self.orders
        wait = d - o.received_day[fitted]
        self._sample(d, "order_to_fit", wait)
        self._sample(d, "order_to_fit_cohort", o.cohort[fitted])

    def _requesters_and_ends(self, d: int) -> None:
        """Requesters finish rework and review escalated orders (stage 2); orders that end
        today wait for removal if fitted and otherwise close. One compiled pass."""
        o, p = self.orders, self.p
        if len(self._slot_buffer) < o.n:
            self._slot_buffer = np.empty(o.capacity, dtype=np.int64)
        k, revoked = requesters_and_ends_day(
            o.n, d, o.state, o.ready_day, o.visit, o.attempts, o.rounds, o.end_day, o.key,
            p["field.first_visit_delay_days"], p["escalation.reissue_share"],
            p["escalation.revoke_share"], p["field.max_rounds"], self._slot_buffer,
        )  # fmt: skip
        if revoked:
            self._count("orders_revoked", revoked)
        if k:
            self._close(self._slot_buffer[:k].copy())

    # ------------------------------------------------------------------ behaviour (stage 4)
    def _refresh_hazards(self, slots: np.ndarray) -> None:
        """Per-order daily hazards from cohort, tag, risk, propensity and the parameters."""
        o = self.orders
        refresh_hazards(
            np.asarray(slots, dtype=np.int64),
            o.tag,
            o.risk,
            o.cohort,
            o.propensity,
            o.proximity,
            *self._hazard_terms(),
        )

    def _hazard_terms(self) -> tuple:
        """What :func:`~em_abm.kernels.refresh_hazards` needs besides the orders' own fields
        (tables from the parameters, then the hazard columns it writes)."""
        o = self.orders
        return (
            self.violation_table, self.tamper_by_risk, self.reoffend_table, self.effect_by_tag,
            1.0 - self.p["pilot.proximity_effect"],
            o.h_violation, o.h_tamper, o.h_reoffend, o.h_reoffend_tagged,
        )  # fmt: skip

    def _behaviour(self, d: int) -> None:
        """Violations, tampering, lost contact, technical alerts and reoffending, for every
        active order at once. Two uniforms per order and day come from hashing the order's
        key with the day: the same wearer draws the same numbers on the same day whatever
        the policy. Work is on whole arrays; only orders with an event are gathered."""
        o, p = self.orders, self.p
        if len(self._alert_buffer) < o.n:
            self._alert_buffer = np.empty(o.capacity, dtype=ALERT_DTYPE)
        buf = self._alert_buffer
        n_active, n_fitted, n_work, n_off_work, n_off, expected, k = behaviour_day(
            o.n, o.state, o.disconnected_day, o.fitted_day, o.behaviour_key, o.proximity,
            o.h_violation, o.h_tamper, o.h_reoffend, o.h_reoffend_tagged,
            o.uid, o.key, o.risk, o.tag, o.cohort, o.visit, o.ready_day,
            self.serious_by_risk, d,
            np.uint64(d + NEGATIVE_DAY_OFFSET),
            d - p["behaviour.unmonitored_after_days"],
            d - p["behaviour.early_days"],
            np.float32(p["behaviour.early_multiplier"]),
            np.float32(p["behaviour.disconnect_per_day"]),
            np.float32(p["behaviour.technical_alert_per_day"]),
            np.float32(p["pilot.proximity_alert_per_day"] / 2),
            p["pilot.victim_proximity_share"] > 0,
            buf["order_slot"], buf["order_uid"], buf["key"], buf["time"], buf["kind"],
            buf["serious"], buf["risk"], buf["tag"], buf["cohort"],
        )  # fmt: skip
        # Reoffending: the untagged hazard, reduced while a working tag is on.
        self._count("reoffences_while_tagged", n_off_work)
        self._count("reoffences_while_unmonitored", n_off - n_off_work)
        self._count("reoffences_expected_if_untagged", expected)
        self._count("unmonitored_days", n_active - n_work)
        self.wearer_days += n_fitted
        self._unmonitored_today = n_active - n_work
        if d % 7 == 0 or self._probation_cases is None:  # caseloads move slowly: weekly
            state = o.view("state")
            active = (state >= State.REWORK) & (state <= State.FITTED)
            self._probation_cases = np.bincount(
                o.view("region")[active & self.probation_cohort[o.view("cohort")]],
                minlength=self.n_regions,
            )

        # After removal: a pool of people in their first 12 months after removal, by cohort
        # and risk, offending at the untagged rate times the after-removal effect.
        if d == 0 and self.warmup:
            self._extend_after_removal_history()
        slot = d % 366
        self._after_pool += self._after_removal[(d - 1) % 366]
        self._after_pool -= self._after_removal[slot]
        self._after_removal[slot] = 0.0
        lam = float((self._after_pool * self.reoffend_table).sum())
        lam *= 1.0 - p["reoffending.effect_after_removal"]
        self._count(
            "reoffences_after_removal_12m", int(self.rngs["behaviour"].poisson(max(lam, 0.0)))
        )

        if k:
            self.monitoring.add_alerts(buf[:k].copy())
            self._count("alerts", k)

    # ------------------------------------------------------------------ monitoring centre (4, 6)
    def _extend_after_removal_history(self) -> None:
        """At the scenario start, fill the year before warm-up with the removals per day seen
        during warm-up, so that the 12-month after-removal pool starts full, not empty."""
        w = min(self.warmup, 365)
        seen = [(-k) % 366 for k in range(1, w + 1)]
        daily = self._after_removal[seen].sum(axis=0) / w
        for k in range(w + 1, 366):
            self._after_removal[(-k) % 366] = daily
        self._after_pool += daily * (365 - w)

    def _review_alerts(self, d: int) -> None:
        p = self.p
        capacity = (
            p["monitoring.reviews_per_day"] * p["monitoring.capacity_multiplier"] * self.scale
        )
        self._review_credit += capacity
        k = int(self._review_credit)
        closed = self.monitoring.auto_close(self.triage.auto_close(self, self.monitoring.queue))
        self._count("alerts_auto_closed", closed)
        a = self.monitoring.take_for_review(k, self.triage.key(self, self.monitoring.queue))
        n = len(a)
        self._review_credit = min(self._review_credit - n, 1.0)
        self._count("alerts_reviewed", n)
        if self.check_invariants:
            self._ledger["reviews"] += (capacity, n)
        if n == 0:
            return
        notify = notify_decisions(
            a["key"], a["kind"], a["serious"], a["tag"], a["time"],
            p["monitoring.notify_prob.serious"], p["monitoring.notify_prob.alcohol"],
            p["monitoring.notify_prob.minor"], p["monitoring.notify_prob.technical"],
            TAGS.index("alcohol"), CRN_NOTIFY, NEGATIVE_DAY_OFFSET,
        )  # fmt: skip
        if notify.any():
            self._send_notifications(d, a[notify])

    def _send_notifications(self, d: int, a: np.ndarray) -> None:
        o, p, nt = self.orders, self.p, self.notices
        n = len(a)
        key, responder, u = notice_draws(
            a["key"], a["kind"], a["time"], a["cohort"], _RESPONDER_BY_COHORT,
            COHORTS.index("specials"), p["specials.home_office_share"], HOME_OFFICE,
        )  # fmt: skip
        z = ndtri(u)
        hours = p["monitoring.pack_hours_median"] * np.exp(p["monitoring.pack_hours_sigma"] * z)
        slots = nt.allocate(n)
        by_cohort = np.zeros(len(COHORTS), dtype=np.int64)
        lag = np.empty(n)
        in_window, n_serious = write_notices(
            slots, a["order_slot"], a["order_uid"], a["cohort"], a["risk"], a["serious"],
            a["time"], key, responder, hours, d, o.uid, o.region, o.area, o.notifications,
            nt.state, nt.order_slot, nt.order_uid, nt.cohort, nt.risk, nt.serious, nt.region,
            nt.area, nt.responder, nt.breach_time, nt.sent_time, nt.delivered_day, nt.key,
            p["kpi.notification_window_hours"], by_cohort, lag,
        )  # fmt: skip
        self.notices_created += n
        self._count("breach_notifications", n)
        self._flow[_COLS["breach_notifications"]] += by_cohort
        self._sample(d, "notification_lag_hours", lag)
        self._count("kpi_notifications_in_window", in_window)
        self._count("serious_notifications", n_serious)

    # ------------------------------------------------------------------ responders (stage 7)
    def _response_capacity(self) -> np.ndarray:
        """Responses each desk can make today: probation by region, the police by force, the
        Home Office. Worked out again only when an input changes (probation caseloads are
        counted weekly; capacities change when arrays are replaced, as in workforce changes,
        or when a parameter changes)."""
        p = self.p
        arrays = (
            self._probation_cases, self.probation_officers_per_region, self.police_capacity,
            self.home_office_capacity,
        )  # fmt: skip
        values = (
            p["probation.caseload_threshold"], p["probation.responses_per_officer_day"],
            p["probation.capacity_multiplier"],
        )  # fmt: skip
        cached = self._capacity_cache
        if (
            cached is None
            or cached[0][0] is not arrays[0]
            or cached[0][1] is not arrays[1]
            or cached[0][2] is not arrays[2]
            or cached[0][3] is not arrays[3]
            or cached[1] != values
        ):
            capacity = np.concatenate(
                (self._probation_capacity(), self.police_capacity, self.home_office_capacity)
            )
            self._capacity_cache = cached = (arrays, values, capacity)
        return cached[2]

    def _probation_capacity(self) -> np.ndarray:
        """Breach responses probation can make today, by region: officers times their daily
        rate, slowed in proportion once the caseload passes the threshold."""
        p = self.p
        officers = self.probation_officers_per_region.astype(float)
        self.probation_caseload = np.divide(
            self._probation_cases, officers, out=np.zeros(self.n_regions), where=officers > 0
        )
        staffed = self.probation_officers_per_region > 0
        total = self.probation_officers_per_region.sum()
        cases = (self.probation_caseload * self.probation_officers_per_region)[staffed].sum()
        self._mean_probation_caseload = cases / total if total else 0.0
        threshold = p["probation.caseload_threshold"]
        speed = np.minimum(1.0, threshold / np.maximum(self.probation_caseload, 1e-9))
        return (
            officers
            * p["probation.responses_per_officer_day"]
            * speed
            * p["probation.capacity_multiplier"]
        )

    def _respond(self, d: int) -> None:
        """Probation (by region), police (by force) and the Home Office act on the breach
        packs they hold, in the response policy's order, up to each desk's capacity; packs
        past a responder's expiry lapse. All desks are handled in one pass: a desk is a group
        numbered after the desks of the responders before it."""
        nt, o, p = self.notices, self.orders, self.p
        waiting = np.empty(nt.n, dtype=np.int64)
        desk = np.empty(nt.n, dtype=np.int64)
        k, gone, gone_serious = responses_waiting(
            nt.n, d, nt.state, nt.responder, nt.delivered_day, nt.serious, nt.region, nt.area,
            self.expiry_days, self._desk_offset, waiting, desk,
        )  # fmt: skip
        if gone:
            self._count("notifications_unanswered", gone)
            self._count("serious_unanswered_24h", gone_serious)
            self.notices_unanswered += gone
        credit = self._response_credit
        capacity = self._response_capacity()
        credit += capacity
        if self.check_invariants:  # capacity by responder (desks are numbered by responder)
            self._ledger["responses"][0] += np.add.reduceat(capacity, self._desk_offset)
        if k:
            waiting, desk = waiting[:k], desk[:k]
            policy = self._risk_first if self._risk_first_override else self.response_policy
            order = np.lexsort((nt.uid[waiting], policy.key(self, waiting), desk))
            counts = np.zeros(2, dtype=np.int64)
            outcomes = np.zeros(len(OUTCOMES), dtype=np.int64)
            custody_by_cohort = np.zeros(len(COHORTS), dtype=np.int64)
            waited = np.empty((len(RESPONDERS), k))
            n_by = np.zeros(len(RESPONDERS), dtype=np.int64)
            high, custody_days = np.empty(k), np.empty(k)
            keep, close = np.empty(k, dtype=np.int64), np.empty(k, dtype=np.int64)
            k_high, k_keep, k_custody, k_close = responses_day(
                waiting[order], desk[order], credit, d,
                nt.state, nt.responder, nt.cohort, nt.serious, nt.risk, nt.region, nt.key,
                nt.sent_time, nt.breach_time, nt.order_slot, nt.order_uid,
                o.uid, o.state, o.to_custody, o.visit, o.ready_day,
                self.outcome_probs, self.probation_caseload, p["probation.caseload_threshold"],
                p["probation.overload_nfa_shift"], _O["nfa"], _IS_CUSTODIAL, _IS_COMPLIANCE,
                _O["return_to_court"], p["court.resentence_custody_prob"],
                self.custody_days_mean, CRN_OUTCOME, CRN_RESENTENCE, CRN_CUSTODY,
                len(RISK_LEVELS) - 1,
                counts, outcomes, custody_by_cohort, waited, n_by, high, keep, custody_days,
                close,
            )  # fmt: skip
            if counts[0]:
                self._record_responses(d, counts, outcomes, waited, n_by, high[:k_high])
            if self.check_invariants:
                self._ledger["responses"][1] += n_by
            if k_keep:
                keep = keep[:k_keep]
                o.propensity[keep] *= 1.0 - p["response.compliance_effect"]
                self._refresh_hazards(keep)
            if k_custody:
                days = float(custody_days[:k_custody].sum())
                self._flow[_COLS["custody_admissions_from_breach"]] += custody_by_cohort
                self._count("custody_days", days)
                self._count("cost_custody_gbp", days * p["cost.custody_per_day_gbp"])
            if k_close:
                self._close(close[:k_close])
        np.minimum(credit, 1.0, out=credit)

    def _record_responses(self, d, counts, outcomes, waited, n_by, high) -> None:
        p = self.p
        self._count("responses", counts[0])
        self._flow[_COLS["responses"]] += outcomes
        self.notices_answered += int(counts[0])
        self._count("cost_probation_gbp", n_by[PROBATION] * p["cost.probation_per_response_gbp"])
        self._count("cost_police_gbp", n_by[POLICE] * p["cost.police_per_response_gbp"])
        for k, name in enumerate(RESPONDERS):
            if n_by[k]:
                self._sample(d, f"response_time_days.{name}", waited[k, : n_by[k]].copy())
        self._count("serious_unanswered_24h", counts[1])
        self._sample(d, "breach_to_response_days.serious_high_risk", high)
        if p["contingency.enabled"] and n_by[PROBATION]:
            self._recent_probation.append((d, waited[PROBATION, : n_by[PROBATION]].copy()))

    def _sample(self, d: int, name: str, values: np.ndarray) -> None:
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

    def _check_requests(self, d: int, idle: np.ndarray) -> np.ndarray:
        """Routine equipment checks (stage 5): each fitted order with no visit pending
        (``idle``) asks for one with the day's probability. Returns the orders that did."""
        rate = self.p["field.check_visits_per_year"] / 365.0
        need = idle[_bernoulli_positions(self.rngs["maintenance"], len(idle), rate)]
        o = self.orders
        o.visit[need] = Visit.CHECK
        o.ready_day[need] = d
        return need

    # ------------------------------------------------------------------ field visits
    def _field_visits(self, d: int) -> None:
        o, p = self.orders, self.p
        ntag = len(TAGS)
        # Officer hours today: the rota averaged over the week (every day is covered by the
        # same share of the workforce), at the expected availability.
        hours = (
            p["field.shift_hours"]
            * p["field.days_per_week"]
            / 7.0
            * p["field.availability"]
            * p["field.capacity_multiplier"]
        )
        if d <= self.surge_until:
            hours *= p["contingency.surge_multiplier"]
        cached = self._hours_cache
        if cached[0] != hours or cached[1] is not self.officer_fte:
            base = hours * self.officer_fte
            cap_base = np.bincount(self.officer_region, weights=base, minlength=self.n_regions)
            cached = self._hours_cache = (hours, self.officer_fte, base, cap_base,
                                          float(cap_base.sum()))  # fmt: skip
        base, cap_base = cached[2], cached[3]
        # Hours left over yesterday because the next visit did not fit carry into today.
        cap = cap_base + self._field_carry
        self._officer_hours = (base, cap, cap_base, None)  # per officer on demand

        if len(self._due_buffer) < o.n:
            self._due_buffer = np.empty(o.capacity, dtype=np.int64)
            self._idle_buffer = np.empty(o.capacity, dtype=np.int64)
        n_idle, n_due = visit_scan(
            o.n, d, o.state, o.visit, o.ready_day, self._idle_buffer, self._due_buffer
        )
        need = self._check_requests(d, self._idle_buffer[:n_idle])
        # Visits due: those pending, and the checks just requested (the policy's sort below
        # orders them all, whatever order they are gathered in).
        cand = np.concatenate((self._due_buffer[:n_due], need))
        used = np.zeros(self.n_regions)
        waiting = np.zeros(self.n_regions, dtype=bool)
        if len(cand):
            order = np.lexsort((o.uid[cand], self.policy.key(self, cand), o.region[cand]))
            counts = np.zeros(len(FIELD_COUNTERS), dtype=np.int64)
            won = np.empty(len(cand), dtype=np.int64)
            removed = np.empty(len(cand), dtype=np.int64)
            n_won, n_removed = field_visits_day(
                cand[order], o.region, o.visit, o.area, o.tag, o.state, o.attempts,
                o.attempts_total, o.first_round_open, o.fitted_day, o.disconnected_day,
                o.ready_day, o.key, o.to_custody, o.cohort, o.risk,
                self.supplier.stock.reshape(-1), cap, self.crew, self.onsite, self.visit_travel,
                self.required_days, self.n_regions, ntag, d,
                p["field.fit_success_prob"], p["equipment.collection_rate"],
                p["field.reattempt_delay_days"], p["escalation.review_days"],
                self._after_removal[d % 366], counts, used, waiting, won, removed,
            )  # fmt: skip
            self._flow[self._field_columns] += counts
            self._count("cost_visits_gbp", counts[0] * p["cost.per_visit_gbp"])
            lost = counts[_DEVICES_LOST]
            self._count("cost_devices_lost_gbp", lost * p["cost.device_replacement_gbp"])
            self.devices_lost += int(lost)
            self._sample_fit_waits(d, won[:n_won])
            if n_removed:
                self._close(removed[:n_removed])
        # Unused hours carry over only where a visit was left waiting for lack of them, and
        # never more than a shift's worth.
        self._field_carry = carried_hours(cap, used, waiting, p["field.shift_hours"])
        self._officer_hours = (*self._officer_hours[:3], used)
        self._count("field_hours_available", cached[4])  # today's new hours
        self._count("field_hours_used", float(used.sum()))
        if self.check_invariants:
            assert np.all(used <= cap + 1e-6), "field hours exceeded"
            assert np.all(self.officer_hours_used <= self.officer_hours_available + 1e-9)

    def _contingency(self, d: int) -> None:
        """Escalation thresholds (NAO recommendation a). A backlog of outstanding visits over
        the threshold brings surge field capacity after a lag (a Mesa timed event); a slow
        probation response switches responders to risk-first until it recovers."""
        p = self.p
        if not p["contingency.enabled"]:
            return
        o = self.orders
        due = np.count_nonzero((o.view("visit") != Visit.NONE) & (o.view("ready_day") <= d))
        if (
            due > p["contingency.visit_threshold"] * self.scale
            and not self._surge_pending
            and (d > self.surge_until)
        ):
            self._surge_pending = True
            self._surge_start = d + max(1, p["contingency.surge_lag_days"])
            self.schedule_event(self._start_surge, at=self._time_of_day_start(self._surge_start))
            self._count("escalations_triggered", 1)
        window = p["contingency.window_days"]
        self._recent_probation = [(day, t) for day, t in self._recent_probation if day > d - window]
        if self._recent_probation:
            median = float(np.median(np.concatenate([t for _, t in self._recent_probation])))
            slow = median > p["contingency.probation_days_threshold"]
            if slow and not self._risk_first_override:
                self._count("escalations_triggered", 1)
            self._risk_first_override = slow

    def _start_surge(self) -> None:
        """Timed event: surge field capacity starts."""
        self._surge_pending = False
        self.surge_until = self._surge_start + self.p["contingency.surge_days"] - 1

    @property
    def officer_hours_available(self) -> np.ndarray:
        """Hours each field officer has today (their share of the region's hours, with
        yesterday's carried-over hours)."""
        base, cap, cap_base, _ = self._officer_hours
        factor = np.divide(cap, cap_base, out=np.ones_like(cap), where=cap_base > 0)
        return base * factor[self.officer_region]

    @property
    def officer_hours_used(self) -> np.ndarray:
        """Hours each field officer spent on visits today: each region's used hours handed
        to its officers on shift in turn (none over their hours)."""
        used = self._officer_hours[3]
        avail = self.officer_hours_available
        if used is None:
            return np.zeros_like(avail)
        cum = np.cumsum(avail)
        start = np.concatenate([[0.0], cum[:-1]])
        region_start = np.concatenate(
            [
                [0.0],
                np.cumsum(
                    np.bincount(self.officer_region, weights=avail, minlength=self.n_regions)
                ),
            ]
        )[:-1]
        offset = start - region_start[self.officer_region]
        return np.clip(used[self.officer_region] - offset, 0.0, avail)

    # ------------------------------------------------------------------ the day
    devices_lost = 0  # devices not collected at removal, since the start of warm-up
    orders_closed = 0  # orders that have left the system, since the start of warm-up
    notices_created = 0  # breach notifications sent, since the start of warm-up
    notices_answered = 0
    notices_unanswered = 0
    wearer_days = 0  # tagged person-days simulated, warm-up included (the work a run does)
    _unmonitored_today = 0
    _probation_cases: np.ndarray | None = None
    _capacity_cache: tuple | None = None
    _hours_cache: tuple = (None, None)
    _mean_probation_caseload = 0.0

    def step(self) -> None:
        self.day += 1
        d = self.day
        self._flow[:] = 0.0
        self._arrivals(d)
        self._requesters_and_ends(d)
        self._behaviour(d)
        self._review_alerts(d)
        self._respond(d)
        self._field_visits(d)
        self._contingency(d)
        p = self.p
        self.supplier.reorder(
            expected_daily_fits=self.expected_daily_fits,
            reorder_point_days=p["equipment.reorder_point_days"],
            order_up_to_days=p["equipment.order_up_to_days"],
            lead_time_days=p["equipment.lead_time_days"],
            supply_multiplier=p["equipment.supply_multiplier"],
            deliver_at=self._time_of_day_start(d + max(1, p["equipment.lead_time_days"])),
        )
        self._finish_closed()
        if self.check_invariants:
            self.assert_invariants()
        if d >= 0:
            self._record(d)
        self.supplier.delivered_today = 0

    def _count(self, column: str, value: float) -> None:
        self._flow[COLUMN_INDEX[column]] += value

    def _record(self, d: int) -> None:
        o = self.orders
        row = self.series[d]
        row[:] = self._flow
        record_orders(
            o.n, o.state, o.cohort, o.tag, o.visit, o.ready_day, d, row,
            *_RECORD_COLUMNS,
        )  # fmt: skip
        ix = COLUMN_INDEX
        row[ix["devices_in_stock"]] = self.supplier.stock.sum()
        row[ix["devices_delivered"]] = self.supplier.delivered_today
        row[ix["cost_em_gbp"]] = row[ix["tagged"]] * self.p["cost.per_tagged_year_gbp"] / 365.0
        row[ix["active_orders_unmonitored"]] = self._unmonitored_today
        row[ix["alerts_awaiting_review"]] = self.monitoring.waiting
        row[ix["notifications_awaiting_response"]] = np.count_nonzero(
            self.notices.view("state") == NoticeState.AWAITING_RESPONSE
        )
        row[ix["probation_caseload"]] = self._mean_probation_caseload

    # ------------------------------------------------------------------ checks
    def assert_invariants(self) -> None:
        """Conservation of orders, devices and notifications; no negative stock."""
        o = self.orders
        n = o.n
        live = int(np.count_nonzero(o.state[:n]))
        # Every order ever created is live (in exactly one state) or closed, and has one agent.
        assert live + self.orders_closed == o.next_uid, "orders not conserved"
        live_slots = o.live().tolist()
        in_model = self.agents_by_type.get(TagWearer, ())
        assert len(o.agent) == n and all(a.slot == i for i, a in enumerate(o.agent)), "slots"
        assert live == len(in_model), "agents of closed orders kept"
        assert all(o.agent[i] in in_model for i in live_slots), "live order without its agent"
        assert set(np.unique(o.state[:n])) <= {int(s) for s in State}
        # Pending visits only where they belong.
        visit, state = o.visit[:n], o.state[:n]
        assert not np.any((visit == Visit.FIT) & (state != State.AWAITING_FIT))
        assert not np.any((visit == Visit.CHECK) & (state != State.FITTED))
        assert not np.any((visit == Visit.REMOVAL) & (state != State.AWAITING_REMOVAL))
        assert np.all(self.supplier.stock >= 0), "negative stock"
        # An order past its last day is closed, or waits only for its tag to be removed.
        ended = (state != State.FREE) & (o.end_day[:n] <= self.day)
        assert np.all(state[ended] == State.AWAITING_REMOVAL), "an ended order still open"
        # Desks never do more than their capacity since the start (a day's unused capacity
        # carries over only in part, so the work done can only fall below it).
        allowed, done = self._ledger["reviews"]
        assert done <= allowed + 1e-6, "more alerts reviewed than the centre's capacity"
        allowed, done = self._ledger["responses"]
        assert np.all(done <= allowed + 1e-6), "more responses than the responders' capacity"
        on_wearers = int(
            np.count_nonzero((state == State.FITTED) | (state == State.AWAITING_REMOVAL))
        )
        supplied = self.supplier.supplied + self._initial_devices_fitted
        assert on_wearers + int(self.supplier.stock.sum()) + self.devices_lost == supplied, (
            "devices"
        )
        # Every notification is in transit, with a responder, answered or lapsed: nothing else.
        nt = self.notices
        nstate, delivered = nt.view("state"), nt.view("delivered_day")
        live_notices = int(np.count_nonzero(nstate))
        assert (
            live_notices + self.notices_answered + self.notices_unanswered == self.notices_created
        )
        assert nt.next_uid == self.notices_created
        # Breach packs reach responders on their delivery day, never before.
        assert np.all(delivered[nstate == NoticeState.AWAITING_RESPONSE] <= self.day)
        assert np.all(delivered[nstate == NoticeState.IN_TRANSIT] > self.day)

    # ------------------------------------------------------------------ running
    def run(self, *, progress: bool = False) -> None:
        """Simulate warm-up and the scenario period."""
        total = self.warmup + self.n_days
        with _young_collections_spaced(YOUNG_GC_THRESHOLD):
            if progress:
                from tqdm import tqdm

                with tqdm(total=total, unit="day", desc=self.scenario_def.name, leave=False) as bar:
                    for _ in range(total):
                        self.step()
                        bar.update()
            else:
                for _ in range(total):
                    self.step()

    @property
    def order_to_fit_days(self) -> np.ndarray:
        return self.sample("order_to_fit")


# Python's cyclic garbage collector looks at young objects after every 700 net allocations
# (its default). A day at scale 4 creates about 1,300 wearer agents before it removes the
# day's closed ones, so every day started a collection, and one in a hundred a full one over
# all live agents: a quarter of a scale-4 run, growing faster than the population. Agents are
# freed by reference counting when their order ends (the model makes no reference cycles per
# day), so collections are spaced further apart while a run lasts; results do not depend on
# when the collector runs.
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


_COHORT_CODES = np.arange(len(COHORTS), dtype=np.int8)
_DEVICES_LOST = FIELD_COUNTERS.index("devices_lost")


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer ``total`` in proportion to ``weights`` (largest remainders)."""
    if total <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    quota = total * weights / weights.sum()
    out = np.floor(quota).astype(np.int64)
    rest = total - out.sum()
    out[np.argsort(-(quota - out), kind="stable")[:rest]] += 1
    return out


def _bernoulli_positions(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Indices in ``range(n)`` selected independently with probability ``p``.

    Draws the gaps between selected indices (geometric), so the cost grows with the number
    selected rather than with ``n``.
    """
    if n == 0 or p <= 0.0:
        return np.empty(0, dtype=np.int64)
    if p >= 1.0:
        return np.arange(n)
    out = []
    pos = -1
    while True:
        k = int(n * p + 4 * math.sqrt(n * p) + 16)
        # A gap of n or more ends the selection; capping it keeps the sum from overflowing
        # when p is tiny (the same indices are selected, from the same draws).
        chosen, last = gaps_to_positions(rng.geometric(p, size=k), pos, n)
        if last >= n:
            return np.concatenate((*out, chosen)) if out else chosen
        out.append(chosen)
        pos = int(last)


def _rank_within(group: np.ndarray) -> np.ndarray:
    """Position of each element among earlier elements of the same group (0, 1, 2, ...)."""
    return rank_within(np.ascontiguousarray(group, dtype=np.int64))
