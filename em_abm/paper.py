"""The paper, rebuilt by one command: ODD, experiments, figures, numbers and the PDF.

``em-abm paper [--quick]`` (``make paper [QUICK=1]``):

1. renders ``paper/ODD.md`` from ``paper/ODD.in.md`` (:mod:`em_abm.odd`);
2. runs every experiment whose results are missing or out of date (their specs' hashes or
   em-abm's version differ from those recorded in ``results/NAME/experiment.json``);
3. draws the paper's figures from the experiments' and the calibration's tables, in one
   style (Okabe-Ito colours, labelled axes with units), as PNG and SVG;
4. gathers every number the text quotes into ``numbers.json``, formatted for print;
5. compiles ``paper/paper.typ`` with Typst (the ``typst`` package, no other install) into
   ``paper.pdf``, naming the command and the commit that produced it.

The full build writes into ``paper/`` (committed); ``--quick`` uses the experiments' quick
results and writes into ``paper/quick/`` (not committed). Output is deterministic: the same
results give byte-identical figures and PDF (fixed dates, fixed SVG ids, no system fonts).

The text never types a number that a results file holds: ``paper.typ`` reads each one with
``#n("key")`` from ``numbers.json``; :func:`check` refuses a key that is not there and a
figure that does not exist before Typst runs.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from em_abm import analysis
from em_abm import experiments as E
from em_abm import targets as T
from em_abm.errors import UserError
from em_abm.results import git_commit, write_atomic, write_text_atomic

ROOT = Path(__file__).resolve().parent.parent
PAPER_DIR = ROOT / "paper"
SOURCE = PAPER_DIR / "paper.typ"
CALIBRATION = ROOT / "calibration"
EXPERIMENTS = ("prioritisation_under_constraint", "pilots", "sensitivity_baseline")
# A fixed creation date for the PDF's metadata (the model's reference date, 1 January 2026).
TIMESTAMP = 1767225600

# Outcomes the paper reports, with their labels and units.
REOFFENCES = "followup_offences_per_100"
AVERTED = "followup_offences_averted_per_100"
EXPECTED = "followup_expected_offences_per_100"
UNMONITORED = "public_protection.unmonitored_person_days"
SERIOUS = "public_protection.serious_breaches_unanswered_24h"
COST = "cost_total_gbp.total"
LABELS = {
    REOFFENCES: ("Offences per 100 people followed for 12 months", "offences per 100"),
    UNMONITORED: ("Unmonitored person-days", "person-days"),
    SERIOUS: ("Serious breaches unanswered in 24 hours", "breaches"),
    "custody_days": ("Custody days of the people followed", "bed-days"),
    COST: ("Total cost", "GBP"),
    "outstanding_visits_peak": ("Peak outstanding visits", "visits"),
}
STRATEGY_LABELS = {
    "fcfs": "first come, first served",
    "visits_random": "visits: random order (risk-blind)",
    "visits_shortest_work_first": "visits: shortest work first (risk-blind)",
    "responses_random": "responses: random order (risk-blind)",
    "visits_risk_first": "visits: highest risk first",
    "visits_deadline_first": "visits: nearest deadline first",
    "visits_high_risk_cohorts_first": "visits: high-risk cohorts first",
    "visits_low_risk_cohorts_first": "visits: low-risk cohorts first",
    "triage_risk_based": "alert triage by risk",
    "responses_risk_first": "responses: highest risk first",
    "responses_high_risk_cohorts_first": "responses: high-risk cohorts first",
    "risk_first_everywhere": "risk first everywhere",
    "tag_half_of_low_risk_cohorts": "ration: tag half of low-risk cohorts",
}
PILOT_LABELS = {
    "tag_at_court": "tag fitted at court",
    "pre_release_fitting": "fitted before release",
    "risk_based_triage": "risk-based alert triage",
    "automated_scheduling": "automated scheduling",
    "all_four": "all four together",
}


def out_dir(quick: bool) -> Path:
    return PAPER_DIR / "quick" if quick else PAPER_DIR


# ------------------------------------------------------------------------------ formatting
def _int(x: float) -> str:
    return f"{x:,.0f}".replace("-", "−")


def _pct(x: float, digits: int = 0) -> str:
    return f"{100 * x:.{digits}f}%".replace("-", "−")


def _pct_of(diff: float, ref: float) -> str:
    """``diff`` as a percentage of ``ref``; "n/a" where there is nothing to compare with (the
    follow-up outcome of a run shorter than its 12-month windows, as in the quick
    experiments)."""
    return _pct(diff / ref) if ref and math.isfinite(diff / ref) else "n/a"


def _money(x: float) -> str:
    """Pounds in millions: one decimal below £10m, none above; a minus sign before the £."""
    s = f"£{abs(x) / 1e6:,.1f}m" if abs(x) < 1e7 else f"£{abs(x) / 1e6:,.0f}m"
    return ("−" if x < 0 else "") + s


def _interval(lo: float, hi: float, fmt=_int) -> str:
    return f"[{fmt(lo)}, {fmt(hi)}]"


# ----------------------------------------------------------------------------- the numbers
def _final(outputs: pd.Series) -> pd.Series:
    """Rows at the final horizon (outputs without an ``@horizon`` suffix)."""
    return ~outputs.str.contains("@")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise UserError(f"{path}: missing; run `make experiments` (or `em-abm paper`)") from None


def _meta(folder: Path) -> dict:
    return json.loads((folder / "experiment.json").read_text(encoding="utf-8"))


def _tag(shortfall: str) -> str:
    """A shortfall as a key part: ``"20%"`` -> ``"s20"``."""
    return "s" + shortfall.rstrip("%")


def _signed(x: float, fmt=None) -> str:
    """A difference for print: a minus sign (U+2212) when negative, 3 significant digits."""
    if not math.isfinite(x):
        return "n/a"
    text = fmt(x) if fmt else (f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}")
    return text.replace("-", "−")


def prioritisation_numbers(folder: Path) -> dict[str, str]:
    """The prioritisation experiment: per shortfall (``pri.s<k>.``) and strategy, the
    probability of being best, the expected difference from FCFS in follow-up offences per
    100 people with its intervals and parts, and the other outcomes' differences; the
    operating points; scenario discovery and the value of information (``pri.disc.``,
    ``pri.voi.``)."""
    d = _read_csv(folder / "differences.csv")
    best = _read_csv(folder / "probability_best.csv")
    points = _read_csv(folder / "operating_points.csv")
    quick = folder.name.endswith("-quick")
    specs = E.load_specs("prioritisation_under_constraint", quick=quick)
    main = specs["main"]
    shortfalls = list(points["shortfall"])
    sets = int(d["sets"].max())
    n = {
        "pri.scenario": main.scenario,
        "pri.scale": f"{main.scale:g}",
        "pri.years": f"{main.years:g}",
        "pri.sets": str(sets),
        "pri.seeds_per_set": str(int(d["n"].max()) // max(sets, 1)),
        "pri.n": str(int(d["n"].max())),
        "pri.strategies": str(d["strategy"].nunique()),
        "pri.shortfalls": ", ".join(shortfalls),
        "pri.runs": str(sum(v["runs"] for v in _meta(folder)["sweeps"].values())),
        # the backlog the calibration has seen: the 2024 peak's tolerance, as the experiment
        "pri.calibrated_peak": _int(T.named("outstanding visits, peak").upper),
    }
    inside = [s for s, ok in zip(shortfalls, points["calibrated_range"], strict=True) if ok]
    outside = [s for s in shortfalls if s not in inside]
    n["pri.inside"] = ", ".join(inside) if inside else "none"
    n["pri.inside_max"] = inside[-1] if inside else "none"
    n["pri.outside"] = ", ".join(outside) if outside else "none"
    for r in points.itertuples():
        t = f"pri.{_tag(r.shortfall)}"
        n[f"{t}.peak"] = _int(r.backlog_peak)
        n[f"{t}.util"] = f"{r.field_utilisation:.2f}"
        n[f"{t}.range"] = "inside" if r.calibrated_range else "extrapolation"
    parts = {"unmon": UNMONITORED, "serious": SERIOUS, "custody": "custody_days", "cost": COST}
    for s in shortfalls:
        t = f"pri.{_tag(s)}"
        at = d[d["shortfall"] == s].set_index(["strategy", "output"])
        pb = best[best["shortfall"] == s].set_index("strategy")["p_best"]
        top = pb.sort_values(ascending=False, kind="stable")
        tied = [k for k, v in top.items() if v >= top.iloc[0] - 1e-9]  # ties are all named
        n[f"{t}.best"] = " and ".join(STRATEGY_LABELS.get(k, k) for k in tied)
        n[f"{t}.best_p"] = f"{top.iloc[0]:.2f}" + (" each" if len(tied) > 1 else "")
        n[f"{t}.fcfs.off"] = f"{at.loc[('fcfs', REOFFENCES)]['mean']:.1f}"
        # The largest expected difference from FCFS either way, and the share of strategies
        # whose interval with parameter uncertainty excludes zero.
        prim = d[(d["shortfall"] == s) & (d["output"] == REOFFENCES) & (d["strategy"] != "fcfs")]
        lo = prim.sort_values("diff", kind="stable").iloc[0]
        hi = prim.sort_values("diff", kind="stable").iloc[-1]
        n[f"{t}.lowest"] = STRATEGY_LABELS.get(lo["strategy"], lo["strategy"])
        n[f"{t}.lowest_off"] = _signed(lo["diff"])
        n[f"{t}.highest"] = STRATEGY_LABELS.get(hi["strategy"], hi["strategy"])
        n[f"{t}.highest_off"] = _signed(hi["diff"])
        clear = (prim["diff_high"] < 0) | (prim["diff_low"] > 0)
        n[f"{t}.clear"] = f"{int(clear.sum())} of {len(prim)}"
        n[f"{t}.fcfs.cost"] = _money(at.loc[("fcfs", COST)]["mean"])
        for strategy in d["strategy"].unique():
            k = f"{t}.{strategy}"
            n[f"{k}.p_best"] = f"{pb.get(strategy, 0.0):.2f}"
            if strategy == "fcfs":
                continue
            r = at.loc[(strategy, REOFFENCES)]
            n[f"{k}.off"] = _signed(r["diff"])
            n[f"{k}.off_ci"] = f"[{_signed(r['diff_low'])}, {_signed(r['diff_high'])}]"
            n[f"{k}.off_seed"] = f"[{_signed(r['seed_low'])}, {_signed(r['seed_high'])}]"
            n[f"{k}.off_spread"] = f"[{_signed(r['spread_low'])}, {_signed(r['spread_high'])}]"
            n[f"{k}.custody_part"] = _signed(at.loc[(strategy, EXPECTED)]["diff"])
            n[f"{k}.tags_part"] = _signed(-at.loc[(strategy, AVERTED)]["diff"])
            for key, output in parts.items():
                x = at.loc[(strategy, output)]["diff"]
                n[f"{k}.{key}"] = _money(x) if key == "cost" else _signed(x)
            places = at.loc[(strategy, "custody_days")]["diff"] / (365.25 * main.years)
            n[f"{k}.places"] = _signed(places, lambda v: f"{v:,.0f}")
    # Lists in one sentence, and the two cells the text names (the largest shortfall inside
    # the calibrated range, and the largest of all), whatever the shortfalls are.
    n["pri.peaks"] = ", ".join(f"{n[f'pri.{_tag(s)}.peak']} at {s}" for s in shortfalls)
    n["pri.util_first"] = n[f"pri.{_tag(shortfalls[0])}.util"]
    n["pri.util_last"] = n[f"pri.{_tag(shortfalls[-1])}.util"]
    n["pri.bests"] = "; ".join(
        f"{n[f'pri.{_tag(s)}.best']} at {s} ({n[f'pri.{_tag(s)}.best_p']})" for s in shortfalls
    )
    worst = shortfalls[-1]
    n["pri.worst"] = worst
    n["pri.worst_tag"] = _tag(worst)
    n["pri.worst_range"] = n[f"pri.{_tag(worst)}.range"]
    n["pri.worst_peak"] = n[f"pri.{_tag(worst)}.peak"]
    n["pri.inside_max_tag"] = _tag(inside[-1]) if inside else _tag(shortfalls[0])
    for alias, s in (("worst", worst), ("inside", inside[-1] if inside else shortfalls[0])):
        prefix = f"pri.{_tag(s)}."
        n.update({f"pri.{alias}." + k[len(prefix):]: v for k, v in list(n.items())
                  if k.startswith(prefix)})  # fmt: skip
    n.update(_discovery_numbers(folder, specs))
    return n


VOI_KEYS = {
    "tag effect by risk (heterogeneity)": "het",
    "accuracy of risk assessment": "acc",
    "both": "both",
    "every unknown sampled (not capacity)": "all",
}


def _discovery_numbers(folder: Path, specs: dict) -> dict[str, str]:
    """Scenario discovery, the reversal sweep and the value of information, at the final
    horizon."""
    spec = specs["discovery"]
    n = {
        "pri.disc.samples": str(spec.samples),
        "pri.disc.seeds": str(spec.replicates),
        "pri.disc.inputs": str(len(spec.problem()["names"])),
    }
    tag = E.horizons(spec)[-1][2]  # the final horizon's files
    if (folder / f"discovery_{tag}.csv").is_file():
        disc = _read_csv(folder / f"discovery_{tag}.csv")
        counts = disc["winner"].value_counts()
        n["pri.disc.winner"] = STRATEGY_LABELS.get(counts.index[0], counts.index[0])
        n["pri.disc.winner_wins"] = str(int(counts.iloc[0]))
        n["pri.disc.winners"] = "; ".join(
            f"{STRATEGY_LABELS.get(k, k)}: {v}" for k, v in counts.items()
        )
        n["pri.disc.risk_not_better"] = str(int((disc["risk_first_minus_fcfs"] >= 0).sum()))
    stress = folder / "discovery_stress.csv"
    if stress.is_file():  # the experiment's tally under stress (field capacity < 0.8)
        r = _read_csv(stress).iloc[-1]  # the final horizon
        n["pri.disc.stress_n"] = str(int(r["conditions"]))
        n["pri.disc.stress_beats_fcfs"] = str(int(r["risk_beats_fcfs"]))
        n["pri.disc.stress_beats_low"] = str(int(r["risk_beats_low"]))
        n["pri.disc.stress_ratio_high"] = f"{r['ratio_high_min']:.2f} to {r['ratio_high_max']:.2f}"
    rules = folder / f"discovery_rules_{tag}.txt"
    if rules.is_file():
        last = rules.read_text(encoding="utf-8").strip().splitlines()[-1]
        n["pri.disc.prim"] = last.removeprefix("PRIM box: ")
    rev = folder / "reversal_break_even.csv"
    if rev.is_file():  # the targeted sweep under stress
        table = _read_csv(rev).set_index("against")
        n["pri.rev.samples"] = str(specs["reversal"].samples)
        for key, against in (("fcfs", "FCFS"), ("low", "low-risk cohorts first")):
            r = table.loc[against]
            n[f"pri.rev.{key}_loses"] = str(int(r["loses"]))
            n[f"pri.rev.{key}_wins"] = str(int(n["pri.rev.samples"]) - int(r["loses"]))
            n[f"pri.rev.{key}_break_even"] = _signed(float(r["break_even"]),
                                                     lambda v: f"{v:.2f}")  # fmt: skip
    voi = _read_csv(folder / "value_of_information.csv")
    voi = voi[voi["horizon"] == voi["horizon"].iloc[-1]]
    for r in voi.itertuples(index=False):
        key = VOI_KEYS[r[1]]
        n[f"pri.voi.{key}"] = f"{r.evppi_per_100:.3f}"
        n[f"pri.voi.{key}_null"] = f"{r.null_p95_per_100:.3f}"
        n[f"pri.voi.{key}_verdict"] = ("above" if r.evppi_per_100 > r.null_p95_per_100 else
                                       "not above")  # fmt: skip
    return n


def pilots_numbers(folder: Path) -> dict[str, str]:
    """Each pilot's expected difference from the baseline over the posterior ensemble, with
    its 95% interval including parameter uncertainty (``_ci``) and from seeds alone
    (``_seed``); the baseline's levels."""
    d = _read_csv(folder / "differences.csv")
    d = d[_final(d["output"])]
    sets = int(d["sets"].max())
    n = {
        "pil.sets": str(sets),
        "pil.seeds_per_set": str(int(d["n"].max()) // max(sets, 1)),
        "pil.runs": str(sum(v["runs"] for v in _meta(folder)["sweeps"].values())),
    }

    def points(x: float) -> str:  # a share's difference, in percentage points
        return f"{100 * x:.1f}".replace("-", "−")

    spec = E.load_specs("pilots", quick=folder.name.endswith("-quick"))["main"]
    n["pil.scale"] = f"{spec.scale:g}"
    n["pil.years"] = f"{spec.years:g}"
    levels = [f.levels for f in spec.factors if f.name == "pilot" and f.levels]
    if levels and "tag_at_court" in levels[0]:
        n["pil.share"] = _pct(levels[0]["tag_at_court"]["pilot.tag_at_court_share"])
    outputs = {
        "off": (REOFFENCES, lambda x: _signed(x)), "tags": (AVERTED, lambda x: _signed(-x)),
        "custody_part": (EXPECTED, lambda x: _signed(x)), "unmon": (UNMONITORED, _int),
        "serious": (SERIOUS, _int), "custody": ("custody_days", _int), "cost": (COST, _money),
        "peak": ("outstanding_visits_peak", _int), "share": ("unmonitored_share", points),
    }  # fmt: skip
    base = d[d["pilot"] == "baseline"].set_index("output")
    for key, (output, fmt) in outputs.items():
        if output in base.index:
            mean = float(base.loc[output, "mean"])
            n[f"pil.baseline.{key}"] = (_pct(mean, 0) if key == "share" else
                                        f"{mean:.1f}" if key == "off" else fmt(mean))  # fmt: skip
    for pilot in PILOT_LABELS:
        rows = d[d["pilot"] == pilot].set_index("output")
        for key, (output, fmt) in outputs.items():
            if output not in rows.index:
                continue
            r = rows.loc[output]
            n[f"pil.{pilot}.{key}_diff"] = fmt(r["diff"])
            if key == "tags":
                continue
            n[f"pil.{pilot}.{key}_ci"] = f"[{fmt(r['diff_low'])}, {fmt(r['diff_high'])}]"
            n[f"pil.{pilot}.{key}_seed"] = f"[{fmt(r['seed_low'])}, {fmt(r['seed_high'])}]"
    return n


def sensitivity_numbers(folder: Path) -> dict[str, str]:
    d = _read_csv(folder / "sobol.csv")
    n = {
        "sen.runs": str(sum(v["runs"] for v in _meta(folder)["sweeps"].values())),
        "sen.params": str(d["parameter"].nunique()),
        "sen.outputs": str(d["output"].nunique()),
    }
    spec = E.load_specs("sensitivity_baseline", quick=folder.name.endswith("-quick"))["main"]
    n["sen.samples"] = str(spec.samples)
    n["sen.min_samples"] = str(analysis.MIN_SOBOL_SAMPLES)
    outside = analysis.outside_unit_interval(d, ("S1", "ST"))  # the analysis's own rule
    n["sen.outside"] = f"{len(outside)} of {2 * len(d)}"
    n["sen.years"] = f"{spec.years:g}"
    n["sen.scale"] = f"{spec.scale:g}"
    for key, output in (
        ("unmon", UNMONITORED),
        ("reoff", REOFFENCES),
        ("peak", "outstanding_visits_peak"),
        ("serious", SERIOUS),
        ("custody", "custody_days"),
        ("cost", COST),
    ):
        rows = d[d["output"] == output].sort_values("ST", ascending=False, kind="stable")
        for i, rank in enumerate(("top", "second")):
            if len(rows) > i:
                r = rows.iloc[i]
                n[f"sen.{key}.{rank}"] = str(r["parameter"])
                n[f"sen.{key}.{rank}_st"] = f"{r['ST']:.2f}"
                n[f"sen.{key}.{rank}_ci"] = (f"[{max(r['ST'] - r['ST_conf'], 0):.2f}, "
                                             f"{r['ST'] + r['ST_conf']:.2f}]")  # fmt: skip
        fit = rows[rows["parameter"] == "field.fit_success_prob"]
        if len(fit):
            n[f"sen.{key}.fit_st"] = f"{fit['ST'].iloc[0]:.2f}"
    return n


def calibration_numbers() -> dict[str, str]:
    from em_abm import calibration as C
    from em_abm import params as P
    from em_abm import scenario as sc

    n: dict[str, str] = {}
    report = _read_csv(CALIBRATION / "targets_report.csv")
    for stage, scenario in (("baseline", "baseline_2026"), ("transition", "transition_2024")):
        cfg = C.load_config(C.CONFIGS[stage])
        text = (CALIBRATION / "fitted" / f"{stage}.toml").read_text(encoding="utf-8")
        m = re.search(r"median of (\d+) accepted parameter sets out of (\d+)", text)
        if not m:
            raise UserError(f"calibration/fitted/{stage}.toml: no count of accepted sets")
        n[f"cal.{stage}.accepted"], n[f"cal.{stage}.evaluated"] = m.group(1), m.group(2)
        n[f"cal.{stage}.free"] = str(len(cfg.free))
        for role in ("input", "target", "check"):
            rows = report[(report["scenario"] == scenario) & (report["role"] == role)]
            n[f"cal.{stage}.{role}s"] = str(len(rows))
            n[f"cal.{stage}.{role}s_pass"] = str(int(rows["pass"].sum()))
    tagged = report[report["name"] == "tagged population, March 2026"]
    n["cal.tagged_march_2026"] = _int(tagged["model_median"].iloc[0])
    n["cal.fit_success"] = _pct(P.PARAMS["field.fit_success_prob"].default)
    transition = sc.load("transition_2024")
    after = [c for c in transition.changes if "field.fit_success_prob" in c.values]
    if after:
        n["cal.fit_success_after"] = _pct(after[0].values["field.fit_success_prob"])
    n["cal.growth"] = _pct(transition.params["demand.growth_per_year"])

    # The search: waves, sets per wave, scale and seeds of each stage; the calibrated values'
    # 90% intervals (5th to 95th percentile of the accepted sets).
    def short(x: float) -> str:
        return f"{x:.3g}"

    n["cal.report_seeds"] = str(len(C.REPORT_SEEDS))
    for stage in ("baseline", "transition"):
        cfg = C.load_config(C.CONFIGS[stage])
        n[f"cal.{stage}.cutoff"] = f"{cfg.cutoff:g}"
        n[f"cal.{stage}.waves"] = str(cfg.waves)
        n[f"cal.{stage}.points"] = str(cfg.points)
        n[f"cal.{stage}.scale"] = f"{cfg.scale:g}"
        n[f"cal.{stage}.seeds"] = str(len(cfg.seeds))
        sets = _read_csv(CALIBRATION / "fitted" / f"{stage}.csv")
        for r in C.summary_table_from(cfg, sets).itertuples():
            name = r.parameter.split(":")[-1] if stage == "baseline" else r.parameter
            n[f"cal.p.{name}"] = short(r.median)
            n[f"cal.p.{name}_ci"] = f"[{short(r.p05)}, {short(r.p95)}]"

    # Targets and checks at the calibrated values (calibration/targets_report.csv): the
    # model's median and the published figure.
    chosen = {
        "tagged_2026": ("tagged population, March 2026", _int),
        "fit2_2026": ("fitted within the standard two attempts (Jan-Apr 2026)", _pct),
        "fit2_2025": ("fitted within the standard two attempts (2025)", _pct),
        "errors": ("orders with errors", _pct),
        "notified": ("alerts that become breach notifications", _pct),
        "nfa": ("breach outcomes that are no further action", _pct),
        "pack_hours": ("breach to officials, median hours", lambda x: f"{x:.0f}"),
        "breached": ("orders with a breach", _pct),
        "caseload": ("probation caseload per officer", lambda x: f"{x:.0f}"),
        "backlog_may24": ("outstanding visits, May 2024", _int),
        "backlog_peak": ("outstanding visits, peak", _int),
        "backlog_after": ("outstanding visits, mean after recovery (Jan-Oct 2025)", _int),
        "tagged_dec25": ("tagged, December 2025 (HMPPS)", _int),
        "imm_jun25": ("tagged immigration, June 2025 (HMPPS)", _int),
        "imm_dec25": ("tagged immigration, December 2025 (HMPPS)", _int),
        "rf_jun24": ("tagged RF tags, June 2024 (HMPPS)", _int),
        "rf_jun25": ("tagged RF tags, June 2025 (HMPPS)", _int),
        "alcohol_jun25": ("tagged alcohol tags, June 2025 (HMPPS)", _int),
        "unmonitored": ("active orders without a working tag (share)", _pct),
        "cost": ("annual direct cost of the service (GBP)", _money),
        "kpi": ("two fitting attempts within the required time (Serco KPI)", _pct),
        "custody_act": ("extra bail-breach custody a year from 2027 (Sentencing Act)", _int),
        "police_act": ("extra police cost a year from 2027 (Sentencing Act, GBP)", _money),
    }
    fitted = {stage: _read_csv(CALIBRATION / "fitted" / f"{stage}.csv")
              for stage in ("baseline", "transition")}  # fmt: skip
    for key, (name, fmt) in chosen.items():
        for sets in fitted.values():  # the accepted sets' 90% interval (calibration's seeds)
            if name in sets.columns and len(sets):
                lo, hi = np.quantile(sets[name].to_numpy(dtype=float), [0.05, 0.95])
                n[f"cal.t.{key}.accepted"] = _interval(lo, hi, fmt)
        row = report[report["name"] == name]
        if len(row):
            r = row.iloc[0]
            n[f"cal.t.{key}"] = fmt(float(r["model_median"]))
            n[f"cal.t.{key}.range"] = _interval(r["model_p05"], r["model_p95"], fmt)
            n[f"cal.t.{key}.published"] = str(r["target"])
            n[f"cal.t.{key}.pass"] = "within" if bool(r["pass"]) else "outside"
    return n


def model_numbers() -> dict[str, str]:
    from em_abm import params as P
    from em_abm.geography import Geography
    from em_abm.version import __version__

    n = {
        "model.version": __version__,
        "model.params": str(len(P.PARAMS)),
        "model.force_areas": str(len(Geography().areas)),
        "model.regions": str(len(Geography().regions)),
    }
    # Parameter defaults the text quotes (em_abm/params.py).
    value = {name: P.PARAMS[name].default for name in P.PARAMS}
    n["model.field_officers"] = _int(value["field.officers"])
    n["model.reviews_per_day"] = _int(value["monitoring.reviews_per_day"])
    n["model.effect_rf"] = _pct(value["reoffending.effect_while_tagged.rf"])
    n["model.effect_gps"] = _pct(value["reoffending.effect_while_tagged.gps"])
    n["model.effect_after"] = _pct(value["reoffending.effect_after_removal"])
    n["model.warmup_days"] = _int(value["time.warmup_days"])
    n["model.caseload_threshold"] = _int(value["probation.caseload_threshold"])
    n["model.visit_threshold"] = _int(value["contingency.visit_threshold"])
    n["model.cost_per_year"] = f"£{value['cost.per_tagged_year_gbp']:,.0f}"
    n["model.cost_probation_response"] = f"£{value['cost.probation_per_response_gbp']:,.0f}"
    n["model.cost_police_hour"] = f"£{value['cost.police_officer_hour_gbp']:,.0f}"
    n["model.cost_custody_day"] = f"£{value['cost.custody_per_day_gbp']:,.0f}"
    n["model.disconnect_days"] = _int(value["behaviour.unmonitored_after_days"])
    n["model.double_crew"] = _pct(value["field.double_crew_share"])
    n["model.ratio_low"] = f"{value['reoffending.effect_ratio.low']:g}".replace("-", "−")
    n["model.ratio_high"] = f"{value['reoffending.effect_ratio.high']:g}"
    n["model.assessment_rho"] = f"{value['risk.assessment_correlation']:g}"
    return n


def numbers(quick: bool = False) -> dict[str, str]:
    """Every number the paper quotes, formatted for print, from the results files."""
    n = model_numbers()
    n.update(calibration_numbers())
    n.update(prioritisation_numbers(E.results_dir(EXPERIMENTS[0], quick)))
    n.update(pilots_numbers(E.results_dir(EXPERIMENTS[1], quick)))
    n.update(sensitivity_numbers(E.results_dir(EXPERIMENTS[2], quick)))
    return dict(sorted(n.items()))


# ----------------------------------------------------------------------------- the figures
def _style():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from em_abm.plots import OKABE_ITO

    plt.rcParams.update({
        "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "legend.fontsize": 8,
        "axes.prop_cycle": plt.cycler(color=OKABE_ITO), "axes.spines.top": False,
        "axes.spines.right": False, "svg.hashsalt": "em-abm", "svg.fonttype": "path",
    })  # fmt: skip
    return plt


def _save(fig, folder: Path, name: str) -> list[Path]:
    from em_abm.plots import PNG_META

    paths = []
    for ext, meta in (("png", PNG_META), ("svg", {"Date": None})):
        path = folder / f"{name}.{ext}"
        write_atomic(path, lambda p, ext=ext, meta=meta: fig.savefig(p, format=ext, dpi=150,
                                                                     metadata=meta))  # fmt: skip
        paths.append(path)
    fig.clf()
    return paths


def _bars(ax, rows: pd.DataFrame, labels: dict, unit: str, title: str, order=None) -> list:
    """Horizontal bars of paired differences with their intervals; returns the order drawn
    (largest at the bottom), so that a second panel can share it."""
    key = rows.columns[0]
    if order is None:
        order = list(rows.sort_values("diff", ascending=False, kind="stable")[key])
    rows = rows.set_index(key).loc[order].reset_index()
    y = np.arange(len(rows))
    err = np.vstack([rows["diff"] - rows["diff_low"], rows["diff_high"] - rows["diff"]])
    colors = ["#0072B2" if h < 0 else ("#D55E00" if lo > 0 else "#999999")
              for lo, h in zip(rows["diff_low"], rows["diff_high"], strict=True)]  # fmt: skip
    ax.barh(y, rows["diff"], xerr=err, color=colors, capsize=2, error_kw={"lw": 0.8})
    ax.set_yticks(y, [labels.get(s, s) for s in rows.iloc[:, 0]])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(f"difference ({unit}; m: millions)" if unit == "person-days" else
                  f"difference ({unit})")  # fmt: skip
    ax.xaxis.set_major_formatter(_thousands())
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3, lw=0.5)
    return order


def _thousands():
    from matplotlib.ticker import FuncFormatter

    def fmt(x, _):
        return f"{x / 1e6:g}m" if abs(x) >= 1e6 else f"{x:,.0f}"

    return FuncFormatter(fmt)


def _paired_panels(plt, table, key, outputs, labels, height, title):
    """Two panels of paired differences (one per output), the arms in the same order."""
    fig, axes = plt.subplots(1, 2, figsize=(10, height), layout="constrained", sharey=True)
    order = None
    for ax, output in zip(axes, outputs, strict=True):
        label, unit = LABELS[output]
        rows = table[table["output"] == output][[key, "diff", "diff_low", "diff_high"]]
        order = _bars(ax, rows, labels, unit, label, order)
    fig.suptitle(title)
    return fig


def figures(folder: Path, quick: bool = False) -> list[Path]:
    """Draw the paper's figures into ``folder/figures`` (PNG and SVG); return their paths.
    The paper's style applies to them alone: matplotlib's settings are restored after."""
    import matplotlib

    with matplotlib.rc_context():
        return _figures(folder, quick)


def _figures(folder: Path, quick: bool) -> list[Path]:
    plt = _style()
    figs = folder / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []

    # The prioritisation experiment's own figures (drawn by em_abm.plots from its tables).
    pri_dir = E.results_dir(EXPERIMENTS[0], quick)
    spec = E.load_specs(EXPERIMENTS[0], quick=quick)["main"]
    tag = E.horizons(spec)[-1][2]
    for src, name in ((f"probability_best_{tag}.png", "probability_best.png"),
                      (f"difference_from_fcfs_{tag}.png", "difference_from_fcfs.png"),
                      (f"discovery_{tag}.png", "discovery.png"),
                      ("reversal.png", "reversal.png")):  # fmt: skip
        path = pri_dir / "figures" / src
        if not path.is_file():
            raise UserError(f"{path}: missing; run `make experiments` (or `em-abm paper`)")
        write_atomic(figs / name, lambda p, path=path: shutil.copyfile(path, p))
        out.append(figs / name)

    from em_abm.metrics import scale_label

    pil_scale = E.load_specs(EXPERIMENTS[1], quick=quick)["main"].scale
    pil = _read_csv(E.results_dir(EXPERIMENTS[1], quick) / "differences.csv")
    pil = pil[_final(pil["output"]) & (pil["pilot"] != "baseline")]
    fig = _paired_panels(plt, pil, "pilot", (REOFFENCES, UNMONITORED), PILOT_LABELS, 3.4,
                         "Pilots against the 2026 baseline (95% interval with parameter "
                         f"uncertainty; {scale_label(pil_scale)})")  # fmt: skip
    out += _save(fig, figs, "pilots")

    sob = _read_csv(E.results_dir(EXPERIMENTS[2], quick) / "sobol.csv")
    table = sob.pivot(index="parameter", columns="output", values="ST").clip(lower=0)
    table = table.loc[table.max(axis=1).sort_values(ascending=False).index]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(table) + 1.8), layout="constrained")
    im = ax.imshow(table.to_numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_yticks(range(len(table)), table.index)
    names = [LABELS.get(c, (c, ""))[0] for c in table.columns]
    ax.set_xticks(range(table.shape[1]), names, rotation=30, ha="right")
    for (i, j), v in np.ndenumerate(table.to_numpy()):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                color="white" if v < 0.5 else "black")  # fmt: skip
    fig.colorbar(im, ax=ax, label="total-order Sobol index (share of variance)")
    ax.set_title("What drives the outcomes at the 2026 baseline")
    out += _save(fig, figs, "sobol_total_indices")
    plt.close("all")

    out += _save(validation_figure(plt), figs, "validation")

    for name in ("transition_2024_path.png", "posterior_marginals_baseline.png"):
        src = CALIBRATION / "figures" / name
        write_atomic(figs / name, lambda p, src=src: shutil.copyfile(src, p))
        out.append(figs / name)
    return out


def validation_figure(plt):
    """Every input, target and check at the calibrated values (calibration/targets_report.csv:
    median over seeds at scale 1) against its published figure, in units of its tolerance:
    inside the shaded band [-1, 1] is within it. One-sided bounds (at most, at least) put the
    bound at 1 (or -1) and measure the distance beyond it relative to the bound."""
    report = _read_csv(CALIBRATION / "targets_report.csv")
    rows = {t.name: t for t in T.load()}
    order = {"input": 0, "target": 1, "check": 2}
    report = report.assign(_o=report["role"].map(order)).sort_values(["_o"], kind="stable")
    pos = []
    for r in report.itertuples():
        t, m = rows[r.name], float(r.model_median)
        if np.isfinite(t.lower) and np.isfinite(t.upper):
            x = (m - (t.lower + t.upper) / 2) / ((t.upper - t.lower) / 2)
        elif np.isfinite(t.upper):
            x = 1 + (m - t.upper) / max(abs(t.upper), 1e-9)
        else:
            x = -1 + (m - t.lower) / max(abs(t.lower), 1e-9)
        pos.append(float(np.clip(x, -4, 4)))
    y = np.arange(len(report))[::-1]
    fig, ax = plt.subplots(figsize=(10, 0.2 * len(report) + 1.8), layout="constrained")
    ax.axvspan(-1, 1, color="#999999", alpha=0.2, lw=0)
    colours = ["#0072B2" if ok else "#D55E00" for ok in report["pass"]]
    markers = {"input": "s", "target": "o", "check": "D"}
    for role, marker in markers.items():
        sel = (report["role"] == role).to_numpy()
        ax.scatter(np.array(pos)[sel], y[sel], c=np.array(colours)[sel], marker=marker, s=22,
                   label=role, zorder=3)  # fmt: skip
    ax.set_yticks(y, [f"{n} ({s})" for n, s in zip(report["name"], report["scenario"],
                                                   strict=True)], fontsize=6.5)  # fmt: skip
    ax.set_xlim(-4.3, 4.3)
    ax.set_xlabel("model minus published, in tolerances (shaded: within)")
    n_pass = int(report["pass"].sum())
    title = (
        f"Inputs (squares), targets (circles), checks (diamonds): {n_pass} of {len(report)}\n"
        "within tolerance (blue); England and Wales, scale 1"
    )
    ax.set_title(title, fontsize=9)
    ax.grid(axis="x", alpha=0.3, lw=0.5)
    return fig


# ------------------------------------------------------------------------------- the build
def _references(source: str) -> tuple[set[str], set[str]]:
    """The number keys (``#n("...")``) and figure files (``fig("...")``) the text uses."""
    keys = set(re.findall(r'#n\("([^"]+)"\)', source))
    figs = set(re.findall(r'fig\("([^"]+)"', source))
    return keys, figs


def check(folder: Path, source: Path = SOURCE) -> None:
    """Refuse a text that quotes a number ``numbers.json`` lacks or a figure not drawn."""
    keys, figs = _references(source.read_text(encoding="utf-8"))
    have = json.loads((folder / "numbers.json").read_text(encoding="utf-8"))
    missing = sorted(keys - set(have))
    if missing:
        raise UserError(f"{source.name}: numbers not in numbers.json: {', '.join(missing)}")
    empty = sorted(k for k in keys if not str(have[k]).strip())
    if empty:
        raise UserError(f"{source.name}: numbers left empty: {', '.join(empty)}")
    absent = sorted(f for f in figs if not (folder / "figures" / f).is_file())
    if absent:
        raise UserError(f"{source.name}: figures not drawn: {', '.join(absent)}")


def compile_pdf(folder: Path, *, command: str, commit: str | None = None) -> Path:
    """Compile ``folder/paper.typ`` (a copy of :data:`SOURCE` outside ``paper/``) with its
    ``numbers.json`` and ``figures/`` into ``folder/paper.pdf``, naming command and commit."""
    import typst

    source = folder / "paper.typ"
    if source.resolve() != SOURCE.resolve():
        text = SOURCE.read_text(encoding="utf-8")
        write_atomic(source, lambda p: p.write_text(text, encoding="utf-8"))
    inputs = {"dir": ".", "command": command, "commit": commit or git_commit() or "unknown"}
    try:
        data = typst.compile(str(source), root=str(folder), sys_inputs=inputs,
                             ignore_system_fonts=True, timestamp=TIMESTAMP)  # fmt: skip
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "unknown error"
        raise UserError(f"{SOURCE.name}: Typst could not compile it: {first}") from None
    pdf = folder / "paper.pdf"
    write_atomic(pdf, lambda p: p.write_bytes(data))
    return pdf


def render(folder: Path, *, quick: bool = False, command: str, commit: str | None = None) -> Path:
    """Figures, numbers and PDF into ``folder`` from the results as they are."""
    folder.mkdir(parents=True, exist_ok=True)
    figures(folder, quick)
    write_text_atomic(folder / "numbers.json", json.dumps(numbers(quick), indent=2) + "\n")
    check(folder)
    return compile_pdf(folder, command=command, commit=commit)


def build(*, quick: bool = False, jobs: int = -1, progress: bool = True) -> Path:
    """Everything the paper needs, rebuilt where out of date; returns the PDF's path."""
    from em_abm.odd import write_odd

    write_odd(PAPER_DIR / "ODD.md")
    for name in EXPERIMENTS:
        if E.is_current(name, quick=quick):
            print(f"{name}: results are current ({E.results_dir(name, quick)})")
        else:
            print(f"{name}: running the experiment (results missing or out of date)")
            E.run(name, quick=quick, jobs=jobs, progress=progress)
    command = "make paper" + (" QUICK=1" if quick else "")
    pdf = render(out_dir(quick), quick=quick, command=command)
    print(f"wrote {pdf} (figures in {pdf.parent / 'figures'}, numbers.json)")
    return pdf
