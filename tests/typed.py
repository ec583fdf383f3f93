"""Hive's RegexSerDe typing, in Python: the referee for the engines' typed columns."""

from __future__ import annotations

import re
from typing import Any

from alb502athena.logformat import log_format, parse_line

_INT = re.compile(r"[-+]?[0-9]+")
_DOUBLE = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)")
_RANGE = {"int": 2**31, "bigint": 2**63}


def hive_value(text: str | None, column_type: str) -> Any:
    """The value Hive stores for a captured text: a value that does not parse is NULL."""
    if text is None or column_type == "string":
        return text
    if column_type in _RANGE:
        if not _INT.fullmatch(text):
            return None
        value = int(text)
        limit = _RANGE[column_type]
        return value if -limit <= value < limit else None
    return float(text) if _DOUBLE.fullmatch(text) else None


def typed_row(line: str) -> tuple[Any, ...]:
    fmt = log_format()
    parsed = parse_line(line)
    if parsed is None:
        return (None,) * len(fmt.columns)
    return tuple(hive_value(parsed[c.name], c.type) for c in fmt.columns)
