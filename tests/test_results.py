import hashlib
import json
import os

import numpy as np
import pandas as pd
import pytest

import em_abm
from em_abm.errors import UserError
from em_abm.metrics import COLUMNS, METRICS
from em_abm.results import run_model


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_files_different_seed_different(tmp_path):
    a = run_model(seed=11, years=0.3, scale=0.03)
    b = run_model(seed=11, years=0.3, scale=0.03)
    c = run_model(seed=12, years=0.3, scale=0.03)
    for name, r in (("a", a), ("b", b), ("c", c)):
        r.save(tmp_path / name, figures=False)
    pa, pb, pc = (tmp_path / n / "timeseries.parquet" for n in "abc")
    assert digest(pa) == digest(pb)
    assert digest(pa) != digest(pc)
    assert a.summary == b.summary


def test_timeseries_and_summary_cover_every_declared_metric():
    r = run_model(seed=1, years=0.3, scale=0.03)
    ts = r.timeseries
    assert set(COLUMNS) <= set(ts.columns)
    for m in METRICS:
        assert (m.summary_name or m.name) in r.summary
        if m.kind == "rate":
            assert ts[m.name].between(0, 1).all(), m.name
    numeric = ts.drop(columns="date")
    assert np.isfinite(numeric.to_numpy()).all()
    assert (numeric >= 0).all().all()
    assert pd.Series(ts["date"]).is_monotonic_increasing


def test_save_refuses_a_folder_with_other_files(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    r = run_model(seed=1, years=0.1, scale=0.02)
    with pytest.raises(UserError, match="holds files em-abm did not write"):
        r.save(tmp_path)
    r.save(tmp_path, force=True, figures=False)  # beside the user's file, never over it
    assert (tmp_path / "summary.json").exists()
    assert (tmp_path / "keep.txt").read_text() == "x"


def _summary_and_series(seed):
    r = run_model(seed=seed, years=0.3, scale=0.03)
    return r.summary, r.timeseries


def test_same_results_in_a_joblib_pool_as_in_process():
    from joblib import Parallel, delayed

    here = [_summary_and_series(s) for s in (5, 6)]
    pooled = Parallel(n_jobs=2)(delayed(_summary_and_series)(s) for s in (5, 6))
    for (s1, t1), (s2, t2) in zip(here, pooled, strict=True):
        assert s1 == s2
        pd.testing.assert_frame_equal(t1, t2, check_exact=True)


def test_a_saved_result_loads_back(tmp_path):
    from em_abm.results import RunResult

    r = em_abm.run(seed=2, years=0.1, scale=0.02)
    r.save(tmp_path / "r", figures=False)
    back = RunResult.load(tmp_path / "r")
    pd.testing.assert_frame_equal(back.timeseries, r.timeseries)
    # The folder has the mode any new folder gets (not the temporary folder's private 0700).
    mask = os.umask(0o022)
    os.umask(mask)
    assert (tmp_path / "r").stat().st_mode & 0o777 == 0o777 & ~mask
    assert back.summary["seed"] == 2 and back.params == json.loads(json.dumps(r.params))
    with pytest.raises(UserError, match="not a run's result"):
        RunResult.load(tmp_path)


def test_metadata_records_the_parameters_the_run_used(tmp_path):
    """The scenario's values with the run's overrides, as the model ran them."""
    scenario = tmp_path / "mine.toml"
    scenario.write_text('base = "baseline_2026"\n[params]\norders.error_rate = 0.3\n')
    r = em_abm.run(str(scenario), seed=1, years=0.05, scale=0.01,
                   overrides={"field.officers": 300})  # fmt: skip
    r.save(tmp_path / "r", figures=False)
    params = json.loads((tmp_path / "r" / "metadata.json").read_text())["params"]
    assert params["field.officers"] == 300 and params["orders.error_rate"] == 0.3


# ---------------------------------------------------------------------------- self-describing
def test_the_time_series_parquet_carries_units_descriptions_and_counts(tmp_path):
    import pyarrow.parquet as pq

    from em_abm.metrics import describe_series, scale_label
    from em_abm.results import RunResult, describe, units

    r = run_model(seed=3, years=0.05, scale=0.02)
    r.save(tmp_path / "r", figures=False)
    path = tmp_path / "r" / "timeseries.parquet"
    got = units(path)
    assert set(got) == set(r.timeseries.columns)  # every column, date included
    assert got["tagged"] == "people" and got["orders_received"] == "orders/day"
    assert got["tagged.post_release"] == "people" and got["unmonitored_share"] == "share"
    about = describe(path)
    assert about["counts"] == scale_label(0.02) and "scaled sample" in about["counts"]
    assert (
        about["columns"]["tagged.court_bail"]["description"]
        == (describe_series("tagged.court_bail")[1])
    )
    assert "court_bail" in about["columns"]["tagged.court_bail"]["description"]
    field = pq.read_schema(path).field("nfa_share")  # in the file itself, for any reader
    assert field.metadata[b"unit"] == b"share" and b"28-day" in field.metadata[b"description"]
    # pandas reads it exactly as before
    back = RunResult.load(tmp_path / "r")
    pd.testing.assert_frame_equal(back.timeseries, r.timeseries)
    assert list(pd.read_parquet(path).columns) == list(r.timeseries.columns)
    with pytest.raises(UserError, match="not a Parquet table"):
        units(tmp_path / "r" / "summary.json")


def test_every_declared_output_has_a_unit_and_a_description():
    from em_abm.metrics import describe_series, describe_summary, series_names, summary_keys

    for c in series_names():
        unit, text = describe_series(c)
        assert unit and text, c
    for name in summary_keys(aliases=True):
        unit, text = describe_summary(name)
        assert unit and text, name
    # a flow's summary is its total over the run, a composite's unit that of its parts
    assert describe_summary("orders_received")[0] == "orders"
    assert describe_summary("public_protection.unmonitored_person_days")[0] == "person-days"
    assert describe_summary("cost_total_gbp.total")[0] == "GBP"
    assert describe_summary("tagged_by_cohort.court_bail") == describe_summary("tagged.court_bail")
    assert describe_series("no_such_column") is None and describe_summary("nope") is None


def test_series_and_flat_summary_share_one_naming_scheme():
    """A per-key metric is ``NAME.KEY`` in the series and in the flat summary; the older flat
    names are aliases that still answer."""
    from em_abm.compare import flatten as compare_flatten
    from em_abm.metrics import SUMMARY_ALIASES, series_names, summary_key, summary_keys

    r = run_model(seed=1, years=0.05, scale=0.02)
    flat = r.flat()
    # Every number of the nested summary once, no more (a table's entries one by one).
    numbers = [
        v
        for v in r.summary.values()
        if isinstance(v, dict) or (isinstance(v, int | float) and not isinstance(v, bool))
    ]
    assert len(flat) == sum(len(v) if isinstance(v, dict) else 1 for v in numbers)
    assert compare_flatten(r.summary) == flat  # the older import path still answers
    series = set(series_names())
    # every flat summary name of a per-key stock, flow or rate is a series column
    for name, m in summary_keys().items():
        if m.by and m.kind in ("stock", "flow", "rate"):
            assert name in series and name in flat, name
    assert flat["tagged.post_release"] == r.summary["tagged_by_cohort"]["post_release"]
    assert len(SUMMARY_ALIASES) == 58
    for old, new in SUMMARY_ALIASES.items():
        assert summary_key(old) == new and old not in summary_keys() and new in summary_keys()
        assert old in flat and flat[old] == flat[new] and flat.get(old) == flat[new]
        assert old not in list(flat)  # answered, not listed
    with pytest.raises(KeyError):
        flat["tagged_by_cohort.nobody"]
    assert flat.get("tagged_by_cohort.nobody", -1) == -1


def test_summary_flat_json_is_the_flat_view(tmp_path):
    r = run_model(seed=4, years=0.05, scale=0.02)
    r.save(tmp_path / "r", figures=False)
    nested = json.loads((tmp_path / "r" / "summary.json").read_text())
    flat = json.loads((tmp_path / "r" / "summary_flat.json").read_text())
    assert not any(isinstance(v, dict) for v in flat.values())
    assert flat["scenario"] == nested["scenario"] and flat["counts"] == nested["counts"]
    assert flat["tagged.court_bail"] == nested["tagged_by_cohort"]["court_bail"]
    assert flat["cost_total_gbp.total"] == nested["cost_total_gbp"]["total"]
    assert {k: v for k, v in flat.items() if not isinstance(v, str)} == dict(r.flat())


def test_long_and_wide_frames_of_the_time_series():
    r = run_model(seed=5, years=0.05, scale=0.02)
    ts = r.timeseries
    long = r.long(run=7)
    assert list(long.columns[:5]) == ["run", "seed", "date", "metric", "value"]
    assert {"scenario", "scale", "counts", "unit"} <= set(long.columns)
    metrics = [c for c in ts.columns if c != "date"]
    assert len(long) == len(ts) * len(metrics)
    assert (long["run"] == 7).all() and (long["seed"] == 5).all()
    assert (long["counts"] == r.summary["counts"]).all() and long.attrs["scale"] == 0.02
    back = long.pivot(index="date", columns="metric", values="value")[metrics]
    np.testing.assert_array_equal(back.to_numpy(), ts[metrics].to_numpy())
    row = long[(long["metric"] == "tagged.court_bail")].iloc[3]
    assert row["value"] == ts["tagged.court_bail"].iloc[3] and row["date"] == ts["date"].iloc[3]
    assert row["unit"] == "people"
    wide = r.to_frame()
    pd.testing.assert_frame_equal(wide, ts)
    assert wide is not ts and wide.attrs["counts"] == r.counts
    assert wide.attrs["units"]["orders_received"] == "orders/day"
