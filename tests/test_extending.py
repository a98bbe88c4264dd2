"""The worked examples of docs/extending.md, run from docs/examples/ (outside the package):
a replaced stage, a registered policy and an added component with its own per-order field."""

import runpy
from pathlib import Path

import numpy as np
import pytest

from em_abm.errors import UserError

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def _example(name: str) -> dict:
    return runpy.run_path(str(EXAMPLES / f"{name}.py"))


@pytest.mark.parametrize("name", ["faster_police", "longest_order_first", "missed_checkins"])
def test_each_example_is_quoted_whole_in_the_guide(name):
    guide = (EXAMPLES.parent / "extending.md").read_text(encoding="utf-8")
    assert (EXAMPLES / f"{name}.py").read_text(encoding="utf-8").strip() in guide


def test_a_replaced_responses_stage_answers_more_bail_breaches():
    base, fast = _example("faster_police")["main"]()
    assert fast.summary["notifications_unanswered"] < base.summary["notifications_unanswered"]
    assert fast.metadata["components"]["responses"].endswith(":WithFasterPolice")
    assert base.metadata["components"]["responses"] == "em_abm.stages.responses:Responses"


def test_a_registered_visit_policy_is_a_value_of_its_parameter():
    from em_abm import params as P

    fcfs, longest = _example("longest_order_first")["main"]()
    assert "longest_order_first" in P.PARAMS["policy.visit_queue"].choices
    assert longest.params["policy.visit_queue"] == "longest_order_first"
    assert not longest.timeseries.equals(fcfs.timeseries)  # the order of visits mattered

    # Arrivals from outside do not depend on the policy (common random numbers).
    def exogenous(r):
        return r.timeseries["orders_received"] - r.timeseries["orders_endogenous"]

    np.testing.assert_array_equal(exogenous(longest), exogenous(fcfs))


def test_an_added_component_owns_its_field_and_runs_after_its_stage():
    from em_abm.model import EMModel

    module = _example("missed_checkins")
    model = module["main"]()
    names = list(model.stages)
    assert names.index("missed_checkins") == names.index("behaviour") + 1
    assert model.stages.missed_checkins.escalated > 0
    assert "missed_checkins" in model.orders.fields
    # With the invariants checked every day, and a new order in a reused slot starts at zero.
    m = EMModel(rng=1, years=0.2, scale=0.05, check_invariants=True,
                components={"missed_checkins": module["MissedCheckins"]})  # fmt: skip
    m.run()
    o = m.orders
    slot = int(o.allocate(1)[0])
    assert o.missed_checkins[slot] == 0


def test_a_component_that_is_not_one_or_has_no_place_is_refused():
    import em_abm
    from em_abm.component import Component

    with pytest.raises(UserError, match=r"components\.x: got"):
        em_abm.run(years=0.02, scale=0.01, components={"x": int})

    class Nowhere(Component):
        name = "nowhere"

    with pytest.raises(UserError, match="names the one it follows"):
        em_abm.run(years=0.02, scale=0.01, components={"nowhere": Nowhere})


def test_every_policy_parameters_choices_are_its_registry():
    from em_abm import params as P
    from em_abm import policies

    for _base, registry, param in policies.KINDS.values():
        assert set(P.PARAMS[param].choices) == set(registry), param


def test_a_registered_decision_rule_changes_what_responders_decide():
    import em_abm
    from em_abm.params import OUTCOMES
    from em_abm.policies import ResponseRule, register

    @register
    class NeverNoFurtherAction(ResponseRule):
        """Responders always act: the no-further-action share goes to warnings."""

        name = "never_nfa"

        def outcome_probs(self, model, table):
            out = table.copy()
            nfa, warning = OUTCOMES.index("nfa"), OUTCOMES.index("warning")
            out[..., warning] += out[..., nfa]
            out[..., nfa] = 0.0
            return out

    args = dict(seed=2, years=0.3, scale=0.05)
    base = em_abm.run(**args)
    acting = em_abm.run(**args, overrides={"policy.response_rule": "never_nfa"})
    nfa = [r.summary["responses_by_outcome"]["nfa"] for r in (base, acting)]
    assert nfa[1] < nfa[0] / 10  # left: probation past its caseload threshold (its own rule)

    @register
    class Broken(ResponseRule):
        name = "broken_rule"

        def outcome_probs(self, model, table):
            return table * 2

    with pytest.raises(UserError, match="not probabilities"):
        em_abm.run(**args, overrides={"policy.response_rule": "broken_rule"})
