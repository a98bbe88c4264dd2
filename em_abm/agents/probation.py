"""ProbationOfficer: responds to breaches by post-release, court-sentence and specials wearers."""

from __future__ import annotations

import mesa
import numpy as np

from em_abm.agents.responder import Responder


class ProbationOfficer(Responder):
    """A probation practitioner's EM-related caseload in one probation region.

    The number of officers in a region is the EM caseload the region was staffed for,
    divided by the target caseload (about 36), times the staffed share of posts (1 minus the
    shortfall over the establishment). Officers respond to breach packs up to a daily rate;
    past the threshold caseload (about 50) each response takes longer and more decisions
    end in no further action. The model pools a region's officers; ``caseload`` reads the
    region's current figure.
    """

    responder = "probation"

    @classmethod
    def capacity(
        cls, p: dict, scale: float, *, officers: np.ndarray, caseload: np.ndarray
    ) -> np.ndarray:
        """Breach responses probation can make a day, by region: its ``officers`` times their
        daily rate, slowed in proportion once the ``caseload`` per officer passes the
        threshold (``scale`` is already in the number of officers)."""
        threshold = p["probation.caseload_threshold"]
        speed = np.minimum(1.0, threshold / np.maximum(caseload, 1e-9))
        return (
            officers.astype(float)
            * p["probation.responses_per_officer_day"]
            * speed
            * p["probation.capacity_multiplier"]
        )

    @classmethod
    def staffed(cls, p: dict, cases: float) -> int:
        """Officers the service has for EM ``cases``: the cases over the target caseload,
        times the staffed share of posts (1 minus the shortfall over the establishment)."""
        share = max(0.0, 1.0 - p["probation.shortfall_fte"] / p["probation.establishment_fte"])
        return round(cases / p["probation.target_caseload"] * share)

    def __init__(self, model: mesa.Model, region: int) -> None:
        super().__init__(model)
        self.region = region

    @property
    def caseload(self) -> float:
        return float(self.model.stages.responses.probation_caseload[self.region])
