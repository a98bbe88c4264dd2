"""The architecture the code promises (docs/extending.md, issue 2.2): the model only orders
its components, every stage is one module, and no two modules import each other."""

import ast
import itertools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "em_abm"


def _modules() -> dict[str, Path]:
    out = {}
    for p in PACKAGE.rglob("*.py"):
        parts = p.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def _imports(path: Path, mods: dict[str, Path]) -> set[str]:
    """The em_abm modules ``path`` imports anywhere (in functions too); ``from package import
    submodule`` counts as importing the submodule."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{a.name}" for a in node.names} & set(mods)
            found |= subs
            if len(subs) < len(node.names):
                found.add(node.module)
    return {m for m in found if m in mods}


def test_no_module_imports_a_module_that_imports_it():
    mods = _modules()
    graph = {name: _imports(path, mods) - {name} for name, path in mods.items()}
    mutual = [(a, b) for a, b in itertools.combinations(sorted(graph), 2)
              if b in graph[a] and a in graph[b]]  # fmt: skip
    assert not mutual, mutual


def test_the_model_only_orders_its_components():
    lines = (PACKAGE / "model.py").read_text(encoding="utf-8").count("\n")
    assert lines < 350, lines


def test_every_stage_in_the_readme_names_one_module_that_exists():
    import re

    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("| stage | module | in the model |")[1].split("\n\n")[0]
    rows = [r for r in table.splitlines()[2:] if r.startswith("|")]
    assert len(rows) >= 9
    for row in rows:
        modules = re.findall(r"\(em_abm/([\w/]+\.py)\)", row)
        assert len(modules) == 1, row
        assert (PACKAGE / modules[0]).is_file(), modules[0]


def test_every_packaged_component_is_registered_and_runs_in_the_model():
    from em_abm.component import REGISTRY
    from em_abm.model import COMPONENTS, EMModel

    assert set(COMPONENTS) <= set(REGISTRY)
    m = EMModel(rng=1, years=0.01, scale=0.01)
    assert list(m.stages) == list(COMPONENTS)
    assert all(type(m.stages[n]) is REGISTRY[n] for n in COMPONENTS)


def test_no_kernel_call_takes_more_than_12_arguments():
    """Kernels are called with named views (em_abm/kernels/), not dozens of arrays."""
    from em_abm import kernels

    compiled = {n for n in dir(kernels) if hasattr(getattr(kernels, n), "py_func")}
    public = compiled | set(kernels.PLANS)
    too_many = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "kernels":  # the wrappers spread views into compiled calls
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                n_args = len(node.args) + len(node.keywords)
                if name in public and n_args > 12:
                    too_many.append(f"{path.name}:{node.lineno} {name} ({n_args})")
    assert not too_many, too_many


def test_each_responder_is_an_agent_type_with_its_own_rules():
    from em_abm.agents.responder import Responder
    from em_abm.params import RESPONDERS
    from em_abm.stages.responses import RESPONDER_TYPES

    assert [t.responder for t in RESPONDER_TYPES] == list(RESPONDERS)
    for t in RESPONDER_TYPES:
        assert issubclass(t, Responder) and "capacity" in vars(t), t
