"""The Solara app ``em-abm dashboard`` serves (``solara run em_abm/viz/app.py``).

Each browser session gets its own runs (:class:`~em_abm.viz.dashboard.Runs`), built when the
page first opens and dropped with the session. The scenario it opens with comes from the
environment variable ``EM_ABM_SCENARIO``; the scenario control offers it and the packaged
ones, and nothing else is accepted.

Solara's telemetry and CDN are turned off first (:mod:`em_abm.viz.offline`), so that running
this file with ``solara run`` directly is as private as ``em-abm dashboard``, except for the
version check, which ``solara run`` makes before it reads this file: add
``--no-check-version``.
"""

from em_abm.viz.offline import keep_offline

keep_offline()  # before Solara is imported here, or (under `solara run`) before it serves

import copy  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import solara  # noqa: E402

from em_abm.errors import UserError, WindowWarning  # noqa: E402
from em_abm.metrics import scale_label  # noqa: E402
from em_abm.viz.components import OneLineErrors, draw, log, one_line  # noqa: E402
from em_abm.viz.dashboard import (  # noqa: E402
    COLOUR_BY,
    RUN_KEYS,
    SESSION_CONTROLS,
    DashboardModel,
    Runs,
    check_controls,
    check_settings,
    default_settings,
)

SCENARIO = os.environ.get("EM_ABM_SCENARIO", "baseline_2026")
# Shown on the page (each run's window_note), not written to the log for every run built.
warnings.filterwarnings("ignore", category=WindowWarning)
Model = DashboardModel.offering(SCENARIO)
TITLE = "em-abm: electronic monitoring in England and Wales"
# Each slider's label on a line of its own, so that every track has the same length and its
# value (shown above the thumb) does not cover the label.
CSS = """
.em-slider .v-input__slot { flex-wrap: wrap; }
.em-slider .v-input__slot > .v-label { flex: 0 0 100%; max-width: 100%; height: auto;
  margin-bottom: 30px; white-space: normal; }
.em-slider .v-input { margin-top: 4px; }
"""
PENDING = (
    "Settings changed: press Reset to run them from the scenario start (the run on screen "
    "still uses the previous settings)."
)
FRAME_SECONDS = 0.25  # at most four frames a second: room for the browser to draw each


@solara.component
def Control(spec: dict, value, on_value, prefix: str = ""):
    """One control's widget, its value always shown."""
    label = prefix + spec["label"]
    kind = spec["type"]
    if kind == "Select":
        solara.Select(label=label, values=spec["values"], value=value, on_value=on_value)
    elif kind == "Checkbox":
        solara.Checkbox(label=label, value=value, on_value=on_value)
    else:
        slider = solara.SliderInt if kind == "SliderInt" else solara.SliderFloat
        with solara.Column(gap="0px", classes=["em-slider"]):
            slider(label, value=value, min=spec["min"], max=spec["max"], step=spec["step"],
                   on_value=on_value, thumb_label="always")  # fmt: skip


def _html(tag: str, children=(), **kwargs):
    return solara.v.Html(tag=tag, children=list(children), **kwargs)


@solara.component
def OutcomesTable(frame):
    cell = "padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: right"
    first = "padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left"
    head = _html("tr", [_html("th", [h], style_=first if i == 0 else cell)
                        for i, h in enumerate(frame.header)])  # fmt: skip
    rows = [_html("tr", [_html("td", [c], style_=first if i == 0 else cell)
                         for i, c in enumerate(row)]) for row in frame.outcomes]  # fmt: skip
    _html(
        "table",
        [_html("thead", [head]), _html("tbody", rows)],
        style_="border-collapse: collapse; font-size: 13px; width: 100%",
        class_="outcomes",
    )


@solara.component
def ForceAreaMap(frame, detail: bool = True):
    """The map image with, over each force area, a spot that names it on hover (with its
    counts when ``detail``: while playing, the names alone, which need no update)."""
    with solara.v.Html(tag="div", style_="position: relative; width: 100%; max-width: 600px"):
        solara.Image(frame.map_png, width="100%")
        for x, y, title in frame.hotspots:
            title = title if detail else title.split(":")[0]
            _html("div", attributes={"title": title}, class_="area-spot",
                  style_=f"position: absolute; left: {x:.2f}%; top: {y:.2f}%; width: 22px; "
                         "height: 22px; transform: translate(-50%, -50%); border-radius: 50%; "
                         "cursor: help")  # fmt: skip


@solara.component
def Page():
    initial = solara.use_memo(lambda: default_settings(Model), [])
    pending = solara.use_reactive(initial)  # as the controls stand
    applied = solara.use_reactive(initial)  # as the runs on screen were built
    good = solara.use_reactive(initial)  # as the last runs that could be built
    generation = solara.use_reactive(0)
    problem = solara.use_reactive("")
    runs = solara.use_reactive(None)
    frame = solara.use_reactive(None)
    playing = solara.use_reactive(False)
    building = solara.use_reactive("Warming up...")
    measure = solara.use_reactive(next(iter(COLOUR_BY)))
    solara.Title(TITLE)
    solara.Style(CSS)

    def shown_measure() -> str:
        return measure.value if measure.value in COLOUR_BY else next(iter(COLOUR_BY))

    def days_per_frame() -> int:
        check_controls({"days_per_frame": pending.value["days_per_frame"]}, SESSION_CONTROLS)
        return int(pending.value["days_per_frame"])

    def build():
        mine = generation.value
        runs.set(None)
        frame.set(None)
        try:
            made = Runs(applied.value, Model,
                        progress=lambda done, total: building.set(
                            f"Warming up: run {done + 1} of {total}..."))  # fmt: skip
            drawn = draw(made, shown_measure())
        except Exception as error:  # shown as one line; the traceback goes to the log
            log(error)
            problem.set(one_line(error))
            return
        if generation.value == mine:  # not overtaken by a later Reset while warming up
            good.set(copy.deepcopy(applied.value))
            runs.set(made)
            frame.set(drawn)

    solara.lab.use_task(build, dependencies=[generation.value], prefer_threaded=True)

    def play():
        r = runs.value
        if not playing.value or r is None:
            return
        me = object()
        r.player = me
        try:
            while playing.value and not r.ended and r.player is me and runs.value is r:
                t0 = time.perf_counter()
                r.step(days_per_frame())
                frame.set(draw(r, shown_measure(), previous=frame.value))
                time.sleep(max(0.02, FRAME_SECONDS - (time.perf_counter() - t0)))
        except Exception as error:
            log(error)
            problem.set(one_line(error))
        if runs.value is r and frame.value is not None and not frame.value.map_fresh:
            frame.set(draw(r, shown_measure()))  # paused or at the end: the map of today
        if r.ended and runs.value is r:
            playing.set(False)

    solara.lab.use_task(play, dependencies=[playing.value, runs.value], prefer_threaded=True)

    def redraw():
        if runs.value is not None and not playing.value:
            frame.set(draw(runs.value, shown_measure()))

    solara.use_effect(redraw, [measure.value])

    def step():
        if runs.value is None or runs.value.ended:
            return
        try:
            runs.value.step(days_per_frame())
        except UserError as error:
            problem.set(str(error))
            return
        frame.set(draw(runs.value, shown_measure()))

    def reset():
        playing.set(False)
        try:
            check_settings(pending.value, Model)
        except UserError as error:
            problem.set(str(error))
            return
        applied.set(copy.deepcopy(pending.value))
        building.set("Warming up...")
        generation.set(generation.value + 1)

    def back():
        if runs.value is None:  # the runs could not be built: the last ones that could
            applied.set(copy.deepcopy(good.value))
            generation.set(generation.value + 1)
        pending.set(copy.deepcopy(applied.value))  # the refused value is dropped
        problem.set("")

    def setter(key, arm=None):
        def on_value(value):
            new = copy.deepcopy(pending.value)
            (new[arm] if arm else new)[key] = value
            pending.set(new)

        return on_value

    if problem.value:
        with solara.Column(style={"padding": "24px"}):
            solara.Error(problem.value)
            solara.Button("Back to the dashboard", on_click=back, color="primary")
        return

    settings = pending.value
    with solara.Sidebar():
        solara.v.Html(tag="h4", children=["Run"])
        for key in RUN_KEYS:
            Control(Model.controls[key], settings[key], setter(key))
        for key in ("replicates", "compare", "days_per_frame"):
            Control(SESSION_CONTROLS[key], settings[key], setter(key))
        for arm in ("A", "B") if settings["compare"] is True else ("A",):
            solara.v.Html(tag="h4", children=[f"Policy {arm}"], style_="margin-top: 16px")
            prefix = "B: " if arm == "B" else ""
            for key, spec in Model.controls.items():
                if key not in RUN_KEYS:
                    Control(spec, settings[arm][key], setter(key, arm), prefix=prefix)

    r = runs.value
    with solara.Column(style={"padding": "8px 16px", "max-width": "1300px"}):
        # In a column of its own, so that the notice coming and going leaves the buttons
        # below as they are (a click on Reset sent just before the notice must still land).
        with solara.Column():
            if changed(settings, applied.value):
                solara.Warning(PENDING)
        with solara.Row(style={"align-items": "center"}):
            solara.Button(
                "❚❚ Pause" if playing.value else "▶ Play",
                on_click=lambda: playing.set(not playing.value),
                disabled=r is None or r.ended, color="primary",
            )  # fmt: skip
            solara.Button(f"Step ({days_per_frame_label(settings)})", on_click=step,
                          disabled=r is None or r.ended or playing.value)  # fmt: skip
            solara.Button("Reset", on_click=reset)
            Status(runs, frame, building)
        Board(runs, frame, measure, playing.value)


@solara.component
def Status(runs, frame, building):
    r, f = runs.value, frame.value
    if r is None or f is None:
        text = [building.value]
    elif f.day < 0:
        text = [_html("b", [f"{r.start_date}"]),
                f": ready at the scenario start, warm-up done ({len(r.arms)} policy x "
                f"{len(r.seeds)} seed runs). Press ▶ Play or Step."]  # fmt: skip
    else:
        text = [_html("b", [f.date]), f": day {f.day + 1:,} of {f.n_days:,}"
                + (" (the end of the run)" if f.day >= f.n_days - 1 else "")]  # fmt: skip
    _html("span", text, class_="status", style_="margin-left: 12px")


@solara.component
def Board(runs, frame, measure, playing: bool):
    """Everything that changes with each frame: a component of its own, so that a new frame
    redraws only this (not the controls)."""
    r, f = runs.value, frame.value
    if r is None or f is None:
        solara.ProgressLinear(True)
        return
    scale = r.scale
    if scale < 1:
        solara.Warning(
            f"Queues at scale {scale:g} are not England and Wales: a smaller system queues "
            "more, so its outstanding visits, waits and unanswered breaches are longer "
            "than at scale 1. Counts are England-and-Wales equivalents (divided by "
            f"{scale:g}); rates and shares hold at any scale."
        )
    notes = {m.window_note for ms in r.models.values() for m in ms if m.window_note}
    for note in sorted(notes):
        solara.Info(note.removeprefix("em-abm: warning: "), dense=True)
    OutcomesTable(f)
    people = r.first.stages.people  # whose follow-up windows start in the first year
    complete = r.first.date_of(people.entry_end + people.followup_days - 1)
    _html("p", [
        f"Each person is followed for {people.followup_days} days from their first order: "
        f"until {complete}, offences per 100 count only the part of those days seen so far. "
        f"{r.start_date} to {r.last_date}; {scale_label(scale, equivalent=True)}."
    ], style_="font-size: 12px; color: #444; margin: 4px 0 8px 0")  # fmt: skip
    solara.Image(f.series_png, width="100%")
    with solara.Row(style={"align-items": "flex-start", "flex-wrap": "wrap"}):
        with solara.Column(style={"flex": "1 1 420px", "max-width": "600px"}):
            solara.ToggleButtonsSingle(value=measure, values=list(COLOUR_BY))
            ForceAreaMap(f, detail=not playing)
        with solara.Column(style={"flex": "1 1 300px"}):
            solara.v.Html(tag="h4", children=["Export"])
            solara.FileDownload(lambda: r.table().to_csv(index=False).encode(),
                                filename="em-abm-series.csv", label="Series (CSV)",
                                mime_type="text/csv")  # fmt: skip
            solara.FileDownload(f.series_png, filename="em-abm-panels.png",
                                label="Panels (PNG)", mime_type="image/png")  # fmt: skip
            solara.FileDownload(f.map_png, filename="em-abm-map.png", label="Map (PNG)",
                                mime_type="image/png")  # fmt: skip
            _html("p", [
                "The CSV holds every metric of every run so far (arm, scenario, seed, "
                "date), counts as England-and-Wales equivalents. Levers and capacities act "
                "from the scenario start; the warm-up runs under the scenario as it stands."
            ], style_="font-size: 13px; color: #444")  # fmt: skip


def changed(settings: dict, applied: dict) -> bool:
    """Whether a setting that needs Reset differs (days per frame applies at once)."""
    return {**settings, "days_per_frame": None} != {**applied, "days_per_frame": None}


def days_per_frame_label(settings: dict) -> str:
    n = settings.get("days_per_frame")
    return f"{n} days" if isinstance(n, int) and not isinstance(n, bool) and n != 1 else "1 day"


@solara.component
def Layout(children=()):
    """Solara's usual page layout inside :func:`OneLineErrors`."""
    return OneLineErrors(children=[solara.AppLayout(children=children, title=TITLE)])
