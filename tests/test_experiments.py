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
        "paired_differences.csv", "ranking.csv", "summary.md", "discovery_0_4y.csv",
        "discovery_rules_0_2y.txt", "figures/outcomes_vs_shortfall_0_4y.png",
        "figures/difference_from_fcfs_0_2y.png", "figures/discovery_0_4y.png",
    ],
    "pilots": ["paired_differences.csv", "summary.md", "figures/pilots_vs_baseline_0_4y.png"],
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
