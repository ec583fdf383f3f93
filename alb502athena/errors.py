"""The exceptions the library raises; the CLI turns each into one `Error: ...` line and an exit code."""

from __future__ import annotations


class Alb502Error(Exception):
    """Base class: anything the user can fix or should know about, never a bug."""

    exit_code = 2


class UsageError(Alb502Error):
    """An option value that cannot be used (bad time, unknown signature, unsafe name)."""


class InputError(Alb502Error):
    """The logs given cannot be read at all (no such path, no log files)."""


class QueryError(Alb502Error):
    """An engine rejected or failed a query, or could not be reached."""

    exit_code = 3


class AwsError(QueryError):
    """AWS refused or failed a call: credentials, permissions, a missing table, a failed query."""


class Interrupted(Alb502Error):
    """The user pressed Ctrl-C; any running query was stopped first."""

    exit_code = 130
