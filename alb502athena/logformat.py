"""The ALB access-log format, read from sql/log_format.yaml (the one place it is defined).

Everything derived from it lives here: the canonical regex (capture groups == columns), the column
list with Athena types, and the layout of a line split at its double quotes, which the local engine
uses to parse most lines without running a regex over the whole line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from alb502athena.resources import load_yaml, sql_dir

# Hive/Athena column types -> DuckDB and Trino types (the Trino twin uses the same names as Athena
# except for `string`).
_TRINO_TYPES = {"string": "varchar", "int": "integer", "bigint": "bigint", "double": "double"}
_DUCKDB_TYPES = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "double": "DOUBLE"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Athena (Hive) type: string, int, bigint, double
    pattern: str
    sep: str  # regex text before this column inside its log field ('' for the first)

    @property
    def trino_type(self) -> str:
        return _TRINO_TYPES[self.type]

    @property
    def duckdb_type(self) -> str:
        return _DUCKDB_TYPES[self.type]


@dataclass(frozen=True)
class LogField:
    name: str
    quoted: bool
    columns: tuple[Column, ...]
    optional_from: str | None  # first format version that has this field, if it opens an optional group
    suffix: str = ""  # regex text after the last column, inside the quotes (outside every column)

    def inner_regex(self, capture: bool = True) -> str:
        """The regex of the field's content (inside its quotes, if it has them)."""
        group = "(" if capture else "(?:"
        return "".join(f"{c.sep}{group}{c.pattern})" for c in self.columns) + self.suffix

    def regex(self, capture: bool = True) -> str:
        """The field's own regex, quotes included, without the separator before it."""
        body = self.inner_regex(capture)
        return f'"{body}"' if self.quoted else body


@dataclass(frozen=True)
class LogFormat:
    name: str
    fields: tuple[LogField, ...]
    tail: str
    since: str = ""  # the format version of the oldest shape (the fields before the first optional group)

    @property
    def columns(self) -> tuple[Column, ...]:
        return tuple(c for f in self.fields for c in f.columns)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def regex(self, capture: bool = True) -> str:
        """The canonical full-line regex (match it against the whole line, as Hive's RegexSerDe does)."""
        parts: list[str] = []
        opened = 0
        for i, f in enumerate(self.fields):
            if f.optional_from is not None:
                parts.append("(?:")
                opened += 1
            parts.append(("" if i == 0 else " ") + f.regex(capture))
        parts.append(")?" * opened)
        parts.append(self.tail)
        return "".join(parts)

    @property
    def shapes(self) -> tuple[Shape, ...]:
        """Every historical line shape: the fields up to each optional group, oldest first."""
        opened = [(i, f.optional_from) for i, f in enumerate(self.fields) if f.optional_from is not None]
        ends = [i for i, _ in opened] + [len(self.fields)]
        versions = [self.since] + [v for _, v in opened]
        return tuple(Shape(self.fields[:end], v) for end, v in zip(ends, versions, strict=True))


@dataclass(frozen=True)
class Piece:
    """One part of a line split at its double quotes: a quoted field's content, or the run of unquoted
    fields (with their surrounding spaces) between two quoted fields."""

    index: int
    fields: tuple[LogField, ...]
    quoted: bool
    leading_space: bool
    trailing_space: bool

    def regex(self) -> str:
        if self.quoted:
            return self.fields[0].inner_regex(capture=False)
        inner = " ".join(f.regex(capture=False) for f in self.fields)
        return (" " if self.leading_space else "") + inner + (" " if self.trailing_space else "")

    @property
    def is_single_space(self) -> bool:
        return not self.quoted and not self.fields


@dataclass(frozen=True)
class Shape:
    """A line that ends after `fields` (a historical version of the format)."""

    fields: tuple[LogField, ...]
    version: str = ""  # the format version that first wrote lines of this shape (YAML's optional_from)

    @property
    def pieces(self) -> tuple[Piece, ...]:
        pieces: list[Piece] = []
        run: list[LogField] = []
        leading = False
        for f in self.fields:
            if f.quoted:
                pieces.append(Piece(len(pieces), tuple(run), False, leading, True))
                pieces.append(Piece(len(pieces), (f,), True, False, False))
                run, leading = [], True
            else:
                run.append(f)
        # The text after the last quote: '' for a line that ends with a quoted field.
        pieces.append(Piece(len(pieces), tuple(run), False, leading and bool(run), False))
        return tuple(pieces)


def _load() -> LogFormat:
    raw: Any = load_yaml((sql_dir() / "log_format.yaml").read_text(encoding="utf-8"))
    fields = []
    for f in raw["log_fields"]:
        cols = tuple(
            Column(c["name"], c.get("type", "string"), c["pattern"], c.get("sep", "")) for c in f["columns"]
        )
        quoted = bool(f.get("quoted", False))
        fields.append(LogField(f["field"], quoted, cols, f.get("optional_from"), f.get("suffix", "")))
    return LogFormat(raw["name"], tuple(fields), raw["tail"], str(raw.get("since", "")))


@cache
def log_format() -> LogFormat:
    return _load()


@cache
def compiled_regex() -> re.Pattern[str]:
    """The canonical regex for Python: the referee the local engine and Trino are tested against."""
    return re.compile(log_format().regex())


def parse_line(line: str) -> dict[str, str | None] | None:
    """Parse one line exactly as Hive's RegexSerDe would (full match; None for a line that fails)."""
    m = compiled_regex().fullmatch(line)
    if m is None:
        return None
    return dict(zip(log_format().column_names, m.groups(), strict=True))


def cut_to_shape(line: str, shape: Shape) -> str | None:
    """`line` as the format version of `shape` wrote it: cut after that shape's last field (None for a
    line that does not parse or does not reach that field)."""
    m = compiled_regex().fullmatch(line)
    last = shape.fields[-1]
    group = log_format().columns.index(last.columns[-1]) + 1
    if m is None or m.group(group) is None:
        return None
    return line[: m.end(group) + (1 if last.quoted else 0)]
