"""Sweeps against hostile specs and folders: sizes refused before anything is written, a
parameter set in two places, share groups a run would break, part files and manifests the
sweep did not write, two sweeps on one folder, a full disk, and only the sweep's own
temporary files deleted."""

import errno
import json
import re
import subprocess
import sys
import time

import pandas as pd
import pytest
from test_hostile import _one_line_exit_2  # one line, exit 2, nothing written

from em_abm import files
from em_abm import params as P
from em_abm import sweep as S
from em_abm.cli import main
from em_abm.errors import UserError

EM = """
name = "small"
scenario = "{scenario}"
design = "lhs"
samples = 2
seed = 5
years = 0.05
scale = 0.01
outputs = ["tagged"]
[vary]
"field.fit_success_prob" = [0.3, 0.45]
{vary}
[fixed]
"time.warmup_days" = 10
{fixed}
"""

ISHIGAMI = """
name = "ishigami"
model = "ishigami"
design = "{design}"
samples = {samples}
levels = {levels}
replicates = {replicates}
seed = 7
outputs = ["y"]
[vary]
x1 = []
x2 = []
x3 = []
"""


def _spec(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _em(tmp_path, vary="", fixed="", scenario="baseline_2026"):
    return _spec(tmp_path, EM.format(vary=vary, fixed=fixed, scenario=scenario))


def _ishigami(tmp_path, design="lhs", samples=4, levels=4, replicates=1):
    text = ISHIGAMI.format(design=design, samples=samples, levels=levels, replicates=replicates)
    return _spec(tmp_path, text)


# ---------------------------------------------------------------------------- 1. sizes
@pytest.mark.parametrize(
    ("design", "samples", "levels", "replicates", "message"),
    [
        ("lhs", 10**9, 4, 1, "samples: got 1000000000; allowed: an integer >= 1 and at most"),
        ("sobol", 2**40, 4, 1, "samples: got 1099511627776; allowed"),
        ("grid", 1, 10**6, 1, "levels: got 1000000; allowed: an integer >= 2 and at most 1,000"),
        ("lhs", 10, 4, 10**12, "replicates: got 1000000000000; allowed"),
        ("grid", 1, 1000, 1, "1,000 levels ^ 3 x 1 replicates = 1,000,000,000 runs"),
        ("sobol", 2**18, 4, 1, "262,144 samples x (3 + 2) x 1 replicates = 1,310,720 runs"),
        ("morris", 2**17, 4, 4, "131,072 trajectories x (3 + 1) x 4 replicates = 2,097,152 runs"),
        ("lhs", 10**5, 4, 11, "100,000 samples x 11 replicates = 1,100,000 runs"),
    ],
)
def test_a_sweep_too_large_is_refused_before_anything_is_sampled_or_written(
    capsys, tmp_path, design, samples, levels, replicates, message
):
    path = _ishigami(tmp_path, design, samples, levels, replicates)
    out = tmp_path / "out"
    t0 = time.monotonic()
    err = _one_line_exit_2(capsys, ["sweep", str(path), "--out", str(out)], out)
    assert message in err, err
    assert "allowed: " in err and time.monotonic() - t0 < 5
    assert [p.name for p in tmp_path.iterdir()] == ["spec.toml"]


def test_the_values_of_a_wide_sweep_are_limited_too():
    """A million runs of 21 factors: 21 million values in the run table."""
    names = [
        p.name
        for p in P.PARAMS.values()
        if p.kind == "float" and not p.group and p.lower is not None and p.upper is not None
    ][:21]
    data = {"design": "lhs", "samples": 10**6, "outputs": ["tagged"], "years": 0.05,
            "scale": 0.01, "vary": {n: [] for n in names}}  # fmt: skip
    with pytest.raises(UserError, match=r"1,000,000 runs of 21 factors; allowed: at most"):
        S.spec_from_dict(data)
    data["samples"] = 900_000  # 18.9 million values
    assert S.count_runs(S.spec_from_dict(data)) == 900_000


CROSSED = """
"policy.visit_queue" = { values = ["fcfs", "risk_first"] }
[vary.s]
a = {}
b = { "field.officers" = 400 }
c = { "field.officers" = 500 }
"""


@pytest.mark.parametrize(
    "text",
    [
        ISHIGAMI.format(design="sobol", samples=8, levels=4, replicates=2),
        ISHIGAMI.format(design="morris", samples=5, levels=6, replicates=3),
        ISHIGAMI.format(design="grid", samples=1, levels=3, replicates=2),
        ISHIGAMI.format(design="lhs", samples=7, levels=4, replicates=1),
        EM.format(scenario="baseline_2026", fixed="", vary=CROSSED),
        EM.replace('design = "lhs"', 'design = "grid"\nlevels = 3\nreplicates = 2')
        .replace('"field.fit_success_prob" = [0.3, 0.45]', "")
        .format(scenario="baseline_2026", fixed="", vary=CROSSED),
    ],
)
def test_the_counted_runs_are_the_runs_of_the_design(tmp_path, text):
    spec = S.load_spec(_spec(tmp_path, text))
    assert S.count_runs(spec) == len(S.run_table(spec))
    if spec.design == "sobol":
        second = S.Spec(**{**spec.__dict__, "second_order": True})
        assert S.count_runs(second) == len(S.run_table(second)) == 8 * (2 * 3 + 2) * 2


# ---------------------------------------------------------------------------- 2. set twice
@pytest.mark.parametrize(
    ("vary", "fixed", "places"),
    [
        ('"field.officers" = [400, 520]', '"field.officers" = 480',
         ("fixed.field.officers", "vary.field.officers")),
        ('"field.officers" = [400, 520]\n[vary.s]\nfcfs = {}\nfew = { "field.officers" = 5 }',
         "", ("vary.field.officers", "vary.s.few")),
        ('[vary.strategy]\nfcfs = {}\nfew = { "field.officers" = 5 }', '"field.officers" = 480',
         ("fixed.field.officers", "vary.strategy.few")),
        ('[vary.a]\nx = { "field.officers" = 5 }\n[vary.b]\ny = {}\nz = { "field.officers" = 6 }',
         "", ("vary.a.x", "vary.b.z")),
        ('"policy.visit_queue" = { values = ["fcfs", "risk_first"] }\n'
         '[vary.s]\nr = { "policy.visit_queue" = "risk_first" }', "",
         ("vary.policy.visit_queue", "vary.s.r")),
    ],
)  # fmt: skip
def test_a_parameter_set_in_two_places_is_refused_naming_both(capsys, tmp_path, vary, fixed,
                                                              places):  # fmt: skip
    path = _em(tmp_path, vary=vary, fixed=fixed)
    out = tmp_path / "out"
    err = _one_line_exit_2(capsys, ["sweep", str(path), "--out", str(out)], out)
    assert f"set in {places[0]} and also in {places[1]}" in err, err


def test_levels_of_one_factor_may_set_the_same_parameters():
    spec = S.load_spec("experiments/sweeps/fitting_and_capacity.toml")
    assert S.count_runs(spec) == len(S.run_table(spec))


# ---------------------------------------------------------------------------- 3. share groups
ESCALATION = ("escalation.reissue_share", "escalation.revoke_share",
              "escalation.left_active_share")  # fmt: skip


def _shares(r, v, left):
    return ", ".join(f'"{n}" = {x}' for n, x in zip(ESCALATION, (r, v, left), strict=True))


@pytest.mark.parametrize(
    ("vary", "fixed", "message"),
    [
        ("", '"escalation.reissue_share" = 0.6', "fixed: escalation: shares must sum to 1"),
        ('[vary.s]\nbase = {}\nmore = { "escalation.reissue_share" = 0.6 }', "",
         "vary.s.more: escalation: shares must sum to 1"),
        ('"escalation.reissue_share" = [0.5, 0.6]', "",
         "vary.escalation.reissue_share: a share of escalation, whose shares must sum to 1"),
        ('"escalation.reissue_share" = { values = [0.55, 0.6] }', "",
         "vary.escalation.reissue_share.0.6: escalation: shares must sum to 1"),
        # Each factor sets part of the group; a run with b = s breaks it, whatever a is.
        ('[vary.a]\np = { "escalation.reissue_share" = 0.6, "escalation.revoke_share" = 0.25 }\n'
         'q = { "escalation.reissue_share" = 0.5, "escalation.revoke_share" = 0.35 }\n'
         '[vary.b]\nr = { "escalation.left_active_share" = 0.15 }\n'
         's = { "escalation.left_active_share" = 0.2 }', "",
         "vary.b.s (the other factors at their first level): escalation: shares must sum to 1"),
    ],
)  # fmt: skip
def test_a_run_that_would_break_a_share_group_is_refused(capsys, tmp_path, vary, fixed,
                                                         message):  # fmt: skip
    path = _em(tmp_path, vary=vary, fixed=fixed)
    out = tmp_path / "out"
    err = _one_line_exit_2(capsys, ["sweep", str(path), "--out", str(out)], out)
    assert message in err, err
    assert "allowed:" in err


def test_levels_that_keep_the_shares_summing_to_one_are_accepted(tmp_path):
    levels = f"low = {{ {_shares(0.5, 0.35, 0.15)} }}\nhigh = {{ {_shares(0.7, 0.15, 0.15)} }}"
    spec = S.load_spec(_em(tmp_path, vary=f"[vary.escalation]\n{levels}"))
    assert S.count_runs(spec) == 4
    # Two factors that share the group out: a sets two shares summing to 0.85, b the third.
    split = (
        '[vary.a]\np = { "escalation.reissue_share" = 0.6, "escalation.revoke_share" = 0.25 }\n'
        'q = { "escalation.reissue_share" = 0.5, "escalation.revoke_share" = 0.35 }\n'
        '[vary.b]\nr = { "escalation.left_active_share" = 0.15 }'
    )
    assert S.count_runs(S.load_spec(_em(tmp_path, vary=split))) == 4


def test_the_shares_are_checked_after_the_scenarios_dated_changes_too(capsys, tmp_path):
    (tmp_path / "changing.toml").write_text(
        'name = "changing"\nstart = 2026-01-01\n[[changes]]\ndate = 2026-01-10\n'
        + "\n".join(_shares(0.5, 0.35, 0.15).split(", ")[:2])
        + "\n",
        encoding="utf-8",
    )
    # Sums to one from the start, but not once the change sets two of the three shares.
    vary = f"[vary.s]\nbase = {{}}\nfewer = {{ {_shares(0.55, 0.25, 0.2)} }}"
    path = _em(tmp_path, vary=vary, scenario=str(tmp_path / "changing.toml"))
    err = _one_line_exit_2(capsys, ["sweep", str(path), "--out", str(tmp_path / "out")])
    assert "vary.s.fewer" in err and "change of 2026-01-10: escalation" in err, err


# ---------------------------------------------------------------------------- 4. part files
def _part_mutations():
    def outside(df):
        extra = df.iloc[[0]].copy()
        extra["run_id"] = 4
        return extra, "run 4 is not a run of this sweep"

    def moved(df):
        df = df.iloc[[1]].copy()
        df["x1"] = 0.5
        return df, "run 1: x1 is 0.5, the design's"

    def seed(df):
        df = df.copy()
        df["seed"] += 1
        return df, "run 0: seed is"

    def no_output(df):
        return df.drop(columns="y"), "no column 'y'"

    def status(df):
        df = df.copy()
        df["status"] = "fine"
        return df, "has a status not ok or error"

    def text_ids(df):
        df = df.copy()
        df["run_id"] = df["run_id"].astype(str)
        return df, "run_id holds .* values, not run numbers"

    return [outside, moved, seed, no_output, status, text_ids]


@pytest.mark.parametrize("mutate", _part_mutations(), ids=lambda f: f.__name__)
def test_a_part_file_that_does_not_match_the_design_is_refused(capsys, tmp_path, mutate):
    path = _ishigami(tmp_path)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "1", "--no-progress"]) == 0
    capsys.readouterr()
    rows = pd.read_parquet(out / "results.parquet")
    bad, message = mutate(rows)
    bad.to_parquet(out / "runs" / "part-00007.parquet", index=False)
    with pytest.raises(UserError, match=message) as e:
        S.results(out)
    assert "part-00007.parquet" in str(e.value) and "\n" not in str(e.value)
    err = _one_line_exit_2(capsys, ["sweep", str(path), "--out", str(out), "--no-progress"])
    assert "part-00007.parquet" in err and re.search(message, err)
    _one_line_exit_2(capsys, ["analyze", str(out)])


@pytest.mark.parametrize("kind", ["folder", "fifo", "results folder"])
def test_a_part_file_that_is_not_a_regular_file_is_refused(capsys, tmp_path, kind):
    import os

    path = _ishigami(tmp_path)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "1", "--no-progress"]) == 0
    capsys.readouterr()
    if kind == "folder":
        (out / "runs" / "part-00009.parquet").mkdir()
    elif kind == "fifo":
        os.mkfifo(out / "runs" / "part-00009.parquet")
    else:
        (out / "results.parquet").unlink()
        (out / "results.parquet").mkdir()
    err = _one_line_exit_2(capsys, ["sweep", str(path), "--out", str(out), "--no-progress"])
    assert ("part-00009.parquet" in err or "results.parquet" in err) and "sweep part" in err


# ---------------------------------------------------------------------------- 8. manifests
@pytest.mark.parametrize(
    "manifest",
    [
        {"spec": 5, "spec_hash": "x"},
        {"spec": {"factors": "x"}, "spec_hash": "x"},
        [],
        "spec",
        {"spec_hash": "x"},
        None,  # the written spec, with a sample count of the wrong type
        {"spec": {"factors": [{"name": "x1"}], "outputs": ["y"], "model": "ishigami"},
         "spec_hash": "x"},
    ],
)  # fmt: skip
def test_a_manifest_of_another_shape_is_one_line_naming_it(capsys, tmp_path, manifest):
    path = _ishigami(tmp_path, samples=10)
    out = tmp_path / "out"
    S.sweep(S.load_spec(path), out)
    if manifest is None:
        manifest = json.loads((out / "manifest.json").read_text())
        manifest["spec"]["samples"] = "ten"
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    err = _one_line_exit_2(capsys, ["analyze", str(out)])
    assert str(out / "manifest.json") in err, err
    err = _one_line_exit_2(capsys, ["sweep", str(path), "--out", str(out)])
    assert "manifest.json" in err or "different spec" in err, err
    assert not (out / "analysis").exists()


# ---------------------------------------------------------------------------- 5. one writer
SLOW_SWEEP = """
import sys, time
from pathlib import Path
from em_abm import sweep as S

real = S.IshigamiRunner.run
def waiting(self, spec, values, seed):  # every run waits for the test to let it go
    deadline = time.monotonic() + 60
    while not Path(sys.argv[3]).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return real(self, spec, values, seed)
S.IshigamiRunner.run = waiting
S.sweep(S.load_spec(sys.argv[1]), sys.argv[2], jobs=1, flush_every=3)
"""


def test_a_second_sweep_on_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    path = _ishigami(tmp_path, samples=20)
    out, go = tmp_path / "out", tmp_path / "go"
    first = subprocess.Popen([sys.executable, "-c", SLOW_SWEEP, str(path), str(out), str(go)])
    try:
        deadline = time.monotonic() + 60
        while not (out / "manifest.json").exists() and time.monotonic() < deadline:
            assert first.poll() is None
            time.sleep(0.02)
        second = subprocess.run(
            [sys.executable, "-m", "em_abm", "sweep", str(path), "--out", str(out), "--jobs",
             "1", "--no-progress"], capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert first.poll() is None  # the first still runs (its runs wait for `go`)
        go.touch()
        assert first.wait(timeout=60) == 0
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 2, second.stderr
    assert second.stderr.count("\n") == 1
    assert "--out" in second.stderr and "being written by another em-abm process" in second.stderr
    runs = S.results(out)
    assert runs["run_id"].tolist() == list(range(20)) and (runs["status"] == "ok").all()
    stored = pd.concat([pd.read_parquet(p) for p in (out / "runs").glob("part-*.parquet")])
    assert len(stored) == 20  # every run once: the second sweep ran nothing
    assert not files.lock_path(out).exists()


# ---------------------------------------------------------------------------- 9. temporaries
def test_only_the_sweeps_own_temporary_files_are_deleted(tmp_path):
    spec = S.load_spec(_ishigami(tmp_path))
    out = tmp_path / "out"
    S.sweep(spec, out)
    ours = [out / ".manifest.json.tmp", out / ".results.parquet.tmp",
            out / "runs" / ".part-00003.parquet.tmp"]  # fmt: skip
    theirs = [out / ".notes.tmp", out / "runs" / ".draft.tmp", out / ".part-00003.parquet.tmp",
              out / "runs" / ".results.parquet.tmp.tmp"]  # fmt: skip
    for p in ours + theirs:
        p.write_text("x")
    assert S.sweep(spec, out).ran == 0
    assert not [p for p in ours if p.exists()]
    assert all(p.read_text() == "x" for p in theirs)


# ---------------------------------------------------------------------------- a full disk
def _full_disk(path, write):
    raise OSError(errno.ENOSPC, "No space left on device", str(path))


@pytest.mark.parametrize("where", ["manifest", "part"])
def test_a_full_disk_is_an_io_failure_in_one_line(capsys, tmp_path, monkeypatch, where):
    path = _ishigami(tmp_path)
    out = tmp_path / "out"
    if where == "manifest":
        monkeypatch.setattr(S, "write_atomic", _full_disk)
    else:

        def no_room(self, *a, **k):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(pd.DataFrame, "to_parquet", no_room)
    with pytest.raises(files.IOFailure, match="No space left on device; free some space"):
        S.sweep(S.load_spec(path), out)
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "1", "--no-progress"]) == 74
    err = capsys.readouterr().err
    assert err.startswith("em-abm: I/O error: cannot write") and err.count("\n") == 1, err


def test_two_factors_each_within_tolerance_that_break_a_share_group_together(tmp_path):
    from em_abm import sweep as S
    from em_abm.errors import UserError

    spec = {
        "design": "grid", "years": 0.05, "scale": 0.01, "outputs": ["tagged"],
        "vary": {
            "escalation.reissue_share": {"values": [0.55, 0.5500009]},
            "escalation.revoke_share": {"values": [0.30, 0.3000009]},
        },
    }  # fmt: skip
    with pytest.raises(UserError, match="together"):
        S.spec_from_dict(spec)
