"""Inlining the local table's column expressions into a query, for DuckDB.

DuckDB computes every column a view projects for every row, even a column the query only reads inside
`CASE WHEN elb_status_code = 502 THEN ... END`. The catalogue's queries read the expensive columns
(target, processing times, error reason) only inside such CASEs, so replacing each column reference by
its expression over the line's pieces lets DuckDB compute them for the 502s alone. The query text is
unchanged otherwise: the same SQL, with the table's definition written in place.
"""

from __future__ import annotations

from collections.abc import Mapping

_PLACEHOLDER = "__alb502_column_{}__"


def inline_table(
    duckdb_sql: str,
    table: str,
    columns: Mapping[str, str],
    source: str,
    is_null: Mapping[str, str] | None = None,
) -> str:
    """Rewrite every SELECT that reads `table` alone to read `source`, with its columns inlined;
    `is_null` gives, for some columns, a cheaper expression equivalent to `column IS NULL`."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    used: set[str] = set()
    for select in list(tree.find_all(exp.Select)):
        from_ = select.args.get("from_")
        if from_ is None or select.args.get("joins") or not isinstance(from_.this, exp.Table):
            continue
        tbl = from_.this
        if (
            tbl.name != table
            or tbl.args.get("db")
            or any(isinstance(e, exp.Star) for e in select.expressions)
        ):
            continue
        alias = tbl.alias_or_name
        for test in list(select.find_all(exp.Is)):
            column = test.this
            if (
                isinstance(column, exp.Column)
                and isinstance(test.expression, exp.Null)
                and test.find_ancestor(exp.Select) is select
                and column.table in ("", alias)
                and column.name in (is_null or {})
            ):
                used.add(f"is_null:{column.name}")
                test.replace(exp.column(_PLACEHOLDER.format(f"is_null_{column.name}")))
        for column in list(select.find_all(exp.Column)):
            # Only this SELECT's own columns: not those of a subquery nested inside it.
            if column.find_ancestor(exp.Select) is not select:
                continue
            if column.table not in ("", alias) or column.name not in columns:
                continue
            used.add(column.name)
            inlined = exp.column(_PLACEHOLDER.format(column.name))
            # A bare output column keeps its name.
            column.replace(exp.alias_(inlined, column.name) if column.parent is select else inlined)
        tbl.set("this", exp.to_identifier(source))
    text = tree.sql(dialect="duckdb")
    for name in used:
        if name.startswith("is_null:"):
            column_name = name.removeprefix("is_null:")
            assert is_null is not None
            text = text.replace(_PLACEHOLDER.format(f"is_null_{column_name}"), f"({is_null[column_name]})")
        else:
            text = text.replace(_PLACEHOLDER.format(name), f"({columns[name]})")
    return text
