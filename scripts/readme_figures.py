"""Regenerate the figures the README shows (``docs/*.png``) from the current code.

* ``overview_``, ``breaches_`` and ``system_baseline_2026.png``: ``baseline_2026``, seed 1,
  3 years, full scale;
* the 2024-2025 path is drawn by the calibration report
  (``calibration/figures/transition_2024_path.png``);
* ``compare_sentencing_act_2027.png`` and ``compare_bands_sentencing_act_2027.png``: the
  comparison the README shows, and its arms' bands over the seeds;
* ``bands_baseline_2026.png``: ``em-abm run baseline_2026 --seeds 10`` (3 years, scale
  0.25): median and 10-90% band.

Usage: ``python scripts/readme_figures.py`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from em_abm import plots
from em_abm.results import run_model

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def main() -> None:
    result = run_model("baseline_2026", seed=1, years=3.0, scale=1.0)
    for name, figure in plots.FIGURES.items():
        with tempfile.TemporaryDirectory() as tmp:
            figure(result, folder=tmp)
            (png,) = Path(tmp).glob("*.png")
            shutil.copy(png, DOCS / f"{name}_baseline_2026.png")
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [py, "-m", "em_abm", "compare", "sentencing_act_2027",
             "sentencing_act_2027@policy.response_queue=risk_first",
             "sentencing_act_2027@pilot.tag_at_court_share=0.5",
             "--seeds", "5", "--scale", "0.1", "--years", "3", "--out", tmp, "--force",
             "--no-progress"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        shutil.copy(Path(tmp) / "figures" / "compare.png", DOCS / "compare_sentencing_act_2027.png")
        shutil.copy(Path(tmp) / "figures" / "bands.png",
                    DOCS / "compare_bands_sentencing_act_2027.png")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [py, "-m", "em_abm", "run", "baseline_2026", "--seeds", "10", "--scale", "0.25",
             "--years", "3", "--jobs", "2", "--out", tmp, "--force", "--no-progress"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        shutil.copy(Path(tmp) / "figures" / "bands.png", DOCS / "bands_baseline_2026.png")
    print(f"wrote {DOCS}/*.png")


if __name__ == "__main__":
    main()
