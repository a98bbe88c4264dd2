"""Shared fixtures: small runs are cached per session so several tests can read one run."""

from __future__ import annotations

import functools

import pytest

from em_abm.model import EMModel
from em_abm.results import run_model


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
