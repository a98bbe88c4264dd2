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
