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
import matplotlib.ticker as mticker
import numpy as np

from em_abm.metrics import BY_NAME, scale_label
from em_abm.params import COHORTS, OUTCOMES, PARAMS

# Labels come from users (scenario names, arms, spec names): a "$" in one is text, not
# mathtext to parse (no figure of em-abm's uses mathtext).
matplotlib.rcParams["text.parse_math"] = False

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
# HMPPS's tolerable level of outstanding visits (NAO para 10), declared once in params.py.
TOLERABLE_BACKLOG = PARAMS["contingency.visit_threshold"].default
SMOOTH_DAYS = 7  # daily flows are drawn as their mean over the last 7 days
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
        f"{s['scenario']}: seed {s['seed']}, {s['start']} to {s['end']}\n{scale_label(s['scale'])}",
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
    for i, v in enumerate(("fit", "check", "removal")):
        ax.plot(
            date,
            ts[f"visits_done.{v}"].rolling(SMOOTH_DAYS, min_periods=1).mean(),
            color=OKABE_ITO[i],
            label=f"{v} visits",
        )
    ax.plot(
        date,
        ts["visits_failed"].rolling(SMOOTH_DAYS, min_periods=1).mean(),
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
    return _finish(fig, axes, folder, "overview.png")


def _finish(fig, axes, folder, name: str):
    for a in axes[-1]:
        a.set_xlabel("date")
        locator = mdates.AutoDateLocator()
        formatter = mdates.ConciseDateFormatter(locator)
        a.xaxis.set_major_locator(locator)
        a.xaxis.set_major_formatter(formatter)
        if folder is not None:
            _freeze_ticks(a.xaxis, locator, formatter)
    if folder is not None:
        _save(fig, folder, name)
    return fig


def _freeze_ticks(axis, locator, formatter) -> None:
    """Replace ``axis``'s locator and formatter by the ticks and labels they give now.

    A figure being saved does not change its limits, but the layout engine asks for the
    ticks many times, and date ticks are slow to work out (0.3-0.5 s of a six-panel figure).
    The saved image is the same byte for byte. Figures returned for interactive use keep
    live tickers, so that zooming moves the ticks."""
    ticks = locator()
    fixed = mticker.FixedFormatter(formatter.format_ticks(ticks))
    fixed.set_offset_string(formatter.get_offset())
    axis.set_major_locator(mticker.FixedLocator(ticks))
    axis.set_major_formatter(fixed)


def _monthly(ts, columns):
    return ts.set_index("date")[list(columns)].resample("MS").sum()


def breaches(result, *, folder: str | os.PathLike | None = None):
    """Alerts, notifications by cohort, outcomes, custody, reoffending and responder load."""
    ts = result.timeseries
    s = result.summary
    date = ts["date"]
    fig, axes = plt.subplots(3, 2, figsize=(12, 10), sharex=True, constrained_layout=True)
    fig.suptitle(
        f"{s['scenario']}: monitoring, breaches and responses (seed {s['seed']})\n"
        f"{scale_label(s['scale'])}",
        fontsize=12,
    )

    ax = axes[0, 0]
    ax.plot(
        date,
        ts["alerts"].rolling(SMOOTH_DAYS, min_periods=1).mean(),
        color=OKABE_ITO[0],
        label="alerts",
    )
    ax.plot(
        date,
        ts["breach_notifications"].rolling(SMOOTH_DAYS, min_periods=1).mean(),
        color=OKABE_ITO[5],
        label="breach notifications",
    )
    ax.plot(
        date,
        ts["responses"].rolling(SMOOTH_DAYS, min_periods=1).mean(),
        color=OKABE_ITO[2],
        ls="--",
        label="responses",
    )
    ax.set_title("Alerts, notifications and responses (7-day mean)", fontsize=10)
    ax.set_ylabel("per day")
    ax.grid(alpha=0.3, linewidth=0.5)
    ax.legend(fontsize=8)

    ax = axes[0, 1]
    for i, c in enumerate(COHORTS):
        ax.plot(
            date,
            ts[f"breach_notifications.{c}"].rolling(28, min_periods=1).mean(),
            color=OKABE_ITO[i],
            label=c.replace("_", " "),
        )
    ax.set_title("Breach notifications by cohort (28-day mean)", fontsize=10)
    ax.set_ylabel("notifications/day")
    ax.grid(alpha=0.3, linewidth=0.5)
    ax.legend(fontsize=8)

    ax = axes[1, 0]
    month = _monthly(ts, [f"responses.{o}" for o in OUTCOMES])
    bottom = None
    palette = [*OKABE_ITO, "#999999", "#882255"]
    for i, o in enumerate(OUTCOMES):
        vals = month[f"responses.{o}"].to_numpy()
        ax.bar(
            month.index,
            vals,
            width=25,
            bottom=bottom,
            color=palette[i % len(palette)],
            label=o.replace("_", " "),
            align="edge",
        )
        bottom = vals if bottom is None else bottom + vals
    ax.set_title("Response outcomes per month", fontsize=10)
    ax.set_ylabel("responses/month")
    ax.legend(fontsize=7, ncol=2)

    ax = axes[1, 1]
    month = _monthly(ts, [f"custody_admissions_from_breach.{c}" for c in COHORTS])
    for i, c in enumerate(COHORTS):
        ax.plot(
            month.index,
            month[f"custody_admissions_from_breach.{c}"],
            color=OKABE_ITO[i],
            marker="o",
            ms=3,
            label=c.replace("_", " "),
        )
    ax.set_title("Custody admissions after a breach, by cohort", fontsize=10)
    ax.set_ylabel("admissions/month")
    ax.grid(alpha=0.3, linewidth=0.5)
    ax.legend(fontsize=8)

    ax = axes[2, 0]
    cols = [
        "reoffences_while_tagged",
        "reoffences_while_unmonitored",
        "reoffences_after_order",
    ]
    month = _monthly(ts, cols)
    for i, c in enumerate(cols):
        ax.plot(
            month.index,
            month[c],
            color=OKABE_ITO[i],
            marker="o",
            ms=3,
            label=c.replace("reoffences_", "").replace("_", " "),
        )
    ax.set_title("Offences per month by people followed", fontsize=10)
    ax.set_ylabel("offences/month")
    ax.grid(alpha=0.3, linewidth=0.5)
    ax.legend(fontsize=8)

    ax = axes[2, 1]
    ax.plot(date, ts["probation_caseload"], color=OKABE_ITO[0], label="probation caseload")
    threshold = result.params["probation.caseload_threshold"]
    ax.axhline(threshold, color=OKABE_ITO[0], ls=":", lw=1, label=f"quality falls ({threshold:g})")
    ax.set_ylabel("cases/officer")
    ax2 = ax.twinx()
    ax2.plot(
        date,
        ts["notifications_unanswered"].rolling(28, min_periods=1).sum(),
        color=OKABE_ITO[5],
        label="unanswered (28 days)",
    )
    ax2.set_ylabel("notifications unanswered in 28 days", color=OKABE_ITO[5])
    ax.set_title("Probation caseload; unanswered notifications", fontsize=10)
    ax.grid(alpha=0.3, linewidth=0.5)
    ax.legend(fontsize=8, loc="upper left")
    return _finish(fig, axes, folder, "breaches.png")


FIGURES = {"overview": overview, "breaches": breaches}


def _short(arm: str, reference: str) -> str:
    """An arm's label without the reference's scenario name when they share it."""
    scenario = reference.split("@")[0]
    label = arm[len(scenario) :] if arm.startswith(scenario + "@") else arm
    return label if len(label) <= 48 else label[:45] + "..."


def comparison(table, arms, metrics, *, folder=None, name="compare.png", scale=None,
               interval: str = "95% interval over seeds"):  # fmt: skip
    """Paired differences from the reference arm (first), with 95% intervals, per metric;
    the title says whether counts are England and Wales or a scaled sample."""
    others = arms[1:]
    n = len(metrics)
    cols = 2
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.2 * rows + 1), constrained_layout=True)
    axes = axes.ravel()
    fig.suptitle(
        f"Paired differences from {arms[0]} (mean and {interval})"
        + (f"\n{scale_label(scale)}" if scale is not None else ""),
        fontsize=11,
    )
    for ax, m in zip(axes, metrics, strict=False):
        sub = (
            table[(table["metric"] == m) & (table["arm"].isin(others))]
            .set_index("arm")
            .reindex(others)
        )
        y = range(len(others))
        err = [sub["diff"] - sub["ci_low"], sub["ci_high"] - sub["diff"]]
        ax.barh(
            list(y),
            sub["diff"],
            xerr=err,
            color=[OKABE_ITO[i % 8] for i in y],
            alpha=0.85,
            capsize=3,
        )
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(list(y), [_short(a, arms[0]) for a in others], fontsize=7)
        base = m.split(".")[0]
        unit = BY_NAME[base].unit if base in BY_NAME else ""
        ax.set_title(m.replace("_", " "), fontsize=9)
        ax.set_xlabel(f"difference ({unit.removesuffix('/day')})" if unit else "difference")
        ax.grid(alpha=0.3, linewidth=0.5, axis="x")
    for ax in axes[n:]:
        ax.set_visible(False)
    if folder is not None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        fig.savefig(folder / name, dpi=110, metadata=PNG_META)
        plt.close(fig)
    return fig


def system(result, *, folder=None):
    """The system-wide panel: supplier KPIs over time and costs by payer."""
    ts = result.timeseries
    s = result.summary
    date = ts["date"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), constrained_layout=True, squeeze=False)
    fig.suptitle(
        f"{s['scenario']}: supplier KPIs and costs by payer (seed {s['seed']}); "
        f"{scale_label(s['scale'])}",
        fontsize=11,
    )
    ax = axes[0, 0]
    kpis = [
        ("kpi_two_attempts_on_time_rate", "two attempts in time (KPI)"),
        ("install_within_two_attempts_rate", "fitted within two attempts"),
        ("kpi_check_on_time_rate", "reinstallation in time"),
        ("kpi_removal_on_time_rate", "removal in time"),
        ("kpi_notification_in_window_rate", "notification within 53 h"),
    ]
    for i, (col, label) in enumerate(kpis):
        ax.plot(date, ts[col], color=OKABE_ITO[i], label=label)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share (trailing 28 days)")
    ax.set_title("Supplier KPIs", fontsize=10)
    ax.grid(alpha=0.3, linewidth=0.5)
    ax.legend(fontsize=8, loc="lower left")
    ax = axes[0, 1]
    month = _monthly(
        ts,
        [
            "cost_em_gbp",
            "cost_devices_lost_gbp",
            "cost_probation_gbp",
            "cost_police_gbp",
            "cost_custody_gbp",
        ],
    )
    parts = [
        ("EM service", month["cost_em_gbp"] + month["cost_devices_lost_gbp"]),
        ("probation", month["cost_probation_gbp"]),
        ("police", month["cost_police_gbp"]),
        ("custody", month["cost_custody_gbp"]),
    ]
    bottom = np.zeros(len(month))
    for i, (label, vals) in enumerate(parts):
        ax.bar(
            month.index,
            vals / 1e6,
            width=25,
            bottom=bottom,
            color=OKABE_ITO[i],
            label=label,
            align="edge",
        )
        bottom = bottom + vals.to_numpy() / 1e6
    ax.set_ylabel("GBP million per month")
    ax.set_title("Costs by payer", fontsize=10)
    ax.legend(fontsize=8)
    return _finish(fig, axes, folder, "system.png")


FIGURES["system"] = system


def _band(ax, series_by_seed, scale, colour, what):
    """Median over seeds and the range, per England and Wales."""
    import pandas as pd

    frame = pd.concat(series_by_seed, axis=1) / scale
    ax.fill_between(
        frame.index, frame.min(axis=1), frame.max(axis=1), color=colour, alpha=0.25,
        label=f"{what}, range over {frame.shape[1]} seeds",
    )  # fmt: skip
    ax.plot(frame.index, frame.median(axis=1), color=colour, label=f"{what}, median")
    ax.grid(alpha=0.3, linewidth=0.5)


def bands(table, metrics, *, title: str, scale: float, folder=None, name: str = "bands.png"):
    """Median and 10-90% band over runs of each metric in ``metrics`` (one panel each), from
    a table of ``metric``, ``date``, ``q10``, ``median``, ``q90`` (and ``arm``: one colour
    per arm), already per England and Wales."""
    import pandas as pd

    metrics = [m for m in metrics if m in set(table["metric"])]
    if not metrics:
        raise ValueError("bands: none of the metrics is in the table")
    arms = list(dict.fromkeys(table["arm"])) if "arm" in table else [None]
    fig, axes = _grid(len(metrics), cols=2, size=(6.0, 3.2))
    for ax, metric in zip(axes, metrics, strict=False):
        for i, arm in enumerate(arms):
            t = table[table["metric"] == metric]
            if arm is not None:
                t = t[t["arm"] == arm]
            date = pd.to_datetime(t["date"])
            colour = OKABE_ITO[i % len(OKABE_ITO)]
            label = arm if arm is not None else "median"
            ax.fill_between(date, t["q10"], t["q90"], color=colour, alpha=0.22, lw=0)
            ax.plot(date, t["median"], color=colour, lw=1.3, label=label)
        base = BY_NAME.get(metric.split(".")[0])
        label = base.label.split(" (")[0] if base and "." not in metric else metric
        ax.set_title(label, fontsize=10)
        ax.set_ylabel(base.unit if base else "")
        ax.grid(alpha=0.3, linewidth=0.5)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(mdates.AutoDateLocator()))
    handles, labels = axes[0].get_legend_handles_labels()
    if arms == [None]:
        handles.insert(0, plt.Rectangle((0, 0), 1, 1, color=OKABE_ITO[0], alpha=0.22))
        labels.insert(0, "10-90% of runs")
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 4),
               fontsize=9, frameon=False)  # fmt: skip
    fig.suptitle(f"{title}\n{scale_label(scale, equivalent=True)}", fontsize=11)
    if folder is None:
        return fig
    return _save(fig, folder, name)


def _backlog_panel(ax, series_by_seed, scale, reported, tolerable):
    import pandas as pd

    _band(ax, series_by_seed, scale, OKABE_ITO[0], "model")
    for i, (date, value, label) in enumerate(reported):
        ax.plot([pd.Timestamp(date)], [value], "o", color=OKABE_ITO[5 + i % 2], ms=8, label=label)
    ax.axhline(
        tolerable, color=OKABE_ITO[5], ls="--", lw=1, label=f"HMPPS tolerable level ({tolerable:g})"
    )
    ax.set_ylabel("outstanding visits (England and Wales)")
    ax.legend(fontsize=8)


def backlog_against_reported(
    series_by_seed,
    *,
    scale,
    reported,
    tolerable=TOLERABLE_BACKLOG,
    title="",
    folder=None,
    name="backlog.png",
):
    """Outstanding visits over time (median and range over seeds, per England and Wales)
    against the figures the NAO reports (``reported``: list of (date, value, label))."""
    fig, ax = plt.subplots(figsize=(9, 4.2), constrained_layout=True)
    _backlog_panel(ax, series_by_seed, scale, reported, tolerable)
    ax.set_title(title, fontsize=10)
    return _finish(fig, np.array([[ax]]), folder, name)


def transition_path(
    tagged_by_seed,
    backlog_by_seed,
    *,
    scale,
    published,
    reported,
    tolerable=TOLERABLE_BACKLOG,
    folder=None,
    name="transition_2024_path.png",
):
    """The 2024-2025 path: people tagged against the HMPPS caseload series (``published``:
    a frame of date and total, earlier years shown for context) and outstanding visits
    against the NAO's figures."""
    import pandas as pd

    fig, axes = plt.subplots(2, 1, figsize=(9, 7.5), sharex=False, constrained_layout=True)
    ax = axes[0]
    _band(ax, tagged_by_seed, scale, OKABE_ITO[2], "model (tag fitted)")
    dates = pd.to_datetime(published["date"])
    ax.plot(dates, published["total"], "s", color=OKABE_ITO[7], ms=6,
            label="HMPPS statistics (people monitored or assigned)")  # fmt: skip
    ax.set_ylabel("people tagged (England and Wales)")
    ax.set_title("People tagged: model from May 2024, HMPPS caseload since 2019", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    _backlog_panel(axes[1], backlog_by_seed, scale, reported, tolerable)
    axes[1].set_title("Outstanding field visits through the supplier transition", fontsize=10)
    return _finish(fig, axes.reshape(1, -1), folder, name)


def calibration_marginals(sets, *, ranges: dict, calibrated: dict, path: Path) -> None:
    """Histograms of the accepted parameter sets over each parameter's prior range, with
    the calibrated value (their median)."""
    names = list(ranges)
    cols = 3
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        lo, hi = ranges[name]
        ax.hist(sets[name], bins=15, range=(lo, hi), color="#4c72b0", alpha=0.8)
        ax.axvline(calibrated[name], color="black", lw=1.2, label="calibrated (median)")
        ax.set_xlim(lo, hi)
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"Accepted parameter sets over their prior ranges ({len(sets)} sets)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata=PNG_META)
    plt.close(fig)


def correlation_heatmap(sets, *, path: Path) -> None:
    """Rank correlations between the posterior's parameters."""
    rho = sets.rank().corr()
    n = len(rho)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.6 + 0.5 * n))
    im = ax.imshow(rho.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(n), rho.columns, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n), rho.columns, fontsize=7)
    for i in range(n):
        for j in range(n):
            if i != j:
                ax.text(j, i, f"{rho.iloc[i, j]:.1f}", ha="center", va="center", fontsize=6)
    fig.colorbar(im, ax=ax, shrink=0.8, label="rank correlation")
    ax.set_title(f"Posterior rank correlations ({len(sets)} sets)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata=PNG_META)
    plt.close(fig)


# ---------------------------------------------------------------------------- sweeps
def _grid(n: int, cols: int = 2, size=(5.2, 3.4)):
    cols = min(cols, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False,
        constrained_layout=True,
    )  # fmt: skip
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _save(fig, folder, name: str) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    fig.savefig(path, dpi=110, metadata=PNG_META)
    plt.close(fig)
    return path


def _output_label(column: str) -> str:
    name, _, horizon = column.partition("@")
    name = name.removeprefix("public_protection.").replace("_", " ")
    return f"{name} (first {horizon})" if horizon else name


def _index_bars(table, indices, title, folder, name):
    """Horizontal bars of sensitivity indices with their intervals, one panel per output."""
    outputs = list(dict.fromkeys(table["output"]))
    fig, axes = _grid(len(outputs))
    for ax, out in zip(axes, outputs, strict=False):
        t = table[table["output"] == out]
        y = np.arange(len(t))
        h = 0.8 / len(indices)
        for k, idx in enumerate(indices):
            ax.barh(y + (k - (len(indices) - 1) / 2) * h, t[idx], height=h,
                    xerr=t[f"{idx}_conf"], color=OKABE_ITO[k], label=idx, capsize=2)  # fmt: skip
        ax.set_yticks(y, t["parameter"], fontsize=7)
        ax.invert_yaxis()
        ax.axvline(0, color="black", lw=0.6)
        ax.set_xlabel("index (with 95% interval)")
        ax.set_title(_output_label(out), fontsize=9)
        ax.grid(alpha=0.3, linewidth=0.5, axis="x")
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return _save(fig, folder, name)


def sensitivity(spec, tables: dict, *, folder) -> list[Path]:
    """The figures of a sweep's analysis (:mod:`em_abm.analysis`)."""
    paths = []
    n = f"{spec.name}: {spec.design}, {spec.samples} samples x {spec.replicates} replicates"
    from em_abm.sweep import is_em

    if is_em(getattr(spec, "model", "em_abm")):  # outputs are per England and Wales
        n += f";\n{scale_label(spec.scale, equivalent=True)}"
    if "sobol" in tables:
        paths.append(_index_bars(tables["sobol"], ["S1", "ST"], f"Sobol indices ({n})", folder,
                                 "sobol_indices.png"))  # fmt: skip
        conv = tables["sobol_convergence"]
        outputs = list(dict.fromkeys(conv["output"]))
        fig, axes = _grid(len(outputs))
        for ax, out in zip(axes, outputs, strict=False):
            t = conv[conv["output"] == out]
            for k, (par, g) in enumerate(t.groupby("parameter", sort=False)):
                c = OKABE_ITO[k % len(OKABE_ITO)]
                ax.plot(g["base_samples"], g["ST"], "o-", color=c, ms=3, label=par)
                ax.fill_between(g["base_samples"], g["ST"] - g["ST_conf"],
                                g["ST"] + g["ST_conf"], color=c, alpha=0.15)  # fmt: skip
            ax.set_xscale("log", base=2)
            ax.set_xlabel("base samples N")
            ax.set_ylabel("total index ST")
            ax.set_title(_output_label(out), fontsize=9)
            ax.grid(alpha=0.3, linewidth=0.5)
        axes[0].legend(fontsize=6, ncol=2)
        fig.suptitle(f"Convergence of the total indices ({n})", fontsize=10)
        paths.append(_save(fig, folder, "sobol_convergence.png"))
    if "morris" in tables:
        t_all = tables["morris"]
        outputs = list(dict.fromkeys(t_all["output"]))
        fig, axes = _grid(len(outputs))
        for ax, out in zip(axes, outputs, strict=False):
            t = t_all[t_all["output"] == out]
            ax.errorbar(t["mu_star"], t["sigma"], xerr=t["mu_star_conf"], fmt="o",
                        color=OKABE_ITO[0], ms=4, capsize=2)  # fmt: skip
            for _, r in t.iterrows():
                ax.annotate(r["parameter"], (r["mu_star"], r["sigma"]), fontsize=6,
                            xytext=(3, 3), textcoords="offset points")  # fmt: skip
            ax.set_xlabel("mu* (mean |elementary effect|, 95% interval)")
            ax.set_ylabel("sigma")
            ax.set_title(_output_label(out), fontsize=9)
            ax.grid(alpha=0.3, linewidth=0.5)
        fig.suptitle(f"Morris screening ({n})", fontsize=10)
        paths.append(_save(fig, folder, "morris.png"))
    if "delta" in tables:
        paths.append(_index_bars(tables["delta"], ["delta", "S1"], f"Delta and S1 ({n})",
                                 folder, "delta_indices.png"))  # fmt: skip
    if "main_effects" in tables:
        t_all = tables["main_effects"]
        outputs = list(dict.fromkeys(t_all["output"]))
        params = list(dict.fromkeys(t_all["parameter"]))
        fig, axes = plt.subplots(
            len(outputs), len(params), figsize=(3.6 * len(params), 2.8 * len(outputs)),
            squeeze=False, constrained_layout=True,
        )  # fmt: skip
        for i, out in enumerate(outputs):
            for j, par in enumerate(params):
                ax = axes[i, j]
                t = t_all[(t_all["output"] == out) & (t_all["parameter"] == par)]
                x = np.arange(len(t))
                ax.errorbar(x, t["mean"], yerr=t["ci95"], fmt="o-", color=OKABE_ITO[0],
                            ms=4, capsize=2)  # fmt: skip
                ax.set_xticks(x, [f"{v:g}" if isinstance(v, float) else str(v)
                                  for v in t["level"]], fontsize=7, rotation=20)  # fmt: skip
                ax.grid(alpha=0.3, linewidth=0.5)
                if i == len(outputs) - 1:
                    ax.set_xlabel(par, fontsize=8)
                if j == 0:
                    ax.set_ylabel(_output_label(out), fontsize=7)
        fig.suptitle(f"Main effects: mean and 95% interval ({n})", fontsize=10)
        paths.append(_save(fig, folder, "main_effects.png"))
    return paths


# ---------------------------------------------------------------------------- experiments
def _line_styles(n: int):
    styles = ["-", "--", ":", "-."]
    return [(OKABE_ITO[i % len(OKABE_ITO)], styles[(i // len(OKABE_ITO)) % len(styles)])
            for i in range(n)]  # fmt: skip


def lines_by_level(
    table, *, x: str, x_order, group: str, outputs, value: str, low: str, high: str,
    labels: dict, xlabel: str, title: str, folder, name: str, zero_line: bool = False,
) -> Path:  # fmt: skip
    """One panel per output: ``value`` against the levels of ``x``, one line per ``group``
    with a band from ``low`` to ``high``."""
    fig, axes = _grid(len(outputs), cols=3, size=(4.6, 3.4))
    groups = list(dict.fromkeys(table[group]))
    styles = _line_styles(len(groups))
    pos = {v: i for i, v in enumerate(x_order)}
    for ax, out in zip(axes, outputs, strict=False):
        t = table[table["output"] == out]
        for (colour, ls), g in zip(styles, groups, strict=True):
            d = t[t[group] == g].sort_values(x, key=lambda s: s.map(pos))
            xs = d[x].map(pos).to_numpy()
            ax.plot(xs, d[value], ls=ls, color=colour, marker="o", ms=3, lw=1.2, label=g)
            ax.fill_between(xs, d[low], d[high], color=colour, alpha=0.12, lw=0)
        if zero_line:
            ax.axhline(0, color="black", lw=0.7)
        ax.set_xticks(range(len(x_order)), list(x_order), fontsize=8)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_title(labels.get(out, out), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3, linewidth=0.5)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=min(4, len(groups)), fontsize=7)
    fig.suptitle(title, fontsize=10)
    return _save(fig, folder, name)


def winner_map(frame, *, x: str, y: str, label: str, tree=None, features=(), title: str,
               folder, name: str) -> Path:  # fmt: skip
    """Scenario discovery: the winner of each sampled condition on the two factors that
    matter most, and the decision tree that describes where each strategy wins."""
    from sklearn.tree import plot_tree

    fig, axes = plt.subplots(1, 2, figsize=(14, 5.6), constrained_layout=True,
                             gridspec_kw={"width_ratios": [1, 1.6]})  # fmt: skip
    ax = axes[0]
    winners = sorted(frame[label].unique())
    markers = "osD^vP*X"
    for i, w in enumerate(winners):
        d = frame[frame[label] == w]
        ax.scatter(d[x], d[y], s=28, color=OKABE_ITO[i % len(OKABE_ITO)],
                   marker=markers[i % len(markers)], label=f"{w} ({len(d)})")  # fmt: skip
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title("Best strategy in each sampled condition", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, linewidth=0.5)
    if tree is not None:
        classes = [str(c) for c in tree.classes_]
        plot_tree(tree, feature_names=list(features), class_names=classes, filled=False,
                  impurity=False, proportion=True, fontsize=6, ax=axes[1])  # fmt: skip
        axes[1].set_title("Where each strategy wins (decision tree, depth <= 3)", fontsize=9)
    else:
        axes[1].set_visible(False)
    fig.suptitle(title, fontsize=10)
    return _save(fig, folder, name)


def probability_best(table, *, x: str, x_order, group: str, title: str, folder,
                     name: str) -> Path:  # fmt: skip
    """Stacked bars: at each level of ``x``, each ``group``'s probability of being best
    (``p_best``; the levels' probabilities sum to one). Groups that are never best are left
    out of the legend."""
    fig, ax = plt.subplots(figsize=(8.5, 4.4), constrained_layout=True)
    groups = [
        g for g in dict.fromkeys(table[group]) if table[table[group] == g]["p_best"].max() > 0
    ]
    styles = _line_styles(len(groups))
    bottom = np.zeros(len(x_order))
    for (colour, ls), g in zip(styles, groups, strict=True):
        t = table[table[group] == g].set_index(x)["p_best"].reindex(x_order).fillna(0.0)
        ax.bar(range(len(x_order)), t.to_numpy(), bottom=bottom, color=colour, label=g,
               edgecolor="white", hatch="//" if ls != "-" else None, linewidth=0.5)  # fmt: skip
        bottom += t.to_numpy()
    ax.set_xticks(range(len(x_order)), list(x_order))
    ax.set_xlabel("capacity below plan (field, probation, police)")
    ax.set_ylabel("probability of being best")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, linewidth=0.5, axis="y")
    return _save(fig, folder, name)


def reversal(frame, *, x: str, ys: list[str], labels: list[str], title: str, folder,
             name: str) -> Path:  # fmt: skip
    """Paired differences of each sampled condition against one input, with a fitted line
    and the zero line (below zero: the first strategy is better)."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2), constrained_layout=True)
    for i, (col, label) in enumerate(zip(ys, labels, strict=True)):
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        ax.scatter(frame[x], frame[col], s=22, color=colour, label=label)
        if len(frame) > 1:
            slope, icpt = np.polyfit(frame[x], frame[col], 1)
            xs = np.linspace(frame[x].min(), frame[x].max(), 20)
            ax.plot(xs, icpt + slope * xs, color=colour, lw=1, ls="--")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel(f"{x} (the high-risk tag effect as a multiple of the medium-risk one)")
    ax.set_ylabel("difference in offences per 100")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, lw=0.5)
    return _save(fig, folder, name)
