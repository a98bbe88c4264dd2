"""Prioritisation strategies, as small strategy objects chosen by name.

A visit-queue policy gives each waiting visit a sort key; each region's field officers take
visits in ascending key order until their hours for the day are spent. Ties are broken by
order uid (the order in which orders arrived), so every policy is deterministic.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from em_abm.errors import UserError


class VisitPolicy:
    """Base class: ``key(model, slots)`` returns one sort key per waiting visit (lower first)."""

    name: ClassVar[str] = ""

    def key(self, model, slots: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class FirstComeFirstServed(VisitPolicy):
    """Visits in the order they became due: the supplier's current practice, where serious
    and minor cases are treated alike (NAO para 13)."""

    name = "fcfs"

    def key(self, model, slots: np.ndarray) -> np.ndarray:
        return model.orders.ready_day[slots]


VISIT_POLICIES: dict[str, type[VisitPolicy]] = {p.name: p for p in (FirstComeFirstServed,)}


def visit_policy(name: str) -> VisitPolicy:
    try:
        return VISIT_POLICIES[name]()
    except KeyError:
        raise UserError(
            f"policy.visit_queue: unknown policy {name!r}; allowed: {', '.join(VISIT_POLICIES)}"
        ) from None
