"""Agencies: the requesters of orders (courts, prisons, Home Office) and the equipment supplier."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import mesa
import numpy as np

from em_abm.agents.responder import Responder
from em_abm.kernels.supply import reorder_quantities
from em_abm.params import COHORTS


class Requester(mesa.Agent):
    """An agency that creates tagging orders (stage 2) and takes back failed ones.

    Each requester owns some cohorts (NAO Figure 1 D). It sends the day's new orders, fixes
    orders sent with errors, and reviews orders escalated after two failed fitting
    attempts: re-issue for another round, revoke (recall, return to court, detention), or
    leave the order active without a tag (:func:`em_abm.kernels.review_decision`, applied
    to every order due for review in the model's daily pass over the orders).
    """

    cohorts: tuple[str, ...] = ()

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        self.cohort_ids = tuple(COHORTS.index(c) for c in self.cohorts)

    def new_orders(self, rng: np.random.Generator, daily_rate: Sequence[float]) -> list[int]:
        """Number of new orders today for each of this requester's cohorts (in
        ``cohort_ids`` order), given the expected daily orders of every cohort."""
        return [rng.poisson(daily_rate[c]) for c in self.cohort_ids]


class Prison(Requester):
    """Prisons and the Parole Board: post-release orders; with the Home Office, specials."""

    cohorts = ("post_release", "specials")


class Court(Requester):
    """Courts: court bail and court sentences (community and suspended orders)."""

    cohorts = ("court_bail", "court_sentence")


class HomeOffice(Requester, Responder):
    """The Home Office: requests immigration bail orders and responds to their breaches (and
    to those of immigration-related specials): adjust bail, prioritise casework, detention,
    administrative arrest or prosecution, within a national daily capacity."""

    cohorts = ("immigration",)
    responder = "home_office"

    @classmethod
    def capacity(cls, p: dict, scale: float) -> np.ndarray:
        """Responses a day, nationally (one desk)."""
        return np.array(
            [p["home_office.responses_per_day"] * p["home_office.capacity_multiplier"] * scale]
        )


class EquipmentSupplier(mesa.Agent):
    """The equipment supplier (stage 1): keeps each region stocked with each device type.

    Each day it compares a region's stock plus deliveries due with a reorder point (in days
    of expected fits) and orders up to a target; deliveries arrive after a lead time as Mesa
    timed events. Devices collected at removal go back into stock; lost ones are replaced
    only through these orders.
    """

    def __init__(self, model: mesa.Model, stock: np.ndarray) -> None:
        super().__init__(model)
        self.stock = stock.astype(np.int64)
        self.on_order = np.zeros_like(self.stock)
        self.supplied = int(self.stock.sum())  # devices ever supplied (initial stock included)
        self.delivered_today = 0
        self._due: dict[float, np.ndarray] = defaultdict(lambda: np.zeros_like(self.stock))

    def reorder(
        self,
        *,
        expected_daily_fits: np.ndarray,
        reorder_point_days: float,
        order_up_to_days: float,
        lead_time_days: int,
        supply_multiplier: float,
        deliver_at: float,
    ) -> None:
        qty, total = reorder_quantities(
            self.stock, self.on_order, expected_daily_fits, reorder_point_days,
            order_up_to_days, supply_multiplier,
        )  # fmt: skip
        if total == 0:
            return
        self.on_order += qty
        self._due[deliver_at] += qty
        if lead_time_days == 0:
            self.receive_due()
        else:
            self.model.schedule_event(self.receive_due, at=deliver_at)

    def receive_due(self) -> None:
        """Timed event: deliveries due by now arrive in regional stock."""
        now = self.model.time
        for t in [t for t in self._due if t <= now]:
            qty = self._due.pop(t)
            self.stock += qty
            self.on_order -= qty
            self.supplied += int(qty.sum())
            self.delivered_today += int(qty.sum())
