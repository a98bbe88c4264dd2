"""A faster police response: the police force's capacity rule, doubled. The rule lives with
its agent type (PoliceForce.capacity, vectorised over every force); the responses stage takes
its responders' types from `responder_types`, so a subclass of the stage swaps one in.
Nothing in em_abm/ is edited."""

import em_abm
from em_abm.agents import HomeOffice, PoliceForce, ProbationOfficer
from em_abm.model import EMModel
from em_abm.stages.responses import Responses


class FasterPolice(PoliceForce):
    """Police forces that can make twice the breach responses a day."""

    @classmethod
    def capacity(cls, p, scale, *, population):
        return 2.0 * super().capacity(p, scale, population=population)


class WithFasterPolice(Responses):
    responder_types = (ProbationOfficer, FasterPolice, HomeOffice)


class FasterPoliceModel(EMModel):
    """The whole model with the faster police: what a sweep or `--model` can name."""

    def __init__(self, *args, components=None, **kwargs):
        components = {"responses": WithFasterPolice, **(components or {})}
        super().__init__(*args, components=components, **kwargs)


def main():
    args = dict(scenario="baseline_2026", seed=3, years=0.5, scale=0.1)
    base = em_abm.run(**args)
    fast = em_abm.run(**args, components={"responses": WithFasterPolice})
    key = "notifications_unanswered"
    print(f"{key}: {base.summary[key]:,.0f} -> {fast.summary[key]:,.0f}")
    return base, fast


if __name__ == "__main__":
    main()
