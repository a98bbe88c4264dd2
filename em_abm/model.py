"""EMModel: electronic monitoring in England and Wales as a Mesa model.

Time is in days. Mesa runs :meth:`EMModel.step` once per simulated day; timed deliveries
(equipment, dated scenario changes) are Mesa events scheduled between days. A day:

1. dated scenario changes due today take effect (a Mesa event before the day starts);
2. requesters send new orders (stage 2); about a fifth arrive with errors and go back for
   rework; clean orders join the fitting queue;
3. requesters finish rework and review orders escalated after two failed attempts;
4. orders that end today: fitted ones wait for removal, others close;
5. fitted tags raise equipment-check visits (stage 5);
6. field officers in each region take due visits in the policy's order until their hours
   are spent: fits (stage 3, each attempt fails with a probability; two failures escalate
   the order), checks, removals (stage 8, the device is collected or lost);
7. the equipment supplier reorders regional stock (stage 1);
8. metrics for the day are recorded.

All per-order work is vectorised over the :class:`~em_abm.population.OrderTable`; Python
code runs per order only when an order arrives or closes (its Mesa agent is created or
removed).

Randomness: one seed. Independent streams are spawned from it for arrivals, initial state
and check visits, so that a change of policy never reshuffles who arrives when. Outcomes
that belong to an order (does attempt *k* succeed, is its device collected, what does the
requester decide in round *r*) are drawn by hashing the order's key with the event, so they
are the same whichever day or order the policy handles the order in: common random numbers
for paired policy comparisons.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import mesa
import numpy as np

from em_abm import params as P
from em_abm.agents import Court, EquipmentSupplier, FieldOfficer, HomeOffice, Prison, TagWearer
from em_abm.agents.agencies import LEAVE_ACTIVE, REISSUE, REVOKE
from em_abm.errors import UserError
from em_abm.geography import Geography
from em_abm.metrics import COLUMN_INDEX, COLUMNS
from em_abm.params import COHORTS, TAGS, VISIT_TYPES
from em_abm.policies import visit_policy
from em_abm.population import ACTIVE_STATES, N_STATES, OrderTable, State, Visit
from em_abm.scenario import Scenario, load

# Random streams spawned from the run's seed, in this order. Append new streams at the end
# only: the position of a stream fixes its numbers.
STREAMS = ("arrivals", "init", "maintenance")

# Event identifiers for the per-order common random numbers.
_CRN_FIT, _CRN_COLLECT, _CRN_REVIEW = 1, 2, 3

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (vectorised): a well-mixed 64-bit hash."""
    z = x + _M1
    z = (z ^ (z >> np.uint64(30))) * _M2
    z = (z ^ (z >> np.uint64(27))) * _M3
    return z ^ (z >> np.uint64(31))


def crn(keys: np.ndarray, event: int, index: np.ndarray | int) -> np.ndarray:
    """Uniform [0, 1) numbers for (order key, event, index), independent across all three."""
    h = _mix(keys ^ np.uint64(event << 56))
    h = _mix(h + np.asarray(index, dtype=np.uint64))
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


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
        if not (isinstance(years, int | float) and years > 0 and np.isfinite(years)):
            raise UserError(f"years: got {years!r}; allowed: a number greater than 0")
        if not (isinstance(scale, int | float) and scale > 0 and np.isfinite(scale)):
            raise UserError(f"scale: got {scale!r}; allowed: a number greater than 0")
        if rng is None:
            rng = int(np.random.SeedSequence().entropy % (2**63))
        if isinstance(rng, bool) or not isinstance(rng, int | np.integer) or rng < 0:
            raise UserError(f"seed: got {rng!r}; allowed: a non-negative integer")
        self.scenario_def = load(scenario).with_overrides(overrides or {}, where="--set ")
        super().__init__(rng=int(rng))
        self.seed = int(rng)
        self.years = float(years)
        self.scale = float(scale)
        self.check_invariants = check_invariants
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
        self._wearers: dict[int, TagWearer] = {}

        self.requesters = [Prison(self), Court(self), HomeOffice(self)]
        self._apply_params()
        self._create_officers()
        self.supplier = EquipmentSupplier(
            self,
            stock=np.ceil(self.p["equipment.initial_stock_days"] * self.expected_daily_fits),
        )

        self.series = np.zeros((self.n_days, len(COLUMNS)), dtype=np.float64)
        self._order_to_fit: list[np.ndarray] = []
        self._flow = np.zeros(len(COLUMNS), dtype=np.float64)
        self._initial_population()
        self._schedule_changes()

    # ------------------------------------------------------------------ set-up
    def date_of(self, day: int) -> dt.date:
        return self.start_date + dt.timedelta(days=int(day))

    def _time_of_day_start(self, day: int) -> float:
        """Mesa time just before the step that simulates ``day``."""
        return day + self.warmup + 0.5

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
        self.visit_travel = geo.visit_travel_hours(p["field.chain_factor"])
        self.onsite = np.array([0.0, *P.vector(p, "field.onsite_hours", VISIT_TYPES)])
        self.crew = 1.0 + p["field.double_crew_share"]
        self.policy = visit_policy(p["policy.visit_queue"])

    def _create_officers(self) -> None:
        """Field officers by region, in proportion to each region's expected visit hours."""
        geo = self.geography
        workload = np.bincount(
            geo.area_region,
            weights=geo.population_share * (self.onsite[1] + self.visit_travel),
            minlength=self.n_regions,
        )
        total = round(self.p["field.officers"] * self.scale)
        self.officers_per_region = _apportion(total, workload)
        self.officer_region = np.repeat(np.arange(self.n_regions), self.officers_per_region)
        self.officer_rota = (
            np.concatenate([np.arange(k) % 7 for k in self.officers_per_region]).astype(np.int64)
            if total
            else np.empty(0, dtype=np.int64)
        )
        self.officers = [
            FieldOfficer(self, i, int(r), int(geo.region_hub[r]), int(self.officer_rota[i]))
            for i, r in enumerate(self.officer_region)
        ]
        self.officer_hours_available = np.zeros(total)
        self.officer_hours_used = np.zeros(total)

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
        cohort = np.repeat(np.arange(len(COHORTS)), counts).astype(np.int8)
        n = len(cohort)
        length = rng.gamma(k + 1.0, self.duration_mean[cohort] / k)
        elapsed = rng.random(n) * length
        day0 = -self.warmup
        slots = self._new_orders(
            rng,
            cohort,
            received=day0 - np.floor(elapsed).astype(np.int32),
            end=day0 + np.maximum(1, np.ceil(length - elapsed)).astype(np.int32),
        )
        o = self.orders
        fitted = rng.random(n) < p["init.tagged_share"]
        o.state[slots] = np.where(fitted, State.FITTED, State.UNTAGGED)
        o.fitted_day[slots] = np.where(fitted, o.received_day[slots], 0)
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
        today = self.date_of(int(self.time - self.warmup))
        due = [c for c in self._pending_changes if c.date <= today]
        self._pending_changes = [c for c in self._pending_changes if c.date > today]
        for c in due:
            self.p.update(c.values)
        if due:
            self._apply_params()

    # ------------------------------------------------------------------ orders
    def _new_orders(
        self, rng: np.random.Generator, cohort: np.ndarray, *, received, end
    ) -> np.ndarray:
        """Allocate slots for new orders of the given cohorts and draw their attributes."""
        n = len(cohort)
        o = self.orders
        slots = o.allocate(n)
        if n == 0:
            return slots
        u_tag = rng.random(n)
        tag = (u_tag[:, None] >= self.tag_cdf[cohort]).sum(axis=1).astype(np.int8)
        area = self.geography.draw_areas(rng, n)
        o.cohort[slots] = cohort
        o.tag[slots] = tag
        o.area[slots] = area
        o.region[slots] = self.geography.area_region[area]
        o.received_day[slots] = received
        o.end_day[slots] = end
        o.attempts[slots] = 0
        o.attempts_total[slots] = 0
        o.rounds[slots] = 1
        o.first_round_open[slots] = True
        o.key[slots] = rng.integers(0, 2**63, size=n, dtype=np.int64).astype(np.uint64)
        slot_list = slots.tolist()
        if TagWearer not in self._agents_by_type:  # the first wearer registers the type
            self._wearers[slot_list[0]] = TagWearer(self, slot_list[0], int(o.uid[slots[0]]))
            slot_list = slot_list[1:]
        agents = TagWearer.create_batch(
            self, slot_list, o.uid[slots[len(slots) - len(slot_list) :]].tolist()
        )
        self._wearers.update(zip(slot_list, agents, strict=True))
        return slots

    def _close(self, slots: np.ndarray) -> None:
        """Orders that are over: remove their agents and free their slots."""
        pop = self._wearers.pop
        TagWearer.remove_batch(self, [pop(s) for s in slots.tolist()])
        self.orders.release(slots)
        self.orders_closed += len(slots)

    def _arrivals(self, d: int) -> None:
        rng = self.rngs["arrivals"]
        counts = np.zeros(len(COHORTS), dtype=np.int64)
        for req in self.requesters:
            counts[req.cohort_index] = req.new_orders(rng, self.daily_orders)
        cohort = np.repeat(np.arange(len(COHORTS)), counts).astype(np.int8)
        n = len(cohort)
        k = self.p["demand.duration_shape"]
        length = rng.gamma(k, self.duration_mean[cohort] / k)
        error = rng.random(n) < self.p["orders.error_rate"]
        rework = np.ceil(rng.exponential(self.p["orders.rework_days_mean"], n)).astype(np.int32)
        slots = self._new_orders(
            rng, cohort, received=d, end=d + np.maximum(1, np.round(length)).astype(np.int32)
        )
        o = self.orders
        o.state[slots] = np.where(error, State.REWORK, State.AWAITING_FIT)
        o.visit[slots] = np.where(error, Visit.NONE, Visit.FIT)
        o.ready_day[slots] = d + np.where(error, rework, self.p["field.first_visit_delay_days"])
        self._count("orders_received", n)
        self._count("orders_with_error", int(error.sum()))

    def _requester_work(self, d: int) -> None:
        o = self.orders
        state = o.view("state")
        due = o.view("ready_day") <= d
        fixed = np.flatnonzero((state == State.REWORK) & due)
        o.state[fixed] = State.AWAITING_FIT
        o.visit[fixed] = Visit.FIT
        o.ready_day[fixed] = d + self.p["field.first_visit_delay_days"]

        reviewed = np.flatnonzero((state == State.ESCALATED) & due)
        if len(reviewed) == 0:
            return
        p = self.p
        decision = Prison.review(
            crn(o.key[reviewed], _CRN_REVIEW, o.rounds[reviewed]),
            o.rounds[reviewed],
            reissue=p["escalation.reissue_share"],
            revoke=p["escalation.revoke_share"],
            max_rounds=p["field.max_rounds"],
        )
        again = reviewed[decision == REISSUE]
        o.state[again] = State.AWAITING_FIT
        o.visit[again] = Visit.FIT
        o.attempts[again] = 0
        o.rounds[again] += 1
        o.ready_day[again] = d + p["field.first_visit_delay_days"]
        o.state[reviewed[decision == LEAVE_ACTIVE]] = State.UNTAGGED
        revoked = reviewed[decision == REVOKE]
        self._count("orders_revoked", len(revoked))
        self._close(revoked)

    def _order_ends(self, d: int) -> None:
        o = self.orders
        ending = np.flatnonzero((o.view("end_day") <= d) & (o.view("state") != State.FREE))
        if len(ending) == 0:
            return
        state = o.state[ending]
        fitted = ending[state == State.FITTED]
        o.state[fitted] = State.AWAITING_REMOVAL
        o.visit[fitted] = Visit.REMOVAL
        o.ready_day[fitted] = d
        self._close(ending[(state != State.FITTED) & (state != State.AWAITING_REMOVAL)])

    def _check_requests(self, d: int) -> None:
        o = self.orders
        idle = np.flatnonzero((o.view("state") == State.FITTED) & (o.view("visit") == Visit.NONE))
        rate = self.p["field.check_visits_per_year"] / 365.0
        need = idle[_bernoulli_positions(self.rngs["maintenance"], len(idle), rate)]
        o.visit[need] = Visit.CHECK
        o.ready_day[need] = d

    # ------------------------------------------------------------------ field visits
    def _field_visits(self, d: int) -> None:
        o, p = self.orders, self.p
        ntag = len(TAGS)
        # Officer hours today: officers on their rota, at the expected availability.
        on = ((d + self.officer_rota) % 7) < p["field.days_per_week"]
        hours = p["field.shift_hours"] * p["field.availability"] * p["field.capacity_multiplier"]
        self.officer_hours_available = np.where(on, hours, 0.0)
        cap = np.bincount(
            self.officer_region, weights=self.officer_hours_available, minlength=self.n_regions
        )

        cand = np.flatnonzero((o.view("visit") != Visit.NONE) & (o.view("ready_day") <= d))
        used = np.zeros(self.n_regions)
        if len(cand):
            region = o.region[cand].astype(np.int64)
            order = np.lexsort((o.uid[cand], self.policy.key(self, cand), region))
            cand, region = cand[order], region[order]
            vtype = o.visit[cand]
            # A fit needs a device of the right type in the region's stock.
            is_fit = vtype == Visit.FIT
            if is_fit.any():
                group = region[is_fit] * ntag + o.tag[cand[is_fit]]
                rank = _rank_within(group)
                keep = np.ones(len(cand), dtype=bool)
                keep[is_fit] = rank < self.supplier.stock.ravel()[group]
                cand, region, vtype = cand[keep], region[keep], vtype[keep]
            cost = self.crew * (self.onsite[vtype] + self.visit_travel[o.area[cand]])
            cum = np.cumsum(cost)
            first = np.searchsorted(region, np.arange(self.n_regions))
            before = np.concatenate([[0.0], cum])[first]
            done = (cum - before[region]) <= cap[region] + 1e-9
            cand, region, vtype, cost = cand[done], region[done], vtype[done], cost[done]
            used = np.bincount(region, weights=cost, minlength=self.n_regions)
            self._visit_outcomes(d, cand, region, vtype)
        self._assign_hours(used)
        self._count("field_hours_available", float(cap.sum()))
        self._count("field_hours_used", float(used.sum()))
        if self.check_invariants:
            assert np.all(used <= cap + 1e-6), "field hours exceeded"
            assert np.all(self.officer_hours_used <= self.officer_hours_available + 1e-9)

    def _assign_hours(self, used: np.ndarray) -> None:
        """Hand each region's used hours to its officers on shift in turn (none over a shift)."""
        avail = self.officer_hours_available
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
        self.officer_hours_used = np.clip(used[self.officer_region] - offset, 0.0, avail)

    def _visit_outcomes(
        self, d: int, slots: np.ndarray, region: np.ndarray, vtype: np.ndarray
    ) -> None:
        o, p = self.orders, self.p
        ntag = len(TAGS)
        stock = self.supplier.stock.ravel()  # view: updates write through
        self._count("visits_done", len(slots))
        for v, name in ((Visit.FIT, "fit"), (Visit.CHECK, "check"), (Visit.REMOVAL, "removal")):
            self._count(f"visits_done.{name}", int((vtype == v).sum()))
        self._count("cost_visits_gbp", len(slots) * p["cost.per_visit_gbp"])

        fit = slots[vtype == Visit.FIT]
        if len(fit):
            ok = crn(o.key[fit], _CRN_FIT, o.attempts_total[fit]) < p["field.fit_success_prob"]
            o.attempts_total[fit] += 1
            first = o.first_round_open[fit]
            won, lost = fit[ok], fit[~ok]
            o.state[won] = State.FITTED
            o.visit[won] = Visit.NONE
            o.fitted_day[won] = d
            np.subtract.at(stock, o.region[won].astype(np.int64) * ntag + o.tag[won], 1)
            self._count("fits", len(won))
            self._count("fits_within_two", int(first[ok].sum()))
            if d >= 0:
                self._order_to_fit.append((d - o.received_day[won]).astype(np.int32))
            o.attempts[lost] += 1
            self._count("visits_failed", len(lost))
            out = lost[o.attempts[lost] >= 2]
            o.state[out] = State.ESCALATED
            o.visit[out] = Visit.NONE
            o.ready_day[out] = d + p["escalation.review_days"]
            self._count("escalations", len(out))
            retry = lost[o.attempts[lost] < 2]
            o.ready_day[retry] = d + p["field.reattempt_delay_days"]
            concluded = np.concatenate([won[first[ok]], out[o.first_round_open[out]]])
            self._count("first_rounds_concluded", len(concluded))
            o.first_round_open[concluded] = False

        o.visit[slots[vtype == Visit.CHECK]] = Visit.NONE

        rem = slots[vtype == Visit.REMOVAL]
        if len(rem):
            back = crn(o.key[rem], _CRN_COLLECT, 0) < p["equipment.collection_rate"]
            np.add.at(stock, o.region[rem[back]].astype(np.int64) * ntag + o.tag[rem[back]], 1)
            n_lost = int((~back).sum())
            self.devices_lost += n_lost
            self._count("removals", len(rem))
            self._count("devices_collected", int(back.sum()))
            self._count("devices_lost", n_lost)
            self._count("cost_devices_lost_gbp", n_lost * p["cost.device_replacement_gbp"])
            self._close(rem)

    # ------------------------------------------------------------------ the day
    devices_lost = 0  # devices not collected at removal, since the start of warm-up
    orders_closed = 0  # orders that have left the system, since the start of warm-up

    def step(self) -> None:
        self.day += 1
        d = self.day
        self._flow[:] = 0.0
        self._arrivals(d)
        self._requester_work(d)
        self._order_ends(d)
        self._check_requests(d)
        self._field_visits(d)
        p = self.p
        self.supplier.reorder(
            expected_daily_fits=self.expected_daily_fits,
            reorder_point_days=p["equipment.reorder_point_days"],
            order_up_to_days=p["equipment.order_up_to_days"],
            lead_time_days=p["equipment.lead_time_days"],
            supply_multiplier=p["equipment.supply_multiplier"],
            deliver_at=self._time_of_day_start(d + max(1, p["equipment.lead_time_days"])),
        )
        if self.check_invariants:
            self.assert_invariants()
        if d >= 0:
            self._record(d)
        self.supplier.delivered_today = 0

    def _count(self, column: str, value: float) -> None:
        self._flow[COLUMN_INDEX[column]] += value

    def state_counts(self) -> np.ndarray:
        """Live orders by (state, cohort): an array of shape (states, cohorts)."""
        o = self.orders
        n = o.n
        nc = len(COHORTS)
        flat = o.state[:n].astype(np.int64) * nc + o.cohort[:n]
        return np.bincount(flat, minlength=N_STATES * nc).reshape(N_STATES, nc)

    def _record(self, d: int) -> None:
        o = self.orders
        n = o.n
        row = self.series[d]
        row[:] = self._flow
        counts = self.state_counts()
        by_state = counts.sum(axis=1)
        ix = COLUMN_INDEX
        fitted_by_cohort = counts[State.FITTED]
        row[ix["tagged"]] = fitted_by_cohort.sum()
        for i, c in enumerate(COHORTS):
            row[ix[f"tagged.{c}"]] = fitted_by_cohort[i]
        fitted = o.state[:n] == State.FITTED
        by_tag = np.bincount(o.tag[:n][fitted], minlength=len(TAGS))
        for i, t in enumerate(TAGS):
            row[ix[f"tagged.{t}"]] = by_tag[i]
        active = sum(by_state[s] for s in ACTIVE_STATES)
        row[ix["active_orders"]] = active
        row[ix["active_orders_without_tag"]] = active - by_state[State.FITTED]
        row[ix["orders_in_rework"]] = by_state[State.REWORK]
        row[ix["orders_awaiting_fit"]] = by_state[State.AWAITING_FIT]
        row[ix["orders_escalated"]] = by_state[State.ESCALATED]
        row[ix["orders_awaiting_removal"]] = by_state[State.AWAITING_REMOVAL]
        due = (o.visit[:n] != Visit.NONE) & (o.ready_day[:n] <= d)
        by_visit = np.bincount(o.visit[:n][due], minlength=4)
        row[ix["outstanding_visits"]] = by_visit[1:].sum()
        row[ix["outstanding_visits.fit"]] = by_visit[Visit.FIT]
        row[ix["outstanding_visits.check"]] = by_visit[Visit.CHECK]
        row[ix["outstanding_visits.removal"]] = by_visit[Visit.REMOVAL]
        row[ix["devices_in_stock"]] = self.supplier.stock.sum()
        row[ix["devices_delivered"]] = self.supplier.delivered_today
        row[ix["cost_em_gbp"]] = row[ix["tagged"]] * self.p["cost.per_tagged_year_gbp"] / 365.0

    # ------------------------------------------------------------------ checks
    def assert_invariants(self) -> None:
        """Conservation of orders and devices; no negative stock."""
        o = self.orders
        n = o.n
        live = int(np.count_nonzero(o.state[:n]))
        # Every order ever created is live (in exactly one state) or closed, and has one agent.
        assert live + self.orders_closed == o.next_uid, "orders not conserved"
        assert live == len(self._wearers) == len(self.agents_by_type.get(TagWearer, ())), "agents"
        assert set(np.unique(o.state[:n])) <= {int(s) for s in State}
        # Pending visits only where they belong.
        visit, state = o.visit[:n], o.state[:n]
        assert not np.any((visit == Visit.FIT) & (state != State.AWAITING_FIT))
        assert not np.any((visit == Visit.CHECK) & (state != State.FITTED))
        assert not np.any((visit == Visit.REMOVAL) & (state != State.AWAITING_REMOVAL))
        assert np.all(self.supplier.stock >= 0), "negative stock"
        on_wearers = int(
            np.count_nonzero((state == State.FITTED) | (state == State.AWAITING_REMOVAL))
        )
        supplied = self.supplier.supplied + self._initial_devices_fitted
        assert on_wearers + int(self.supplier.stock.sum()) + self.devices_lost == supplied, (
            "devices"
        )

    # ------------------------------------------------------------------ running
    def run(self, *, progress: bool = False) -> None:
        """Simulate warm-up and the scenario period."""
        total = self.warmup + self.n_days
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
        if not self._order_to_fit:
            return np.empty(0, dtype=np.int32)
        return np.concatenate(self._order_to_fit)


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
        k = int(n * p + 4 * np.sqrt(n * p) + 16)
        idx = pos + np.cumsum(rng.geometric(p, size=k))
        out.append(idx[idx < n])
        if idx[-1] >= n:
            break
        pos = int(idx[-1])
    return np.concatenate(out)


def _rank_within(group: np.ndarray) -> np.ndarray:
    """Position of each element among earlier elements of the same group (0, 1, 2, ...)."""
    order = np.argsort(group, kind="stable")
    g = group[order]
    starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    pos = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    rank = np.empty_like(pos)
    rank[order] = pos
    return rank
