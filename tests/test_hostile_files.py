"""Every field of every input file, given a wrong value: refused in one line, never a crash.

Each real input file (a scenario, a sweep spec, a calibration file, the targets) is mutated
one field at a time: the value replaced by a value of another type or out of range, and an
unknown key added to each table. The loader either accepts the file or raises
:class:`UserError`; any other exception is a bug.
"""

import copy
import math
from pathlib import Path

import pytest
import tomli_w

from em_abm import calibration, scenario, sweep, targets
from em_abm.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
FILES = {
    "scenario": (ROOT / "em_abm/scenarios/transition_2024.toml", scenario.load),
    "sweep spec": (ROOT / "experiments/sweeps/fitting_and_capacity.toml", sweep.load_spec),
    "calibration": (ROOT / "calibration/calibrate_transition.toml", calibration.load_config),
    "targets": (ROOT / "calibration/targets.toml", targets.load),
}
WRONG = ["text", -1, 0, 1e308, math.nan, math.inf, True, [], [1, "a"], {}, {"k": 1}]


def _leaves(data, path=()):
    """Paths to every value (tables and arrays included), depth first."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield (*path, k)
            yield from _leaves(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data[:2]):  # the first two rows of an array are enough
            yield (*path, i)
            yield from _leaves(v, (*path, i))


def _tables(data, path=()):
    if isinstance(data, dict):
        yield path
        for k, v in data.items():
            yield from _tables(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data[:2]):
            yield from _tables(v, (*path, i))


def _set(data, path, value):
    out = copy.deepcopy(data)
    node = out
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return out


def _mutants(data):
    for path in _leaves(data):
        for w in WRONG:
            yield f"{'.'.join(map(str, path))}={w!r}", _set(data, path, w)
    for path in _tables(data):
        yield f"{'.'.join(map(str, path))}+unknown", _set(data, (*path, "no_such_key"), 1)


def _load_all_mutants(kind, tmp_path):
    import tomllib

    src, loader = FILES[kind]
    data = tomllib.loads(src.read_text(encoding="utf-8"))
    if kind == "targets":  # a few rows of each kind keep the test fast
        data = {"target": data["target"][:2], "check": data.get("check", [])[:2]}
    n = refused = 0
    crashes = []
    for label, mutant in _mutants(data):
        path = tmp_path / f"{src.stem}.toml"
        try:
            path.write_text(tomli_w.dumps(mutant, multiline_strings=False), encoding="utf-8")
        except (TypeError, ValueError):  # NaN in an array etc.: not writable as TOML
            continue
        n += 1
        try:
            loader(path)
        except UserError as e:
            refused += 1
            assert "\n" not in str(e).strip(), (label, str(e))
        except Exception as e:  # pragma: no cover - the failure message is the point
            crashes.append(f"{kind} {label}: {type(e).__name__}: {e}")
    assert not crashes, f"{len(crashes)} crashes:\n" + "\n".join(crashes[:40])
    return n, refused


@pytest.mark.parametrize("kind", sorted(FILES))
def test_every_field_of_every_input_file_is_checked(kind, tmp_path):
    n, refused = _load_all_mutants(kind, tmp_path)
    assert n > 50 and refused > 0.5 * n, (n, refused)


@pytest.mark.parametrize("kind", sorted(FILES))
@pytest.mark.parametrize("content", [b"", bytes(range(256)), b"a = [1,\n"])
def test_empty_binary_or_truncated_input_files(kind, content, tmp_path):
    path = tmp_path / "f.toml"
    path.write_bytes(content)
    with pytest.raises(UserError) as e:
        FILES[kind][1](path)
    assert str(path) in str(e.value)
