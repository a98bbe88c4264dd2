"""Figures. The only module that imports matplotlib.

One style throughout: labelled axes with units, a colour-blind-safe palette (Okabe-Ito),
fixed metadata so that the same result gives byte-identical PNG files.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from em_abm.metrics import BY_NAME
from em_abm.params import COHORTS

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
TOLERABLE_BACKLOG = 400  # HMPPS tolerable level of outstanding visits (NAO para 10)
PNG_META = {"Software": None}


def _style(ax, metric: str, *, ylabel: str | None = None) -> None:
    m = BY_NAME[metric]
    ax.set_title(m.label, fontsize=10)
    ax.set_ylabel(ylabel or m.unit)
    ax.grid(alpha=0.3, linewidth=0.5)


def overview(result, *, folder: str | os.PathLike | None = None):
    """Tagged population by cohort, outstanding visits, visits and fitting, stock and costs."""
    ts = result.timeseries
    s = result.summary
    date = ts["date"]
    fig, axes = plt.subplots(3, 2, figsize=(12, 10), sharex=True, constrained_layout=True)
    fig.suptitle(
        f"{s['scenario']}: seed {s['seed']}, scale {s['scale']:g}, {s['start']} to {s['end']}",
        fontsize=12,
    )
    ax = axes[0, 0]
    ax.stackplot(
        date,
        [ts[f"tagged.{c}"] for c in COHORTS],
        labels=[c.replace("_", " ") for c in COHORTS],
        colors=OKABE_ITO[: len(COHORTS)],
        alpha=0.85,
    )
    _style(ax, "tagged", ylabel="people")
    ax.set_title("Tagged people by cohort", fontsize=10)
    ax.legend(loc="lower left", fontsize=8, ncol=2)

    ax = axes[0, 1]
    ax.plot(date, ts["active_orders"], color=OKABE_ITO[0], label="active orders")
    ax.plot(
        date, ts["active_orders_without_tag"], color=OKABE_ITO[5], label="of which without a tag"
    )
    _style(ax, "active_orders")
    ax.legend(fontsize=8)

    ax = axes[1, 0]
    for i, v in enumerate(("fit", "check", "removal")):
        ax.plot(date, ts[f"outstanding_visits.{v}"], color=OKABE_ITO[i], lw=1, label=v)
    ax.plot(date, ts["outstanding_visits"], color="black", lw=1.5, label="all")
    ax.axhline(
        TOLERABLE_BACKLOG * s["scale"],
        color=OKABE_ITO[5],
        ls="--",
        lw=1,
        label="HMPPS tolerable level (x scale)",
    )
    _style(ax, "outstanding_visits")
    ax.legend(fontsize=8)

    ax = axes[1, 1]
    week = 7
    for i, v in enumerate(("fit", "check", "removal")):
        ax.plot(
            date,
            ts[f"visits_done.{v}"].rolling(week, min_periods=1).mean(),
            color=OKABE_ITO[i],
            label=f"{v} visits",
        )
    ax.plot(
        date,
        ts["visits_failed"].rolling(week, min_periods=1).mean(),
        color=OKABE_ITO[5],
        ls="--",
        label="failed fitting attempts",
    )
    _style(ax, "visits_done", ylabel="visits/day (7-day mean)")
    ax.legend(fontsize=8)

    ax = axes[2, 0]
    ax.plot(
        date,
        ts["install_within_two_attempts_rate"],
        color=OKABE_ITO[0],
        label="fitted within two attempts",
    )
    ax.plot(date, ts["device_collection_rate"], color=OKABE_ITO[2], label="devices collected")
    ax.plot(date, ts["order_error_rate"], color=OKABE_ITO[5], label="orders with errors")
    ax.plot(date, ts["field_utilisation"], color=OKABE_ITO[3], label="field utilisation")
    ax.set_ylim(0, 1)
    ax.set_title("Rates (trailing 28 days)", fontsize=10)
    ax.set_ylabel("share")
    ax.grid(alpha=0.3, linewidth=0.5)
    ax.legend(fontsize=8)

    ax = axes[2, 1]
    ax.plot(date, ts["devices_in_stock"], color=OKABE_ITO[0])
    _style(ax, "devices_in_stock")
    ax2 = ax.twinx()
    ax2.plot(date, ts["cost_em_gbp"].cumsum() / 1e6, color=OKABE_ITO[1])
    ax2.set_ylabel("cumulative direct cost (GBP million)", color=OKABE_ITO[1])
    ax.set_title("Devices in stock; cumulative direct cost", fontsize=10)
    for a in axes[-1]:
        a.set_xlabel("date")
        locator = mdates.AutoDateLocator()
        a.xaxis.set_major_locator(locator)
        a.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if folder is not None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        fig.savefig(folder / "overview.png", dpi=110, metadata=PNG_META)
        plt.close(fig)
    return fig
