"""Does the ABC stage's emulator screen throw away sets the simulator would accept?

The ABC stage (``em_abm.calibration``) runs only the draws whose emulated figures all lie
within ``ABC_SCREEN_SDS`` emulator errors of their tolerances. This script reruns the
calibration from its store (no model runs: every set is stored), takes the draws the screen
rejected, runs a sample of them as the ABC stage would (their own seeds, the calibration's
scale) and counts how many land within every tolerance: the near misses (the rejected draws
closest to passing) and a uniform sample of all rejected ones.

Usage: ``python scripts/screen_margin.py [--store calibration/runs/baseline] [--near 24]
[--random 24] [--jobs 2]``; prints a table and writes ``calibration/screen_margin.md``. It
needs the store of the first stage's calibration (``make calibrate`` writes it; it is not
committed). The committed report: ``--near 40 --random 60``, about 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from em_abm import calibration as C

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=str(C.RUNS_DIR / "baseline"))
    ap.add_argument("--near", type=int, default=24, help="rejected draws closest to passing")
    ap.add_argument("--random", type=int, default=24, help="rejected draws at random")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "calibration" / "screen_margin.md"))
    args = ap.parse_args()

    cfg = C.load_config()
    seen = {}
    real_stage = C._abc_stage

    def capture(cfg_, targets, names, box, done, store, jobs, base, bar, emu):
        seen.update(targets=targets, names=names, box=box, base=base, emu=emu)
        return real_stage(cfg_, targets, names, box, done, store, jobs, base, bar, emu)

    C._abc_stage = capture
    try:
        cal = C.run(cfg, store=Path(args.store), jobs=1, progress=False)
    finally:
        C._abc_stage = real_stage
    if cal.abc_screened == 0 or "emu" not in seen:
        raise SystemExit(f"{args.store}: no ABC stage stored")
    targets, names, emu = seen["targets"], seen["names"], seen["emu"]
    thetas = C.abc_design(cfg, seen["box"])
    mean = emu.predict(thetas)
    sd = np.sqrt(emu.var)
    # Each draw's largest distance outside a tolerance, in emulator errors (<= sds: passed).
    excess = np.column_stack([C._outside(mean[:, j], t) / sd[j] for j, t in enumerate(targets)])
    worst = excess.max(axis=1)
    rejected = np.flatnonzero(worst > C.ABC_SCREEN_SDS)
    near = rejected[np.argsort(worst[rejected], kind="stable")[: args.near]]
    rng = np.random.default_rng(20261207)
    rest = np.setdiff1d(rejected, near)
    sample = np.sort(rng.choice(rest, size=min(args.random, len(rest)), replace=False))
    rows = {}
    for label, idx in (("near misses", near), ("uniform sample", sample)):
        values = C._evaluate_sets(cfg, seen["base"], names, thetas, list(idx), targets,
                                  args.jobs, scale=cfg.scale,
                                  seeds=lambda i: C.abc_seeds(cfg, i))  # fmt: skip
        imp = C.implausibility(np.array(values), targets).max(axis=1)
        rows[label] = (idx, worst[idx], imp)
    passed = cal.abc_screened
    acc = len(cal.accepted)
    lines = [
        "# The ABC screen's margin",
        "",
        f"Made by `python scripts/screen_margin.py` from `{Path(args.store).name}`'s store. The "
        f"ABC stage drew {len(thetas):,} sets; the screen (no figure more than "
        f"{C.ABC_SCREEN_SDS:g} emulator errors outside its tolerance) passed {passed:,}, of "
        f"which {acc} were accepted ({acc / passed:.1%}), and rejected {len(rejected):,}. A "
        "sample of the rejected draws, run as the ABC stage runs its draws:",
        "",
        "| rejected draws | run | screen distance (emulator errors) | accepted by the "
        "simulator | largest implausibility, median |",
        "|---|---|---|---|---|",
    ]
    for label, (idx, dist, imp) in rows.items():
        lines.append(f"| {label} | {len(idx)} | {dist.min():.2f} to {dist.max():.2f} | "
                     f"{int((imp <= C.ACCEPT).sum())} | {np.median(imp):.1f} |")  # fmt: skip
    from scipy.stats import beta

    def upper(k: int, n: int) -> float:  # one-sided 95% Clopper-Pearson bound
        return 1.0 if k >= n else float(beta.ppf(0.95, k + 1, n - k))

    near_acc = int((rows["near misses"][2] <= C.ACCEPT).sum())
    uni_acc = int((rows["uniform sample"][2] <= C.ACCEPT).sum())
    near_imp = float(np.median(rows["near misses"][2]))
    lines += [
        "",
        f"Among the uniform sample of rejected draws the simulator accepted {uni_acc} of "
        f"{len(sample)}: an acceptance rate below {upper(uni_acc, len(sample)):.1%} (95% upper "
        f"bound), against {acc / passed:.1%} among the draws the screen passed. Over "
        f"{len(rejected):,} rejected draws that bound alone is weak, so the sharper check is "
        f"the near misses, the rejected draws most likely to pass (median largest "
        f"implausibility {near_imp:.1f} against the acceptance bound {C.ACCEPT:g}): the "
        f"simulator accepted {near_acc} of {len(near)} (below "
        f"{upper(near_acc, len(near)):.1%} at 95%).",
        "",
    ]
    text = "\n".join(lines)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
