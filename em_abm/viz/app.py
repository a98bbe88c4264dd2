"""The Solara app ``em-abm dashboard`` serves (``solara run em_abm/viz/app.py``).

The scenario it opens with comes from the environment variable ``EM_ABM_SCENARIO``.
"""

import os

import solara
from mesa.visualization import SolaraViz

from em_abm.viz.components import ForceAreaMap, TimeSeries
from em_abm.viz.dashboard import DashboardModel, model_params

SCENARIO = os.environ.get("EM_ABM_SCENARIO", "baseline_2026")
model = solara.reactive(DashboardModel(scenario_name=SCENARIO))

page = SolaraViz(
    model,
    components=[(TimeSeries, 0), (ForceAreaMap, 0)],
    model_params=model_params(SCENARIO),
    name="em-abm: electronic monitoring in England and Wales",
    play_interval=250,  # ms between days: room for the browser to draw each one
)
