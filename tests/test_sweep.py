"""Sweeps: spec validation, known answers, identical results on every backend, resuming after
SIGKILL, failed runs recorded, and the analysis tables and figures."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from em_abm import analysis as A
from em_abm import sweep as S
from em_abm.cli import main
from em_abm.errors import UserError

ISHIGAMI = """
name = "ishigami"
model = "ishigami"
design = "{design}"
samples = {samples}
levels = {levels}
seed = 7
outputs = ["y"]
[vary]
x1 = []
x2 = []
x3 = []
"""

EM = """
name = "small"
scenario = "baseline_2026"
design = "lhs"
samples = 4
replicates = 2
seed = 11
years = 0.3
scale = 0.03
outputs = ["tagged", "outstanding_visits", "public_protection.unmonitored_person_days"]
horizons = [0.1]
[vary]
"field.fit_success_prob" = [0.3, 0.45]
"orders.error_rate" = []
[fixed]
"field.officers" = 480
"""


def _spec(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _values(df):
    return df.drop(columns=["wall_time_s"]).reset_index(drop=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('"orders.error_rate" = []', '"orders.eror_rate" = []'),
            "unknown parameter 'orders.eror_rate'; did you mean orders.error_rate",
        ),
        (("[0.3, 0.45]", "[0.3, 1.5]"), "got [0.3, 1.5]; allowed: low < high within the bounds"),
        (('"tagged",', '"taggd",'), "outputs: unknown output 'taggd'; did you mean tagged"),
        (('design = "lhs"', 'design = "halton"'), "design: got 'halton'; allowed: sobol"),
        (('design = "lhs"', 'design = "lhs"\ncolour = 1'), "colour: unknown key"),
        (("samples = 4", "samples = 0"), "samples: got 0; allowed: an integer >= 1"),
        (("samples = 4", 'samples = "four"'), "samples: got 'four'"),
        (("horizons = [0.1]", "horizons = [2.0]"), "horizons: got [2.0]"),
        (('"field.officers" = 480', '"orders.error_rate" = 0.2'), "also in vary"),
        (('"field.officers" = 480', '"field.officers" = -3'), "field.officers"),
        (
            (('design = "lhs"', 'design = "sobol"'), ("[0.3, 0.45]", "{ values = [0.3, 0.4] }")),
            "explicit values or levels; allowed: numeric ranges only with design = 'sobol'",
        ),
        (('scenario = "baseline_2026"', 'scenario = "nowhere"'), "nowhere"),
    ],
)
def test_bad_specs_are_refused_with_one_line_naming_the_field(tmp_path, change, message):
    text = EM
    for old, new in change if isinstance(change[0], tuple) else [change]:
        assert old in text
        text = text.replace(old, new)
    path = _spec(tmp_path, text)
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")) as e:
        S.load_spec(path)
    assert "\n" not in str(e.value)


def test_cli_bad_spec_exits_2_and_writes_nothing(tmp_path, capsys):
    path = _spec(tmp_path, EM.replace('"tagged",', '"taggd",'))
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("em-abm: error:") and "taggd" in err and "\n" not in err
    assert not (tmp_path / "out").exists()
    assert main(["sweep", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_ishigami_sobol_indices_match_the_analytic_values(tmp_path):
    spec = S.load_spec(_spec(tmp_path, ISHIGAMI.format(design="sobol", samples=1024, levels=4)))
    S.sweep(spec, tmp_path / "out")
    table = A.analyze(tmp_path / "out", num_resamples=200)["sobol"].set_index("parameter")
    exact = S.IshigamiRunner.analytic()
    for index in ("S1", "ST"):
        for name, value in exact[index].items():
            got, conf = table.loc[name, index], table.loc[name, f"{index}_conf"]
            assert abs(got - value) <= conf, (index, name, got, value, conf)
    figures = tmp_path / "out" / "analysis" / "figures"
    assert (figures / "sobol_indices.png").stat().st_size > 10_000
    assert (figures / "sobol_convergence.png").stat().st_size > 10_000
    conv = pd.read_csv(tmp_path / "out" / "analysis" / "sobol_convergence.csv")
    assert sorted(set(conv["base_samples"])) == [8, 16, 32, 64, 128, 256, 512, 1024]


@pytest.mark.parametrize(
    ("design", "table", "figure"),
    [("morris", "morris", "morris.png"), ("lhs", "delta", "delta_indices.png"),
     ("grid", "main_effects", "main_effects.png")],
)  # fmt: skip
def test_every_design_is_analysed_with_tables_and_figures(tmp_path, design, table, figure):
    samples = {"morris": 40, "lhs": 120, "grid": 1}[design]
    spec = S.load_spec(_spec(tmp_path, ISHIGAMI.format(design=design, samples=samples, levels=4)))
    S.sweep(spec, tmp_path / "out")
    tables = A.analyze(tmp_path / "out", num_resamples=50)
    t = pd.read_csv(tmp_path / "out" / "analysis" / f"{table}.csv")
    assert len(t) == len(tables[table]) > 0 and np.isfinite(t.select_dtypes("number")).all().all()
    assert (tmp_path / "out" / "analysis" / "figures" / figure).is_file()
    if design == "morris":  # x2 has the largest mean effect, x3 acts only through x1
        mu = t.set_index("parameter")["mu_star"]
        assert mu["x2"] > mu["x3"]
    if design == "grid":
        assert len(S.run_table(spec)) == 4**3


def test_same_spec_same_results_on_every_backend(tmp_path):
    spec = S.load_spec(_spec(tmp_path, EM))
    S.sweep(spec, tmp_path / "one", jobs=1)
    S.sweep(spec, tmp_path / "two", jobs=2)
    S.sweep(spec, tmp_path / "dask", jobs=2, backend="dask")
    one = S.results(tmp_path / "one")
    assert len(one) == 8 and (one["status"] == "ok").all()
    assert one["run_id"].tolist() == list(range(8))
    for other in ("two", "dask"):
        pd.testing.assert_frame_equal(
            _values(one), _values(S.results(tmp_path / other)), check_exact=True
        )
    # Paired seeds: replicate r has the same seed at every point; seeds are stored.
    assert one.groupby("replicate")["seed"].nunique().eq(1).all()
    assert one["seed"].nunique() == 2
    assert {"tagged@0.1y", "field.fit_success_prob", "orders.error_rate"} <= set(one.columns)
    consolidated = pd.read_parquet(tmp_path / "one" / "results.parquet")
    pd.testing.assert_frame_equal(_values(consolidated), _values(one), check_exact=True)


def test_a_sweep_run_is_the_model_run_with_its_values(tmp_path):
    """One row of a sweep: the scenario with the spec's fixed values and the row's varied
    ones, outputs per England and Wales (population counts divided by the scale), and each
    output at a horizon summarised over the first part of the run only."""
    from em_abm.compare import flatten
    from em_abm.metrics import scales_with_population
    from em_abm.results import run_model, summarise_series
    from em_abm.scenario import load

    spec = S.load_spec(_spec(tmp_path, EM))
    row = S.run_table(spec).iloc[3].to_dict()
    got = S.run_one(spec, row)
    assert got["status"] == "ok", got.get("error")
    values = {"field.officers": 480, "field.fit_success_prob": row["field.fit_success_prob"],
              "orders.error_rate": row["orders.error_rate"]}  # fmt: skip
    res = run_model(load("baseline_2026").with_overrides(values), seed=int(row["seed"]),
                    years=spec.years, scale=spec.scale)  # fmt: skip
    whole = flatten(res.summary)
    early = flatten(summarise_series(res.timeseries.iloc[: round(0.1 * 365)]))
    for o in spec.outputs:
        per = 1 / spec.scale if scales_with_population(o) else 1.0
        assert got[o] == whole[o] * per, o
        assert got[f"{o}@0.1y"] == early[o] * per, o
    assert scales_with_population("tagged") and got["tagged@0.1y"] != got["tagged"]


def test_a_different_spec_in_the_same_folder_is_refused(tmp_path):
    spec = S.load_spec(_spec(tmp_path, ISHIGAMI.format(design="lhs", samples=20, levels=4)))
    S.sweep(spec, tmp_path / "out")
    other = S.load_spec(_spec(tmp_path, ISHIGAMI.format(design="lhs", samples=21, levels=4)))
    with pytest.raises(UserError, match="holds a sweep of a different spec"):
        S.sweep(other, tmp_path / "out")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    with pytest.raises(UserError, match="exists and is not a sweep folder"):
        S.sweep(spec, tmp_path / "mine")


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    real = S.IshigamiRunner.run

    def flaky(self, spec, values, seed):
        if values["x1"] > 2.5:
            raise ValueError("x1 too large for this test")
        return real(self, spec, values, seed)

    monkeypatch.setattr(S.IshigamiRunner, "run", flaky)
    spec = S.load_spec(_spec(tmp_path, ISHIGAMI.format(design="sobol", samples=16, levels=4)))
    summary = S.sweep(spec, tmp_path / "out")
    runs = S.results(tmp_path / "out")
    bad = runs[runs["status"] == "error"]
    assert summary.failed == len(bad) > 0 and summary.ran == len(runs) == summary.total
    assert bad["error"].str.contains("ValueError: x1 too large").all()
    assert bad["y"].isna().all() and runs.loc[runs["status"] == "ok", "y"].notna().all()
    with pytest.raises(UserError, match="design points have no successful run"):
        A.analyze(tmp_path / "out")
    # Failed runs are kept on a plain re-run, and run again with retry_failed.
    assert S.sweep(spec, tmp_path / "out").ran == 0
    monkeypatch.setattr(S.IshigamiRunner, "run", real)
    again = S.sweep(spec, tmp_path / "out", retry_failed=True)
    assert again.ran == len(bad) and again.failed == 0
    runs = S.results(tmp_path / "out")
    assert len(runs) == summary.total and (runs["status"] == "ok").all()


@pytest.mark.parametrize(("design", "analyze"), [("grid", False), ("grid", True), ("sobol", True)])
def test_cli_sweep_exit_status_says_whether_every_run_succeeded(
    tmp_path, capsys, monkeypatch, design, analyze
):
    """1 when runs failed, with a summary counting them, --analyze or not (an analysis that
    the failures make impossible is reported too, in one line)."""
    real = S.IshigamiRunner.run

    def flaky(self, spec, values, seed):
        if values["x1"] > 2.5:
            raise ValueError("x1 too large for this test")
        return real(self, spec, values, seed)

    path = _spec(tmp_path, ISHIGAMI.format(design=design, samples=8, levels=4))
    argv = ["sweep", str(path), "--jobs", "1", "--no-progress", *(["--analyze"] * analyze)]
    assert main([*argv, "--out", str(tmp_path / "ok")]) == 0
    capsys.readouterr()
    monkeypatch.setattr(S.IshigamiRunner, "run", flaky)
    assert main([*argv, "--out", str(tmp_path / "out")]) == 1
    out, err = capsys.readouterr()
    failed = int((S.results(tmp_path / "out")["status"] == "error").sum())
    assert failed > 0 and f"{failed} failed in all" in out
    assert f"{failed} runs failed: see the error column" in err
    if design == "sobol":  # the analysis needs every point
        assert err.count("em-abm: error:") == 1 and "no successful run" in err
    elif analyze:
        assert (tmp_path / "out" / "analysis" / "main_effects.csv").is_file()
    assert main([*argv, "--out", str(tmp_path / "out")]) == 1  # still, on a resume


KILL_SCRIPT = """
import sys
from em_abm import sweep as S
spec = S.load_spec(sys.argv[1])
S.sweep(spec, sys.argv[2], jobs=1, flush_every=2)
"""


def test_a_sweep_killed_part_way_resumes_without_repeating_finished_runs(tmp_path):
    text = EM.replace("samples = 4", "samples = 12").replace("replicates = 2", "replicates = 1")
    path = _spec(tmp_path, text)
    spec = S.load_spec(path)
    S.sweep(spec, tmp_path / "whole")
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(path), str(out)])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(list((out / "runs").glob("part-*.parquet"))) >= 2 or proc.poll() is not None:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = S.stored_runs(out)
    assert 0 < len(stored) < 12  # killed part-way, with finished runs stored
    summary = S.sweep(spec, out)
    assert summary.skipped == len(stored) and summary.ran == 12 - len(stored)
    resumed = S.results(out)
    assert resumed["run_id"].tolist() == list(range(12))
    pd.testing.assert_frame_equal(_values(resumed), _values(S.results(tmp_path / "whole")))
    assert not [p for p in (out / "runs").iterdir() if not p.name.startswith("part-")]


def test_cli_sweep_then_analyze(tmp_path, capsys):
    path = _spec(tmp_path, ISHIGAMI.format(design="sobol", samples=64, levels=4))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "1", "--no-progress"]) == 0
    assert "320 runs: 0 already done, 320 run now, 0 failed" in capsys.readouterr().out
    assert main(["analyze", str(out), "--resamples", "50"]) == 0
    assert "sobol.csv" in capsys.readouterr().out
    assert main(["analyze", str(tmp_path)]) == 2
    assert "not a sweep folder" in capsys.readouterr().err


def test_manifest_names_the_spec_version_and_commit(tmp_path):
    import json

    spec = S.load_spec(_spec(tmp_path, ISHIGAMI.format(design="lhs", samples=10, levels=4)))
    S.sweep(spec, tmp_path / "out")
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["spec_hash"] == spec.hash() and m["version"] and "git_commit" in m
    assert S.spec_of(tmp_path / "out") == spec
    assert Path(tmp_path / "out" / "runs").is_dir()


def test_a_sweep_kept_without_its_parts_is_not_run_again(tmp_path):
    """Committed results keep results.parquet and the manifest, not runs/."""
    import shutil

    spec = S.load_spec(_spec(tmp_path, ISHIGAMI.format(design="lhs", samples=10, levels=4)))
    S.sweep(spec, tmp_path / "out")
    before = S.results(tmp_path / "out")
    shutil.rmtree(tmp_path / "out" / "runs")
    again = S.sweep(spec, tmp_path / "out")
    assert again.ran == 0 and again.skipped == 10
    pd.testing.assert_frame_equal(S.results(tmp_path / "out"), before)


def test_validate_checks_a_spec_or_scenario_without_running(tmp_path, capsys):
    good = _spec(tmp_path, EM)
    assert main(["validate", str(good)]) == 0
    assert "ok: sweep spec 'small': lhs design, 8 runs" in capsys.readouterr().out
    assert main(["validate", "sentencing_act_2027"]) == 0
    assert "ok: scenario 'sentencing_act_2027'" in capsys.readouterr().out
    bad = _spec(tmp_path, EM.replace('"tagged",', '"taggd",'), name="bad.toml")
    assert main(["validate", str(bad)]) == 2
    assert "taggd" in capsys.readouterr().err
    assert not list(tmp_path.glob("*/"))  # nothing written


INTS = """
name = "ints"
scenario = "baseline_2026"
design = "sobol"
samples = 8
seed = 3
years = 0.1
scale = 0.05
outputs = ["tagged", "tagged_by_cohort.court_bail", "public_protection.unmonitored_person_days"]
horizons = [0.05]
[vary]
"field.officers" = [420.0, 560.0]
"orders.error_rate" = [0.15, 0.3]
"""


def _fake_model(monkeypatch):
    """The em-abm runner without the model: it records the values a run was given."""
    seen = []

    def fake(self, spec, values, seed):
        seen.append(values["field.officers"])
        return {c: float(values["field.officers"]) for c in spec.output_columns}

    monkeypatch.setattr(S.EMModelRunner, "run", fake)
    return seen


def test_integer_parameters_are_stored_as_the_integers_run(tmp_path, monkeypatch):
    seen = _fake_model(monkeypatch)
    spec = S.load_spec(_spec(tmp_path, INTS))
    out = tmp_path / "out"
    S.sweep(spec, out, jobs=1)
    runs = S.results(out)
    sampled = S.design_matrix(spec)["field.officers"]
    assert (sampled != sampled.round()).all()  # the design samples floats
    assert runs["field.officers"].dtype == np.int64
    assert all(type(v) is int for v in seen) and sorted(runs["field.officers"]) == sorted(seen)
    assert (runs["tagged"] == runs["field.officers"]).all()  # the value the run used
    assert runs["orders.error_rate"].tolist() == S.design_matrix(spec)["orders.error_rate"].tolist()
    stored = pd.read_parquet(out / "results.parquet")
    assert stored["field.officers"].dtype == np.int64
    # A store written before issue 2.6 holds the sampled floats: read as the integers that ran.
    old = stored.copy()
    old["field.officers"] = sampled.to_numpy()[old["point"]]
    old.to_parquet(out / "results.parquet", index=False)
    import shutil

    shutil.rmtree(out / "runs")
    pd.testing.assert_frame_equal(S.results(out), runs)
    assert S.sweep(spec, out, jobs=1).ran == 0  # and not run again
    # A value that no run used is still refused.
    old.loc[2, "field.officers"] = old.loc[2, "field.officers"] + 1
    old.to_parquet(out / "results.parquet", index=False)
    with pytest.raises(UserError, match=r"run 2: field.officers is .*the design's"):
        S.results(out)


def test_sweep_results_carry_units_and_counts(tmp_path, monkeypatch):
    from em_abm.metrics import describe_summary, scale_label
    from em_abm.results import describe, units

    _fake_model(monkeypatch)
    spec = S.load_spec(_spec(tmp_path, INTS))
    S.sweep(spec, tmp_path / "out", jobs=1)
    path = tmp_path / "out" / "results.parquet"
    got = units(path)
    assert got["field.officers"] == "FTE" and got["wall_time_s"] == "s"
    assert got["tagged"] == "people" and got["tagged@0.05y"] == "people"
    assert got["public_protection.unmonitored_person_days"] == "person-days"
    about = describe(path)
    assert about["counts"] == scale_label(0.05, equivalent=True)  # per England and Wales
    assert (
        about["columns"]["tagged_by_cohort.court_bail"]["description"]
        == (describe_summary("tagged.court_bail")[1])
    )
    assert "over the first 0.05 years" in about["columns"]["tagged@0.05y"]["description"]


def test_older_output_names_are_accepted_and_read_as_the_documented_ones(tmp_path):
    """``tagged_by_cohort.court_bail`` (before issue 2.6) and ``tagged.court_bail`` name one
    output; a spec keeps the name it gives, so a stored sweep's hash does not change."""
    text = INTS.replace('outputs = ["tagged", ', 'outputs = ["tagged.court_bail", ')
    text = text.replace("years = 0.1", "years = 0.05").replace("scale = 0.05", "scale = 0.02")
    spec = S.load_spec(_spec(tmp_path, text.replace("horizons = [0.05]", "horizons = [0.02]")))
    assert spec.outputs[:2] == ("tagged.court_bail", "tagged_by_cohort.court_bail")
    got = S.run_one(spec, S.run_table(spec).iloc[0].to_dict())
    assert got["status"] == "ok", got["error"]
    assert got["tagged.court_bail"] == got["tagged_by_cohort.court_bail"] > 0
    assert got["tagged.court_bail@0.02y"] == got["tagged_by_cohort.court_bail@0.02y"] > 0
    bad = text.replace("tagged_by_cohort.court_bail", "tagged_by_cohort.nobody")
    with pytest.raises(UserError, match=r"unknown output 'tagged_by_cohort\.nobody'"):
        S.load_spec(_spec(tmp_path, bad, "bad.toml"))


def test_validate_says_a_library_warning_in_one_line(tmp_path, capsys):
    """SALib's warning about Sobol' sample sizes, in em-abm's words, one line, no file path."""
    path = _spec(tmp_path, INTS.replace("samples = 8", "samples = 10"))
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("ok: sweep spec 'ints'")
    assert err.startswith("em-abm: warning: samples = 10: Sobol' points are balanced only")
    assert err.count("\n") == 1 and "site-packages" not in err and "UserWarning" not in err
    assert main(["validate", str(_spec(tmp_path, INTS, "pow2.toml"))]) == 0
    assert capsys.readouterr().err == ""


def test_a_library_warning_is_one_line_naming_the_library(capsys):
    import warnings

    from em_abm import cli

    cli._one_line_warnings()
    where = "/x/lib/python3.12/site-packages/SALib/analyze/sobol.py"
    warnings.warn_explicit("something odd\nhappened", UserWarning, where, 12)
    err = capsys.readouterr().err
    assert err == "em-abm: warning: SALib: something odd\\nhappened (UserWarning)\n"


def test_analyze_warns_when_indices_cannot_be_trusted(tmp_path, capsys):
    """Too few base samples, and indices outside [0, 1] beyond their intervals: one line,
    printed and written beside the tables; a large enough sweep has none."""
    path = _spec(tmp_path, ISHIGAMI.format(design="sobol", samples=16, levels=4))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "1", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["analyze", str(out), "--resamples", "50"]) == 0
    _, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"em-abm: warning: {out}: sobol: "), err
    assert f"samples = 16 is below the minimum of {A.MIN_SOBOL_SAMPLES} base samples" in err
    written = (out / "analysis" / A.WARNINGS_FILE).read_text()
    assert written.strip() == lines[0].removeprefix(f"em-abm: warning: {out}: ")
    # the bounds on their own: an index beyond [0, 1] by more than its interval
    table = pd.DataFrame({"output": ["y"] * 2, "parameter": ["x1", "x2"], "S1": [1.14, 0.3],
                          "S1_conf": [0.05, 0.1], "ST": [1.59, -0.02],
                          "ST_conf": [0.7, 0.05]})  # fmt: skip
    big = S.load_spec(_spec(tmp_path, ISHIGAMI.format(design="sobol", samples=1024, levels=4)))
    (note,) = A.index_warnings(big, {"sobol": table})
    assert note.startswith("sobol: 1 of 4 indices lie outside [0, 1] beyond their 95% intervals")
    assert "S1 = 1.14 +/- 0.05 for x1 on y" in note and "below the minimum" not in note
    table["S1"] = 0.98
    assert A.index_warnings(big, {"sobol": table}) == []
