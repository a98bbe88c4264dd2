"""Responder: the base of the agencies that act on breach packs (stage 7).

Probation (:class:`~em_abm.agents.probation.ProbationOfficer`, pooled by region), the police
(:class:`~em_abm.agents.police.PoliceForce`, one per force area) and the Home Office
(:class:`~em_abm.agents.agencies.HomeOffice`, national) each answer for some cohorts' breach
packs. Each type's rules are class methods vectorised over all its agents (array in, array
out; no Python call per agent per day), which the responses stage
(:mod:`em_abm.stages.responses`) calls:

* :meth:`Responder.capacity`: responses each of its desks can make per day;
* :meth:`Responder.expiry_days`: days after which a pack it has not acted on lapses.

Which outcome a response has is drawn from the responder's outcome table
(``response.<responder>.*``); a subclass can change the capacity or the expiry of a type and
be passed to the model with the responses stage (see ``docs/extending.md``).
"""

from __future__ import annotations

import mesa
import numpy as np


class Responder(mesa.Agent):
    """An agency that acts on breach packs; see the module docstring."""

    responder = ""  # its name in params.RESPONDERS and the ``response.<name>.*`` tables

    @classmethod
    def capacity(cls, p: dict, scale: float, **state) -> np.ndarray:  # pragma: no cover
        """Responses per day of each of this type's desks."""
        raise NotImplementedError

    @classmethod
    def expiry_days(cls, p: dict) -> float:
        """Days after which a pack this type has not acted on lapses."""
        return p[f"{cls.responder}.expiry_days"]
