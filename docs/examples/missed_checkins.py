"""A new behaviour rule with its own per-order field: wearers who miss three check-ins
(a daily chance while their tag is fitted) become more likely to breach. The component
declares its field, which the model adds to its order table, and runs each day after the
behaviour stage."""

from typing import ClassVar

import numpy as np

from em_abm.component import Component
from em_abm.population import State


class MissedCheckins(Component):
    name = "missed_checkins"
    after = "behaviour"  # runs each day right after the wearers' behaviour
    order_fields: ClassVar[dict] = {"missed_checkins": np.int16}  # a new order-table column
    chance_per_day = 0.01
    propensity_factor = 1.5

    def setup(self):
        # A stream of its own, from the run's seed: the packaged streams are not disturbed.
        self.rng = np.random.default_rng([self.model.seed, 2024])
        self.escalated = 0

    def step(self, d):
        o = self.model.orders
        fitted = np.flatnonzero(o.view("state") == State.FITTED)
        missed = fitted[self.rng.random(len(fitted)) < self.chance_per_day]
        o.missed_checkins[missed] += 1
        third = missed[o.missed_checkins[missed] == 3]
        o.propensity[third] *= self.propensity_factor
        self.model.stages.behaviour.refresh_hazards(third)  # their daily hazards again
        self.escalated += len(third)


def main():
    from em_abm.model import EMModel

    model = EMModel("baseline_2026", rng=3, years=0.5, scale=0.1,
                    components={"missed_checkins": MissedCheckins})  # fmt: skip
    model.run()
    print(f"wearers with three missed check-ins: {model.stages.missed_checkins.escalated:,}")
    return model


if __name__ == "__main__":
    main()
