"""Prioritisation under constraint: which strategy is best when capacity falls short, and
under which conditions does the answer change?

Run: ``em-abm experiment prioritisation_under_constraint [--quick]`` or
``python experiments/prioritisation_under_constraint.py [--quick]``. Specs:
``experiments/prioritisation_under_constraint.toml``. Writes, under
``results/prioritisation_under_constraint/``:

* ``paired_differences.csv``: per shortfall, strategy, outcome and horizon, the mean over
  paired seeds and the difference from FCFS with its 95% interval;
* ``ranking.csv`` and ``summary.md``: strategies ranked per outcome (fewer is better), the
  best at each shortfall at 1 and 3 years, and whether the best changes with the horizon;
* ``discovery.csv``, ``discovery_rules.txt``: the winner of each sampled condition and the
  decision tree that describes where each strategy wins;
* ``figures/``: each outcome against the shortfall (one line per strategy, 95% bands), the
  paired differences from FCFS, and the scenario-discovery map.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from em_abm import experiments as E
from em_abm import plots

NAME = "prioritisation_under_constraint"
REFERENCE = "fcfs"
DISCOVERY_STRATEGIES = (
    "fcfs",
    "visits_risk_first",
    "visits_low_risk_cohorts_first",
    "risk_first_everywhere",
    "tag_half_of_low_risk_cohorts",
)
PRIMARY = "followup_offences_per_100"


def prepare(tables: dict, quick: bool) -> None:
    """The discovery sweep runs a subset of the main study's strategies; quick mode keeps
    the first and last shortfall only."""
    strategies = tables["main"]["vary"]["strategy"]
    tables["discovery"]["vary"]["strategy"] = {k: strategies[k] for k in DISCOVERY_STRATEGIES}
    if quick:
        levels = tables["main"]["vary"]["shortfall"]
        first, last = next(iter(levels)), list(levels)[-1]
        tables["main"]["vary"]["shortfall"] = {first: levels[first], last: levels[last]}


def ranking(diffs: pd.DataFrame) -> pd.DataFrame:
    """Strategies ranked per shortfall and output by their mean (fewer is better)."""
    r = diffs.copy()
    r["rank"] = r.groupby(["shortfall", "output"])["mean"].rank(method="min").astype(int)
    r["better_than_fcfs"] = r["diff_high"] < 0
    r["worse_than_fcfs"] = r["diff_low"] > 0
    return r.sort_values(["output", "shortfall", "rank"]).reset_index(drop=True)


def summary_text(spec, ranked: pd.DataFrame, shortfalls: list[str]) -> str:
    lines = [
        "# Prioritisation under constraint",
        "",
        f"`{spec.scenario}`, scale {spec.scale:g}, {spec.replicates} paired seeds per cell; "
        "capacity of the supplier's field officers, probation and the police cut together. "
        "Fewer is better for every outcome. Differences are from first come, first served "
        "(FCFS) on the same seeds, with 95% t intervals; a strategy is *better* or *worse* "
        "than FCFS only when its interval excludes zero.",
        "",
        "How to read the outcomes: unmonitored person-days and reoffences while tagged or "
        "unmonitored count everyone on an order, tagged or not (and people whose orders were "
        "declined), so they compare strategies fairly. Serious breaches unanswered, custody "
        "days and cost count what the tags detect and what follows: a strategy that leaves "
        "more people untagged detects fewer breaches, and so shows fewer unanswered, fewer "
        "custody days and a lower cost. Read those three together with the first two.",
        "",
    ]
    outcomes = list(spec.outputs)
    horizons = E.horizons(spec)
    lines += ["## Best strategy by shortfall", ""]
    header = "| outcome | horizon | " + " | ".join(shortfalls) + " |"
    lines += [header, "|---|---|" + "---|" * len(shortfalls)]
    changes = []
    for o in outcomes:
        best_by_h = {}
        for hlabel, suffix, _ in horizons:
            cells = []
            for s in shortfalls:
                t = ranked[(ranked["output"] == o + suffix) & (ranked["shortfall"] == s)]
                best = t.iloc[0]
                best_by_h.setdefault(s, []).append(best["strategy"])
                mark = "" if best["strategy"] == REFERENCE else (
                    " (better)" if best["better_than_fcfs"] else " (n.s.)"
                )  # fmt: skip
                cells.append(f"{best['strategy']}{mark}")
            lines.append(f"| {E.output_label(o)} | {hlabel} | " + " | ".join(cells) + " |")
        for s, names in best_by_h.items():
            if len(set(names)) > 1:
                changes.append(f"{E.output_label(o)} at {s} shortfall: " + " then ".join(
                    f"{n} ({h[0]})" for n, h in zip(names, horizons, strict=True)))  # fmt: skip
    lines += ["", "(better): its interval against FCFS excludes zero; (n.s.): it does not.", ""]
    lines += ["## Does the best strategy change with the horizon?", ""]
    if changes:
        lines += [f"- {c}" for c in changes]
    else:
        lines.append("No: at every shortfall the best strategy for each outcome is the same at "
                     "every horizon.")  # fmt: skip
    lines += [""]
    deepest = shortfalls[-1]
    for hlabel, suffix, _ in horizons:
        lines += [f"## Ranking at {deepest} shortfall, {hlabel}", ""]
        lines += ["| outcome | rank | strategy | mean | difference from FCFS [95% CI] |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for o in outcomes:
            t = ranked[(ranked["output"] == o + suffix) & (ranked["shortfall"] == deepest)]
            for _, r in t.iterrows():
                ci = "" if r["strategy"] == REFERENCE else (
                    f"{E.fmt(r['diff'])} [{E.fmt(r['diff_low'])}, {E.fmt(r['diff_high'])}]"
                )  # fmt: skip
                lines.append(f"| {E.output_label(o)} | {r['rank']} | {r['strategy']} | "
                             f"{E.fmt(r['mean'])} | {ci} |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


HIGH, LOW = "visits_high_risk_cohorts_first", "visits_low_risk_cohorts_first"
FAIR = (
    "public_protection.unmonitored_person_days",
    "followup_offences_per_100",
)


def high_against_low(spec, runs: pd.DataFrame, shortfalls: list[str]) -> str:
    """A probation simulation study found high-risk-first best over short horizons and
    low-risk-first over long ones: the paired difference of the two here."""
    d = E.paired(runs, "strategy", LOW, spec.output_columns, within=["shortfall"])
    d = d[d["strategy"] == HIGH]
    lines = [
        "## High-risk cohorts first against low-risk cohorts first",
        "",
        "Field visits in cohort order: specials and post-release first, or court sentences "
        "and immigration bail first. A probation simulation study found that no rule "
        "dominates: high-risk-first wins over short horizons, low-risk-first over long ones. "
        "Difference high-risk-first minus low-risk-first on the same seeds (negative: "
        "high-risk-first is better), 95% interval:",
        "",
        "| outcome | horizon | " + " | ".join(shortfalls) + " |",
        "|---|---|" + "---|" * len(shortfalls),
    ]
    for o in FAIR:
        for hlabel, suffix, _ in E.horizons(spec):
            t = d[d["output"] == o + suffix].set_index("shortfall")
            cells = []
            for sf in shortfalls:
                r = t.loc[sf]
                who = "high" if r["diff_high"] < 0 else "low" if r["diff_low"] > 0 else "neither"
                cells.append(f"{E.fmt(r['diff'])} [{E.fmt(r['diff_low'])}, "
                             f"{E.fmt(r['diff_high'])}] ({who})")  # fmt: skip
            lines.append(f"| {E.output_label(o)} | {hlabel} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def discovery(ctx, runs: pd.DataFrame, spec) -> str:
    """Label the winner of each sampled condition; describe where each wins."""
    from sklearn.tree import DecisionTreeClassifier, export_text

    features = spec.problem()["names"]
    ok = runs[runs["status"] == "ok"]
    lines = ["## Where the best strategy changes (scenario discovery)", ""]
    for hlabel, suffix, tag in E.horizons(spec):
        col = PRIMARY + suffix
        idx = ok.groupby(["sample", "replicate"])[col].idxmin()
        win = ok.loc[idx, ["sample", "replicate", *features, "strategy", col]]
        win = win.rename(columns={"strategy": "winner"}).reset_index(drop=True)
        win["horizon"] = hlabel
        tree = None
        if win["winner"].nunique() > 1:
            tree = DecisionTreeClassifier(max_depth=3, min_samples_leaf=max(2, len(win) // 20),
                                          random_state=0)  # fmt: skip
            tree.fit(win[features].to_numpy(), win["winner"].to_numpy())
            rules = export_text(tree, feature_names=features)
            order = np.argsort(tree.feature_importances_)[::-1]
            x, y = features[order[0]], features[order[1]]
        else:
            rules = f"one strategy wins everywhere: {win['winner'].iloc[0]}\n"
            x, y = features[0], features[1]
        suffix_name = f"_{tag}"
        ctx.write_text(rules, f"discovery_rules{suffix_name}.txt")
        ctx.write_table(win, f"discovery{suffix_name}.csv")
        ctx.figure(plots.winner_map(
            win, x=x, y=y, label="winner", tree=tree, features=features,
            title=f"Fewest follow-up offences per 100 people, {hlabel} "
                  f"({len(win)} sampled conditions, {len(DISCOVERY_STRATEGIES)} strategies)",
            folder=ctx.figures, name=f"discovery{suffix_name}.png",
        ))  # fmt: skip
        shares = win["winner"].value_counts()
        lines += [f"**{hlabel}** (fewest follow-up offences per 100 people): "
                  + ", ".join(f"{k} wins {v} of {len(win)}" for k, v in shares.items()) + ".",
                  "", "```", rules.rstrip(), "```", ""]  # fmt: skip
    return "\n".join(lines)


def report(ctx: E.Context) -> None:
    spec = ctx.specs["main"]
    runs = ctx.runs["main"]
    outputs = spec.output_columns
    diffs = E.paired(runs, "strategy", REFERENCE, outputs, within=["shortfall"])
    assert E.all_finite(diffs, ["mean"]), "non-finite outcome"
    ctx.write_table(diffs, "paired_differences.csv")
    ranked = ranking(diffs)
    ctx.write_table(ranked, "ranking.csv")
    shortfalls = next(f for f in spec.factors if f.name == "shortfall").choices
    labels = {o: E.output_label(o) for o in outputs}
    for hlabel, suffix, tag in E.horizons(spec):
        cols = [o + suffix for o in spec.outputs]
        d = diffs[diffs["output"].isin(cols)].assign(
            low=lambda t: t["mean"] - t["mean_ci"], high=lambda t: t["mean"] + t["mean_ci"]
        )
        tag = f"_{tag}"
        ctx.figure(plots.lines_by_level(
            d, x="shortfall", x_order=shortfalls, group="strategy", outputs=cols,
            value="mean", low="low", high="high", labels=labels,
            xlabel="capacity below plan (field, probation, police)",
            title=f"Outcomes against the capacity shortfall, {hlabel} "
                  f"(mean and 95% interval over {spec.replicates} seeds)",
            folder=ctx.figures, name=f"outcomes_vs_shortfall{tag}.png",
        ))  # fmt: skip
        ctx.figure(plots.lines_by_level(
            d[d["strategy"] != REFERENCE], x="shortfall", x_order=shortfalls,
            group="strategy", outputs=cols, value="diff", low="diff_low", high="diff_high",
            labels=labels, xlabel="capacity below plan (field, probation, police)",
            title=f"Difference from FCFS on the same seeds, {hlabel} (95% interval; below "
                  "zero is better)",
            folder=ctx.figures, name=f"difference_from_fcfs{tag}.png", zero_line=True,
        ))  # fmt: skip
    text = summary_text(spec, ranked, shortfalls)
    text += "\n" + high_against_low(spec, runs, shortfalls)
    text += "\n" + discovery(ctx, ctx.runs["discovery"], ctx.specs["discovery"])
    ctx.write_text(text, "summary.md")


if __name__ == "__main__":
    sys.exit(E.main(NAME))
