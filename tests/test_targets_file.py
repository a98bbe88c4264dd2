"""The calibration targets file and its evaluation."""

import pytest

from em_abm import targets as tg
from em_abm.errors import UserError


def test_targets_file_loads_with_sources_and_roles():
    rows = tg.load()
    assert len(rows) >= 15
    assert {r.role for r in rows} == {"input", "target", "check"}
    assert all(r.source and r.lower <= r.upper for r in rows)
    assert all(r.parameter for r in rows if r.role == "input")  # an identity names its parameter
    names = {r.name for r in rows}
    assert "tagged population, March 2026" in names


def test_a_target_value_is_read_from_the_file():
    assert tg.value("tagged") == 28_700  # the NAO's figure, as the file declares it
    with pytest.raises(KeyError, match="no_such_metric"):
        tg.value("no_such_metric")


def test_evaluate_gives_medians_intervals_and_verdicts():
    rows = [r for r in tg.load() if r.scenario == "baseline_2026" and r.metric][:4]
    rows = [tg.Target(**{**r.__dict__, "years": 0.5}) for r in rows]
    table = tg.evaluate(rows, seeds=[1, 2], scale=0.05)
    assert list(table["name"]) == [r.name for r in rows]
    assert (table["model_p05"] <= table["model_median"]).all()
    assert (table["model_median"] <= table["model_p95"]).all()
    assert table["pass"].dtype == bool
    text = tg.to_markdown(table, seeds=2, scale=0.05)
    assert "Calibration targets" in text and rows[0].name in text


def test_hmpps_targets_agree_with_the_published_series_file():
    """The HMPPS caseload figures are typed twice, in targets.toml (with tolerance and
    source) and in calibration/hmpps_caseload.csv (the series the report draws): they agree."""
    import pandas as pd

    table = pd.read_csv(tg.HMPPS_FILE, parse_dates=["date"]).set_index("date")
    rows = [r for r in tg.load() if "(HMPPS)" in r.name]
    assert len(rows) >= 10
    for r in rows:
        column = r.series.partition(".")[2] or "total"
        month = table[table.index.to_period("M") == pd.Period(r.window[0], "M")]
        assert len(month) == 1, r.name
        assert month[column].iloc[0] == r.value, r.name


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            '[[target]]\nname="x"\nrole="goal"\nscenario="baseline_2026"\nsource="s"\nmetric="tagged"\n',
            "role: got 'goal'",
        ),
        (
            '[[target]]\nname="x"\nrole="target"\nscenario="baseline_2026"\nsource="s"\n',
            "exactly one of metric and series",
        ),
        (
            '[[target]]\nname="x"\nrole="target"\nscenario="baseline_2026"\nsource="s"\nmetric="tagged"\ncolour=1\n',
            "colour: unknown key",
        ),
        ('[[target]]\nrole="target"\n', "name: missing"),
        (
            '[[target]]\nname="x"\nrole="input"\nscenario="baseline_2026"\nsource="s"\nmetric="tagged"\n',
            "parameter: missing",
        ),
        (
            '[[target]]\nname="x"\nrole="input"\nscenario="baseline_2026"\nsource="s"\nmetric="tagged"\nparameter="field.oficers"\n',
            "did you mean field.officers",
        ),
        (
            '[[target]]\nname="x"\nrole="target"\nscenario="baseline_2026"\nsource="s"\nmetric="tagged"\nminus="baseline_2026"\n',
            "for checks only",
        ),
        (
            '[[target]]\nname="x"\nrole="check"\nscenario="baseline_2026"\nsource="s"\nmetric="tagged"\nminus="nope"\n',
            "minus: got 'nope'",
        ),
    ],
)
def test_bad_targets_file(tmp_path, body, needle):
    path = tmp_path / "t.toml"
    path.write_text(body)
    with pytest.raises(UserError, match=needle):
        tg.load(path)


def test_a_difference_check_reads_both_scenarios_on_the_same_seed():
    """A check with ``minus`` is the named scenario's figure less the other's, run on the same
    seeds; the same scenario minus itself is exactly zero."""
    row = tg.Target(name="d", role="check", scenario="baseline_2026", minus="baseline_2026",
                    source="s", lower=-1.0, upper=1.0, series="cost_police_gbp",
                    window=(__import__("datetime").date(2026, 3, 1),
                            __import__("datetime").date(2026, 5, 31)),
                    stat="annual", years=0.5)  # fmt: skip
    assert row.runs == (("baseline_2026", 0.5, ()), ("baseline_2026", 0.5, ()))
    table = tg.evaluate([row], seeds=[1, 2], scale=0.05)
    assert table["model_median"].iloc[0] == 0.0
    assert table["model_p95"].iloc[0] == 0.0
