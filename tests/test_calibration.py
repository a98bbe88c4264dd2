"""Calibration by history matching: configuration, implausibility, waves, resuming, and
recovery of known parameters from simulated targets."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from em_abm import calibration as C
from em_abm import params as P
from em_abm import targets as T
from em_abm.errors import UserError
from em_abm.results import run_model
from em_abm.scenario import load as load_scenario


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_configuration_loads_with_its_quick_variant():
    full, quick = C.load_config(), C.load_config(quick=True)
    assert full.name == "baseline" and quick.name == "quick"
    assert quick.points * quick.waves < full.points * full.waves
    assert set(quick.free) <= set(full.free)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('name = "x"\nbogus = 1\n[free]\n"orders.error_rate" = [0.1, 0.3]\n', "bogus: unknown key"),
        ('[free]\n"no.such" = [0, 1]\n', "free.no.such: unknown parameter"),
        ('[free]\n"orders.error_rate" = [0.3, 0.1]\n', "free.orders.error_rate: got [0.3, 0.1]"),
        ('[free]\n"orders.error_rate" = [0.1, 7]\n', "within the parameter's bounds"),
        ('[free]\n"nowhere:orders.error_rate" = [0.1, 0.3]\n', "unknown scenario 'nowhere'"),
        ('[free]\n"policy.visit_queue" = []\n', "allowed: a bounded number parameter"),
        ("[free]\n", "free: allowed: at least one parameter"),
        ('waves = 0\n[free]\n"orders.error_rate" = []\n', "waves: got 0"),
        (
            '[free]\n"transition_2024@2024-09-01:field.capacity_multiplier" = [0.5, 0.7]\n',
            "has no change on 2024-09-01 that sets field.capacity_multiplier; allowed: "
            "transition_2024@2024-08-01:field.capacity_multiplier",
        ),
        ('[free]\n"transition_2024@soon:orders.error_rate" = [0.1, 0.3]\n', "'soon' is not a date"),
    ],
)
def test_bad_configuration_names_the_field(tmp_path, body, message):
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        C.load_config(_write(tmp_path / "c.toml", body))


def test_implausibility_is_two_at_the_edge_of_the_tolerance():
    two = T.Target(name="a", role="target", scenario="s", source="", lower=8.0, upper=12.0)
    one = T.Target(name="b", role="target", scenario="s", source="", lower=-np.inf, upper=400.0)
    imp = C.implausibility([[10.0, 100.0], [12.0, 400.0], [14.0, 600.0]], [two, one])
    np.testing.assert_allclose(imp[:, 0], [0.0, 2.0, 4.0])
    np.testing.assert_allclose(imp[:, 1], [0.0, 0.0, 3.0])
    assert C.implausibility([[np.nan, 1.0]], [two, one])[0, 0] == np.inf


def test_the_abc_screen_runs_only_sets_that_could_be_within_every_tolerance():
    """A figure that is x (on a prior of [0, 10]) with an emulator error of 0.5: a set
    passes when x is within the tolerance [8, 12] widened by three errors, and one-sided
    bounds widen the same way."""
    prior = np.array([[0.0, 10.0]])
    beta = np.array([[0.0, 0.0], [10.0, 10.0], [0.0, 0.0]])  # both figures = 10 u = x
    emu = C.Emulators(prior, beta, np.array([0.25, 0.25]))
    two = T.Target(name="a", role="target", scenario="s", source="", lower=8.0, upper=12.0)
    low = T.Target(name="b", role="target", scenario="s", source="", lower=9.0, upper=np.inf)
    x = np.array([[6.4], [6.6], [8.0], [10.0]])
    assert emu.screen(x, [two]).tolist() == [False, True, True, True]
    assert emu.screen(x, [two], sds=0).tolist() == [False, False, True, True]
    assert emu.screen(x, [low]).tolist() == [False, False, True, True]
    assert emu.screen(x, [two, low]).tolist() == [False, False, True, True]


def test_plain_free_parameters_stand_for_defaults_and_scoped_ones_for_a_scenario():
    theta = {
        "demand.multiplier": 1.1,
        "field.officers": 501.6,
        "transition_2024:field.capacity_multiplier": 0.6,
    }
    base = C.overrides_for(theta, "baseline_2026")
    assert base == {"demand.multiplier": 1.1, "field.officers": 502}
    # The transition sets its own demand level, so the plain value does not touch it.
    assert C.overrides_for(theta, "transition_2024") == {
        "field.officers": 502,
        "field.capacity_multiplier": 0.6,
    }


def test_a_dated_free_parameter_sets_the_value_of_that_change_only():
    theta = {
        "transition_2024@2024-08-01:field.capacity_multiplier": 0.55,
        "transition_2024:field.capacity_multiplier": 0.61,
        "orders.error_rate": 0.25,
    }
    scen = C.scenario_for(theta, "transition_2024")
    assert scen.params["field.capacity_multiplier"] == 0.61
    assert scen.params["orders.error_rate"] == 0.25
    changes = {c.date.isoformat(): c.values for c in scen.changes}
    assert changes["2024-08-01"]["field.capacity_multiplier"] == 0.55
    # Every other value of the change, and every other change, is the scenario's own.
    own = {c.date.isoformat(): c.values for c in load_scenario("transition_2024").changes}
    assert (
        changes["2024-08-01"]["field.fit_success_prob"]
        == own["2024-08-01"]["field.fit_success_prob"]
    )
    assert changes["2024-10-25"] == own["2024-10-25"]
    assert scen.params_on(scen.changes[0].date)["field.capacity_multiplier"] == 0.55


def _fake_config(tmp_path, waves=2):
    """Two free parameters and two targets met only near (0.3, 0.7)."""
    targets = _write(
        tmp_path / "targets.toml",
        """
[[target]]
name = "first"
role = "target"
scenario = "baseline_2026"
metric = "tagged"  # any summary metric: the simulator is replaced
value = 0.3
tol = 0.05
source = "test"

[[target]]
name = "second"
role = "target"
scenario = "baseline_2026"
metric = "alerts"
value = 0.7
tol = 0.05
source = "test"
""",
    )
    return C.Config(
        name="fake",
        free={"orders.error_rate": (0.0, 1.0), "equipment.collection_rate": (0.0, 1.0)},
        waves=waves,
        points=40,
        design_seed=3,
        targets_file=str(targets),
    )


@pytest.fixture
def fake_simulator(monkeypatch):
    """The model replaced by a cheap deterministic function, counting its calls."""
    calls = []

    def simulate(theta, targets, *, scale, seeds, scale_by_scenario=None):
        calls.append(dict(theta))
        return np.array([theta["orders.error_rate"], theta["equipment.collection_rate"]])

    monkeypatch.setattr(C, "evaluate_set", simulate)
    return calls


def test_waves_narrow_onto_the_sets_that_meet_the_targets(tmp_path, fake_simulator):
    cal = C.run(_fake_config(tmp_path), store=tmp_path / "store", progress=False)
    assert len(fake_simulator) == 80
    acc = cal.accepted
    assert len(acc) > 0
    assert (acc["max_implausibility"] <= C.ACCEPT).all()
    assert acc["orders.error_rate"].between(0.25, 0.35).all()
    assert acc["equipment.collection_rate"].between(0.65, 0.75).all()
    # The second wave searches a smaller box than the first, around the accepted region.
    first, second = cal.boxes
    assert (np.diff(second, axis=1) < np.diff(first, axis=1)).all()
    assert (cal.evaluations["wave"] == 2).sum() == 40
    assert (acc["wave"] == 2).sum() > (acc["wave"] == 1).sum()


def test_a_calibration_resumes_without_repeating_evaluations(tmp_path, fake_simulator):
    store = tmp_path / "store"
    once = C.run(_fake_config(tmp_path, waves=1), store=store, progress=False)
    assert len(fake_simulator) == 40
    both = C.run(_fake_config(tmp_path, waves=2), store=store, progress=False)
    assert len(fake_simulator) == 80  # wave 1 was read back, only wave 2 ran
    pd.testing.assert_frame_equal(
        both.evaluations[both.evaluations["wave"] == 1].reset_index(drop=True),
        once.evaluations.reset_index(drop=True),
    )
    # The same configuration from scratch gives the same sets: the design is deterministic.
    again = C.run(_fake_config(tmp_path, waves=2), store=tmp_path / "other", progress=False)
    pd.testing.assert_frame_equal(again.evaluations, both.evaluations)


def test_a_store_made_with_another_configuration_is_refused(tmp_path, fake_simulator):
    store = tmp_path / "store"
    C.run(_fake_config(tmp_path, waves=1), store=store, progress=False)
    other = C.Config(**{**_fake_config(tmp_path).__dict__, "points": 12})
    with pytest.raises(UserError, match="different configuration"):
        C.run(other, store=store, progress=False)
    assert len(C.run(other, store=store, restart=True, progress=False).evaluations) == 24


def test_fitted_sets_and_scenario_are_written(tmp_path, fake_simulator):
    cal = C.run(_fake_config(tmp_path), store=tmp_path / "store", progress=False)
    csv, toml = C.write_fitted(cal, tmp_path / "fitted")
    sets = pd.read_csv(csv)
    assert len(sets) == len(cal.accepted)
    assert {"orders.error_rate", "first", "max_implausibility"} <= set(sets.columns)
    text = toml.read_text()
    assert 'base = "baseline_2026"' in text and '"orders.error_rate" = 0.' in text


def test_calibration_recovers_known_parameters(tmp_path):
    """Simulate with chosen values, calibrate to what that run shows, and the accepted sets
    cover the chosen values."""
    truth = {"field.fit_success_prob": 0.45, "orders.error_rate": 0.15}
    observed = run_model("baseline_2026", seed=7, years=0.5, scale=0.03, overrides=truth)
    rows = []
    # Tolerances about 2.5 standard deviations of a run this small.
    for metric, tol in (("install_within_two_attempts_rate", 0.05), ("order_error_rate", 0.025)):
        value = observed.summary[metric]
        rows.append(
            f'[[target]]\nname = "{metric}"\nrole = "target"\nscenario = "baseline_2026"\n'
            f'years = 0.5\nmetric = "{metric}"\nvalue = {value}\ntol = {tol}\nsource = "sim"\n'
        )
    targets = _write(tmp_path / "targets.toml", "\n".join(rows))
    cfg = C.Config(
        name="recovery",
        free={"field.fit_success_prob": (0.25, 0.65), "orders.error_rate": (0.05, 0.3)},
        scale=0.03,
        seeds=(1,),
        waves=3,
        points=12,
        design_seed=11,
        targets_file=str(targets),
    )
    cal = C.run(cfg, jobs=1, store=tmp_path / "store", progress=False)
    acc = cal.accepted
    assert len(acc) >= 3
    # Not ruled out: the sets within the cutoff, history matching's region of plausible
    # values; the truth lies in it and the accepted sets' median is near the truth.
    plausible = cal.evaluations[cal.evaluations["max_implausibility"] <= cfg.cutoff]
    for name, value in truth.items():
        lo, hi = cfg.free[name]
        assert plausible[name].min() <= value <= plausible[name].max(), name
        assert abs(np.median(acc[name]) - value) < 0.15 * (hi - lo), name


def test_cli_refuses_a_scheduler_without_dask_in_one_line(capsys):
    from em_abm.cli import main

    assert main(["calibrate", "--quick", "--scheduler", "tcp://x:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--scheduler" in err and "dask" in err


def test_cli_reports_a_bad_calibration_file_in_one_line(tmp_path, capsys):
    from em_abm.cli import main

    assert main(["calibrate", "--config", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such file; allowed: a calibration file" in err[0]
    bad = _write(tmp_path / "bad.toml", '[free]\n"orders.error_rate" = [0.5, 1.5]\n')
    assert main(["calibrate", "--config", str(bad)]) == 2
    assert "within the parameter's bounds" in capsys.readouterr().err


def test_a_changed_method_re_evaluates_from_the_first_wave_it_changes(
    tmp_path, fake_simulator, monkeypatch
):
    store = tmp_path / "store"
    C.run(_fake_config(tmp_path), store=store, progress=False)
    assert len(fake_simulator) == 80
    monkeypatch.setattr(C, "_refocus", lambda cfg, prior, box, *a: (prior, 1.0, None))
    again = C.run(_fake_config(tmp_path), store=store, progress=False)
    assert len(fake_simulator) == 120  # wave 1 kept, wave 2 designed anew and evaluated
    assert (again.evaluations["wave"] == 2).sum() == 40


@pytest.mark.parametrize(
    ("stage", "figures"),
    [
        # Both at full scale with the posterior predictive (about 20 minutes for the first,
        # a minute for the second, on 2 cores): `make test-slow`. CI runs the same report
        # code on the quick calibration (`make calibrate-quick`).
        pytest.param("baseline", ["posterior_marginals_baseline.png"], marks=pytest.mark.slow),
        pytest.param(
            "transition",
            ["posterior_marginals_transition.png", "transition_2024_path.png"],
            marks=pytest.mark.slow,
        ),
    ],
)
def test_the_committed_reports_regenerate_bit_for_bit(tmp_path, stage, figures):
    cfg = C.load_config(C.CONFIGS[stage])
    C.report(cfg, out=tmp_path / cfg.report, jobs=2)
    committed = C.ROOT / "calibration"
    assert (tmp_path / cfg.report).read_bytes() == (committed / cfg.report).read_bytes()
    for figure in figures:
        got = (tmp_path / "figures" / figure).read_bytes()
        assert got == (committed / "figures" / figure).read_bytes(), figure


def test_stages_use_their_own_targets_and_start_from_the_earlier_stage():
    first, second = C.load_config(), C.load_config(C.CONFIGS["transition"])
    assert {t.scenario for t in first.rows("target")} == {"baseline_2026"}
    assert {t.scenario for t in second.rows("target")} == {"transition_2024"}
    base = second.base()
    assert set(base) == set(first.names)
    sets = pd.read_csv(C.FITTED_DIR / "baseline.csv")
    # The second stage starts from the first's medians (four significant digits); params.py
    # records each median quoted to the precision its 90% interval supports (demand is a
    # lever kept at 1).
    median = C._round(float(np.median(sets["orders.error_rate"])), "float")
    assert base["orders.error_rate"] == median
    for name in first.names:
        if name == "demand.multiplier":
            continue
        p05, p50, p95 = np.quantile(sets[name], [0.05, 0.5, 0.95])
        quoted = float(C.quoted(p50, p05, p95).replace(",", ""))
        assert P.PARAMS[name].default == pytest.approx(quoted, rel=1e-9, abs=1e-12), name


def test_the_fitted_scenario_runs_as_the_calibrated_values(tmp_path):
    # Values scoped to one scenario: the written scenario starts from it and sets them, so
    # that loading it gives what the calibration ran (from the start and after each change).
    theta = {
        "transition_2024@2024-08-01:field.capacity_multiplier": 0.55,
        "transition_2024:field.capacity_multiplier": 0.61,
        "orders.error_rate": 0.25,
    }
    path = tmp_path / "fitted.toml"
    path.write_text(C.fitted_scenario("t", theta, accepted=3, evaluated=9))
    written, ran = load_scenario(str(path)), C.scenario_for(theta, "transition_2024")
    assert written.start == ran.start
    for day in [ran.start, *(c.date for c in ran.changes)]:
        assert written.params_on(day) == ran.params_on(day), day
    # Values scoped to two scenarios cannot be one scenario: kept as comments.
    both = {**theta, "baseline_2026:field.officers": 400}
    text = C.fitted_scenario("t", both, accepted=3, evaluated=9)
    assert 'base = "baseline_2026"' in text and "# baseline_2026 starts with" in text


def test_parameter_sets_give_the_same_figures_serially_in_a_pool_and_on_dask(tmp_path):
    """A calibration's evaluations run in whatever joblib pool the caller configures
    (``em-abm calibrate --backend dask``); the figures are the same, bit for bit."""
    from em_abm import sweep as S

    cfg = _fake_config(tmp_path)
    rows = [dataclasses.replace(t, years=0.2) for t in cfg.fitted_rows()]
    thetas = np.array([[0.1, 0.5], [0.3, 0.7]])

    def figures(jobs):
        return np.array(C._evaluate_sets(cfg, cfg.base(), cfg.names, thetas, [0, 1], rows, jobs,
                                         scale=0.02, seeds=lambda i: (i + 1, i + 5)))  # fmt: skip

    serial = figures(1)
    assert np.isfinite(serial).all() and (serial[0] != serial[1]).any()
    with S.pool("loky", 2, None):
        np.testing.assert_array_equal(figures(2), serial)
    with S.pool("dask", 2, None):
        np.testing.assert_array_equal(figures(2), serial)


def test_the_abc_stage_samples_the_posterior_uniformly_on_seeds_of_its_own(tmp_path, monkeypatch):
    """With a simulator that returns its parameters, and tolerances of +/- 0.05 around
    (0.3, 0.7), the posterior under a uniform prior is uniform on that square: the ABC stage's
    accepted sets must look so (mean, spread), every set on seeds of its own."""
    seen = []

    def simulate(theta, targets, *, scale, seeds, scale_by_scenario=None):
        seen.append(seeds)
        return np.array([theta["orders.error_rate"], theta["equipment.collection_rate"]])

    monkeypatch.setattr(C, "evaluate_set", simulate)
    cfg = dataclasses.replace(_fake_config(tmp_path), abc_points=600)
    cal = C.run(cfg, store=tmp_path / "store", progress=False)
    post = cal.accepted
    assert set(post["wave"]) == {cfg.waves + 1}  # the posterior is the ABC stage alone
    # The emulators screen out the draws they find implausible; the rest are run.
    assert 50 <= len(post) <= len(cal.abc) < 600
    x, y = post["orders.error_rate"], post["equipment.collection_rate"]
    assert x.between(0.25, 0.35).all() and y.between(0.65, 0.75).all()
    assert abs(x.mean() - 0.3) < 0.006 and abs(y.mean() - 0.7) < 0.006
    uniform_sd = 0.1 / np.sqrt(12)
    assert abs(x.std() - uniform_sd) < 0.15 * uniform_sd
    # The last box held the whole acceptance region (else the posterior would be cut).
    box = cal.last_box
    assert box[0, 0] <= 0.25 and box[0, 1] >= 0.35 and box[1, 0] <= 0.65 and box[1, 1] >= 0.75
    n = len(cal.abc)
    abc_seeds = seen[-n:]
    assert len(set(abc_seeds)) == n  # seeds of their own for every set
    assert not set(abc_seeds) & set(seen[:-n])  # and none of the waves'
    # Resuming runs nothing again; the posterior file holds the accepted sets and their seeds.
    seen.clear()
    again = C.run(cfg, store=tmp_path / "store", progress=False)
    assert not seen and len(again.accepted) == len(post)
    written = C.write_fitted(again, tmp_path / "fitted")
    assert tmp_path / "fitted" / "posterior.parquet" in written
    from em_abm import posterior as PO

    table, names = PO.load(tmp_path / "fitted" / "posterior.parquet")
    assert list(names) == cfg.names and len(table) == len(post)
    assert table["seeds"].is_unique
    meta = json.loads((tmp_path / "fitted" / "posterior.json").read_text())
    assert meta["abc_drawn"] == 600 and meta["abc_run"] == n
    assert meta["abc_accepted"] == len(post)
