"""Run results: the daily time series, the summary, and the metadata that travels with them.

``RunResult.save(dir)`` writes (and ``RunResult.load(dir)`` reads back)

* ``timeseries.parquet``: one row per simulated day, a ``date`` column and one column per
  metric (see :mod:`em_abm.metrics`);
* ``summary.json``: scalar metrics (dicts for per-cohort and per-tag ones) plus scenario,
  seed, years and scale;
* ``metadata.json``: the full resolved parameters, the scenario's dated changes, seed,
  package version, git commit where available, schema version and wall time;
* ``figures/overview.png`` and ``figures/breaches.png``.

Everything is written into a temporary folder next to ``dir`` and moved into place at the
end, so an interrupted save never leaves a half-written result.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from em_abm import files
from em_abm.errors import UserError
from em_abm.metrics import (
    FINAL_PERIOD_DAYS,
    METRICS,
    column_names,
    keys_of,
    scale_label,
)
from em_abm.record import _kind_of, _rate_columns, build_timeseries, series_columns
from em_abm.version import __version__

__all__ = ["RunResult", "build_summary", "build_timeseries", "run_model", "series_columns"]

SCHEMA_VERSION = 1
RESULT_FILES = ("timeseries.parquet", "summary.json", "metadata.json", "figures")


@dataclass
class RunResult:
    timeseries: pd.DataFrame
    summary: dict[str, Any]
    params: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)

    def save(self, out: str | os.PathLike, *, force: bool = False, figures: bool = True) -> Path:
        """Write the result into ``out`` (see the module docstring); returns the path."""
        with files.writing(out, force=force, kind="run", writes=result_files(figures)) as tmp:
            self.timeseries.to_parquet(tmp / "timeseries.parquet", index=False)
            write_json(tmp / "summary.json", self.summary)
            write_json(tmp / "metadata.json", self.metadata)
            if figures:
                self.plot(tmp / "figures")
        return files.resolve_out(out)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> RunResult:
        """Read a result that :meth:`save` wrote; a one-line :class:`UserError` if ``folder``
        does not hold a whole one (a file missing, too large, not a regular file, or changed
        into something em-abm does not write)."""
        folder = Path(folder)
        if not folder.is_dir():
            raise UserError(f"{folder}: not a folder; allowed: a run's result folder")
        for name in ("metadata.json", "summary.json", "timeseries.parquet"):
            if not (folder / name).exists():
                raise UserError(f"{folder}: not a run's result (no {name})")
        meta = files.read_json(folder / "metadata.json", "run metadata")
        summary = files.read_json(folder / "summary.json", "run summary")
        if type(meta.get("schema_version")) is not int or meta["schema_version"] != SCHEMA_VERSION:
            raise UserError(
                f"{folder}: schema_version {meta.get('schema_version')!r}; "
                f"allowed: {SCHEMA_VERSION} (re-run with this version)"
            )
        params = meta.get("params", {})
        if not isinstance(params, dict):
            raise UserError(f"{folder}/metadata.json: params: not a table of parameter values")
        path = files.check_input(folder / "timeseries.parquet", "time series",
                                 limit=files.TABLE_LIMIT)  # fmt: skip
        try:
            ts = pd.read_parquet(path)
            ts["date"] = ts["date"].astype("datetime64[s]")  # Parquet stores milliseconds
        except Exception as e:  # any way a changed file fails to read is the same mistake
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise UserError(
                f"{path}: not a time series em-abm wrote ({first[:120]}); allowed: the "
                "timeseries.parquet of a run"
            ) from None
        bad = [c for c in ts.columns[1:] if not pd.api.types.is_numeric_dtype(ts[c])]
        if ts.columns[0] != "date" or bad or ts.empty:
            why = f"column {bad[0]!r} is not numbers" if bad else "no days, or no date first"
            raise UserError(f"{path}: not a time series em-abm wrote ({why})")
        return cls(timeseries=ts, summary=summary, params=params, metadata=meta)

    def plot(self, folder: str | os.PathLike | None = None, *, which: str = "overview"):
        """Draw a figure (``overview``, ``breaches`` or ``system``); with ``folder``, save every
        figure there and return the list of paths. Without, return the one figure."""
        from em_abm import plots

        if folder is None:
            return plots.FIGURES[which](self)
        for draw in plots.FIGURES.values():
            draw(self, folder=folder)
        return sorted(Path(folder).glob("*.png"))


def result_files(figures: bool = True) -> tuple[str, ...]:
    """The top-level entries a saved run has."""
    return RESULT_FILES if figures else tuple(f for f in RESULT_FILES if f != "figures")


def check_out_dir(out: Path, *, force: bool, figures: bool = True) -> Path:
    """The resolved output folder, if em-abm may write a run's result there; see
    :func:`em_abm.files.check_out_dir`."""
    return files.check_out_dir(out, force=force, kind="run", writes=result_files(figures))


def write_atomic(path: Path, write) -> None:
    """Write one file through ``write(temporary_path)``, then rename it into place: a reader
    sees the old file or the whole new one, never a part."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(_jsonable(data), indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating | float):
        v = float(x)
        return v if math.isfinite(v) else None
    if hasattr(x, "isoformat"):
        return x.isoformat()
    return x


# ---------------------------------------------------------------------------- building
def build_summary(model, ts: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {
        "scenario": model.scenario_def.name,
        "seed": model.seed,
        "years": model.years,
        "scale": model.scale,
        "counts": scale_label(model.scale),
        "start": model.start_date.isoformat(),
        "end": model.date_of(model.n_days - 1).isoformat(),
    }
    out.update(summarise_series(ts, model.sample))
    return out


def summarise_series(ts: pd.DataFrame, sample=None) -> dict[str, Any]:
    """Every declared metric reduced over the time series ``ts`` (the whole run, or its
    first days for an earlier horizon). Quantiles of per-event durations need ``sample``
    (a name -> array function); without it they are left out."""
    final = ts.iloc[-min(FINAL_PERIOD_DAYS, len(ts)) :]
    out: dict[str, Any] = {}
    for m in METRICS:
        name = m.summary_name or m.name
        if m.kind in ("stock", "flow"):
            reduce = (
                (lambda s: float(s.mean())) if m.kind == "stock" else (lambda s: float(s.sum()))
            )
            frame = final if m.kind == "stock" else ts
            if m.by:
                out[name] = {
                    k: reduce(frame[c]) for k, c in zip(keys_of(m), column_names(m), strict=True)
                }
            else:
                out[name] = reduce(frame[m.name])
        elif m.kind == "rate":
            frame = final if _kind_of(m.num) == "stock" else ts

            def ratio(n_col, d_col, frame=frame, f=m.factor):
                den = float(frame[d_col].sum())
                return float(frame[n_col].sum()) / den * f if den > 0 else 0.0

            if m.by:
                out[name] = {
                    k: ratio(n_col, d_col)
                    for k, (_, n_col, d_col) in zip(keys_of(m), _rate_columns(m), strict=True)
                }
            else:
                out[name] = ratio(m.num, m.den)
        elif m.kind == "peak":
            out[name] = float(ts[m.of].max())
        elif m.kind == "composite":
            out[name] = {key: float(sum(out[x] for x in names)) for key, names in m.parts}
        elif m.kind == "quantile" and sample is not None:
            if m.by:
                out[name] = {k: _quantile(sample(f"{m.of}.{k}"), m.q) for k in keys_of(m)}
            else:
                out[name] = _quantile(sample(m.of), m.q)
    return out


def _quantile(sample: np.ndarray, q: float) -> float:
    return float(np.quantile(sample, q)) if len(sample) else 0.0


OUTPUT_PATHS = ("results", "paper/paper.pdf", "paper/figures", "paper/numbers.json",
                "paper/ODD.md")  # fmt: skip


def git_commit() -> str | None:
    """HEAD's commit, with ``-dirty`` when tracked files other than outputs have changed."""
    try:
        root = Path(__file__).resolve().parent.parent
        r = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if r.returncode != 0:
            return None
        # Outputs (committed results and the built paper) do not make the code dirty.
        outputs = [f":(exclude){p}" for p in OUTPUT_PATHS]
        argv = ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"]
        dirty = subprocess.run(
            [*argv, "--", ".", *outputs],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return r.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def run_model(
    scenario="baseline_2026",
    *,
    seed=1,
    years=3.0,
    scale=1.0,
    overrides=None,
    components=None,
    progress=False,
    model=None,
) -> RunResult:
    """Build, run and summarise one model run (``components``: see :class:`EMModel`;
    ``model``: an ``EMModel`` or ``Component`` subclass or its import path, see
    :mod:`em_abm.extension`)."""
    from em_abm import extension
    from em_abm.model import STREAMS

    cls, replaced = extension.resolve(model)
    if components and replaced and set(components) & set(replaced):
        name = sorted(set(components) & set(replaced))[0]
        raise UserError(f"components.{name}: also replaced by model={model!r}; allowed: one")
    t0 = time.perf_counter()
    model_name = extension.name_of(model)
    model = cls(scenario, rng=seed, years=years, scale=scale, overrides=overrides,
                components={**replaced, **(components or {})})  # fmt: skip
    model.run(progress=progress)
    wall = time.perf_counter() - t0
    ts = build_timeseries(model)
    summary = build_summary(model, ts)
    meta = {
        "schema_version": SCHEMA_VERSION,
        "package": "em-abm",
        "version": __version__,
        "git_commit": git_commit(),
        "scenario": model.scenario_def.to_dict(),
        "seed": model.seed,
        "years": model.years,
        "scale": model.scale,
        "n_days": model.n_days,
        "warmup_days": model.warmup,
        "wall_time_s": round(wall, 3),
        "python": platform.python_version(),
        "params": dict(model.scenario_def.params),
        "model": model_name,
        "streams": list(STREAMS),
        "components": {
            name: f"{type(c).__module__}:{type(c).__qualname__}" for name, c in model.stages.items()
        },
    }
    return RunResult(
        timeseries=ts, summary=summary, params=dict(model.scenario_def.params), metadata=meta
    )
