"""The `"$path"` ranges of a query (sql/_macros/alb.sql path_filter), on the local engine.

Trino and Athena read only the objects whose `"$path"` the ranges admit. The local engine's table is the
files it was given, wherever they lie: a file's `"$path"` is `<the ranges' root>/<its day>/<its name>`,
as the object would be named under the table's location. Each file is one value of `"$path"`, so the
predicate is evaluated once per file (by DuckDB, so relative bounds from current_timestamp are computed
as the query computes them) and the query then reads the files it admits, with the predicate itself
replaced by TRUE. Discovery selects files by the same rule (objectname.may_hold); the tests hold the two
to each other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from alb502athena.errors import QueryError
from alb502athena.logfiles import LogFile

PATH = '"$path"'
FILES = "alb_path_of_files"  # a temporary table of the files' "$path" values
# The root, in the first literal of the ranges: '<root>/yyyy/mm/dd/<name>' or '<root>/'.
_ROOT = re.compile(r"(?P<root>.*?)/(?:\d{4}/\d{2}/\d{2}/[^/]*)?")


def has_paths(athena_sql: str) -> bool:
    return PATH in athena_sql


def _parens(text: str) -> dict[int, int]:
    """Each `(` of the text, outside literals, quoted names and comments, with its matching `)`."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    i = 0
    while i < len(text):
        c = text[i]
        if text.startswith("--", i):
            line_end = text.find("\n", i)
            i = len(text) if line_end < 0 else line_end
            continue
        if text.startswith("/*", i):
            i = text.index("*/", i + 2) + 2
            continue
        if c in "'\"":
            end = text.index(c, i + 1)
            while end + 1 < len(text) and text[end + 1] == c:  # '' or "" inside: still the same token
                end = text.index(c, end + 2)
            i = end + 1
            continue
        if c == "(":
            stack.append(i)
        elif c == ")":
            pairs[stack.pop()] = i
        i += 1
    return pairs


def _predicates(athena_sql: str) -> list[tuple[int, int]]:
    """The spans (from `(` to its `)`) of the path_filter predicates: the innermost parentheses around
    each `"$path"`, which the macro puts around all of its ranges."""
    pairs = _parens(athena_sql)
    spans: list[tuple[int, int]] = []
    for m in re.finditer(re.escape(PATH), athena_sql):
        if any(a < m.start() < b for a, b in spans):
            continue
        around = [(a, b) for a, b in pairs.items() if a < m.start() < b]
        if not around:
            raise QueryError('the local engine reads "$path" inside the parentheses of a range only')
        spans.append(max(around))
    return spans


def reduce_paths(
    athena_sql: str, files: Sequence[LogFile], fallback_day: str | None, con: Any
) -> tuple[str, list[LogFile]]:
    """The query with its `"$path"` predicate replaced by TRUE, and the files that predicate admits.
    The query must hold one such predicate (possibly repeated): the local engine reads one set of files
    per query."""
    from alb502athena.transpile import to_duckdb

    spans = _predicates(athena_sql)
    # l."$path": the alias means nothing to the file list
    texts = {re.sub(r'[A-Za-z_][A-Za-z0-9_]*\."\$path"', PATH, athena_sql[a : b + 1]) for a, b in spans}
    if len(texts) != 1:
        raise QueryError(
            f'the local engine reads one set of files per query; this one has {len(texts)} "$path" predicates'
        )
    [condition] = texts
    literal = re.search(r"'((?:[^']|'')*)'", condition)
    root = _ROOT.fullmatch(literal[1].replace("''", "'")) if literal else None
    if root is None:
        raise QueryError(f"the local engine cannot tell the table's location from: {condition[:200]}")
    names = [f"{root['root']}/{f.day or fallback_day}/{f.path.name}" for f in files]
    con.execute(f'CREATE OR REPLACE TEMP TABLE {FILES} AS SELECT unnest(?::VARCHAR[]) AS "$path"', [names])
    admitted = {
        row[0] for row in con.execute(to_duckdb(f'SELECT "$path" FROM {FILES} WHERE {condition}')).fetchall()
    }
    con.execute(f"DROP TABLE {FILES}")
    for a, b in sorted(spans, reverse=True):
        athena_sql = athena_sql[:a] + "(TRUE)" + athena_sql[b + 1 :]
    kept = [f for f, name in zip(files, names, strict=True) if name in admitted]
    return athena_sql, kept
