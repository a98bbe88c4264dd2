"""Output folders and input files (em_abm/files.py): a user's files are never deleted, a result
is replaced only with --force, a second writer is refused, every input is a regular file under
a size limit, and each failure is one line with its own exit status."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from em_abm import files
from em_abm.cli import main
from em_abm.errors import UserError

SMALL = ["--years", "0.02", "--scale", "0.01", "--no-progress"]
PY = sys.executable


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str, prefix: str = "em-abm: error: ") -> None:
    assert err.startswith(prefix) and err.count("\n") == 1, err


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# ---------------------------------------------------------------------------- never delete
def test_a_users_file_beside_a_metadata_json_survives_run_without_force(capsys, tmp_path):
    """The red-team's case: a folder holding thesis.txt and a metadata.json was taken for an
    earlier result and replaced whole."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.txt").write_text("three years of work")
    (out / "metadata.json").write_text(json.dumps({"schema_version": 1}))
    before = _tree(out)
    code, _, err = _cli(capsys, "run", *SMALL, "--no-figures", "--out", str(out))
    assert code == 2 and "did not write" in err
    _one_line(err)
    assert _tree(out) == before


def test_force_writes_beside_a_users_files_and_refuses_to_replace_one(capsys, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.txt").write_text("keep")
    (out / "figures").mkdir()
    (out / "figures" / "my_plot.png").write_bytes(b"png")
    # figures/ holds the user's file and the result would replace figures/: refused, whole.
    code, _, err = _cli(capsys, "run", *SMALL, "--out", str(out), "--force")
    assert code == 2 and "figures" in err
    _one_line(err)
    assert sorted(_tree(out)) == ["figures/my_plot.png", "thesis.txt"]
    # Without figures there is no clash: em-abm's files go beside the user's.
    code, _, err = _cli(capsys, "run", *SMALL, "--out", str(out), "--force", "--no-figures")
    assert code == 0, err
    tree = _tree(out)
    assert tree["thesis.txt"] == b"keep" and tree["figures/my_plot.png"] == b"png"
    assert {"summary.json", "metadata.json", "timeseries.parquet", files.RECORD} <= set(tree)
    # Again with --force: em-abm's own files are replaced, the user's are not touched.
    code, _, err = _cli(capsys, "run", *SMALL, "--seed", "9", "--out", str(out), "--force",
                        "--no-figures")  # fmt: skip
    assert code == 0, err
    assert json.loads((out / "summary.json").read_text())["seed"] == 9
    assert (out / "thesis.txt").read_text() == "keep"


def test_an_earlier_result_is_replaced_only_with_force_and_whole(capsys, tmp_path):
    out = tmp_path / "r"
    assert _cli(capsys, "run", *SMALL, "--out", str(out))[0] == 0
    record = json.loads((out / files.RECORD).read_text())
    assert record["kind"] == "run" and "figures/overview.png" in record["files"]
    before = _tree(out)
    code, _, err = _cli(capsys, "run", *SMALL, "--seed", "2", "--out", str(out))
    assert code == 2 and "earlier run result" in err and "--force" in err
    assert _tree(out) == before
    code, _, err = _cli(capsys, "run", *SMALL, "--seed", "2", "--out", str(out), "--force",
                        "--no-figures")  # fmt: skip
    assert code == 0, err
    assert not (out / "figures").exists()  # the whole earlier result went, none of it stays
    assert json.loads((out / "summary.json").read_text())["seed"] == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_result_of_another_kind_is_not_replaced(capsys, tmp_path):
    """A compare folder is not a run's result: its metadata.json is not em-abm's run file."""
    out = tmp_path / "c"
    out.mkdir()
    (out / "metadata.json").write_text(json.dumps({"arms": ["a", "b"]}))
    (out / "compare.csv").write_text("x")
    code, _, err = _cli(capsys, "run", *SMALL, "--out", str(out), "--force", "--no-figures")
    assert code == 2 and "metadata.json" in err
    assert sorted(_tree(out)) == ["compare.csv", "metadata.json"]


def test_a_link_to_a_folder_is_followed_and_kept(capsys, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    code, _, err = _cli(capsys, "run", *SMALL, "--no-figures", "--out", str(link))
    assert code == 0, err
    assert link.is_symlink() and (real / "summary.json").is_file()
    # Replaced through the link with --force: the link stays a link to the same folder.
    code, _, err = _cli(capsys, "run", *SMALL, "--no-figures", "--out", str(link), "--force")
    assert code == 0, err
    assert link.is_symlink() and link.resolve() == real and (real / "summary.json").is_file()


def test_a_link_inside_a_result_is_never_followed_when_it_is_replaced(capsys, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.csv").write_text("keep")
    out = tmp_path / "r"
    assert _cli(capsys, "run", *SMALL, "--no-figures", "--out", str(out))[0] == 0
    (out / "shortcut").symlink_to(precious)
    code, _, err = _cli(capsys, "run", *SMALL, "--no-figures", "--out", str(out), "--force")
    assert code == 0, err
    assert (precious / "data.csv").read_text() == "keep"
    assert (out / "shortcut").is_symlink()  # not em-abm's, so not deleted


@pytest.mark.parametrize("where", ["package", "scenarios_file", "cwd", "parent_of_cwd"])
def test_folders_inside_the_package_and_the_current_folder_are_refused(
    capsys, tmp_path, monkeypatch, where
):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    out = {
        "package": str(files.package_dir() / "results"),
        "scenarios_file": str(files.package_dir() / "scenarios" / "x.toml"),
        "cwd": ".",
        "parent_of_cwd": "..",
    }[where]
    before = sorted(os.listdir(files.package_dir() / "scenarios"))
    code, _, err = _cli(capsys, "run", *SMALL, "--out", out, "--force")
    assert code == 2
    _one_line(err)
    assert sorted(os.listdir(files.package_dir() / "scenarios")) == before
    assert os.listdir(work) == []
    assert _cli(capsys, "scenarios")[0] == 0


def test_an_out_name_too_long_is_one_line(capsys, tmp_path):
    code, _, err = _cli(capsys, "run", *SMALL, "--out", str(tmp_path / ("x" * 300)))
    assert code == 2 and "too long" in err
    _one_line(err)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------- one writer
_HOLD = """
import sys, time
from pathlib import Path
from em_abm import files
with files.locked(files.resolve_out(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_writer_of_the_same_folder_is_refused_and_a_killed_holders_lock_frees(
    capsys, tmp_path
):
    out = tmp_path / "r"
    holder = subprocess.Popen([PY, "-c", _HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code, _, err = _cli(capsys, "run", *SMALL, "--out", str(out))
        assert code == 2 and "being written by another em-abm process" in err
        _one_line(err)
        assert not out.exists()
        holder.send_signal(signal.SIGKILL)  # no clean-up runs: the kernel drops the lock
        holder.wait(timeout=10)
        code, _, err = _cli(capsys, "run", *SMALL, "--no-figures", "--out", str(out))
        assert code == 0, err
        assert not files.lock_path(files.resolve_out(out)).exists()  # removed on release
    finally:
        holder.kill()
        holder.wait()


def test_two_threads_cannot_write_one_folder_and_the_lock_is_reentrant(tmp_path):
    import threading

    out = files.resolve_out(tmp_path / "r")
    errors = []
    with files.locked(out):
        with files.locked(out):  # the same thread again: allowed (check, then save)
            pass

        def other():
            try:
                with files.locked(out):
                    pass
            except UserError as e:
                errors.append(str(e))

        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert errors and "being written by another em-abm" in errors[0]


def test_two_concurrent_runs_on_one_folder_leave_one_whole_result(tmp_path):
    out = tmp_path / "r"
    argv = [PY, "-m", "em_abm", "run", "--years", "0.5", "--scale", "0.05", "--no-progress",
            "--no-figures", "--out", str(out)]  # fmt: skip
    procs = [subprocess.Popen([*argv, "--seed", str(s)], stderr=subprocess.PIPE, text=True)
             for s in (1, 2)]  # fmt: skip
    codes, errs = zip(*((p.wait(timeout=120), p.stderr.read()) for p in procs), strict=True)
    assert sorted(codes) == [0, 2], errs  # one wrote, the other was refused in one line
    loser = errs[codes.index(2)].strip()
    assert "being written by another" in loser or "earlier run result" in loser
    seed = json.loads((out / "summary.json").read_text())["seed"]
    assert seed == (1, 2)[codes.index(0)]


# ---------------------------------------------------------------------------- bad inputs
def _special_files(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    sparse = tmp_path / "sparse.toml"
    with open(sparse, "wb") as f:
        f.truncate(100 * 1024**3)  # 100 GB, no blocks written
    return {"/dev/zero": Path("/dev/zero"), "fifo": fifo, "sparse": sparse}


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "sparse"])
@pytest.mark.parametrize(
    "argv",
    [
        ["run", "{f}", "--out", "{out}"],
        ["validate", "{f}"],
        ["targets", "--file", "{f}"],
        ["calibrate", "--config", "{f}"],
        ["sweep", "{f}", "--out", "{out}"],
        ["dashboard", "{f}", "--port", "1"],
    ],
    ids=["run", "validate", "targets", "calibrate", "sweep", "dashboard"],
)
def test_every_input_is_a_regular_file_under_its_limit(capsys, tmp_path, kind, argv):
    f = _special_files(tmp_path)[kind]
    out = tmp_path / "out"
    t0 = time.perf_counter()
    code, _, err = _cli(capsys, *(a.format(f=f, out=out) for a in argv))
    assert time.perf_counter() - t0 < 5  # refused at once: nothing read, nothing waited for
    assert code == 2, err
    _one_line(err)
    assert ("regular file" in err or "MB" in err) and not out.exists()


def test_a_run_result_changed_by_hand_is_refused_in_one_line(tmp_path):
    from em_abm.results import RunResult

    good = tmp_path / "good"
    assert main(["run", *SMALL, "--no-figures", "--out", str(good)]) == 0
    cases = {
        "metadata_list": ("metadata.json", b"[1, 2]"),
        "metadata_bad_json": ("metadata.json", b"{"),
        "summary_number": ("summary.json", b"5"),
        "params_text": ("metadata.json", json.dumps({"schema_version": 1, "params": "x"})),
        "parquet_garbage": ("timeseries.parquet", b"PAR1 not really"),
        "parquet_no_date": ("timeseries.parquet", None),
    }
    import shutil

    import pandas as pd

    for name, (file, content) in cases.items():
        folder = tmp_path / name
        shutil.copytree(good, folder)
        if content is None:
            pd.DataFrame({"x": [1.0]}).to_parquet(folder / file)
        else:
            (folder / file).write_bytes(content if isinstance(content, bytes) else
                                        content.encode())  # fmt: skip
        with pytest.raises(UserError) as e:
            RunResult.load(folder)
        assert "\n" not in str(e.value), name
    (tmp_path / "dev").mkdir()
    for n in ("summary.json", "timeseries.parquet"):
        (tmp_path / "dev" / n).write_text("{}")
    (tmp_path / "dev" / "metadata.json").symlink_to("/dev/zero")
    with pytest.raises(UserError, match="regular file"):
        RunResult.load(tmp_path / "dev")


@pytest.mark.parametrize(
    ("value", "expect"),
    [("1e-9", "--years"), ("0.0001", "--years")],
)
def test_a_run_shorter_than_a_day_is_refused(capsys, tmp_path, value, expect):
    code, _, err = _cli(capsys, "run", "--years", value, "--scale", "0.01", "--out",
                        str(tmp_path / "o"))  # fmt: skip
    assert code == 2 and expect in err and "one day" in err


def test_a_scale_below_one_thousandth_is_refused(capsys, tmp_path):
    code, _, err = _cli(capsys, "run", "--years", "0.1", "--scale", "0.00001", "--out",
                        str(tmp_path / "o"))  # fmt: skip
    assert code == 2 and "--scale" in err and "0.001" in err


@pytest.mark.parametrize("start", ["9999-12-01", "0001-01-01", "1899-01-01"])
def test_a_start_date_outside_the_calendar_is_one_line(capsys, tmp_path, start):
    f = tmp_path / "s.toml"
    f.write_text(f'name = "s"\nstart = {start}\n')
    code, _, err = _cli(capsys, "run", str(f), *SMALL, "--out", str(tmp_path / "o"))
    assert code == 2 and "start" in err and "2100" in err
    _one_line(err)
    f.write_text(f'name = "s"\nstart = 2026-01-01\n[[changes]]\ndate = {start}\n'
                 "field.officers = 3\n")  # fmt: skip
    code, _, err = _cli(capsys, "validate", str(f))
    assert code == 2
    _one_line(err)


def test_a_chain_of_500_base_scenarios_is_one_line(capsys, tmp_path):
    (tmp_path / "s0.toml").write_text('name = "s0"\nbase = "baseline_2026"\n')
    for i in range(1, 500):
        (tmp_path / f"s{i}.toml").write_text(f'name = "s{i}"\nbase = "s{i - 1}.toml"\n')
    code, _, err = _cli(capsys, "validate", str(tmp_path / "s499.toml"))
    assert code == 2 and "at most 16" in err
    _one_line(err)
    code, _, err = _cli(capsys, "validate", str(tmp_path / "s10.toml"))  # 12 deep: fine
    assert code == 0, err


@pytest.mark.parametrize("overrides", ["field.officers=3", ["field.officers"], 5, {3: 1}])
def test_api_overrides_of_the_wrong_type_name_overrides(overrides):
    import em_abm

    with pytest.raises(UserError, match=r"^overrides: ") as e:
        em_abm.run(years=0.02, scale=0.01, overrides=overrides)
    assert "\n" not in str(e.value)


def test_api_override_errors_name_overrides_not_the_command_line(capsys):
    """The Python API names the dict's key, ``overrides['field.officers']``; the command line
    names its option, ``--set field.officers``."""
    import em_abm

    with pytest.raises(UserError, match=r"^overrides\['field\.officers'\]: got 'x'; allowed"):
        em_abm.run(years=0.02, scale=0.01, overrides={"field.officers": "x"})
    with pytest.raises(UserError, match=r"^overrides\['field\.oficers'\]: unknown parameter"):
        em_abm.run(years=0.02, scale=0.01, overrides={"field.oficers": 3})
    with pytest.raises(UserError, match=r"^overrides: escalation: shares must sum to 1"):
        em_abm.run(years=0.02, scale=0.01, overrides={"escalation.revoke_share": 0.99})
    code, _, err = _cli(capsys, "run", "--set", "field.officers=-3", "--years", "0.02")
    assert code == 2 and "em-abm: error: --set field.officers: got -3; allowed" in err


# ---------------------------------------------------------------------------- I/O failures
def test_a_broken_pipe_ends_quietly(tmp_path):
    """`em-abm run | head -1`: the reader goes away; no traceback, the result still saved."""
    out = tmp_path / "r"
    cmd = (f"{PY} -m em_abm run --years 0.02 --scale 0.01 --no-progress --no-figures "
           f"--out {out} | head -c 1 >/dev/null; echo ${{PIPESTATUS[0]}}")  # fmt: skip
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert r.stderr == "", r.stderr
    assert r.stdout.strip() in ("0", "141")  # 0 if the summary fitted in the pipe's buffer
    assert (out / "summary.json").is_file()


def test_printing_into_a_closed_pipe_is_exit_141(monkeypatch, capsys):
    from em_abm import cli

    def broken(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "cmd_params", broken)
    r, w = os.pipe()
    saved = os.dup(1)
    try:
        os.dup2(w, 1)
        code = cli.main(["params"])
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(r)
        os.close(w)
    assert code == 141 and capsys.readouterr().err == ""


_FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
    from em_abm.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_a_file_too_large_for_the_file_system_is_one_line_exit_74_nothing_left(tmp_path):
    out = tmp_path / "r"
    r = subprocess.run(
        [PY, "-c", _FULL_DISK, "run", "--years", "0.2", "--scale", "0.02", "--no-progress",
         "--out", str(out)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")},
    )  # fmt: skip
    assert r.returncode == files.EXIT_IO, r.stderr
    assert r.stderr.startswith("em-abm: I/O error: ") and r.stderr.count("\n") == 1, r.stderr
    assert "File too large" in r.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_full_disk_while_saving_is_one_line_exit_74(monkeypatch, capsys, tmp_path):
    import errno

    import pyarrow.parquet as pq

    def full(table, where, *a, **k):  # what pandas' to_parquet and em-abm's tables call
        raise OSError(errno.ENOSPC, "No space left on device", str(where))

    monkeypatch.setattr(pq, "write_table", full)
    out = tmp_path / "r"
    code, _, err = _cli(capsys, "run", *SMALL, "--out", str(out))
    assert code == files.EXIT_IO and "No space left on device" in err and "free some" in err
    _one_line(err, "em-abm: I/O error: ")
    assert os.listdir(tmp_path) == []


def test_targets_out_never_replaces_a_users_file(capsys, tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("my notes")
    code, _, err = _cli(capsys, "targets", "--seeds", "1", "--out", str(notes))
    assert code == 2 and "not written by em-abm targets" in err
    _one_line(err)
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")  # the twin of t.md is the user's too
    code, _, err = _cli(capsys, "targets", "--seeds", "1", "--out", str(tmp_path / "t.md"))
    assert code == 2 and "t.csv" in err
    assert notes.read_text() == "my notes" and (tmp_path / "t.csv").read_text() == "a,b\n1,2\n"
    code, _, err = _cli(capsys, "targets", "--out", str(files.package_dir() / "t.md"))
    assert code == 2 and "inside the installed package" in err


# ---------------------------------------------------------------------------- red-team cases
def test_a_tampered_record_never_makes_em_abm_delete_other_files(capsys, tmp_path):
    """A record listing paths outside the folder, or files put there later, deletes none of
    them: only files with the size and time em-abm recorded count as its own."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    out = tmp_path / "r"
    assert _cli(capsys, "run", *SMALL, "--no-figures", "--out", str(out))[0] == 0
    (out / "notes.txt").write_text("mine")
    record = json.loads((out / files.RECORD).read_text())
    record["files"][str(victim)] = [4, 0]
    record["files"]["../victim.txt"] = [4, 0]
    record["files"]["notes.txt"] = [4, 0]
    (out / files.RECORD).write_text(json.dumps(record))
    code, _, err = _cli(capsys, "run", *SMALL, "--no-figures", "--out", str(out), "--force")
    assert code == 0, err
    assert victim.read_text() == "keep" and (out / "notes.txt").read_text() == "mine"


def test_a_users_files_named_like_em_abms_own_beside_the_out_folder_are_left_alone(
    capsys, tmp_path
):
    out = tmp_path / "r"
    lock = files.lock_path(out)
    lock.write_text("my notes")
    code, _, err = _cli(capsys, "run", *SMALL, "--no-figures", "--out", str(out))
    assert code == 2 and "not em-abm's lock file" in err
    assert lock.read_text() == "my notes"
    lock.unlink()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    lock.symlink_to(victim)
    code, _, err = _cli(capsys, "run", *SMALL, "--no-figures", "--out", str(out))
    assert code == 2 and "is a link" in err and victim.read_text() == "keep"
    lock.unlink()
    backup = tmp_path / ".r.tmp-999999-backup"
    backup.mkdir()
    (backup / "data.txt").write_text("keep")
    old = tmp_path / ".r.old-999999"
    old.mkdir()
    (old / "data.txt").write_text("keep")
    code, _, err = _cli(capsys, "run", *SMALL, "--no-figures", "--out", str(out))
    assert code == 0, err
    assert (backup / "data.txt").read_text() == "keep" and (old / "data.txt").read_text() == "keep"
    assert not (out / "data.txt").exists()


def test_a_hand_made_metadata_json_is_not_taken_for_an_old_result(capsys, tmp_path):
    out = tmp_path / "leg"
    (out / "figures").mkdir(parents=True)
    (out / "metadata.json").write_text(json.dumps({"schema_version": 1}))
    (out / "figures" / "holiday.png").write_bytes(b"png")
    (out / "notes.txt").write_text("mine")
    code, _, err = _cli(capsys, "run", *SMALL, "--out", str(out), "--force")
    assert code == 2 and ("metadata.json" in err or "figures" in err)
    assert (out / "figures" / "holiday.png").read_bytes() == b"png"


def test_a_linked_figures_folder_is_refused_before_the_run(capsys, tmp_path, monkeypatch):
    out = tmp_path / "r"
    assert _cli(capsys, "run", *SMALL, "--out", str(out))[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    import shutil

    shutil.rmtree(out / "figures")
    (out / "figures").symlink_to(elsewhere)
    (out / "notes.txt").write_text("mine")
    ran = []
    import em_abm.results

    real = em_abm.results.run_model
    monkeypatch.setattr(em_abm.results, "run_model", lambda *a, **k: ran.append(1) or real(*a, **k))
    code, _, err = _cli(capsys, "run", *SMALL, "--out", str(out), "--force")
    assert code == 2 and "figures" in err and not ran


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["validate", "{f}"], 'name = "x"\nstart = 2026-01-01\n[params.' + "a." * 5000 + "b]\n"),
        (
            ["validate", "{f}"],
            'name = "x"\nstart = 2026-01-01\n[[changes]]\ndate = 2026-02-01\n'
            + "a." * 5000
            + "b = 1\n",
        ),
        (["targets", "--file", "{f}"], "[[target]]\n" + "a." * 5000 + "b = 1\n"),
        (["calibrate", "--config", "{f}"], "[free." + "a." * 5000 + "b]\n"),
        (["sweep", "{f}", "--out", "{out}"], "description." + "a." * 5000 + "b = 1\n"),
    ],
    ids=["scenario", "change", "targets", "calibrate", "sweep"],
)
def test_deeply_nested_tables_are_one_line(capsys, tmp_path, argv, text):
    f = tmp_path / "deep.toml"
    f.write_text(text)
    code, _, err = _cli(capsys, *(a.format(f=f, out=tmp_path / "o") for a in argv))
    assert code == 2 and "nested" in err
    _one_line(err)


def test_line_breaks_in_names_stay_on_one_line(capsys, tmp_path):
    code, _, err = _cli(capsys, "run", str(tmp_path / "new\nline.toml"))
    assert code == 2
    _one_line(err)
    code, _, err = _cli(capsys, "run", *SMALL, "--set", "field.officers=300\nfield.officers=1",
                        "--out", str(tmp_path / "o"))  # fmt: skip
    assert code == 2 and "one line" in err
    _one_line(err)


@pytest.mark.parametrize("argv", [["compare", "a", "b", "--seeds", "100000000000"],
                                  ["sweep", "s.toml", "--out", "o", "--jobs", "100000"],
                                  ["targets", "--seeds", "100000000"]])  # fmt: skip
def test_sizes_that_would_exhaust_memory_are_refused_at_once(capsys, argv):
    code, _, err = _cli(capsys, *argv)
    assert code == 2
    _one_line(err)


def test_a_closed_stdout_is_not_a_traceback():
    r = subprocess.run(f"{PY} -m em_abm params >&-", shell=True, capture_output=True, text=True,
                       timeout=60)  # fmt: skip
    assert r.returncode == 0 and r.stderr == ""


def test_an_experiment_never_writes_among_a_users_files(capsys, tmp_path):
    out = tmp_path / "u"
    out.mkdir()
    (out / "summary.md").write_text("MINE")
    code, _, err = _cli(capsys, "experiment", "pilots", "--quick", "--out", str(out),
                        "--no-progress")  # fmt: skip
    assert code == 2 and "not this experiment's report" in err
    assert [p.name for p in out.iterdir()] == ["summary.md"]


def test_a_sweep_into_a_folder_holding_hidden_files_is_refused(capsys, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('design = "grid"\nyears = 0.05\nscale = 0.01\noutputs = ["tagged"]\n'
                    '[vary]\n"field.officers" = { values = [400, 500] }\n')  # fmt: skip
    out = tmp_path / "d"
    (out / ".git").mkdir(parents=True)
    code, _, err = _cli(capsys, "sweep", str(spec), "--out", str(out), "--no-progress")
    assert code == 2 and "not a sweep folder" in err
    assert [p.name for p in out.iterdir()] == [".git"]


def test_analyze_with_no_finished_runs_is_one_line(capsys, tmp_path):
    from em_abm import sweep as S

    spec = S.spec_from_dict({"design": "grid", "years": 0.05, "scale": 0.01,
                             "outputs": ["tagged"],
                             "vary": {"field.officers": {"values": [400, 500]}}})  # fmt: skip
    out = tmp_path / "sw"
    S.open_store(out, spec)  # as a sweep killed before its first store leaves it
    code, _, err = _cli(capsys, "analyze", str(out))
    assert code == 2 and "no finished runs" in err
    _one_line(err)


def test_a_time_series_with_words_or_no_days_is_refused(tmp_path):
    import shutil

    import pandas as pd

    from em_abm.results import RunResult

    good = tmp_path / "good"
    assert main(["run", *SMALL, "--no-figures", "--out", str(good)]) == 0
    for name, change in {
        "words": lambda ts: ts.assign(tagged="x"),
        "empty": lambda ts: ts.iloc[:0],
        "no_date": lambda ts: ts.drop(columns="date"),
    }.items():
        folder = tmp_path / name
        shutil.copytree(good, folder)
        change(pd.read_parquet(good / "timeseries.parquet")).to_parquet(
            folder / "timeseries.parquet"
        )
        with pytest.raises(UserError):
            RunResult.load(folder)
    meta = json.loads((good / "metadata.json").read_text())
    (good / "metadata.json").write_text(json.dumps({**meta, "schema_version": True}))
    with pytest.raises(UserError, match="schema_version"):
        RunResult.load(good)


def test_second_red_team_pass_cases(capsys, tmp_path):
    """A FIFO named metadata.json does not hang the folder check; a name that is not UTF-8 is
    one line; analyze's resamples are bounded; a calibration report is a file name only."""
    ff = tmp_path / "ff"
    ff.mkdir()
    os.mkfifo(ff / "metadata.json")
    t0 = time.perf_counter()
    code, _, err = _cli(capsys, "run", *SMALL, "--out", str(ff))
    assert code == 2 and time.perf_counter() - t0 < 10
    code, _, err = _cli(capsys, "run", *SMALL, "--out", str(tmp_path) + "/bad\udcff")
    assert code == 2 and "UTF-8" in err
    _one_line(err)
    code, _, err = _cli(capsys, "analyze", str(tmp_path), "--resamples", "100000000")
    assert code == 2 and "--resamples" in err
    cfg = tmp_path / "cal.toml"
    (tmp_path / "victim.md").write_text("keep")
    from em_abm import calibration

    text = calibration.DEFAULT_CONFIG.read_text(encoding="utf-8")
    cfg.write_text(f'report = "{tmp_path / "victim.md"}"\n' + text)
    code, _, err = _cli(capsys, "calibrate", "--config", str(cfg), "--report", "--jobs", "1")
    assert code == 2 and "report" in err
    assert (tmp_path / "victim.md").read_text() == "keep"


def test_names_and_values_that_broke_figures_or_tables(capsys, tmp_path):
    """A "$" in a label is text (no mathtext); a spec's values of mixed kinds are refused; a
    targets share whose denominator is zero is undefined, not a traceback."""
    import matplotlib

    from em_abm import plots  # noqa: F401

    assert matplotlib.rcParams["text.parse_math"] is False
    spec = tmp_path / "s.toml"
    spec.write_text('design = "grid"\nyears = 0.05\nscale = 0.01\noutputs = ["tagged"]\n'
                    '[vary]\n"policy.visit_queue" = { values = ["fcfs", 1.0] }\n')  # fmt: skip
    code, _, err = _cli(capsys, "validate", str(spec))
    assert code == 2 and "one kind" in err
