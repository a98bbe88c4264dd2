"""Time series of many runs as a long table, and their bands: per day and metric, the median
and the 10% and 90% quantiles over the runs (``em-abm run --seeds``, ``compare``)."""

from __future__ import annotations

import pandas as pd

from em_abm.metrics import RATE_WINDOW_DAYS

# The series the band figure shows, one panel each.
BAND_METRICS = (
    "tagged",
    "outstanding_visits",
    "active_orders_unmonitored",
    "people_in_custody",
    "offences",
    "cost_em_gbp",
)
# The band figure's daily flows: means over the days ending each day, the window a run's
# rates use (metrics.RATE_WINDOW_DAYS, 28).
FLOW_WINDOW = RATE_WINDOW_DAYS
QUANTILES = (0.1, 0.5, 0.9)


def long_table(timeseries: pd.DataFrame, *, run: int, seed: int) -> pd.DataFrame:
    """A run's time series as a long table: ``run``, ``seed``, ``date``, ``metric``,
    ``value``."""
    long = timeseries.melt(id_vars="date", var_name="metric", value_name="value")
    long.insert(0, "run", run)
    long.insert(1, "seed", seed)
    return long


def bands(long: pd.DataFrame, scale: float, metrics=None, *,
          per_england_and_wales: bool = True, flow_window: int = 1) -> pd.DataFrame:  # fmt: skip
    """Per day and metric of a long table (``run``, ``date``, ``metric``, ``value``):
    ``q10``, ``median``, ``q90`` over the runs (and ``runs``); counts divided by ``scale``
    unless ``per_england_and_wales`` is False; daily flows as each run's mean over the
    ``flow_window`` days ending that day."""
    from em_abm.errors import UserError
    from em_abm.metrics import per_england_and_wales as per_ew
    from em_abm.record import kind_of

    present = list(long["metric"].unique())  # in order of first appearance
    if metrics is not None:
        missing = [m for m in metrics if m not in present]
        if missing:
            shown = ", ".join(present[:8]) + (", ..." if len(present) > 8 else "")
            raise UserError(f"metrics: {missing[0]!r} is not in these runs' series; allowed: "
                            f"{shown}")  # fmt: skip
    df = long if metrics is None else long[long["metric"].isin(metrics)]
    if flow_window > 1:
        is_flow = {m: kind_of(m) == "flow" for m in df["metric"].unique()}  # once a metric
        flows = df["metric"].map(is_flow).to_numpy(dtype=bool)
        if flows.any():
            by_run = df.loc[flows].groupby(["run", "metric"], sort=False)["value"]
            rolled = by_run.transform(lambda v: v.rolling(flow_window, min_periods=1).mean())
            value = df["value"].to_numpy(dtype=float).copy()
            value[flows] = rolled.to_numpy()
            df = df.assign(value=value)
    g = df.groupby(["metric", "date"], sort=False)["value"]
    out = g.quantile(list(QUANTILES)).unstack()
    out.columns = ["q10", "median", "q90"]
    out["runs"] = g.size()
    out = out.reset_index()
    if per_england_and_wales:
        for m, rows in out.groupby("metric", sort=False).groups.items():
            cols = ["q10", "median", "q90"]
            out.loc[rows, cols] = per_ew(m, out.loc[rows, cols], scale)
    return out
