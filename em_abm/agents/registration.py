"""Registering many agents with a Mesa model at once: the one place em-abm reaches into Mesa's
internals, with Mesa's public path as the fallback.

Mesa registers an agent through ``Model.register_agent`` (called by ``Agent.__init__``) and
deregisters it through ``Agent.remove``; each emits a signal and writes a log record, about
8 microseconds per agent added and removed. A full-scale three-year run creates and ends
about 350,000 orders, so that cost would be most of a run's time (benchmarks/README.md,
"what was done", item 8). :func:`register` and :func:`deregister` do what those calls do to
Mesa's registries (the model's agent set, the set of the agent's type, and the id counter)
for a whole batch in a few dictionary operations, and fall back to the public calls, agent
by agent, when:

* anything is subscribed to Mesa's agent signals (or the type has Mesa data sets), which the
  fast path would not notify;
* the type is not yet registered with the model (its first agent goes the public way, which
  creates the type's agent set);
* Mesa's internals are not what this module expects (:func:`fast_path_available`), as after
  an upgrade that changes them: results are the same, only slower.

``tests/test_model.py`` checks that the internals are as expected with the installed Mesa
(so an upgrade that changes them fails a test rather than silently slowing every run) and
that both paths leave the model in the same state.
"""

from __future__ import annotations

from collections import deque

import mesa
from mesa.experimental.mesa_signals import ModelSignals


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


def register(model: mesa.Model, cls: type, agents: list) -> tuple[int, int]:
    """Register ``agents`` (of type ``cls``, not yet in the model) with ``model`` in their
    order, as ``model.register_agent`` would. Returns ``(head, first)``: the first ``head``
    agents went the public way (which set their ``unique_id``); the rest were registered by
    the fast path and take the ids ``first, first + 1, ...``, which the caller writes (em-abm
    keeps wearers' ids in the order table, where a batch is numbered in one array write)."""

    def public(batch: list) -> None:
        for a in batch:
            model.register_agent(a)
            for dataset in getattr(cls, "_datasets", ()):
                model.data_registry[dataset].add_agent(a)

    head = 0
    if agents and cls not in getattr(model, "_agents_by_type", {}):
        public(agents[:1])  # the type's first agent creates its agent set
        head = 1
    if not fast_path_available(model, cls):
        public(agents[head:])
        return len(agents), model.agent_id_counter
    first = model.agent_id_counter
    model.agent_id_counter = first + len(agents) - head
    keys = dict.fromkeys(agents[head:])
    model._all_agents._agents.update(keys)
    model._agents_by_type[cls]._agents.update(keys)
    return head, first


def deregister(model: mesa.Model, cls: type, agents: list) -> None:
    """Deregister ``agents`` of type ``cls`` (``Agent.remove`` for each, on the public path)."""
    if not fast_path_available(model, cls):
        for a in agents:
            a.remove()
        return
    deque(map(model._all_agents._agents.pop, agents), maxlen=0)
    deque(map(model._agents_by_type[cls]._agents.pop, agents), maxlen=0)
