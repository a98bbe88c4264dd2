"""TagWearer: a person with a tagging order."""

from __future__ import annotations

import datetime as dt
from collections import deque

import mesa
from mesa.experimental.mesa_signals import ModelSignals

from em_abm.params import COHORTS, TAGS
from em_abm.population import State


def _observed(model: mesa.Model) -> bool:
    return model._has_subscribers("agents", ModelSignals.AGENT_ADDED) or model._has_subscribers(
        "agents", ModelSignals.AGENT_REMOVED
    )


class TagWearer(mesa.Agent):
    """A person subject to an electronic monitoring order.

    The agent carries the slot of its order in the model's
    :class:`~em_abm.population.OrderTable`; the order's number (``uid``) and day-to-day
    state live in the table's arrays, where the model updates every wearer at once. The
    properties below read them, so that code working with one wearer can stay readable.
    They describe the wearer while the agent is in the model: when the order ends, the agent
    is removed and its slot is given to a later order.
    """

    pos = None  # no space: a wearer's home is an area of the geography (``home_area``)

    def __init__(self, model: mesa.Model, slot: int) -> None:
        super().__init__(model)
        self.slot = slot

    @classmethod
    def create_batch(cls, model: mesa.Model, slots: list[int]) -> list[TagWearer]:
        """One agent per new order, registered with the model in one go.

        Equivalent to calling ``TagWearer(model, slot)`` for each order, but it fills
        Mesa's agent registries directly: Mesa's per-agent registration (a signal emission and
        a log call per agent) costs about 8 microseconds per agent created and removed, which
        for 300,000 orders would be most of a run's time. No em-abm component subscribes to
        agent-added signals; when anything does (or Mesa's internals differ), the standard
        path is used. The first wearer of a model is made the standard way: it registers
        the type with Mesa.
        """
        if cls._datasets or _observed(model):
            return [cls(model, s) for s in slots]
        registry = model._agents_by_type.get(cls)
        if registry is None:
            return [cls(model, slots[0]), *cls.create_batch(model, slots[1:])] if slots else []
        new = object.__new__
        first = model.agent_id_counter
        agents = []
        for i, s in enumerate(slots):
            a = new(cls)
            a.model, a.unique_id, a.slot = model, first + i, s
            agents.append(a)
        model.agent_id_counter = first + len(agents)
        keys = dict.fromkeys(agents)
        model._all_agents._agents.update(keys)
        registry._agents.update(keys)
        return agents

    @classmethod
    def remove_batch(cls, model: mesa.Model, agents: list[TagWearer]) -> None:
        """Remove agents made by :meth:`create_batch` (the counterpart of ``Agent.remove``)."""
        registry = model._agents_by_type.get(cls)
        if registry is None or cls._datasets or _observed(model):
            for a in agents:
                a.remove()
            return
        deque(map(model._all_agents._agents.pop, agents), maxlen=0)
        deque(map(registry._agents.pop, agents), maxlen=0)

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
