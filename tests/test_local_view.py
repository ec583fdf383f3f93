"""The local view against the canonical regex, line by line: the fast path must never differ."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alb502athena.engines.inline import inline_table
from alb502athena.engines.local_view import local_view, view_sql
from alb502athena.logformat import log_format
from tests.conftest import write_log
from tests.lines import ALL_SHAPES, BASE, aws_examples_by_shape, make_line, shape_of, tricky_lines
from tests.typed import typed_row

# Characters that break parsers: separators, quotes, the classes the regex cares about.
NASTY = st.text(alphabet=st.sampled_from(list(' "-.:0123456789aZ_/\\\té')), max_size=8)


@st.composite
def lines(draw: st.DrawFn) -> str:
    shape = draw(st.sampled_from(ALL_SHAPES))
    overrides = {}
    for name in draw(st.lists(st.sampled_from(sorted(BASE)), max_size=3)):
        overrides[name] = draw(NASTY)
    line = make_line(shape, **overrides)
    mutation = draw(st.sampled_from(["none", "none", "tail", "cut", "insert"]))
    if mutation == "tail":
        line += draw(st.sampled_from([" x", ' "future"', " ", '"', ' "a" "b" "c" "d"']))
    elif mutation == "cut":
        line = line[: draw(st.integers(1, len(line)))]
    elif mutation == "insert":
        at = draw(st.integers(0, len(line)))
        line = line[:at] + draw(NASTY) + line[at:]
    # DuckDB, Hive and Python all split lines at newlines; a blank line is no log line.
    line = line.replace("\n", " ").replace("\r", " ")
    return line if line.strip() else "x"


def view_rows(path: Path) -> list[tuple[Any, ...]]:
    """The rows through the view, checked against the same query with the columns inlined."""
    con = duckdb.connect()
    view = local_view([(None, [str(path)])])
    for statement in view.statements():
        con.execute(statement)
    query = f"SELECT {', '.join(log_format().column_names)} FROM alb_logs"
    rows = con.execute(query).fetchall()
    inlined = con.execute(
        inline_table(query, "alb_logs", view.columns, "alb_pieces", view.is_null)
    ).fetchall()
    assert inlined == rows
    # `col IS NULL` rewritten to the cheaper test must count the same rows, for every column it covers.
    nulls = ", ".join(f"count_if({c} IS NULL)" for c in view.is_null)
    counts = f"SELECT {nulls} FROM alb_logs"
    assert con.execute(
        inline_table(counts, "alb_logs", view.columns, "alb_pieces", view.is_null)
    ).fetchall() == (con.execute(counts).fetchall())
    return rows


def same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return all(
        (x == y) or (isinstance(x, float) and isinstance(y, float) and math.isclose(x, y))
        for x, y in zip(a, b, strict=True)
    )


def check(tmp_path: Path, corpus: list[str]) -> None:
    path = write_log(tmp_path / "corpus.log", corpus)
    got = view_rows(path)
    assert len(got) == len(corpus)
    for line, row in zip(corpus, got, strict=True):
        expected = typed_row(line)
        assert same(row, expected), f"line {line!r}\n view  {row}\n regex {expected}"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corpus=st.lists(lines(), min_size=1, max_size=40))
def test_view_agrees_with_canonical_regex(tmp_path: Path, corpus: list[str]) -> None:
    check(tmp_path, corpus)


def test_fixed_corpus(tmp_path: Path, aws_samples: list[str]) -> None:
    corpus = [*aws_samples, *tricky_lines()]
    check(tmp_path, corpus)


@pytest.mark.parametrize("shape", ALL_SHAPES)
def test_every_shape_takes_the_fast_path(tmp_path: Path, shape: str) -> None:
    path = write_log(tmp_path / "a.log", [make_line(shape)])
    con = duckdb.connect()
    con.execute(view_sql([(None, [str(path)])]))
    index = log_format().shapes.index(shape_of(shape))
    assert con.execute("SELECT shape FROM alb_pieces").fetchall() == [(index,)]


def _sql_rows(tmp_path: Path, lines: list[str], columns: str) -> list[tuple[Any, ...]]:
    path = write_log(tmp_path / "h.log", lines)
    con = duckdb.connect()
    for statement in local_view([(None, [str(path)])]).statements():
        con.execute(statement)
    return con.execute(f"SELECT {columns} FROM alb_logs").fetchall()


@pytest.mark.parametrize("version", sorted(aws_examples_by_shape()))
def test_aws_examples_of_every_shape_since_2016(tmp_path: Path, version: str) -> None:
    # Before: lines of 2016 to mid-2018 were all-NULL rows. The fields a version had not yet written
    # are NULL, the others read as written.
    lines = aws_examples_by_shape()[version]
    rows = _sql_rows(tmp_path, lines, "type, elb_status_code, trace_id, domain_name, actions_executed")
    assert [r[:3] for r in rows] == [(x.split(" ")[0], int(x.split(" ")[8]), x.split('"')[5]) for x in lines]
    assert all((r[3] is not None) == (version >= "2017-10") for r in rows)
    assert all((r[4] is not None) == (version >= "2018-05") for r in rows)


def test_protocol_followed_by_a_space(tmp_path: Path) -> None:
    requests = [
        "GET http://example.com:80/ HTTP/1.0 ",  # before: URL 'http://example.com:80/ HTTP/1.0', proto ''
        "GET http://example.com:80/a b HTTP/1.0 ",
        "GET https://x.example.com/a b HTTP/1.1",
        "- - - ",  # AWS's form for a request it could not parse: read as before
    ]
    lines = [make_line(shape, request=r) for r in requests for shape in ("2016", "2025")]
    rows = _sql_rows(tmp_path, lines, "request_verb, request_url, request_proto")
    expected = [
        ("GET", "http://example.com:80/", "HTTP/1.0"),
        ("GET", "http://example.com:80/a b", "HTTP/1.0"),
        ("GET", "https://x.example.com/a b", "HTTP/1.1"),
        ("-", "-", "- "),
    ]
    assert rows == [e for e in expected for _ in range(2)]
