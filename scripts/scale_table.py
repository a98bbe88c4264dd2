"""How outputs change with the run's scale: per-head figures of baseline_2026 at scales 0.1,
0.25, 0.5 and 1 (mean over seeds, with the seeds' standard error), split into outputs that
do not depend on the size of the system (rates and shares: the same per head at any scale
within noise) and queue outputs (waits and backlogs: a smaller system queues more at the
same utilisation, so they are only right at scale 1).

    python scripts/scale_table.py [--seeds 3] [--years 3] [--jobs 2]

Writes docs/scale_table.md (the README includes it) and prints it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

import em_abm

SCALES = (0.1, 0.25, 0.5, 1.0)
OUT = Path(__file__).resolve().parent.parent / "docs" / "scale_table.md"

# (label, function of the summary), per head: counts divided by the scale.
NOT_QUEUES = [
    ("people tagged (England and Wales equivalent)", lambda s: s["tagged"] / s["scale"]),
    ("orders with a breach", lambda s: s["breach_rate_of_orders"]),
    ("breach outcomes that are no further action", lambda s: s["nfa_share"]),
    ("12-month proven reoffending", lambda s: s["followup_proven_reoffending_12m"]),
    ("offences per 100 people followed, 12 months", lambda s: s["followup_offences_per_100"]),
    ("fitted within two attempts", lambda s: s["install_within_two_attempts_rate"]),
]
QUEUES = [
    ("outstanding visits per 1,000 tagged", lambda s: 1000 * s["outstanding_visits"] / s["tagged"]),
    ("days from order to fit, median", lambda s: s["days_order_to_fit_p50"]),
    (
        "breach packs awaiting a response per 1,000 tagged",
        lambda s: 1000 * s["notifications_awaiting_response"] / s["tagged"],
    ),
    (
        "serious breaches unanswered within 24 h (share of serious)",
        lambda s: s["serious_unanswered_24h"] / max(s["serious_notifications"], 1),
    ),
    (
        "police response time, median days",
        lambda s: s["response_time_days_p50_by_responder"]["police"],
    ),
]


def _summary(scale: float, seed: int, years: float) -> dict:
    from em_abm.scenario import window_warned_by_caller

    with window_warned_by_caller():
        return em_abm.run("baseline_2026", seed=seed, years=years, scale=scale).summary


def measure(seeds: int, years: float, jobs: int) -> dict[float, list[dict]]:
    tasks = [(sc, s) for sc in SCALES for s in range(1, seeds + 1)]
    runs = Parallel(n_jobs=jobs)(delayed(_summary)(sc, s, years) for sc, s in tasks)
    out: dict[float, list[dict]] = {sc: [] for sc in SCALES}
    for (sc, _), summary in zip(tasks, runs, strict=True):
        out[sc].append(summary)
    return out


def _cell(values: np.ndarray) -> str:
    mean = float(values.mean())
    se = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
    fmt = (lambda x: f"{x:,.0f}") if abs(mean) >= 100 else (lambda x: f"{x:.3g}")
    return f"{fmt(mean)} ± {fmt(se)}"


def table(runs: dict[float, list[dict]], seeds: int, years: float) -> str:
    head = "| output | " + " | ".join(f"scale {sc:g}" for sc in SCALES) + " |"
    rule = "|---|" + "---|" * len(SCALES)
    lines = [
        f"baseline_2026, {years:g} years, mean ± standard error over {seeds} seeds "
        "(`python scripts/scale_table.py`); counts per head or per England and Wales.",
        "",
    ]
    sections = (
        ("Not queues: the same per head at every scale, within noise", NOT_QUEUES),
        ("Queues: a smaller system queues more; right only at scale 1", QUEUES),
    )
    for title, rows in sections:
        lines += [f"**{title}**", "", head, rule]
        for label, f in rows:
            cells = [_cell(np.array([f(s) for s in runs[sc]])) for sc in SCALES]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--years", type=float, default=3.0)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    text = table(measure(args.seeds, args.years, args.jobs), args.seeds, args.years)
    OUT.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
