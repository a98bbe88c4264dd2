"""The calibrated posterior ensemble: parameter sets that reproduce the published figures.

``em-abm calibrate`` with ``abc_points`` in its configuration ends with an approximate
Bayesian computation by rejection (:mod:`em_abm.calibration`): Latin-hypercube sets drawn
uniformly in the box that history matching left, each run on seeds of its own, kept when every
fitted figure is within its tolerance. The kept sets are written to
``calibration/fitted/posterior.parquet`` (one row per set: the free parameters, the figures'
values, the largest implausibility, the seeds) with ``posterior.json`` beside it (the
configuration, the prior and the box, how many sets were drawn and kept).

Sweeps and experiments run over it with one option: ``posterior = K`` in a spec (or
``--posterior K`` on the command line) runs replicate ``r`` of every design point with set
``r mod K``, so that intervals across replicates take in the parameters' uncertainty as well
as the model's randomness. A parameter the sweep varies or fixes keeps its sweep value.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from em_abm import files
from em_abm.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
FILE = ROOT / "calibration" / "fitted" / "posterior.parquet"
META = FILE.with_suffix(".json")
MIN_SETS = 50  # the ensemble the issue asks for: at least 50 sets


def _path(path: Path | None) -> Path:
    return Path(path) if path is not None else FILE


def sha256(path: Path | None = None) -> str:
    """The file's content hash: a sweep over the posterior depends on it."""
    return hashlib.sha256(_path(path).read_bytes()).hexdigest()


def exists(path: Path | None = None) -> bool:
    return _path(path).is_file()


@lru_cache(maxsize=4)
def _read(path: str, digest: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    p = files.check_input(Path(path), "posterior", limit=files.TABLE_LIMIT)
    try:
        table = pd.read_parquet(p)
        meta = json.loads(Path(path).with_suffix(".json").read_text(encoding="utf-8"))
        names = tuple(meta["parameters"])
    except Exception as e:  # however a changed file fails to parse, it is the same mistake
        raise UserError(
            f"{path}: cannot read the posterior ({str(e).splitlines()[0][:120] if str(e) else e!r}"
            "); allowed: the files `em-abm calibrate` wrote (posterior.parquet and .json)"
        ) from None
    return table, names


def load(path: Path | None = None) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The posterior table and the names of its parameter columns."""
    path = _path(path)
    if not path.is_file():
        raise UserError(
            f"posterior: {path} does not exist; allowed: run `make calibrate` (or "
            "`em-abm calibrate`) to make it"
        )
    return _read(str(path), sha256(path))


def count(path: Path | None = None) -> int:
    return len(load(path)[0])


def check_k(k: int, where: str, path: Path | None = None) -> None:
    """Refuse a ``posterior = k`` the ensemble cannot give (one line naming the field)."""
    n = count(path)
    if not 1 <= k <= n:
        raise UserError(f"{where}: posterior: got {k!r}; allowed: an integer from 1 to {n} "
                        f"(the sets in {_path(path).name})")  # fmt: skip


def set_values(index: int, path: Path | None = None) -> dict[str, float]:
    """The parameter values of set ``index`` (in the file's order, a random order)."""
    table, names = load(path)
    row = table.iloc[int(index)]
    return {name: float(row[name]) for name in names}


def overrides(index: int, scenario: Any, *, keep: set[str] = frozenset(),
              path: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """What set ``index`` sets in ``scenario`` (see :func:`em_abm.calibration.overrides_for`:
    a plain parameter applies where the scenario keeps the default), less the names in
    ``keep`` (those a sweep varies or fixes)."""
    from em_abm.calibration import overrides_for

    values = overrides_for(set_values(index, path), scenario)
    return {k: v for k, v in values.items() if k not in keep}
