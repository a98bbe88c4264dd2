"""The one exception type for user mistakes, and the readers that raise it.

Anything a user can get wrong (a scenario file, a parameter value, a command-line option)
raises :class:`UserError` with a one-line message that names the field and what is
allowed. The command line prints it and exits with status 2; everything else is a bug.
Every input file is read through :func:`em_abm.files.read_toml` (or its siblings there) and
:func:`check_schema` checks its types, so that every loader fails the same way.

Warnings em-abm gives in its own words are :class:`ProjectWarning` (one line each; the
command line prints them as ``em-abm: warning: ...``, once, and prints a library's warning
as one such line too, naming the library instead of its file).
"""


class UserError(ValueError):
    """A mistake in user input, reported as one line."""


class ProjectWarning(UserWarning):
    """A warning em-abm gives in its own words: one line, which the command line prints as
    ``em-abm: warning: ...`` (once)."""


class WindowWarning(ProjectWarning):
    """A run goes past the window its scenario was calibrated for (one line, given once)."""


class AnalysisWarning(ProjectWarning):
    """Sensitivity indices that cannot be trusted: too few samples, or indices outside
    [0, 1] beyond their intervals (:mod:`em_abm.analysis`)."""


class DesignWarning(ProjectWarning):
    """A sweep design that works but has a known weakness (a Sobol sample size that is not a
    power of 2), said in em-abm's words rather than the sampling library's."""


def check_schema(schema, data: dict, where: str):
    """``schema.model_validate(data)`` (a pydantic model), its first error as one line.

    The line names the field's path and what is allowed, e.g.
    ``calibration.toml: seeds.1: got 'a'; allowed: a valid integer``.
    """
    from pydantic import ValidationError

    try:
        return schema.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            fields = ", ".join(sorted(schema.model_fields))
            msg = f"unknown key; allowed: {fields}" if len(err["loc"]) == 1 else "unknown key"
        elif err["type"] == "missing":
            msg = "missing"
        else:
            allowed = err["msg"].removeprefix("Input should be ").removeprefix("Value should be ")
            msg = f"got {err.get('input')!r}; allowed: {allowed}"
        raise UserError(f"{where}: {loc}: {msg}") from None


def check_known(name: str, known, *, where: str, allowed: str, what: str = "") -> None:
    """Refuse ``name`` unless it is in ``known``: one :class:`UserError` line naming the
    field, up to three close matches and what is allowed, e.g.
    ``spec.toml: outputs: unknown output 'taged'; did you mean tagged? allowed: ...``."""
    if name in known:
        return
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    kind = f"{what} " if what else ""
    raise UserError(f"{where}: unknown {kind}{name!r}; {hint}allowed: {allowed}")
