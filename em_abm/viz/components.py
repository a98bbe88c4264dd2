"""The dashboard's panels, drawn with matplotlib into PNG bytes (:func:`draw`), and
:func:`OneLineErrors`, which shows an error in the page as one line, never as a traceback.

The panels are drawn where the runs are stepped (the play loop's thread), not while the page
renders, so the page only swaps images. Text is drawn with plain HTML elements, not
``solara.Markdown``: that one loads KaTeX, Mermaid and RequireJS in the browser, which
Solara's local copy of its front end (solara-assets) lacks (KaTeX), so the page would ask a
CDN for them or get a 404.
"""

from __future__ import annotations

import io
import sys
import traceback
from dataclasses import dataclass, field

import matplotlib
import numpy as np
import PIL.Image
import solara
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from em_abm.errors import UserError
from em_abm.metrics import BY_NAME, scale_label
from em_abm.params import COHORTS
from em_abm.plots import OKABE_ITO, PNG_META, SMOOTH_DAYS, TOLERABLE_BACKLOG
from em_abm.viz.dashboard import COLOUR_BY, Runs, nice_ceiling

matplotlib.use("Agg")

SERIES_DPI = 135  # 1,296 px wide: never enlarged where the page shows it (850-1,270 px)
MAP_DPI = 110
ARM_COLOURS = {"A": OKABE_ITO[0], "B": OKABE_ITO[5]}  # blue, vermillion


@dataclass
class Frame:
    """What the page shows for one moment of the runs."""

    day: int
    n_days: int
    date: str
    series_png: bytes
    map_png: bytes
    hotspots: list = field(default_factory=list)  # (left %, top %, title) per force area
    outcomes: list = field(default_factory=list)  # rows of the outcomes table (strings)
    header: list = field(default_factory=list)  # the outcomes table's column names
    draw_seconds: float = 0.0
    measure: str = ""  # what the map is coloured by
    map_fresh: bool = True  # the map was drawn for this frame (not kept from the last)


def _png(fig: Figure, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(
        buf, format="png", dpi=dpi, metadata=PNG_META, pil_kwargs={"compress_level": 1}
    )  # fast: the page is local
    return buf.getvalue()


def _trailing_mean(x: np.ndarray, days: int) -> np.ndarray:
    """The mean over the last ``days`` days (fewer at the start) along the last axis."""
    c = np.cumsum(x, axis=-1)
    out = c.copy()
    out[..., days:] = c[..., days:] - c[..., :-days]
    n = np.minimum(np.arange(1, x.shape[-1] + 1), days)
    return out / n


def _tick(x: float, _pos=None) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 or float(x).is_integer() else f"{x:g}"


_PROTECTION = dict(BY_NAME["public_protection"].parts)  # as declared (em_abm/metrics.py)
PANELS = (  # (title, unit, columns summed, daily flow drawn as a 7-day mean)
    ("Tagged people", "people", ("tagged",), False),
    ("Outstanding field visits", "visits", ("outstanding_visits",), False),
    ("Notifications awaiting a response", "notifications", (
        "notifications_awaiting_response",), False),
    ("Unmonitored person-days", "person-days per day",
     _PROTECTION["unmonitored_person_days"], True),
    ("Serious breaches not acted on in 24 h", "breaches per day",
     _PROTECTION["serious_breaches_unanswered_24h"], True),
    ("People followed who are in custody", "people", ("people_in_custody",), False),
)  # fmt: skip


class SeriesPanels:
    """The six time-series panels of one :class:`Runs`: each arm's median over its seeds,
    with their range as a band. The figure is made once; each frame updates its data and
    draws only them over the axes, ticks and labels (drawn again only when a y-range
    changes: drawing text is most of the cost of a full draw)."""

    def __init__(self, runs: Runs):
        self.runs = runs
        fig = self.fig = Figure(figsize=(9.6, 6.4), dpi=SERIES_DPI)
        self.canvas = FigureCanvasAgg(fig)
        self.background, self.limits = None, None
        fig.subplots_adjust(left=0.075, right=0.99, bottom=0.06, top=0.8, wspace=0.3,
                            hspace=0.42)  # fmt: skip
        seeds = len(runs.seeds)
        fig.suptitle(
            f"{scale_label(runs.scale, equivalent=True)}; " + (
                f"median of {seeds} seeds, band: their range" if seeds > 1
                else f"seed {runs.seeds[0]}"),
            fontsize=10, y=0.985,
        )  # fmt: skip
        self.axes = fig.subplots(2, 3, sharex=True)
        self.stack = len(runs.arms) == 1  # tagged people by cohort, one policy only
        self.lines, self.bands = {}, {}
        locator = mdates.MonthLocator(bymonth=(1, 7))
        for ax, (title, unit, _, smooth) in zip(self.axes.flat, PANELS, strict=True):
            ax.set_title(title, fontsize=9.5)
            ax.set_ylabel(unit + (f" ({SMOOTH_DAYS}-day mean)" if smooth else ""), fontsize=8.5)
            ax.tick_params(labelsize=8.5)
            ax.grid(alpha=0.3, lw=0.5)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_tick))
            ax.set_xlim(np.datetime64(runs.start_date), np.datetime64(runs.last_date))
            ax.set_ylim(0, 1)
            for arm in runs.arms:
                (self.lines[ax, arm],) = ax.plot([], [], color=ARM_COLOURS[arm], lw=1.2,
                                                 animated=True)  # fmt: skip
        self.tolerable = self.axes[0, 1].axhline(TOLERABLE_BACKLOG, color=OKABE_ITO[7], ls="--",
                                                 lw=1, animated=True)  # fmt: skip
        handles, labels = [], []
        if self.stack:
            for i, c in enumerate(COHORTS):
                handles.append(Patch(color=OKABE_ITO[i], alpha=0.85))
                labels.append(f"tagged: {c.replace('_', ' ')}")
        for arm in runs.arms:
            handles.append(Line2D([], [], color=ARM_COLOURS[arm], lw=1.6))
            labels.append(f"{arm}: {runs.description(arm)}"[:95])
        handles.append(Line2D([], [], color=OKABE_ITO[7], ls="--", lw=1))
        labels.append(f"HMPPS's tolerable level ({TOLERABLE_BACKLOG:,.0f} visits)")
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.955),
                   ncol=3 if self.stack else 1, fontsize=8.5, frameon=False)  # fmt: skip

    def update(self) -> Figure:
        runs = self.runs
        x = runs.dates()
        for ax, (_, _, columns, smooth) in zip(self.axes.flat, PANELS, strict=True):
            for artist in self.bands.pop(ax, []):
                artist.remove()
            added = self.bands[ax] = []
            values = sum(runs.series(c) for c in columns)
            if values.shape[-1] == 0:
                continue
            if smooth:
                values = _trailing_mean(values, SMOOTH_DAYS)
            top = values.max()
            if columns == ("tagged",) and self.stack:
                stack = [np.median(runs.series(f"tagged.{c}")[0], axis=0) for c in COHORTS]
                added.extend(ax.stackplot(x, stack, colors=OKABE_ITO[: len(COHORTS)],
                                          alpha=0.85))  # fmt: skip
                self.lines[ax, "A"].set_data([], [])
            else:
                for k, arm in enumerate(runs.arms):
                    v = values[k]
                    if v.shape[0] > 1:
                        added.append(
                            ax.fill_between(
                                x,
                                v.min(axis=0),
                                v.max(axis=0),
                                color=ARM_COLOURS[arm],
                                alpha=0.25,
                                lw=0,
                            )
                        )
                    self.lines[ax, arm].set_data(x, np.median(v, axis=0))  # fmt: skip
            if columns == ("outstanding_visits",):
                top = max(top, TOLERABLE_BACKLOG)
            ax.set_ylim(0, nice_ceiling(top * 1.05) if top > 0 else 1)
        for artists in self.bands.values():
            for artist in artists:
                artist.set_animated(True)
        return self.fig

    def png(self) -> bytes:
        """The panels as they stand (after :meth:`update`), as PNG."""
        limits = tuple(ax.get_ylim() for ax in self.axes.flat)
        if self.background is None or limits != self.limits:
            self.canvas.draw()  # all but the data (animated artists are left out)
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)
            self.limits = limits
        else:
            self.canvas.restore_region(self.background)
        for ax in self.axes.flat:
            for artist in self.bands.get(ax, []):
                ax.draw_artist(artist)
            for arm in self.runs.arms:
                ax.draw_artist(self.lines[ax, arm])
        self.axes[0, 1].draw_artist(self.tolerable)
        width, height = self.canvas.get_width_height()
        image = PIL.Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw",
                                     "RGBA", 0, 1)  # fmt: skip
        buf = io.BytesIO()
        image.save(buf, format="png", compress_level=1)
        return buf.getvalue()


def map_figure(runs: Runs, measure: str) -> tuple[Figure, list]:
    """Arm A's force areas at their centroids (mean over its seeds): size by tagged people,
    colour by ``measure`` on a scale fixed for the run. Returns the figure and, per area,
    its position in the image (percent from the left and the top) and a title for hovering."""
    first = runs.first
    geo = first.geography
    g = geo.graph
    lon = np.array([g.nodes[a]["lon"] for a in geo.areas])
    lat = np.array([g.nodes[a]["lat"] for a in geo.areas])
    index = {a: i for i, a in enumerate(geo.areas)}
    counts = runs.by_area()
    values = counts[COLOUR_BY[measure]]
    tagged = counts["tagged"]
    fig = Figure(figsize=(5.4, 6.4))
    ax = fig.add_axes((0.02, 0.2, 0.8, 0.72))
    cax = fig.add_axes((0.85, 0.3, 0.035, 0.5))
    segments = [((lon[index[a]], lat[index[a]]), (lon[index[b]], lat[index[b]]))
                for a, b in g.edges]  # fmt: skip
    ax.add_collection(LineCollection(segments, colors="#bbbbbb", linewidths=0.6, zorder=1))

    def size(n):
        return 10 + 500 * np.asarray(n, dtype=float) / runs.tagged_max

    norm = Normalize(0, runs.colour_max[measure])
    points = ax.scatter(lon, lat, s=size(tagged), c=values, cmap="cividis", norm=norm,
                        edgecolors="black", linewidths=0.4, zorder=2)  # fmt: skip
    fig.colorbar(points, cax=cax, extend="max").set_label(
        f"{measure} (scale fixed for the run)", fontsize=8
    )
    cax.tick_params(labelsize=8)
    ax.set_aspect(1.6)
    ax.set_axis_off()
    ax.set_title(f"{runs.date}: force areas (policy A)", fontsize=9)
    key = [runs.tagged_max / 4, runs.tagged_max / 2, runs.tagged_max]
    ax.legend(
        [Line2D([], [], ls="", marker="o", markersize=np.sqrt(size(k)), markerfacecolor="white",
                markeredgecolor="black") for k in key],
        [f"{k:,.0f}" for k in key], title="tagged people (size)", loc="upper center",
        bbox_to_anchor=(0.5, -0.02), ncol=3, fontsize=8, title_fontsize=8, frameon=False,
    )  # fmt: skip
    fig.text(0.02, 0.015, scale_label(runs.scale, equivalent=True), fontsize=7, wrap=True)
    ax.apply_aspect()  # where the points will be drawn (the aspect moves the axes)
    xy = ax.transData.transform(np.column_stack([lon, lat]))
    w, h = fig.get_figwidth() * fig.dpi, fig.get_figheight() * fig.dpi
    hotspots = [
        (100 * px / w, 100 * (1 - py / h),
         f"{name}: {t:,.0f} tagged, {v:,.0f} {measure}")
        for (px, py), name, t, v in zip(xy, runs.names, tagged, values, strict=True)
    ]  # fmt: skip
    return fig, hotspots


def _number(x: float, unit: str) -> str:
    if unit in ("per 100", "GBP million"):
        return f"{x:,.1f}"
    return f"{x:,.0f}"


def outcome_rows(runs: Runs) -> tuple[list[str], list[list[str]]]:
    """The outcomes table: per outcome, each arm's mean over its seeds (with their range when
    there are several) and, in a comparison, B - A on the same seeds."""
    header = ["outcome, since the scenario start", "unit", *runs.arms]
    if len(runs.arms) == 2:
        header.append("B - A (same seeds)")
    rows = []
    for label, unit, values in runs.outcomes():
        row = [label, unit]
        for k in range(len(runs.arms)):
            v = values[k]
            cell = _number(v.mean(), unit)
            if len(v) > 1:
                cell += f" ({_number(v.min(), unit)} to {_number(v.max(), unit)})"
            row.append(cell)
        if len(runs.arms) == 2:
            d = values[1] - values[0]
            cell = f"{'+' if d.mean() > 0 else ''}{_number(d.mean(), unit)}"
            if len(d) > 1:
                cell += f" ({_number(d.min(), unit)} to {_number(d.max(), unit)})"
            row.append(cell)
        rows.append(row)
    return header, rows


def draw(runs: Runs, measure: str, previous: Frame | None = None) -> Frame:
    """The page's panels for the runs as they stand. Given the ``previous`` frame (while
    playing), the map is kept from it when it was drawn for a day since the last map: the map
    is redrawn every other frame, the time series every frame."""
    import time

    t0 = time.perf_counter()
    with runs.lock:
        if runs.panels is None:
            runs.panels = SeriesPanels(runs)
        panels = runs.panels
        panels.update()
        series = panels.png()
        if previous is not None and previous.map_fresh and previous.measure == measure:
            map_png, hotspots, fresh = previous.map_png, previous.hotspots, False
        else:
            fig, hotspots = map_figure(runs, measure)
            map_png, fresh = _png(fig, MAP_DPI), True
        header, rows = outcome_rows(runs)
    return Frame(day=runs.day, n_days=runs.n_days, date=str(runs.date), series_png=series,
                 map_png=map_png, hotspots=hotspots, outcomes=rows, header=header,
                 draw_seconds=time.perf_counter() - t0, measure=measure,
                 map_fresh=fresh)  # fmt: skip


def one_line(error: BaseException) -> str:
    """An error as the page shows it: a :class:`UserError`'s line, or else the exception's
    type and first line, at most 300 characters (its traceback goes to the server's log)."""
    if isinstance(error, UserError):
        line = str(error)
    else:
        line = f"{type(error).__name__}: {str(error).strip()}".rstrip(": ")
    line = line.splitlines()[0] if line else type(error).__name__
    return line if len(line) <= 300 else line[:297] + "..."


def log(error: BaseException) -> None:
    """An unexpected error's traceback, to the server's log (never to the page)."""
    if not isinstance(error, UserError):
        traceback.print_exception(error, file=sys.stderr)


@solara.component
def OneLineErrors(children=()):
    """``children``, or, once any of them raised while drawing, that error as one line and a
    button that starts them afresh.

    Without this, Solara replaces the whole page with the Python traceback."""
    error, clear = solara.use_exception()

    def report():
        if error is not None:
            log(error)

    solara.use_effect(report, [error])
    if error is None:
        return children[0] if len(children) == 1 else solara.Column(children=list(children))
    with solara.Column(style={"padding": "24px"}) as main:
        solara.Error(one_line(error))
        with solara.Row():
            solara.Button("Back to the dashboard", on_click=clear, color="primary")
    return main
