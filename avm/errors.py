"""The error a user can fix (a wrong path, a missing option, an empty catalog): printed as one line, exit code 2."""


class UserError(Exception):
    """A mistake in what the user asked for; ``str()`` is the one line shown to them."""
