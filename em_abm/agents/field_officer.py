"""FieldOfficer: fits, checks and removes tags at wearers' addresses (stages 3, 5, 8)."""

from __future__ import annotations

import mesa


class FieldOfficer(mesa.Agent):
    """A field officer of the monitoring supplier, based at a probation region's hub.

    Officers work a rota (``days_per_week`` shifts a week, staggered by ``rota_offset`` so
    that every day is covered). The model pools the hours of the officers on shift in a
    region, takes visits from the region's queue until those hours are spent, and hands the
    hours out to officers in turn, so no officer works more than a shift. ``hours_today``
    and ``visits_capacity_hours`` read the model's arrays.
    """

    def __init__(
        self, model: mesa.Model, index: int, region: int, base_area: int, rota_offset: int
    ):
        super().__init__(model)
        self.index = index
        self.region = region
        self.base_area = base_area
        self.rota_offset = rota_offset

    def on_shift(self, day: int, days_per_week: int) -> bool:
        return (day + self.rota_offset) % 7 < days_per_week

    @property
    def hours_today(self) -> float:
        return float(self.model.officer_hours_used[self.index])

    @property
    def hours_available_today(self) -> float:
        return float(self.model.officer_hours_available[self.index])
