"""Models extended from outside the package, named by import path.

A user's model is a subclass of :class:`~em_abm.model.EMModel` or of a
:class:`~em_abm.component.Component`, in their own module. Named by its import path,
``"mypkg.models:MyModel"``, it runs wherever the packaged model does:

* the API: ``em_abm.run(..., model="mypkg.models:MyModel")`` (or the class itself);
  ``em_abm.run_many`` and :func:`em_abm.compare.compare` likewise;
* the command line: ``em-abm run|compare|sweep --model mypkg.models:MyModel``;
* a sweep or experiment spec: ``model = "mypkg.models:MyModel"``.

A component subclass replaces the registered component of its ``name`` (or, if new, runs
after the one its ``after`` names). Runs in other processes (``--jobs``, Dask) import the
class by its path, so a named class must live in an importable module: the resolver looks
in the current folder too, as ``python -m`` does, and worker processes inherit the search
path (a class given as an object, even one defined in a script, travels to them by
value). Parameter values go through the same validation and integer rounding as for the
packaged model.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Any

from em_abm.errors import UserError

DEFAULT = "em_abm"
_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
ALLOWED = (
    "'em_abm', or 'package.module:Class' naming an importable subclass of "
    "em_abm.model.EMModel or em_abm.component.Component"
)


def path_of(cls: type) -> str:
    """The import path of a class, ``module:qualname``."""
    return f"{cls.__module__}:{cls.__qualname__}"


def load_object(path: str, *, where: str = "model") -> Any:
    """The object a ``module:attribute`` path names, or a one-line :class:`UserError`."""
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise UserError(f"{where}: got {path!r}; allowed: {ALLOWED}")
    module, _, attr = path.partition(":")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())  # as `python -m` does; appended: never shadows a package
    try:
        obj = importlib.import_module(module)
    except Exception as e:  # the user's module failed to import: say how, in one line
        first = (str(e).splitlines() or [""])[0][:160]
        raise UserError(
            f"{where}: cannot import {module!r} ({type(e).__name__}: {first}); allowed: {ALLOWED}"
        ) from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UserError(f"{where}: {module!r} has no {attr!r}; allowed: {ALLOWED}")
        obj = getattr(obj, part)
    return obj


def import_root(model: Any) -> str | None:
    """The folder on the search path that an import-path ``model``'s module was imported
    from (``None`` for a class, the packaged model, or a module not imported from a
    folder). Sent with each run to worker processes, which may have started before that
    folder was on the search path (a reused pool) and add it (:func:`on_path`)."""
    if not (isinstance(model, str) and ":" in model):
        return None
    name = model.partition(":")[0]
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    if not path:
        return None
    root = os.path.dirname(os.path.abspath(path))
    for _ in range(name.count(".") + (os.path.basename(path) == "__init__.py")):
        root = os.path.dirname(root)
    return root


def on_path(root: str | None) -> None:
    """Add ``root`` (from :func:`import_root`) to this process's search path if missing."""
    if root and root not in sys.path:
        sys.path.append(root)


def resolve(model: Any, *, where: str = "model") -> tuple[type, dict[str, type]]:
    """The model class and component replacements ``model`` stands for: ``None`` or
    ``'em_abm'`` (the packaged model), an ``EMModel`` or ``Component`` subclass, or the
    import path of one."""
    from em_abm import component
    from em_abm.model import COMPONENTS, EMModel

    if model is None or model == DEFAULT:
        return EMModel, {}
    obj = load_object(model, where=where) if isinstance(model, str) else model
    if isinstance(obj, type) and issubclass(obj, EMModel):
        return obj, {}
    if isinstance(obj, type) and issubclass(obj, component.Component):
        if not obj.name:
            raise UserError(f"{where}: {model!r} has no name; allowed: a Component subclass "
                            "whose `name` is the component it replaces or adds")  # fmt: skip
        try:  # a new component must say which one it follows: checked before any run
            component.resolve(COMPONENTS, {obj.name: obj})
        except UserError as e:
            raise UserError(f"{where}: {model!r}: {e}") from None
        return EMModel, {obj.name: obj}
    raise UserError(f"{where}: got {model!r}; allowed: {ALLOWED}")


def check_em_model(model: Any, *, where: str = "model") -> str:
    """``model`` as a name for em-abm's own sweeps and experiments (``'em_abm'`` or an
    import path, checked by importing it); anything else is refused in one line."""
    if model != DEFAULT and not (isinstance(model, str) and ":" in model):
        raise UserError(f"{where}: got {model!r}; allowed: {ALLOWED}")
    resolve(model, where=where)
    return model


def name_of(model: Any, *, where: str = "model") -> str:
    """What to record for ``model`` (checked): ``'em_abm'`` or its import path."""
    if model is None or model == DEFAULT:
        return DEFAULT
    resolve(model, where=where)
    return model if isinstance(model, str) else path_of(model)
