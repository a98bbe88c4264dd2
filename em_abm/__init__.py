"""em-abm: an agent-based policy model of electronic monitoring in England and Wales.

Quick start::

    import em_abm
    result = em_abm.run("baseline_2026", seed=1, years=3, scale=1.0)
    result.summary["tagged"], result.timeseries.head()
    result.flat()["tagged.court_bail"]     # the summary, flat, under the series' names
    result.long()                          # run, seed, date, metric, value, ... (tidy)
    result.save("out/")                    # units travel in the Parquet file's metadata
    many = em_abm.run_many("baseline_2026", seeds=10, years=3, scale=0.25, jobs=2)
    many.long, many.bands(), many.plot()   # every seed's series; median and 10-90% bands
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
    model=None,
):
    """Run one scenario and return a :class:`em_abm.results.RunResult`. ``components``
    replaces registered components by name (``{"responses": MyResponses}``); ``model`` is
    an ``EMModel`` or ``Component`` subclass, or its import path ``"mypkg.mod:MyModel"``
    (see ``docs/extending.md``)."""
    from em_abm.results import run_model

    return run_model(
        scenario, seed=seed, years=years, scale=scale, overrides=overrides,
        components=components, progress=progress, model=model,
    )  # fmt: skip


def run_many(scenario="baseline_2026", **kwargs):
    """Run ``scenario`` on many seeds: a :class:`em_abm.multi.ManyRuns` with a long table
    and bands (keywords: see :func:`em_abm.multi.run_many`)."""
    from em_abm.multi import run_many as _run_many

    return _run_many(scenario, **kwargs)


__all__ = ["UserError", "__version__", "run", "run_many"]
