"""People: everyone the model follows, through orders, custody, release and re-offending.

The agent is a person (:class:`~em_abm.agents.person.Person`); an order is an episode of a
person. Each person is in exactly one state (:class:`~em_abm.population.PersonState`): at
liberty, on an order (waiting for a fit, tagged, or untagged: the order's state says which),
in custody (remand, recall, detention or a sentence, until a release day), or gone. A person
joins when their first order is requested (exogenous demand, or an order declined under
rationing) and leaves once at liberty with no order, past ``reoffending.after_removal_days``
after their last order and past their follow-up window.

Every day, in one compiled pass (:func:`em_abm.kernels.people_day`):

* people in custody are released on their release day; a share starts a new EM order
  (``release.em_order_prob.<kind>``: post-release after recall or a sentence, court bail
  after remand, immigration bail after detention);
* everyone at liberty may offend (:mod:`em_abm.stages.reoffending`); a proven offence can
  send the person to remand or a custodial sentence, or start a new tagged order (court bail
  or a community order), so part of the demand for tags comes from the people followed
  (the exogenous inflow is lowered by ``demand.endogenous_share``);
* breach responses send people to custody too (:meth:`People.breach_custody`).

**Follow-up (the public-protection outcome).** People whose first order in the recorded
period starts in its first year (at most ``time.followup_days`` before the run's end, so that
every window is complete) are followed for ``time.followup_days`` days from that start,
wherever they are: revoked, ended, recalled or released, their offences still count, as in
the MoJ's proven reoffending measure. The ``followup_*_12m`` metrics count them; their
expected offences at liberty with no tag effect are counted beside them, so that a change
between policies splits into what tags did (offences less expected) and what custody did
(expected offences, fewer when people spend longer in custody).
"""

from __future__ import annotations

import numpy as np

from em_abm.agents.person import Person
from em_abm.component import Component, register
from em_abm.kernels import people as K
from em_abm.kernels.core import (
    CRN_CUSTODY,
    CRN_OFFENCE,
    CRN_OFFENCE_CUSTODY,
    CRN_RECALL_TYPE,
    CRN_RELEASE,
    crn,
)
from em_abm.params import COHORTS, CUSTODY_KINDS
from em_abm.population import NO_DAY, PersonState
from em_abm.stages.behaviour import NEGATIVE_DAY_OFFSET

KIND = {k: i for i, k in enumerate(CUSTODY_KINDS)}
# The cohort of the order a person may start on release, by the kind of custody left.
RELEASE_COHORT = np.array(
    [COHORTS.index(c) for c in
     ("post_release", "court_bail", "immigration", "post_release", "post_release")],
    dtype=np.int8,
)  # fmt: skip
_OFFENCE_TAG = np.uint64(CRN_OFFENCE) << np.uint64(56)


@register
class People(Component):
    name = "people"
    params = ("custody.", "release.", "time.followup_days", "reoffending.after_removal_days",
              "cost.custody_per_day_gbp", "pilot.proximity_effect")  # fmt: skip
    metrics = (
        "people_followed", "people_in_custody", "people_on_order", "custody_days",
        "custody_admissions", "custody_admissions_from_offence", "releases_from_custody",
        "orders_from_releases", "orders_from_offences", "cost_custody_gbp",
        "followup_people_12m", "followup_offences_12m", "followup_expected_offences_12m",
        "followup_custody_days_12m", "followup_liberty_days_12m", "followup_offences_averted_12m",
        "followup_proven_offences_12m", "followup_proven_reoffenders_12m",
    )  # fmt: skip

    def on_params(self) -> None:
        p = self.model.p
        self.custody_mean = np.array([p[f"custody.days_mean.{k}"] for k in CUSTODY_KINDS])
        self.release_em = np.array([p[f"release.em_order_prob.{k}"] for k in CUSTODY_KINDS])
        self.fixed_recall_share = float(p["custody.fixed_term_recall_share"])
        self.fixed_recall_days = int(p["custody.fixed_term_recall_days"])
        self.after_days = int(p["reoffending.after_removal_days"])
        self._params = None  # made again from the reoffending tables on next use
        if hasattr(self, "agg"):  # a change of parameters during the run: everyone's
            # hazard is worked out again at the next pass
            m = self.model
            live = m.people.live()
            self._settle(live, m.day)
            day = self._next_pass(m.day)
            m.people.next_day[live] = np.minimum(m.people.next_day[live], day)

    def setup(self) -> None:
        m = self.model
        # The follow-up cohort enters in the first year, early enough for a complete window.
        self.followup_days = int(m.p["time.followup_days"])
        self.entry_end = max(0, min(365, m.n_days - self.followup_days))
        self.counts = np.zeros(K.N_COUNTS)
        self.agg = np.zeros(K.N_AGG, dtype=np.int64)
        self.f_reoffenders = np.zeros(len(COHORTS), dtype=np.int64)
        self.people_entered = 0  # since the start of warm-up
        self.people_left = 0
        self.admitted = 0  # custody admissions since the start of warm-up
        self.released = 0
        self._buffers = None
        self._passed = None  # the last day whose pass over people has run

    def kernel_params(self) -> K.PeopleParams:
        kp = self._params
        if kp is None:
            m = self.model
            r = m.stages.reoffending
            kp = self._params = K.PeopleParams(
                tag_factor=r.tag_factor, after_factor=r.after_factor,
                proven_share=r.proven_share, outcome_cdf=r.outcome_cdf,
                proximity_factor=1.0 - m.p["pilot.proximity_effect"],
                followup_days=self.followup_days, after_days=self.after_days,
            )  # fmt: skip
        return kp

    # ------------------------------------------------------------------ joining and orders
    def enter(self, d: int, attrs: dict[str, np.ndarray]) -> np.ndarray:
        """New people (``attrs``: cohort, area, key, propensity and the rates and risks of
        :meth:`em_abm.stages.reoffending.Reoffending.draw_people`), at liberty until their
        order starts; returns their slots."""
        m = self.model
        pt = m.people
        n = len(attrs["cohort"])
        slots = pt.allocate(n)
        if n == 0:
            return slots
        new = K.NewPeople(*(np.asarray(attrs[f.removeprefix("new_")]) for f in K.NewPeople._fields))
        K.init_people(slots, d, self._next_pass(d), self.after_days, _OFFENCE_TAG, new,
                      pt.views(K.InitPeople), self.agg)  # fmt: skip
        self.people_entered += n
        Person.enter(m, slots)
        return slots

    def _next_pass(self, d: int) -> int:
        """The day of the next pass over people: today's, unless it has run."""
        return d + 1 if self._passed == d else d

    def _membership(self, persons: np.ndarray, d: int, sign: int) -> None:
        """Add (1) or take away (-1) ``persons``' parts of the running totals the daily pass
        counts skipped people by (for the next pass's day)."""
        pt = self.model.people
        K.membership(np.asarray(persons, dtype=np.int64), self._next_pass(d), sign, pt.state,
                     pt.f_start, pt.rate_fx, pt.working, self.followup_days,
                     self.agg)  # fmt: skip

    def _settle(self, persons: np.ndarray, d: int) -> None:
        pt = self.model.people
        K.settle(np.asarray(persons, dtype=np.int64), self._next_pass(d), pt.cumhaz, pt.h_now,
                 pt.cum_day)  # fmt: skip

    def start_orders(self, d: int, persons: np.ndarray, orders: np.ndarray) -> None:
        """People whose new orders (``orders``, their slots) start today."""
        m = self.model
        pt, o = m.people, m.orders
        K.start_orders(np.asarray(persons, dtype=np.int64), np.asarray(orders, dtype=np.int64),
                       self._next_pass(d), self.followup_days, o.uid, pt.views(K.StartPeople),
                       pt.views(K.MovingPeople), self.agg)  # fmt: skip
        self._enter_followup(d, persons, o.cohort[orders])

    def declined(self, d: int, persons: np.ndarray, cohort: np.ndarray, length) -> None:
        """People whose orders were declined (rationing): at liberty, untagged, followed for
        the order's length and the after-order period."""
        pt = self.model.people
        pt.episodes[persons] += 1
        until = d + np.maximum(1, np.rint(length)).astype(np.int64) + self.after_days
        pt.track_until[persons] = np.maximum(pt.track_until[persons], until)
        self._enter_followup(d, persons, cohort)

    def _enter_followup(self, d: int, persons: np.ndarray, cohort: np.ndarray) -> None:
        if not (0 <= d < self.entry_end) or not len(persons):
            return
        pt = self.model.people
        new = pt.f_start[persons] == NO_DAY
        if not new.any():
            return
        p = persons[new]
        # An order started after today's pass over people (a release or an offence today)
        # starts the window tomorrow, so that every window has its 365 days counted.
        start = self._next_pass(d)
        self._membership(p, d, -1)
        pt.f_start[p] = start
        pt.f_cohort[p] = cohort[new]
        pt.track_until[p] = np.maximum(pt.track_until[p], start + self.followup_days)
        self._membership(p, d, 1)
        pt.next_day[p] = np.minimum(pt.next_day[p], start + self.followup_days - 1)
        m = self.model
        m.count("followup_people_12m", int(new.sum()))
        m.count_by("followup_people_12m", np.bincount(cohort[new], minlength=len(COHORTS)))

    def orders_closed(self, d: int, slots: np.ndarray) -> None:
        """Orders that closed today (:meth:`em_abm.stages.removal.Removal.close`): their
        people, if still on them, are at liberty, in their after-removal period; the next pass
        schedules them."""
        m = self.model
        K.orders_closed(np.asarray(slots, dtype=np.int64), d, self._next_pass(d),
                        self.followup_days, self.after_days, m.orders.views(K.ClosedOrders),
                        m.people.views(K.ClosedPeople), m.people.views(K.MovingPeople),
                        self.agg)  # fmt: skip

    # ------------------------------------------------------------------ custody
    def breach_custody(self, d, persons, uids, kinds, keys) -> np.ndarray:
        """People sent to custody by breach responses (one per breach pack: ``keys`` are the
        packs' keys, whose common random numbers give the time in custody). Returns which
        packs sent their person to custody (not already held, nor gone)."""
        pt = self.model.people
        ok = persons >= 0
        ok[ok] = pt.uid[persons[ok]] == uids[ok]
        admitted = np.zeros(len(persons), dtype=bool)
        if not ok.any():
            return admitted
        persons, kinds, keys = persons[ok], kinds[ok].astype(np.int64), keys[ok]
        mean = self.custody_mean[kinds]
        days = -mean * np.log1p(-crn(keys, CRN_CUSTODY, 0))
        recall = kinds == KIND["recall"]
        if recall.any():
            fixed = recall & (crn(keys, CRN_RECALL_TYPE, 0) < self.fixed_recall_share)
            days = np.where(fixed, self.fixed_recall_days, days)
        self.to_custody(d, persons, kinds, days)
        admitted[ok] = self._admitted
        return admitted

    def to_custody(self, d: int, persons, kinds, days) -> int:
        """Send people at liberty or on an order to custody of the given kinds for about
        ``days`` (at least one); an order still active ends (its tag is collected). People
        already in custody are left as they are. Returns how many were admitted."""
        m = self.model
        pt, o = m.people, m.orders
        persons = np.asarray(persons, dtype=np.int64)
        n = len(persons)
        ends = np.empty(n, dtype=np.int64)
        self._admitted = np.empty(n, dtype=np.bool_)
        n_in, n_ends = K.admit_to_custody(
            persons, np.asarray(kinds, dtype=np.int64), np.asarray(days, dtype=np.float64), d,
            self._next_pass(d), self.followup_days, pt.views(K.CustodyPeople),
            pt.views(K.MovingPeople), o.views(K.CustodyOrders), self.agg, ends, self._admitted,
        )  # fmt: skip
        if n_ends:  # orders that close now (not fitted; the fitted wait for their removal)
            m.stages.removal.close(ends[:n_ends].copy())
        self.admitted += n_in
        m.count("custody_admissions", n_in)
        return n_in

    # ------------------------------------------------------------------ the day
    def step(self, d: int) -> None:
        m = self.model
        pt, o = m.people, m.orders
        n = pt.n
        buf = self._buffers
        if buf is None or len(buf[0]) < n:
            cap = pt.capacity
            ints = [np.empty(cap, dtype=np.int64) for _ in range(5)]
            buf = self._buffers = (*ints, np.empty(cap, dtype=np.int8))
        released, offender, leave, done, _, outcome = buf
        counts = self.counts
        counts[:] = 0.0
        f_reoff = self.f_reoffenders
        f_reoff[:] = 0
        k_rel, k_off, k_leave, k_done = K.people_day(
            n, d, d - m.p["behaviour.unmonitored_after_days"], pt.views(K.PeopleDay),
            o.views(K.PeopleOrders), self.kernel_params(),
            K.PeopleOut(counts, self.agg, f_reoff, released, offender, outcome, leave, done),
        )  # fmt: skip
        self._passed = d
        self._record(d, counts, f_reoff)
        # New orders of the day (on release, then after an offence), made in one go after the
        # offences' custody, for the people still at liberty.
        new = [self._released(d, released[:k_rel].copy())] if k_rel else []
        if k_off:
            new.append(self._offences(d, offender[:k_off].copy(), outcome[:k_off].copy()))
        if new:
            self._new_orders(d, new)
        if k_done:
            self._followup_done(d, done[:k_done].copy())
        if k_leave:
            gone = leave[:k_leave].copy()
            pt.freed(gone)
            self.people_left += len(gone)
            Person.leave(m, gone)

    def _record(self, d: int, c: np.ndarray, f_reoff: np.ndarray) -> None:
        m = self.model
        m.count("reoffences_while_tagged", c[K.C_OFF_TAGGED])
        m.count("reoffences_while_unmonitored", c[K.C_OFF_UNMONITORED])
        m.count("reoffences_while_on_order", c[K.C_OFF_TAGGED] + c[K.C_OFF_UNMONITORED])
        m.count("reoffences_after_order", c[K.C_OFF_AFTER])
        m.count("offences", c[K.C_OFF_TAGGED] + c[K.C_OFF_UNMONITORED] + c[K.C_OFF_AFTER])
        m.count("offences_expected_untagged", c[K.C_EXPECTED_ALL])
        m.count("reoffences_expected_if_untagged", c[K.C_EXPECTED_TAGGED])
        m.count("proven_offences", c[K.C_PROVEN])
        m.count("custody_days", c[K.C_CUSTODY_DAYS])
        m.count("cost_custody_gbp", c[K.C_CUSTODY_DAYS] * m.p["cost.custody_per_day_gbp"])
        m.count("releases_from_custody", c[K.C_RELEASED])
        self.released += int(c[K.C_RELEASED])
        m.count("followup_offences_12m", c[K.C_F_OFFENCES])
        m.count("followup_expected_offences_12m", c[K.C_F_EXPECTED])
        m.count("followup_offences_averted_12m", c[K.C_F_EXPECTED] - c[K.C_F_OFFENCES])
        m.count("followup_custody_days_12m", c[K.C_F_CUSTODY])
        m.count("followup_liberty_days_12m", c[K.C_F_LIBERTY])
        m.count("followup_proven_offences_12m", c[K.C_F_PROVEN])
        m.count("followup_proven_reoffenders_12m", f_reoff.sum())
        m.count_by("followup_proven_reoffenders_12m", f_reoff)
        self.in_custody = c[K.C_CUSTODY_DAYS]
        self.on_order = c[K.C_ON_ORDER]

    def _released(self, d: int, persons: np.ndarray) -> None:
        """People released today: a share starts a new EM order."""
        pt = self.model.people
        kind = pt.custody_kind[persons].astype(np.int64)
        u = crn(pt.key[persons], CRN_RELEASE, pt.episodes[persons].astype(np.int64))
        go = (u < self.release_em[kind]) & (pt.state[persons] == PersonState.LIBERTY)
        pt.after_until[persons] = d
        return persons[go], RELEASE_COHORT[kind[go]], True

    def _new_orders(self, d: int, new: list) -> None:
        """Start the day's new orders, one per person, for those still at liberty (custody
        after an offence today comes first)."""
        m = self.model
        persons = np.concatenate([p for p, _, _ in new])
        cohort = np.concatenate([c for _, c, _ in new]).astype(np.int8)
        released = np.concatenate([np.full(len(p), r) for p, _, r in new])
        first = np.zeros(len(persons), dtype=bool)
        first[np.unique(persons, return_index=True)[1]] = True
        ok = first & (m.people.state[persons] == PersonState.LIBERTY)
        if not ok.any():
            return
        m.count("orders_from_releases", int((ok & released).sum()))
        m.count("orders_from_offences", int((ok & ~released).sum()))
        m.stages.orders.orders_for_people(d, persons[ok], cohort[ok])

    def _offences(self, d: int, persons: np.ndarray, outcome: np.ndarray) -> tuple:
        """Consequences of today's proven offences: custody now; the people and cohorts of
        the new tagged orders, returned."""
        m = self.model
        pt = m.people
        custody = outcome <= K.OFFENCE_CUSTODY
        if custody.any():
            p = persons[custody]
            kind = np.where(outcome[custody] == K.OFFENCE_REMAND, KIND["remand"], KIND["sentence"])
            u = crn(pt.key[p], CRN_OFFENCE_CUSTODY, np.full(len(p), d + NEGATIVE_DAY_OFFSET))
            days = -self.custody_mean[kind] * np.log1p(-u)
            m.count("custody_admissions_from_offence", self.to_custody(d, p, kind, days))
        tag = ~custody
        cohort = np.where(
            outcome[tag] == K.OFFENCE_BAIL_TAG, COHORTS.index("court_bail"),
            COHORTS.index("court_sentence"),
        ).astype(np.int8)  # fmt: skip
        return persons[tag], cohort, False

    def _followup_done(self, d: int, persons: np.ndarray) -> None:
        """People whose follow-up window ended today: their assessed score, true risk and
        outcome, for the risk tool's accuracy (a per-person sample)."""
        m = self.model
        pt = m.people
        m.add_sample(d, "followup_score", pt.score[persons])
        m.add_sample(d, "followup_true_risk", pt.true_risk[persons])
        m.add_sample(d, "followup_assessed_risk", pt.risk[persons])
        m.add_sample(d, "followup_cohort", pt.f_cohort[persons])
        m.add_sample(d, "followup_proven", pt.f_proven[persons])
