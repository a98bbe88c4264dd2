"""Outputs that are not queues are the same per head at any scale, within noise; every output
says whether its counts are England and Wales or a scaled sample."""

import numpy as np
import pytest
from joblib import Parallel, delayed

import em_abm
from em_abm.metrics import scale_label

# Rates and shares that do not depend on the size of the system (scripts/scale_table.py has
# them with the queue outputs, which do).
NOT_QUEUES = {
    "tagged per head": lambda s: s["tagged"] / s["scale"],
    "orders with a breach": lambda s: s["breach_rate_of_orders"],
    "no further action": lambda s: s["nfa_share"],
    "proven reoffending": lambda s: s["followup_proven_reoffending_12m"],
    "offences per 100 followed": lambda s: s["followup_offences_per_100"],
    "fitted within two attempts": lambda s: s["install_within_two_attempts_rate"],
}
SEEDS = (1, 2, 3)


def _summary(scale, seed):
    return em_abm.run("baseline_2026", seed=seed, years=2.0, scale=scale).summary


@pytest.fixture(scope="module")
def by_scale():
    tasks = [(sc, s) for sc in (0.2, 0.4) for s in SEEDS]
    runs = Parallel(n_jobs=2)(delayed(_summary)(sc, s) for sc, s in tasks)
    out = {0.2: [], 0.4: []}
    for (sc, _), summary in zip(tasks, runs, strict=True):
        out[sc].append(summary)
    return out


@pytest.mark.parametrize("name", NOT_QUEUES)
def test_outputs_that_are_not_queues_do_not_depend_on_the_scale(by_scale, name):
    f = NOT_QUEUES[name]
    a = np.array([f(s) for s in by_scale[0.2]])
    b = np.array([f(s) for s in by_scale[0.4]])
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    # Within four standard errors of the difference, or 1.5% (three seeds estimate the
    # spread loosely).
    assert abs(a.mean() - b.mean()) <= max(4 * se, 0.015 * abs(b.mean())), (a, b)


def test_every_run_says_what_its_counts_are(by_scale):
    assert by_scale[0.2][0]["counts"] == scale_label(0.2)
    assert "scaled sample" in scale_label(0.2) and "England and Wales" in scale_label(1.0)
    assert "equivalents" in scale_label(0.2, equivalent=True)
