import datetime as dt

import numpy as np
import pandas as pd
import pytest

from em_abm import scenario as sc
from em_abm.errors import UserError, WindowWarning


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_baseline_is_packaged_and_valid():
    s = sc.load("baseline_2026")
    assert s.start == dt.date(2026, 1, 1)
    assert s.description and s.sources
    assert "baseline_2026" in sc.available()


def test_user_file_with_overrides_and_changes(tmp_path):
    path = write(
        tmp_path,
        """
name = "mine"
start = 2026-01-01
[params]
field.officers = 300
[params.orders]
error_rate = 0.1
[[changes]]
date = 2026-06-01
note = "surge"
field.capacity_multiplier = 1.5
""",
    )
    s = sc.load(path)
    assert s.params["field.officers"] == 300
    assert s.params["orders.error_rate"] == 0.1
    assert s.changes[0].values == {"field.capacity_multiplier": 1.5}
    assert s.params_on(dt.date(2026, 5, 31))["field.capacity_multiplier"] == 1.0
    assert s.params_on(dt.date(2026, 6, 1))["field.capacity_multiplier"] == 1.5


BAD = [
    ("start = 2026-01-01\ncolour = 'red'\n", "colour: unknown key; allowed top-level keys"),
    ("name = 'x'\n", "start: missing"),
    ("start = '2026-01-01'\n", "start: must be a TOML date"),
    (
        "start = 2026-01-01\n[params]\nfield.oficers = 3\n",
        "params.field.oficers: unknown parameter; did you mean field.officers",
    ),
    (
        "start = 2026-01-01\n[params]\nfield.officers = 'many'\n",
        "params.field.officers: got 'many'; allowed: an integer",
    ),
    (
        "start = 2026-01-01\n[params]\norders.error_rate = 2.0\n",
        "params.orders.error_rate: got 2.0; allowed: a number from 0 to 1",
    ),
    (
        "start = 2026-01-01\n[params]\ndemand.tag_mix.court_bail.rf = 0.9\n",
        "demand.tag_mix.court_bail: shares must sum to 1",
    ),
    (
        "start = 2026-01-01\n[[changes]]\ndate = 2025-06-01\nfield.officers = 3\n",
        "changes[0].date: 2025-06-01 is before the scenario start 2026-01-01",
    ),
    ("start = 2026-01-01\n[[changes]]\nfield.officers = 3\n", "changes[0].date: missing"),
    ("start = 2026-01-01\n[[changes]]\ndate = 2026-06-01\n", "changes[0]: sets no parameter"),
    (
        "start = 2026-01-01\n[[changes]]\ndate = 2026-06-01\nfield.officers = -5\n",
        "changes[0].field.officers: got -5",
    ),
    (
        "start = 2026-01-01\n[[changes]]\ndate = 2026-06-01\nescalation.revoke_share = 0.9\n",
        "change of 2026-06-01: escalation: shares must sum to 1",
    ),
    ("start = 2026-01-01\nparams = 3\n", "params: must be a table"),
    ("start = 2026-01-01\nwindow = [2026-05-01, 2026-01-01]\n", "window: got"),
    ("start = 2026-01-01\nwindow = 2026-05-01\n", "allowed: two TOML dates"),
    ("start = 2026-01-01\nwindow = [2026-05-01]\n", "allowed: two TOML dates"),
    ("start = [1, 2\n", "invalid TOML"),
    ("", "start: missing"),
]


@pytest.mark.parametrize(("text", "needle"), BAD)
def test_bad_scenarios_name_the_field(tmp_path, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(UserError) as e:
        sc.load(path)
    msg = str(e.value)
    assert needle in msg
    assert "\n" not in msg


def test_unknown_name_lists_available():
    with pytest.raises(UserError, match="unknown scenario 'nope'; allowed: baseline_2026"):
        sc.load("nope")


def test_missing_file_folder_and_binary(tmp_path):
    with pytest.raises(UserError, match="file not found"):
        sc.load(str(tmp_path / "missing.toml"))
    with pytest.raises(UserError, match="is a folder"):
        sc.load(str(tmp_path))
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(UserError, match="not a text file"):
        sc.load(str(binary))


def test_overrides_are_validated():
    s = sc.load("baseline_2026")
    assert s.with_overrides({"field.officers": 100}).params["field.officers"] == 100
    with pytest.raises(UserError, match=r"--set field\.officers: got -1"):
        s.with_overrides({"field.officers": -1}, where="--set ")


def test_parse_assignments():
    got = sc.parse_assignments(
        ["field.officers=300", "policy.visit_queue=fcfs", "orders.error_rate=0.3"]
    )
    assert got == {"field.officers": 300, "policy.visit_queue": "fcfs", "orders.error_rate": 0.3}
    with pytest.raises(UserError, match="expected one NAME=VALUE"):
        sc.parse_assignments(["field.officers"])


def test_packaged_scenarios_load_and_inherit():
    names = set(sc.available())
    assert {"baseline_2026", "transition_2024", "sentencing_act_2027", "serco_efficiency"} <= names
    base = sc.load("baseline_2026")
    act = sc.load("sentencing_act_2027")
    assert act.start == base.start
    # the baseline's dated probation changes are inherited, the Act's are added
    assert {c.date for c in base.changes} <= {c.date for c in act.changes}
    assert (
        act.params_on(dt.date(2027, 6, 1))["demand.orders_per_year.court_bail"]
        > base.params["demand.orders_per_year.court_bail"]
    )
    assert sc.load("transition_2024").start == dt.date(2024, 5, 1)


def test_base_of_a_user_file(tmp_path):
    path = write(tmp_path, 'base = "baseline_2026"\n[params]\nfield.officers = 100\n')
    s = sc.load(path)
    assert s.start == dt.date(2026, 1, 1) and s.params["field.officers"] == 100
    assert len(s.changes) == len(sc.load("baseline_2026").changes)
    with pytest.raises(UserError, match="unknown scenario 'nothing'"):
        sc.load(write(tmp_path, 'base = "nothing"\n', name="b.toml"))


def test_every_packaged_scenario_declares_the_window_it_was_calibrated_for():
    for name in sc.available():
        s = sc.load(name)
        assert s.window is not None, name
        assert s.window[0] <= s.window[1]
    assert sc.load("transition_2024").window == (dt.date(2024, 5, 1), dt.date(2025, 12, 31))


def test_a_run_past_its_window_warns_once_in_one_line_and_a_run_within_it_does_not(tmp_path):
    import subprocess
    import sys

    def stderr(*argv, jobs="2"):
        cmd = [sys.executable, "-m", "em_abm", "compare", *argv, "--seeds", "2", "--scale",
               "0.01", "--no-progress", "--jobs", jobs, "--out", str(tmp_path),
               "--force"]  # fmt: skip
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stderr

    # in two worker processes, each of which warns: the command says it once
    past = stderr("transition_2024", "transition_2024@field.officers=400", "--years", "2")
    lines = [x for x in past.splitlines() if "warning" in x]
    assert len(lines) == 1, past  # two arms and two seeds: one warning
    assert "transition_2024 was calibrated for 2024-05-01 to 2025-12-31" in lines[0]
    within = stderr("transition_2024", "transition_2024@field.officers=400", "--years", "1",
                    jobs="1")  # fmt: skip
    assert "warning" not in within


def test_transition_demand_stops_growing_where_its_calibration_data_stop():
    """Demand grows at the calibrated rate through 2025 and holds its level from 2026 (a
    dated change of the growth rate keeps the level reached)."""
    from em_abm.model import EMModel

    with pytest.warns(WindowWarning, match="calibrated for 2024-05-01 to 2025-12-31"):
        m = EMModel("transition_2024", rng=1, years=3.0, scale=0.01)
    grown = {}
    step = m.step

    def spy():
        step()
        grown[m.day] = m.stages.orders.growth_log

    m.step = spy
    m.run()
    end = (dt.date(2025, 12, 31) - m.start_date).days
    rate = sc.load("transition_2024").params["demand.growth_per_year"]
    assert grown[end] == pytest.approx(end * np.log1p(rate) / 365.0)
    assert grown[end] > 0.5  # it grew by more than half in 2024-2025
    assert all(grown[d] == grown[end] for d in grown if d > end)  # and holds from 2026


def test_the_out_of_sample_history_labels_every_point_input_or_predicted():
    """history_2019 starts from the March 2019 caseload (an input) and predicts the rest of
    the HMPPS series; the comparison covers every published point and says which is which."""
    from em_abm import validation as V

    scen = sc.load("history_2019")
    assert scen.start == dt.date(2019, 4, 1) and scen.window[1] < dt.date(2019, 6, 1)
    table, _ = V.compare([1], 0.02, 1)
    data = pd.read_csv(V.DATA)
    assert len(table) == len(data)
    assert set(table.loc[table["date"] < "2019-04-01", "role"]) == {"input"}
    assert set(table.loc[table["date"] >= "2019-04-01", "role"]) == {"predicted"}
    assert (table.loc[table["series"] == "total", "model_median"] > 0).all()
