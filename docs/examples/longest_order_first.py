"""A new order of field visits: orders with the longest time to run go first. Registering
the policy makes it a value of `policy.visit_queue` in this process, like the packaged ones."""

import em_abm
from em_abm.policies import VisitPolicy, register


@register
class LongestOrderFirst(VisitPolicy):
    """Visits for the orders with the most days left first (then first come, first served
    through the model's tie-break)."""

    name = "longest_order_first"

    def key(self, model, slots):
        o = model.orders  # the order table: one numpy array per field, indexed by slot
        return -(o.end_day[slots] - model.day).astype(float)


def main():
    args = dict(scenario="baseline_2026", seed=3, years=0.5, scale=0.1)
    short = {"field.officers": 300}  # a field force short enough for the order to matter
    fcfs = em_abm.run(**args, overrides=short)
    longest = em_abm.run(**args, overrides={**short, "policy.visit_queue": "longest_order_first"})
    key = "unmonitored_days"
    print(f"{key}: fcfs {fcfs.summary[key]:,.0f}, longest first {longest.summary[key]:,.0f}")
    return fcfs, longest


if __name__ == "__main__":
    main()
