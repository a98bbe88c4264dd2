"""Each experiment's quick mode runs end to end and writes finite tables and its figures."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from em_abm import experiments as E
from em_abm.cli import main

EXPECTED = {
    "prioritisation_under_constraint": [
        "differences.csv", "probability_best.csv", "operating_points.csv", "summary.md",
        "discovery_0_4y.csv", "discovery_rules_0_4y.txt", "value_of_information.csv",
        "figures/difference_from_fcfs_0_4y.png", "figures/probability_best_0_4y.png",
        "figures/discovery_0_4y.png", "reversal.csv", "reversal_break_even.csv",
        "figures/reversal.png",
    ],
    "pilots": ["differences.csv", "summary.md", "figures/pilots_vs_baseline_0_4y.png"],
    "sensitivity_baseline": [
        "sobol.csv", "sobol_convergence.csv", "summary.md", "figures/sobol_indices.png",
        "figures/sobol_convergence.png",
    ],
}  # fmt: skip


def test_every_experiment_is_listed():
    assert set(E.available()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_quick_experiment_writes_finite_tables_and_figures(name):
    # Into results/NAME-quick/ (not committed), afresh: `make paper QUICK=1` then finds the
    # quick results current and builds from them.
    out = E.results_dir(name, quick=True)
    shutil.rmtree(out, ignore_errors=True)
    ctx = E.run(name, quick=True, jobs=2, progress=False)
    assert E.is_current(name, quick=True)
    meta = json.loads((out / "experiment.json").read_text())
    assert meta["command"] == f"em-abm experiment {name} --quick"
    for rel in EXPECTED[name]:
        assert (out / rel).is_file() and (out / rel).stat().st_size > 0, rel
    assert set(EXPECTED[name]) <= set(meta["files"])
    for rel in meta["files"]:
        if rel.endswith(".csv"):
            table = pd.read_csv(out / rel)
            numbers = table.select_dtypes("number").drop(
                columns=[c for c in table if c.endswith(("_conf", "_low", "_high", "_ci"))]
            )
            assert len(table) and np.isfinite(numbers.to_numpy()).all(), rel
    for runs in ctx.runs.values():
        assert (runs["status"] == "ok").all()
    # Running again resumes: nothing is run twice.
    again = E.run(name, quick=True, jobs=1, out=out, progress=False)
    assert all(len(again.runs[k]) == len(ctx.runs[k]) for k in ctx.runs)


def test_unknown_experiment_is_one_line_and_exit_2(capsys):
    assert main(["experiment", "nope", "--quick"]) == 2
    err = capsys.readouterr().err
    assert "experiment: got 'nope'; allowed: pilots" in err and err.count("\n") == 1
    assert main(["experiment", "list"]) == 0
    assert "prioritisation_under_constraint" in capsys.readouterr().out


def _ensemble(effect_by_set, seed_sd=0.0, sets=4, seeds=3):
    """Runs of two strategies over ``sets`` parameter sets x ``seeds`` seeds: B's outcome is
    A's plus the set's effect plus seed noise (paired)."""
    rng = np.random.default_rng(0)
    rows = []
    for r in range(sets * seeds):
        k = r % sets
        base = 10.0 + rng.normal()
        rows.append({"replicate": r, "posterior_set": k, "strategy": "A", "y": base,
                     "status": "ok"})  # fmt: skip
        y = base + effect_by_set[k] + seed_sd * rng.normal()
        rows.append({"replicate": r, "posterior_set": k, "strategy": "B", "y": y,
                     "status": "ok"})  # fmt: skip
    return pd.DataFrame(rows)


def test_ensemble_intervals_separate_parameter_from_seed_uncertainty():
    # The effect differs between parameter sets, not between seeds: the seed-only interval
    # is a point, the interval with parameters is wide, and the spread shows the range.
    runs = _ensemble([-2.0, -1.0, 0.0, 1.0])
    d = E.ensemble_differences(runs, "strategy", "A", ["y"]).set_index("strategy").loc["B"]
    assert d["diff"] == pytest.approx(-0.5)
    assert d["seed_high"] - d["seed_low"] == pytest.approx(0.0, abs=1e-9)
    assert d["diff_low"] < -2 and d["diff_high"] > 1
    sd = np.std([-2.0, -1.0, 0.0, 1.0], ddof=1)
    assert d["spread_low"] == pytest.approx(-0.5 - 1.645 * sd)
    assert d["set_p05"] == pytest.approx(-1.85) and d["set_p95"] == pytest.approx(0.85)
    assert d["sets"] == 4 and d["n"] == 12
    # Seed noise alone: both intervals cover the effect, and the spread across sets, with
    # the seeds' share of the variance taken out, is near zero.
    noisy = E.ensemble_differences(_ensemble([-1.0] * 4, seed_sd=0.5), "strategy", "A", ["y"])
    b = noisy.set_index("strategy").loc["B"]
    assert b["seed_low"] < -1 < b["seed_high"] and b["diff_low"] < -1 < b["diff_high"]
    assert b["spread_high"] - b["spread_low"] < b["set_p95"] - b["set_p05"]


def test_probability_best_is_the_share_of_parameter_sets_won():
    p = E.probability_best(_ensemble([-2.0, -1.0, 0.5, 1.0]), "strategy", "y")
    p = p.set_index("strategy")["p_best"]
    assert p["B"] == pytest.approx(0.5) and p["A"] == pytest.approx(0.5)
    tied = E.probability_best(_ensemble([0.0] * 4), "strategy", "y").set_index("strategy")
    assert tied["p_best"].tolist() == [0.5, 0.5]  # ties share


def test_value_of_information_is_what_an_input_that_changes_the_choice_is_worth():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=400)
    noise = rng.uniform(size=400)
    # The best option flips with x: knowing x is worth E[max] - max E = 0.5 * E|x| = 0.25.
    t = pd.DataFrame({"x": x, "z": noise, "a": x, "b": -x})
    value, null = E.evppi(t, ["a", "b"], ["x"], permutations=20)
    assert value == pytest.approx(0.5, abs=0.05) and null < 0.1
    # Knowing z, which does not change which option is best, is worth nothing beyond noise.
    value, null = E.evppi(t, ["a", "b"], ["z"], permutations=20)
    assert value <= null + 0.02


def test_noisy_losses_alone_are_not_counted_as_information():
    # Five options that are equal but for noise: the lowest of five noisy predictions is
    # biased low, so the EVPPI is not zero, but it is no more than noise gives with the
    # inputs permuted: the null is what tells them apart.
    rng = np.random.default_rng(3)
    t = pd.DataFrame(rng.normal(size=(32, 5)) * 0.7, columns=list("abcde"))
    t["u"], t["v"], t["w"] = rng.uniform(size=(3, 32))
    value, null = E.evppi(t, list("abcde"), ["u", "v", "w"], permutations=20)
    assert value <= null


def test_prim_box_finds_the_region_where_a_rule_loses():
    rng = np.random.default_rng(2)
    x = pd.DataFrame({"accuracy": rng.uniform(0, 1, 300), "other": rng.uniform(0, 1, 300)})
    loses = (x["accuracy"] < 0.4).to_numpy()
    lims, coverage, density = E.prim_box(x, loses)
    # The box with the most coverage at density 0.8 or more: it reaches a little past 0.4.
    assert set(lims) == {"accuracy"} and 0.38 <= lims["accuracy"][1] <= 0.52
    assert coverage > 0.9 and density >= 0.8
    assert E.prim_box(x, np.zeros(300, dtype=bool)) is None
