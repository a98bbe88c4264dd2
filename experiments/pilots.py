"""Pilots: the effect of each pilot the NAO names on every outcome, paired against the 2026
baseline on the same seeds.

Run: ``em-abm experiment pilots [--quick]`` or ``python experiments/pilots.py [--quick]``.
Specs: ``experiments/pilots.toml``. Writes, under ``results/pilots/``:
``differences.csv`` (per pilot and outcome: the ensemble mean and the expected difference
from the baseline, with 95% intervals with and without parameter uncertainty and the spread
across parameter sets; :func:`em_abm.experiments.ensemble_differences`), ``summary.md`` and
``figures/pilots_vs_baseline_<horizon>.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from em_abm import experiments as E
from em_abm import metrics, plots, posterior

NAME = "pilots"
REFERENCE = "baseline"


def report(ctx: E.Context) -> None:
    spec, runs = ctx.specs["main"], ctx.runs["main"]
    diffs = E.ensemble_differences(runs, "pilot", REFERENCE, spec.output_columns)
    assert E.all_finite(diffs, ["mean"]), "non-finite outcome"
    ctx.write_table(diffs, "differences.csv")
    pilots = next(f for f in spec.factors if f.name == "pilot").choices
    k, n = int(diffs["sets"].max()), int(diffs["n"].max())
    lines = [
        "# Pilots against the 2026 baseline",
        "",
        f"`{spec.scenario}`, {spec.years:g} years, {metrics.scale_label(spec.scale)}; {n} runs "
        f"per arm: {k} of the posterior's {posterior.count()} calibrated parameter sets x "
        f"{max(n // max(k, 1), 1)} seeds, the same in every arm (paired). Expected difference "
        "from the baseline with its 95% interval including parameter uncertainty (parameter "
        "sets as clusters), and in parentheses after it the interval from the seeds alone; "
        "**bold** where the first excludes zero.",
        "",
        "How to read the outcomes: follow-up offences per 100 people count everyone whose "
        "order starts in the first year for 12 months from its start, wherever they are "
        "(custody included), so a pilot cannot gain by removing people from the count. Its "
        "change splits into what tags did (offences averted while tagged) and what custody "
        "did (expected offences: fewer when people spend more days in custody).",
        "",
    ]
    for hlabel, suffix, tag in E.horizons(spec):
        cols = [o + suffix for o in spec.outputs]
        table = diffs[diffs["output"].isin(cols)].rename(
            columns={
                "output": "metric",
                "pilot": "arm",
                "diff_low": "ci_low",
                "diff_high": "ci_high",
            }
        )
        name = f"pilots_vs_baseline_{tag}.png"
        plots.comparison(
            table,
            pilots,
            cols,
            folder=ctx.figures,
            name=name,
            scale=spec.scale,
            interval="95% interval with parameter uncertainty",
        )
        ctx.figure(ctx.figures / name)
        lines += [f"## {hlabel}", "", "| outcome | " + " | ".join(pilots[1:]) + " |",
                  "|---|" + "---|" * (len(pilots) - 1)]  # fmt: skip
        for col in cols:
            cells = []
            for p in pilots[1:]:
                r = table[(table["metric"] == col) & (table["arm"] == p)].iloc[0]
                text = f"{E.fmt(r['diff'])} [{E.fmt(r['ci_low'])}, {E.fmt(r['ci_high'])}]"
                sig = r["ci_low"] > 0 or r["ci_high"] < 0
                seeds = f" ({E.fmt(r['seed_low'])}, {E.fmt(r['seed_high'])})"
                cells.append((f"**{text}**" if sig else text) + seeds)
            lines.append(f"| {E.output_label(col)} | " + " | ".join(cells) + " |")
        lines += ["", f"![pilots, {hlabel}](figures/{name})", ""]
    ctx.write_text("\n".join(lines), "summary.md")


if __name__ == "__main__":
    sys.exit(E.main(NAME))
