"""Prioritisation under constraint: which strategy is best when capacity falls short, how
sure can we be, and under which unknowns does the answer change?

Run: ``em-abm experiment prioritisation_under_constraint [--quick]`` or
``python experiments/prioritisation_under_constraint.py [--quick]``. Specs:
``experiments/prioritisation_under_constraint.toml``. Writes, under
``results/prioritisation_under_constraint/``:

* ``differences.csv``: per shortfall, strategy, outcome and horizon, the ensemble mean and
  the expected difference from FCFS with three intervals: parameter uncertainty included
  (parameter sets as clusters), seeds alone, and the spread across parameter sets
  (:func:`em_abm.experiments.ensemble_differences`);
* ``probability_best.csv``: per shortfall and horizon, each strategy's probability of the
  fewest follow-up offences per 100 people over the posterior's parameter sets;
* ``operating_points.csv``: per shortfall, the backlog's peak and field utilisation under
  FCFS, and whether the cell lies inside what the calibration covers or is extrapolation;
* ``discovery_<h>.csv``, ``discovery_rules_<h>.txt``: per sampled condition, each
  strategy's mean over its seeds, the winner, the paired difference of risk first from
  FCFS; PRIM boxes (EMA Workbench) where risk first does not win; the decision tree;
* ``discovery_stress.csv``: per horizon, how often visiting by risk beats FCFS and the
  reverse cohort order where field capacity is below 0.8 of plan;
* ``value_of_information.csv``: the expected value of perfect information on the tag
  effect's heterogeneity by risk, on the accuracy of risk assessment, and on everything
  sampled, in offences and pounds;
* ``summary.md`` and ``figures/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from em_abm import experiments as E
from em_abm import metrics, params, plots, posterior, targets

NAME = "prioritisation_under_constraint"
REFERENCE = "fcfs"
PRIMARY = "followup_offences_per_100"
AVERTED = "followup_offences_averted_per_100"  # what tags did
EXPECTED = "followup_expected_offences_per_100"  # what custody left
PEOPLE = "followup_people_12m"
COST = "cost_total_gbp.total"
CONTROLS = ("visits_random", "visits_shortest_work_first", "responses_random")
DISCOVERY_STRATEGIES = (
    "fcfs",
    "visits_random",
    "visits_risk_first",
    "visits_low_risk_cohorts_first",
    "risk_first_everywhere",
)
RISK_RULE = "visits_risk_first"
REVERSAL_STRATEGIES = ("fcfs", "visits_random", "visits_risk_first",
                       "visits_low_risk_cohorts_first")  # fmt: skip
LOW_RULE = "visits_low_risk_cohorts_first"
# The backlog the calibration has seen: the 2024 peak's upper tolerance (calibration/
# targets.toml, "outstanding visits, peak": 7,000 +/- 2,000). A cell whose FCFS backlog
# peaks above it is outside anything the model was fitted to: extrapolation.
CALIBRATED_PEAK = targets.named("outstanding visits, peak").upper
# Field capacity (share of plan) below which a discovery condition counts as stressed.
STRESS_CAPACITY = 0.8
HETEROGENEITY = ("reoffending.effect_ratio.low", "reoffending.effect_ratio.high")
ACCURACY = ("risk.assessment_correlation",)
# What an offence costs society, to put the value of information in pounds: a range
# (params.py, cost.per_offence_low_gbp / _high_gbp, with their source).
COST_PER_OFFENCE_GBP = (params.PARAMS["cost.per_offence_low_gbp"].default,
                        params.PARAMS["cost.per_offence_high_gbp"].default)  # fmt: skip


def prepare(tables: dict, quick: bool) -> None:
    """The discovery sweep runs a subset of the main study's strategies; quick mode keeps
    the first and last shortfall only."""
    strategies = tables["main"]["vary"]["strategy"]
    tables["discovery"]["vary"]["strategy"] = {k: strategies[k] for k in DISCOVERY_STRATEGIES}
    if "reversal" in tables:
        tables["reversal"]["vary"]["strategy"] = {k: strategies[k] for k in REVERSAL_STRATEGIES}
    if quick:
        levels = tables["main"]["vary"]["shortfall"]
        first, last = next(iter(levels)), list(levels)[-1]
        tables["main"]["vary"]["shortfall"] = {first: levels[first], last: levels[last]}


def operating_points(runs: pd.DataFrame, shortfalls: list[str]) -> pd.DataFrame:
    """Per shortfall: the FCFS backlog's peak and field utilisation (medians over the
    ensemble), and whether the cell is inside the calibrated range."""
    ok = runs[(runs["status"] == "ok") & (runs["strategy"] == REFERENCE)]
    rows = []
    for s in shortfalls:
        t = ok[ok["shortfall"] == s]
        peak = float(t["outstanding_visits_peak"].median())
        rows.append({
            "shortfall": s, "backlog_peak": peak,
            "field_utilisation": float(t["field_utilisation"].median()),
            "calibrated_range": peak <= CALIBRATED_PEAK,
        })  # fmt: skip
    return pd.DataFrame(rows)


def _cell(r, ci: str = "diff") -> str:
    lo, hi = r[f"{ci}_low"], r[f"{ci}_high"]
    return f"{E.fmt(r['diff'])} [{E.fmt(lo)}, {E.fmt(hi)}]"


def ranking_table(diffs, best, shortfall, suffix, strategies, years: float) -> list[str]:
    """One shortfall and horizon: every strategy's P(best), expected difference from FCFS
    in offences per 100 with both intervals, its parts (what custody and tags did), and
    the other outcomes' differences."""
    at = diffs[diffs["shortfall"] == shortfall].set_index(["strategy", "output"])
    pb = best[best["shortfall"] == shortfall].set_index("strategy")["p_best"]
    lines = [
        "| strategy | P(best) | offences per 100: difference [95%, parameters included] | "
        "seeds alone | across sets (90%) | custody's part | tags' part | unmonitored "
        "person-days | serious unanswered 24 h | prison places | cost (GBP m) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = sorted(strategies, key=lambda s: -pb.get(s, 0.0))
    for s in order:
        p = f"{pb.get(s, 0.0):.2f}"
        if s == REFERENCE:
            r = at.loc[(s, PRIMARY + suffix)]
            lines.append(f"| **{s}** (reference) | {p} | {E.fmt(r['mean'])} per 100 | | | | | | "
                         "| | |")  # fmt: skip
            continue
        r = at.loc[(s, PRIMARY + suffix)]
        custody = at.loc[(s, EXPECTED + suffix)]["diff"]  # fewer expected: custody's doing
        tags = -at.loc[(s, AVERTED + suffix)]["diff"]  # more averted: the tags' doing
        unmon = at.loc[(s, "public_protection.unmonitored_person_days" + suffix)]["diff"]
        serious = at.loc[(s, "public_protection.serious_breaches_unanswered_24h" + suffix)]
        places = at.loc[(s, "custody_days" + suffix)]["diff"] / (365.25 * years)
        cost = at.loc[(s, COST + suffix)]["diff"] / 1e6
        lines.append(
            f"| {s} | {p} | {_cell(r)} | [{E.fmt(r['seed_low'])}, {E.fmt(r['seed_high'])}] | "
            f"[{E.fmt(r['spread_low'])}, {E.fmt(r['spread_high'])}] | {E.fmt(custody)} | "
            f"{E.fmt(tags)} | {E.fmt(unmon)} | {E.fmt(serious['diff'])} | {E.fmt(places)} | "
            f"{E.fmt(cost)} |"
        )
    return lines


def summary_text(spec, diffs, best, points, shortfalls, strategies) -> str:
    k = int(diffs["sets"].max())
    n = int(diffs["n"].max())
    inside = points[points["calibrated_range"]]["shortfall"].tolist()
    outside = points[~points["calibrated_range"]]["shortfall"].tolist()
    lines = [
        "# Prioritisation under constraint",
        "",
        f"`{spec.scenario}` (the Sentencing Act in force from the first day, after a warm-up "
        f"under it: no horizon is confounded with its 2027 step), {spec.years:g} years, "
        f"{metrics.scale_label(spec.scale)}; "
        f"{n} runs per cell: {k} of the posterior's {posterior.count()} calibrated parameter "
        "sets x "
        f"{max(n // max(k, 1), 1)} seeds, the same in every cell (paired). Capacity of the "
        "supplier's field officers, probation and the police is cut together.",
        "",
        "**The outcome** is offences per 100 people in their 12 months of follow-up: everyone "
        "whose order starts in the first year, followed for 12 months from its start wherever "
        "they are, custody included, so no strategy gains by locking people up or "
        "withdrawing orders unseen. The other outcomes are over the whole run; prison places "
        "are custody bed-days over the run's days. A difference "
        "from FCFS splits into what custody did (fewer expected offences: more days in "
        "custody) and what tags did (offences averted while tagged): *custody's part* and "
        "*tags' part* below, negative when they cut offences (custody's part also takes in "
        "small changes in who enters follow-up: orders the model's own events trigger). Fewer "
        "is better for every outcome. Two of the others count people only while they are on "
        "an active order, so they fall by construction when people are held in custody (which "
        "ends their order) or never tagged: unmonitored person-days, and serious breaches "
        "unanswered (which only tags detect). Read them beside the primary outcome, never "
        "alone.",
        "",
        "**Intervals.** *Parameters included*: 95% interval of the posterior-mean difference "
        "with the parameter sets as clusters (between-set and seed variation; it narrows as "
        "more sets are run). *Seeds alone*: the same if the parameters were known. *Across "
        "sets*: how large the effect could be across the plausible parameters (mean +/- 1.645 "
        "between-set standard deviations, the seeds' share of the variance taken out). "
        "**P(best)**: the share of parameter sets in which the strategy has the fewest "
        "offences per 100 (seeds averaged within a set; what seed noise remains spreads it "
        "when strategies differ little).",
        "",
        "## Operating points",
        "",
        "| shortfall | backlog peak (FCFS, median) | field utilisation | |",
        "|---|---|---|---|",
    ]
    for r in points.itertuples():
        flag = "inside the calibrated range" if r.calibrated_range else "**extrapolation**"
        lines.append(f"| {r.shortfall} | {E.fmt(r.backlog_peak)} | {r.field_utilisation:.2f} "
                     f"| {flag} |")  # fmt: skip
    lines += [
        "",
        f"The calibration has seen a backlog of up to {CALIBRATED_PEAK:,.0f} outstanding visits "
        "(the upper edge of the 2024 peak's tolerance, calibration/targets.toml). Shortfalls "
        "whose FCFS backlog peaks above it are extrapolation, shown apart. Queues stay "
        "bounded there by modelled expiry: an order "
        "still waiting for its fit when its end date comes closes unfitted, and escalation "
        "reviews revoke or reissue orders that cannot be fitted (`escalation.*`); removals "
        "have no such bound.",
        "",
    ]
    sections = (
        ("Inside the calibrated range", inside),
        ("Stress: extrapolation beyond the calibrated range", outside),
    )
    for title, cells in sections:
        if not cells:
            continue
        lines += [f"## {title}", ""]
        for (hlabel, suffix, _), horizon_years in zip(
            E.horizons(spec), [*spec.horizons, spec.years], strict=True
        ):
            for s in cells:
                b = best[(best["horizon"] == hlabel)]
                lines += [f"### {s} shortfall, {hlabel}", ""]
                lines += ranking_table(diffs, b, s, suffix, strategies, horizon_years)
                lines.append("")
    return "\n".join(lines)


def controls_text(diffs, points, spec) -> str:
    """What any strict reordering of an overloaded queue gains (risk-blind controls) against
    what risk information adds."""
    lines = ["## Risk information or just reordering?", "",
             "Paired difference from FCFS in offences per 100 followed people, parameters "
             "included (negative: fewer offences). Random order and shortest work first know "
             "nothing of risk: what they gain over FCFS is what any reordering of the queue "
             "gains; what risk first gains beyond them is what risk information adds.", "",
             "| shortfall | " + " | ".join([*CONTROLS, RISK_RULE, "risk_first_everywhere"])
             + " |", "|---|" + "---|" * (len(CONTROLS) + 2)]  # fmt: skip
    for s in points["shortfall"]:
        at = diffs[(diffs["shortfall"] == s) & (diffs["output"] == PRIMARY)].set_index("strategy")
        cells = [_cell(at.loc[c]) if c in at.index else "-"
                 for c in (*CONTROLS, RISK_RULE, "risk_first_everywhere")]  # fmt: skip
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def discovery(ctx, runs: pd.DataFrame, spec) -> tuple[str, pd.DataFrame]:
    """Replicated, paired scenario discovery: each sampled condition's strategies averaged
    over its seeds; the winner; where risk first stops beating FCFS (PRIM); the value of
    information."""
    from sklearn.tree import DecisionTreeClassifier, export_text

    features = spec.problem()["names"]
    ok = runs[runs["status"] == "ok"]
    lines = ["## Where the best strategy changes (scenario discovery)", "",
             f"{spec.samples} conditions sampled by Latin hypercube over what nobody yet "
             f"knows, each run under {len(DISCOVERY_STRATEGIES)} strategies on the same "
             f"{spec.replicates} seeds ({metrics.scale_label(spec.scale)}); a condition's "
             "outcome is the mean over its seeds, and its winner the strategy with the fewest "
             "follow-up offences per 100.", ""]  # fmt: skip
    voi_rows, stress_rows = [], []
    for hlabel, suffix, tag in E.horizons(spec):
        col = PRIMARY + suffix
        wide = ok.pivot_table(index=["sample", *features], columns="strategy", values=col,
                              aggfunc="mean").reset_index()  # fmt: skip
        strategies = [s for s in DISCOVERY_STRATEGIES if s in wide.columns]
        wide["winner"] = wide[strategies].idxmin(axis=1)
        wide["risk_first_minus_fcfs"] = wide[RISK_RULE] - wide[REFERENCE]
        wide["horizon"] = hlabel
        ctx.write_table(wide, f"discovery_{tag}.csv")
        x = wide[features]
        tree = None
        if wide["winner"].nunique() > 1:
            leaf = max(2, len(wide) // 10)
            tree = DecisionTreeClassifier(max_depth=3, min_samples_leaf=leaf, random_state=0)
            tree.fit(x.to_numpy(), wide["winner"])
            rules = export_text(tree, feature_names=features)
        else:
            rules = f"one strategy wins everywhere: {wide['winner'].iloc[0]}\n"
        not_better = (wide["risk_first_minus_fcfs"] >= 0).to_numpy()
        box = E.prim_box(x, not_better)
        if box is None:
            box_text = "none (it did better everywhere)"
            prim_text = (f"{RISK_RULE} has fewer offences than FCFS in every sampled "
                         "condition: no PRIM box.")  # fmt: skip
        else:
            lims, cov, dens = box
            where = "; ".join(f"{k} in [{lo:.3g}, {hi:.3g}]" for k, (lo, hi) in lims.items())
            box_text = (f"{where or 'the whole space'} (coverage {cov:.2f}, density "
                        f"{dens:.2f})")  # fmt: skip
            prim_text = (f"{RISK_RULE} does no better than FCFS in {int(not_better.sum())} of "
                         f"{len(wide)} conditions; PRIM box: {box_text}.")  # fmt: skip
        # The last line: the PRIM box alone (the paper quotes it).
        ctx.write_text(f"{rules}\n{prim_text}\nPRIM box: {box_text}\n",
                       f"discovery_rules_{tag}.txt")  # fmt: skip
        # The map's axes: the two inputs most correlated with risk first's advantage.
        both = np.column_stack([x.to_numpy(), wide["risk_first_minus_fcfs"]])
        corr = np.nan_to_num(np.corrcoef(both, rowvar=False)[-1, :-1])
        ranked = np.argsort(-np.abs(corr), kind="stable")
        ax, ay = features[ranked[0]], features[ranked[1]]
        ctx.figure(plots.winner_map(
            wide, x=ax, y=ay, label="winner", tree=tree, features=features,
            title=f"Fewest follow-up offences per 100 people, {hlabel} ({len(wide)} conditions "
                  f"x {spec.replicates} seeds, {len(strategies)} strategies; "
                  f"{metrics.scale_label(spec.scale)})",
            folder=ctx.figures, name=f"discovery_{tag}.png",
        ))  # fmt: skip
        shares = wide["winner"].value_counts()
        lines += [f"**{hlabel}**: " + ", ".join(f"{k} wins {v} of {len(wide)}"
                                                 for k, v in shares.items()) + ".", "",
                  prim_text, "", "```", rules.rstrip(), "```", ""]  # fmt: skip
        stress = stress_tally(wide)
        if stress is not None:
            stress.insert(0, "horizon", hlabel)
            stress_rows.append(stress)
            r = stress.iloc[0]
            lines += [f"Under stress (field capacity below {STRESS_CAPACITY} of plan, "
                      f"{int(r.conditions)} conditions, tag effect ratio for high risk "
                      f"{r.ratio_high_min:.2f} to {r.ratio_high_max:.2f}): {RISK_RULE} has "
                      f"fewer offences than FCFS in {int(r.risk_beats_fcfs)} and than "
                      f"{LOW_RULE} in {int(r.risk_beats_low)}.", ""]  # fmt: skip
        # Value of information: losses are offences per 100 followed people; in offences a
        # year they scale with the people followed a year (the main study's FCFS mean).
        unknowns = [f for f in features if not f.endswith("capacity_multiplier")]
        for label, inputs in (("tag effect by risk (heterogeneity)", HETEROGENEITY),
                              ("accuracy of risk assessment", ACCURACY),
                              ("both", (*HETEROGENEITY, *ACCURACY)),
                              ("every unknown sampled (not capacity)", unknowns)):  # fmt: skip
            value, null = E.evppi(wide, strategies, [i for i in inputs if i in features])
            voi_rows.append({"horizon": hlabel, "information on": label,
                             "evppi_per_100": value, "null_p95_per_100": null})  # fmt: skip
    if stress_rows:
        ctx.write_table(pd.concat(stress_rows, ignore_index=True), "discovery_stress.csv")
    return "\n".join(lines), pd.DataFrame(voi_rows)


def stress_tally(wide: pd.DataFrame) -> pd.DataFrame | None:
    """Under stress (field capacity below :data:`STRESS_CAPACITY` of plan): in how many
    sampled conditions visiting by risk beats FCFS and the reverse cohort order, and over
    what range of the tag effect's ratio for high-risk people. ``None`` when the sweep did
    not vary capacity or did not run the reverse order."""
    cap = "field.capacity_multiplier"
    if cap not in wide or LOW_RULE not in wide:
        return None
    stress = wide[wide[cap] < STRESS_CAPACITY]
    ratio = stress.get(HETEROGENEITY[1], pd.Series([np.nan]))
    return pd.DataFrame([{
        "conditions": len(stress),
        "risk_beats_fcfs": int((stress["risk_first_minus_fcfs"] < 0).sum()),
        "risk_beats_low": int((stress[RISK_RULE] < stress[LOW_RULE]).sum()),
        "ratio_high_min": float(ratio.min()), "ratio_high_max": float(ratio.max()),
    }])  # fmt: skip


def reversal(ctx, runs: pd.DataFrame, spec) -> str:
    """Where visits by risk stop beating FCFS and low-risk cohorts first, under stress: each
    condition's strategies averaged over its seeds; the paired differences regressed on the
    sampled inputs; the high-risk effect ratio at which each difference crosses zero (the
    other inputs at their means)."""
    from sklearn.linear_model import LinearRegression

    features = spec.problem()["names"]
    ok = runs[runs["status"] == "ok"]
    wide = ok.pivot_table(index=["sample", *features], columns="strategy", values=PRIMARY,
                          aggfunc="mean").reset_index()  # fmt: skip
    wide["risk_minus_fcfs"] = wide[RISK_RULE] - wide[REFERENCE]
    wide["risk_minus_low"] = wide[RISK_RULE] - wide[LOW_RULE]
    ctx.write_table(wide, "reversal.csv")
    x = wide[features].to_numpy()
    ratio = features.index("reoffending.effect_ratio.high")
    fixed = {k: v for k, v in spec.fixed.items() if k.endswith("capacity_multiplier")}
    lines = ["## Where does visiting by risk stop winning?", "",
             f"Capacity fixed at {', '.join(f'{k} = {v:g}' for k, v in fixed.items())}; "
             f"{spec.samples} conditions sampled by Latin hypercube over the high-risk effect "
             "ratio (pushed below the discovery's range, down to harm), the low-risk ratio and "
             f"the accuracy of risk assessment, each run under {len(REVERSAL_STRATEGIES)} "
             f"strategies on the same {spec.replicates} seeds "
             f"({metrics.scale_label(spec.scale)}).", "",
             "| against | conditions where visits by risk lose | slope per unit of the "
             "high-risk ratio | break-even high-risk ratio |", "|---|---|---|---|"]  # fmt: skip
    rows = []
    for label, col in (("FCFS", "risk_minus_fcfs"), ("low-risk cohorts first", "risk_minus_low")):
        y = wide[col].to_numpy()
        fit = LinearRegression().fit(x, y)
        slope = fit.coef_[ratio]
        others = x.mean(axis=0)
        at_zero = fit.intercept_ + fit.coef_ @ others - slope * others[ratio]
        even = -at_zero / slope if slope != 0 else np.nan
        loses = int((y >= 0).sum())
        rows.append({"against": label, "loses": loses, "slope": slope, "break_even": even})
        lines.append(f"| {label} | {loses} of {len(wide)} | {slope:.3g} | {even:.2f} |")
    ctx.write_table(pd.DataFrame(rows), "reversal_break_even.csv")
    lines += ["", "A positive difference means visits by risk give more offences. The break-even "
              "ratio is where the fitted difference crosses zero, the other inputs at their "
              "sampled means: below it, tags would have to do less for high-risk people than "
              "that for visiting them first to stop paying.", ""]  # fmt: skip
    ctx.figure(plots.reversal(wide, x="reoffending.effect_ratio.high",
                              ys=["risk_minus_fcfs", "risk_minus_low"],
                              labels=["visits by risk minus FCFS",
                                      "visits by risk minus low-risk cohorts first"],
                              title=f"Under stress ({metrics.scale_label(spec.scale)}): "
                                    "offences per 100, paired differences by condition",
                              folder=ctx.figures, name="reversal.png"))  # fmt: skip
    return "\n".join(lines)


def voi_text(voi: pd.DataFrame, people_per_year: float) -> str:
    lines = ["## What is it worth to know which groups benefit most?", "",
             "Expected value of partial perfect information (EVPPI, regression method with "
             "out-of-sample predictions): the offences a year that choosing the strategy with "
             "that knowledge would avert, on average, over choosing the best strategy on "
             "average now. *Null*: the 95th percentile of the same with the inputs permuted "
             "(what noise alone gives); an EVPPI below it is indistinguishable from none. In "
             "pounds at GBP "
             f"{COST_PER_OFFENCE_GBP[0]:,.0f} to {COST_PER_OFFENCE_GBP[1]:,.0f} an offence "
             "(the Home Office's 2018 unit costs of criminal damage and of violence with "
             "injury, 2015/16 prices, as reported in the press: a range, since the model's "
             f"offences are of every kind). {E.fmt(people_per_year)} people a year enter "
             "follow-up (the main study's FCFS mean at 0% shortfall).", "",
             "| horizon | information on | EVPPI, offences per 100 | null (95%) | offences a "
             "year | GBP a year (range) |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for r in voi.itertuples():
        per_year = r.evppi_per_100 * people_per_year / 100
        lines.append(f"| {r.horizon} | {r._2} | {r.evppi_per_100:.3f} | "
                     f"{r.null_p95_per_100:.3f} | {E.fmt(per_year)} | "
                     f"{E.fmt(per_year * COST_PER_OFFENCE_GBP[0])} to "
                     f"{E.fmt(per_year * COST_PER_OFFENCE_GBP[1])} |")  # fmt: skip
    lines.append("")
    return "\n".join(lines)


def report(ctx: E.Context) -> None:
    spec = ctx.specs["main"]
    runs = ctx.runs["main"]
    outputs = spec.output_columns
    diffs = E.ensemble_differences(runs, "strategy", REFERENCE, outputs, within=["shortfall"])
    assert E.all_finite(diffs[diffs["output"].str.startswith(PRIMARY)], ["mean"]), (
        "non-finite primary outcome"
    )
    ctx.write_table(diffs, "differences.csv")
    shortfalls = next(f for f in spec.factors if f.name == "shortfall").choices
    strategies = next(f for f in spec.factors if f.name == "strategy").choices
    best = pd.concat([
        E.probability_best(runs, "strategy", PRIMARY + suffix, within=["shortfall"])
        .assign(horizon=hlabel) for hlabel, suffix, _ in E.horizons(spec)
    ], ignore_index=True)  # fmt: skip
    ctx.write_table(best, "probability_best.csv")
    points = operating_points(runs, shortfalls)
    ctx.write_table(points, "operating_points.csv")
    labels = {o: E.output_label(o) for o in outputs}
    shown = [PRIMARY, AVERTED, EXPECTED, "public_protection.unmonitored_person_days",
             "public_protection.serious_breaches_unanswered_24h", COST]  # fmt: skip
    for hlabel, suffix, tag in E.horizons(spec):
        cols = [o + suffix for o in shown]
        d = diffs[diffs["output"].isin(cols)]
        ctx.figure(plots.lines_by_level(
            d[d["strategy"] != REFERENCE], x="shortfall", x_order=shortfalls,
            group="strategy", outputs=cols, value="diff", low="diff_low", high="diff_high",
            labels=labels, xlabel="capacity below plan (field, probation, police)",
            title=f"Difference from FCFS, {hlabel}: mean and 95% interval with parameter "
                  f"uncertainty ({int(d['sets'].max())} posterior sets; "
                  f"{metrics.scale_label(spec.scale)}; below zero is better)",
            folder=ctx.figures, name=f"difference_from_fcfs_{tag}.png", zero_line=True,
        ))  # fmt: skip
        b = best[best["horizon"] == hlabel]
        ctx.figure(plots.probability_best(
            b, x="shortfall", x_order=shortfalls, group="strategy",
            title=f"Probability of the fewest follow-up offences per 100, {hlabel} (over "
                  f"{int(b['sets'].max())} posterior sets; {metrics.scale_label(spec.scale)})",
            folder=ctx.figures, name=f"probability_best_{tag}.png",
        ))  # fmt: skip
    text = summary_text(spec, diffs, best, points, shortfalls, strategies)
    text += "\n" + controls_text(diffs, points, spec)
    disc_text, voi = discovery(ctx, ctx.runs["discovery"], ctx.specs["discovery"])
    ctx.write_table(voi, "value_of_information.csv")
    text += "\n" + disc_text
    ok = runs[(runs["status"] == "ok") & (runs["strategy"] == REFERENCE)]
    people = float(ok[ok["shortfall"] == shortfalls[0]][PEOPLE].mean())  # first-year entrants
    text += "\n" + voi_text(voi, people)
    if "reversal" in ctx.runs:
        text += "\n" + reversal(ctx, ctx.runs["reversal"], ctx.specs["reversal"])
    ctx.write_text(text, "summary.md")


if __name__ == "__main__":
    sys.exit(E.main(NAME))
