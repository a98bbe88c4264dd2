"""A faster police response: replace the responses stage with a subclass whose police forces
can make twice the responses a day. Nothing in em_abm/ is edited."""

import em_abm
from em_abm.stages.responses import Responses


class FasterPolice(Responses):
    """The responses stage with police capacity doubled."""

    def on_params(self):
        super().on_params()  # the packaged tables, from the parameters
        self.police_capacity = 2.0 * self.police_capacity  # responses a day, by force area


def main():
    args = dict(scenario="baseline_2026", seed=3, years=0.5, scale=0.1)
    base = em_abm.run(**args)
    fast = em_abm.run(**args, components={"responses": FasterPolice})
    key = "notifications_unanswered"
    print(f"{key}: {base.summary[key]:,.0f} -> {fast.summary[key]:,.0f}")
    return base, fast


if __name__ == "__main__":
    main()
