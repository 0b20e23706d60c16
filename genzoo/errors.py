"""Errors that are the user's to fix (bad flags, bad files), as opposed to bugs."""


class UserError(ValueError):
    """Bad input: tools print its one-line message and exit non-zero, no traceback."""
