"""The dashboard: the model day by day in the browser (Mesa ``SolaraViz``).

``em-abm dashboard [SCENARIO] [--port P]`` serves :func:`page` with Solara. It shows

* a map of the 43 police force areas (nodes at their centroids, edges between neighbours),
  each sized by its tagged population and coloured by outstanding field visits or by breach
  notifications awaiting a response (switchable);
* time series: tagged people by cohort, outstanding visits against HMPPS's tolerable level
  of 400 (times the scale), breach notifications and their outcomes, and daily costs;
* controls for the scenario, the scale, the seed, the visit, alert and response policies and
  the capacity of the field force, the monitoring centre, probation and the police, with
  SolaraViz's play, step and reset.

The model starts at the scenario's start date (its warm-up is run when it is created) and
stops at the end of the horizon.

The browser can send any value for a control over the page's websocket: a select's list and a
slider's range hold only in the page. So the model checks its keywords against what the page
offers (:func:`check_controls`) before it reads anything, and a scenario is only ever one of
the packaged names or the one the dashboard was started with, never another path.
"""

from __future__ import annotations

import numpy as np

from em_abm import params as P
from em_abm.errors import UserError
from em_abm.model import EMModel
from em_abm.population import NoticeState, State
from em_abm.scenario import available

# Outstanding visits HMPPS tolerates, for all of England and Wales (its source in params.py).
TOLERABLE_BACKLOG = P.PARAMS["contingency.visit_threshold"].default
COLOUR_BY = {
    "outstanding visits": "visits",
    "notifications awaiting a response": "notices",
}


def model_params(scenario: str) -> dict:
    """SolaraViz's controls: each a model keyword with its widget, and what the model accepts
    for it (:func:`check_controls`)."""

    def choice(name: str, label: str) -> dict:
        p = P.PARAMS[name]
        return {"type": "Select", "value": p.default, "values": list(p.choices), "label": label}

    def capacity(label: str) -> dict:
        return {"type": "SliderFloat", "value": 1.0, "min": 0.2, "max": 2.0, "step": 0.05,
                "label": label}  # fmt: skip

    return {
        "scenario_name": {
            "type": "Select",
            "value": scenario,
            "values": list(available()) + ([] if scenario in available() else [scenario]),
            "label": "scenario",
        },
        "scale": {
            "type": "SliderFloat",
            "value": 1.0,  # England and Wales: queues are scale artefacts below it (README)
            "min": 0.02,
            "max": 1.0,
            "step": 0.02,
            "label": "scale (share of England and Wales)",
        },
        "seed": {
            "type": "SliderInt",
            "value": 1,
            "min": 1,
            "max": 100,
            "step": 1,
            "label": "seed",
        },
        "visit_queue": choice("policy.visit_queue", "field visits: order"),
        "alert_triage": choice("policy.alert_triage", "alert triage"),
        "response_queue": choice("policy.response_queue", "breach responses: order"),
        "field_capacity": capacity("field officers' capacity (x plan)"),
        "monitoring_capacity": capacity("monitoring centre's capacity (x plan)"),
        "probation_capacity": capacity("probation's capacity (x plan)"),
        "police_capacity": capacity("police capacity (x plan)"),
    }


def check_controls(values: dict, controls: dict) -> None:
    """Refuse, as one :class:`UserError` line, a value that no widget of ``controls``
    (:func:`model_params`) offers: a select's value must be one of its choices, a slider's a
    finite number within its range (a whole number for ``SliderInt``). Nothing else is done
    with the values first, so a refused scenario is never looked up on disk."""
    for name, value in values.items():
        spec = controls[name]
        if spec["type"] == "Select":
            if isinstance(value, str) and value in spec["values"]:
                continue
            allowed = ", ".join(spec["values"])
        else:
            lo, hi, whole = spec["min"], spec["max"], spec["type"] == "SliderInt"
            real = int | float | np.integer | np.floating
            number = isinstance(value, real) and not isinstance(value, bool)
            if number and lo <= value <= hi and (not whole or float(value).is_integer()):
                continue
            allowed = f"{'a whole number' if whole else 'a number'} from {lo:g} to {hi:g}"
        shown = repr(value) if len(repr(value)) <= 200 else repr(value)[:197] + "..."
        raise UserError(f"{spec['label']}: got {shown}; allowed: {allowed}")


class DashboardModel(EMModel):
    """:class:`EMModel` with the dashboard's controls as keyword arguments, started at the
    scenario's start (warm-up done), stopping at the end of ``years``.

    The controls' values are checked against :attr:`controls` (the packaged scenarios only);
    :meth:`offering` makes the class the dashboard rebuilds on Reset, which also offers the
    scenario it was started with.
    """

    controls: dict = model_params("baseline_2026")

    @classmethod
    def offering(cls, scenario: str) -> type[DashboardModel]:
        """This class, offering the packaged scenarios and ``scenario`` (a name or the path
        of the file the dashboard was started with)."""
        return type(cls.__name__, (cls,), {"controls": model_params(scenario)})

    def __init__(
        self,
        scenario_name: str = "baseline_2026",
        scale: float = 1.0,
        seed: int = 1,
        years: float = 3.0,
        visit_queue: str = P.PARAMS["policy.visit_queue"].default,
        alert_triage: str = P.PARAMS["policy.alert_triage"].default,
        response_queue: str = P.PARAMS["policy.response_queue"].default,
        field_capacity: float = 1.0,
        monitoring_capacity: float = 1.0,
        probation_capacity: float = 1.0,
        police_capacity: float = 1.0,
    ) -> None:
        check_controls({k: v for k, v in locals().items() if k in self.controls}, self.controls)
        overrides = {
            "policy.visit_queue": visit_queue,
            "policy.alert_triage": alert_triage,
            "policy.response_queue": response_queue,
            "field.capacity_multiplier": float(field_capacity),
            "monitoring.capacity_multiplier": float(monitoring_capacity),
            "probation.capacity_multiplier": float(probation_capacity),
            "police.capacity_multiplier": float(police_capacity),
        }
        super().__init__(scenario_name, rng=int(seed), years=years, scale=scale,
                         overrides=overrides)  # fmt: skip
        for _ in range(self.warmup):
            self.step()

    def step(self) -> None:
        """One day; past the last one, an error, so that a long run of steps (a render interval
        sent over the websocket is not bounded either) stops at the horizon."""
        if self.day >= self.n_days - 1:
            raise UserError(f"the run ended on day {self.n_days}; press Reset to start again")
        super().step()
        if self.day >= self.n_days - 1:
            self.running = False

    # ---------------------------------------------------------------- what the panels show
    def recorded(self) -> np.ndarray:
        """The daily metrics rows recorded so far (days since the scenario start)."""
        return self.series[: max(self.day + 1, 0)]

    def by_area(self) -> dict[str, np.ndarray]:
        """Today's tagged people, outstanding visits and notifications awaiting a response,
        per force area."""
        o, nt = self.orders, self.notices
        n_areas = len(self.geography.areas)
        state, area = o.view("state"), o.view("area")
        due = (o.view("visit") != 0) & (o.view("ready_day") <= self.day)
        waiting = nt.view("state") == NoticeState.AWAITING_RESPONSE
        return {
            "tagged": np.bincount(area[state == State.FITTED], minlength=n_areas),
            "visits": np.bincount(area[due], minlength=n_areas),
            "notices": np.bincount(nt.view("area")[waiting], minlength=n_areas),
        }
