"""Command line: ``em-abm run | compare | sweep | analyze | experiment | targets | calibrate |
scenarios | params``.

User mistakes end with one line on stderr (``em-abm: error: <field>: <what is allowed>``) and
exit status 2, before anything is written.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import math
import sys
from pathlib import Path

from em_abm import limits
from em_abm.errors import UserError
from em_abm.files import read_toml

EXIT_USER_ERROR = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell tool killed by a closed pipe returns
EXIT_TERMINATED = 143  # 128 + SIGTERM


def _one_line(text: str) -> str:
    """A message kept to one line: line breaks in it (a path with a newline) shown escaped."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse would print the usage too)
        raise UserError(message)


def _number(text: str, ok, allowed: str) -> float:
    """``text`` as a number that ``ok`` accepts (argparse puts the option's name in front of
    the message)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not ok(value):
        raise argparse.ArgumentTypeError(f"got {text!r}; allowed: {allowed}")
    return value


def _years(text: str) -> float:
    return _number(text, limits.years_ok, limits.YEARS_ALLOWED)


def _scale(text: str) -> float:
    return _number(text, limits.scale_ok, limits.SCALE_ALLOWED)


def _integer(low: int, high: int | None = None, *, also: int | None = None, allowed: str = ""):
    """An argparse type: an integer in [low, high] (or equal to ``also``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        in_range = value is not None and low <= value and (high is None or value <= high)
        if not (in_range or (value is not None and value == also)):
            default = f"an integer of at least {low}" if high is None else f"{low} to {high}"
            raise argparse.ArgumentTypeError(f"got {text!r}; allowed: {allowed or default}")
        return value

    return parse


_seed = _integer(0, 2**63 - 1, allowed="a non-negative integer below 2**63")
# Upper bounds keep a mistyped number from asking for more memory than a machine has.
MAX_JOBS, MAX_SEEDS = limits.MAX_JOBS, limits.MAX_SEEDS
_jobs_arg = _integer(1, MAX_JOBS, also=-1,
                     allowed=f"1 to {MAX_JOBS}, or -1 for all cores")  # fmt: skip
_JOBS_HELP = "parallel processes (default -1: all cores)"


def _add_run_options(p: argparse.ArgumentParser, *, scale: float, out: str | None) -> None:
    """Options shared by the commands that run the model and write a folder."""
    p.add_argument("--years", type=_years, default=3.0, help="simulated years (default 3)")
    p.add_argument(
        "--scale",
        type=_scale,
        default=scale,
        help=f"population and capacities multiplied by this (default {scale:g}; 1 = England "
        "and Wales)",
    )
    p.add_argument(
        "--out", default=out, help=f"output folder (default {out or 'results/<scenario>'})"
    )
    p.add_argument("--force", action="store_true", help="replace the output folder's contents")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_model_option(p: argparse.ArgumentParser, what: str = "") -> None:
    p.add_argument("--model", default=None, metavar="MODULE:CLASS",
                   help="an EMModel or Component subclass by import path, e.g. "
                   f"mypkg.models:MyModel {what}(also found in the current folder)")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(
        prog="em-abm",
        description="Agent-based model of electronic monitoring in England and Wales.",
    )
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run one scenario and write its results")
    r.add_argument(
        "scenario",
        nargs="?",
        default="baseline_2026",
        help="packaged scenario name or path to a TOML file (default: baseline_2026)",
    )
    r.add_argument("--seed", type=_seed, default=None, help="random seed (default 1)")
    _add_run_options(r, scale=1.0, out=None)
    r.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        dest="overrides",
        help="override a parameter from the start, e.g. --set field.officers=300 (repeatable)",
    )
    r.add_argument("--no-figures", action="store_true", help="skip figures")
    r.add_argument("--seeds", type=_integer(1, MAX_SEEDS), default=None, metavar="K",
                   help="run K seeds (spawned from --root-seed) and write a long table of "
                   "every run's series with a band figure, instead of one run")  # fmt: skip
    r.add_argument("--root-seed", type=_seed, default=None,
                   help="root of the seed sequence with --seeds (default 0)")  # fmt: skip
    r.add_argument("--jobs", type=_jobs_arg, default=None, help=_JOBS_HELP + " (with --seeds)")
    _add_model_option(r)

    c = sub.add_parser("compare", help="compare scenarios or policies over paired seeds")
    c.add_argument(
        "arms",
        nargs="+",
        metavar="ARM",
        help="SCENARIO or SCENARIO@NAME=VALUE,NAME=VALUE; the first is the reference",
    )
    c.add_argument("--seeds", type=_integer(2, MAX_SEEDS), default=5,
                   help="paired seeds per arm (default 5)")  # fmt: skip
    c.add_argument(
        "--root-seed", type=_seed, default=0, help="root of the seed sequence (default 0)"
    )
    c.add_argument("--jobs", type=_jobs_arg, default=-1, help=_JOBS_HELP)
    _add_run_options(c, scale=0.1, out="results/compare")
    _add_model_option(c)

    w = sub.add_parser("sweep", help="run a parameter sweep from a spec (resumable)")
    w.add_argument("spec", help="sweep spec (TOML); see em_abm/sweep.py and experiments/")
    w.add_argument("--out", required=True, help="results folder (re-run to resume)")
    w.add_argument("--jobs", type=_jobs_arg, default=-1, help=_JOBS_HELP)
    w.add_argument("--backend", choices=("loky", "dask"), default="loky",
                   help="loky: processes on this machine; dask: a distributed cluster")  # fmt: skip
    w.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="dask scheduler address (default: start a local cluster)")  # fmt: skip
    w.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    w.add_argument("--no-progress", action="store_true", help="no progress bar")
    w.add_argument("--analyze", action="store_true", help="analyze when the sweep is done")
    w.add_argument("--posterior", type=_integer(1, 100_000), default=None, metavar="K",
                   help="run over K calibrated parameter sets (calibration/fitted/"
                   "posterior.parquet): replicate r uses set r mod K; replicates are raised to "
                   "K if fewer")  # fmt: skip
    _add_model_option(w, what="instead of the spec's model")

    a = sub.add_parser("analyze", help="sensitivity indices and figures of a finished sweep")
    a.add_argument("folder", help="a sweep's --out folder")
    a.add_argument(
        "--resamples",
        type=_integer(10, 100_000),
        default=1000,
        help="bootstrap resamples (1000; at most 100,000)",
    )

    e = sub.add_parser("experiment", help="run a named experiment (experiments/)")
    e.add_argument("name", help="experiment name; `em-abm experiment list` lists them")
    e.add_argument("--quick", action="store_true", help="a small version (under a minute)")
    e.add_argument("--jobs", type=_jobs_arg, default=-1, help=_JOBS_HELP)
    e.add_argument("--out", default=None, help="results folder (default results/NAME)")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    e.add_argument("--posterior", type=_integer(1, 100_000), default=None, metavar="K",
                   help="run every sweep over K calibrated parameter sets (default folder "
                   "results/NAME-posteriorK)")  # fmt: skip
    _add_model_option(e, what="in every sweep (default folder results/NAME-CLASS) ")

    pp = sub.add_parser("paper", help="rebuild the paper: ODD, experiments, figures, numbers, PDF")
    pp.add_argument("--quick", action="store_true", help="from the quick experiments (minutes)")
    pp.add_argument("--odd", action="store_true", help="only render paper/ODD.md")
    pp.add_argument("--jobs", type=_jobs_arg, default=-1, help=_JOBS_HELP)
    pp.add_argument("--no-progress", action="store_true", help="no progress bar")

    d = sub.add_parser("dashboard", help="explore a scenario and its policies in the browser")
    d.add_argument(
        "scenario",
        nargs="?",
        default="baseline_2026",
        help="packaged scenario name or path to a scenario TOML (default baseline_2026)",
    )
    d.add_argument(
        "--port", type=_integer(1, 65535), default=8765, help="port on localhost (default 8765)"
    )
    d.add_argument("--host", default="localhost", help="address to listen on (default localhost)")

    v = sub.add_parser("validate", help="check a scenario or sweep spec without running it")
    v.add_argument("path", help="scenario name or TOML file, or a sweep spec (TOML)")

    t = sub.add_parser("targets", help="evaluate the model against calibration targets and checks")
    t.add_argument("--file", default=None, help="targets file (default calibration/targets.toml)")
    t.add_argument("--seeds", type=_integer(1, MAX_SEEDS), default=3, help="seeds (default 3)")
    t.add_argument(
        "--root-seed", type=_seed, default=0, help="root of the seed sequence (default 0)"
    )
    t.add_argument("--scale", type=_scale, default=0.25, help="scale of the runs (default 0.25)")
    t.add_argument("--jobs", type=_jobs_arg, default=-1, help=_JOBS_HELP)
    t.add_argument("--out", default=None, help="write the table here as Markdown (and .csv)")

    k = sub.add_parser(
        "calibrate", help="calibrate free parameters to the targets (history matching)"
    )
    k.add_argument("--config", default=None, help="calibration file (default calibration/"
                   "calibrate.toml)")  # fmt: skip
    k.add_argument("--quick", action="store_true", help="the file's [quick] size (minutes)")
    k.add_argument("--jobs", type=_jobs_arg, default=-1, help=_JOBS_HELP)
    k.add_argument("--backend", choices=("loky", "dask"), default="loky",
                   help="loky: processes on this machine; dask: a distributed cluster (--jobs: "
                   "its workers)")  # fmt: skip
    k.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="dask scheduler address (default: start a local cluster)")  # fmt: skip
    k.add_argument("--restart", action="store_true", help="discard stored evaluations")
    k.add_argument(
        "--report",
        action="store_true",
        help="only write the report and its figures from the fitted sets (the file's "
        "report, calibration/report.md by default; with --quick, calibration/runs/<name>/"
        "report.md)",
    )
    k.add_argument("--no-progress", action="store_true", help="no progress bar")

    s = sub.add_parser("scenarios", help="list packaged scenarios")
    s.add_argument("--verbose", "-v", action="store_true", help="show descriptions")

    mt = sub.add_parser("metrics", help="print the metrics: name, kind, unit, description")
    mt.add_argument("--format", choices=("text", "csv"), default="text",
                    help="text (default) or csv")  # fmt: skip

    p = sub.add_parser("params", help="print the parameter table")
    p.add_argument("--format", choices=("text", "markdown", "csv"), default="text")
    return ap


def cmd_run(args) -> int:
    from em_abm import extension, files
    from em_abm import scenario as sc
    from em_abm.results import check_out_dir, run_model

    scen = sc.load(args.scenario).with_overrides(
        sc.parse_assignments(args.overrides), where="--set "
    )
    extension.resolve(args.model, where="--model")
    if args.seeds is not None:
        if args.seed is not None:
            raise UserError("--seed: with --seeds K the seeds are spawned from --root-seed; "
                            "allowed: --root-seed N")  # fmt: skip
        return _run_seeds(args, scen)
    for option, value in (("--root-seed", args.root_seed), ("--jobs", args.jobs)):
        if value is not None:
            raise UserError(f"{option}: only with --seeds K; allowed: --seed N for one run")
    out = Path(args.out) if args.out else Path("results") / scen.name
    # Checked, and locked against a second writer, before the run; checked again on saving.
    with files.locked(check_out_dir(out, force=args.force, figures=not args.no_figures)):
        result = run_model(
            scen, seed=1 if args.seed is None else args.seed, years=args.years,
            scale=args.scale, progress=not args.no_progress, model=args.model,
        )  # fmt: skip
        result.save(out, force=args.force, figures=not args.no_figures)
    print(format_summary(result.summary))
    print(
        f"\nwrote {out}/ (timeseries.parquet, summary.json, summary_flat.json, metadata.json"
        f"{', figures/' if not args.no_figures else ''}) in "
        f"{result.metadata['wall_time_s']:.1f} s of simulation"
    )
    return 0


def _run_seeds(args, scen) -> int:
    """``run --seeds K``: K seeds, a long table and the band figure."""
    from em_abm import files
    from em_abm.multi import many_files, run_many

    out = Path(args.out) if args.out else Path("results") / f"{scen.name}-seeds{args.seeds}"
    writes = many_files(not args.no_figures)
    with files.locked(files.check_out_dir(out, force=args.force, kind="runs", writes=writes)):
        many = run_many(scen, seeds=args.seeds, root_seed=args.root_seed or 0, years=args.years,
                        scale=args.scale, model=args.model, jobs=_jobs(args.jobs or -1),
                        progress=not args.no_progress)  # fmt: skip
        many.save(out, force=args.force, figures=not args.no_figures)
    print(f"counts: {many.counts} (the band figure and bands.csv: per England and Wales)")
    cols = [c for c in ("tagged", "outstanding_visits", "followup_offences_per_100",
                        "public_protection.unmonitored_person_days") if c in many.runs]  # fmt: skip
    print(many.runs[cols].describe(percentiles=[0.1, 0.5, 0.9]).loc[
        ["mean", "10%", "50%", "90%"]].to_string(float_format=lambda v: f"{v:,.4g}"))  # fmt: skip
    print(f"\nwrote {out}/ (runs.parquet: run, seed, date, metric, value; summary.csv; "
          f"bands.csv; metadata.json{'; figures/bands.png' if not args.no_figures else ''}) "
          f"in {many.metadata['wall_time_s']:.1f} s")  # fmt: skip
    return 0


def format_summary(summary: dict) -> str:
    from em_abm.metrics import BY_NAME, scale_label

    lines = [
        f"{'scenario':34s} {summary['scenario']}  (seed {summary['seed']}, "
        f"{summary['years']:g} years from {summary['start']})",
        f"{'counts':34s} {scale_label(summary['scale'])}",
    ]
    for name, value in summary.items():
        if name not in BY_NAME:
            continue
        m = BY_NAME[name]
        unit = m.unit.removesuffix("/day") if m.kind == "flow" else m.unit  # summary: run totals
        if isinstance(value, dict):
            fmt = "{:.3f}" if unit == "share" else "{:,.0f}"
            parts = ", ".join(f"{k} {fmt.format(v)}" for k, v in value.items())
            lines.append(f"{name:34s} {parts}")
        elif unit == "share":
            lines.append(f"{name:34s} {value:.3f}")
        else:
            lines.append(f"{name:34s} {value:,.1f} {unit}")
    return "\n".join(lines)


def cmd_compare(args) -> int:
    from em_abm.compare import compare, format_table

    table = compare(
        args.arms,
        seeds=args.seeds,
        years=args.years,
        scale=args.scale,
        out=args.out,
        root_seed=args.root_seed,
        jobs=args.jobs,
        force=args.force,
        progress=not args.no_progress,
        model=args.model,
    )
    from em_abm.metrics import scale_label

    print(f"counts: {scale_label(args.scale)}")
    print(format_table(table))
    print(f"\nwrote {args.out}/ (runs.csv, compare.csv, bands.csv, metadata.json, "
          "figures/compare.png, figures/bands.png)")  # fmt: skip
    return 0


def cmd_targets(args) -> int:
    from em_abm import files
    from em_abm import targets as tg

    rows = tg.load(args.file or tg.DEFAULT_FILE)
    out = _targets_out(args.out) if args.out else None
    with files.locked(out) if out else contextlib.nullcontext():
        return _targets(args, rows, out)


def _targets(args, rows, out: Path | None) -> int:
    from em_abm import targets as tg
    from em_abm.compare import seeds_for

    table = tg.evaluate(
        rows, seeds=seeds_for(args.root_seed, args.seeds), scale=args.scale, jobs=args.jobs
    )
    text = tg.to_markdown(table, seeds=args.seeds, scale=args.scale)
    print(text)
    if out:
        from em_abm.results import write_atomic, write_text_atomic

        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(out.with_suffix(".csv"), lambda p: table.to_csv(p, index=False))
            write_text_atomic(out, text + "\n")
        except OSError as e:
            from em_abm.files import as_io_failure

            raise as_io_failure(e, out) from None
        print(f"wrote {out} and {out.with_suffix('.csv')}")
    failed = int((~table["pass"]).sum())
    print(f"{len(table) - failed} of {len(table)} within tolerance")
    return 0


def _targets_out(text: str) -> Path:
    """``targets --out``: a Markdown file whose .csv twin is written beside it; checked
    before the runs."""
    from em_abm import files

    allowed = "a Markdown file name such as results/targets.md (its .csv goes beside it)"
    if Path(text).suffix.lower() == ".csv" or not Path(text).name or text.endswith("/"):
        raise UserError(f"--out: got {text!r}; allowed: {allowed}")
    out = files.resolve_out(text)
    # What em-abm targets writes begins so; any other file of the same name is the user's.
    signature = {out: "Model: median and 90% interval", out.with_suffix(".csv"): "name,role,"}
    for path, first in signature.items():
        if path.is_dir():
            raise UserError(f"--out: {path} is a folder; allowed: {allowed}")
        if path.exists() and not files.read_bytes(path, "targets table").startswith(first.encode()):
            raise UserError(
                f"--out: {path} exists and was not written by em-abm targets; allowed: a new "
                "file name (em-abm never replaces a file it did not write)"
            )
    files.check_writable(out, "--out")
    return out


def cmd_calibrate(args) -> int:
    from em_abm import calibration as cal
    from em_abm import sweep as S

    S.check_backend(args.backend, args.scheduler)
    cfg = cal.load_config(args.config or cal.DEFAULT_CONFIG, quick=args.quick)
    with S.pool(args.backend, _jobs(args.jobs), args.scheduler):
        return _calibrate(cal, cfg, args)


def _calibrate(cal, cfg, args) -> int:
    if args.report:
        if args.quick:
            folder = cal.RUNS_DIR / cfg.name / "fitted"
            out = cal.RUNS_DIR / cfg.name / "report.md"
        else:
            folder, out = cal.FITTED_DIR, cal.ROOT / "calibration" / cfg.report
        text = cal.report(cfg, folder=folder, out=out, jobs=args.jobs)
        print(text)
        print(f"wrote {out} and {out.parent / 'figures'}/")
        return 0
    result = cal.run(cfg, jobs=args.jobs, restart=args.restart, progress=not args.no_progress)
    table = cal.summary_table(result)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    n, total = len(result.accepted), len(result.evaluations)
    if cfg.abc_points:
        print(f"\nposterior: {n} of {len(result.abc)} ABC sets within every tolerance "
              f"({total} sets evaluated in all)")  # fmt: skip
    else:
        print(f"\n{n} of {total} parameter sets within every target's tolerance")
    folder = cal.RUNS_DIR / cfg.name / "fitted" if args.quick else cal.FITTED_DIR
    written = cal.write_fitted(result, folder)
    if not written:
        print("no set accepted: widen the priors, add waves or points", file=sys.stderr)
        return 1
    print("wrote " + ", ".join(str(p.relative_to(cal.ROOT)) for p in written))
    return 0


def _jobs(n: int) -> int:
    """``--jobs`` as a number of workers (-1: every core)."""
    import os

    return (os.cpu_count() or 1) if n == -1 else n


def cmd_sweep(args) -> int:
    from em_abm import sweep as S

    spec = S.load_spec(args.spec)
    if args.model:
        import dataclasses

        from em_abm.extension import check_em_model

        check_em_model(args.model, where="--model")
        if not S.is_em(spec.model):
            raise UserError(f"--model: the spec's model is {spec.model!r}; allowed: only with a "
                            "spec of em-abm's model")  # fmt: skip
        spec = dataclasses.replace(spec, model=args.model)
    if args.posterior:
        spec = S.with_posterior(spec, args.posterior, where="--posterior")
    try:
        summary = S.sweep(
            spec, args.out, jobs=_jobs(args.jobs), backend=args.backend,
            scheduler=args.scheduler, progress=not args.no_progress,
            retry_failed=args.retry_failed,
        )  # fmt: skip
    except KeyboardInterrupt:
        print(f"em-abm: interrupted; finished runs are in {args.out}: run the same command "
              "again to continue", file=sys.stderr)  # fmt: skip
        return 130
    print(summary.line())
    if summary.failed:
        print(f"{summary.failed} runs failed: see the error column of {args.out}/results.parquet",
              file=sys.stderr)  # fmt: skip
    status = 1 if summary.failed else 0  # the exit status says whether every run succeeded
    if args.analyze:
        try:
            status = max(status, cmd_analyze(argparse.Namespace(folder=args.out, resamples=1000)))
        except UserError as e:  # an analysis that failed runs make impossible: still status 1
            if not summary.failed:
                raise
            print(f"em-abm: error: {e}", file=sys.stderr)
    return status


def cmd_analyze(args) -> int:
    from em_abm import analysis

    tables = analysis.analyze(args.folder, num_resamples=args.resamples)
    out = Path(args.folder) / "analysis"
    for name, table in tables.items():
        print(f"{name}:\n{table.to_string(index=False, float_format=lambda x: f'{x:.3g}')}\n")
    print(f"wrote {out}/ ({', '.join(f'{n}.csv' for n in tables)}) and {out}/figures/")
    return 0


def cmd_experiment(args) -> int:
    from em_abm import experiments

    if args.name == "list":
        for name, doc in experiments.available().items():
            print(f"{name:34s} {doc}")
        return 0
    if args.model:
        from em_abm.extension import check_em_model

        check_em_model(args.model, where="--model")  # named as the command line names it
    experiments.run(args.name, quick=args.quick, jobs=_jobs(args.jobs), out=args.out,
                    progress=not args.no_progress, posterior=args.posterior,
                    model=args.model)  # fmt: skip
    return 0


def cmd_paper(args) -> int:
    from em_abm import paper
    from em_abm.odd import write_odd

    if args.odd:
        print(f"wrote {write_odd(paper.PAPER_DIR / 'ODD.md')}")
        return 0
    paper.build(quick=args.quick, jobs=_jobs(args.jobs), progress=not args.no_progress)
    return 0


def cmd_dashboard(args) -> int:
    """Check the scenario as `em-abm run` does, then serve em_abm/viz/app.py with Solara, its
    telemetry, version check and CDN off (em_abm/viz/offline.py). The page has no login, so
    an address other than loopback gets a warning."""
    import ipaddress
    import os
    import subprocess

    from em_abm import scenario as sc
    from em_abm.viz import offline

    scenario = sc.load(args.scenario)  # the same one-line error as `em-abm run`
    import socket

    hosts = "allowed: localhost, 0.0.0.0 or an address of this machine"
    try:
        family = socket.getaddrinfo(args.host, args.port)[0][0]  # IPv6 for ::1
    except OSError:
        raise UserError(f"--host: got {args.host!r}; {hosts}") from None
    with socket.socket(family) as s:
        try:
            s.bind((args.host, args.port))
        except OSError as e:
            if e.errno == errno.EADDRNOTAVAIL:
                raise UserError(f"--host: got {args.host!r}, not this machine's; {hosts}") from None
            raise UserError(
                f"--port: {args.host}:{args.port} cannot be used ({e.strerror}); allowed: a free "
                "port, e.g. --port 8766"
            ) from None
    try:
        ip = ipaddress.ip_address(args.host)
    except ValueError:  # a host name
        ip = None
    if args.host != "localhost" and not (ip and ip.is_loopback):
        reach = "any address of this machine" if ip and ip.is_unspecified else args.host
        print(f"warning: --host {args.host}: the dashboard has no authentication; anyone who can "
              f"reach {reach} on port {args.port} can use it", file=sys.stderr)  # fmt: skip
    name = args.scenario if args.scenario in sc.available() else str(Path(args.scenario).resolve())
    app = Path(__file__).resolve().parent / "viz" / "app.py"
    url = f"http://{f'[{args.host}]' if ip and ip.version == 6 else args.host}:{args.port}"
    print(f"em-abm dashboard: {scenario.name} at {url} (Ctrl-C stops)")
    # Each browser session has its own runs (hundreds of MB at scale 1): dropped when its page
    # closes, or 10 minutes after its connection is lost (Solara's default is 24 hours).
    env = {**os.environ, **offline.ENV, "EM_ABM_SCENARIO": name,
           "SOLARA_KERNEL_CULL_TIMEOUT": "10m"}  # fmt: skip
    cmd = [sys.executable, "-m", "solara", "run", str(app), "--port", str(args.port),
           "--host", args.host, *offline.RUN_FLAGS]  # fmt: skip
    return subprocess.call(cmd, env=env)


def cmd_validate(args) -> int:

    from em_abm import scenario as sc
    from em_abm import sweep as S

    path = Path(args.path)
    data = None
    if path.is_file() and args.path not in sc.available():
        data = read_toml(path, "scenario or sweep spec")
    if data is not None and ("vary" in data or "outputs" in data or "design" in data):
        spec = S.load_spec(path)
        runs = len(S.run_table(spec))
        print(f"ok: sweep spec {spec.name!r}: {spec.design} design, {runs} runs of "
              f"{spec.years:g} year(s) at scale {spec.scale:g} on {spec.scenario}")  # fmt: skip
        return 0
    from em_abm.params import PARAMS

    scen = sc.load(args.path)
    own = sum(v != PARAMS[k].default for k, v in scen.params.items())
    print(f"ok: scenario {scen.name!r} from {scen.start}: {own} parameters differ from the "
          f"defaults, {len(scen.changes)} dated changes")  # fmt: skip
    return 0


def cmd_scenarios(args) -> int:
    from em_abm import scenario as sc

    for name, path in sc.available().items():
        s = sc.load(path)
        line = f"{name:24s} from {s.start.isoformat()}, {len(s.changes)} dated change(s)"
        print(line)
        if args.verbose and s.description:
            print("    " + s.description.replace("\n", "\n    "))
    return 0


def cmd_metrics(args) -> int:
    """Every declared metric: its time-series name (with its keys, for per-cohort ones), its
    name in a run's summary, kind, unit and description."""
    import pandas as pd

    from em_abm.metrics import METRICS, keys_of

    rows = [{"metric": m.name + (f".<{m.by}>" if m.by else ""), "kind": m.kind, "unit": m.unit,
             "summary": m.summary_name or m.name, "keys": " ".join(keys_of(m)) if m.by else "",
             "description": m.label} for m in METRICS]  # fmt: skip
    table = pd.DataFrame(rows)
    if args.format == "csv":
        sys.stdout.write(table.to_csv(index=False))
    else:
        for r in table.itertuples():
            print(f"{r.metric:52s} {r.kind:9s} {r.unit:18s} {r.description}")
    return 0


def cmd_params(args) -> int:
    from em_abm.params import ParamTable

    sys.stdout.write(ParamTable().render(args.format))
    return 0


class Terminated(BaseException):
    """SIGTERM, raised where the process is, so that cleanup (temporary folders) runs."""


_stopped_by: list[str] = []  # "interrupted" or "terminated" once a stop signal has come


def _in_compiler(frame) -> bool:
    """Whether Python is inside numba's compiler (compiling a kernel on its first use)."""
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith(("numba", "llvmlite")):
            return True
        frame = frame.f_back
    return False


def _stop(signum, frame, word: str, exc: type[BaseException]) -> None:
    if _in_compiler(frame):
        # An exception raised in the compiler's callbacks is swallowed there (and leaves the
        # compiler in a broken state): deliver the signal again once compilation is over.
        import os
        import threading

        threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
        return
    _stopped_by.append(word)
    raise exc


def _on_sigterm(signum, frame):
    _stop(signum, frame, "terminated", Terminated)


def _on_sigint(signum, frame):
    _stop(signum, frame, "interrupted", KeyboardInterrupt)


def _source(filename: str) -> str:
    """The package a warning came from, by its file (``.../site-packages/SALib/x.py`` ->
    ``SALib``); empty for em-abm's own code or a file outside any installed package."""
    parts = Path(filename).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts and parts.index(marker) + 1 < len(parts):
            return Path(parts[parts.index(marker) + 1]).stem.split("-")[0]
    return ""


def _one_line_warnings() -> None:
    """Every warning is printed as one line, ``em-abm: warning: ...``: em-abm's own (a
    :class:`~em_abm.errors.ProjectWarning`, such as a scenario window's) once, in its words;
    a library's (SALib's, numpy's) with the library's name instead of its file and line."""
    import warnings

    from em_abm.errors import ProjectWarning

    def show(message, category, filename, lineno, file=None, line=None):
        text = _one_line(str(message))
        if not issubclass(category, ProjectWarning):
            source = _source(str(filename))
            text = f"{source + ': ' if source else ''}{text} ({category.__name__})"
        print(f"em-abm: warning: {text}", file=file or sys.stderr)

    if not getattr(warnings.showwarning, "_em_abm", False):  # once, however often main runs
        show._em_abm = True
        warnings.showwarning = show
    warnings.filterwarnings("once", category=ProjectWarning)


def main(argv: list[str] | None = None) -> int:
    import signal
    import threading

    _stopped_by.clear()
    if sys.stdout is None:  # started with stdout closed (`em-abm params >&-`)
        import os

        sys.stdout = open(os.devnull, "w")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
        # A process started in the background inherits SIGINT ignored; `kill -INT` should
        # still stop a run cleanly.
        signal.signal(signal.SIGINT, _on_sigint)
    _one_line_warnings()
    try:
        args = build_parser().parse_args(argv)
        handler = {
            "run": cmd_run,
            "compare": cmd_compare,
            "sweep": cmd_sweep,
            "analyze": cmd_analyze,
            "experiment": cmd_experiment,
            "validate": cmd_validate,
            "paper": cmd_paper,
            "dashboard": cmd_dashboard,
            "targets": cmd_targets,
            "calibrate": cmd_calibrate,
            "scenarios": cmd_scenarios,
            "params": cmd_params,
            "metrics": cmd_metrics,
        }[args.command]
        return handler(args)
    except UserError as e:
        print(f"em-abm: error: {_one_line(str(e))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:
        # The reader of our output went away (`em-abm run | head`): stop quietly, as shell
        # tools do, and keep Python from complaining again when it flushes stdout at exit.
        import contextlib
        import io
        import os

        with contextlib.suppress(OSError, io.UnsupportedOperation):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as e:  # a full disk, a file too large: not the user's mistake
        from em_abm.files import EXIT_IO, IOFailure, as_io_failure

        if isinstance(e, IOFailure):
            failure = e
        elif e.filename:
            failure = as_io_failure(e, Path(e.filename))
        else:  # no file named: say what failed, not a made-up name
            failure = IOFailure(
                e.errno or 0, f"an input/output operation failed: {e.strerror or e}"
            )
        print(f"em-abm: I/O error: {_one_line(str(failure.strerror))}", file=sys.stderr)
        return EXIT_IO
    except KeyboardInterrupt:
        print("em-abm: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130
    except Terminated:
        print("em-abm: terminated; nothing half-written was kept", file=sys.stderr)
        return EXIT_TERMINATED
    except Exception:
        if not _stopped_by:  # a failure, not a stop
            raise
        # A stop signal whose exception a library swallowed, and whose damage surfaced as
        # another error: still a stop.
        word = _stopped_by[-1]
        print(f"em-abm: {word}; nothing half-written was kept", file=sys.stderr)
        return 130 if word == "interrupted" else EXIT_TERMINATED


if __name__ == "__main__":
    sys.exit(main())
