"""Registering many agents with a Mesa model at once: the one place em-abm reaches into Mesa's
internals, with Mesa's public path as the fallback.

Mesa registers an agent through ``Model.register_agent`` (called by ``Agent.__init__``) and
deregisters it through ``Agent.remove``; each emits a signal and writes a log record, about
8 microseconds per agent added and removed. A full-scale three-year run follows some 440,000
people in and 400,000 out, so that cost would be most of a run's time (benchmarks/README.md,
"what was done", items 8 and 13).

Agents kept by slot. em-abm's per-person agents belong to the slots of a table
(:class:`~em_abm.population.PersonTable`: ``table.agent[slot]`` is the slot's one object, whose
Mesa ``unique_id`` the table keeps in ``agent_id``). :func:`register` and :func:`deregister`
take the slots of the people who join and leave, and do what Mesa's calls would do to its
registries (the model's agent set, the set of the agent's type, and the id counter) for the
whole batch.

**Applied when read.** Mesa's two registries are dictionaries of some 170,000 agents at full
scale; adding and removing a day's few hundred people touched memory that had left the
processor's caches (the dictionaries' entries and each agent object), about 1 microsecond a
person each way, 14% of a full-scale run. So a batch is noted in three boolean arrays by slot
(touched, followed, in the registries), and applied to both registries the next time either
registry is read, by anything: Mesa's own methods (``len``, iteration, ``shuffle_do``,
``select``, ``agent in ...``, a new registration), a user's code, a test. A reader always sees
exactly the people followed at that moment, in the order Mesa would hold them (the order they
were registered in; a slot's object that left and joined again under a new ``unique_id`` is
where Mesa would have put it, at the end). People who join and leave between two reads never
touch the registries. The hook is the registries' class: the model's two
``_HardKeyAgentSet`` objects become :class:`_AppliedWhenRead`, which adds nothing to Mesa's
class but a non-data descriptor for ``_agents``. While nothing is pending the set's
``_agents`` is the plain dictionary in the object's ``__dict__`` (no cost per read); while a
batch is pending it is moved aside, so the next read goes through the descriptor, which applies
the batch and puts the dictionary back.

The public path, agent by agent, is taken when:

* anything is subscribed to Mesa's agent signals (or the type has Mesa data sets), which the
  fast path would not notify;
* the type is not yet registered with the model (its first agent goes the public way, which
  creates the type's agent set);
* Mesa's internals are not what this module expects (:func:`fast_path_available`), as after
  an upgrade that changes them: results are the same, only slower.

``tests/test_model.py`` checks that the internals are as expected with the installed Mesa
(so an upgrade that changes them fails a test rather than silently slowing every run), that
both paths leave the model in the same state, and that a read on any day sees the registries
the public path would have built, in the same order.
"""

from __future__ import annotations

from collections import deque
from itertools import repeat

import mesa
import numpy as np
from mesa.agentset import _HardKeyAgentSet
from mesa.experimental.mesa_signals import ModelSignals

_REGISTRY = "_em_abm_slot_registry"  # where a set and its model keep their SlotRegistry
_ASIDE = "_em_abm_agents"  # where a set's dictionary waits while a batch is pending


def fast_path_available(model: mesa.Model, cls: type) -> bool:
    """Whether the fast path can register agents of ``cls`` with ``model`` now: its
    registries have the shape the fast path writes (Mesa 3.5; checked once per model and
    type) and nothing listens to its agent signals (checked every time)."""
    known = model.__dict__.setdefault("_em_abm_registries", {})
    shape = known.get(cls)
    if shape is None:
        shape = _registries_as_expected(model, cls)
        if cls in getattr(model, "_agents_by_type", {}):  # the type's set exists: final
            known[cls] = shape
    return shape and not observed(model)


def _registries_as_expected(model: mesa.Model, cls: type) -> bool:
    by_type = getattr(model, "_agents_by_type", None)
    everyone = getattr(model, "_all_agents", None)
    return (
        isinstance(by_type, dict)
        and cls in by_type
        and type(by_type[cls]) in (_HardKeyAgentSet, _AppliedWhenRead)
        and type(everyone) in (_HardKeyAgentSet, _AppliedWhenRead)
        and isinstance(getattr(by_type[cls], "_agents", None), dict)
        and isinstance(getattr(everyone, "_agents", None), dict)
        and isinstance(getattr(model, "agent_id_counter", None), int)
        and not getattr(cls, "_datasets", None)
    )


def observed(model: mesa.Model) -> bool:
    """Whether anything listens to the model's agent signals."""
    has = getattr(model, "_has_subscribers", None)
    if has is None:  # pragma: no cover - a Mesa without signals: the public path only
        return True
    return has("agents", ModelSignals.AGENT_ADDED) or has("agents", ModelSignals.AGENT_REMOVED)


class _Pending:
    """The ``_agents`` of a set with a batch pending: applies it, then returns the dictionary.
    A non-data descriptor, so it is consulted only while the dictionary is moved aside."""

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        obj.__dict__[_REGISTRY].apply()
        return obj.__dict__["_agents"]


class _AppliedWhenRead(_HardKeyAgentSet):
    """Mesa's ``_HardKeyAgentSet``, whose batches of agents joining and leaving are applied
    when it is next read (the module docstring). While a batch is pending, an agent of
    another type joining the model's set (an officer on a staffing change) waits with it, to
    be put in in its place in the order of registration, and one leaving is taken out at
    once; neither applies the batch."""

    _agents = _Pending()

    def _other(self, agent) -> SlotRegistry | None:
        """The registry, if this is the model's set, a batch is pending and ``agent`` is not
        of the batch's type."""
        registry = self.__dict__.get(_REGISTRY)
        if (registry is None or not registry.pending or self is not registry.sets[0]
                or isinstance(agent, registry.cls)):  # fmt: skip
            return None
        return registry

    def _update(self, agents):
        registry = self.__dict__.get(_REGISTRY)
        if registry is not None:  # the pending batches first: the new dictionary replaces all
            registry.apply()
        return super()._update(agents)

    def add(self, agent) -> None:
        registry = self._other(agent)
        if registry is None:
            return super().add(agent)
        registry.joined.append(agent)

    def discard(self, agent) -> None:
        registry = self._other(agent)
        if registry is None:
            return super().discard(agent)
        if not registry.left(agent):
            self.__dict__[_ASIDE].pop(agent, None)

    def remove(self, agent) -> None:
        registry = self._other(agent)
        if registry is None:
            return super().remove(agent)
        if not registry.left(agent):
            del self.__dict__[_ASIDE][agent]


class SlotRegistry:
    """The batches of one agent type (whose objects are kept by the slots of ``table``) not yet
    applied to a model's two registries."""

    def __init__(self, model: mesa.Model, cls: type, table) -> None:
        self.table = table
        self.cls = cls
        self.sets = (model._all_agents, model._agents_by_type[cls])
        self.joined: list = []  # agents of other types that joined the model while pending
        cap = table.capacity
        self.touched = np.zeros(cap, dtype=bool)  # joined or left since the last apply
        self.followed = np.zeros(cap, dtype=bool)  # in the model (as of the last batch)
        self.held = np.zeros(cap, dtype=bool)  # in the registries' dictionaries now
        for agent in self.sets[1].__dict__["_agents"]:  # the type's first, public, agent(s)
            self.held[agent.slot] = self.followed[agent.slot] = True
        self.pending = False
        for s in self.sets:
            s.__class__ = _AppliedWhenRead
            s.__dict__[_REGISTRY] = self

    def _fit(self) -> None:
        cap = self.table.capacity
        if len(self.touched) < cap:
            for name in ("touched", "followed", "held"):
                old = getattr(self, name)
                new = np.zeros(cap, dtype=bool)
                new[: len(old)] = old
                setattr(self, name, new)

    def note(self, slots: np.ndarray, followed: bool) -> None:
        """Slots whose agents joined (``followed``) or left the model."""
        if not len(slots):
            return
        self._fit()
        self.touched[slots] = True
        self.followed[slots] = followed
        if not self.pending:
            self.pending = True
            for s in self.sets:  # the next read goes through _Pending
                s.__dict__[_ASIDE] = s.__dict__.pop("_agents")

    def public(self, slots: np.ndarray, held: bool) -> None:
        """Slots whose agents Mesa's public path registered (``held``) or deregistered."""
        self._fit()
        self.held[slots] = held
        self.followed[slots] = held

    def left(self, agent) -> bool:
        """Take ``agent`` (of another type) from those waiting to join; whether it was."""
        for i, a in enumerate(self.joined):
            if a is agent:
                del self.joined[i]
                return True
        return False

    def apply(self) -> None:
        """Apply the pending batches to both registries: the slots' agents that left are
        taken out, and those followed now put in at the end, in the order they joined
        (their ``unique_id``, which Mesa numbers in the order of registration), with any
        agents of other types that joined the model meanwhile in their places."""
        if not self.pending:
            return
        self.pending = False
        for s in self.sets:
            s.__dict__["_agents"] = s.__dict__.pop(_ASIDE)
        table = self.table
        touched = np.flatnonzero(self.touched[: table.n])
        self.touched[touched] = False
        out = touched[self.held[touched]].tolist()
        into = touched[self.followed[touched]]
        ids = table.agent_id[into]
        rank = np.argsort(ids, kind="stable")
        into = into[rank].tolist()
        self.held[touched] = self.followed[touched]
        get = table.agent.__getitem__
        joined, self.joined = self.joined, []
        for s in self.sets:
            agents = s.__dict__["_agents"]
            deque(map(agents.pop, map(get, out), repeat(None)), maxlen=0)
            if joined and s is self.sets[0]:  # the model's set: everyone, by their numbers
                both = [*map(get, into), *joined]
                place = np.argsort(np.concatenate(
                    (ids[rank], np.array([a.unique_id for a in joined], dtype=ids.dtype))
                ), kind="stable")  # fmt: skip
                agents.update(dict.fromkeys(map(both.__getitem__, place.tolist())))
            else:
                agents.update(dict.fromkeys(map(get, into)))


def register(model: mesa.Model, cls: type, table, slots: np.ndarray) -> tuple[int, int]:
    """Register the agents of ``slots`` of ``table`` (of type ``cls``, not yet in the model;
    ``table.agent`` holds their objects) with ``model`` in the slots' order, as
    ``model.register_agent`` would. Returns ``(head, first)``: the first ``head`` agents went
    the public way (which set their ``unique_id``); the rest were registered by the fast path
    and take the ids ``first, first + 1, ...``, which the caller writes to the table."""
    agents = table.agent

    def public(batch: np.ndarray) -> None:
        for s in batch.tolist():
            model.register_agent(agents[s])
            for dataset in getattr(cls, "_datasets", ()):
                model.data_registry[dataset].add_agent(agents[s])
        registry = _registry(model, cls, table)
        if registry is not None:
            registry.public(batch, True)

    head = 0
    if len(slots) and cls not in getattr(model, "_agents_by_type", {}):
        public(slots[:1])  # the type's first agent creates its agent set
        head = 1
    registry = _registry(model, cls, table, make=True) if fast_path_available(model, cls) else None
    if registry is None:
        public(slots[head:])
        return len(slots), model.agent_id_counter
    first = model.agent_id_counter
    model.agent_id_counter = first + len(slots) - head
    registry.note(slots[head:], True)
    return head, first


def deregister(model: mesa.Model, cls: type, table, slots: np.ndarray) -> None:
    """Deregister the agents of ``slots`` of ``table`` (``Agent.remove`` for each, on the
    public path)."""
    registry = _registry(model, cls, table)
    if registry is None or not fast_path_available(model, cls):
        for s in slots.tolist():
            table.agent[s].remove()
        if registry is not None:
            registry.public(slots, False)
        return
    registry.note(slots, False)


def _registry(model: mesa.Model, cls: type, table, make: bool = False) -> SlotRegistry | None:
    """The model's registry for ``cls`` and ``table`` (made first if ``make``), or ``None``:
    there is none yet, or the model's is for another type or table (one type of agent kept
    by slot per model has one; any other goes Mesa's public way)."""
    registry = model.__dict__.get(_REGISTRY)
    if registry is None and make:
        registry = model.__dict__[_REGISTRY] = SlotRegistry(model, cls, table)
    if registry is None or registry.cls is not cls or registry.table is not table:
        return None
    return registry
