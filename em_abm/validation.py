"""Out of sample: ``history_2019`` against the HMPPS caseload, 2019-2024.

The scenario starts on 1 April 2019 from the March 2019 caseload by cohort (its only input
from the series) and runs forward through dated, documented events
(``em_abm/scenarios/history_2019.toml``; sources in ``docs/sources_history_2019.md``). No
calibration has used the 2019-2024 series (``calibration/hmpps_history.csv``), so every point
after the start is a prediction. :func:`report` runs it on several seeds and writes
``calibration/report_history.md`` and its figure: for each published point, the model's
median and 90% interval over seeds, the ratio to the data, and whether the point was an input
or predicted.

    python -m em_abm.validation [--seeds 5] [--scale 0.25] [--jobs 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from em_abm import files
from em_abm.results import write_text_atomic

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "calibration" / "hmpps_history.csv"
OUT = ROOT / "calibration" / "report_history.md"
SCENARIO = "history_2019"
START, END = dt.date(2019, 4, 1), dt.date(2024, 6, 30)
COLUMN = {
    "total": "tagged", "court_bail": "tagged.court_bail", "post_release": "tagged.post_release",
    "court_sentence": "tagged.court_sentence", "immigration": "tagged.immigration",
    "gps": "tagged.gps", "alcohol": "tagged.alcohol", "rf": "tagged.rf",
}  # fmt: skip
DEFINITIONS = {
    "D": "HMPPS Annual Digest caseload (31 March)",
    "A": "actively monitored (publications to December 2022)",
    "F": "fitted with a device (from the March 2023 publication, back-cast to March 2022)",
    "F+NFD": "fitted, plus non-fitted devices (immigration), from June 2024",
}


def _series(seed: int, scale: float) -> pd.DataFrame:
    from em_abm.results import run_model
    from em_abm.scenario import window_warned_by_caller

    years = ((END - START).days + 1) / 365.25
    with window_warned_by_caller():  # a prediction past its window by design
        ts = run_model(SCENARIO, seed=seed, years=years, scale=scale).timeseries
    ts = ts.set_index(pd.to_datetime(ts["date"]))
    cols = sorted(set(COLUMN.values()))
    return ts[cols] / scale  # England-and-Wales equivalents


def _at(ts: pd.DataFrame, date: str, column: str) -> float:
    """The mean of the 7 days around ``date`` (the first day for a date before the start)."""
    d = max(pd.Timestamp(date), ts.index[0])
    return float(ts.loc[d - pd.Timedelta(days=3) : d + pd.Timedelta(days=3), column].mean())


def compare(seeds: list[int], scale: float, jobs: int) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Every published point with the model's median and 90% interval over ``seeds``."""
    data = pd.read_csv(files.check_input(DATA, "HMPPS history", limit=files.TABLE_LIMIT))
    runs = Parallel(n_jobs=jobs)(delayed(_series)(s, scale) for s in seeds)
    rows = []
    for _, r in data.iterrows():
        values = np.array([_at(ts, r["date"], COLUMN[r["series"]]) for ts in runs])
        lo, med, hi = np.quantile(values, [0.05, 0.5, 0.95])
        rows.append({
            "date": r["date"], "series": r["series"], "definition": r["definition"],
            "hmpps": int(r["value"]), "model_median": med, "model_p05": lo, "model_p95": hi,
            "ratio": med / r["value"],
            "role": "input" if pd.Timestamp(r["date"]) < pd.Timestamp(START) else "predicted",
        })  # fmt: skip
    return pd.DataFrame(rows), runs


def figure(table: pd.DataFrame, runs: list[pd.DataFrame], path: Path, scale: float) -> None:
    from em_abm.plots import OKABE_ITO, PNG_META, plt

    panels = ["total", "court_bail", "gps", "alcohol", "rf", "court_sentence"]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), sharex=True, constrained_layout=True)
    for ax, name in zip(axes.flat, panels, strict=True):
        col = COLUMN[name]
        frame = pd.concat([ts[col].rolling(7, center=True).mean() for ts in runs], axis=1)
        ax.fill_between(frame.index, frame.min(axis=1), frame.max(axis=1), color=OKABE_ITO[0],
                        alpha=0.25, lw=0, label="model, range over seeds")  # fmt: skip
        ax.plot(frame.index, frame.median(axis=1), color=OKABE_ITO[0], lw=1.2,
                label="model, median")  # fmt: skip
        pts = table[table["series"] == name]
        for role, marker in (("input", "s"), ("predicted", "o")):
            sub = pts[pts["role"] == role]
            ax.plot(pd.to_datetime(sub["date"]), sub["hmpps"], marker, color=OKABE_ITO[5], ms=5,
                    ls="none", label=f"HMPPS ({role})")  # fmt: skip
        ax.axvline(pd.Timestamp(START), color="0.5", lw=0.8, ls=":")
        ax.set_title(f"tagged: {name.replace('_', ' ')}", fontsize=10)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3, linewidth=0.5)
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(
        f"history_2019 from 1 April 2019 against the HMPPS caseload: every point after the "
        f"start is predicted\nEngland-and-Wales equivalents of scale {scale:g} runs "
        f"({len(runs)} seeds)",
        fontsize=11,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata=PNG_META)
    plt.close(fig)


def _f(x: float) -> str:
    return f"{x:,.0f}"


def report(seeds: list[int], scale: float, jobs: int, out: Path = OUT) -> str:
    table, runs = compare(seeds, scale, jobs)
    figure(table, runs, out.parent / "figures" / "history_2019.png", scale)
    predicted = table[table["role"] == "predicted"]
    inside = (predicted["hmpps"] >= predicted["model_p05"]) & (
        predicted["hmpps"] <= predicted["model_p95"]
    )
    within10 = (predicted["ratio"] - 1).abs() <= 0.10
    totals = predicted[predicted["series"] == "total"]
    mape = float((totals["ratio"] - 1).abs().mean())
    last = totals.iloc[-1]
    lines = [
        "# Out of sample: `history_2019` against the HMPPS caseload, 2019-2024",
        "",
        "Made by `python -m em_abm.validation` (`make calibration-report`). The scenario "
        "(`em_abm/scenarios/history_2019.toml`) starts on 1 April 2019 from the March 2019 "
        "caseload by cohort, its only input from this series, and runs forward through dated, "
        "documented events with sizes from sources or labelled assumptions "
        "(`docs/sources_history_2019.md`). No calibration used these points; the model's "
        "other parameters are its 2026 values. Two sizes were read from the 2021-2023 "
        "statistics themselves (the 2,667 placed on GPS under immigration bail in the year to "
        "June 2023, and the 48% fall in the court-sentence caseload, September 2021 to "
        "September 2022); no point below is either of them.",
        "",
        f"Model: median and 90% interval over {len(seeds)} seeds at scale {scale:g} "
        "(England-and-Wales equivalents; the mean of the 7 days around each date). Data: "
        "`calibration/hmpps_history.csv`.",
        "",
        f"**Predicted points: {int(within10.sum())} of {len(predicted)} within 10% of the "
        f"data; {int(inside.sum())} of {len(predicted)} inside the model's 90% interval "
        f"(which is over seeds only, so narrow). The total's mean absolute error over its "
        f"{len(totals)} predicted points: {mape:.0%}.**",
        "",
        "![history_2019 against HMPPS](figures/history_2019.png)",
        "",
        "| date | series | definition | HMPPS | model median [90% interval] | model / HMPPS "
        "| input or predicted |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        lines.append(
            f"| {r['date']} | {r['series'].replace('_', ' ')} | {r['definition']} | "
            f"{_f(r['hmpps'])} | {_f(r['model_median'])} [{_f(r['model_p05'])}, "
            f"{_f(r['model_p95'])}] | {r['ratio']:.2f} | {r['role']} |"
        )
    lines += [
        "",
        "Definitions: " + "; ".join(f"{k}, {v}" for k, v in DEFINITIONS.items()) + ".",
        "",
        "How to read it: the total is close through 2021-2022 partly through errors that "
        "offset (court bail runs low, the other cohorts high); from 2023 the model falls "
        f"behind, to {last['ratio']:.2f} of the caseload by {last['date']}. The COVID rise in "
        "court bail is half explained by the Crown Court backlog (longer bail), and GPS and "
        "alcohol tags run well below the data: the shift from RF to GPS and the growth of "
        "alcohol tags after 2022 were not sized by any source found.",
        "",
    ]
    text = "\n".join(lines)
    write_text_atomic(out, text)
    return text


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    text = report(list(range(1, args.seeds + 1)), args.scale, args.jobs)
    print(text)
    print(f"wrote {OUT} and {OUT.parent / 'figures' / 'history_2019.png'}")


if __name__ == "__main__":
    main()
