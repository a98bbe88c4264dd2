"""FieldOfficer: fits, checks and removes tags at wearers' addresses (stages 3, 5, 8)."""

from __future__ import annotations

import mesa


class FieldOfficer(mesa.Agent):
    """A field officer of the monitoring supplier, based at a probation region's hub.

    Officers work ``days_per_week`` shifts a week on a rota that covers every day alike, so
    each day an officer contributes that share of a shift (times availability, and times
    ``fte`` where a region's share of the workforce is not a whole number of officers). The
    model pools a region's hours, takes visits from the region's queue until they are spent,
    and hands the hours out to officers in turn, so no officer works more than their share;
    a visit that does not fit in what is left of today's hours is started tomorrow with them.
    ``hours_today`` and ``hours_available_today`` read the model's arrays.
    """

    @classmethod
    def hours_per_day(cls, p: dict) -> float:
        """Hours a full-time officer gives each day: the rota averaged over the week (every
        day is covered by the same share of the workforce), at the expected availability and
        the capacity multiplier."""
        return (
            p["field.shift_hours"]
            * p["field.days_per_week"]
            / 7.0
            * p["field.availability"]
            * p["field.capacity_multiplier"]
        )

    def __init__(self, model: mesa.Model, index: int, region: int, base_area: int, fte: float):
        super().__init__(model)
        self.index = index
        self.region = region
        self.base_area = base_area
        self.fte = fte

    @property
    def hours_today(self) -> float:
        return float(self.model.stages.field.officer_hours_used[self.index])

    @property
    def hours_available_today(self) -> float:
        return float(self.model.stages.field.officer_hours_available[self.index])
