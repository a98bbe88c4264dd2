"""Components: the parts of the model, one for each stage of the NAO's system and one for each
pilot or intervention; :class:`~em_abm.model.EMModel` only creates them and runs them in
order.

A component declares, as class attributes (after Starsim's modules, whose ``define_pars``,
``define_states`` and ``define_results`` it follows):

* ``name``: its key in the model's registry (``model.stages.<name>``);
* ``params``: the parameter prefixes it reads (``"field."``); documentation, and the
  parameters whose change calls its :meth:`Component.on_params`;
* ``order_fields``, ``notice_fields`` and ``person_fields``: the per-order, per-notification
  and per-person fields it owns, ``{name: dtype}``, registered into the model's state tables
  (:class:`~em_abm.population.OrderTable`, :class:`~em_abm.population.NotificationTable`,
  :class:`~em_abm.population.PersonTable`) when the model is built;
* ``metrics``: the metric columns (:mod:`em_abm.metrics`) it records;
* ``after``: for a component added to the model (not replacing one), the name of the one it
  runs after each day.

And it implements any of:

* :meth:`Component.on_params`: derive its tables from ``model.p`` (at the start, and
  whenever a dated change or a dashboard control sets parameters);
* :meth:`Component.setup`: create its agents and buffers, once every component exists and
  has its parameters;
* :meth:`Component.init_state`: set the run's initial state (the active orders at the start
  of warm-up), once every component is set up;
* :meth:`Component.step`: its part of a simulated day.

Components are registered by name with :func:`register` (a class decorator) and a model can
be given a replacement for any of them (``EMModel(..., components={"responses": Mine})`` or
``em_abm.run(..., components=...)``), without editing the package; see
``docs/extending.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

REGISTRY: dict[str, type[Component]] = {}


class Component:
    """A part of the model (see the module docstring)."""

    name: ClassVar[str] = ""
    params: ClassVar[tuple[str, ...]] = ()
    order_fields: ClassVar[dict[str, Any]] = {}
    notice_fields: ClassVar[dict[str, Any]] = {}
    person_fields: ClassVar[dict[str, Any]] = {}
    metrics: ClassVar[tuple[str, ...]] = ()
    after: ClassVar[str] = ""  # a component added to the model runs right after this one

    def __init__(self, model) -> None:  # an em_abm.model.EMModel
        self.model = model

    def on_params(self) -> None:
        """Derive this component's tables from ``self.model.p``."""

    def setup(self) -> None:
        """Create this component's agents (every component exists and has its parameters)."""

    def init_state(self) -> None:
        """Set the run's initial state (every component is set up)."""

    def step(self, d: int) -> None:
        """This component's part of day ``d`` (negative during warm-up)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def register(cls: type[Component]) -> type[Component]:
    """Class decorator: make ``cls`` the component the model uses under ``cls.name`` (a
    subclass registered under an existing name replaces it for every later model)."""
    if not (isinstance(cls, type) and issubclass(cls, Component)) or not cls.name:
        raise TypeError(f"{cls!r}: a Component subclass with a name")
    REGISTRY[cls.name] = cls
    return cls


class Stages(dict):
    """The model's components by name, also as attributes (``model.stages.field``; kept in
    the instance's own attributes, so reaching one costs a plain attribute lookup)."""

    def __init__(self, items=()) -> None:
        super().__init__(items)
        self.__dict__.update(self)

    def __setitem__(self, name: str, component: Component) -> None:
        super().__setitem__(name, component)
        self.__dict__[name] = component

    def __getattr__(self, name: str) -> Component:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"no component {name!r}; the model has {', '.join(self)}"
            ) from None


def resolve(order: tuple[str, ...], given: Mapping[str, type[Component]] | None) -> dict:
    """The registered component of each name in ``order``, replaced by ``given``'s; a new
    name in ``given`` runs right after the component its class names in ``after``."""
    from em_abm.errors import UserError

    given = dict(given or {})
    names = list(order)
    for name, cls in given.items():
        if not (isinstance(cls, type) and issubclass(cls, Component)):
            raise UserError(f"components.{name}: got {cls!r}; allowed: a Component subclass")
        if name not in names:
            if cls.after not in names:
                raise UserError(
                    f"components.{name}: a new component; allowed: a class whose `after` names "
                    f"the one it follows: {', '.join(names)}"
                )
            names.insert(names.index(cls.after) + 1, name)
    return {name: given.get(name) or REGISTRY[name] for name in names}


def declared_fields(stages: Mapping[str, Component], kind: str) -> dict[str, Any]:
    """The per-order (``order_fields``) or per-notification fields the components declare."""
    out: dict[str, Any] = {}
    for stage in stages.values():
        out.update(getattr(stage, kind))
    return out
