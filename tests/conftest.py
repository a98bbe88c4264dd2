"""Shared fixtures: small runs are cached per session so several tests can read one run."""

from __future__ import annotations

import functools
import os

import pytest
from hypothesis import HealthCheck, settings

from em_abm.model import EMModel
from em_abm.results import run_model

# Property tests: a fixed set of examples in `make test` (derandomised, so every run checks
# the same ones) and a longer, freshly drawn exploration in `make test-long`.
settings.register_profile(
    "ci", max_examples=200, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)  # fmt: skip
settings.register_profile(
    "long", max_examples=2000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)  # fmt: skip
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@functools.cache
def small_run(seed: int = 1, years: float = 1.0, scale: float = 0.1, **overrides):
    return run_model(
        "baseline_2026", seed=seed, years=years, scale=scale, overrides=overrides or None
    )


@pytest.fixture
def make_model():
    def make(*, seed=1, years=0.5, scale=0.05, scenario="baseline_2026", **overrides):
        return EMModel(
            scenario,
            rng=seed,
            years=years,
            scale=scale,
            overrides=overrides or None,
            check_invariants=True,
        )

    return make
