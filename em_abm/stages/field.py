"""Stages 3, 5 and 8 in the field: the supplier's field officers fit tags, check equipment
and remove tags at wearers' addresses.

:class:`~em_abm.agents.field_officer.FieldOfficer` agents are based at each probation
region's hub, in proportion to the region's expected visit hours. Each day a region's
officer-hours (shift, rota, availability, capacity multiplier, any surge under the
contingency) are spent on the due visits in the visit policy's order
(``policy.visit_queue``): fits (each attempt fails with a probability; two failures escalate
the order to its requester), equipment checks (requested each day with a probability by
fitted orders with no visit pending) and removals (:mod:`em_abm.stages.removal`). Each visit
costs (1 + share double-crewed) x (time on site + travel), travel from the police-force-area
road network. Hours left over because the next visit did not fit carry into the next day,
up to a shift (:func:`em_abm.kernels.carried_hours`); the hours used are handed to the
officers on shift in turn, so no officer works more than a shift.
"""

from __future__ import annotations

import math

import numpy as np

from em_abm import params as P
from em_abm.agents import FieldOfficer
from em_abm.component import Component, register
from em_abm.interventions.pilots import travel_factor
from em_abm.kernels.core import gaps_to_positions
from em_abm.kernels.field import (
    FIELD_COUNTERS,
    FieldOrders,
    FieldOut,
    FieldParams,
    carried_hours,
    field_visits_day,
    visit_scan,
)
from em_abm.params import TAGS, VISIT_TYPES
from em_abm.policies import visit_policy
from em_abm.population import Visit

DEVICES_LOST = FIELD_COUNTERS.index("devices_lost")


def bernoulli_positions(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
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


@register
class Field(Component):
    name = "field"
    params = ("field.", "equipment.collection_rate", "kpi.required_days.", "policy.visit_queue",
              "pilot.automated_scheduling", "pilot.scheduling_travel_saving")  # fmt: skip
    metrics = (*FIELD_COUNTERS, "cost_visits_gbp", "cost_devices_lost_gbp",
               "field_hours_available", "field_hours_used")  # fmt: skip

    def on_params(self) -> None:
        m = self.model
        p = m.p
        travel = m.geography.visit_travel_hours(p["field.chain_factor"])
        self.visit_travel = travel * travel_factor(p)  # automated scheduling saves travel
        self.onsite = np.array([0.0, *P.vector(p, "field.onsite_hours", VISIT_TYPES)])
        self.crew = 1.0 + p["field.double_crew_share"]
        self.policy = visit_policy(p["policy.visit_queue"])
        self.required_days = np.array([0.0, *P.vector(p, "kpi.required_days", VISIT_TYPES)])
        self.kernel_params = FieldParams(
            crew=self.crew, onsite=self.onsite, travel=self.visit_travel,
            required_days=self.required_days, n_regions=m.n_regions, n_tags=len(TAGS),
            fit_success=p["field.fit_success_prob"],
            collection_rate=p["equipment.collection_rate"],
            reattempt_delay=p["field.reattempt_delay_days"],
            review_days=p["escalation.review_days"],
        )  # fmt: skip
        if hasattr(self, "officers") and len(self.officers) != round(p["field.officers"] * m.scale):
            self.create_officers()

    def setup(self) -> None:
        m = self.model
        self._carry = np.zeros(m.n_regions)
        self._due_buffer = np.empty(0, dtype=np.int64)
        self._idle_buffer = np.empty(0, dtype=np.int64)
        self._hours_cache: tuple = (None, None)
        self.create_officers()

    def create_officers(self) -> None:
        """Field officers by region, in proportion to each region's expected visit hours
        (replacing any there were: the workforce changes in some scenarios)."""
        m = self.model
        for officer in getattr(self, "officers", []):
            officer.remove()
        geo = m.geography
        workload = np.bincount(
            geo.area_region,
            weights=geo.population_share * (self.onsite[1] + self.visit_travel),
            minlength=m.n_regions,
        )
        # Each region's exact share of the (scaled) workforce, in FTE. Officers are whole
        # agents; where a region's share is not a whole number its officers are part-time, so
        # capacity is exact at any scale (a region with a share gets at least one officer).
        quota = m.p["field.officers"] * m.scale * workload / workload.sum()
        count = np.where(quota > 0, np.maximum(1, np.round(quota)), 0).astype(np.int64)
        self.officers_per_region = count
        self.officer_region = np.repeat(np.arange(m.n_regions), count)
        self.officer_fte = np.repeat(
            np.divide(quota, count, out=np.zeros_like(quota), where=count > 0), count
        )
        self.officers = [
            FieldOfficer(m, i, int(r), int(geo.region_hub[r]), float(self.officer_fte[i]))
            for i, r in enumerate(self.officer_region)
        ]
        total = len(self.officers)
        self._officer_hours = (
            np.zeros(total),
            np.zeros(m.n_regions),
            np.zeros(m.n_regions),
            None,
        )

    def check_requests(self, d: int, idle: np.ndarray) -> np.ndarray:
        """Routine equipment checks (stage 5): each fitted order with no visit pending
        (``idle``) asks for one with the day's probability. Returns the orders that did."""
        m = self.model
        rate = m.p["field.check_visits_per_year"] / 365.0
        need = idle[bernoulli_positions(m.rngs["maintenance"], len(idle), rate)]
        o = m.orders
        o.visit[need] = Visit.CHECK
        o.ready_day[need] = d
        return need

    def step(self, d: int) -> None:
        m = self.model
        o, p = m.orders, m.p
        hours = FieldOfficer.hours_per_day(p) * m.stages.contingency.surge_factor(d)
        cached = self._hours_cache
        if cached[0] != hours or cached[1] is not self.officer_fte:
            base = hours * self.officer_fte
            cap_base = np.bincount(self.officer_region, weights=base, minlength=m.n_regions)
            cached = self._hours_cache = (hours, self.officer_fte, base, cap_base,
                                          float(cap_base.sum()))  # fmt: skip
        base, cap_base = cached[2], cached[3]
        # Hours left over yesterday because the next visit did not fit carry into today.
        cap = cap_base + self._carry
        self._officer_hours = (base, cap, cap_base, None)  # per officer on demand

        if len(self._due_buffer) < o.n:
            self._due_buffer = np.empty(o.capacity, dtype=np.int64)
            self._idle_buffer = np.empty(o.capacity, dtype=np.int64)
        n_idle, n_due = visit_scan(
            o.n, d, o.state, o.visit, o.ready_day, self._idle_buffer, self._due_buffer
        )
        need = self.check_requests(d, self._idle_buffer[:n_idle])
        # Visits due: those pending, and the checks just requested (the policy's sort below
        # orders them all, whatever order they are gathered in).
        cand = np.concatenate((self._due_buffer[:n_due], need))
        used = np.zeros(m.n_regions)
        waiting = np.zeros(m.n_regions, dtype=bool)
        if len(cand):
            order = np.lexsort((o.uid[cand], self.policy.key(m, cand), o.region[cand]))
            counts = np.zeros(len(FIELD_COUNTERS), dtype=np.int64)
            won = np.empty(len(cand), dtype=np.int64)
            removed = np.empty(len(cand), dtype=np.int64)
            n_won, n_removed = field_visits_day(
                cand[order], d, o.views(FieldOrders),
                m.stages.supply.supplier.stock.reshape(-1), cap, self.kernel_params,
                FieldOut(counts, used, waiting, won, removed, m.people.next_day),
            )  # fmt: skip
            m.count_by("field", counts)
            m.count("cost_visits_gbp", counts[0] * p["cost.per_visit_gbp"])
            lost = counts[DEVICES_LOST]
            m.count("cost_devices_lost_gbp", lost * p["cost.device_replacement_gbp"])
            m.devices_lost += int(lost)
            m.stages.orders.record_fit_waits(d, won[:n_won])
            if n_removed:
                m.stages.removal.close(removed[:n_removed])
        # Unused hours carry over only where a visit was left waiting for lack of them, and
        # never more than a shift's worth.
        self._carry = carried_hours(cap, used, waiting, p["field.shift_hours"])
        self._officer_hours = (*self._officer_hours[:3], used)
        m.count("field_hours_available", cached[4])  # today's new hours
        m.count("field_hours_used", float(used.sum()))
        if m.check_invariants:
            assert np.all(used <= cap + 1e-6), "field hours exceeded"
            assert np.all(self.officer_hours_used <= self.officer_hours_available + 1e-9)

    # ------------------------------------------------------------------ officers' hours
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
        n_regions = self.model.n_regions
        region_start = np.concatenate(
            [[0.0], np.cumsum(np.bincount(self.officer_region, weights=avail,
                                          minlength=n_regions))]
        )[:-1]  # fmt: skip
        offset = start - region_start[self.officer_region]
        return np.clip(used[self.officer_region] - offset, 0.0, avail)
