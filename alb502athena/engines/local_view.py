"""The DuckDB view that makes local log files look like the Athena table.

Every row has the columns of the canonical regex, with Hive RegexSerDe semantics: a line that does not
match is a row whose every column is NULL. Running that regex over every line costs about as much as
reading the files again, so the view splits each line at its double quotes with DuckDB's CSV tokenizer
(no quoting, `"` as the delimiter) and, for lines of a known historical shape, checks each piece and
cuts the columns out of the pieces. The format's regex is built so that a line splits at its quotes in
one way only (see sql/log_format.yaml), which makes that fast path give the regex's own answer; any line
the fast path does not accept goes through the full regex on the rebuilt line. The tests hold the two
paths to Python's `re` with the canonical regex, line by line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from alb502athena.logformat import Column, LogField, LogFormat, Piece, Shape, log_format
from alb502athena.sqltext import sql_string

# A line is cut into at most this many pieces; a line with more pieces than this is rebuilt
# from the first MAX_PIECES pieces only and so counts as unparsed (the regex would almost surely
# reject such a line anyway). Known shapes use 17 to 31 pieces.
MAX_PIECES = 64

# DuckDB reads an empty CSV field as NULL, but an empty piece ('' between two quotes) is data: NULL must
# only mean "the line has no such piece". A piece that is exactly this control character would be read
# as missing; only a junk line can hold one.
_NULL_MARK = "\x01"


def _p(i: int) -> str:
    return f"p{i:02d}"


def _piece_check(piece: Piece) -> str | None:
    """A cheap SQL predicate equivalent to `piece` matching its regex (None: always true)."""
    col = _p(piece.index)
    if piece.is_single_space:
        return f"{col} = ' '" if piece.leading_space or piece.trailing_space else f"{col} = ''"
    if not piece.fields and not piece.leading_space:
        return f"{col} = ''"
    if piece.quoted:
        pattern = piece.regex()
        if pattern == '(?:[^"]*)':
            return None  # a piece never holds a quote
        if pattern == '(?:[^ "]*)':
            return f"NOT contains({col}, ' ')"
        if pattern in ('(?:[^ "]*) (?:.*?) (?:- |[^ "]*)', '(?:[^ "]*) (?:.*?) (?:- |[^ "]*) ?'):
            # verb, space, url, space, proto (and an optional space): true exactly when the piece has
            # two spaces or more.
            return f"{col} LIKE '% % %'"
        return f"regexp_full_match({col}, {sql_string(piece.regex())})"
    return _run_check(piece)


_FREE = '[^ "]*'  # an unquoted field that only has to hold no space (the piece holds no quote)


def _run_check(piece: Piece) -> str:
    """The run of unquoted fields between two quotes. No such field can hold a space, so the piece
    matches exactly when it has the right number of spaces and its restrictive fields match. Free fields
    at one end then need no regex: DuckDB's regex costs about as much per byte as reading the file, and
    the free fields (ELB name, time, target group ARN) are most of the bytes."""
    col = _p(piece.index)
    fields = list(piece.fields)
    free = [len(f.columns) == 1 and f.columns[0].pattern == _FREE for f in fields]
    spaces = len(fields) - 1 + piece.leading_space + piece.trailing_space
    count = f"length({col}) - length(replace({col}, ' ', '')) = {spaces}"
    lead = " " if piece.leading_space else ""
    trail = " " if piece.trailing_space else ""
    if all(free):
        ends = [f"starts_with({col}, ' ')"] * piece.leading_space + [
            f"ends_with({col}, ' ')"
        ] * piece.trailing_space
        return " AND ".join([count, *ends])
    first = free.index(False)
    last = len(free) - 1 - free[::-1].index(False)
    core = " ".join(f.regex(capture=False) for f in fields[first : last + 1])
    if first > 0 and last < len(fields) - 1:
        return f"regexp_full_match({col}, {sql_string(piece.regex())})"  # free fields at both ends
    # With the right number of spaces, the anchored regex places the core; the other end of the piece
    # must still be checked (a field glued to the closing quote adds no space).
    if last < len(fields) - 1:  # free fields after the core: anchor at the start
        end = f" AND ends_with({col}, ' ')" if piece.trailing_space else ""
        return f"{count} AND regexp_matches({col}, {sql_string('^' + lead + core + ' ')}){end}"
    if first > 0:  # free fields before the core: anchor at the end
        start = f" AND starts_with({col}, ' ')" if piece.leading_space else ""
        return f"{count} AND regexp_matches({col}, {sql_string(' ' + core + trail + '$')}){start}"
    return f"regexp_full_match({col}, {sql_string(piece.regex())})"


def _no_piece_beyond(n: int) -> str:
    return f"{_p(n - 1)} IS NOT NULL AND {_p(n)} IS NULL"


@dataclass(frozen=True)
class _FieldSource:
    field: LogField
    expr: str  # SQL for the field's text on the fast path
    first_shape: int  # index of the oldest shape that has this field


def _field_sources(fmt: LogFormat) -> list[_FieldSource]:
    newest = fmt.shapes[-1]
    first_shape: dict[str, int] = {}
    for i, shape in enumerate(fmt.shapes):
        for f in shape.fields:
            first_shape.setdefault(f.name, i)
    out: list[_FieldSource] = []
    for piece in newest.pieces:
        if piece.quoted:
            f = piece.fields[0]
            out.append(_FieldSource(f, _p(piece.index), first_shape[f.name]))
            continue
        offset = 2 if piece.leading_space else 1
        for j, f in enumerate(piece.fields):
            expr = f"split_part({_p(piece.index)}, ' ', {j + offset})"
            out.append(_FieldSource(f, expr, first_shape[f.name]))
    return out


def _shape_predicates(shapes: Sequence[Shape]) -> tuple[list[str], list[list[str]]]:
    """The checks every shape shares, and per shape the rest (piece count included)."""
    per_shape = []
    for shape in shapes:
        checks = [c for c in (_piece_check(p) for p in shape.pieces) if c is not None]
        per_shape.append([_no_piece_beyond(len(shape.pieces)), *checks])
    common = [c for c in per_shape[0] if all(c in s for s in per_shape[1:])]
    rest = [[c for c in s if c not in common] for s in per_shape]
    return common, rest


def typed(expr: str, column: Column) -> str:
    # TRY_CAST: a value that does not parse is NULL, as in Hive's RegexSerDe and Trino's REGEX format.
    return expr if column.type == "string" else f"TRY_CAST({expr} AS {column.duckdb_type})"


PIECES_VIEW = "alb_pieces"
TABLE_VIEW = "alb_logs"


@dataclass(frozen=True)
class LocalView:
    """The pieces of every line (view alb_pieces) and, per column of the Athena table, the DuckDB
    expression over those pieces that computes it. alb_logs is the view of all those expressions; the
    local engine also inlines them into queries (see inline.py) so that DuckDB computes a column only
    for the rows that reach it."""

    pieces_sql: str
    columns: dict[str, str]
    # `col IS NULL` for the columns that are NULL only on unparsed lines: cheaper than computing them.
    is_null: dict[str, str] = field(default_factory=dict)

    def statements(self) -> list[str]:
        select_list = ",\n".join(f"  {expr} AS {name}" for name, expr in self.columns.items())
        return [
            f"CREATE OR REPLACE TEMP VIEW {PIECES_VIEW} AS\n{self.pieces_sql}",
            f"CREATE OR REPLACE TEMP VIEW {TABLE_VIEW} AS\nSELECT\n{select_list}\nFROM {PIECES_VIEW}",
        ]


def view_sql(files_by_day: Sequence[tuple[str | None, Sequence[str]]], fmt: LogFormat | None = None) -> str:
    """The statements that create the views alb_pieces and alb_logs, separated by semicolons."""
    return ";\n".join(local_view(files_by_day, fmt).statements())


def local_view(
    files_by_day: Sequence[tuple[str | None, Sequence[str]]], fmt: LogFormat | None = None
) -> LocalView:
    """The views over the given files, grouped by their `day` partition value."""
    fmt = fmt or log_format()
    piece_names = [_p(i) for i in range(MAX_PIECES)]
    columns_struct = ", ".join(f"'{p}': 'VARCHAR'" for p in piece_names)
    scans = []
    for day, files in files_by_day:
        file_list = "[" + ", ".join(sql_string(f) for f in files) + "]"
        scans.append(
            f"SELECT {', '.join(piece_names)}, {sql_string(day) if day is not None else 'NULL'} AS day\n"
            f"  FROM read_csv({file_list}, delim='\"', quote='', escape='', header=false,"
            f" auto_detect=false, null_padding=true, strict_mode=false,"
            f" nullstr={sql_string(_NULL_MARK)}, columns={{{columns_struct}}})"
        )
    if not scans:
        # No file in the window: an empty table, so every query still answers (with zero counts).
        nulls = ", ".join(f"NULL::VARCHAR AS {p}" for p in [*piece_names, "day"])
        scans.append(f"SELECT {nulls} WHERE false")
    raw = "\n  UNION ALL\n  ".join(scans)

    common, rest = _shape_predicates(fmt.shapes)
    # Newest shape first: the shapes exclude each other, and DuckDB tests each WHEN only on the rows no
    # earlier WHEN took, so most lines (recent ones) pass one test rather than one per older shape.
    shape_case = "\n".join(
        f"        WHEN {' AND '.join(checks)} THEN {i}" for i, checks in reversed(list(enumerate(rest)))
    )
    canonical = fmt.regex()
    line = f"concat_ws('\"', {', '.join(piece_names)})"

    # Slow path: the full regex over the rebuilt line. DuckDB returns '' for a group that did not take
    # part in the match, so whether each optional group took part is decided by its own full match.
    optional_levels = [i for i, f in enumerate(fmt.fields) if f.optional_from is not None]
    level_checks = []
    for depth in range(1, len(optional_levels) + 1):
        forced = replace(
            fmt,
            fields=tuple(
                replace(f, optional_from=None) if i in optional_levels[:depth] else f
                for i, f in enumerate(fmt.fields)
            ),
        )
        level_checks.append(f"regexp_full_match(line, {sql_string(forced.regex(capture=False))})")
    names = ", ".join(sql_string(n) for n in fmt.column_names)

    sources = _field_sources(fmt)
    columns: dict[str, str] = {}
    is_null: dict[str, str] = {}
    for src in sources:
        present_fast = "TRUE" if src.first_shape == 0 else f"shape >= {src.first_shape}"
        level = sum(1 for i in optional_levels if fmt.fields.index(src.field) >= i)
        present_slow = "TRUE" if level == 0 else f"slow_level >= {level}"
        for col in src.field.columns:
            if len(src.field.columns) == 1:
                fast = src.expr
            else:
                pattern = sql_string("^" + src.field.inner_regex() + "$")
                group_names = ", ".join(sql_string(c.name) for c in src.field.columns)
                fast = f"regexp_extract({src.expr}, {pattern}, [{group_names}]).{col.name}"
            value = (
                f"CASE WHEN shape IS NOT NULL THEN CASE WHEN {present_fast} THEN {fast} END"
                f" WHEN slow_level IS NOT NULL THEN CASE WHEN {present_slow} THEN slow.{col.name} END END"
            )
            columns[col.name] = typed(value, col)
            if src.first_shape == 0 and col.type == "string":
                is_null[col.name] = "(shape IS NULL AND slow_level IS NULL)"
    columns["day"] = "day"

    anchored = sql_string("^" + canonical + "$")
    slow_level = " + ".join(f"CASE WHEN {c} THEN 1 ELSE 0 END" for c in level_checks)
    pieces = f"""WITH raw AS (
  {raw}
), shaped AS (
  SELECT *,
    CASE WHEN {" AND ".join(common)} THEN CASE
{shape_case}
    END END AS shape
  FROM raw
), lines AS (
  SELECT *,
    CASE WHEN shape IS NULL THEN {line} END AS line
  FROM shaped
), slow AS (
  SELECT *,
    CASE WHEN shape IS NULL AND regexp_full_match(line, {sql_string(canonical)})
      THEN {slow_level} END AS slow_level,
    CASE WHEN shape IS NULL THEN regexp_extract(line, {anchored}, [{names}]) END AS slow
  FROM lines
)
SELECT * FROM slow"""
    return LocalView(pieces, columns, is_null)
