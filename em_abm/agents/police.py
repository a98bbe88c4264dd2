"""PoliceForce: one per force area; responds to court-bail breaches."""

from __future__ import annotations

import mesa
import numpy as np

from em_abm.agents.responder import Responder


class PoliceForce(Responder):
    """A territorial police force. Its daily capacity for EM breach responses is in
    proportion to the population it polices; bail-breach notifications it cannot reach in
    time lapse and are counted unanswered."""

    responder = "police"

    @classmethod
    def capacity(cls, p: dict, scale: float, *, population: np.ndarray) -> np.ndarray:
        """Responses a day of each force: ``police.responses_per_100k_day`` per 100,000
        residents (``population``, by force area), times the capacity multiplier."""
        return (
            population
            / 1e5
            * p["police.responses_per_100k_day"]
            * p["police.capacity_multiplier"]
            * scale
        )

    def __init__(self, model: mesa.Model, area: int, name: str, population: int) -> None:
        super().__init__(model)
        self.area = area
        self.name = name
        self.population = population

    def __repr__(self) -> str:
        return f"PoliceForce({self.name})"
