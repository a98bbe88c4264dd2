"""PoliceForce: one per force area; responds to court-bail breaches."""

from __future__ import annotations

import mesa


class PoliceForce(mesa.Agent):
    """A territorial police force. Its daily capacity for EM breach responses is in
    proportion to the population it polices; bail-breach notifications it cannot reach in
    time lapse and are counted unanswered."""

    def __init__(self, model: mesa.Model, area: int, name: str, population: int) -> None:
        super().__init__(model)
        self.area = area
        self.name = name
        self.population = population

    def __repr__(self) -> str:
        return f"PoliceForce({self.name})"
