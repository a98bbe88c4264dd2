"""ProbationOfficer: responds to breaches by post-release, court-sentence and specials wearers."""

from __future__ import annotations

import mesa


class ProbationOfficer(mesa.Agent):
    """A probation practitioner's EM-related caseload in one probation region.

    The number of officers in a region is the EM caseload the region was staffed for,
    divided by the target caseload (about 36), times the staffed share of posts (1 minus the
    shortfall over the establishment). Officers respond to breach packs up to a daily rate;
    past the threshold caseload (about 50) each response takes longer and more decisions
    end in no further action. The model pools a region's officers; ``caseload`` reads the
    region's current figure.
    """

    def __init__(self, model: mesa.Model, region: int) -> None:
        super().__init__(model)
        self.region = region

    @property
    def caseload(self) -> float:
        return float(self.model.stages.responses.probation_caseload[self.region])
