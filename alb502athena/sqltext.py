"""Rendering user values as SQL literals: the only way a value reaches a query.

No driver parameters: pyformat-style parameters break on any `%` in the SQL (LIKE patterns, date
formats), so every value is validated by the caller and rendered here as an escaped literal.
"""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def sql_string(value: str) -> str:
    """A single-quoted SQL string literal; quotes are doubled, so the value cannot end the literal."""
    if "\x00" in value:
        raise ValueError("NUL characters cannot appear in SQL literals")
    return "'" + value.replace("'", "''") + "'"


def sql_identifier(value: str) -> str:
    """A table, schema or database name: letters, digits and underscores only (Athena's own rule)."""
    if not _IDENTIFIER.fullmatch(value):
        raise ValueError(f"not a valid SQL identifier: {value!r} (letters, digits and underscores only)")
    return value
