"""Sweeps and experiments over the calibrated posterior: replicate r runs set r mod K, a
parameter the sweep varies or fixes keeps its sweep value, and a changed posterior is refused."""

import json

import pandas as pd
import pytest

from em_abm import posterior as PO
from em_abm import sweep as S
from em_abm.errors import UserError

SETS = pd.DataFrame({
    "abc_index": [0, 3, 7],
    "seeds": ["1000000 1000001", "1000006 1000007", "1000014 1000015"],
    "orders.error_rate": [0.10, 0.20, 0.30],
    "equipment.collection_rate": [0.50, 0.60, 0.70],
})  # fmt: skip


@pytest.fixture
def posterior(tmp_path, monkeypatch):
    path = tmp_path / "posterior.parquet"
    SETS.to_parquet(path, index=False)
    meta = {"parameters": ["orders.error_rate", "equipment.collection_rate"]}
    path.with_suffix(".json").write_text(json.dumps(meta))
    monkeypatch.setattr(PO, "FILE", path)
    return path


SPEC = {
    "name": "over_posterior", "scenario": "baseline_2026", "design": "grid", "levels": 2,
    "years": 0.05, "scale": 0.01, "outputs": ["orders_with_error", "tagged"],
    "vary": {"field.capacity_multiplier": [0.9, 1.1]},
    "fixed": {"equipment.collection_rate": 0.4, "time.warmup_days": 10},
}  # fmt: skip


def test_replicate_r_runs_set_r_mod_k_keeping_the_sweeps_own_values(posterior):
    spec = S.spec_from_dict({**SPEC, "posterior": 3, "replicates": 6})
    runs = S.run_table(spec)
    assert (runs["posterior_set"] == runs["replicate"] % 3).all()
    row = runs.iloc[4].to_dict()  # replicate 4: set 1
    values = S._values(spec, row)
    assert values["orders.error_rate"] == 0.20  # from the posterior
    assert "equipment.collection_rate" not in values  # fixed by the sweep: its value stays
    assert values["field.capacity_multiplier"] == row["field.capacity_multiplier"]


def test_a_sweep_over_the_posterior_runs_and_a_changed_posterior_is_refused(posterior, tmp_path):
    spec = S.spec_from_dict({**SPEC, "posterior": 3, "replicates": 3})
    S.sweep(spec, tmp_path / "out", jobs=1)
    res = S.results(tmp_path / "out")
    assert len(res) == 6 and (res["status"] == "ok").all()
    assert S.spec_of(tmp_path / "out").posterior_sha == spec.posterior_sha
    SETS.assign(**{"orders.error_rate": [0.1, 0.1, 0.1]}).to_parquet(posterior, index=False)
    changed = S.spec_from_dict({**SPEC, "posterior": 3, "replicates": 3})
    with pytest.raises(UserError, match="holds"):
        S.sweep(changed, tmp_path / "out", jobs=1)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"posterior": 4, "replicates": 4}, "posterior: got 4; allowed: an integer from 1 to 3"),
        ({"posterior": 3, "replicates": 2}, "allowed: replicates >= posterior"),
    ],
)
def test_a_bad_posterior_count_is_one_line(posterior, extra, message):
    with pytest.raises(UserError, match=message) as e:
        S.spec_from_dict({**SPEC, **extra})
    assert "\n" not in str(e.value)


def test_with_posterior_raises_replicates_to_k(posterior):
    spec = S.with_posterior(S.spec_from_dict(SPEC), 3)
    assert spec.posterior == 3 and spec.replicates == 3 and spec.posterior_sha


def test_no_posterior_file_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(PO, "FILE", tmp_path / "none.parquet")
    with pytest.raises(UserError, match="run `make calibrate`"):
        S.spec_from_dict({**SPEC, "posterior": 2, "replicates": 2})


def test_the_command_line_refuses_a_posterior_it_cannot_give_in_one_line(tmp_path, monkeypatch):
    from em_abm.cli import main

    monkeypatch.setattr(PO, "FILE", tmp_path / "none.parquet")
    spec = tmp_path / "spec.toml"
    spec.write_text(
        'outputs = ["tagged"]\nyears = 0.05\nscale = 0.01\n[vary]\n'
        '"field.capacity_multiplier" = [0.9, 1.1]\n'
    )
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--posterior", "5"]) == 2
    assert not (tmp_path / "out").exists()  # nothing half-written
