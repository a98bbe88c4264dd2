"""Killed at a random moment (SIGKILL: no clean-up runs), a run or a sweep never leaves a file
that a later read rejects, and the next run or resume tidies what was left; a killed sweep
leaves no worker process behind."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from em_abm import sweep as S
from em_abm.results import RunResult

KILLS = 5


def _kill_after(argv, delay, *, program=("-m", "em_abm")):
    proc = subprocess.Popen([sys.executable, *program, *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return proc.returncode


def _check_result_folder(out):
    """Absent, or a whole result: every file reads."""
    if not out.exists():
        return False
    r = RunResult.load(out)
    assert len(r.timeseries) > 0 and np.isfinite(r.summary["tagged"])
    json.loads((out / "metadata.json").read_text())
    assert sorted(p.name for p in (out / "figures").glob("*.png"))
    return True


def test_a_run_killed_at_random_moments_leaves_nothing_half_written(tmp_path):
    argv = ["run", "--years", "0.3", "--scale", "0.02", "--no-progress", "--force",
            "--set", "time.warmup_days=30"]  # fmt: skip
    out = tmp_path / "out"
    t0 = time.monotonic()
    assert _kill_after([*argv, "--out", str(out)], 120) == 0  # a whole run, for its duration
    whole = time.monotonic() - t0
    assert _check_result_folder(out)
    delays = np.random.default_rng(2026).uniform(0.2 * whole, 1.05 * whole, KILLS)
    for i, delay in enumerate(delays):
        if i % 2 == 0:  # over an existing result (--force): the old or the new one, whole
            _kill_after([*argv, "--out", str(out)], delay)
            assert _check_result_folder(out)
        else:  # into a new folder: nothing, or the whole result
            _kill_after([*argv, "--out", str(tmp_path / f"fresh-{i}")], delay)
            _check_result_folder(tmp_path / f"fresh-{i}")
    # The next save tidies what killed saves left next to the folders.
    assert _kill_after([*argv, "--out", str(out), "--no-figures"], 120) == 0
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(f".{out.name}.")]


SPEC = """
name = "killed"
scenario = "baseline_2026"
design = "lhs"
samples = 8
seed = 3
years = 1.0
scale = 0.03
outputs = ["tagged", "outstanding_visits"]
[vary]
"field.fit_success_prob" = [0.3, 0.5]
[fixed]
"time.warmup_days" = 30
"""


SWEEP_STORING_EVERY_RUN = """
import sys
from em_abm import sweep as S
S.sweep(S.load_spec(sys.argv[1]), sys.argv[2], jobs=1, flush_every=1)
"""


def _check_sweep_folder(out):
    """Every file a later read opens is whole: the manifest, each part, the results."""
    if not out.exists():
        return 0
    if (out / "manifest.json").exists():
        S.read_manifest(out)
    for p in (out / "runs").glob("part-*.parquet") if (out / "runs").exists() else []:
        pd.read_parquet(p)
    if (out / "results.parquet").exists():
        pd.read_parquet(out / "results.parquet")
    return len(S.stored_runs(out)) if (out / "manifest.json").exists() else 0


def _kill_after_a_store(argv, program, extra, timeout=300):
    """Run, and once a new part file has appeared (a run stored), kill ``extra`` seconds
    later: a random moment inside the next run, however fast or loaded the machine is."""
    runs = Path(argv[0]) / "runs"
    before = len(list(runs.glob("part-*.parquet"))) if runs.exists() else 0
    proc = subprocess.Popen([sys.executable, *program, *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    t0 = time.monotonic()
    while proc.poll() is None and time.monotonic() - t0 < timeout:
        if runs.exists() and len(list(runs.glob("part-*.parquet"))) > before:
            time.sleep(extra)
            break
        time.sleep(0.005)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return proc.returncode


def test_a_sweep_killed_at_random_moments_resumes_to_the_same_results(tmp_path):
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(SPEC, encoding="utf-8")
    # The sweep's own code, storing every run as it finishes (the command line stores every
    # 10 seconds, longer than this whole sweep), so that kills land between stores.
    program = ("-c", SWEEP_STORING_EVERY_RUN, str(spec_path))
    assert _kill_after([str(tmp_path / "whole")], 300, program=program) == 0
    out = tmp_path / "killed"
    stored = []
    # Each attempt is killed at a random moment after it stored its first run (timing kills as
    # fractions of a whole sweep's wall time put them all after the end on a loaded machine).
    for extra in np.random.default_rng(7).uniform(0.0, 0.05, KILLS):
        _kill_after_a_store([str(out)], program, extra)
        stored.append(_check_sweep_folder(out))
    assert stored == sorted(stored)  # resuming never loses a stored run
    assert any(0 < n < 8 for n in stored), stored  # some kill came between two stores
    assert _kill_after([str(out)], 300, program=program) == 0
    a, b = S.results(out), S.results(tmp_path / "whole")
    cols = [c for c in a.columns if c != "wall_time_s"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert not [p.name for p in out.rglob(".*")]  # no temporaries left behind


ORPHANS = """
name = "orphans"
scenario = "baseline_2026"
design = "lhs"
samples = 400
seed = 3
years = 0.05
scale = 0.01
outputs = ["tagged"]
[vary]
"field.fit_success_prob" = [0.3, 0.5]
"""


def _session(sid):
    """The live processes of session ``sid`` (pid: command line): a killed sweep's workers
    keep its session when they are handed to init."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getsid(int(entry)) != sid:
                continue
            with open(f"/proc/{entry}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        if state != b"Z":  # a zombie has ended; only its parent's wait is missing
            found[int(entry)] = command
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(("backend", "worker"), [("loky", "popen_loky"), ("dask", "spawn_main")])
def test_a_sweep_killed_with_its_workers_running_leaves_no_process(tmp_path, backend, worker):
    (tmp_path / "spec.toml").write_text(ORPHANS, encoding="utf-8")
    argv = [sys.executable, "-m", "em_abm", "sweep", str(tmp_path / "spec.toml"), "--jobs", "2",
            "--out", str(tmp_path / "out"), "--backend", backend, "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while sum(worker in c for c in _session(proc.pid).values()) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, _session(proc.pid)
            time.sleep(0.1)
        time.sleep(1.5)  # the workers are running runs
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 20
        while _session(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _session(proc.pid)  # workers and resource trackers alike
    finally:
        for pid in _session(proc.pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait()
