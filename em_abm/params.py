"""Every parameter of em-abm, declared once.

Each :class:`Param` carries its default, the bounds that validation, sweeps and calibration
use, its unit, a description and its source: a row of ``FACTS.md`` (the National Audit
Office report HC 266, 10 July 2026, and the HMPPS statistics it cites), a study, or
``assumption: <reason>``. Values tuned so that the model reproduces a published figure say
``calibrated: ...`` and name the target.

Per-cohort and per-tag parameters are separate scalar entries with dotted names
(``demand.orders_per_year.court_bail``) so that sweeps and calibration can vary any of them.
Shares that must sum to one carry a ``group``; :func:`check_groups` enforces it.

Nothing here reads files or knows about the model: the model receives a resolved
``dict[str, value]`` (see :mod:`em_abm.scenario`).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError

from em_abm.errors import UserError

COHORTS: tuple[str, ...] = (
    "post_release",
    "court_bail",
    "immigration",
    "court_sentence",
    "specials",
)
TAGS: tuple[str, ...] = ("rf", "gps", "alcohol", "non_fitted")
VISIT_TYPES: tuple[str, ...] = ("fit", "check", "removal")

NAO = "NAO HC 266 (10 Jul 2026)"
FACTS_MIX = f"{NAO} Figure 1 D: cohort shares of 28,700 tagged in March 2026"
REPORT = "calibration/report.md"  # history matching to calibration/targets.toml
# The calibrated defaults are the medians of the posterior ensemble, quoted to the precision
# its 90% interval supports (scripts/posterior_summary.py).
POSTERIOR = f"{REPORT}, posterior median of 112 sets (calibration/fitted/posterior.parquet)"


@dataclass(frozen=True)
class Param:
    """One model parameter.

    ``lower``/``upper`` are the range inside which any value is accepted and from which
    sweeps and calibration draw. ``kind`` is ``float``, ``int``, ``bool`` or ``choice``.
    """

    name: str
    default: Any
    lower: float | None
    upper: float | None
    unit: str
    description: str
    source: str
    kind: Literal["float", "int", "bool", "choice"] = "float"
    choices: tuple[str, ...] = ()
    group: str | None = None

    @cached_property
    def _adapter(self) -> TypeAdapter:
        if self.kind == "float":
            t = Annotated[
                float, Field(strict=True, ge=self.lower, le=self.upper, allow_inf_nan=False)
            ]
        elif self.kind == "int":
            t = Annotated[int, Field(strict=True, ge=self.lower, le=self.upper)]
        elif self.kind == "bool":
            t = Annotated[bool, Field(strict=True)]
        else:
            t = Literal[self.choices]  # type: ignore[valid-type]
        return TypeAdapter(t)

    @property
    def allowed(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "bool":
            return "true or false"
        what = "an integer" if self.kind == "int" else "a number"
        return f"{what} from {_fmt(self.lower)} to {_fmt(self.upper)} ({self.unit})"

    def validate(self, value: Any, *, where: str = "") -> Any:
        """Return ``value`` checked (ints widened to float where a float is wanted)."""
        try:
            out = self._adapter.validate_python(value)
        except ValidationError:
            label = where or self.name
            raise UserError(f"{label}: got {value!r}; allowed: {self.allowed}") from None
        return float(out) if self.kind == "float" else out


def _fmt(x: float | None) -> str:
    if x is None:
        return "-inf"
    return f"{x:g}" if isinstance(x, float) else str(x)


_REGISTRY: dict[str, Param] = {}


def _p(
    name: str, default: Any, lower: Any, upper: Any, unit: str, description: str, source: str, **kw
) -> None:
    if name in _REGISTRY:
        raise ValueError(f"parameter {name} declared twice")
    _REGISTRY[name] = Param(name, default, lower, upper, unit, description, source, **kw)


# --------------------------------------------------------------------------------------
# Time
_p(
    "time.warmup_days",
    240,
    0,
    1095,
    "days",
    "Days simulated before the scenario start so that queues and the fitting pipeline reach "
    "their operating point; nothing is recorded during warm-up.",
    "assumption: long enough for the pipeline (escalation review plus re-attempts) and for "
    "wearers' propensities to settle under breach responses (most orders last 3-6 months)",
    kind="int",
)

# --------------------------------------------------------------------------------------
# Demand: orders by cohort (stage 2)
# Orders per year are calibrated so that the tagged stock is 28,700 with the March 2026 mix,
# by calibration/tune_demand.py, before the history matching of the other parameters (which
# kept them: its demand.multiplier has a median of 1.01). Tuned again once people were
# followed (2.3): custody after new offences and more post-release recalls cut orders short,
# so the same stock needs more inflow (post-release +12%, court sentence +11%, court bail
# +4%).
_ORDERS = {
    "post_release": 53_077.0,
    "court_bail": 49_764.0,
    "immigration": 7_411.0,
    "court_sentence": 14_980.0,
    "specials": 146.0,
}
_DURATION = {
    "post_release": (
        120.0,
        "assumption: HDC curfews run up to 180 days and licence alcohol "
        "monitoring up to 120 days; most orders are shorter than the maximum",
    ),
    "court_bail": (
        110.0,
        "assumption: EM bail lasts until the next hearing or trial; "
        "the 2022 flows of all cohorts together (55,010 orders a year on ~15,000 tagged, "
        "a mean of about 100 days; FACTS.md, flows) give the order of magnitude",
    ),
    "immigration": (
        330.0,
        "assumption: immigration bail has no fixed end; a long mean gives the Dec 2025 stock "
        "of 4,552 (FACTS.md) from a modest flow of orders",
    ),
    "court_sentence": (
        150.0,
        "assumption: curfew and alcohol abstinence requirements of "
        "community and suspended orders typically last 3 to 6 months (max 12 "
        "for alcohol, 24 for curfews)",
    ),
    "specials": (365.0, "assumption: high-risk cases are monitored for long periods"),
}
for _c in COHORTS:
    _p(
        f"demand.orders_per_year.{_c}",
        _ORDERS[_c],
        0.0,
        300_000.0,
        "orders/year",
        f"New tagging orders per year for the {_c} cohort at scale 1.",
        f"calibrated: tagged stock 28,700 and cohort mix 37/34/15/14/<0.5% ({FACTS_MIX}); "
        "see calibration/tune_demand.py",
    )
    _p(
        f"demand.duration_mean_days.{_c}",
        _DURATION[_c][0],
        7.0,
        1095.0,
        "days",
        f"Mean order length for the {_c} cohort (gamma distributed).",
        _DURATION[_c][1],
    )
_p(
    "demand.duration_shape",
    2.0,
    0.5,
    20.0,
    "1",
    "Shape of the gamma distribution of order lengths (1 = exponential; larger = less spread).",
    "assumption: order lengths cluster around the sentence or bail period but vary widely",
)
_p(
    "demand.growth_per_year",
    0.0,
    -0.5,
    1.0,
    "share/year",
    "Growth of all order inflows per year from the scenario start (compounded daily; the "
    "warm-up runs at the start level; a dated change sets the rate from then on, keeping "
    "the level reached).",
    "assumption: 0 in the 2026 scenarios (their growth is explicit, as dated changes); the "
    "2024 transition's value is calibrated to the HMPPS caseload series "
    "(calibration/report_transition.md)",
)
_p(
    "demand.multiplier",
    1.0,
    0.0,
    5.0,
    "x",
    "Multiplier on all order inflows (a scenario lever).",
    f"assumption: 1 reproduces the 2026 inflow (a lever, kept at 1: the posterior's 90% "
    f"interval, 0.97-1.12 in {REPORT}, includes it)",
)

# Tag type of new orders, by cohort (shares sum to 1 within each cohort).
_MIX = {
    "post_release": {"rf": 0.30, "gps": 0.45, "alcohol": 0.25, "non_fitted": 0.0},
    "court_bail": {"rf": 0.45, "gps": 0.50, "alcohol": 0.05, "non_fitted": 0.0},
    "immigration": {"rf": 0.0, "gps": 0.65, "alcohol": 0.0, "non_fitted": 0.35},
    "court_sentence": {"rf": 0.30, "gps": 0.30, "alcohol": 0.40, "non_fitted": 0.0},
    "specials": {"rf": 0.0, "gps": 1.0, "alcohol": 0.0, "non_fitted": 0.0},
}
for _c in COHORTS:
    for _t in TAGS:
        _p(
            f"demand.tag_mix.{_c}.{_t}",
            _MIX[_c][_t],
            0.0,
            1.0,
            "share",
            f"Share of new {_c} orders that use a {_t} device.",
            "assumption: chosen so that the stock by tag type matches HMPPS June 2025 "
            "(RF 8,125, GPS 12,318, alcohol 4,261; FACTS.md, HMPPS statistics); non-fitted "
            "devices are for immigration only (NAO Figure 1 B)",
            group=f"demand.tag_mix.{_c}",
        )

# --------------------------------------------------------------------------------------
# Orders (stage 2): errors and rework
_p(
    "orders.error_rate",
    0.209,
    0.0,
    1.0,
    "share",
    "Share of orders that reach the supplier with errors and need rework before a visit.",
    f"calibrated: {POSTERIOR}; 90% interval 0.201-0.219; an input: {NAO} para 13: error "
    "rate ~21% in the new order system (May 2026)",
)
_p(
    "orders.rework_days_mean",
    4.0,
    0.0,
    60.0,
    "days",
    "Mean days for the requesting agency to correct an order in error (exponential).",
    "assumption: a few working days for the requester to re-key and resend",
)

# --------------------------------------------------------------------------------------
# Field service (stages 3, 5, 8)
_p(
    "field.officers",
    500,
    0,
    5000,
    "FTE",
    "Field officers in England and Wales at scale 1, spread over probation regions by population.",
    "assumption: the supplier's field workforce is not published; sized so that baseline "
    "utilisation is high but the backlog stays under the tolerable 400 (NAO para 10)",
    kind="int",
)
_p(
    "field.capacity_multiplier",
    1.0,
    0.0,
    5.0,
    "x",
    "Multiplier on field officer hours (a scenario lever: surge capacity, transition losses).",
    "assumption: 1 is the 2026 workforce",
)
_p(
    "field.shift_hours",
    8.0,
    1.0,
    12.0,
    "hours/shift",
    "Working hours of a field officer's shift.",
    "assumption: a standard shift",
)
_p(
    "field.days_per_week",
    5,
    1,
    7,
    "days/week",
    "Shifts each officer works per week.",
    "assumption: a standard working week on a rota covering all seven days",
    kind="int",
)
_p(
    "field.availability",
    0.85,
    0.1,
    1.0,
    "share",
    "Share of rostered shifts actually worked (leave, sickness, training).",
    "assumption: typical for an operational workforce",
)
_p(
    "field.double_crew_share",
    0.5,
    0.0,
    1.0,
    "share",
    "Share of visits made by two officers rather than one.",
    f"assumption; {NAO} para 19: Serco planned to increase single-officer visits",
)
_p(
    "field.onsite_hours.fit",
    1.0,
    0.1,
    4.0,
    "hours",
    "Time at the address for a fitting visit (successful or not).",
    "assumption: installing a tag and base station and explaining the conditions",
)
_p(
    "field.onsite_hours.check",
    0.5,
    0.1,
    4.0,
    "hours",
    "Time at the address for an equipment-check (maintenance) visit.",
    "assumption",
)
_p(
    "field.onsite_hours.removal",
    0.5,
    0.1,
    4.0,
    "hours",
    "Time at the address for a removal visit.",
    "assumption",
)
_p(
    "field.road_speed_kmh",
    60.0,
    10.0,
    110.0,
    "km/h",
    "Average road speed between and within police force areas.",
    "assumption: mixed motorway, A-road and urban driving",
)
_p(
    "field.road_circuity",
    1.3,
    1.0,
    2.5,
    "1",
    "Road distance divided by straight-line distance.",
    "assumption: ratios of 1.2-1.4 are usual for British road networks",
)
_p(
    "field.chain_factor",
    0.35,
    0.05,
    2.0,
    "x one-way leg",
    "Share of the one-way base-to-address travel time charged to each visit when visits "
    "are chained into a round (2 = every visit a separate trip out and back).",
    "assumption: a round of about six visits shares one trip out and back (two one-way "
    "legs over six visits, about a third of a leg each)",
)
_p(
    "field.first_visit_delay_days",
    1,
    0,
    30,
    "days",
    "Days from a clean order to the first day a fitting visit can be made.",
    "assumption: visits are booked for the next day at the earliest",
    kind="int",
)
_p(
    "field.reattempt_delay_days",
    2,
    0,
    30,
    "days",
    "Days between a failed fitting attempt and the next attempt.",
    "assumption: the standard second attempt follows within days",
    kind="int",
)
_p(
    "field.fit_success_prob",
    0.382,
    0.01,
    1.0,
    "probability",
    "Probability that one fitting attempt succeeds (wearer at the address, consents, "
    "details right).",
    f"calibrated: {POSTERIOR}; 90% interval 0.361-0.404; an input: 62% fitted "
    f"within the standard two attempts, Jan-Apr 2026 ({NAO} key facts, paras 12-13; 45% in "
    "2025)",
)
_p(
    "field.check_visits_per_year",
    2.0,
    0.0,
    52.0,
    "visits/wearer/year",
    "Rate of equipment-check (maintenance) visits per fitted wearer.",
    "assumption: stage 5 visits for faults, strap damage and base-station moves",
)
_p(
    "field.max_rounds",
    3,
    1,
    20,
    "rounds",
    "Rounds of two fitting attempts after which a requester stops re-issuing an order.",
    "assumption: requesters eventually revoke or leave cases unresolved",
    kind="int",
)

# What the requester does with an order escalated after two failed attempts.
_p(
    "escalation.review_days",
    14,
    0,
    180,
    "days",
    "Days the requesting agency takes to review an escalated order.",
    "assumption: the NAO reports cases waiting under review (para 9)",
    kind="int",
)
_p(
    "escalation.reissue_share",
    0.55,
    0.0,
    1.0,
    "share",
    "Share of escalated orders re-issued for another round of two attempts.",
    "assumption",
    group="escalation",
)
_p(
    "escalation.revoke_share",
    0.30,
    0.0,
    1.0,
    "share",
    "Share of escalated orders ended by the requester (recall, return to court, detention).",
    "assumption",
    group="escalation",
)
_p(
    "escalation.left_active_share",
    0.15,
    0.0,
    1.0,
    "share",
    "Share of escalated orders left active with no tag until they end.",
    f"assumption; {NAO} para 9: ~8,900 active orders with no tag, some left active by mistake",
    group="escalation",
)

# --------------------------------------------------------------------------------------
# Equipment (stages 1 and 8)
_p(
    "equipment.collection_rate",
    0.600,
    0.0,
    1.0,
    "share",
    "Share of devices collected back into stock at removal; the rest are lost.",
    f"calibrated: {POSTERIOR}; 90% interval 0.582-0.618; an input: {NAO} para 13: only "
    "around 60% of equipment is collected after an order ends",
)
_p(
    "equipment.lead_time_days",
    14,
    0,
    180,
    "days",
    "Days from a regional stock order to delivery by the equipment supplier.",
    "assumption",
    kind="int",
)
_p(
    "equipment.reorder_point_days",
    14.0,
    0.0,
    180.0,
    "days of fits",
    "A region reorders a device type when stock plus deliveries due falls below this many "
    "days of expected fits.",
    "assumption",
)
_p(
    "equipment.order_up_to_days",
    42.0,
    1.0,
    365.0,
    "days of fits",
    "A reorder brings stock plus deliveries due up to this many days of expected fits.",
    "assumption",
)
_p(
    "equipment.initial_stock_days",
    30.0,
    0.0,
    365.0,
    "days of fits",
    "Stock in each region at the start, in days of expected fits.",
    "assumption",
)
_p(
    "equipment.supply_multiplier",
    1.0,
    0.0,
    5.0,
    "x",
    "Multiplier on what the supplier delivers against each order (a lever for shortages).",
    "assumption: 1 = orders delivered in full",
)

# --------------------------------------------------------------------------------------
# Costs
_p(
    "cost.per_tagged_year_gbp",
    4900.0,
    0.0,
    50_000.0,
    "GBP/person/year",
    "Direct cost of monitoring one tagged person for a year (includes probation's costs).",
    f"{NAO} para 1: HMPPS estimate of £4,900 per tagged person per year (2025-26)",
)
_p(
    "cost.per_visit_gbp",
    150.0,
    0.0,
    2000.0,
    "GBP/visit",
    "Activity cost of one field visit (officer time and travel), shown separately.",
    "assumption: about two officer-hours at a loaded cost with vehicle costs",
)
_p(
    "cost.device_replacement_gbp",
    500.0,
    0.0,
    10_000.0,
    "GBP/device",
    "Cost of replacing a device that is not collected.",
    "assumption: order of magnitude of a tag with its base station",
)

# --------------------------------------------------------------------------------------
# Wearer behaviour (stage 4: what the tags see)
RISK_LEVELS: tuple[str, ...] = ("low", "medium", "high")
_RISK_MIX = {
    "post_release": (0.35, 0.45, 0.20),
    "court_bail": (0.40, 0.45, 0.15),
    "immigration": (0.50, 0.40, 0.10),
    "court_sentence": (0.45, 0.45, 0.10),
    "specials": (0.0, 0.0, 1.0),
}
for _c in COHORTS:
    for _r, _v in zip(RISK_LEVELS, _RISK_MIX[_c], strict=True):
        _p(
            f"behaviour.risk_mix.{_c}.{_r}",
            _v,
            0.0,
            1.0,
            "share",
            f"Share of {_c} wearers assessed as {_r} risk.",
            "assumption: specials are high or very high risk of serious harm by definition "
            f"({NAO} Figure 1 D); other mixes reflect that most wearers are not high risk",
            group=f"behaviour.risk_mix.{_c}",
        )
_RISK_MULT = {"low": 0.6, "medium": 1.0, "high": 1.8}
for _r in RISK_LEVELS:
    _p(
        f"behaviour.risk_multiplier.{_r}",
        _RISK_MULT[_r],
        0.0,
        10.0,
        "x",
        f"Multiplier on violation and tampering hazards for {_r}-risk wearers (true risk).",
        "assumption: risk assessments rank the likelihood of non-compliance",
    )
_VIOLATION = {
    "rf": (
        0.004,
        f"calibrated, weakly identified: {POSTERIOR}; 90% interval 0.0014-0.0086, by breach "
        "rates of ~30% of orders (HM Inspectorate of Probation evidence base, FACTS.md)",
    ),
    "gps": (
        0.004,
        f"calibrated, weakly identified: {POSTERIOR}; 90% interval 0.0012-0.0077, with the "
        "RF rate by breach rates of ~30% of orders (exclusion-zone entries, missed charging)",
    ),
    "alcohol": (
        0.03,
        "MoJ alcohol monitoring pilots: alcohol-free on ~97% of monitored days (FACTS.md)",
    ),
    "non_fitted": (0.006, "assumption: missed biometric check-ins"),
}
for _t in TAGS:
    _p(
        f"behaviour.violation_per_day.{_t}",
        _VIOLATION[_t][0],
        0.0,
        0.5,
        "probability/day",
        f"Daily probability that a medium-risk wearer of a {_t} device commits a violation "
        "the device detects.",
        _VIOLATION[_t][1],
    )
_p(
    "behaviour.propensity_shape",
    1.0,
    0.1,
    50.0,
    "1",
    "Shape of the gamma distribution (mean 1) of wearers' individual propensity to violate; "
    "small values concentrate breaches in few wearers.",
    "assumption: breaches concentrate in a minority of orders (HM Inspectorate of Probation "
    "evidence base: ~30% of orders breach)",
)
_p(
    "behaviour.early_multiplier",
    2.0,
    1.0,
    10.0,
    "x",
    "Multiplier on the violation hazard in the first weeks after fitting.",
    "HM Inspectorate of Probation evidence base: breaches occur mostly early in the order "
    "(FACTS.md); size an assumption",
)
_p(
    "behaviour.early_days",
    30,
    0,
    365,
    "days",
    "Length of the early period after fitting.",
    "assumption",
    kind="int",
)
_p(
    "behaviour.serious_share.low",
    0.10,
    0.0,
    1.0,
    "share",
    "Share of violations by low-risk wearers that are serious.",
    "assumption",
)
_p(
    "behaviour.serious_share.medium",
    0.20,
    0.0,
    1.0,
    "share",
    "Share of violations by medium-risk wearers that are serious.",
    "assumption",
)
_p(
    "behaviour.serious_share.high",
    0.40,
    0.0,
    1.0,
    "share",
    "Share of violations by high-risk wearers that are serious.",
    "assumption",
)
_p(
    "behaviour.tamper_per_day",
    0.0004,
    0.0,
    0.1,
    "probability/day",
    "Daily probability that a medium-risk wearer tampers with the tag or absconds (a serious "
    "violation that also cuts contact).",
    "assumption",
)
_p(
    "behaviour.disconnect_per_day",
    0.0015,
    0.0,
    0.1,
    "probability/day",
    "Daily probability that a device loses contact for technical reasons (battery, signal, "
    "base station moved); fixed by an equipment-check visit.",
    "assumption; NAO para 9: some devices stay disconnected for 14 days or more",
)
_p(
    "behaviour.technical_alert_per_day",
    0.009,
    0.0,
    0.25,
    "probability/day",
    "Daily rate of alerts with no violation behind them (false alarms, low battery, signal "
    "loss) that reach staff review.",
    f"calibrated, weakly identified: {POSTERIOR}; 90% interval 0.0044-0.019 (most of the "
    "prior), by 10-50% of alerts becoming breach notifications (NAO para 13); raw device "
    "events are far more "
    "frequent (FACTS.md: ~1 a day, weak) but are filtered before review",
)
_p(
    "behaviour.unmonitored_after_days",
    14,
    0,
    365,
    "days",
    "A device disconnected this long counts as no working tag: the wearer is unmonitored.",
    f"{NAO} para 9: the ~8,900 active cases under review without a working tag include "
    "devices disconnected for 14 days or more (the 28,700 tagged of the key facts still "
    "count some of them; the model's tagged stock counts every fitted device)",
    kind="int",
)

# Reoffending: people, not orders (everyone the model follows offends while at liberty,
# tagged or not, and never in custody)
_REOFFEND = {  # post_release, court_sentence: POSTERIOR (90% intervals 3.7-7.8, 2.2-5.6);
    # court_bail: scripts/calibrate_people.py; immigration, specials: assumption
    "post_release": 5.8,
    "court_bail": 2.38,
    "immigration": 0.5,
    "court_sentence": 3.8,
    "specials": 1.0,
}
for _c in COHORTS:
    _p(
        f"reoffending.annual_rate.{_c}",
        _REOFFEND[_c],
        0.0,
        10.0,
        "offences/person-year",
        f"Mean offences per person-year at liberty, untagged, of people whose first order "
        f"is a {_c} order (all offences, proven or not; individual rates vary around it, "
        "``reoffending.rate_sd``).",
        "calibrated (post-release and court sentences: the posterior median; their 90% "
        "intervals, 3.7-7.8 and 2.2-5.6, are wide: the proven share and the rates' spread "
        "trade off against them): to 12-month proven reoffending by cohort (MoJ proven "
        "reoffending "
        "bulletin; docs/FACTS.md, 'Re-offending, custody and risk assessment') with "
        "``reoffending.proven_share``; immigration and specials: assumption (no published "
        "rate; immigration bail is not offending-led, specials are held closely)",
    )
_p(
    "reoffending.rate_sd",
    2.25,
    0.0,
    3.0,
    "log-sd",
    "Spread of individual offending rates: each person's rate is the cohort's mean times a "
    "lognormal factor (mean 1) with this standard deviation on the log scale; the same "
    "latent score sets true risk (its quantiles by the cohort's risk mix).",
    f"calibrated: {POSTERIOR}; 90% interval 1.99-2.47; jointly with the annual rates, to "
    "the share of people who reoffend within 12 months and the proven reoffences per "
    "reoffender (about 2.9; MoJ, docs/FACTS.md): a uniform rate would make far more people "
    "reoffend once, and fewer many times",
)
_p(
    "reoffending.proven_share",
    0.5,
    0.05,
    1.0,
    "share",
    "Share of offences that lead to a conviction or caution (a proven offence), and so to "
    "the courts (``court.offence_*``).",
    "assumption: unknown (most offences are never solved); it scales all offences relative "
    "to proven ones and does not change proven reoffending, which the calibration fixes",
)
_EFFECT = {
    "rf": (
        0.15,
        "prior: the MoJ's RF evaluations (community orders, 2014-2018) find small reductions "
        "in reoffending while tagged (NAO para 15; docs/FACTS.md); Belur et al. 2020: "
        "favourable overall, not significant for proportions",
    ),
    "gps": (
        0.2,
        "prior: MoJ Acquisitive Crime GPS evaluation (docs/FACTS.md); Padgett, Bales and "
        "Blomberg 2006: RF = GPS",
    ),
    "alcohol": (0.1, "assumption: alcohol monitoring targets drinking, not location"),
    "non_fitted": (0.05, "assumption: periodic check-ins constrain little"),
}
for _t in TAGS:
    _p(
        f"reoffending.effect_while_tagged.{_t}",
        _EFFECT[_t][0],
        -0.5,
        0.9,
        "relative reduction",
        f"Relative reduction in offending of a medium-risk person (true risk) while monitored "
        f"by a working {_t} device (negative = more offending); other risk levels scale it by "
        "``reoffending.effect_ratio.<risk>``.",
        _EFFECT[_t][1],
    )
_p(
    "reoffending.effect_ratio.low",
    -0.2,
    -3.0,
    3.0,
    "x",
    "A low-risk person's effect while tagged as a multiple of a medium-risk person's, for "
    "every tag type (negative = tagging raises their offending; 1 = the same effect). An "
    "effect above 100% means no offending while tagged.",
    "prior: slightly harmful (the risk principle: intensive supervision of low-risk people "
    "can raise their reoffending, Andrews and Bonta; Lowenkamp and Latessa 2004; "
    "docs/FACTS.md); no evaluation reports effects by risk (NAO para 15): an unknown the "
    "prioritisation experiment varies",
)
_p(
    "reoffending.effect_ratio.high",
    1.0,
    -3.0,
    3.0,
    "x",
    "A high-risk person's effect while tagged as a multiple of a medium-risk person's, for "
    "every tag type.",
    "assumption: the same as medium risk (the evaluations report average effects only, NAO "
    "para 15); an unknown the prioritisation experiment varies",
)
_p(
    "reoffending.effect_after_removal",
    0.0,
    -0.5,
    0.5,
    "relative reduction",
    "Relative reduction in offending in the days after an order ends of people who were "
    "tagged during it (``reoffending.after_removal_days``; negative = more).",
    f"{NAO} para 15: effects after removal are unknown; Marie et al. 2011 and Sugg et al. 2001 "
    "found no difference (FACTS.md)",
)
_p(
    "reoffending.after_removal_days",
    365,
    0,
    3650,
    "days",
    "How long people are followed after an order ends (their after-removal period): they "
    "may offend, be arrested and return on a new order or to custody until then.",
    "assumption: the MoJ's proven reoffending follow-up is 12 months",
    kind="int",
)
_p(
    "risk.assessment_correlation",
    0.63,
    0.0,
    1.0,
    "correlation",
    "Correlation between the latent score that sets a person's true offending rate and the "
    "score of the risk assessment policies see (assessed risk levels are the same quantiles "
    "of the assessed score); 1 = policies know true risk.",
    "calibrated: so that the assessed score predicts 12-month proven reoffending with an "
    "AUC of about 0.7, as OGRS and OASys predictors do (docs/FACTS.md)",
)
_p(
    "time.followup_days",
    365,
    30,
    1095,
    "days",
    "Length of the person-level follow-up: people whose first order in the recorded period "
    "starts in its first year are followed this long, wherever they are.",
    "MoJ proven reoffending measure: a 12-month follow-up (docs/FACTS.md)",
    kind="int",
)

# --------------------------------------------------------------------------------------
# Monitoring centre (stages 4 and 6)
_p(
    "monitoring.reviews_per_day",
    1400.0,
    0.0,
    1_000_000.0,
    "alerts/day",
    "Alerts the monitoring centre's staff can review per day at scale 1.",
    "assumption: staffed so that every alert is reviewed within the day at baseline (NAO "
    "para 13: staff review every alert)",
)
_p(
    "monitoring.capacity_multiplier",
    1.0,
    0.0,
    10.0,
    "x",
    "Multiplier on review capacity (a scenario lever).",
    "assumption",
)
_p(
    "monitoring.notify_prob.minor",
    0.70,
    0.0,
    1.0,
    "probability",
    "Probability that a reviewed minor violation alert becomes a breach notification.",
    "assumption, kept with the other notify probabilities inside 10-50% of alerts becoming "
    f"notifications ({NAO} para 13; the calibrated technical alert rate does the fitting)",
)
_p(
    "monitoring.notify_prob.serious",
    1.0,
    0.0,
    1.0,
    "probability",
    "Probability that a reviewed serious violation or tamper alert becomes a notification.",
    "assumption: serious breaches are always notified",
)
_p(
    "monitoring.notify_prob.alcohol",
    0.04,
    0.0,
    1.0,
    "probability",
    "Probability that a reviewed alcohol reading becomes a breach notification.",
    "assumption (set by hand, not by the history matching): MoJ alcohol pilots: 91-94% of "
    "orders complete without breach although ~3% of monitored days show drinking "
    "(FACTS.md); it applies to minor readings only, serious ones take notify_prob.serious",
)
_p(
    "monitoring.notify_prob.technical",
    0.03,
    0.0,
    1.0,
    "probability",
    "Probability that a reviewed technical alert (no violation behind it) is notified as a "
    "potential breach.",
    "assumption: staff cannot always tell a fault from a breach",
)
_p(
    "monitoring.pack_hours_median",
    42.0,
    1.0,
    240.0,
    "hours",
    "Median time from a breach to its breach pack reaching officials when the centre keeps up.",
    f"calibrated, weakly identified: {POSTERIOR}; 90% interval 31-52; an input: {NAO} para "
    "8: the contract allows 29 to 53 hours from breach to officials",
)
_p(
    "monitoring.pack_hours_sigma",
    0.18,
    0.0,
    2.0,
    "log-hours",
    "Spread (lognormal sigma) of the breach-pack time; 0.18 puts ~90% within 29-53 hours.",
    f"{NAO} para 8 (29-53 hours)",
)

# --------------------------------------------------------------------------------------
# Responders (stage 7)
RESPONDERS: tuple[str, ...] = ("probation", "police", "home_office")
OUTCOMES: tuple[str, ...] = (
    "nfa",
    "engage",
    "warning",
    "adjust_conditions",
    "recall",
    "return_to_court",
    "remand",
    "bail_continued",
    "detention",
    "arrest",
)
_p(
    "probation.establishment_fte",
    8650.0,
    100.0,
    50_000.0,
    "FTE",
    "Probation practitioner posts needed (staff in post plus the shortfall).",
    "assumption: ~3,550 probation officers and ~2,900 PSOs in post (Justice Committee, Sep "
    f"2020, FACTS.md) plus the ~2,200 FTE shortfall ({NAO} para 18)",
)
_p(
    "probation.shortfall_fte",
    2200.0,
    0.0,
    50_000.0,
    "FTE",
    "Probation practitioner posts unfilled; the staffed share is 1 - shortfall/establishment.",
    f"{NAO} key facts, para 18: ~2,200 FTE short in March 2026, ~1,500 by September 2026",
)
_p(
    "probation.target_caseload",
    40.0,
    5.0,
    200.0,
    "cases/officer",
    "Cases per probation officer when fully staffed; sets the EM-related officer count.",
    "calibrated: to parliamentary answers, average caseload 36.0 (2021/22), 37.1 (2022/23), "
    "35.2 (2023/24) (FACTS.md); the caseload is this value times the active cases over the "
    "cases the service is staffed for, so it is close to an identity. History matching gave "
    f"36.4 before people were followed (2.3: custody cuts orders short, so fewer active "
    f"cases for the same inflow); now {POSTERIOR}, 90% interval 36-44",
)
_p(
    "probation.caseload_threshold",
    50.0,
    5.0,
    200.0,
    "cases/officer",
    "Caseload above which response speed and quality fall.",
    "HM Inspectorate of Probation: quality drops at caseloads of 50 and more (FACTS.md)",
)
_p(
    "probation.responses_per_officer_day",
    0.3,
    0.0,
    100.0,
    "responses/officer/day",
    "Breach responses an officer can make per working day at or below the threshold caseload.",
    "assumption: a breach response (contact, assessment, decision, recording) takes hours, "
    "alongside the rest of a caseload",
)
_p(
    "probation.overload_nfa_shift",
    0.5,
    0.0,
    1.0,
    "share",
    "At twice the threshold caseload, this share of decisions that would have been action "
    "becomes no further action (linear in the excess).",
    "assumption: quality falls past ~50 cases (HM Inspectorate of Probation, FACTS.md)",
)
_p(
    "probation.capacity_multiplier",
    1.0,
    0.0,
    100.0,
    "x",
    "Multiplier on probation response capacity (a scenario lever; large = unlimited).",
    "assumption",
)
_p(
    "probation.expiry_days",
    28,
    1,
    365,
    "days",
    "Days after which a breach pack probation has not acted on is counted unanswered.",
    "assumption",
    kind="int",
)
_p(
    "police.responses_per_100k_day",
    0.09,
    0.0,
    1000.0,
    "responses/100k population/day",
    "Breach responses a police force makes per day per 100,000 residents.",
    "assumption: sized to bail-breach demand with little spare; NAO para 18: forces have no "
    "extra funding for EM work",
)
_p(
    "police.capacity_multiplier",
    1.0,
    0.0,
    1000.0,
    "x",
    "Multiplier on police response capacity (a scenario lever; large = unlimited).",
    "assumption",
)
_p(
    "police.expiry_days",
    7,
    1,
    365,
    "days",
    "Days after which a bail-breach notification the police have not acted on lapses.",
    "assumption: a bail breach not acted on within a week is overtaken by the court date",
    kind="int",
)
# The police response to a breach of tagged court bail, built from its parts: breaching a
# bail condition is not an offence; the police may arrest and must bring the person before a
# magistrate within 24 hours, who re-bails or remands (Bail Act 1976 s.7(3)-(5)). So a breach
# arrest needs no interview or charge. No national data on EM breach outcomes exist (MoJ
# written answer, 20 May 2024: "not held"), so the shares are assumptions with wide bounds.
_p(
    "police.arrest_prob",
    0.5,
    0.0,
    1.0,
    "share",
    "Share of police responses to a minor bail breach that end in arrest (the rest: no "
    "further action, e.g. not found or words of advice).",
    "assumption (plausible 0.3-0.7): NAO para 13, nearly half of recorded breach outcomes are "
    "no further action; no EM breach outcome data are held (MoJ written answer, 20 May 2024)",
)
_p(
    "police.remand_given_arrest_prob",
    0.35,
    0.0,
    1.0,
    "share",
    "Share of bail-breach arrests in which the magistrates remand in custody (the rest: bail "
    "continued with the same or amended conditions).",
    "assumption (plausible 0.2-0.6): NAO para 10, court-bail breaches 'often result in "
    "limited consequences when cases return to court'; NAO Figure 1 D: bail with the same or "
    "amended conditions, or remand",
)
_p(
    "police.hours_arrest",
    4.0,
    0.0,
    48.0,
    "officer-hours",
    "Hours of the first attending officer for a bail-breach arrest: locating and attending, "
    "arrest and transport, the custody queue and booking-in, the breach file for court.",
    "assumption built from proxies (plausible 2.5-8): five hours of paperwork for a "
    "shoplifting arrest (Flanagan, Review of Policing, 2008); four hours to drive to a custody "
    "suite, book in and return (Police Federation, 2017); 21-22 minutes from arrival to "
    "detention authorised (Metropolitan Police FOI, 2014-2016); a breach arrest has no "
    "interview or charge",
)
_p(
    "police.hours_second_officer",
    2.0,
    0.0,
    48.0,
    "officer-hours",
    "Hours of a second officer, when an arrest is double-crewed (locating, arrest, transport).",
    "assumption (plausible 1-4): the first officer's locating, arrest and transport time",
)
_p(
    "police.double_crew_share",
    0.75,
    0.0,
    1.0,
    "share",
    "Share of bail-breach arrests attended by two officers.",
    "assumption from a proxy (plausible 0.5-0.95): about 89% of attended incidents had more "
    "than one officer in West Midlands Police, 2021-22 (FOI 1222A/22); many forces "
    "single-crew by default (LSE, 2022)",
)
_p(
    "police.hours_no_arrest",
    1.5,
    0.0,
    48.0,
    "officer-hours",
    "Officer-hours of a response without arrest (travel, a doorstep check, a log update), all "
    "officers attending.",
    "assumption (plausible 0.6-3.8): one hour per officer, half of such visits double-crewed; "
    "no source was found",
)
_p(
    "home_office.responses_per_day",
    30.0,
    0.0,
    100_000.0,
    "responses/day",
    "Immigration breach responses the Home Office makes per day at scale 1.",
    "assumption",
)
_p(
    "home_office.capacity_multiplier",
    1.0,
    0.0,
    1000.0,
    "x",
    "Multiplier on Home Office response capacity (a scenario lever).",
    "assumption",
)
_p(
    "home_office.expiry_days",
    28,
    1,
    365,
    "days",
    "Days after which an immigration breach notification not acted on is counted unanswered.",
    "assumption",
    kind="int",
)
_p(
    "specials.home_office_share",
    0.2,
    0.0,
    1.0,
    "share",
    "Share of specials whose breaches the Home Office handles (immigration-related cases); "
    "probation handles the rest.",
    f"assumption; {NAO} Figure 1 D",
)

# Outcome shares for a minor breach (serious breaches shift weight, see below).
_OUT = {
    "probation": {
        "nfa": 0.58,
        "engage": 0.16,
        "warning": 0.12,
        "adjust_conditions": 0.06,
        "enforce": 0.08,
    },
    "home_office": {
        "nfa": 0.58,
        "adjust_conditions": 0.16,
        "engage": 0.12,
        "detention": 0.08,
        "arrest": 0.04,
        "return_to_court": 0.02,
    },
}
_OUT_SRC = {
    "probation": "assumption; NAO para 13: nearly half of recorded outcomes are no further "
    "action. 'enforce' is recall to prison (post-release) or return to court "
    "(court sentences)",
    "home_office": "assumption; NAO para 13 (nearly half NFA); adjust bail, prioritise "
    "casework (engage), detention, administrative arrest, prosecution (return "
    "to court) (NAO Figure 1 D)",
}
for _r, _shares in _OUT.items():
    for _o, _v in _shares.items():
        _p(
            f"response.{_r}.{_o}",
            _v,
            0.0,
            1.0,
            "share",
            f"Share of {_r} responses to a minor breach ending in '{_o}'.",
            _OUT_SRC[_r],
            group=f"response.{_r}",
        )
_p(
    "response.probation.recall_post_release",
    0.22,
    0.0,
    0.6,
    "share",
    "Share of probation responses to a minor breach of a post-release order ending in "
    "recall (in place of response.probation.enforce for that cohort; the other outcomes keep "
    "their proportions).",
    f"calibrated: {POSTERIOR}; 90% interval 0.16-0.27; an input: the HDC recall share of "
    "breach reports, 32-45% in 2017-2019 (parliamentary written answers, docs/FACTS.md)",
)
_p(
    "response.serious_nfa_factor",
    0.4,
    0.0,
    1.0,
    "x",
    "For a serious breach, the no-further-action share is multiplied by this (the rest "
    "renormalised).",
    "assumption: serious breaches are acted on more often",
)
_p(
    "response.serious_custody_factor",
    3.0,
    1.0,
    20.0,
    "x",
    "For a serious breach, custodial outcome shares are multiplied by this.",
    "assumption",
)
_p(
    "response.compliance_effect",
    0.3,
    0.0,
    1.0,
    "relative reduction",
    "Relative reduction in a wearer's violation propensity after an engagement, warning, "
    "adjusted conditions or continued bail.",
    "assumption: Padgett, Bales and Blomberg 2006 report fewer violations under closer "
    "supervision (FACTS.md)",
)
_p(
    "court.resentence_custody_prob",
    0.3,
    0.0,
    1.0,
    "probability",
    "Probability that a court sentences to custody when a court-sentence case is returned.",
    "assumption",
)

# Custody and release (people follow their orders into custody and out again)
CUSTODY_KINDS: tuple[str, ...] = ("recall", "remand", "detention", "resentence", "sentence")
_CUSTODY = {
    "recall": (
        180.0,
        "assumption: standard recalls hold people to the end of the sentence or until the "
        "Parole Board or a review releases them, months rather than weeks (docs/FACTS.md); "
        "fixed-term recalls are 14 or 28 days (``custody.fixed_term_recall_share``)",
    ),
    "remand": (
        90.0,
        "assumption: remand until trial or sentence, months (docs/FACTS.md: remand durations)",
    ),
    "detention": (30.0, "assumption: immigration detention until removal or release"),
    "resentence": (
        120.0,
        "assumption: time served after re-sentencing, about half a short sentence",
    ),
    "sentence": (
        305.0,
        "half the average custodial sentence, 20.1 months in the year to September 2024 (MoJ "
        "Criminal Justice Statistics, docs/FACTS.md), as most are released at the halfway "
        "point; an exponential around it leaves most sentences short",
    ),
}
for _k, (_v, _why) in _CUSTODY.items():
    _p(
        f"custody.days_mean.{_k}",
        _v,
        1.0,
        3650.0,
        "days",
        f"Mean days in custody after {_k} (exponential; a standard recall for recall).",
        _why,
    )
_p(
    "custody.fixed_term_recall_share",
    0.6,
    0.0,
    1.0,
    "share",
    "Share of recalls that are fixed-term (released after ``custody.fixed_term_recall_days``).",
    "assumption: most recalls of short-sentence and HDC cases are fixed-term since 2014 "
    "(Offender Rehabilitation Act); docs/FACTS.md",
)
_p(
    "custody.fixed_term_recall_days",
    28,
    1,
    365,
    "days",
    "Days in custody after a fixed-term recall.",
    "study: Criminal Justice Act 2003 s.255B, 14 days for sentences under 12 months, 28 otherwise",
    kind="int",
)
_RELEASE_EM = {
    "recall": (0.10, "assumption: re-release onto licence, a minority with a tag"),
    "remand": (0.15, "assumption: some released from remand go on to tagged court bail"),
    "detention": (0.3, "assumption: immigration bail after detention often carries a tag"),
    "resentence": (0.15, "assumption: as sentence"),
    "sentence": (
        0.15,
        "assumption: HDC and licence tagging of short-sentence releases (HDC releases were "
        "about 9,000-15,000 a year against about 60,000 releases, docs/FACTS.md)",
    ),
}
for _k, (_v, _why) in _RELEASE_EM.items():
    _p(
        f"release.em_order_prob.{_k}",
        _v,
        0.0,
        1.0,
        "probability",
        f"Probability that a person released from custody after {_k} starts a new EM order "
        "(post-release after recall, re-sentence or sentence; court bail after remand; "
        "immigration bail after detention).",
        _why,
    )
_OFFENCE_OUTCOME = {
    "remand": (0.06, "assumption: remand in custody after charge, for a minority of charges"),
    "custody": (
        0.15,
        "assumption: 31% of offenders sentenced for indictable offences received immediate "
        "custody (2017, docs/FACTS.md); taking about half of proven reoffences as indictable and "
        "few summary offences or cautions to custody gives about 0.15",
    ),
    "bail_tag": (0.08, "assumption: court bail with a tag while awaiting trial"),
    "community_tag": (
        0.045,
        "assumption: a community or suspended sentence with an EM requirement",
    ),
}
for _k, (_v, _why) in _OFFENCE_OUTCOME.items():
    _p(
        f"court.offence_{_k}_prob",
        _v,
        0.0,
        1.0,
        "probability",
        f"Probability that a proven offence leads to {_k.replace('_', ' ')}, of those that "
        "no outcome listed before it took (remand, custody, bail with a tag, community order "
        "with a tag, in that order; the rest: a fine, caution or untagged order).",
        _why,
    )
_ENDOGENOUS = {  # measured by scripts/calibrate_people.py at baseline
    "post_release": 0.04,
    "court_bail": 0.161,
    "immigration": 0.041,
    "court_sentence": 0.234,
    "specials": 0.0,
}
for _c in COHORTS:
    _p(
        f"demand.endogenous_share.{_c}",
        _ENDOGENOUS[_c],
        0.0,
        0.9,
        "share",
        f"Share of {_c} orders that come from people the model follows (releases from "
        "custody, new offences): the exogenous inflow is ``demand.orders_per_year`` times one "
        "minus this, so that the calibrated inflow holds.",
        "calibrated: measured at baseline (scripts/endogenous_share.py)",
    )

_p(
    "cost.probation_per_response_gbp",
    200.0,
    0.0,
    10_000.0,
    "GBP/response",
    "Probation cost of one breach response.",
    "assumption: a few hours of a probation officer's time",
)
_p(
    "cost.police_officer_hour_gbp",
    65.0,
    0.0,
    1000.0,
    "GBP/officer-hour",
    "Fully loaded cost of a police officer hour (constable or sergeant: pay, pension, national "
    "insurance, vehicle, IT, supervision, premises), 2025-26 prices.",
    "derived (plausible 50-85): Home Office on-cost of GBP 36.51 an hour for sergeants and "
    "below (written answer, 4 Dec 2014) uprated by police pay awards to about GBP 53; or a "
    "constable's GBP 50,257 (2025-26 award) with 35.3% pension and national insurance over "
    "about 1,700 productive hours (GBP 44) times overheads of 1.3-1.8. The NPCC's charging "
    "rate was not found. The NPCC's ~GBP 20m a year for the EM increase is a check (NAO para "
    "18), never tuned to",
)
_p(
    "cost.custody_per_day_gbp",
    140.0,
    0.0,
    2000.0,
    "GBP/bed-day",
    "Cost of one day in custody.",
    "assumption: MoJ costs per prison place are about £50,000 a year",
)
_OFFENCE_COST_SOURCE = (
    "study: Home Office, The economic and social costs of crime, 2nd ed. (Research Report 99, "
    "2018), unit costs in 2015/16 prices, as reported by the South Wales Echo (2 August "
    "2019): criminal damage GBP 1,350, violence with injury GBP 14,050; not yet checked "
    "against the report's Table 1; not uprated"
)
_p(
    "cost.per_offence_low_gbp",
    1350.0,
    0.0,
    1_000_000.0,
    "GBP/offence",
    "Low end of what one offence costs society (criminal damage), used only to put averted "
    "offences in pounds in reports; the model never reads it. A range, not a figure, because "
    "the model's offences are all offences, proven or not, of every kind.",
    _OFFENCE_COST_SOURCE,
)
_p(
    "cost.per_offence_high_gbp",
    14050.0,
    0.0,
    1_000_000.0,
    "GBP/offence",
    "High end of what one offence costs society (violence with injury), used only to put "
    "averted offences in pounds in reports; the model never reads it.",
    _OFFENCE_COST_SOURCE,
)

# --------------------------------------------------------------------------------------
# Initial state
_p(
    "init.tagged_share",
    0.845,
    0.0,
    1.0,
    "share",
    "Share of the initial active orders that have a fitted tag; the rest start without one.",
    "calibrated (by hand, from warm-up runs): the stationary share of active orders with a "
    "tag in baseline_2026, about 0.82-0.85, so runs "
    f"start at their operating point; {NAO} para 9's ~8,900 of ~37,600 (24%) without a tag "
    "is an upper bound that includes records left open by mistake",
)

# --------------------------------------------------------------------------------------
# Policies (strategy objects in em_abm.policies, chosen by name)
_p(
    "policy.visit_queue",
    "fcfs",
    None,
    None,
    "-",
    "Order in which each region's field officers take visits from the queue.",
    "model design: first come, first served is the supplier's practice (NAO para 13: cases "
    "treated alike)",
    kind="choice",
    choices=(
        "fcfs",
        "cohort_priority",
        "risk_first",
        "deadline_first",
        "random",
        "shortest_work_first",
    ),
)
_p(
    "policy.alert_triage",
    "review_all_fcfs",
    None,
    None,
    "-",
    "How the monitoring centre orders (and may filter) alerts for review.",
    f"{NAO} para 13: staff review every alert; recommendation c: consider a risk-based approach",
    kind="choice",
    choices=("review_all_fcfs", "risk_based"),
)
_p(
    "policy.response_queue",
    "fcfs",
    None,
    None,
    "-",
    "Order in which probation, police and the Home Office act on breach packs.",
    f"{NAO} para 13 and recommendation c",
    kind="choice",
    choices=("fcfs", "risk_first", "cohort_priority", "random"),
)
_p(
    "policy.response_rule",
    "outcome_table",
    None,
    None,
    "-",
    "How responders decide what to do about a breach: the rule that turns the outcome "
    "shares (response.<responder>.*) into each responder's, cohort's and seriousness' "
    "outcome probabilities.",
    "model design: 'outcome_table' takes the published shares as they are (NAO para 13: "
    "nearly half no further action); other rules are registered with "
    "em_abm.policies.register",
    kind="choice",
    choices=("outcome_table",),
)
for _c in COHORTS:
    _p(
        f"policy.cohort_rank.{_c}",
        0,
        0,
        9,
        "rank",
        f"Priority rank of the {_c} cohort under the cohort_priority policies (lower first; "
        "equal ranks are served first come, first served).",
        "model design: the prioritisation question of NAO para 15",
        kind="int",
    )
_p(
    "triage.auto_close_below_risk",
    2,
    0,
    3,
    "risk level",
    "Under risk_based triage, technical alerts of wearers below this risk level (0 low, "
    "1 medium, 2 high) are closed without review (0 closes none).",
    "assumption: a rule for low-value alerts (NAO para 13)",
    kind="int",
)
_REQUIRED = {
    "fit": (
        1,
        "assumption: first attempt on the day after the order can be "
        "visited; Serco's KPI is two attempts within the required time (NAO para 12)",
    ),
    "check": (
        3,
        "assumption: equipment reinstallation within days (a transitional KPI, NAO para 10)",
    ),
    "removal": (
        3,
        "assumption: removal within days of the order's end (a transitional KPI, NAO para 10)",
    ),
}
for _v, (_d, _src) in _REQUIRED.items():
    _p(
        f"kpi.required_days.{_v}",
        _d,
        0,
        60,
        "days",
        f"Days within which a {_v} visit is required once it is due.",
        _src,
        kind="int",
    )
_p(
    "kpi.notification_window_hours",
    53.0,
    1.0,
    240.0,
    "hours",
    "Contractual limit from a breach to its details reaching officials.",
    f"{NAO} para 8: 29 to 53 hours",
)

# Capacity allocation: which cohorts are tagged at all when demand exceeds capacity.
for _c in COHORTS:
    _p(
        f"allocation.tag_share.{_c}",
        1.0,
        0.0,
        1.0,
        "share",
        f"Share of new {_c} orders accepted for tagging (0 stops tagging the cohort).",
        "model design: a lever for rationing tagging capacity (NAO para 15)",
    )
    _p(
        f"allocation.cap_per_year.{_c}",
        1_000_000.0,
        0.0,
        1_000_000.0,
        "orders/year",
        f"Most {_c} orders accepted per year at scale 1 (the excess is declined).",
        "model design: a lever for rationing tagging capacity (NAO para 15)",
    )

# Pilots and proposals the NAO names (paras 13, 16, recommendations a-c).
_p(
    "pilot.tag_at_court_share",
    0.0,
    0.0,
    1.0,
    "share",
    "Share of court-bail and court-sentence orders fitted at source in court, so the first "
    "fit needs no home visit.",
    f"{NAO} recommendation c: assess fitting tags at source in courts; 0 = no pilot",
)
_p(
    "pilot.pre_release_share",
    0.0,
    0.0,
    1.0,
    "share",
    "Share of post-release orders fitted in prison before release.",
    f"{NAO} para 13: HMPPS is piloting tagging before release; 0 = no pilot",
)
_p(
    "pilot.source_fit_success",
    0.95,
    0.0,
    1.0,
    "probability",
    "Probability that a fit at court or in prison succeeds (the wearer is present).",
    "assumption: failures at source are rare (equipment, refusal)",
)
_p(
    "pilot.automated_scheduling",
    False,
    None,
    None,
    "-",
    "Route visits with automated scheduling, cutting travel time per visit.",
    f"{NAO} para 14: automated scheduling of field visits was delayed",
    kind="bool",
)
_p(
    "pilot.scheduling_travel_saving",
    0.25,
    0.0,
    0.9,
    "share",
    "Share of travel time saved per visit by automated scheduling.",
    "assumption",
)
_p(
    "pilot.victim_proximity_share",
    0.0,
    0.0,
    1.0,
    "share",
    "Share of GPS-tagged post-release and court-bail wearers with a victim-proximity "
    "condition (domestic abuse cases).",
    f"{NAO} para 16: proximity tags are planned; 0 = none",
)
_p(
    "pilot.proximity_alert_per_day",
    0.01,
    0.0,
    0.5,
    "probability/day",
    "Daily probability of a proximity alert (a serious violation) for those wearers.",
    "assumption",
)
_p(
    "pilot.proximity_effect",
    0.2,
    0.0,
    0.9,
    "relative reduction",
    "Further relative reduction in offending by wearers under proximity monitoring.",
    "assumption",
)

# Escalation thresholds and contingency plans (NAO recommendation a).
_p(
    "contingency.enabled",
    False,
    None,
    None,
    "-",
    "Escalate when thresholds are crossed: add surge field capacity when the visit backlog "
    "passes its threshold; switch responders to risk-first when probation is slow.",
    f"{NAO} recommendation a: escalation thresholds and contingency plans",
    kind="bool",
)
_p(
    "contingency.visit_threshold",
    400.0,
    0.0,
    100_000.0,
    "visits",
    "Outstanding visits (at scale 1) that trigger surge field capacity.",
    f"{NAO} para 10: HMPPS's tolerable level of 400 outstanding visits",
)
_p(
    "contingency.surge_multiplier",
    1.3,
    1.0,
    5.0,
    "x",
    "Field capacity multiplier while a surge is on.",
    f"assumption; {NAO} para 19: up to £6m to retain staff for demand spikes",
)
_p(
    "contingency.surge_lag_days",
    14,
    0,
    180,
    "days",
    "Days from the trigger to the surge capacity starting.",
    "assumption",
    kind="int",
)
_p(
    "contingency.surge_days",
    60,
    1,
    730,
    "days",
    "How long a surge lasts.",
    "assumption",
    kind="int",
)
_p(
    "contingency.probation_days_threshold",
    5.0,
    0.0,
    365.0,
    "days",
    "Median probation response time (over contingency.window_days) above which responders "
    "switch to "
    "risk-first.",
    "assumption",
)
_p(
    "contingency.window_days",
    28,
    1,
    365,
    "days",
    "Trailing window over which the median probation response time is measured.",
    "assumption: four weeks, long enough to smooth day-to-day noise",
    kind="int",
)


# ======================================================================================
# Public API

PARAMS: dict[str, Param] = dict(_REGISTRY)


def add_choice(name: str, choice: str) -> None:
    """Allow ``choice`` for the choice parameter ``name`` from now on (a policy registered
    from outside the package, :func:`em_abm.policies.register`)."""
    param = PARAMS[name]
    if param.kind != "choice":
        raise TypeError(f"{name} is not a choice parameter")
    if choice not in param.choices:
        PARAMS[name] = dataclasses.replace(param, choices=(*param.choices, choice))


def defaults() -> dict[str, Any]:
    """A fresh dict of every parameter at its default."""
    return {name: p.default for name, p in PARAMS.items()}


def get(name: str, *, where: str = "") -> Param:
    """The declared parameter ``name``; a :class:`UserError` naming close matches if unknown."""
    try:
        return PARAMS[name]
    except KeyError:
        close = difflib.get_close_matches(name, PARAMS, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `em-abm params`"
        raise UserError(f"{where or name}: unknown parameter{hint}") from None


def validate(values: dict[str, Any], *, prefix: str = "", keyed: bool = False) -> dict[str, Any]:
    """Check names, types and bounds of a partial parameter dict; return the cleaned values.

    Errors name a value as ``prefix`` then its name (``--set field.officers``, a file's
    ``params.field.officers``), or with ``keyed`` as a key of the dict ``prefix`` names, as the
    Python API's errors do: ``overrides['field.officers']: got -3; allowed: ...``."""
    out = {}
    for name, value in values.items():
        where = f"{prefix}[{name!r}]" if keyed else f"{prefix}{name}"
        out[name] = get(name, where=where).validate(value, where=where)
    return out


@functools.cache
def groups() -> dict[str, list[str]]:
    """Share groups: group name -> member parameter names (the registry is fixed at import)."""
    g: dict[str, list[str]] = {}
    for p in PARAMS.values():
        if p.group:
            g.setdefault(p.group, []).append(p.name)
    return g


def check_groups(values: dict[str, Any], *, where: str = "") -> None:
    """Raise :class:`UserError` if the shares of any group do not sum to one."""
    for group, names in groups().items():
        total = math.fsum(values[n] for n in names)
        if abs(total - 1.0) > 1e-6:
            parts = " + ".join(f"{n.rsplit('.', 1)[-1]}={values[n]:g}" for n in names)
            raise UserError(f"{where}{group}: shares must sum to 1 (got {parts} = {total:g})")


def vector(values: dict[str, Any], prefix: str, keys: tuple[str, ...]) -> list[Any]:
    """``[values[f"{prefix}.{k}"] for k in keys]``."""
    return [values[f"{prefix}.{k}"] for k in keys]


@dataclass
class ParamTable:
    """Rows for printing: one per parameter, in declaration order."""

    rows: list[Param] = field(default_factory=lambda: list(PARAMS.values()))

    def render(self, fmt: str = "text") -> str:
        cols = ("name", "default", "lower", "upper", "unit", "source")
        data = [
            (p.name, _cell(p.default), _cell(p.lower), _cell(p.upper), p.unit, p.source)
            for p in self.rows
        ]
        if fmt == "csv":
            import csv
            import io

            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow((*cols, "description"))
            for p, row in zip(self.rows, data, strict=True):
                w.writerow((*row, p.description))
            return buf.getvalue()
        if fmt == "markdown":
            lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in data]
            return "\n".join(lines) + "\n"
        widths = [max(len(c), *(len(r[i]) for r in data)) for i, c in enumerate(cols[:-1])]
        fmt_row = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
        lines = [fmt_row.format(*cols)]
        lines += [fmt_row.format(*row) for row in data]
        return "\n".join(lines) + "\n"


def _cell(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)
