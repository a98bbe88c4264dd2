"""TagWearer: a person with a tagging order."""

from __future__ import annotations

import datetime as dt

import mesa
import numpy as np

from em_abm.agents import registration
from em_abm.params import COHORTS, TAGS
from em_abm.population import State


class TagWearer(mesa.Agent):
    """A person subject to an electronic monitoring order.

    The agent carries the slot of its order in the model's
    :class:`~em_abm.population.OrderTable`; the order's number (``uid``) and day-to-day
    state live in the table's arrays, where the model updates every wearer at once. The
    properties below read them, so that code working with one wearer can stay readable.

    Each slot of the order table has one agent object, made when the slot is first used.
    When an order ends its agent leaves the model (it is deregistered, as by
    ``Agent.remove``); when a later order takes the slot, the same object joins the model
    again under a new ``unique_id``. So the agents in the model are always exactly the live
    orders, numbered by Mesa in the order they arrive, and no object is made or freed per
    order, which takes about a third off the cost of Mesa's agent bookkeeping (a full-scale
    run is 10-20% faster). To follow a wearer across days,
    keep its ``unique_id`` or ``order_uid``, not the object, and keep per-wearer state in the
    order table, not on the agent.
    """

    pos = None  # no space: a wearer's home is an area of the geography (``home_area``)

    def __init__(self, model: mesa.Model, slot: int) -> None:
        self.slot = slot  # first: registration writes the unique_id to the slot's row
        super().__init__(model)

    @property
    def unique_id(self) -> int:
        """Mesa's number for the agent, kept in the order table (``agent_id``), where a
        day's new agents are numbered in one operation."""
        return int(self.model.orders.agent_id[self.slot])

    @unique_id.setter
    def unique_id(self, value: int | None) -> None:
        if value is not None:  # Agent.__init__ sets None before registration numbers it
            self.model.orders.agent_id[self.slot] = value

    @classmethod
    def for_slots(cls, model: mesa.Model, slots) -> list[TagWearer]:
        """Agent objects for order slots used for the first time, not yet in the model
        (:meth:`enter` registers them)."""
        new = object.__new__
        agents = []
        for s in slots:
            a = new(cls)
            a.model, a.slot = model, s
            agents.append(a)
        return agents

    @classmethod
    def enter(cls, model: mesa.Model, slots: np.ndarray) -> None:
        """Register the agents of new orders with the model, in the orders' order, as
        ``model.register_agent`` would for each, in a batch
        (:func:`em_abm.agents.registration.register`: Mesa's per-agent registration would
        cost more than the rest of the model)."""
        table = model.orders
        if len(table.agent) < table.n:  # slots used for the first time (numbered last)
            table.agent.extend(cls.for_slots(model, range(len(table.agent), table.n)))
        head, first = registration.register(model, cls, table.agents(slots.tolist()))
        rest = slots[head:]
        table.agent_id[rest] = np.arange(first, first + len(rest))

    @classmethod
    def leave(cls, model: mesa.Model, slots: np.ndarray) -> None:
        """Deregister the agents of orders that have ended (the counterpart of
        :meth:`enter`; ``Agent.remove`` for each, on the public path)."""
        registration.deregister(model, cls, model.orders.agents(slots.tolist()))

    def _get(self, name: str):
        return getattr(self.model.orders, name)[self.slot]

    @property
    def order_uid(self) -> int:
        """The order's number (orders are numbered from 0 in the order they arrive)."""
        return int(self._get("uid"))

    @property
    def cohort(self) -> str:
        return COHORTS[self._get("cohort")]

    @property
    def tag_type(self) -> str:
        return TAGS[self._get("tag")]

    @property
    def home_area(self) -> str:
        return self.model.geography.areas[self._get("area")]

    @property
    def state(self) -> State:
        return State(self._get("state"))

    @property
    def order_start(self) -> dt.date:
        return self.model.date_of(int(self._get("received_day")))

    @property
    def order_end(self) -> dt.date:
        return self.model.date_of(int(self._get("end_day")))

    def __repr__(self) -> str:
        return (
            f"TagWearer(uid={self.order_uid}, cohort={self.cohort}, tag={self.tag_type}, "
            f"area={self.home_area}, state={self.state.name})"
        )
