import json
import subprocess
import sys

import pandas as pd
import pytest

from em_abm import params as P
from em_abm.cli import main
from em_abm.metrics import COLUMNS

SMALL = ["--years", "0.25", "--scale", "0.03", "--no-progress"]


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "nope"], "unknown scenario 'nope'"),
        (
            ["run", "--years", "-1"],
            "argument --years: got '-1'; allowed: a number of years from 0.00274 (one day) to 50",
        ),
        (["run", "--years", "abc"], "argument --years: got 'abc'"),
        (["run", "--scale", "0"], "argument --scale: got '0'"),
        (["run", "--seed", "-3"], "argument --seed: got '-3'; allowed: a non-negative integer"),
        (
            ["run", "--set", "field.oficers=1"],
            "--set field.oficers: unknown parameter; did you mean field.officers",
        ),
        (
            ["run", "--set", "field.officers=-1"],
            "--set field.officers: got -1; allowed: an integer from 0 to 5000",
        ),
        (
            ["run", "--set", "demand.tag_mix.court_bail.rf=0.9"],
            "demand.tag_mix.court_bail: shares must sum to 1",
        ),
        (["run", "missing/file.toml"], "file not found: missing/file.toml"),
        (["params", "--format", "xml"], "invalid choice: 'xml'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(capsys, tmp_path, argv, needle):
    out_dir = tmp_path / "out"
    extra = ["--out", str(out_dir)] if argv[0] == "run" else []
    code, _out, err = run_cli(capsys, *argv, *extra)
    assert code == 2
    assert needle in err
    assert err.count("\n") == 1 and err.startswith("em-abm: error: ")
    assert not out_dir.exists()


def test_out_folder_with_other_content_is_refused(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = run_cli(capsys, "run", *SMALL, "--out", str(tmp_path))
    assert code == 2 and "holds files em-abm did not write" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_run_writes_results(capsys, tmp_path):
    out_dir = tmp_path / "res"
    code, out, err = run_cli(capsys, "run", *SMALL, "--seed", "7", "--out", str(out_dir))
    assert code == 0, err
    assert "tagged" in out and "install_within_two_attempts_rate" in out
    ts = pd.read_parquet(out_dir / "timeseries.parquet")
    assert ts.columns[0] == "date" and set(COLUMNS) <= set(ts.columns)
    assert len(ts) == round(0.25 * 365.25)
    summary = json.loads((out_dir / "summary.json").read_text())
    assert (
        summary["seed"] == 7 and summary["scale"] == 0.03 and summary["scenario"] == "baseline_2026"
    )
    assert set(summary["tagged_by_cohort"]) == {
        "post_release",
        "court_bail",
        "immigration",
        "court_sentence",
        "specials",
    }
    meta = json.loads((out_dir / "metadata.json").read_text())
    assert meta["schema_version"] == 1 and meta["seed"] == 7
    assert meta["params"]["orders.error_rate"] == P.PARAMS["orders.error_rate"].default
    assert (out_dir / "figures" / "overview.png").stat().st_size > 10_000
    assert (out_dir / "figures" / "breaches.png").stat().st_size > 10_000
    # a second run into the same result folder is refused without --force, replaces it with
    code, _, err = run_cli(capsys, "run", *SMALL, "--seed", "8", "--out", str(out_dir))
    assert code == 2 and "earlier run result" in err and "--force" in err
    assert json.loads((out_dir / "summary.json").read_text())["seed"] == 7
    code, _, _ = run_cli(capsys, "run", *SMALL, "--seed", "8", "--out", str(out_dir), "--force")
    assert code == 0
    assert json.loads((out_dir / "summary.json").read_text())["seed"] == 8
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folders left"


def test_scenarios_and_params_commands(capsys):
    code, out, _ = run_cli(capsys, "scenarios", "-v")
    assert code == 0 and "baseline_2026" in out
    code, out, _ = run_cli(capsys, "params", "--format", "markdown")
    assert code == 0 and "| field.fit_success_prob |" in out


def test_console_entry_point_exit_code():
    r = subprocess.run(
        [sys.executable, "-m", "em_abm", "run", "--years", "-2"], capture_output=True, text=True
    )
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "em-abm: error: argument --years: got '-2'; allowed: a number of years from 0.00274 "
        "(one day) to 50"
    )


def test_compare_writes_table_and_figure(capsys, tmp_path):
    out_dir = tmp_path / "cmp"
    code, out, err = run_cli(
        capsys,
        "compare",
        "baseline_2026",
        "baseline_2026@policy.response_queue=risk_first",
        "--seeds",
        "2",
        "--years",
        "0.2",
        "--scale",
        "0.03",
        "--jobs",
        "1",
        "--out",
        str(out_dir),
        "--no-progress",
    )
    assert code == 0, err
    table = pd.read_csv(out_dir / "compare.csv")
    runs = pd.read_csv(out_dir / "runs.csv")
    assert len(runs) == 4 and set(runs["arm"]) == {
        "baseline_2026",
        "baseline_2026@policy.response_queue=risk_first",
    }
    # same seeds in both arms; the reference differs from itself by exactly zero
    assert sorted(runs["seed"][runs["arm"] == "baseline_2026"]) == sorted(
        runs["seed"][runs["arm"] != "baseline_2026"]
    )
    ref = table[table["arm"] == "baseline_2026"]
    assert (ref["diff"] == 0).all()
    assert (table["counts"] == "a scaled sample: counts are 0.03 of England and Wales "
            "(scale 0.03)").all()  # fmt: skip
    assert (out_dir / "figures" / "compare.png").stat().st_size > 10_000
    assert "cost_total_gbp.total" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["compare", "baseline_2026"], "at least two arms"),
        (["compare", "baseline_2026", "nope"], "unknown scenario 'nope'"),
        (["compare", "baseline_2026", "baseline_2026@field.officers=-3"], "field.officers: got -3"),
        (
            ["compare", "baseline_2026", "serco_efficiency", "--seeds", "1"],
            "--seeds: got '1'; allowed: 2 to 10000",
        ),
    ],
)
def test_compare_bad_input(capsys, tmp_path, argv, needle):
    code, _, err = run_cli(capsys, *argv, "--out", str(tmp_path / "c"), "--no-progress")
    assert code == 2 and needle in err
    assert not (tmp_path / "c").exists()
