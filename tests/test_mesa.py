"""The model under Mesa's own tools: ``run_model``, ``DataCollector`` and ``batch_run``."""

import datetime as dt

import mesa
import numpy as np
import pandas as pd
import pytest

from em_abm.errors import UserError
from em_abm.model import EMModel
from em_abm.results import run_model

SMALL = dict(years=0.2, scale=0.05)


def test_run_model_stops_at_the_horizon_and_matches_run():
    m = EMModel("baseline_2026", rng=4, **SMALL)
    m.run_model()  # Mesa's loop: it must end by itself
    assert not m.running
    assert m.steps == m.total_steps == m.warmup + m.n_days
    assert m.date == m.date_of(m.n_days - 1)
    ref = run_model("baseline_2026", seed=4, **SMALL)
    np.testing.assert_array_equal(m.frame()["tagged"].to_numpy(), ref.timeseries["tagged"])
    for _ in range(3):  # refused before Mesa's clock moves, every time
        with pytest.raises(UserError, match="step: the run ended at its horizon"):
            m.step()
        assert m.steps == m.total_steps and m.time == m.total_steps
    m.run_for(5)  # a timed run past the horizon simulates nothing and does not fail
    assert m.day == m.n_days - 1 and m.value("tagged") == ref.timeseries["tagged"].iloc[-1]


def test_the_datacollector_reports_every_declared_metric_by_day():
    m = EMModel("baseline_2026", rng=2, **SMALL)
    assert isinstance(m.datacollector, mesa.DataCollector)
    for _ in range(m.warmup):  # the warm-up is not recorded
        m.step()
    assert m.datacollector.get_model_vars_dataframe().empty and m.date is None
    m.run()
    df = m.datacollector.get_model_vars_dataframe()
    ref = run_model("baseline_2026", seed=2, **SMALL).timeseries
    assert list(df.columns) == list(ref.columns)  # date, the recorded metrics, the rates
    assert set(m.datacollector.model_reporters) == set(ref.columns)
    pd.testing.assert_frame_equal(df.reset_index(drop=True), ref)
    # Collected once a day after the warm-up, at Mesa time warmup + 1 + day.
    steps = m.datacollector._collection_steps
    assert steps == [m.warmup + 1.0 + d for d in range(m.n_days)]


def test_value_reads_a_metric_on_a_day_or_a_date():
    m = EMModel("baseline_2026", rng=2, **SMALL)
    m.run()
    ts = m.frame()
    assert m.value("tagged") == ts["tagged"].iloc[-1]
    assert m.value("tagged", 5) == ts["tagged"].iloc[5]
    assert m.value("outstanding_visits", dt.date(2026, 1, 3)) == ts["outstanding_visits"].iloc[2]
    assert m.value("tagged", "2026-01-04") == ts["tagged"].iloc[3]
    # The frame's own dates (pandas Timestamps) and numpy's.
    assert m.value("tagged", ts["date"].iloc[4]) == ts["tagged"].iloc[4]
    assert m.value("tagged", np.datetime64("2026-01-06")) == ts["tagged"].iloc[5]
    # What a caller gets is a copy: changing it changes nothing in the model.
    df = m.datacollector.get_model_vars_dataframe()
    df["unmonitored_share"] = -1.0
    assert m.value("unmonitored_share", 10) == ts["unmonitored_share"].iloc[10] >= 0
    assert m.value("unmonitored_share", 10) == ts["unmonitored_share"].iloc[10]  # a rate
    with pytest.raises(UserError, match=r"day: got 999; allowed: a day from 0 to"):
        m.value("tagged", 999)
    with pytest.raises(UserError, match=r"metric: unknown metric 'taged'; did you mean tagged"):
        m.value("taged")
    with pytest.raises(UserError, match=r"day: got Timestamp\('2025-12-01"):
        m.value("tagged", pd.Timestamp("2025-12-01"))
    with pytest.raises(UserError, match="metric: got 3; allowed"):
        m.value(3)


def test_parameters_as_keywords_are_overrides():
    a = EMModel("baseline_2026", rng=1, **SMALL, **{"field.officers": 300})
    b = EMModel("baseline_2026", rng=1, **SMALL, overrides={"field.officers": 300})
    assert a.p["field.officers"] == b.p["field.officers"] == 300
    with pytest.raises(UserError, match=r"field\.officers: given as a keyword and in overrides"):
        EMModel(rng=1, **SMALL, overrides={"field.officers": 3}, **{"field.officers": 3})
    with pytest.raises(UserError, match="unknown parameter"):
        EMModel(rng=1, **SMALL, **{"field.oficers": 3})


def test_batch_run_two_values_two_seeds():
    params = {"scenario": "baseline_2026", "field.officers": [250, 500], **SMALL}
    rows = mesa.batch_run(EMModel, parameters=params, rng=[1, 2], max_steps=10_000,
                          data_collection_period=-1, display_progress=False)  # fmt: skip
    assert len(rows) == 4
    got = {(r["field.officers"], r["rng"]): r for r in rows}
    for (officers, seed), r in got.items():
        ref = run_model("baseline_2026", seed=seed, overrides={"field.officers": officers},
                        **SMALL).timeseries.iloc[-1]  # fmt: skip
        assert r["tagged"] == ref["tagged"]
        assert pd.Timestamp(r["date"]) == ref["date"]
    # Fewer officers, more outstanding visits, on the same seed.
    assert all(got[(250, s)]["outstanding_visits"] > got[(500, s)]["outstanding_visits"]
               for s in (1, 2))  # fmt: skip


def test_batch_run_collection_period():
    rows = mesa.batch_run(EMModel, parameters=SMALL, rng=[3], max_steps=10_000,
                          data_collection_period=7, display_progress=False)  # fmt: skip
    m = EMModel("baseline_2026", rng=3, **SMALL)
    assert len(rows) == len(range(0, m.n_days, 7))
    assert [pd.Timestamp(r["date"]).date() for r in rows[:2]] == [m.date_of(0), m.date_of(7)]


def test_run_many_long_table_bands_and_files(tmp_path):
    from em_abm.compare import seeds_for
    from em_abm.multi import run_many

    many = run_many("baseline_2026", seeds=3, root_seed=7, **SMALL, jobs=2)
    assert list(many.long.columns[:5]) == ["run", "seed", "date", "metric", "value"]
    assert many.runs["seed"].tolist() == seeds_for(7, 3)
    one = run_model("baseline_2026", seed=seeds_for(7, 3)[1], **SMALL)
    got = many.long[(many.long["run"] == 1) & (many.long["metric"] == "tagged")]["value"]
    assert got.tolist() == one.timeseries["tagged"].tolist()  # the pool changes nothing
    bands = many.bands(["tagged"])
    day0 = many.long[(many.long["metric"] == "tagged") & (many.long["date"] == bands["date"][0])]
    assert bands["median"][0] == day0["value"].median() / 0.05  # per England and Wales
    assert (bands["q10"] <= bands["median"]).all() and (bands["median"] <= bands["q90"]).all()
    many.save(tmp_path / "out")
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {
        "runs.parquet",
        "summary.csv",
        "bands.csv",
        "metadata.json",
        "figures",
    }
    assert (tmp_path / "out" / "figures" / "bands.png").stat().st_size > 10_000
    meta = (tmp_path / "out" / "metadata.json").read_text()
    assert "a scaled sample" in meta and "per England and Wales" in meta
    from em_abm.results import describe

    assert describe(tmp_path / "out" / "runs.parquet")["counts"].startswith("a scaled sample")
    with pytest.raises(UserError, match="seeds: got 0; allowed: 1 to"):
        run_many(seeds=0, **SMALL)


def test_run_seeds_on_the_command_line(tmp_path):
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "em_abm", "run", "--seeds", "10", "--years", "0.1", "--scale",
         "0.02", "--jobs", "2", "--out", str(tmp_path / "ten"), "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    long = pd.read_parquet(tmp_path / "ten" / "runs.parquet")
    assert long["run"].nunique() == 10 and long["seed"].nunique() == 10
    assert (tmp_path / "ten" / "figures" / "bands.png").is_file()
    assert "counts: a scaled sample" in r.stdout


def test_bands_roll_flows_per_run_and_scale_counts():
    from em_abm.bands import bands

    dates = pd.date_range("2026-01-01", periods=4)
    rows = []
    for run, offences in ((0, [0, 4, 0, 4]), (1, [2, 2, 2, 2])):
        for d, x in zip(dates, offences, strict=True):
            rows += [{"run": run, "seed": run, "date": d, "metric": "offences", "value": x},
                     {"run": run, "seed": run, "date": d, "metric": "unmonitored_share",
                      "value": 0.2}]  # fmt: skip
    long = pd.DataFrame(rows)
    b = bands(long, 0.5, flow_window=2).set_index(["metric", "date"])
    # Run 0's 2-day means 0, 2, 2, 2; run 1's 2, 2, 2, 2; counts per England and Wales (/0.5).
    assert b.loc[("offences", dates[0]), "median"] == 2.0  # median of 0 and 2, doubled
    assert b.loc[("offences", dates[3]), "median"] == 4.0
    assert b.loc[("unmonitored_share", dates[3]), "median"] == 0.2  # a share: not scaled
    raw = bands(long, 0.5).set_index(["metric", "date"])
    assert raw.loc[("offences", dates[1]), "q90"] > b.loc[("offences", dates[1]), "q90"]
    with pytest.raises(UserError, match="metrics: 'tagged' is not in these runs' series"):
        bands(long, 0.5, ["tagged"])
