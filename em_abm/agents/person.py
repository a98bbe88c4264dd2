"""Person: someone the model follows, from their first tagging order until they leave."""

from __future__ import annotations

import datetime as dt

import mesa
import numpy as np

from em_abm.agents import registration
from em_abm.params import COHORTS, CUSTODY_KINDS, RISK_LEVELS, TAGS
from em_abm.population import NO_DAY, PersonState, State


class Person(mesa.Agent):
    """A person the model follows: on an order (waiting for a fit, tagged, or untagged), in
    custody after one, or at liberty inside their after-order or follow-up period
    (:mod:`em_abm.stages.people`).

    The agent carries the slot of its person in the model's
    :class:`~em_abm.population.PersonTable`; the person's state lives in the table's arrays,
    where the model updates everyone at once (no Python call per person per day), and the
    properties below read them, so that code working with one person can stay readable.
    Orders are episodes of a person: ``order`` is the current one (``None`` between orders).

    Each slot of the person table has one agent object, made when the slot is first used.
    When a person leaves, its agent leaves the model (it is deregistered, as by
    ``Agent.remove``); when a later person takes the slot, the same object joins the model
    again under a new ``unique_id``. So the agents in the model are always exactly the people
    followed, numbered by Mesa in the order they arrive, and no object is made or freed per
    person. To follow someone across days keep its ``unique_id`` or ``person_uid``, not the
    object, and keep per-person state in the person table, not on the agent.
    """

    pos = None  # no space: a person's home is an area of the geography (``home_area``)

    def __init__(self, model: mesa.Model, slot: int) -> None:
        self.slot = slot  # first: registration writes the unique_id to the slot's row
        super().__init__(model)

    @property
    def unique_id(self) -> int:
        """Mesa's number for the agent, kept in the person table (``agent_id``), where a
        day's new agents are numbered in one operation."""
        return int(self.model.people.agent_id[self.slot])

    @unique_id.setter
    def unique_id(self, value: int | None) -> None:
        if value is not None:  # Agent.__init__ sets None before registration numbers it
            self.model.people.agent_id[self.slot] = value

    @classmethod
    def for_slots(cls, model: mesa.Model, slots) -> list[Person]:
        """Agent objects for person slots used for the first time, not yet in the model
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
        """Register the agents of new people with the model, in their order, as
        ``model.register_agent`` would for each, in a batch
        (:func:`em_abm.agents.registration.register`: Mesa's per-agent registration would
        cost more than the rest of the model)."""
        table = model.people
        if len(table.agent) < table.n:  # slots used for the first time (numbered last)
            table.agent.extend(cls.for_slots(model, range(len(table.agent), table.n)))
        head, first = registration.register(model, cls, table, slots)
        rest = slots[head:]
        table.agent_id[rest] = np.arange(first, first + len(rest))

    @classmethod
    def leave(cls, model: mesa.Model, slots: np.ndarray) -> None:
        """Deregister the agents of people who leave (the counterpart of :meth:`enter`;
        ``Agent.remove`` for each, on the public path)."""
        registration.deregister(model, cls, model.people, slots)

    def _get(self, name: str):
        return getattr(self.model.people, name)[self.slot]

    @property
    def person_uid(self) -> int:
        """The person's number (people are numbered from 0 in the order they arrive)."""
        return int(self._get("uid"))

    @property
    def status(self) -> PersonState:
        return PersonState(self._get("state"))

    @property
    def cohort(self) -> str:
        """The cohort of the person's first order."""
        return COHORTS[self._get("cohort")]

    @property
    def assessed_risk(self) -> str:
        return RISK_LEVELS[self._get("risk")]

    @property
    def true_risk(self) -> str:
        return RISK_LEVELS[self._get("true_risk")]

    @property
    def home_area(self) -> str:
        return self.model.geography.areas[self._get("area")]

    @property
    def offences_per_year(self) -> float:
        """The person's offending rate at liberty, untagged."""
        return float(self._get("rate")) * 365.0

    @property
    def order_slot(self) -> int | None:
        """The slot of the person's current order, or ``None``."""
        slot = int(self._get("order"))
        o = self.model.orders
        if slot < 0 or o.uid[slot] != self._get("order_uid") or o.state[slot] == State.FREE:
            return None
        return slot

    @property
    def order_state(self) -> State | None:
        slot = self.order_slot
        return None if slot is None else State(self.model.orders.state[slot])

    @property
    def tag_type(self) -> str | None:
        slot = self.order_slot
        return None if slot is None else TAGS[self.model.orders.tag[slot]]

    @property
    def custody(self) -> str | None:
        """The kind of custody the person is in, or ``None``."""
        if self._get("state") != PersonState.CUSTODY:
            return None
        return CUSTODY_KINDS[self._get("custody_kind")]

    @property
    def release_date(self) -> dt.date | None:
        if self._get("state") != PersonState.CUSTODY:
            return None
        return self.model.date_of(int(self._get("release_day")))

    @property
    def in_followup(self) -> bool:
        """Whether the person belongs to the person-level follow-up cohort."""
        return int(self._get("f_start")) != NO_DAY

    def __repr__(self) -> str:
        return (
            f"Person(uid={self.person_uid}, cohort={self.cohort}, status={self.status.name}, "
            f"assessed_risk={self.assessed_risk}, area={self.home_area})"
        )
