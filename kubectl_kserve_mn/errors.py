"""Exit codes and the errors that map onto them.

The same codes for every command (documented in the README):
0 success; 1 the command worked and found problems; 2 usage or input error; 3 cluster or API error.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_CLUSTER = 3


class KserveMnError(Exception):
    """An error with a one-line message and the exit code it maps to."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = " ".join(message.split())  # always one line


class InputError(KserveMnError):
    """Bad flag value or unreadable / malformed input file (exit 2)."""

    exit_code = EXIT_USAGE


class ClusterError(KserveMnError):
    """The cluster could not be reached or refused the request (exit 3)."""

    exit_code = EXIT_CLUSTER


class NotFoundError(ClusterError):
    """A named object (or a needed CRD) does not exist (exit 3)."""


class ConflictError(ClusterError):
    """The object changed since it was read (HTTP 409) (exit 3)."""
