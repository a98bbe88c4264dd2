"""Stage 8, removal: orders end and leave the system.

An order that ends while its tag is fitted waits for a removal visit (made by the field
officers, :mod:`em_abm.stages.field`, where the device is collected with probability
``equipment.collection_rate`` or lost and replaced); any other order closes when it ends,
is revoked, or ends in custody. A closed order's slot is freed at once for the next order
and its person, if still on it, is back at liberty (:mod:`em_abm.stages.people`); it is
counted at the end of the day (:meth:`Removal.step`).
"""

from __future__ import annotations

import numpy as np

from em_abm.component import Component, register
from em_abm.population import NO_DAY


@register
class Removal(Component):
    name = "removal"
    params = ("equipment.collection_rate",)
    metrics = ("orders_closed_fitted", "orders_closed_with_breach")

    def setup(self) -> None:
        self._closed_today: list[np.ndarray] = []

    def close(self, slots: np.ndarray) -> None:
        """Orders that are over: their slots are freed now (their people are at liberty);
        they are counted at the end of the day."""
        self._closed_today.append(slots)
        self.model.stages.people.orders_closed(self.model.day, slots)
        self.model.orders.release(slots)

    def step(self, d: int) -> None:
        if not self._closed_today:
            return
        m = self.model
        o = m.orders
        closed = self._closed_today
        slots = np.concatenate(closed) if len(closed) > 1 else closed[0]
        self._closed_today = []
        was_fitted = o.fitted_day[slots] != NO_DAY
        m.count("orders_closed_fitted", np.count_nonzero(was_fitted))
        m.count(
            "orders_closed_with_breach", np.count_nonzero(was_fitted & (o.notifications[slots] > 0))
        )
        m.orders_closed += len(slots)
