"""Declared outputs: every metric once, with its label, unit and how it is summarised.

The model records *columns* day by day into a preallocated array (``COLUMNS``); the time
series adds derived rates and the run summary reduces columns to scalars, both following
these declarations, so figures, tables and docs read names, labels and units from here.

Kinds and how the summary reduces them:

* ``stock``: a level at the end of each day; summary = mean over the final 365 days of the
  run (the whole run if shorter).
* ``flow``: a count or amount per day; summary = total over the run.
* ``rate``: ratio of two flows; time series = ratio of trailing 28-day sums (carried
  forward over windows with no events); summary = ratio of the run totals.
* ``peak``: summary = maximum of a stock over the run.
* ``quantile``: summary only, from the distribution of per-event durations.
* ``composite``: summary only, a dict whose entries add up other summary metrics
  (``kpi``, ``public_protection``, ``cost_total_gbp``).

``by`` expands a metric into one column per cohort or tag type (``tagged.court_bail``).

Names. One scheme names every output: a metric's name, and ``NAME.KEY`` for one key of a
``by`` metric or a composite (``tagged``, ``tagged.court_bail``, ``cost_total_gbp.total``).
The time series' columns and the flat summary (:func:`summary_keys`,
:func:`em_abm.results.flatten`, ``summary_flat.json``) use it. Only the nested
``summary.json`` differs where it must: a ``by`` metric whose scalar total shares its name keeps
its dict under ``summary_name`` (``tagged_by_cohort``), since one JSON key cannot hold both the
number and the table. The flat names such a dict gave before (``tagged_by_cohort.court_bail``)
are still accepted wherever a summary name is (sweep outputs, targets, lookups in a flat
summary): :data:`SUMMARY_ALIASES` maps each to the documented name. They are deprecated for
new specs and targets; stored sweeps and the calibration targets that use them keep working.
"""

from __future__ import annotations

from dataclasses import dataclass

from em_abm.params import COHORTS, OUTCOMES, RESPONDERS, TAGS, VISIT_TYPES

RATE_WINDOW_DAYS = 28
FINAL_PERIOD_DAYS = 365


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str
    kind: str  # stock | flow | rate | peak | quantile
    scales_with_population: bool = True
    by: str | None = None  # None | "cohort" | "tag" | "visit"
    num: str = ""  # rate: numerator column
    den: str = ""  # rate: denominator column
    of: str = ""  # peak: stock column; quantile: sample name
    q: float = 0.0  # quantile level
    factor: float = 1.0  # rate: multiplier on the ratio (100 for "per 100 people")
    signed: bool = False  # may be negative (every other metric is never below zero)
    summary_name: str = ""  # name in summary.json when it differs (dicts of `by` metrics)
    parts: tuple = ()  # composite: (key, (summary names summed)) pairs


_KEYS = {
    "cohort": COHORTS,
    "tag": TAGS,
    "visit": VISIT_TYPES,
    "outcome": OUTCOMES,
    "responder": RESPONDERS,
}

METRICS: tuple[Metric, ...] = (
    Metric("tagged", "Tagged people (tag fitted)", "people", "stock"),
    Metric(
        "tagged",
        "Tagged people by cohort",
        "people",
        "stock",
        by="cohort",
        summary_name="tagged_by_cohort",
    ),
    Metric(
        "tagged",
        "Tagged people by tag type",
        "people",
        "stock",
        by="tag",
        summary_name="tagged_by_tag",
    ),
    Metric("active_orders", "Active orders", "orders", "stock"),
    Metric("active_orders_without_tag", "Active orders without a tag", "orders", "stock"),
    Metric(
        "active_orders_unmonitored",
        "Active orders without a working tag (never fitted, or disconnected 14 days or more)",
        "orders",
        "stock",
    ),
    Metric(
        "unmonitored_share",
        "Share of active orders without a working tag",
        "share",
        "rate",
        False,
        num="active_orders_unmonitored",
        den="active_orders",
    ),
    Metric("orders_received", "Orders received", "orders/day", "flow"),
    Metric("orders_with_error", "Orders received with errors", "orders/day", "flow"),
    Metric(
        "order_error_rate",
        "Share of orders with errors",
        "share",
        "rate",
        False,
        num="orders_with_error",
        den="orders_received",
    ),
    Metric("orders_in_rework", "Orders being corrected by the requester", "orders", "stock"),
    Metric("orders_awaiting_fit", "Orders waiting for a fitting visit", "orders", "stock"),
    Metric(
        "orders_escalated",
        "Orders escalated to the requester after two failed attempts",
        "orders",
        "stock",
    ),
    Metric("orders_awaiting_removal", "Ended orders waiting for tag removal", "orders", "stock"),
    Metric(
        "orders_revoked",
        "Orders revoked by the requester after failed fitting",
        "orders/day",
        "flow",
    ),
    Metric("escalations", "Orders escalated after two failed attempts", "orders/day", "flow"),
    Metric("outstanding_visits", "Outstanding visits (due, not yet done)", "visits", "stock"),
    Metric(
        "outstanding_visits",
        "Outstanding visits by type",
        "visits",
        "stock",
        by="visit",
        summary_name="outstanding_visits_by_type",
    ),
    Metric(
        "outstanding_visits_peak",
        "Peak outstanding visits",
        "visits",
        "peak",
        of="outstanding_visits",
    ),
    Metric("visits_done", "Field visits made", "visits/day", "flow"),
    Metric(
        "visits_done",
        "Field visits made by type",
        "visits/day",
        "flow",
        by="visit",
        summary_name="visits_done_by_type",
    ),
    Metric("visits_failed", "Failed fitting attempts", "visits/day", "flow"),
    Metric("fits", "Tags fitted", "fits/day", "flow"),
    Metric(
        "first_rounds_concluded", "Orders whose first two attempts concluded", "orders/day", "flow"
    ),
    Metric("fits_within_two", "Orders fitted within the first two attempts", "orders/day", "flow"),
    Metric(
        "install_within_two_attempts_rate",
        "Fitted within the standard two attempts",
        "share",
        "rate",
        False,
        num="fits_within_two",
        den="first_rounds_concluded",
    ),
    Metric(
        "days_order_to_fit_p50",
        "Days from order to fit, median",
        "days",
        "quantile",
        False,
        of="order_to_fit",
        q=0.5,
    ),
    Metric(
        "days_order_to_fit_p95",
        "Days from order to fit, 95th percentile",
        "days",
        "quantile",
        False,
        of="order_to_fit",
        q=0.95,
    ),
    Metric("field_hours_available", "Field officer hours available", "hours/day", "flow"),
    Metric("field_hours_used", "Field officer hours used", "hours/day", "flow"),
    Metric(
        "field_utilisation",
        "Field officer utilisation",
        "share",
        "rate",
        False,
        num="field_hours_used",
        den="field_hours_available",
    ),
    Metric("devices_in_stock", "Devices in regional stock", "devices", "stock"),
    Metric("devices_delivered", "Devices delivered by the supplier", "devices/day", "flow"),
    Metric("removals", "Tags removed", "removals/day", "flow"),
    Metric("devices_collected", "Devices collected at removal", "devices/day", "flow"),
    Metric("devices_lost", "Devices not collected at removal", "devices/day", "flow"),
    Metric(
        "device_collection_rate",
        "Share of devices collected at removal",
        "share",
        "rate",
        False,
        num="devices_collected",
        den="removals",
    ),
    # Monitoring, breaches and responses (stages 4, 6, 7)
    Metric("alerts", "Alerts raised for review", "alerts/day", "flow"),
    Metric("alerts_reviewed", "Alerts reviewed", "alerts/day", "flow"),
    Metric("alerts_awaiting_review", "Alerts waiting for review", "alerts", "stock"),
    Metric("breach_notifications", "Breach notifications sent", "notifications/day", "flow"),
    Metric(
        "breach_notifications",
        "Breach notifications by cohort",
        "notifications/day",
        "flow",
        by="cohort",
        summary_name="breach_notifications_by_cohort",
    ),
    Metric(
        "alert_to_notification_rate",
        "Share of reviewed alerts that become notifications",
        "share",
        "rate",
        False,
        num="breach_notifications",
        den="alerts_reviewed",
    ),
    Metric(
        "notification_lag_hours_p50",
        "Hours from breach to breach pack, median",
        "hours",
        "quantile",
        False,
        of="notification_lag_hours",
        q=0.5,
    ),
    Metric(
        "notification_lag_hours_p95",
        "Hours from breach to breach pack, 95th percentile",
        "hours",
        "quantile",
        False,
        of="notification_lag_hours",
        q=0.95,
    ),
    Metric(
        "notifications_awaiting_response",
        "Breach packs with responders, not yet acted on",
        "notifications",
        "stock",
    ),
    Metric("responses", "Breach responses", "responses/day", "flow"),
    Metric(
        "responses",
        "Breach responses by outcome",
        "responses/day",
        "flow",
        by="outcome",
        summary_name="responses_by_outcome",
    ),
    Metric(
        "nfa_share",
        "Share of responses that are no further action",
        "share",
        "rate",
        False,
        num="responses.nfa",
        den="responses",
    ),
    Metric(
        "response_time_days_p50",
        "Days from breach pack to response, median, by responder",
        "days",
        "quantile",
        False,
        by="responder",
        of="response_time_days",
        q=0.5,
        summary_name="response_time_days_p50_by_responder",
    ),
    Metric(
        "notifications_unanswered",
        "Breach notifications that lapsed without a response",
        "notifications/day",
        "flow",
    ),
    Metric("orders_closed_fitted", "Orders closed that had a tag fitted", "orders/day", "flow"),
    Metric(
        "orders_closed_with_breach",
        "Orders closed that had a tag and a breach notification",
        "orders/day",
        "flow",
    ),
    Metric(
        "breach_rate_of_orders",
        "Share of tagged orders with a breach notification",
        "share",
        "rate",
        False,
        num="orders_closed_with_breach",
        den="orders_closed_fitted",
    ),
    Metric(
        "unmonitored_days",
        "Person-days on an active order without a working tag",
        "person-days",
        "flow",
    ),
    # People followed (stages.people): offending wherever they are, custody and release
    Metric(
        "people_followed",
        "People followed (on an order, in custody after one, or in "
        "their after-order or follow-up period)",
        "people",
        "stock",
    ),
    Metric("people_on_order", "People on an active order", "people", "stock"),
    Metric("people_in_custody", "People followed who are in custody", "people", "stock"),
    Metric("offences", "Offences by people followed (all, at liberty)", "offences/day", "flow"),
    Metric(
        "offences_expected_untagged",
        "Offences the people at liberty would commit with no tag effect (expected)",
        "offences/day",
        "flow",
    ),
    Metric(
        "proven_offences", "Offences leading to a conviction or caution", "offences/day", "flow"
    ),
    Metric(
        "reoffences_while_tagged", "Offences by wearers with a working tag", "offences/day", "flow"
    ),
    Metric(
        "reoffences_expected_if_untagged",
        "Offences the tagged would have committed untagged (expected)",
        "offences/day",
        "flow",
    ),
    Metric(
        "reoffences_while_unmonitored",
        "Offences by people on an active order without a working tag",
        "offences/day",
        "flow",
    ),
    Metric(
        "reoffences_while_on_order",
        "Offences by people on an active order (tagged or not); falls when people leave "
        "orders for custody, so not a public-protection outcome",
        "offences/day",
        "flow",
    ),
    Metric(
        "reoffences_after_order",
        "Offences by people followed who are at liberty and not on an order",
        "offences/day",
        "flow",
    ),
    Metric(
        "custody_admissions_from_breach",
        "Custody admissions after a breach",
        "people/day",
        "flow",
        by="cohort",
        summary_name="custody_admissions_from_breach",
    ),
    Metric("custody_admissions", "Custody admissions of people followed", "people/day", "flow"),
    Metric(
        "custody_admissions_from_offence",
        "Custody admissions after a proven offence (remand or sentence)",
        "people/day",
        "flow",
    ),
    Metric("releases_from_custody", "Releases from custody", "people/day", "flow"),
    Metric("custody_days", "Days in custody of people followed", "bed-days", "flow"),
    Metric("orders_endogenous", "Orders for people already followed", "orders/day", "flow"),
    Metric(
        "orders_endogenous",
        "Orders for people already followed, by cohort",
        "orders/day",
        "flow",
        by="cohort",
        summary_name="orders_endogenous_by_cohort",
    ),
    Metric(
        "orders_received",
        "Orders received, by cohort",
        "orders/day",
        "flow",
        by="cohort",
        summary_name="orders_received_by_cohort",
    ),
    Metric("orders_from_releases", "New EM orders on release from custody", "orders/day", "flow"),
    Metric(
        "orders_from_offences", "New tagged orders after a proven offence", "orders/day", "flow"
    ),
    # The person-level follow-up: people whose first order in the recorded period starts in
    # its first year, each followed for 12 months wherever they are (stages.people).
    Metric(
        "followup_people_12m",
        "People in the 12-month follow-up cohort (entering)",
        "people",
        "flow",
    ),
    Metric(
        "followup_people_12m",
        "People in the follow-up cohort by cohort of their order",
        "people",
        "flow",
        by="cohort",
        summary_name="followup_people_12m_by_cohort",
    ),
    Metric(
        "followup_offences_12m",
        "Offences by the follow-up cohort in their 12 months",
        "offences",
        "flow",
    ),
    Metric(
        "followup_expected_offences_12m",
        "Offences the follow-up cohort would commit in the same days at liberty with no tag "
        "effect (expected)",
        "offences",
        "flow",
    ),
    Metric(
        "followup_custody_days_12m",
        "Days in custody of the follow-up cohort in their 12 months",
        "bed-days",
        "flow",
    ),
    Metric(
        "followup_offences_averted_12m",
        "Offences the follow-up cohort's tags averted: expected at liberty with no tag effect "
        "less committed (negative: tags added offences)",
        "offences",
        "flow",
        signed=True,
    ),
    Metric(
        "followup_liberty_days_12m",
        "Days at liberty of the follow-up cohort in their 12 months",
        "person-days",
        "flow",
    ),
    Metric(
        "followup_proven_offences_12m",
        "Proven offences of the follow-up cohort in their 12 months",
        "offences",
        "flow",
    ),
    Metric(
        "followup_proven_reoffenders_12m",
        "People of the follow-up cohort with a proven offence in their 12 months",
        "people",
        "flow",
    ),
    Metric(
        "followup_proven_reoffenders_12m",
        "People of the follow-up cohort with a proven "
        "offence in their 12 months, by cohort of their order",
        "people",
        "flow",
        by="cohort",
        summary_name="followup_proven_reoffenders_12m_by_cohort",
    ),
    Metric(
        "followup_offences_per_100",
        "Offences per 100 people in the 12 months of follow-up (the primary public-protection "
        "outcome)",
        "offences/100 people",
        "rate",
        False,
        num="followup_offences_12m",
        den="followup_people_12m",
        factor=100.0,
    ),
    Metric(
        "followup_expected_offences_per_100",
        "Offences per 100 people expected at liberty with no tag effect (what custody left)",
        "offences/100 people",
        "rate",
        False,
        num="followup_expected_offences_12m",
        den="followup_people_12m",
        factor=100.0,
    ),
    Metric(
        "followup_offences_averted_per_100",
        "Offences per 100 people that tags averted in the follow-up (what tags did; the rest "
        "of a change in offences per 100 is the expected offences, what custody did)",
        "offences/100 people",
        "rate",
        False,
        num="followup_offences_averted_12m",
        den="followup_people_12m",
        factor=100.0,
        signed=True,
    ),
    Metric(
        "followup_custody_days_per_100",
        "Days in custody per 100 people in the follow-up",
        "bed-days/100 people",
        "rate",
        False,
        num="followup_custody_days_12m",
        den="followup_people_12m",
        factor=100.0,
    ),
    Metric(
        "followup_offence_rate_12m",
        "Offences per person-year at liberty in the follow-up",
        "offences/person-year",
        "rate",
        False,
        num="followup_offences_12m",
        den="followup_liberty_days_12m",
        factor=365.0,
    ),
    Metric(
        "followup_proven_reoffending_12m",
        "Share of the follow-up cohort with a proven offence within 12 months (the MoJ measure)",
        "share",
        "rate",
        False,
        num="followup_proven_reoffenders_12m",
        den="followup_people_12m",
    ),
    Metric(
        "followup_proven_reoffending_12m",
        "Share with a proven offence within 12 months, by cohort of the order that started "
        "the follow-up",
        "share",
        "rate",
        False,
        num="followup_proven_reoffenders_12m",
        den="followup_people_12m",
        by="cohort",
        summary_name="followup_proven_reoffending_12m_by_cohort",
    ),
    Metric(
        "followup_proven_offences_per_reoffender",
        "Proven offences per proven reoffender in the follow-up",
        "offences/person",
        "rate",
        False,
        num="followup_proven_offences_12m",
        den="followup_proven_reoffenders_12m",
    ),
    Metric(
        "probation_caseload",
        "Mean EM caseload per probation officer",
        "cases/officer",
        "stock",
        False,
    ),
    Metric("cost_em_gbp", "Direct cost of EM (per tagged person-day)", "GBP", "flow"),
    Metric("cost_probation_gbp", "Probation cost of breach responses", "GBP", "flow"),
    Metric("cost_police_gbp", "Police cost of breach responses", "GBP", "flow"),
    Metric(
        "police_officer_hours",
        "Police officer-hours spent on breach responses (arrests and visits)",
        "officer-hours",
        "flow",
    ),
    Metric("cost_custody_gbp", "Cost of custody of people followed", "GBP", "flow"),
    Metric("cost_visits_gbp", "Activity cost of field visits", "GBP", "flow"),
    Metric("cost_devices_lost_gbp", "Cost of replacing devices not collected", "GBP", "flow"),
    # Levers and system-wide measures (NAO recommendations a-c)
    Metric("orders_declined", "Orders declined under capacity allocation", "orders/day", "flow"),
    # Declined orders still count against public protection: the person is on bail, licence
    # or a sentence without a tag for the order's length (counted on the day of the decision).
    Metric(
        "declined_person_days",
        "Person-days of declined orders (never tagged)",
        "person-days",
        "flow",
    ),
    Metric(
        "reoffences_expected_declined",
        "Offences expected of people whose orders were declined (untagged rate)",
        "offences/day",
        "flow",
    ),
    Metric("fits_at_source", "Tags fitted at court or in prison (pilots)", "fits/day", "flow"),
    Metric(
        "alerts_auto_closed", "Alerts closed by a triage rule without review", "alerts/day", "flow"
    ),
    Metric("serious_notifications", "Serious breach notifications", "notifications/day", "flow"),
    Metric(
        "serious_unanswered_24h",
        "Serious breaches not acted on within 24 hours of the pack reaching officials",
        "notifications/day",
        "flow",
    ),
    Metric(
        "escalations_triggered",
        "Escalations triggered by contingency thresholds",
        "escalations/day",
        "flow",
    ),
    Metric("kpi_first_attempts", "First fitting attempts", "visits/day", "flow"),
    Metric(
        "kpi_first_attempts_on_time",
        "First fitting attempts within the required time",
        "visits/day",
        "flow",
    ),
    Metric(
        "kpi_fit_attempts",
        "Fitting attempts within an order's standard two (first and second attempts)",
        "visits/day",
        "flow",
    ),
    Metric(
        "kpi_fit_attempts_on_time",
        "First and second fitting attempts made within the required time",
        "visits/day",
        "flow",
    ),
    Metric("kpi_checks", "Equipment-check visits", "visits/day", "flow"),
    Metric(
        "kpi_checks_on_time",
        "Equipment-check visits within the required time",
        "visits/day",
        "flow",
    ),
    Metric("kpi_removals", "Removal visits", "visits/day", "flow"),
    Metric("kpi_removals_on_time", "Removal visits within the required time", "visits/day", "flow"),
    Metric(
        "kpi_notifications_in_window",
        "Notifications within the contractual window",
        "notifications/day",
        "flow",
    ),
    Metric(
        "kpi_first_attempt_on_time_rate",
        "First fitting attempt within the required time",
        "share",
        "rate",
        False,
        num="kpi_first_attempts_on_time",
        den="kpi_first_attempts",
    ),
    Metric(
        "kpi_two_attempts_on_time_rate",
        "First and second fitting attempts within the required time (the Serco KPI)",
        "share",
        "rate",
        False,
        num="kpi_fit_attempts_on_time",
        den="kpi_fit_attempts",
    ),
    Metric(
        "kpi_check_on_time_rate",
        "Equipment reinstallation within the required time",
        "share",
        "rate",
        False,
        num="kpi_checks_on_time",
        den="kpi_checks",
    ),
    Metric(
        "kpi_removal_on_time_rate",
        "Removal within the required time",
        "share",
        "rate",
        False,
        num="kpi_removals_on_time",
        den="kpi_removals",
    ),
    Metric(
        "kpi_notification_in_window_rate",
        "Notifications within the contractual window",
        "share",
        "rate",
        False,
        num="kpi_notifications_in_window",
        den="breach_notifications",
    ),
    # Summary dicts built from the metrics above
    Metric(
        "kpi",
        "Supplier KPIs the model can compute",
        "share",
        "composite",
        False,
        parts=(
            ("first_attempt_within_required_time", ("kpi_first_attempt_on_time_rate",)),
            ("two_attempts_within_required_time", ("kpi_two_attempts_on_time_rate",)),
            ("fitted_within_two_attempts", ("install_within_two_attempts_rate",)),
            ("reinstallation_within_required_time", ("kpi_check_on_time_rate",)),
            ("removal_within_required_time", ("kpi_removal_on_time_rate",)),
            ("notification_within_window", ("kpi_notification_in_window_rate",)),
        ),
    ),
    Metric(
        "public_protection",
        "Public protection measures",
        "-",
        "composite",
        parts=(
            ("unmonitored_person_days", ("unmonitored_days", "declined_person_days")),
            ("followup_offences_12m", ("followup_offences_12m",)),
            ("followup_expected_offences_12m", ("followup_expected_offences_12m",)),
            ("followup_custody_days_12m", ("followup_custody_days_12m",)),
            (
                "reoffences_while_on_order",
                ("reoffences_while_on_order", "reoffences_expected_declined"),
            ),
            ("serious_breaches_unanswered_24h", ("serious_unanswered_24h",)),
        ),
    ),
    Metric(
        "cost_total_gbp",
        "Costs by payer",
        "GBP",
        "composite",
        parts=(
            ("em_service", ("cost_em_gbp", "cost_devices_lost_gbp")),
            ("probation", ("cost_probation_gbp",)),
            ("police", ("cost_police_gbp",)),
            ("custody", ("cost_custody_gbp",)),
            (
                "total",
                (
                    "cost_em_gbp",
                    "cost_devices_lost_gbp",
                    "cost_probation_gbp",
                    "cost_police_gbp",
                    "cost_custody_gbp",
                ),
            ),
        ),
    ),
)


def column_names(m: Metric) -> list[str]:
    if m.by:
        return [f"{m.name}.{k}" for k in _KEYS[m.by]]
    return [m.name]


def keys_of(m: Metric) -> tuple[str, ...]:
    return _KEYS[m.by] if m.by else ()


# Columns the model records each day (stocks and flows; rates, peaks and quantiles are derived).
COLUMNS: tuple[str, ...] = tuple(
    c for m in METRICS if m.kind in ("stock", "flow") for c in column_names(m)
)
COLUMN_INDEX: dict[str, int] = {c: i for i, c in enumerate(COLUMNS)}

BY_NAME: dict[str, Metric] = {}
for _m in METRICS:
    BY_NAME.setdefault(_m.summary_name or _m.name, _m)
for _m in METRICS:  # a metric known only by its summary name is found by its own name too
    BY_NAME.setdefault(_m.name, _m)

# A dict of summary.json -> the prefix of its entries' flat names (``tagged_by_cohort`` ->
# ``tagged``).
FLAT_PREFIX: dict[str, str] = {
    m.summary_name: m.name for m in METRICS if m.by and m.summary_name and m.summary_name != m.name
}
# The flat summary names of before issue 2.6, from a ``by`` metric's dict in summary.json
# (``tagged_by_cohort.court_bail``), and the documented name each stands for
# (``tagged.court_bail``, the time series' name). Accepted wherever a summary name is.
SUMMARY_ALIASES: dict[str, str] = {
    f"{old}.{k}": f"{new}.{k}" for old, new in FLAT_PREFIX.items() for k in keys_of(BY_NAME[old])
}


SUMMARY_NAMES_ALLOWED = (
    "a summary metric (declared in em_abm/metrics.py, e.g. tagged, tagged.court_bail, "
    "cost_total_gbp.total)"
)
SERIES_NAMES_ALLOWED = "a column of timeseries.parquet (declared in em_abm/metrics.py)"


def summary_keys(*, aliases: bool = False) -> dict[str, Metric]:
    """Every scalar in a flattened run summary (``tagged``, ``tagged.court_bail``,
    ``cost_total_gbp.total``), with the metric it comes from: the names sweeps may output.
    With ``aliases``, the older names (:data:`SUMMARY_ALIASES`) too."""
    out: dict[str, Metric] = {}
    for m in METRICS:
        if m.kind == "composite":
            out.update({f"{m.name}.{key}": m for key, _ in m.parts})
        elif m.by:
            out.update({f"{m.name}.{k}": m for k in keys_of(m)})
        else:
            out[m.name] = m
    if aliases:
        out.update({old: out[new] for old, new in SUMMARY_ALIASES.items()})
    return out


def summary_key(name: str) -> str:
    """The documented flat summary name of ``name``: itself, or the name an older alias
    stands for (``tagged_by_cohort.court_bail`` -> ``tagged.court_bail``)."""
    return SUMMARY_ALIASES.get(name, name)


def _series_metrics() -> dict[str, Metric]:
    return {c: m for m in METRICS if m.kind in ("stock", "flow", "rate") for c in column_names(m)}


_SERIES_METRIC = _series_metrics()
_REDUCED = {
    "stock": f"mean over the final {FINAL_PERIOD_DAYS} days",
    "flow": "total over the run",
    "rate": "ratio of the run's totals",
    "peak": "maximum over the run",
    "quantile": "over the run's events",
}


def _keyed(m: Metric, name: str) -> str:
    """A metric's label, with the key of a ``by`` metric's entry ``name``."""
    key = name.partition(".")[2]
    return f"{m.label}: {key}" if m.by and key else m.label


def describe_series(column: str) -> tuple[str, str] | None:
    """(unit, description) of a column of the time series (``tagged.court_bail``), or None
    for one the metrics do not declare. Flows are per day; rates of flows are ratios of
    trailing sums."""
    if column == "date":
        return "date", "the simulated day (after the warm-up)"
    m = _SERIES_METRIC.get(column)
    if m is None:
        return None
    text = _keyed(m, column)
    if m.kind == "rate" and BY_NAME[m.num.split(".")[0]].kind == "flow":
        text += f" (ratio of trailing {RATE_WINDOW_DAYS}-day totals)"
    return m.unit, text


def describe_summary(name: str) -> tuple[str, str] | None:
    """(unit, description) of a flat summary name (an alias too), or None for one the metrics
    do not declare. A flow's unit is that of its total over the run (``orders``, not
    ``orders/day``); a composite's entry has the unit of what it adds up."""
    name = summary_key(name)
    m = summary_keys().get(name)
    if m is None:
        return None
    if m.kind == "composite":
        key = name.partition(".")[2]
        parts = dict(m.parts)[key]
        unit = describe_summary(parts[0])[0]
        what = f"the sum of {', '.join(parts)}" if len(parts) > 1 else parts[0]
        return unit, f"{m.label}: {key}; {what}"
    unit = m.unit.removesuffix("/day") if m.kind == "flow" else m.unit
    reduced = _REDUCED[m.kind]
    if m.kind == "rate" and BY_NAME[m.num.split(".")[0]].kind == "stock":
        reduced = f"ratio of the sums over the final {FINAL_PERIOD_DAYS} days"
    return unit, f"{_keyed(m, name)}; {reduced}"


def series_names() -> list[str]:
    """Every column of a run's daily series besides ``date``: the recorded columns and the
    rates derived from them (:func:`em_abm.results.build_timeseries`)."""
    return [*COLUMNS, *(c for m in METRICS if m.kind == "rate" for c in column_names(m))]


def signed_names() -> set[str]:
    """Series columns and summary names that may be negative."""
    return {c for m in METRICS if m.signed for c in (*column_names(m), m.summary_name or m.name)}


def scales_with_population(name: str) -> bool:
    """Whether a summary or series name (``tagged.court_bail``, ``cost_total_gbp.total``)
    counts people or money that grow with the run's scale (divide by it for England and
    Wales), rather than a share, rate or duration."""
    metric = BY_NAME.get(name.split(".")[0])
    return bool(metric and metric.scales_with_population and metric.unit != "share")


def per_england_and_wales(name: str, value, scale: float):
    """``value`` of a metric (a number, array or Series) as England-and-Wales equivalents:
    counts, person-days and money times ``1 / scale``; shares, rates and durations as they
    are. One arithmetic everywhere (sweeps, bands, the EMA adapter), so that they agree to
    the last bit."""
    return value * (1.0 / scale) if scales_with_population(name) else value


def scale_label(scale: float, *, equivalent: bool = False) -> str:
    """What a run's counts are: England and Wales (scale 1), a scaled sample, or (with
    ``equivalent``, for figures divided by the scale) England-and-Wales equivalents of one.
    Every table and figure of a run says which."""
    if equivalent and scale != 1:
        return (
            f"England-and-Wales equivalents of a scaled sample (scale {scale:g}; counts / "
            f"{scale:g})"
        )
    if scale == 1:
        return "England and Wales (scale 1)"
    return f"a scaled sample: counts are {scale:g} of England and Wales (scale {scale:g})"
