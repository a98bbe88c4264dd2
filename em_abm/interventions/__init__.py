"""Pilots and interventions, one component each (see :mod:`em_abm.component`): fitting at
source, victim proximity and automated scheduling (:mod:`~em_abm.interventions.pilots`),
rationing who is tagged (:mod:`~em_abm.interventions.rationing`) and the escalation and
contingency thresholds (:mod:`~em_abm.interventions.contingency`)."""

from em_abm.interventions import contingency, pilots, rationing  # noqa: F401 (registers them)
