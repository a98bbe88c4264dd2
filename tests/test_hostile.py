"""Hostile input across the command line: every mistake is one line, exit 2, nothing written."""

from pathlib import Path

import pytest

from em_abm.cli import main

SCENARIO_FILES = {
    "empty": b"",
    "binary": bytes(range(256)) * 4,
    "truncated": b'name = "x"\n[params]\nfield.officers = ',
    "unknown_key": b'name = "x"\n[params]\nfield.oficers = 3\n',
    "wrong_type": b'name = "x"\n[params]\nfield.officers = "many"\n',
    "nan": b'name = "x"\n[params]\nfield.capacity_multiplier = nan\n',
    "infinite": b'name = "x"\n[params]\nfield.capacity_multiplier = inf\n',
    "huge": b'name = "x"\n[params]\nfield.officers = 1e300\n',
    "negative": b'name = "x"\n[params]\norders.error_rate = -0.5\n',
    "unknown_section": b'name = "x"\n[parameters]\nfield.officers = 3\n',
    "bad_change_date": b'name = "x"\n[[changes]]\ndate = "soon"\nfield.officers = 3\n',
}


def _one_line_exit_2(capsys, argv, out=None):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, (argv, err)
    assert err.startswith("em-abm: error: ") and err.count("\n") == 1, err
    if out is not None:
        assert not out.exists()
    return err


@pytest.mark.parametrize("case", sorted(SCENARIO_FILES))
def test_bad_scenario_files(capsys, tmp_path, case):
    path = tmp_path / f"{case}.toml"
    path.write_bytes(SCENARIO_FILES[case])
    out = tmp_path / "out"
    err = _one_line_exit_2(capsys, ["run", str(path), "--years", "0.1", "--scale", "0.02",
                                    "--out", str(out)], out)  # fmt: skip
    assert str(path) in err or path.name in err or "params" in err
    _one_line_exit_2(capsys, ["validate", str(path)])


@pytest.mark.parametrize(
    "value", ["nan", "inf", "-inf", "1e400", "-1", "", "0x10", "True"]
)  # fmt: skip
def test_bad_values_on_the_command_line(capsys, tmp_path, value):
    out = tmp_path / "out"
    err = _one_line_exit_2(
        capsys, ["run", "--set", f"field.capacity_multiplier={value}", "--years", "0.1",
                 "--out", str(out)], out,
    )  # fmt: skip
    assert "field.capacity_multiplier" in err


def test_a_scenario_path_that_is_a_folder(capsys, tmp_path):
    (tmp_path / "dir.toml").mkdir()
    _one_line_exit_2(capsys, ["run", str(tmp_path / "dir.toml"), "--out", str(tmp_path / "o")],
                     tmp_path / "o")  # fmt: skip


@pytest.mark.parametrize("case", ["empty", "binary", "truncated"])
def test_bad_sweep_specs(capsys, tmp_path, case):
    path = tmp_path / "spec.toml"
    path.write_bytes({"empty": b"", "binary": bytes(range(256)),
                      "truncated": b'design = "sobol"\n[vary]\n"x" = ['}[case])  # fmt: skip
    out = tmp_path / "out"
    _one_line_exit_2(capsys, ["sweep", str(path), "--out", str(out)], out)


def test_an_output_folder_that_cannot_be_written(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _one_line_exit_2(capsys, ["run", "--years", "0.1", "--scale", "0.02", "--out",
                              str(blocker / "sub")])  # fmt: skip


@pytest.mark.parametrize(("sig", "code", "word"), [("SIGINT", 130, "interrupted"),
                                                   ("SIGTERM", 143, "terminated")])  # fmt: skip
def test_a_run_stopped_by_a_signal_leaves_nothing(tmp_path, sig, code, word):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "em_abm", "run", "--years", "20", "--scale", "0.2",
         "--out", str(out), "--no-figures"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(4)  # well into the simulation
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1].startswith(f"em-abm: {word}")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_stop_signal_inside_the_compiler_is_delivered_again_later(monkeypatch):
    """On a first run numba compiles each kernel when first used; an exception raised in
    its callbacks is swallowed there and breaks the compilation. A signal that arrives
    inside the compiler is therefore sent again shortly instead of raising at once."""
    import signal
    import types

    from em_abm import cli

    sent = []

    class Timer:
        def __init__(self, delay, fn, args):
            self.delay, self.call = delay, (fn, args)

        def start(self):
            sent.append(self)

    monkeypatch.setattr("threading.Timer", Timer)
    compiling = types.SimpleNamespace(
        f_globals={"__name__": "numba.core.codegen"}, f_back=types.SimpleNamespace(
            f_globals={"__name__": "em_abm.model"}, f_back=None),
    )  # fmt: skip
    cli._stopped_by.clear()
    cli._on_sigterm(signal.SIGTERM, compiling)  # no exception: delivered again later
    assert len(sent) == 1 and sent[0].call[1][1] == signal.SIGTERM and not cli._stopped_by
    ours = types.SimpleNamespace(f_globals={"__name__": "em_abm.model"}, f_back=None)
    with pytest.raises(KeyboardInterrupt):
        cli._on_sigint(signal.SIGINT, ours)
    assert cli._stopped_by == ["interrupted"]


@pytest.mark.parametrize(("word", "code"), [("interrupted", 130), ("terminated", 143)])
def test_an_error_after_a_stop_signal_is_reported_as_the_stop(monkeypatch, capsys, word, code):
    """If a library swallows the stop's exception and fails later with another error, the
    run still ends as stopped: one line, the stop's exit code, no traceback."""
    from em_abm import cli

    def broken(args):
        cli._stopped_by.append(word)
        raise RuntimeError("no compiled object yet")

    monkeypatch.setattr(cli, "cmd_scenarios", broken)
    assert cli.main(["scenarios"]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"em-abm: {word}")

    def failing(args):
        raise RuntimeError("a real failure")

    monkeypatch.setattr(cli, "cmd_scenarios", failing)
    with pytest.raises(RuntimeError):  # no stop signal: errors are not hidden
        cli.main(["scenarios"])


# The same mistakes through the Python API: a UserError naming the field, nothing run.
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"overrides": {"field.oficers": 3}}, "field.oficers"),
        ({"overrides": {"field.capacity_multiplier": float("nan")}}, "field.capacity_multiplier"),
        ({"overrides": {"field.capacity_multiplier": float("inf")}}, "field.capacity_multiplier"),
        ({"overrides": {"field.officers": "many"}}, "field.officers"),
        ({"overrides": {"field.officers": 10**12}}, "field.officers"),
        ({"overrides": {"orders.error_rate": -0.5}}, "orders.error_rate"),
        ({"overrides": {"escalation.revoke_share": 0.9}}, "escalation"),  # shares > 1
        ({"overrides": {"policy.visit_queue": "fastest"}}, "policy.visit_queue"),
        ({"years": 0}, "years"),
        ({"years": float("nan")}, "years"),
        ({"scale": -1}, "scale"),
        ({"scale": "big"}, "scale"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"scenario": "no_such_scenario"}, "scenario"),
        ({"scenario": "/no/such/file.toml"}, "file"),
    ],
)
def test_bad_input_through_the_python_api(kwargs, field):
    import em_abm
    from em_abm.errors import UserError

    kwargs = {"years": 0.05, "scale": 0.01, **kwargs}
    with pytest.raises(UserError) as e:
        em_abm.run(**kwargs)
    msg = str(e.value)
    assert field in msg and "\n" not in msg, msg


def test_a_scenario_folder_through_the_python_api(tmp_path):
    import em_abm
    from em_abm.errors import UserError

    with pytest.raises(UserError, match="is a folder"):
        em_abm.run(str(tmp_path), years=0.05, scale=0.01)


@pytest.mark.parametrize("existing", [False, True])
def test_an_interruption_while_saving_leaves_the_folder_as_it_was(tmp_path, monkeypatch, capsys,
                                                                   existing):  # fmt: skip
    from em_abm.results import RunResult

    out = tmp_path / "out"
    argv = ["run", "--years", "0.05", "--scale", "0.01", "--out", str(out), "--force",
            "--no-progress"]  # fmt: skip
    if existing:
        assert main([*argv, "--no-figures"]) == 0
        before = sorted(p.name for p in out.iterdir())

    def interrupted(self, folder=None, **kw):  # a figure half-written, then Ctrl-C
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "half.png").write_bytes(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(RunResult, "plot", interrupted)
    assert main(argv) == 130
    assert "interrupted" in capsys.readouterr().err
    if existing:
        assert sorted(p.name for p in out.iterdir()) == before
    else:
        assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == (["out"] if existing else [])


# Mistakes caught before any run: each is one line naming the field, exit 2, nothing left.
FILES = {
    "a.toml": 'base = "b.toml"\nname = "a"\n',  # a base cycle: a -> b -> a
    "b.toml": 'base = "a.toml"\nname = "b"\n',
    "escape.toml": 'base = "baseline_2026"\nname = "../../escaped"\n',
    "nobase.toml": 'base = "no_such_scenario"\n',
    "twice.toml": 'base = "baseline_2026"\n[params]\n"field.officers" = 5\nfield.officers = 6\n',
    "spec.txt": 'design = "grid"\nscenario = "baseline_2026"\nyears = 0.05\nscale = 0.01\n'
    'outputs = ["tagged"]\n[vary]\n"field.officers" = [300, 400]\nbogus = 1\n',
    "targets.toml": '[[target]]\nname = "x"\nrole = "target"\nscenario = "baseline_2026"\n'
    'source = "s"\nmetric = "taged"\nvalue = 1.0\ntol = 0.5\n',
    "quickless.toml": 'name = "q"\n[free]\n"field.fit_success_prob" = [0.4, 0.6]\n',
}


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["validate", "a.toml"], ["base", "cycle"]),
        (["run", "escape.toml", "--years", "0.05", "--scale", "0.01"], ["name", "allowed"]),
        (["validate", "nobase.toml"], ["nobase.toml", "base", "baseline_2026"]),
        (["validate", "twice.toml"], ["field.officers", "twice"]),
        (["validate", "spec.txt"], ["bogus"]),
        (["run", ""], ["scenario", "baseline_2026"]),
        (["run", "--years", "1e6"], ["--years", "50"]),
        (["run", "--scale", "1e6"], ["--scale", "4"]),
        (["compare", "baseline_2026", "baseline_2026@", "--out", "out"], ["nothing after @"]),
        (["compare", "baseline_2026", "baseline_2026@field.officers", "--out", "out"],
         ["arm baseline_2026@field.officers", "NAME=VALUE"]),
        (["compare", "baseline_2026", "baseline_2026@x=1", "--jobs", "0", "--out", "out"],
         ["--jobs", "-1"]),
        (["compare", "a", "b", "--seeds", "x", "--out", "out"], ["--seeds", "2 to 10000"]),
        (["targets", "--jobs", "-7"], ["--jobs"]),
        (["targets", "--scale", "1e7"], ["--scale"]),
        (["targets", "--out", "t.csv"], ["--out", ".md"]),
        (["targets", "--file", "targets.toml"], ["metric", "taged", "did you mean tagged"]),
        (["calibrate", "--jobs", "0"], ["--jobs"]),
        (["calibrate", "--config", "quickless.toml", "--quick"], ["quick", "missing"]),
        (["run", "--set", "field.officers=3", "--set", "field.officers=4"],
         ["field.officers", "twice"]),
        (["dashboard", "--host", "no.such.host.invalid"], ["--host"]),
        (["analyze", "out", "--resamples", "x"], ["--resamples", "10 to 100000"]),
    ],
)  # fmt: skip
def test_mistakes_found_before_any_run(capsys, tmp_path, monkeypatch, argv, names):
    monkeypatch.chdir(tmp_path)
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    before = set(tmp_path.rglob("*"))
    err = _one_line_exit_2(capsys, argv)
    assert all(n in err for n in names), err
    assert set(tmp_path.rglob("*")) == before, "something was written"
    assert not (tmp_path.parent / "escaped").exists()


def test_an_output_folder_the_system_refuses_is_found_before_the_run(capsys, tmp_path):
    # /proc lets root pass a permission check but takes no new folder: the run must not start.
    err = _one_line_exit_2(capsys, ["run", "--years", "0.05", "--scale", "0.01", "--out",
                                    "/proc/em-abm-out"])  # fmt: skip
    assert "--out" in err and "/proc" in err


def test_a_targets_output_that_cannot_be_written_is_found_before_the_runs(capsys, tmp_path):
    (tmp_path / "t.md").mkdir()
    err = _one_line_exit_2(capsys, ["targets", "--out", str(tmp_path / "t.md")])
    assert "is a folder" in err
    (tmp_path / "file").write_text("x")
    err = _one_line_exit_2(capsys, ["targets", "--out", str(tmp_path / "file" / "t.md")])
    assert "is a file" in err


def test_a_wrong_scheduler_address_leaves_no_sweep_folder(capsys, tmp_path):
    (tmp_path / "spec.toml").write_text(FILES["spec.txt"].replace("bogus = 1\n", ""))
    out = tmp_path / "sweep"
    err = _one_line_exit_2(
        capsys,
        [
            "sweep",
            str(tmp_path / "spec.toml"),
            "--out",
            str(out),
            "--backend",
            "dask",
            "--scheduler",
            "not an address",
        ],
        out,
    )
    assert "--scheduler" in err


def test_a_corrupt_sweep_part_is_named(capsys, tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(FILES["spec.txt"].replace("bogus = 1\n", ""))
    out = tmp_path / "sweep"
    assert main(["sweep", str(spec), "--out", str(out), "--jobs", "1", "--no-progress"]) == 0
    capsys.readouterr()
    part = next((out / "runs").glob("part-*.parquet"))
    part.write_bytes(b"not parquet")
    err = _one_line_exit_2(capsys, ["sweep", str(spec), "--out", str(out), "--no-progress"])
    assert part.name in err and "delete it" in err
