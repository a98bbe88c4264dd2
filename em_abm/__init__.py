"""em-abm: an agent-based policy model of electronic monitoring in England and Wales.

Quick start::

    import em_abm
    result = em_abm.run("baseline_2026", seed=1, years=3, scale=1.0)
    result.summary["tagged"], result.timeseries.head()
    result.flat()["tagged.court_bail"]     # the summary, flat, under the series' names
    result.long()                          # run, seed, date, metric, value, ... (tidy)
    result.save("out/")                    # units travel in the Parquet file's metadata
"""

from em_abm.errors import UserError
from em_abm.version import __version__


def run(
    scenario="baseline_2026",
    *,
    seed=1,
    years=3.0,
    scale=1.0,
    overrides=None,
    components=None,
    progress=False,
):
    """Run one scenario and return a :class:`em_abm.results.RunResult`. ``components``
    replaces registered components by name (``{"responses": MyResponses}``; see
    ``docs/extending.md``)."""
    from em_abm.results import run_model

    return run_model(
        scenario, seed=seed, years=years, scale=scale, overrides=overrides,
        components=components, progress=progress,
    )  # fmt: skip


__all__ = ["UserError", "__version__", "run"]
