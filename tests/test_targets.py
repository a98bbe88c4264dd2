"""The baseline reproduces the published figures it was calibrated to (FACTS.md), and the
README shows its current figures."""

from pathlib import Path

import pytest

from em_abm import targets
from em_abm.results import run_model

DOCS = Path(__file__).resolve().parent.parent / "docs"

# The published figures, as declared (with sources) in calibration/targets.toml.
TARGET_TAGGED = targets.value("tagged")  # NAO key facts: people tagged, March 2026
TARGET_MIX = {
    c: targets.value(f"share:tagged_by_cohort.{c}/tagged")
    for c in ("post_release", "court_bail", "immigration", "court_sentence")
}


@pytest.fixture(scope="module")
def baseline_result():
    """baseline_2026, 3 years, full scale (a few seconds)."""
    return run_model("baseline_2026", seed=1, years=3, scale=1.0)


@pytest.fixture(scope="module")
def baseline(baseline_result):
    return baseline_result.summary


def test_the_readme_shows_what_the_model_draws(baseline_result, tmp_path):
    """The README's figures of this run (``docs/*_baseline_2026.png``) are the current
    model's, byte for byte: ``scripts/readme_figures.py`` redraws them after a change."""
    for path in baseline_result.plot(folder=tmp_path):
        committed = DOCS / f"{path.stem}_baseline_2026.png"
        assert path.read_bytes() == committed.read_bytes(), f"{committed.name} is out of date"


def test_tagged_population_within_5_percent(baseline):
    assert baseline["tagged"] == pytest.approx(TARGET_TAGGED, rel=0.05)


def test_cohort_mix_within_3_points(baseline):
    total = baseline["tagged"]
    for cohort, share in TARGET_MIX.items():
        assert baseline["tagged_by_cohort"][cohort] / total == pytest.approx(share, abs=0.03), (
            cohort
        )
    assert baseline["tagged_by_cohort"]["specials"] / total < 0.005


def test_operational_rates(baseline):
    assert 0.40 <= baseline["install_within_two_attempts_rate"] <= 0.70
    assert baseline["order_error_rate"] == pytest.approx(0.21, abs=0.01)
    assert baseline["device_collection_rate"] == pytest.approx(0.60, abs=0.02)


def test_checks_not_tuned_to(baseline):
    """Validation rows of FACTS.md, reproduced without tuning."""
    # ~8,900 active orders without a tag (24%) is an upper bound (records left open by mistake)
    assert 0.05 < baseline["unmonitored_share"] < 0.24
    # annual direct cost about GBP 133m (2025-26)
    per_year = baseline["cost_em_gbp"] / baseline["years"]
    assert per_year == pytest.approx(133e6, rel=0.1)
    # the backlog stays under the HMPPS tolerable level of 400 outstanding visits
    assert baseline["outstanding_visits"] < 400


def test_breach_targets(baseline):
    """NAO para 13 and 8: 10-50% of alerts become notifications, nearly half of outcomes are
    no further action, breach details reach officials 29-53 hours after the breach."""
    assert 0.10 <= baseline["alert_to_notification_rate"] <= 0.50
    assert 0.35 <= baseline["nfa_share"] <= 0.60
    assert 29 <= baseline["notification_lag_hours_p50"] <= 53
    # breach rates around 30% of orders (HM Inspectorate of Probation evidence base)
    assert 0.2 <= baseline["breach_rate_of_orders"] <= 0.45


def test_probation_caseload_between_target_and_threshold(baseline):
    assert 36 <= baseline["probation_caseload"] <= 50
