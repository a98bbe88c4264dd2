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
* ``quantile``: summary only, from the distribution of per-order durations.

``by`` expands a metric into one column per cohort or tag type (``tagged.court_bail``);
the summary holds those as a dict (``tagged_by_cohort``).
"""

from __future__ import annotations

from dataclasses import dataclass

from em_abm.params import COHORTS, TAGS, VISIT_TYPES

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
    summary_name: str = ""  # name in summary.json when it differs (dicts of `by` metrics)


_KEYS = {"cohort": COHORTS, "tag": TAGS, "visit": VISIT_TYPES}

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
        "unmonitored_share",
        "Share of active orders without a working tag",
        "share",
        "rate",
        False,
        num="active_orders_without_tag",
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
    Metric("cost_em_gbp", "Direct cost of EM (per tagged person-day)", "GBP", "flow"),
    Metric("cost_visits_gbp", "Activity cost of field visits", "GBP", "flow"),
    Metric("cost_devices_lost_gbp", "Cost of replacing devices not collected", "GBP", "flow"),
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
