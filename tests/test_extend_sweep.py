"""A model extended outside the package, named by import path, runs wherever the packaged
one does: ``run``, ``compare``, ``sweep`` (loky and Dask, jobs > 1) and experiments, with the
same validation and rounding; a failing run makes a sweep's exit status non-zero."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import em_abm
from em_abm import sweep as S
from em_abm.errors import UserError

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
SMALL = dict(years=0.2, scale=0.05)
SPEC = """
name = "extended"
model = "{model}"
design = "lhs"
samples = 3
replicates = 1
seed = 5
years = 0.2
scale = 0.05
outputs = ["tagged", "notifications_unanswered"]
[vary]
"field.officers" = [300, 600]
"""


@pytest.fixture
def examples_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(EXAMPLES), *sys.path]))
    yield


def test_a_component_or_model_subclass_by_path_runs_like_components(examples_on_path):
    from faster_police import FasterPoliceModel, WithFasterPolice

    ref = em_abm.run(seed=3, **SMALL, components={"responses": WithFasterPolice})
    for model in ("faster_police:WithFasterPolice", "faster_police:FasterPoliceModel",
                  FasterPoliceModel):  # fmt: skip
        res = em_abm.run(seed=3, **SMALL, model=model)
        assert res.summary == ref.summary
        assert res.metadata["components"]["responses"] == "faster_police:WithFasterPolice"
    assert res.metadata["model"] == "faster_police:FasterPoliceModel"
    base = em_abm.run(seed=3, **SMALL)
    assert base.summary["notifications_unanswered"] > ref.summary["notifications_unanswered"]


@pytest.mark.parametrize(
    ("model", "message"),
    [("faster_police", "allowed: 'em_abm', or 'package.module:Class'"),
     ("no_such_module:X", "cannot import 'no_such_module' (ModuleNotFoundError"),
     ("faster_police:Nope", "'faster_police' has no 'Nope'"),
     ("faster_police:FasterPolice", "got 'faster_police:FasterPolice'; allowed")],
)  # fmt: skip
def test_a_wrong_model_is_one_line(examples_on_path, model, message):
    with pytest.raises(UserError, match=re.escape(message)) as e:
        em_abm.run(seed=1, **SMALL, model=model)
    assert "\n" not in str(e.value)


def test_only_em_abm_models_replace_a_spec_model(examples_on_path, tmp_path):
    from em_abm import experiments as E
    from em_abm.extension import check_em_model

    for bad in ("ishigami", "faster_police"):
        with pytest.raises(UserError, match=f"model: got '{bad}'; allowed: 'em_abm', or"):
            check_em_model(bad)
    with pytest.raises(UserError, match="model: got 'ishigami'"):
        E.run("pilots", quick=True, out=tmp_path / "x", progress=False, model="ishigami")
    assert not (tmp_path / "x").exists()


def test_a_stored_sweep_of_a_model_that_registers_a_policy_reads_anew(tmp_path):
    """A module that registers a policy and offers the packaged model: its sweep's results
    and analysis read in a fresh process, which imports the module to know the policy."""
    (tmp_path / "with_longest.py").write_text(
        "import longest_order_first  # noqa: F401 (registers the policy)\n"
        "from em_abm.model import EMModel as Model\n",
        encoding="utf-8",
    )
    (tmp_path / "spec.toml").write_text(
        SPEC.format(model="with_longest:Model")
        + '"policy.visit_queue" = { values = ["fcfs", "longest_order_first"] }\n',
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(EXAMPLES), *sys.path])}
    run = [sys.executable, "-m", "em_abm"]
    r = subprocess.run([*run, "sweep", "spec.toml", "--out", "out", "--jobs", "2",
                        "--no-progress"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    code = (
        "from em_abm import sweep as S; t = S.results('out'); "
        "print(sorted(set(t['policy.visit_queue'])), (t['status'] == 'ok').all())"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['fcfs', 'longest_order_first'] True"


def test_a_subclass_sweeps_on_loky_and_dask_with_rounding(tmp_path, monkeypatch):
    # Loky's workers outlive a sweep and serve the next: start them before the model's folder
    # is on the search path, as an earlier sweep in the same process would have.
    (tmp_path / "plain.toml").write_text(SPEC.format(model="em_abm"), encoding="utf-8")
    assert S.sweep(S.load_spec(tmp_path / "plain.toml"), tmp_path / "plain", jobs=2).failed == 0
    monkeypatch.syspath_prepend(str(EXAMPLES))
    path = tmp_path / "spec.toml"
    path.write_text(SPEC.format(model="faster_police:FasterPoliceModel"), encoding="utf-8")
    spec = S.load_spec(path)
    one = S.sweep(spec, tmp_path / "one", jobs=1)
    two = S.sweep(spec, tmp_path / "two", jobs=2)
    dask = S.sweep(spec, tmp_path / "dask", jobs=2, backend="dask")
    assert one.failed == two.failed == dask.failed == 0
    a = S.results(tmp_path / "one").drop(columns="wall_time_s")
    for other in ("two", "dask"):
        b = S.results(tmp_path / other).drop(columns="wall_time_s")
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    # The sampled officers are not integers; the runs used them rounded, as for em_abm, and
    # the results hold the integers that were run.
    sampled = S.design_matrix(spec)["field.officers"]
    assert (sampled % 1 != 0).all()
    assert a["field.officers"].tolist() == [round(x) for x in sampled]
    for r in a.to_dict("records"):
        ref = em_abm.run(seed=int(r["seed"]), **SMALL, model="faster_police:FasterPoliceModel",
                         overrides={"field.officers": int(r["field.officers"])})  # fmt: skip
        assert r["tagged"] == ref.summary["tagged"] * (1.0 / 0.05)  # per England and Wales


def test_the_command_line_takes_model_and_fails_loudly(tmp_path):
    bad = tmp_path / "broken_model.py"
    bad.write_text(
        "from em_abm.model import EMModel\n\n\n"
        "class Broken(EMModel):\n"
        "    def step(self):\n"
        "        if self.day > 3:\n"
        "            raise RuntimeError('broken on purpose')\n"
        "        super().step()\n",
        encoding="utf-8",
    )
    (tmp_path / "spec.toml").write_text(SPEC.format(model="em_abm"), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(EXAMPLES), *sys.path])}
    cli = [sys.executable, "-m", "em_abm"]

    def em(*args):
        return subprocess.run([*cli, *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip

    r = em("sweep", "spec.toml", "--out", "broken", "--jobs", "2", "--no-progress",
           "--model", "broken_model:Broken")  # fmt: skip
    assert r.returncode == 1, r.stderr
    assert "3 failed in all" in r.stdout and "3 runs failed" in r.stderr
    assert "broken on purpose" in S.results(tmp_path / "broken")["error"].iloc[0]
    r = em("run", "--model", "faster_police:FasterPoliceModel", "--years", "0.1", "--scale",
           "0.05", "--out", "one", "--no-figures", "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = em("compare", "baseline_2026", "baseline_2026@field.officers=300", "--seeds", "2",
           "--years", "0.1", "--scale", "0.05", "--jobs", "2", "--out", "cmp", "--no-progress",
           "--model", "faster_police:WithFasterPolice")  # fmt: skip
    assert r.returncode == 0, r.stderr
    meta = (tmp_path / "cmp" / "metadata.json").read_text()
    assert '"model": "faster_police:WithFasterPolice"' in meta
    r = em("run", "--model", "nowhere:Model", "--years", "0.1")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "--model: cannot import 'nowhere'" in r.stderr


def test_an_experiment_runs_an_extended_model(tmp_path, examples_on_path):
    from em_abm import experiments as E

    model = "faster_police:FasterPoliceModel"
    ctx = E.run("pilots", quick=True, jobs=1, out=tmp_path / "pilots", progress=False,
                model=model)  # fmt: skip
    assert all(s.model == model for s in ctx.specs.values())
    assert all((r["status"] == "ok").all() for r in ctx.runs.values())
    record = (tmp_path / "pilots" / "experiment.json").read_text()
    assert f"--model {model}" in record
    with pytest.raises(UserError, match=r"^model: cannot import 'nowhere'"):
        E.run("pilots", quick=True, out=tmp_path / "x", progress=False, model="nowhere:M")
