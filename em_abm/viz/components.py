"""The dashboard's panels: Solara components drawing the model with matplotlib, and
:func:`OneLineErrors`, which shows an error in the page as one line, never as a traceback.

Text is drawn with plain HTML elements, not ``solara.Markdown``: that one loads KaTeX, Mermaid
and RequireJS in the browser, which Solara's local copy of its front end (solara-assets) lacks
(KaTeX), so the page would ask a CDN for them or get a 404.
"""

from __future__ import annotations

import sys
import traceback

import matplotlib
import numpy as np
import solara
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from mesa.visualization.utils import update_counter

from em_abm.errors import UserError
from em_abm.metrics import COLUMN_INDEX, scale_label
from em_abm.params import COHORTS
from em_abm.plots import OKABE_ITO
from em_abm.viz.dashboard import COLOUR_BY, TOLERABLE_BACKLOG

matplotlib.use("Agg")

colour_by = solara.reactive(next(iter(COLOUR_BY)))


def _positions(model) -> tuple[np.ndarray, np.ndarray]:
    g = model.geography.graph
    lon = np.array([g.nodes[a]["lon"] for a in model.geography.areas])
    lat = np.array([g.nodes[a]["lat"] for a in model.geography.areas])
    return lon, lat


def map_figure(model, measure: str) -> Figure:
    """Force areas at their centroids: size by tagged people, colour by ``measure``."""
    geo = model.geography
    lon, lat = _positions(model)
    index = {a: i for i, a in enumerate(geo.areas)}
    counts = model.by_area()
    values = counts[COLOUR_BY[measure]]
    fig = Figure(figsize=(5.2, 6.0))
    fig.subplots_adjust(left=0.14, right=0.98, bottom=0.08, top=0.94)
    ax = fig.subplots()
    segments = [((lon[index[a]], lat[index[a]]), (lon[index[b]], lat[index[b]]))
                for a, b in geo.graph.edges]  # fmt: skip
    ax.add_collection(LineCollection(segments, colors="#bbbbbb", linewidths=0.6, zorder=1))
    tagged = counts["tagged"]
    size = 20 + 600 * tagged / max(tagged.max(), 1)
    vmax = max(values.max(), 1)
    points = ax.scatter(lon, lat, s=size, c=values, cmap="cividis", vmin=0, vmax=vmax,
                        edgecolors="black", linewidths=0.4, zorder=2)  # fmt: skip
    fig.colorbar(points, ax=ax, shrink=0.6, pad=0.02, label=f"{measure} (count)")
    ax.set_xlabel("longitude (degrees)")
    ax.set_ylabel("latitude (degrees)")
    ax.set_aspect(1.6)
    ax.set_title(f"{model.start_date + _days(model)}: force areas sized by tagged people",
                 fontsize=9)  # fmt: skip
    return fig


def _days(model):
    import datetime as dt

    return dt.timedelta(days=max(model.day, 0))


@solara.component
def ForceAreaMap(model):
    update_counter.get()
    with solara.Column():
        solara.ToggleButtonsSingle(value=colour_by, values=list(COLOUR_BY))
        solara.FigureMatplotlib(map_figure(model, colour_by.value), format="png", dpi=90)


def series_figure(model) -> Figure:
    """Tagged by cohort, outstanding visits, notifications and outcomes, daily costs."""
    rows = model.recorded()
    ix = COLUMN_INDEX
    days = np.arange(len(rows))
    fig = Figure(figsize=(9.0, 6.2))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.09, top=0.91, wspace=0.25, hspace=0.2)
    fig.suptitle(scale_label(model.scale), fontsize=9)
    axes = fig.subplots(2, 2, sharex=True)
    ax = axes[0, 0]
    if len(rows):
        ax.stackplot(days, [rows[:, ix[f"tagged.{c}"]] for c in COHORTS],
                     labels=[c.replace("_", " ") for c in COHORTS],
                     colors=OKABE_ITO[: len(COHORTS)], alpha=0.85)  # fmt: skip
        ax.legend(loc="lower left", fontsize=7, ncol=2)
    ax.set_title("Tagged people by cohort", fontsize=9)
    ax.set_ylabel("people")

    ax = axes[0, 1]
    ax.plot(days, rows[:, ix["outstanding_visits"]], color="black", lw=1.2, label="outstanding")
    ax.axhline(TOLERABLE_BACKLOG * model.scale, color=OKABE_ITO[5], ls="--", lw=1,
               label="tolerable level (400 x scale)")  # fmt: skip
    ax.set_title("Outstanding field visits", fontsize=9)
    ax.set_ylabel("visits")
    ax.legend(fontsize=7, loc="upper left")

    notifications = (
        ("breach_notifications", "sent"),
        ("responses", "answered"),
        ("responses.nfa", "answered: no further action"),
        ("notifications_unanswered", "left unanswered"),
        ("notifications_awaiting_response", "awaiting a response"),
    )
    _lines(axes[1, 0], days, rows, notifications, "Breach notifications and outcomes",
           "notifications (per day; awaiting: stock)")  # fmt: skip
    costs = (
        ("cost_em_gbp", "EM service"),
        ("cost_probation_gbp", "probation"),
        ("cost_police_gbp", "police"),
        ("cost_custody_gbp", "custody"),
    )
    _lines(axes[1, 1], days, rows / 1e3, costs, "Daily costs", "GBP thousand per day")
    for a in axes.flat:
        a.grid(alpha=0.3, lw=0.5)
    return fig


def _lines(ax, days, rows, series, title: str, ylabel: str) -> None:
    """One line per (metric column, label) of ``series``, in the Okabe-Ito colours."""
    for k, (col, label) in enumerate(series):
        ax.plot(days, rows[:, COLUMN_INDEX[col]], color=OKABE_ITO[k], lw=1, label=label)
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("days since the scenario start")
    ax.legend(fontsize=7, loc="upper left")


@solara.component
def TimeSeries(model):
    """Today's headline numbers over the time-series panels."""
    update_counter.get()
    with solara.Column():
        _status(model)
        solara.FigureMatplotlib(series_figure(model), format="png", dpi=80)


def _status(model):
    rows = model.recorded()
    ix = COLUMN_INDEX
    if len(rows):
        last = rows[-1]
        head = f"Day {model.day + 1} of {model.n_days}"
        text = (
            f" ({model.scenario_def.name}; {scale_label(model.scale)}): "
            f"{last[ix['tagged']]:,.0f} tagged, "
            f"{last[ix['outstanding_visits']]:,.0f} visits outstanding, "
            f"{last[ix['notifications_awaiting_response']]:,.0f} notifications awaiting a "
            "response."
        )
    else:
        head = model.scenario_def.name
        text = f" ({scale_label(model.scale)}): press ▶ or Step."
    solara.v.Html(tag="p", children=[solara.v.Html(tag="b", children=[head]), text])


def one_line(error: BaseException) -> str:
    """An error as the page shows it: a :class:`UserError`'s line, or else the exception's
    type and first line, at most 300 characters (its traceback goes to the server's log)."""
    if isinstance(error, UserError):
        line = str(error)
    else:
        line = f"{type(error).__name__}: {str(error).strip()}".rstrip(": ")
    line = line.splitlines()[0] if line else type(error).__name__
    return line if len(line) <= 300 else line[:297] + "..."


@solara.component
def OneLineErrors(children=()):
    """``children``, or, once any of them raised (a control's value refused on Reset, a panel
    failing to draw), that error as one line and a button that starts them afresh.

    Without this, Solara replaces the whole page with the Python traceback."""
    error, clear = solara.use_exception()

    def log():
        if error is not None and not isinstance(error, UserError):
            traceback.print_exception(error, file=sys.stderr)

    solara.use_effect(log, [error])
    if error is None:
        return children[0] if len(children) == 1 else solara.Column(children=list(children))
    with solara.Column(style={"padding": "24px"}) as main:
        solara.Error(one_line(error))
        with solara.Row():
            solara.Button("Back to the dashboard", on_click=clear, color="primary")
    return main
