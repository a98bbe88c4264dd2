"""Prioritisation strategies, as small strategy objects chosen by name.

Three queues take a policy each (parameters ``policy.visit_queue``, ``policy.alert_triage``
and ``policy.response_queue``):

* field visits: each region's officers take visits in ascending key order until their hours
  are spent;
* alerts at the monitoring centre: staff review alerts in ascending key order up to the day's
  capacity; a triage policy may also close low-value alerts without review;
* breach packs with probation, police and the Home Office: each responder acts on packs in
  ascending key order up to its capacity.

Ties are broken by arrival order (order uid, alert time, pack sending time), so every policy
is deterministic, and a policy whose key is constant reproduces first come, first served
exactly. Keys combine levels as ``primary * LEVEL + secondary``: days and hours stay far
below ``LEVEL``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from em_abm import params as P
from em_abm.agents.monitoring import DISCONNECT, TECHNICAL
from em_abm.errors import UserError
from em_abm.params import COHORTS, RISK_LEVELS

LEVEL = 1e7
HIGH = len(RISK_LEVELS) - 1


def cohort_ranks(p: dict) -> np.ndarray:
    """``policy.cohort_rank.<cohort>`` as an array indexed by cohort (lower goes first)."""
    return np.array([p[f"policy.cohort_rank.{c}"] for c in COHORTS], dtype=np.float64)


# ---------------------------------------------------------------------------- field visits
class VisitPolicy:
    """``key(model, slots)``: one sort key per waiting visit (order slots); lower first."""

    name: ClassVar[str] = ""

    def key(self, model, slots: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class VisitFCFS(VisitPolicy):
    """Visits in the order they became due: the supplier's current practice, in which
    serious and minor cases are treated alike (NAO para 13)."""

    name = "fcfs"

    def key(self, model, slots):
        return model.orders.ready_day[slots].astype(np.float64)


class VisitCohortPriority(VisitPolicy):
    """Cohorts in the order of ``policy.cohort_rank.*`` (then first come, first served): the
    question the NAO leaves open of whom to tag first when capacity is short (para 15)."""

    name = "cohort_priority"

    def key(self, model, slots):
        o = model.orders
        return cohort_ranks(model.p)[o.cohort[slots]] * LEVEL + o.ready_day[slots]


class VisitRiskFirst(VisitPolicy):
    """High-risk wearers first (then first come, first served): risk-based prioritisation
    (NAO recommendation c)."""

    name = "risk_first"

    def key(self, model, slots):
        o = model.orders
        return (HIGH - o.risk[slots].astype(np.float64)) * LEVEL + o.ready_day[slots]


class VisitDeadlineFirst(VisitPolicy):
    """Earliest deadline first: each visit is due within the required days for its type
    (``kpi.required_days.*``), the supplier's contractual targets; fits, with the shortest
    window, go ahead of removals waiting as long. Automated scheduling (NAO para 14) would
    make this possible."""

    name = "deadline_first"

    def key(self, model, slots):
        o = model.orders
        return o.ready_day[slots] + model.stages.field.required_days[o.visit[slots]]


def scrambled(uid: np.ndarray) -> np.ndarray:
    """A fixed pseudo-random number in [0, 1) per uid (a multiplicative hash): an order that
    stays no nearer the front the longer it waits, with no regard to who the person is. The
    same in every run, so a random-order policy is as reproducible as the others."""
    h = (uid.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(11)
    return h.astype(np.float64) / float(2**53)


class VisitRandom(VisitPolicy):
    """A risk-blind control: visits in a random order (fixed per order), whatever their
    risk, cohort or wait. It separates what any reordering of an overloaded queue does from
    what risk information adds."""

    name = "random"

    def key(self, model, slots):
        return scrambled(model.orders.uid[slots])


class VisitShortestWorkFirst(VisitPolicy):
    """A risk-blind control: the visits with the fewest expected officer-hours first (on-site
    hours of the visit's type plus travel to the wearer's area, before any double crewing),
    then first come, first served: the rule that clears the most visits an hour."""

    name = "shortest_work_first"

    def key(self, model, slots):
        o, field = model.orders, model.stages.field
        hours = field.onsite[o.visit[slots]] + field.visit_travel[o.area[slots]]
        return np.round(hours * 100.0) * LEVEL / 1e3 + o.ready_day[slots]


# ---------------------------------------------------------------------------- alert triage
class TriagePolicy:
    """``key(model, alerts)``: sort key per waiting alert, or ``None`` for arrival order;
    ``auto_close(model, alerts)``: a mask of alerts closed without review."""

    name: ClassVar[str] = ""

    def key(self, model, alerts: dict) -> np.ndarray | None:
        return None

    def auto_close(self, model, alerts: dict) -> np.ndarray | None:
        return None


class ReviewAllFCFS(TriagePolicy):
    """Staff review every alert in the order it arrived: today's practice (NAO para 13)."""

    name = "review_all_fcfs"


class RiskBasedTriage(TriagePolicy):
    """Risk-based handling of alerts (NAO recommendation c): serious alerts and high-risk
    wearers first, violations before technical alerts; technical alerts of wearers below
    ``triage.auto_close_below_risk`` are closed by a rule without staff review."""

    name = "risk_based"

    def key(self, model, alerts):
        technical = np.isin(alerts["kind"], (DISCONNECT, TECHNICAL)).astype(np.float64)
        return (
            (1.0 - alerts["serious"]) * 4 * LEVEL
            + (HIGH - alerts["risk"].astype(np.float64)) * LEVEL
            + technical * LEVEL / 10
            + alerts["time"]
        )

    def auto_close(self, model, alerts):
        below = model.p["triage.auto_close_below_risk"]
        return (alerts["kind"] == TECHNICAL) & (alerts["risk"] < below)


# ---------------------------------------------------------------------------- responses
class ResponsePolicy:
    """``key(model, notices)``: sort key per waiting breach pack (notification slots)."""

    name: ClassVar[str] = ""

    def key(self, model, notices: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class ResponseFCFS(ResponsePolicy):
    """Breach packs in the order they reached the responder: today's practice."""

    name = "fcfs"

    def key(self, model, notices):
        return model.notices.sent_time[notices]


class ResponseRiskFirst(ResponsePolicy):
    """Serious breaches by high-risk wearers first (NAO recommendation c: a system-wide
    risk-based approach to breaches)."""

    name = "risk_first"

    def key(self, model, notices):
        nt = model.notices
        return (
            (1.0 - nt.serious[notices]) * 4 * LEVEL
            + (HIGH - nt.risk[notices].astype(np.float64)) * LEVEL
            + nt.sent_time[notices]
        )


class ResponseCohortPriority(ResponsePolicy):
    """Cohorts in the order of ``policy.cohort_rank.*``, then first come, first served."""

    name = "cohort_priority"

    def key(self, model, notices):
        nt = model.notices
        return cohort_ranks(model.p)[nt.cohort[notices]] * LEVEL + nt.sent_time[notices]


class ResponseRandom(ResponsePolicy):
    """A risk-blind control: breach packs in a random order (fixed per pack)."""

    name = "random"

    def key(self, model, notices):
        nt = model.notices
        sent = np.round(nt.sent_time[notices] * 1e3).astype(np.int64)
        return scrambled(nt.order_uid[notices].astype(np.int64) * 1_000_003 + sent)


# ---------------------------------------------------------------------------- decisions
class ResponseRule:
    """A responder's decision rule: ``outcome_probs(model, table)`` returns the outcome
    probabilities responders use, ``[responder, cohort, serious, outcome]`` (each row sums to
    one), given the table made from the parameters."""

    name: ClassVar[str] = ""

    def outcome_probs(self, model, table: np.ndarray) -> np.ndarray:
        return table


class OutcomeTable(ResponseRule):
    """The published outcome shares as they are, with serious breaches' no-further-action
    and custodial shares scaled (``response.serious_*_factor``): today's practice."""

    name = "outcome_table"


VISIT_POLICIES = {
    p.name: p
    for p in (
        VisitFCFS,
        VisitCohortPriority,
        VisitRiskFirst,
        VisitDeadlineFirst,
        VisitRandom,
        VisitShortestWorkFirst,
    )
}
TRIAGE_POLICIES = {p.name: p for p in (ReviewAllFCFS, RiskBasedTriage)}
RESPONSE_POLICIES = {
    p.name: p for p in (ResponseFCFS, ResponseRiskFirst, ResponseCohortPriority, ResponseRandom)
}
RESPONSE_RULES = {p.name: p for p in (OutcomeTable,)}
# Each kind of policy: its base class, its registry and the parameter that chooses it.
KINDS = {
    "visit": (VisitPolicy, VISIT_POLICIES, "policy.visit_queue"),
    "triage": (TriagePolicy, TRIAGE_POLICIES, "policy.alert_triage"),
    "response": (ResponsePolicy, RESPONSE_POLICIES, "policy.response_queue"),
    "rule": (ResponseRule, RESPONSE_RULES, "policy.response_rule"),
}


def register(cls):
    """Class decorator: make a policy available by its ``name`` to the parameter of its kind
    (a subclass of :class:`VisitPolicy`, :class:`TriagePolicy` or :class:`ResponsePolicy`),
    from inside the package or outside it::

        @em_abm.policies.register
        class LongestWaitFirst(VisitPolicy):
            name = "longest_wait_first"
            def key(self, model, slots): ...

    after which ``policy.visit_queue = "longest_wait_first"`` is accepted everywhere
    parameters are (scenarios, ``--set``, sweeps, the API) in this process.
    """
    for base, registry, param in KINDS.values():
        if isinstance(cls, type) and issubclass(cls, base):
            if not cls.name:
                raise TypeError(f"{cls.__name__}: a policy needs a name")
            registry[cls.name] = cls
            P.add_choice(param, cls.name)
            return cls
    raise TypeError(
        f"{cls!r}: not a VisitPolicy, TriagePolicy, ResponsePolicy or ResponseRule subclass"
    )


def _make(registry: dict, name: str, param: str):
    try:
        return registry[name]()
    except KeyError:
        raise UserError(
            f"{param}: unknown policy {name!r}; allowed: {', '.join(registry)}"
        ) from None


def visit_policy(name: str) -> VisitPolicy:
    return _make(VISIT_POLICIES, name, "policy.visit_queue")


def triage_policy(name: str) -> TriagePolicy:
    return _make(TRIAGE_POLICIES, name, "policy.alert_triage")


def response_policy(name: str) -> ResponsePolicy:
    return _make(RESPONSE_POLICIES, name, "policy.response_queue")


def response_rule(name: str) -> ResponseRule:
    return _make(RESPONSE_RULES, name, "policy.response_rule")
