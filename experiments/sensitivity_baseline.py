"""Sensitivity of the 2026 baseline: Sobol indices of the main outcomes and the
outstanding-visits peak to a dozen of the most uncertain parameters.

Run: ``em-abm experiment sensitivity_baseline [--quick]`` or
``python experiments/sensitivity_baseline.py [--quick]``. Specs:
``experiments/sensitivity_baseline.toml``. Writes, under ``results/sensitivity_baseline/``:
``sobol.csv`` (S1 and ST with 95% intervals per output and parameter),
``sobol_convergence.csv``, ``summary.md`` (the parameters that matter most for each outcome)
and ``figures/`` (indices with intervals; convergence of ST with the sample size).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from em_abm import analysis
from em_abm import experiments as E

NAME = "sensitivity_baseline"


def report(ctx: E.Context) -> None:
    spec = ctx.specs["main"]
    store = ctx.out / "sweeps" / "main"
    tables = analysis.analyze(store, num_resamples=500)
    for name, table in tables.items():
        ctx.write_table(table, f"{name}.csv")
    for png in sorted((store / "analysis" / "figures").glob("*.png")):
        ctx.figure(Path(shutil.copy2(png, ctx.figures / png.name)))
    sobol = tables["sobol"]
    assert E.all_finite(sobol, ["S1", "ST"]), "non-finite index"
    lines = [
        "# Sensitivity of the 2026 baseline",
        "",
        f"Sobol indices (Saltelli sampling, {spec.samples} base samples, "
        f"{len(ctx.runs['main'])} runs of {spec.years:g} years at scale {spec.scale:g}); "
        "S1: the share of the output's variance due to the parameter alone; ST: including "
        "its interactions. Intervals: 95% bootstrap.",
        "",
        "| outcome | most influential (ST [95% CI]) | second | third |",
        "|---|---|---|---|",
    ]
    for out in spec.output_columns:
        t = sobol[sobol["output"] == out].sort_values("ST", ascending=False).head(3)
        cells = [f"`{r.parameter}` {r.ST:.2f} [{r.ST - r.ST_conf:.2f}, {r.ST + r.ST_conf:.2f}]"
                 for r in t.itertuples()]  # fmt: skip
        lines.append(f"| {E.output_label(out)} | " + " | ".join(cells) + " |")
    lines += ["", "![Sobol indices](figures/sobol_indices.png)", "",
              "![Convergence](figures/sobol_convergence.png)", ""]  # fmt: skip
    warned = store / "analysis" / "warnings.txt"  # the analysis's own caveats, said here too
    if warned.is_file():
        caveats = [w for w in warned.read_text(encoding="utf-8").splitlines() if w.strip()]
        lines += ["## Caveats", "", *(f"- {w}" for w in caveats), ""]
    ctx.write_text("\n".join(lines), "summary.md")


if __name__ == "__main__":
    sys.exit(E.main(NAME))
