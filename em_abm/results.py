"""Run results: the daily time series, the summary, and the metadata that travels with them.

``RunResult.save(dir)`` writes (and ``RunResult.load(dir)`` reads back)

* ``timeseries.parquet``: one row per simulated day, a ``date`` column and one column per
  metric (see :mod:`em_abm.metrics`). Each column's unit and description are in the Parquet
  schema's field metadata (``unit``, ``description``), and the schema's metadata says what the
  counts are (``em_abm.counts``: England and Wales, or a scaled sample); :func:`units` and
  :func:`describe` read them back;
* ``summary.json``: scalar metrics (dicts for per-cohort and per-tag ones) plus scenario,
  seed, years, scale and counts;
* ``summary_flat.json``: the same, flat, under the documented names (``tagged.court_bail``,
  ``cost_total_gbp.total``: the time series' names; see :mod:`em_abm.metrics`), as
  :meth:`RunResult.flat` and :func:`flatten` give it;
* ``metadata.json``: the full resolved parameters, the scenario's dated changes, seed,
  package version, git commit where available, schema version and wall time;
* ``figures/overview.png``, ``figures/breaches.png`` and ``figures/system.png``.

Everything is written into a temporary folder next to ``dir`` and moved into place at the
end, so an interrupted save never leaves a half-written result.

In memory, :meth:`RunResult.to_frame` is the wide time series and :meth:`RunResult.long` the
long (tidy) one: ``run, seed, date, metric, value``, then ``scenario, scale, counts, unit``.
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
    FLAT_PREFIX,
    METRICS,
    SUMMARY_ALIASES,
    column_names,
    describe_series,
    keys_of,
    scale_label,
)
from em_abm.record import build_timeseries, kind_of, rate_columns, series_columns
from em_abm.version import __version__

__all__ = ["RunResult", "build_summary", "build_timeseries", "run_model", "series_columns"]

SCHEMA_VERSION = 1
RESULT_FILES = ("timeseries.parquet", "summary.json", "summary_flat.json", "metadata.json",
                "figures")  # fmt: skip
# Parquet metadata keys: each field's, and the schema's (what the counts are).
UNIT, DESCRIPTION = b"unit", b"description"
COUNTS, SCALE = b"em_abm.counts", b"em_abm.scale"
# RunResult.long()'s columns: these five first (em_abm.run_many stacks runs on them), then
# what the rows are and their unit.
LONG_COLUMNS = ("run", "seed", "date", "metric", "value", "scenario", "scale", "counts", "unit")


@dataclass
class RunResult:
    timeseries: pd.DataFrame
    summary: dict[str, Any]
    params: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def scale(self) -> float:
        return float(self.summary.get("scale", self.metadata.get("scale", 1.0)))

    @property
    def counts(self) -> str:
        """What the run's counts are: England and Wales, or a scaled sample
        (:func:`em_abm.metrics.scale_label`)."""
        return self.summary.get("counts") or scale_label(self.scale)

    def flat(self, *, text: bool = False) -> FlatSummary:
        """The summary, flat, under the documented names (see :func:`flatten`): ``{"tagged":
        ..., "tagged.court_bail": ..., "cost_total_gbp.total": ...}``. With ``text``, the
        scenario, counts and dates too."""
        return flatten(self.summary, text=text)

    def to_frame(self) -> pd.DataFrame:
        """The time series, wide: ``date`` and one column per metric (a copy). Its ``attrs``
        hold ``counts``, ``scale``, ``seed``, ``scenario`` and each column's ``units``."""
        df = self.timeseries.copy()
        df.attrs.update(self._about())
        df.attrs["units"] = {c: d[0] for c in df.columns if (d := describe_series(c))}
        return df

    def long(self, run: int | str = 0) -> pd.DataFrame:
        """The time series, long (tidy): one row per day and metric, with the columns
        ``run, seed, date, metric, value`` (in that order; ``run`` is the label given), then
        ``scenario, scale, counts`` (what the counts are: England and Wales, or a scaled
        sample) and ``unit``. Rows are metric by metric, each in date order; ``attrs`` hold
        ``counts`` and ``scale`` as well."""
        from em_abm.bands import long_table

        about = self._about()
        df = long_table(self.timeseries, run=run, seed=about["seed"])
        units = {c: (describe_series(c) or ("", ""))[0] for c in self.timeseries.columns}
        df = df.assign(scenario=about["scenario"], scale=about["scale"],
                       counts=about["counts"], unit=df["metric"].map(units))  # fmt: skip
        df = df[list(LONG_COLUMNS)]
        df.attrs.update(about)
        return df

    def _about(self) -> dict[str, Any]:
        seed = self.summary.get("seed", self.metadata.get("seed", 0))
        scenario = str(self.summary.get("scenario", ""))
        return {"counts": self.counts, "scale": self.scale, "seed": int(seed), "scenario": scenario}

    def save(self, out: str | os.PathLike, *, force: bool = False, figures: bool = True) -> Path:
        """Write the result into ``out`` (see the module docstring); returns the path."""
        with files.writing(out, force=force, kind="run", writes=result_files(figures)) as tmp:
            columns = {c: d for c in self.timeseries.columns if (d := describe_series(c))}
            meta = {COUNTS: self.counts, SCALE: f"{self.scale:g}"}
            write_parquet(self.timeseries, tmp / "timeseries.parquet", columns, meta)
            write_json(tmp / "summary.json", self.summary)
            write_json(tmp / "summary_flat.json", self.flat(text=True))
            write_json(tmp / "metadata.json", self.metadata)
            if figures:
                self.plot(tmp / "figures")
        return files.resolve_out(out)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> RunResult:
        """Read a result that :meth:`save` wrote; a one-line :class:`UserError` if ``folder``
        does not hold a whole one (a file missing, too large, not a regular file, or changed
        into something em-abm does not write). ``summary_flat.json`` is not read (results
        saved before issue 2.6 have none): :meth:`flat` derives it from the summary."""
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


class FlatSummary(dict):
    """A flat run summary, ``{name: value}`` under the documented names
    (:func:`em_abm.metrics.summary_keys`: ``tagged.court_bail``). It also answers the older
    names (``tagged_by_cohort.court_bail``; :data:`em_abm.metrics.SUMMARY_ALIASES`) when
    asked for one, without listing them."""

    def __missing__(self, key):
        new = SUMMARY_ALIASES.get(key)
        if new is not None and dict.__contains__(self, new):
            return self[new]
        raise KeyError(key)

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, key) or dict.__contains__(self, SUMMARY_ALIASES.get(key))

    def get(self, key, default=None):
        return self[key] if key in self else default


def flatten(summary: dict[str, Any], *, text: bool = False) -> FlatSummary:
    """A run summary (``summary.json``) flat: every number under its documented name, a
    dict's entries as ``NAME.KEY`` (``tagged_by_cohort`` -> ``tagged.court_bail``), as floats
    (a missing value, null in JSON, as NaN). With ``text``, the text entries (scenario,
    counts, dates) too. Older names are answered too (:class:`FlatSummary`)."""
    out = FlatSummary()
    for k, v in summary.items():
        if isinstance(v, dict):
            prefix = FLAT_PREFIX.get(k, k)
            for kk, vv in v.items():
                out[f"{prefix}.{kk}"] = math.nan if vv is None else float(vv)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            out[k] = float(v)
        elif text and isinstance(v, str):
            out[k] = v
    return out


def write_parquet(
    df: pd.DataFrame,
    path: Path,
    columns: dict[str, tuple[str, str]],
    metadata: dict[bytes, str] | None = None,
) -> None:
    """Write ``df`` (without its index) as pandas does, with each column's (unit,
    description) from ``columns`` in its field's metadata and ``metadata`` in the schema's.
    ``pd.read_parquet`` reads it back as before."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    fields = []
    for f in table.schema:
        if f.name in columns:
            unit, text = columns[f.name]
            f = f.with_metadata({UNIT: unit.encode(), DESCRIPTION: text.encode()})
        fields.append(f)
    extra = {k: v.encode() for k, v in (metadata or {}).items()}
    schema = pa.schema(fields, metadata={**(table.schema.metadata or {}), **extra})
    pq.write_table(table.cast(schema), path, compression="snappy")


def describe(path: str | os.PathLike) -> dict[str, Any]:
    """What a Parquet file em-abm wrote says about itself: ``{"counts": ..., "columns":
    {name: {"unit": ..., "description": ...}}}`` (columns without a declared unit are left
    out; ``counts`` is None in a file written before issue 2.6)."""
    import pyarrow.parquet as pq

    path = files.check_input(path, "Parquet table", limit=files.TABLE_LIMIT)
    try:
        schema = pq.read_schema(path)
    except Exception as e:  # a file that is not Parquet fails in many ways: one line
        first = (str(e).splitlines() or [type(e).__name__])[0][:120]
        raise UserError(f"{path}: not a Parquet table ({first})") from None
    meta = schema.metadata or {}
    columns = {
        f.name: {"unit": f.metadata[UNIT].decode(),
                 "description": f.metadata.get(DESCRIPTION, b"").decode()}
        for f in schema
        if f.metadata and UNIT in f.metadata
    }  # fmt: skip
    counts = meta[COUNTS].decode() if COUNTS in meta else None
    return {"counts": counts, "columns": columns}


def units(path: str | os.PathLike) -> dict[str, str]:
    """Each column's unit in a Parquet file em-abm wrote (``timeseries.parquet``, a sweep's
    ``results.parquet``): ``{"tagged": "people", "orders_received": "orders/day", ...}``."""
    return {name: d["unit"] for name, d in describe(path)["columns"].items()}


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
            frame = final if kind_of(m.num) == "stock" else ts

            def ratio(n_col, d_col, frame=frame, f=m.factor):
                den = float(frame[d_col].sum())
                return float(frame[n_col].sum()) / den * f if den > 0 else 0.0

            if m.by:
                out[name] = {
                    k: ratio(n_col, d_col)
                    for k, (_, n_col, d_col) in zip(keys_of(m), rate_columns(m), strict=True)
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
