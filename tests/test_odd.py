"""The ODD description (paper/ODD.md): complete, current, and generated only from known names."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from em_abm import params as P
from em_abm.errors import UserError
from em_abm.geography import Geography
from em_abm.odd import OUTPUT, render_odd, write_odd
from em_abm.scenario import load

DESIGN_CONCEPTS = (
    "Basic principles",
    "Emergence",
    "Adaptation",
    "Objectives",
    "Learning",
    "Prediction",
    "Sensing",
    "Interaction",
    "Stochasticity",
    "Collectives",
    "Observation",
)


@functools.cache
def committed() -> str:
    return OUTPUT.read_text(encoding="utf-8")


@functools.cache
def rendered() -> str:
    return render_odd()


def _cells(line: str) -> list[str]:
    """Cells of a markdown table row (escaped pipes stay inside their cell)."""
    inner = line.strip()[1:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def param_rows(text: str) -> dict[str, dict[str, str]]:
    """The parameter table's rows by name: the table whose header starts ``| name | value``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| name | value |"))
    header = _cells(lines[start])
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        row = dict(zip(header, _cells(line), strict=True))
        rows[row["name"].strip("`")] = row
    return rows


def test_parameter_table_lists_every_parameter():
    rows = param_rows(committed())
    assert set(rows) == set(P.PARAMS)
    assert len(rows) == len(P.PARAMS)


def test_every_parameter_row_has_a_source_and_its_value():
    for name, row in param_rows(committed()).items():
        assert row["source"], f"{name}: empty source"
        assert row["value"], f"{name}: empty value"
    rows = param_rows(committed())
    assert (
        rows["field.fit_success_prob"]["value"] == f"{P.PARAMS['field.fit_success_prob'].default:g}"
    )
    assert rows["field.fit_success_prob"]["source"].startswith("calibrated")


def test_committed_odd_is_current():
    # If this fails, regenerate: python -c "from em_abm.odd import write_odd; write_odd()"
    assert committed() == rendered()


def test_write_odd_is_atomic_and_matches_render(tmp_path):
    out = write_odd(tmp_path / "ODD.md")
    assert out.read_text(encoding="utf-8") == rendered()
    assert [p.name for p in tmp_path.iterdir()] == ["ODD.md"]


def test_rendered_odd_is_fully_filled():
    text = rendered()
    assert text.startswith("<!-- Generated from paper/ODD.in.md")
    assert "{{" not in text and "}}" not in text
    assert f"All {len(P.PARAMS)} parameters" in text


@pytest.mark.parametrize("concept", DESIGN_CONCEPTS)
def test_design_concept_headings(concept):
    assert re.search(rf"^### 4\.\d+ {concept}$", committed(), flags=re.MULTILINE), concept


def test_odd_sections():
    for heading in (
        "## 1. Purpose and patterns",
        "## 2. Entities, state variables and scales",
        "## 3. Process overview and scheduling",
        "## 4. Design concepts",
        "## 5. Initialisation",
        "## 6. Input data",
        "## 7. Submodels",
        "## 8. Parameters",
    ):
        assert f"\n{heading}\n" in committed(), heading


def _template(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ODD.in.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_placeholders_are_filled_from_the_registry(tmp_path):
    path = _template(
        tmp_path,
        "{{p:field.fit_success_prob}} {{unit:field.officers}} {{pct:orders.error_rate}} "
        "{{p:policy.visit_queue}} {{n_force_areas}} {{s:transition_2024:demand.multiplier}}",
    )
    fit = P.PARAMS["field.fit_success_prob"].default
    error = P.PARAMS["orders.error_rate"].default
    areas = len(Geography().areas)
    multiplier = load("transition_2024").params["demand.multiplier"]
    body = render_odd(path).splitlines()[1]
    assert body == f"{fit:g} FTE {100 * error:.3g}% `fcfs` {areas} {multiplier:g}"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("see {{no_such_thing}}", "no_such_thing"),
        ("{{p:field.no_such_param}}", "field.no_such_param"),
        ("{{unit:no.such}}", "no.such"),
        ("{{pct:demand.no_such}}", "demand.no_such"),
        ("{{calc:no_such_calc}}", "no_such_calc"),
        ("{{zz:field.officers}}", "zz"),
        ("{{s:no_such_scenario:field.officers}}", "no_such_scenario"),
        ("{{s:baseline_2026:field.nope}}", "field.nope"),
        ("{{n_targets:no_such_scenario}}", "no_such_scenario"),
        ("left open {{p:field.officers", "{{p:field.officers"),
    ],
)
def test_unknown_or_unfilled_placeholder_is_a_user_error(tmp_path, text, needle):
    with pytest.raises(UserError) as err:
        render_odd(_template(tmp_path, text))
    assert needle in str(err.value)


def test_missing_template_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot read"):
        render_odd(tmp_path / "absent.md")
