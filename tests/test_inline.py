"""Inlining the local table's columns keeps a query's meaning and its output names."""

from __future__ import annotations

import duckdb

from alb502athena.engines.inline import inline_table

COLUMNS = {"a": "x + 1", "b": "CASE WHEN x > 1 THEN 'big' END"}


def run(sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    con.execute("CREATE TABLE src AS SELECT * FROM range(4) t(x)")
    con.execute("CREATE VIEW t AS SELECT x + 1 AS a, CASE WHEN x > 1 THEN 'big' END AS b FROM src")
    cursor = con.execute(sql)
    return [tuple(d[0] for d in cursor.description), *cursor.fetchall()]


def test_same_rows_and_names() -> None:
    for query in [
        "SELECT a, b FROM t ORDER BY a",
        "SELECT a AS renamed, b IS NULL AS n FROM t WHERE a > 1 ORDER BY a",
        "WITH c AS (SELECT CASE WHEN a = 3 THEN b END AS v FROM t) SELECT count(*), count(v) FROM c",
        "SELECT t.a FROM t ORDER BY t.a",
        "SELECT (SELECT max(a) FROM t) AS m, a FROM t ORDER BY a",
    ]:
        inlined = inline_table(query, "t", COLUMNS, "src")
        assert "FROM t" not in inlined.replace("FROM src", "")
        assert run(inlined) == run(query), inlined


def test_select_star_and_other_tables_are_left_alone() -> None:
    assert inline_table("SELECT * FROM t", "t", COLUMNS, "src") == "SELECT * FROM t"
    assert inline_table("SELECT a FROM u", "t", COLUMNS, "src") == "SELECT a FROM u"


def test_is_null_uses_the_cheaper_test() -> None:
    query = "SELECT count_if(b IS NULL) AS n, count_if(a IS NULL) AS m FROM t"
    inlined = inline_table(query, "t", COLUMNS, "src", {"b": "x <= 1"})
    assert "x <= 1" in inlined and "'big'" not in inlined
    assert run(inlined) == run(query)
