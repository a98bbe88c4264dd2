"""The EMA Workbench adapter (em_abm.ema): em-abm driven through ``perform_experiments``,
its outcomes those of ``em_abm.run``, seeds paired across policies, and PRIM on the results."""

from __future__ import annotations

import logging
import types
import warnings

import numpy as np
import pytest

import em_abm
from em_abm import ema
from em_abm import params as P
from em_abm.compare import flatten, seeds_for
from em_abm.errors import UserError
from em_abm.metrics import summary_keys

ROOT = 7
YEARS, SCALE = 0.25, 0.02
CONSTANTS = {"time.warmup_days": 30}
UNCERTAINTIES = [
    ("field.officers", 50, 800),
    ("orders.error_rate", 0.1, 0.3),
    "contingency.enabled",
]
LEVERS = {"policy.visit_queue": {"values": ["fcfs", "risk_first"]}}
OUTCOMES = ["outstanding_visits", "cost_total_gbp.total", "unmonitored_share"]
QUEUES = ("fcfs", "risk_first")
ew = ema.ew  # ema_workbench, imported by the adapter without its ipyparallel warning


def small_model(**kw):
    args = dict(uncertainties=UNCERTAINTIES, levers=LEVERS, outcomes=OUTCOMES, years=YEARS,
                scale=SCALE, constants=CONSTANTS, replications=2, root_seed=ROOT)  # fmt: skip
    return ema.model(**{**args, **kw})


@pytest.fixture(scope="module")
def experiments():
    """4 scenarios x 2 policies x 2 replications through EMA, every em_abm.run call recorded."""
    calls = []
    real = em_abm.run

    def spy(scenario, **kw):
        calls.append(kw)
        return real(scenario, **kw)

    policies = [ew.Sample(name=q, policy__visit_queue=q) for q in QUEUES]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(em_abm, "run", spy)
        with ew.SequentialEvaluator(small_model()) as evaluator:
            exp, out = evaluator.perform_experiments(
                scenarios=4, policies=policies, uncertainty_sampling_kwargs={"rng": 1}
            )
    return exp, out, calls


def test_the_experiments_table_has_identifiers_that_map_back_to_dotted_names(experiments):
    exp, out, _ = experiments
    names = ["field.officers", "orders.error_rate", "contingency.enabled", "policy.visit_queue"]
    assert list(exp.columns[:4]) == [ema.to_identifier(n) for n in names]
    assert all(c.isidentifier() for c in exp.columns)
    assert list(ema.dotted_names(exp).columns[:4]) == names
    assert sorted(ema.dotted_names(out)) == sorted(OUTCOMES)
    assert len(exp) == 8 and sorted(set(exp["policy"])) == list(QUEUES)
    assert exp["field__officers"].dtype.kind == "i"


def test_outcomes_are_those_of_em_abm_run_per_england_and_wales(experiments):
    exp, out, _ = experiments
    seeds = seeds_for(ROOT, 2)
    exp = ema.dotted_names(exp)
    for i, row in exp.iterrows():
        values = {
            "field.officers": int(row["field.officers"]),
            "orders.error_rate": float(row["orders.error_rate"]),
            "contingency.enabled": bool(row["contingency.enabled"]),
            "policy.visit_queue": str(row["policy.visit_queue"]),
        }
        for r, seed in enumerate(seeds):
            res = em_abm.run("baseline_2026", seed=seed, years=YEARS, scale=SCALE,
                             overrides={**CONSTANTS, **values})  # fmt: skip
            flat = flatten(res.summary)
            # Counts and money per England and Wales (times 1 / scale, as sweeps do, to the
            # last bit); a share as it is.
            assert out["outstanding_visits"][i, r] == flat["outstanding_visits"] * (1 / SCALE)
            assert out["cost_total_gbp__total"][i, r] == flat["cost_total_gbp.total"] * (1 / SCALE)
            assert out["unmonitored_share"][i, r] == flat["unmonitored_share"]


def test_replication_r_uses_seed_r_in_every_scenario_and_policy(experiments):
    exp, out, calls = experiments
    assert len(calls) == len(exp) * 2
    seeds = seeds_for(ROOT, 2)
    assert [c["seed"] for c in calls] == seeds * len(exp)
    assert seeds[0] == seeds_for(ROOT, 1)[0]  # more replications keep the first ones
    # Paired: the same conditions under the two policies differ only by the policy.
    by_policy = {q: [c for c in calls if c["overrides"]["policy.visit_queue"] == q] for q in QUEUES}
    strip = [
        [({k: v for k, v in c["overrides"].items() if k != "policy.visit_queue"}, c["seed"])
         for c in by_policy[q]]
        for q in QUEUES
    ]  # fmt: skip
    assert strip[0] == strip[1]
    # The replications differ (the seeds do something).
    assert not np.array_equal(out["outstanding_visits"][:, 0], out["outstanding_visits"][:, 1])


def test_values_arrive_with_the_registry_types(experiments):
    _, _, calls = experiments
    for c in calls:
        o = c["overrides"]
        assert type(o["field.officers"]) is int
        assert type(o["time.warmup_days"]) is int and o["time.warmup_days"] == 30
        assert type(o["orders.error_rate"]) is float
        assert type(o["contingency.enabled"]) is bool
        assert type(o["policy.visit_queue"]) is str
        assert (c["years"], c["scale"]) == (YEARS, SCALE)


def test_prim_on_the_results_finds_the_officer_shortage(experiments):
    exp, out, _ = experiments
    x = ema.dotted_names(exp)[["field.officers", "orders.error_rate", "contingency.enabled"]]
    x = x.astype({"field.officers": float})  # PRIM's pasting fails on integers under pandas 3
    backlog = out["outstanding_visits"].mean(axis=1)
    y = backlog > np.median(backlog)
    from ema_workbench.analysis import prim

    logging.getLogger("EMA").setLevel(logging.ERROR)
    with warnings.catch_warnings():  # pandas' deprecations inside PRIM
        warnings.simplefilter("ignore")
        box = prim.Prim(x, y).find_box()
    last = box.peeling_trajectory.iloc[-1]
    assert last["density"] == 1.0 and last["coverage"] == 1.0  # base rate 0.5
    # The box is the few officers: its upper limit below the officers sampled with no backlog.
    upper = box.box_lims[-1]["field.officers"].iloc[1]
    assert upper < x["field.officers"][~y].min()


def test_one_replication_is_a_model_whose_seed_is_a_constant():
    m = small_model(replications=1, root_seed=3)
    assert type(m) is ew.Model
    assert m.constants["seed"].value == seeds_for(3, 1)[0]
    assert all(type(o) is ew.ScalarOutcome for o in m.outcomes)
    scenario = ew.Sample(name="low", field__officers=100, orders__error_rate=0.2,
                         contingency__enabled=False)  # fmt: skip
    policy = ew.Sample(name="risk_first", policy__visit_queue="risk_first")
    with ew.SequentialEvaluator(m) as evaluator:
        _, out = evaluator.perform_experiments(scenarios=[scenario], policies=[policy])
    values = {"field.officers": 100, "orders.error_rate": 0.2, "contingency.enabled": False,
              "policy.visit_queue": "risk_first"}  # fmt: skip
    res = em_abm.run("baseline_2026", seed=seeds_for(3, 1)[0], years=YEARS, scale=SCALE,
                     overrides={**CONSTANTS, **values})  # fmt: skip
    assert out["outstanding_visits"].shape == (1,)
    assert out["outstanding_visits"][0] == flatten(res.summary)["outstanding_visits"] / SCALE


def test_replications_are_kept_or_aggregated():
    # Models with one seed, several, or aggregated name the same outcomes in one session.
    assert type(small_model()) is ew.ReplicatorModel
    assert all(type(o) is ew.ArrayOutcome for o in small_model().outcomes)
    m = small_model(aggregate=np.mean, replications=[11, 12, 13])
    assert [r["seed"] for r in m.replications] == [11, 12, 13]
    assert all(type(o) is ew.ScalarOutcome and o.function is np.mean for o in m.outcomes)


def test_the_run_function_passes_only_given_keywords(monkeypatch):
    calls = []

    def fake(scenario, **kw):
        calls.append(kw)
        return types.SimpleNamespace(summary={"tagged": 5.0, "unmonitored_share": 0.25})

    plain = ema.model(outcomes=["tagged", "unmonitored_share"], scale=0.5)
    extra = ema.model(outcomes=["tagged"], run_kwargs={"progress": False})
    monkeypatch.setattr(em_abm, "run", fake)
    assert plain.function(seed=4, field__officers=np.int64(7)) == {
        "tagged": 10.0,  # 5 at scale 0.5 is 10 for England and Wales
        "unmonitored_share": 0.25,
    }
    assert calls[-1] == {"seed": 4, "years": 1.0, "scale": 0.5,
                         "overrides": {"field.officers": 7}}  # fmt: skip
    extra.function(seed=1)
    assert calls[-1]["progress"] is False


def test_names_are_identifiers_and_raise_no_deprecation_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        m = ema.model(
            uncertainties=["field.officers", "orders.error_rate", "contingency.enabled"],
            levers=["policy.visit_queue", "policy.response_queue"],
            outcomes=["tagged.court_bail", "kpi.notification_within_window"],
            constants={"field.days_per_week": 6},
            replications=2,
        )
        with pytest.raises(DeprecationWarning):  # the filter catches a dotted EMA name
            ew.RealParameter("field.officers", 0, 1)
    names = [p.name for group in (m.uncertainties, m.levers, m.outcomes, m.constants)
             for p in group]  # fmt: skip
    assert "field__days_per_week" in names and "tagged__court_bail" in names
    assert all(n.isidentifier() for n in names)


def test_the_name_mapping_is_reversible_for_every_registry_name():
    for name in [*P.PARAMS, *summary_keys()]:
        assert ema.SEP not in name
        ident = ema.to_identifier(name)
        assert ident.isidentifier() and ema.to_dotted(ident) == name


def test_describe_gives_ranges_units_and_what_is_per_england_and_wales():
    m = small_model(outcomes=["cost_total_gbp.total", "unmonitored_share", "visits_done"])
    d = ema.describe(m).set_index("name")
    assert d.loc["field.officers", "values"] == [50, 800]
    assert d.loc["field.officers", "unit"] == "FTE"
    assert d.loc["policy.visit_queue", "role"] == "lever"
    assert d.loc["time.warmup_days", "role"] == "constant"
    assert d.loc["cost_total_gbp.total", "unit"] == "GBP"
    assert d.loc["visits_done", "unit"] == "visits"  # a flow, summed over the run
    assert bool(d.loc["visits_done", "per_england_and_wales"])
    assert not d.loc["unmonitored_share", "per_england_and_wales"]


@pytest.mark.parametrize(
    ("kw", "named"),
    [
        ({"uncertainties": ["field.oficers"]}, "uncertainties: unknown parameter 'field.oficers'"),
        ({"levers": {"policy.visit_q": []}}, "levers: unknown parameter 'policy.visit_q'"),
        ({"uncertainties": [("orders.error_rate", 0.1, 1.5)]}, "orders.error_rate: got [0.1, 1.5]"),
        ({"uncertainties": [("field.officers", 10.5, 20)]}, "field.officers: got [10.5, 20]"),
        ({"uncertainties": [("field.officers", 20, 10)]}, "field.officers: got [20, 10]"),
        ({"levers": {"policy.visit_queue": {"values": ["fcfs", "fast"]}}}, "'fast'"),
        ({"levers": {"policy.visit_queue": {"values": ["fcfs"]}}}, "two or more distinct"),
        ({"uncertainties": ["escalation.revoke_share"]}, "share of escalation"),
        ({"levers": ["policy.response_rule"]}, "policy.response_rule: has one choice"),
        ({"uncertainties": ["field.officers"], "levers": ["field.officers"]}, "also in"),
        ({"constants": {"field.officers": 10}, "levers": ["field.officers"]}, "also in"),
        ({"outcomes": ["taged"]}, "outcomes: unknown output 'taged'; did you mean tagged"),
        ({"constants": {"field.oficers": 3}}, "constants: unknown parameter 'field.oficers'"),
        ({"constants": {"field.officers": 3.5}}, "constants.field.officers: got 3.5"),
        ({"constants": {"escalation.revoke_share": 0.9}}, "escalation: shares must sum to 1"),
        ({"run_kwargs": {"modle": "x"}}, "run_kwargs: unknown keyword 'modle'"),
        ({"run_kwargs": {"seed": 1}}, "run_kwargs: 'seed' is set by the adapter"),
        ({"replications": 0}, "replications: got 0"),
        ({"replications": [1, 1]}, "replications: got [1, 1]"),
        ({"years": 0}, "years: got 0"),
        ({"scenario": "nowhere"}, "unknown scenario 'nowhere'"),
        ({"name": "em-abm"}, "name: got 'em-abm'"),
    ],
)
def test_a_mistake_is_one_line_naming_the_field(kw, named):
    with pytest.raises(UserError) as e:
        ema.model(**kw)
    msg = str(e.value)
    assert "\n" not in msg and named in msg and "allowed" in msg, msg
