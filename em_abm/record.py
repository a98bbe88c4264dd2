"""The model's record: its time series, read by day, and as a Mesa ``DataCollector``.

:func:`build_timeseries` makes a run's time series from the model's daily record (the
recorded stocks and flows, then rates derived from them); :class:`Record` (a base of
``EMModel``) reads it by metric and day (:meth:`Record.value`, :meth:`Record.frame`).

:class:`MetricCollector` is a :class:`mesa.DataCollector` whose model reporters are the
declared metrics (:mod:`em_abm.metrics`): every recorded column (stocks and flows of the
day) and every derived rate, plus ``date``. ``EMModel`` carries one as
``model.datacollector`` and collects it once per simulated day after the warm-up, so that
Mesa's tools work on the model unchanged::

    model = EMModel("baseline_2026", rng=1, years=1, scale=0.1)
    model.run_model()                                   # Mesa's loop; stops at the horizon
    df = model.datacollector.get_model_vars_dataframe()  # one row per day, a date column

    mesa.batch_run(EMModel, parameters={"scale": 0.05, "field.officers": [400, 500]},
                   rng=[1, 2], max_steps=2000, data_collection_period=1)

Collecting costs one list append a day: the values are the model's own record
(``model.series``), read into Mesa's ``model_vars`` table only when someone asks for it, so
the collector adds no Python call per metric per day. A rate on a day is the ratio over the
:data:`~em_abm.metrics.RATE_WINDOW_DAYS` days ending that day, as in a run's time series.

Mesa's time and the model's days: each Mesa step simulates one day. The first
``model.warmup`` steps are the warm-up (days ``-warmup`` to ``-1``, not recorded); step
``warmup + 1`` simulates day 0, the scenario's start date. The collector's ``k``-th row is
day ``k`` (``model.date_of(k)``), collected at Mesa time ``warmup + 1 + k``.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import mesa
import numpy as np
import pandas as pd

from em_abm.errors import UserError
from em_abm.kernels.record import RecordColumns, RecordOrders, record_orders
from em_abm.metrics import COLUMN_INDEX, COLUMNS, METRICS, RATE_WINDOW_DAYS, keys_of
from em_abm.params import COHORTS, TAGS
from em_abm.population import NoticeState, State, Visit

# Where record_orders writes the day's stocks of orders (kernels.record_orders).
_STATE_COLUMNS = {
    State.REWORK: "orders_in_rework",
    State.AWAITING_FIT: "orders_awaiting_fit",
    State.ESCALATED: "orders_escalated",
    State.AWAITING_REMOVAL: "orders_awaiting_removal",
}
_RECORD_COLUMNS = RecordColumns(
    np.array([COLUMN_INDEX[_STATE_COLUMNS[s]] if s in _STATE_COLUMNS else -1 for s in State]),
    COLUMN_INDEX["tagged"],
    np.array([COLUMN_INDEX[f"tagged.{c}"] for c in COHORTS]),
    np.array([COLUMN_INDEX[f"tagged.{t}"] for t in TAGS]),
    COLUMN_INDEX["active_orders"],
    COLUMN_INDEX["active_orders_without_tag"],
    np.array(
        [COLUMN_INDEX["outstanding_visits"]]
        + [COLUMN_INDEX[f"outstanding_visits.{v.name.lower()}"] for v in list(Visit)[1:]]
    ),
)


def series_columns() -> list[str]:
    """Every column of a run's time series after ``date``: the recorded stocks and flows,
    then the derived rates."""
    return [*COLUMNS, *(name for m in METRICS if m.kind == "rate" for name, _, _ in
                        rate_columns(m))]  # fmt: skip


def build_timeseries(model, days: int | None = None) -> pd.DataFrame:
    """The model's recorded columns plus derived rates, one row per day (the first ``days``
    days; by default the whole run)."""
    n = model.n_days if days is None else days
    data = {"date": pd.date_range(model.start_date, periods=n, freq="D")}
    for c in COLUMNS:
        data[c] = model.series[:n, COLUMN_INDEX[c]]
    df = pd.DataFrame(data)
    rates = {}
    for m in METRICS:
        if m.kind != "rate":
            continue
        for name, n_col, d_col in rate_columns(m):
            num, den = df[n_col], df[d_col]
            if kind_of(m.num) == "flow":
                num = num.rolling(RATE_WINDOW_DAYS, min_periods=1).sum()
                den = den.rolling(RATE_WINDOW_DAYS, min_periods=1).sum()
            rates[name] = (num / den.where(den > 0)).ffill().bfill().fillna(0.0) * m.factor
    return pd.concat([df, pd.DataFrame(rates)], axis=1)


def rate_columns(m) -> list[tuple[str, str, str]]:
    """(series column, numerator column, denominator column) of a rate metric: one, or one
    per key of its ``by``."""
    if not m.by:
        return [(m.name, m.num, m.den)]
    return [(f"{m.name}.{k}", f"{m.num}.{k}", f"{m.den}.{k}") for k in keys_of(m)]


def kind_of(column: str) -> str:
    """The kind of the metric a series column belongs to (``stock``, ``flow``, ``rate``...;
    empty for a column no metric declares)."""
    base = column.split(".")[0]
    return next((m.kind for m in METRICS if m.name == base), "")


class Record:
    """The model's record (a base of :class:`~em_abm.model.EMModel`): writing the day's row,
    and reading it: the Mesa steps of a run, the current date, one metric on one day, the
    series so far."""

    def _record(self, d: int) -> None:
        o, s = self.orders, self.stages
        row = self.series[d]
        row[:] = self._flow
        record_orders(o.n, o.views(RecordOrders), d, row, _RECORD_COLUMNS)
        ix = COLUMN_INDEX
        supplier = s.supply.supplier
        row[ix["devices_in_stock"]] = supplier.stock.sum()
        row[ix["devices_delivered"]] = supplier.delivered_today
        row[ix["cost_em_gbp"]] = row[ix["tagged"]] * self.p["cost.per_tagged_year_gbp"] / 365.0
        row[ix["active_orders_unmonitored"]] = s.behaviour.unmonitored_today
        row[ix["alerts_awaiting_review"]] = s.monitoring.centre.waiting
        row[ix["notifications_awaiting_response"]] = np.count_nonzero(
            self.notices.view("state") == NoticeState.AWAITING_RESPONSE
        )
        row[ix["probation_caseload"]] = s.responses.mean_probation_caseload
        people = s.people
        row[ix["people_followed"]] = people.people_entered - people.people_left
        row[ix["people_in_custody"]] = people.in_custody
        row[ix["people_on_order"]] = people.on_order

    @property
    def total_steps(self) -> int:
        """Mesa steps from the start of warm-up to the horizon (``warmup + n_days``)."""
        return self.warmup + self.n_days

    @property
    def date(self) -> dt.date | None:
        """The date of the last simulated day (``None`` during the warm-up)."""
        return self.date_of(self.day) if self.day >= 0 else None

    # ------------------------------------------------------------------ reading the record
    def value(self, metric: str, day: int | dt.date | str | None = None) -> float:
        """``metric``'s value on ``day`` (a day number from the scenario start, a date or an
        ISO date string; by default the last recorded day): a recorded stock or flow, or a
        derived rate (:mod:`em_abm.metrics`)."""
        from em_abm.errors import check_known

        if not isinstance(metric, str):
            raise UserError(f"metric: got {metric!r}; allowed: a metric's name (`em-abm metrics`)")
        d = self._recorded_day(day)
        i = COLUMN_INDEX.get(metric)
        if i is not None:
            return float(self.series[d, i])
        check_known(metric, series_columns(), where="metric", what="metric",
                    allowed="a time-series column (`em-abm metrics`)")  # fmt: skip
        return float(self._series_frame(d + 1)[metric].iloc[d])

    def frame(self, days: int | None = None) -> pd.DataFrame:
        """The record of the first ``days`` recorded days (by default all so far) as a new
        DataFrame: ``date`` and every metric, indexed by day (a run's time series)."""
        n = self.day + 1 if days is None else int(days)
        return self._series_frame(n).copy()

    def _series_frame(self, n: int) -> pd.DataFrame:
        """The first ``n`` recorded days' series, built once per ``n`` (read-only: shared)."""
        n = max(0, min(n, self.day + 1, self.n_days))
        if self._frame[0] != n:
            self._frame = (n, build_timeseries(self, days=n))
        return self._frame[1]

    def _recorded_day(self, day) -> int:
        given = day
        if isinstance(day, str):
            try:
                day = dt.date.fromisoformat(day)
            except ValueError:
                raise UserError(f"day: got {day!r}; allowed: a day number or a date "
                                "(YYYY-MM-DD)") from None  # fmt: skip
        if isinstance(day, np.datetime64):
            day = pd.Timestamp(day)
        if isinstance(day, dt.datetime):  # pandas Timestamps too (a frame's date column)
            day = day.date()
        last = min(self.day, self.n_days - 1)
        if isinstance(day, dt.date):
            day = (day - self.start_date).days
        if day is None:
            day = last
        if isinstance(day, bool) or not isinstance(day, int | np.integer) or not 0 <= day <= last:
            allowed = (
                f"a day from 0 to {last} or a date from {self.start_date} to {self.date_of(last)}"
                if last >= 0 else "none yet (still warming up)"
            )  # fmt: skip
            raise UserError(f"day: got {given!r}; allowed: {allowed}")
        return int(day)


def _today(column: str, model) -> float:
    """A reporter: ``column``'s value on the model's current day."""
    return model.value(column)


class MetricCollector(mesa.DataCollector):
    """A Mesa ``DataCollector`` over the model's declared metrics (see the module
    docstring). ``collect`` notes the day; ``model_vars`` reads the record."""

    def __init__(self, model) -> None:
        self._model = model
        self._cache: tuple[int, dict[str, list]] = (-1, {})
        names = ["date", *series_columns()]
        super().__init__(model_reporters={n: partial(_today, n) for n in names})

    # Mesa's constructor sets model_vars to empty lists, one per reporter; the values come
    # from the model's record instead, so assignments are ignored.
    @property
    def model_vars(self) -> dict[str, list]:
        n = len(self._collection_steps)
        if self._cache[0] != n:
            if n == 0:  # (Mesa's constructor asks, once per reporter: no frame to build)
                self._cache = (0, {name: [] for name in self.model_reporters})
            else:
                frame = self._model._series_frame(n)
                self._cache = (n, {c: frame[c].tolist() for c in frame.columns})
        return self._cache[1]

    @model_vars.setter
    def model_vars(self, value) -> None:
        pass

    def collect(self, model) -> None:
        """Note that the model's current day is recorded (once a day, after the warm-up)."""
        if model is not self._model:
            raise ValueError("a MetricCollector collects the model it was made for")
        if model.day == len(self._collection_steps):  # the next day, not one seen before
            self._collection_steps.append(model.time)

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        """One row per recorded day: ``date`` and every metric (indexed by day; a new
        frame each call, as Mesa's)."""
        return self._model.frame(days=len(self._collection_steps))
