"""The Solara app ``em-abm dashboard`` serves (``solara run em_abm/viz/app.py``).

The scenario it opens with comes from the environment variable ``EM_ABM_SCENARIO``; the
scenario control offers it and the packaged ones, and the model refuses anything else.

Solara's telemetry and CDN are turned off first (:mod:`em_abm.viz.offline`), so that running
this file with ``solara run`` directly is as private as ``em-abm dashboard``, except for the
version check, which ``solara run`` makes before it reads this file: add
``--no-check-version``.
"""

from em_abm.viz.offline import keep_offline

keep_offline()  # before Solara is imported here, or (under `solara run`) before it serves

import os  # noqa: E402

import solara  # noqa: E402
from mesa.visualization import SolaraViz  # noqa: E402

from em_abm.viz.components import ForceAreaMap, OneLineErrors, TimeSeries  # noqa: E402
from em_abm.viz.dashboard import DashboardModel  # noqa: E402

SCENARIO = os.environ.get("EM_ABM_SCENARIO", "baseline_2026")
Model = DashboardModel.offering(SCENARIO)


@solara.component
def Dashboard():
    """SolaraViz on a model of this browser session's own: a model made at import would be
    shared by every session (one visitor's Step would move another's run)."""
    model = solara.use_memo(lambda: Model(scenario_name=SCENARIO), [])
    SolaraViz(
        model,
        components=[(TimeSeries, 0), (ForceAreaMap, 0)],
        model_params=Model.controls,
        name="em-abm: electronic monitoring in England and Wales",
        play_interval=250,  # ms between days: room for the browser to draw each one
    )


@solara.component
def Page():
    """The page Solara serves, inside :func:`Layout`."""
    Dashboard()


@solara.component
def Layout(children=()):
    """Solara's usual page layout inside :func:`OneLineErrors`. That boundary must enclose the
    layout, not just the page: SolaraViz's controls (Reset among them) are drawn in the
    layout's sidebar, so their errors reach the layout, not the page."""
    return OneLineErrors(children=[solara.AppLayout(children=children)])
