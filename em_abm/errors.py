"""The one exception type for user mistakes.

Anything a user can get wrong (a scenario file, a parameter value, a command-line option)
raises :class:`UserError` with a one-line message that names the field and what is
allowed. The command line prints it and exits with status 2; everything else is a bug.
"""


class UserError(ValueError):
    """A mistake in user input, reported as one line."""
