"""The one exception type that the CLI turns into a one-line message and a non-zero exit."""


class InfoGANError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class InfoGANWarning(UserWarning):
    """Something ignored or worked around, worth one line on stderr (the CLI prints it so)."""
