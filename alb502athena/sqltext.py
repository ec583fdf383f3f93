"""Rendering user values as SQL literals: the only way a value reaches a query.

No driver parameters: pyformat-style parameters break on any `%` in the SQL (LIKE patterns, date
formats), so every value is validated by the caller and rendered here as an escaped literal.
"""

from __future__ import annotations


def sql_string(value: str) -> str:
    """A single-quoted SQL string literal; quotes are doubled, so the value cannot end the literal."""
    if "\x00" in value:
        raise ValueError("NUL characters cannot appear in SQL literals")
    return "'" + value.replace("'", "''") + "'"
