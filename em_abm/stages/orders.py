"""Stage 2, the creation of orders: requesters send orders daily; rework of orders sent with
errors; review of orders escalated after failed fitting; orders that end.

Courts, prisons and the Home Office (:mod:`em_abm.agents.agencies`) send the day's new orders
by cohort (NAO Figure 1 D), each with a tag type, home area, risk level and propensity to
violate. About a fifth arrive with errors and go back for rework. Clean orders join the
fitting queue (or are fitted at source under the pilots, :mod:`em_abm.interventions.pilots`),
rationed first by the allocation levers (:mod:`em_abm.interventions.rationing`). The
requesters review orders escalated after two failed attempts (re-issue, revoke, or leave
active without a tag); orders that end today wait for removal if fitted and close otherwise
(:mod:`em_abm.stages.removal`).

The run starts from the stationary distribution of active orders (:meth:`Orders.init_state`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaincinv, ndtr

from em_abm import params as P
from em_abm.agents import Court, HomeOffice, Prison
from em_abm.component import Component, register
from em_abm.kernels.behaviour import HazardColumns
from em_abm.kernels.core import CRN_PERSON_ORDER
from em_abm.kernels.orders import (
    InitOrders,
    NewOrders,
    RequesterOrders,
    RequesterParams,
    arrival_terms,
    init_orders,
    order_attributes,
    queue_new_orders,
    requesters_and_ends_day,
)
from em_abm.kernels.people import episode_keys
from em_abm.params import COHORTS, RISK_LEVELS, TAGS
from em_abm.population import NO_DAY, State, Visit

COHORT_CODES = np.arange(len(COHORTS), dtype=np.int8)


@register
class Orders(Component):
    name = "orders"
    params = ("demand.", "orders.", "escalation.", "init.", "behaviour.risk_mix.")
    metrics = ("orders_received", "orders_with_error", "orders_revoked", "orders_endogenous")

    def on_params(self) -> None:
        m = self.model
        p, s = m.p, m.scale
        self.daily_orders = (
            np.array(P.vector(p, "demand.orders_per_year", COHORTS))
            * p["demand.multiplier"]
            * s
            / 365.0
        )
        # Orders from outside the people followed: the calibrated inflow less the share
        # that comes from them (releases and new offences, stages.people).
        self.exogenous_share = 1.0 - np.array(P.vector(p, "demand.endogenous_share", COHORTS))
        self.duration_mean = np.array(P.vector(p, "demand.duration_mean_days", COHORTS))
        self.tag_cdf = np.cumsum(
            [P.vector(p, f"demand.tag_mix.{c}", TAGS) for c in COHORTS], axis=1
        )
        self.tag_cdf[:, -1] = 1.0
        mix = self.tag_cdf - np.pad(self.tag_cdf[:, :-1], ((0, 0), (1, 0)))
        # Expected new orders per day by region and tag, the supplier's planning figure.
        by_tag = self.daily_orders @ mix
        self.expected_daily_fits = np.outer(m.geography.region_population_share, by_tag)
        self.risk_cdf = np.cumsum(
            [P.vector(p, f"behaviour.risk_mix.{c}", RISK_LEVELS) for c in COHORTS], axis=1
        )
        self.risk_cdf[:, -1] = 1.0
        self.requester_params = RequesterParams(
            first_visit_delay=p["field.first_visit_delay_days"],
            reissue=p["escalation.reissue_share"],
            revoke=p["escalation.revoke_share"],
            max_rounds=p["field.max_rounds"],
        )

    def setup(self) -> None:
        m = self.model
        self.requesters = [Prison(m), Court(m), HomeOffice(m)]
        self.home_office = self.requesters[2]
        self._slot_buffer = np.empty(0, dtype=np.int64)
        # Demand growth reached so far (log of the factor on the start's inflow): grown day by
        # day at the growth rate in force, so a dated change of the rate keeps the level
        # reached (a change to 0 holds it).
        self.growth_log = 0.0

    def step(self, d: int) -> None:
        self.arrivals(d)
        self.requesters_and_ends(d)

    # ------------------------------------------------------------------ the initial state
    def init_state(self) -> None:
        """Active orders at the start of warm-up, drawn from the stationary distribution.

        For orders arriving at a constant rate with gamma(k, theta) lengths, those active on a
        given day have length-biased lengths, gamma(k + 1, theta), and are a uniform fraction
        of the way through.
        """
        m = self.model
        rng = m.rngs["init"]
        p = m.p
        k = p["demand.duration_shape"]
        counts = rng.poisson(self.daily_orders * self.duration_mean)
        cohort = np.repeat(COHORT_CODES, counts)
        n = len(cohort)
        length = rng.gamma(k + 1.0, self.duration_mean[cohort] / k)
        elapsed = rng.random(n) * length
        day0 = -m.warmup
        attrs = self.draw_orders(rng, cohort)
        attrs["person"] = m.stages.people.enter(day0, attrs)
        slots = self.new_orders(
            attrs,
            received=day0 - np.floor(elapsed).astype(np.int32),
            end=day0 + np.maximum(1, np.ceil(length - elapsed)).astype(np.int32),
        )
        m.stages.people.start_orders(day0, attrs["person"], slots)
        o = m.orders
        fitted = rng.random(n) < p["init.tagged_share"]
        o.state[slots] = np.where(fitted, State.FITTED, State.UNTAGGED)
        o.fitted_day[slots] = np.where(fitted, o.received_day[slots], NO_DAY)
        o.first_round_open[slots] = False
        o.visit[slots] = Visit.NONE
        f = slots[fitted]
        devices = np.bincount(
            o.region[f].astype(np.int64) * len(TAGS) + o.tag[f],
            minlength=m.n_regions * len(TAGS),
        )
        self.initial_devices_fitted = int(devices.sum())

    # ------------------------------------------------------------------ new orders
    def draw_orders(self, rng: np.random.Generator, cohort: np.ndarray) -> dict[str, np.ndarray]:
        """Attributes of new orders of the given cohorts (all drawn, whatever happens next,
        so that later decisions never shift the random stream)."""
        m = self.model
        n = len(cohort)
        k = m.p["behaviour.propensity_shape"]
        u_area = rng.random(n)  # home areas in proportion to population
        u_tag = rng.random(n)
        # The same numbers as rng.integers(0, 2**63 - 1, n, dtype=np.int64, endpoint=True)
        # (numpy takes the top 63 bits of each raw draw for this range), without its checks.
        key = rng.bit_generator.random_raw(n) >> np.uint64(1)
        z = rng.standard_normal(n)  # the person's latent score (offending rate, true risk)
        eps = rng.standard_normal(n)  # the risk assessment's error
        area, tag, _ = order_attributes(
            cohort, u_area, m.geography.area_cdf, u_tag, self.tag_cdf, ndtr(z), self.risk_cdf
        )
        return {
            "cohort": cohort,
            "tag": tag,
            "area": area,
            "key": key,
            "propensity": rng.gamma(k, 1.0 / k, size=n),
            **m.stages.reoffending.draw_people(cohort, z, eps),
        }

    def new_orders(self, attrs: dict[str, np.ndarray], *, received, end) -> np.ndarray:
        """Allocate slots for new orders of the people ``attrs["person"]`` and write their
        attributes."""
        m = self.model
        n = len(attrs["cohort"])
        o = m.orders
        slots = o.allocate(n)
        if n == 0:
            return slots
        new = NewOrders(
            attrs["cohort"], attrs["tag"], attrs["area"], attrs["key"], attrs["risk"],
            attrs["true_risk"], attrs["propensity"], attrs["person"],
            np.full(n, received, dtype=np.int32), np.asarray(end, dtype=np.int32),
        )  # fmt: skip
        init_orders(slots, new, m.geography.area_region, o.views(InitOrders),
                    m.stages.behaviour.hazard_tables(), o.views(HazardColumns))  # fmt: skip
        o.person_uid[slots] = m.people.uid[attrs["person"]]
        m.stages.victim_proximity.assign(slots)
        return slots

    def arrivals(self, d: int) -> None:
        m = self.model
        rng, p = m.rngs["arrivals"], m.p
        rate = self.daily_orders * self.exogenous_share
        growth = p["demand.growth_per_year"]
        if growth and d > 0:
            self.growth_log += math.log1p(growth) / 365.0
        if self.growth_log:
            rate = rate * math.exp(self.growth_log)
        rates = rate.tolist()
        counts = [0] * len(COHORTS)
        for req in self.requesters:
            for c, count in zip(req.cohort_ids, req.new_orders(rng, rates), strict=True):
                counts[c] = count
        cohort = np.repeat(COHORT_CODES, counts)
        n = len(cohort)
        k = p["demand.duration_shape"]
        # gamma(k, scale) is scale times a standard gamma(k) draw: same numbers, and numpy's
        # scalar-parameter path is much faster than an array of scales.
        length, end, error, rework = arrival_terms(
            cohort, rng.standard_gamma(k, size=n), self.duration_mean / k, rng.random(n),
            p["orders.error_rate"], rng.exponential(p["orders.rework_days_mean"], n), d,
        )  # fmt: skip
        attrs = self.draw_orders(rng, cohort)
        attrs["person"] = m.stages.people.enter(d, attrs)
        self.admit(d, attrs, length, end, error, rework)

    def admit(self, d: int, attrs: dict[str, np.ndarray], length, end, error, rework) -> None:
        """Today's new orders of the people ``attrs["person"]``: counted, rationed, queued
        for fitting (or fitted at source), and started as their people's episodes."""
        m = self.model
        p = m.p
        m.count("orders_received", len(attrs["cohort"]))
        m.count_by("orders_received", np.bincount(attrs["cohort"], minlength=len(COHORTS)))
        m.count("orders_with_error", int(np.count_nonzero(error)))
        accept = m.stages.rationing.accept(d, attrs, length)
        if accept is not None:
            gone = ~accept
            m.stages.people.declined(d, attrs["person"][gone], attrs["cohort"][gone], length[gone])
            attrs = {name: v[accept] for name, v in attrs.items()}
            end, error, rework = end[accept], error[accept], rework[accept]
        slots = self.new_orders(attrs, received=d, end=end)
        o = m.orders
        queue_new_orders(
            slots, error, rework, d, p["field.first_visit_delay_days"], o.state, o.visit,
            o.ready_day,
        )  # fmt: skip
        m.stages.people.start_orders(d, attrs["person"], slots)
        m.stages.fit_at_source.fit(d, slots)

    def orders_for_people(self, d: int, persons: np.ndarray, cohort: np.ndarray) -> None:
        """New orders for people the model follows (released onto a tagged licence or bail,
        or bailed or sentenced with a tag after a new offence). Their attributes come from
        common random numbers of the person and the episode, so a person's later orders are
        the same whichever policy brought them about."""
        m = self.model
        p, pt = m.p, m.people
        cohort = np.asarray(cohort, dtype=np.int8)
        key, u = episode_keys(pt.key[persons], np.uint64(CRN_PERSON_ORDER) << np.uint64(56),
                              pt.episodes[persons].astype(np.int64), 4)  # fmt: skip
        k = p["demand.duration_shape"]
        length = gammaincinv(k, u[:, 1]) * self.duration_mean[cohort] / k
        end = d + np.maximum(1, np.rint(length)).astype(np.int32)
        error = u[:, 2] < p["orders.error_rate"]
        rework = np.ceil(-np.log1p(-u[:, 3]) * p["orders.rework_days_mean"]).astype(np.int32)
        tag = (u[:, :1] >= self.tag_cdf[cohort]).sum(axis=1).astype(np.int8)
        attrs = {
            "cohort": cohort,
            "tag": np.minimum(tag, len(TAGS) - 1).astype(np.int8),
            "area": pt.area[persons],
            "key": key,
            "propensity": pt.propensity[persons].astype(np.float64),
            "rate": pt.rate[persons].astype(np.float64),
            "true_risk": pt.true_risk[persons],
            "risk": pt.risk[persons],
            "score": pt.score[persons].astype(np.float64),
            "person": persons,
        }
        m.count("orders_endogenous", len(persons))
        m.count_by("orders_endogenous", np.bincount(cohort, minlength=len(COHORTS)))
        self.admit(d, attrs, length, end, error, rework)

    def record_fit_waits(self, d: int, fitted: np.ndarray) -> None:
        """Days from order to fit of orders fitted today (a per-event sample)."""
        m = self.model
        o = m.orders
        wait = d - o.received_day[fitted]
        m.add_sample(d, "order_to_fit", wait)
        m.add_sample(d, "order_to_fit_cohort", o.cohort[fitted])

    # ------------------------------------------------------------------ requesters, ends
    def requesters_and_ends(self, d: int) -> None:
        """Requesters finish rework and review escalated orders (stage 2); orders that end
        today wait for removal if fitted and otherwise close. One compiled pass."""
        m = self.model
        o = m.orders
        if len(self._slot_buffer) < o.n:
            self._slot_buffer = np.empty(o.capacity, dtype=np.int64)
        k, revoked = requesters_and_ends_day(
            o.n,
            d,
            o.views(RequesterOrders),
            self.requester_params,
            m.people.next_day,
            self._slot_buffer,
        )
        if revoked:
            m.count("orders_revoked", revoked)
        if k:
            m.stages.removal.close(self._slot_buffer[:k].copy())
