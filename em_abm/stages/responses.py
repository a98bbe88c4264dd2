"""Stage 7, the response to breaches: probation, the police and the Home Office act on the
breach packs they hold.

Each responder's desks (probation by region, the police by force area, the Home Office
nationally; numbered in that order) act on packs in the response policy's order
(``policy.response_queue``) up to the day's capacity, in responses per day (fractions carry
over), timed in hours: a desk's n-th response of the day comes no earlier than n / capacity
into the day and no pack is answered before it arrives, so a desk with capacity to spare
answers a pack the hour it arrives. Probation's capacity is its officers'
(:class:`~em_abm.agents.probation.ProbationOfficer`) daily rate, slowed once caseloads pass a
threshold; the police's is in proportion to the population each force polices; the Home
Office's is national. Packs past a
responder's expiry lapse unanswered. An outcome (no further action, engage, warning, adjust
conditions, recall, return to court, remand, bail continued, detention, arrest) is drawn from
the responder's table for the cohort and for serious breaches
(:func:`em_abm.kernels.responses_day`). Custodial outcomes end the order and send its person
to custody (:meth:`em_abm.stages.people.People.to_custody`); engagement and warnings lower
the wearer's propensity to breach.
"""

from __future__ import annotations

import numpy as np

from em_abm import params as P
from em_abm.agents.agencies import HomeOffice
from em_abm.agents.police import PoliceForce
from em_abm.agents.probation import ProbationOfficer
from em_abm.component import Component, register
from em_abm.errors import UserError
from em_abm.kernels.core import CRN_OUTCOME, CRN_RESENTENCE
from em_abm.kernels.responses import (
    ResponseNotices,
    ResponseOrders,
    ResponseOut,
    ResponseParams,
    responses_day,
    responses_waiting,
)
from em_abm.params import COHORTS, CUSTODY_KINDS, OUTCOMES, RESPONDERS, RISK_LEVELS
from em_abm.policies import response_policy, response_rule
from em_abm.population import State
from em_abm.stages.breach_packs import POLICE, PROBATION, RESPONDER_OF_COHORT

OUTCOME = {name: i for i, name in enumerate(OUTCOMES)}
# The agent type of each responder, in params.RESPONDERS' order (the desks' order).
RESPONDER_TYPES = (ProbationOfficer, PoliceForce, HomeOffice)
CUSTODIAL = ("recall", "remand", "detention", "arrest")
COMPLIANCE = ("engage", "warning", "adjust_conditions", "bail_continued")
CUSTODY_KIND = {
    "recall": "recall",
    "remand": "remand",
    "detention": "detention",
    "arrest": "detention",
    "return_to_court": "resentence",
}
IS_CUSTODIAL = np.isin(OUTCOMES, CUSTODIAL)
CUSTODY_KIND_OF = np.array(
    [CUSTODY_KINDS.index(CUSTODY_KIND.get(x, "detention")) for x in OUTCOMES], dtype=np.int8
)
IS_COMPLIANCE = np.isin(OUTCOMES, COMPLIANCE)


def _checked(table, shape: tuple, rule: str) -> np.ndarray:
    """A decision rule's outcome probabilities, refused unless they are probabilities."""
    table = np.asarray(table, dtype=np.float64)
    ok = table.shape == shape and np.all(table >= 0) and np.allclose(table.sum(axis=-1), 1.0)
    if not ok:
        raise UserError(
            f"policy.response_rule: {rule!r} gave outcome probabilities of shape {table.shape} "
            f"that are not probabilities; allowed: an array of shape {shape} whose last axis "
            "sums to 1"
        )
    return table


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer ``total`` in proportion to ``weights`` (largest remainders)."""
    if total <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    quota = total * weights / weights.sum()
    out = np.floor(quota).astype(np.int64)
    rest = total - out.sum()
    out[np.argsort(-(quota - out), kind="stable")[:rest]] += 1
    return out


@register
class Responses(Component):
    name = "responses"
    params = ("response.", "probation.", "police.", "home_office.", "custody.", "court.",
              "policy.response_queue", "specials.home_office_share")  # fmt: skip
    # The agent type of each responder (probation, police, the Home Office), whose class
    # methods give its capacity and expiry: a subclass of the stage can replace one.
    responder_types = RESPONDER_TYPES
    metrics = (
        "notifications_unanswered", "serious_unanswered_24h", "responses",
        "custody_admissions_from_breach", "cost_probation_gbp", "cost_police_gbp",
        "police_officer_hours",
    )  # fmt: skip

    def on_params(self) -> None:
        """Outcome probabilities [responder, cohort, serious, outcome] and capacities."""
        m = self.model
        p = m.p
        probs = np.zeros((len(RESPONDERS), len(COHORTS), 2, len(OUTCOMES)))
        for r, responder in enumerate(RESPONDERS):
            for c, cohort in enumerate(COHORTS):
                row = np.zeros(len(OUTCOMES))
                if responder == "police":  # arrest, then remand or bail continued
                    arrest = p["police.arrest_prob"]
                    remand = p["police.remand_given_arrest_prob"]
                    row[OUTCOME["nfa"]] = 1.0 - arrest
                    row[OUTCOME["remand"]] = arrest * remand
                    row[OUTCOME["bail_continued"]] = arrest * (1.0 - remand)
                for name in P.groups().get(f"response.{responder}", ()):
                    outcome = name.rsplit(".", 1)[-1]
                    if outcome == "enforce":
                        outcome = "return_to_court" if cohort == "court_sentence" else "recall"
                    row[OUTCOME[outcome]] += p[name]
                if responder == "probation" and cohort == "post_release":
                    # recall of post-release cases has its own share (HDC recalls); the other
                    # outcomes keep their proportions
                    recall = p["response.probation.recall_post_release"]
                    rest = 1.0 - row[OUTCOME["recall"]]
                    if rest > 0:
                        row *= (1.0 - recall) / rest
                    else:  # every minor breach was enforced: the rest is no further action
                        row[:] = 0.0
                        row[OUTCOME["nfa"]] = 1.0 - recall
                    row[OUTCOME["recall"]] = recall
                probs[r, c, 0] = row
                serious = row.copy()
                serious[OUTCOME["nfa"]] *= p["response.serious_nfa_factor"]
                for o in (*CUSTODIAL, "return_to_court"):
                    serious[OUTCOME[o]] *= p["response.serious_custody_factor"]
                probs[r, c, 1] = serious / serious.sum() if serious.sum() > 0 else row
        self.outcome_probs = _checked(
            response_rule(p["policy.response_rule"]).outcome_probs(m, probs), probs.shape,
            p["policy.response_rule"],
        )  # fmt: skip
        _, police, home_office = self.responder_types
        self.police_capacity = police.capacity(p, m.scale, population=m.geography.population)
        self.home_office_capacity = home_office.capacity(p, m.scale)
        self.expiry_days = np.array([t.expiry_days(p) for t in self.responder_types])
        self.policy = response_policy(p["policy.response_queue"])
        self._params_cache: ResponseParams | None = None
        self.probation_cohort = np.array([RESPONDER_OF_COHORT[c] == PROBATION for c in COHORTS])
        if getattr(self, "probation_officers", None):  # a change after the start
            self.staff_probation()

    def setup(self) -> None:
        m = self.model
        geo = m.geography
        self.police_forces = [
            self.responder_types[POLICE](m, i, geo.area_names[i], int(geo.population[i]))
            for i in range(len(geo.areas))
        ]
        # Response desks: probation regions, then police forces, then the Home Office.
        self.desk_offset = np.array([0, m.n_regions, m.n_regions + len(geo.areas)])
        self._credit = np.zeros(m.n_regions + len(geo.areas) + 1)
        self._risk_first = response_policy("risk_first")
        self._capacity_cache: tuple | None = None
        self.probation_cases: np.ndarray | None = None
        self.mean_probation_caseload = 0.0
        self.probation_officers: list[ProbationOfficer] = []
        self.probation_basis = self._expected_probation_cases()
        self.staff_probation()

    # ------------------------------------------------------------------ probation staffing
    def _expected_probation_cases(self) -> float:
        """EM cases probation supervises at the scenario's start (active orders, stationary):
        the caseload the service is staffed for."""
        m = self.model
        orders = m.stages.orders
        active = orders.daily_orders * orders.duration_mean
        share = np.array([1.0 if RESPONDER_OF_COHORT[c] == PROBATION else 0.0 for c in COHORTS])
        share[COHORTS.index("specials")] = 1.0 - m.p["specials.home_office_share"]
        return float((active * share).sum())

    def staff_probation(self) -> None:
        """Probation officers by region: the staffed-for caseload over the target caseload,
        times the staffed share of posts. Adds or removes officer agents to match."""
        m = self.model
        total = self.responder_types[PROBATION].staffed(m.p, self.probation_basis)
        per_region = apportion(total, m.geography.region_population_share)
        current = (
            np.bincount([o.region for o in self.probation_officers], minlength=m.n_regions)
            if self.probation_officers
            else np.zeros(m.n_regions, dtype=np.int64)
        )
        for r in range(m.n_regions):
            have = [o for o in self.probation_officers if o.region == r]
            for o in have[per_region[r] :]:
                o.remove()
                self.probation_officers.remove(o)
            for _ in range(per_region[r] - current[r]):
                self.probation_officers.append(self.responder_types[PROBATION](m, r))
        self.probation_officers_per_region = per_region
        self.probation_caseload = np.zeros(m.n_regions)

    # ------------------------------------------------------------------ capacity
    def capacity(self) -> np.ndarray:
        """Responses each desk can make today: probation by region, the police by force, the
        Home Office. Worked out again only when an input changes (probation caseloads are
        counted weekly; capacities change when arrays are replaced, as in workforce changes,
        or when a parameter changes)."""
        p = self.model.p
        arrays = (
            self.probation_cases, self.probation_officers_per_region, self.police_capacity,
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
        m = self.model
        officers = self.probation_officers_per_region.astype(float)
        self.probation_caseload = np.divide(
            self.probation_cases, officers, out=np.zeros(m.n_regions), where=officers > 0
        )
        staffed = self.probation_officers_per_region > 0
        total = self.probation_officers_per_region.sum()
        cases = (self.probation_caseload * self.probation_officers_per_region)[staffed].sum()
        self.mean_probation_caseload = cases / total if total else 0.0
        return self.responder_types[PROBATION].capacity(
            m.p, m.scale, officers=self.probation_officers_per_region,
            caseload=self.probation_caseload,
        )  # fmt: skip

    def _count_probation_cases(self, d: int) -> None:
        """Active orders probation supervises, by region; caseloads move slowly: weekly."""
        if d % 7 == 0 or self.probation_cases is None:
            o = self.model.orders
            state = o.view("state")
            active = (state >= State.REWORK) & (state <= State.FITTED)
            self.probation_cases = np.bincount(
                o.view("region")[active & self.probation_cohort[o.view("cohort")]],
                minlength=self.model.n_regions,
            )

    # ------------------------------------------------------------------ the day
    def step(self, d: int) -> None:
        """Probation (by region), police (by force) and the Home Office act on the breach
        packs they hold, in the response policy's order, up to each desk's capacity; packs
        past a responder's expiry lapse. All desks are handled in one pass: a desk is a group
        numbered after the desks of the responders before it."""
        m = self.model
        self._count_probation_cases(d)
        nt, o, p = m.notices, m.orders, m.p
        waiting = np.empty(nt.n, dtype=np.int64)
        desk = np.empty(nt.n, dtype=np.int64)
        k, gone, gone_serious = responses_waiting(
            nt.n, d, nt.state, nt.responder, nt.delivered_day, nt.serious, nt.region, nt.area,
            self.expiry_days, self.desk_offset, waiting, desk,
        )  # fmt: skip
        if gone:
            m.count("notifications_unanswered", gone)
            m.count("serious_unanswered_24h", gone_serious)
            m.notices_unanswered += gone
        credit = self._credit
        capacity = self.capacity()
        credit += capacity
        if m.check_invariants:  # capacity by responder (desks are numbered by responder)
            m.ledger["responses"][0] += np.add.reduceat(capacity, self.desk_offset)
        if k:
            waiting, desk = waiting[:k], desk[:k]
            policy = self._risk_first if m.stages.contingency.risk_first_override else self.policy
            order = np.lexsort((nt.uid[waiting], policy.key(m, waiting), desk))
            counts = np.zeros(2, dtype=np.int64)
            outcomes = np.zeros((len(RESPONDERS), len(OUTCOMES)), dtype=np.int64)
            waited = np.empty((len(RESPONDERS), k))
            n_by = np.zeros(len(RESPONDERS), dtype=np.int64)
            high = np.empty(k)
            keep, close = np.empty(k, dtype=np.int64), np.empty(k, dtype=np.int64)
            custody, custody_kind = np.empty(k, dtype=np.int64), np.empty(k, dtype=np.int8)
            out = ResponseOut(counts, outcomes, waited, n_by, high, keep,
                              custody, custody_kind, close)  # fmt: skip
            k_high, k_keep, k_custody, k_close = responses_day(
                waiting[order], desk[order], credit, capacity, d, nt.views(ResponseNotices),
                o.views(ResponseOrders), self._kernel_params(), out,
            )  # fmt: skip
            if counts[0]:
                self._record(d, counts, outcomes, waited, n_by, high[:k_high])
            if m.check_invariants:
                m.ledger["responses"][1] += n_by
            if k_keep:
                keep = keep[:k_keep]
                o.propensity[keep] *= 1.0 - p["response.compliance_effect"]
                m.stages.behaviour.refresh_hazards(keep)
            if k_custody:
                i = custody[:k_custody]
                admitted = m.stages.people.breach_custody(
                    d, nt.person[i], nt.person_uid[i], custody_kind[:k_custody], nt.key[i]
                )
                m.count_by(
                    "custody_admissions_from_breach",
                    np.bincount(nt.cohort[i][admitted], minlength=len(COHORTS)),
                )
            if k_close:
                m.stages.removal.close(close[:k_close])
        np.minimum(credit, 1.0, out=credit)

    def police_hours(self, outcomes: np.ndarray) -> float:
        """Officer-hours of the police responses with these outcome counts: an arrest (bail
        continued or remand) takes the first officer's hours plus a second officer's on the
        double-crewed share; a response without arrest its own hours."""
        p = self.model.p
        arrests = int(outcomes[OUTCOME["remand"]] + outcomes[OUTCOME["bail_continued"]])
        others = int(outcomes.sum()) - arrests
        per_arrest = p["police.hours_arrest"] + (
            p["police.double_crew_share"] * p["police.hours_second_officer"]
        )
        return arrests * per_arrest + others * p["police.hours_no_arrest"]

    def _kernel_params(self) -> ResponseParams:
        """What the responses kernel reads besides the packs and orders (made again when the
        parameters or probation's caseloads change)."""
        kp = self._params_cache
        if kp is None or kp.probation_caseload is not self.probation_caseload:
            p = self.model.p
            kp = self._params_cache = ResponseParams(
                outcome_probs=self.outcome_probs, probation_caseload=self.probation_caseload,
                caseload_threshold=p["probation.caseload_threshold"],
                overload_shift=p["probation.overload_nfa_shift"], nfa=OUTCOME["nfa"],
                is_custodial=IS_CUSTODIAL, is_compliance=IS_COMPLIANCE,
                return_to_court=OUTCOME["return_to_court"],
                resentence_prob=p["court.resentence_custody_prob"],
                custody_kind_of=CUSTODY_KIND_OF,
                resentence_kind=CUSTODY_KINDS.index("resentence"), outcome_event=CRN_OUTCOME,
                resentence_event=CRN_RESENTENCE, high_risk=len(RISK_LEVELS) - 1,
            )  # fmt: skip
        return kp

    def _record(self, d, counts, outcomes, waited, n_by, high) -> None:
        m = self.model
        p = m.p
        m.count("responses", counts[0])
        m.count_by("responses", outcomes.sum(axis=0))
        m.notices_answered += int(counts[0])
        m.count("cost_probation_gbp", n_by[PROBATION] * p["cost.probation_per_response_gbp"])
        hours = self.police_hours(outcomes[POLICE])
        m.count("police_officer_hours", hours)
        m.count("cost_police_gbp", hours * p["cost.police_officer_hour_gbp"])
        for k, name in enumerate(RESPONDERS):
            if n_by[k]:
                m.add_sample(d, f"response_time_days.{name}", waited[k, : n_by[k]].copy())
        m.count("serious_unanswered_24h", counts[1])
        m.add_sample(d, "breach_to_response_days.serious_high_risk", high)
        if n_by[PROBATION]:
            m.stages.contingency.probation_response_times(d, waited[PROBATION, : n_by[PROBATION]])
