"""Athena (Trino-dialect) SQL -> DuckDB SQL, for the local engine.

The catalogue is written once, for Athena. sqlglot translates it; the divergences it does not handle
are kept out of the catalogue instead of shimmed, and named here so nobody reintroduces them:
- regexp_extract and split_part return '' in DuckDB where Trino returns NULL: the catalogue uses neither;
- integer division truncates in Trino and not in DuckDB: the catalogue divides only doubles;
- url_extract_*, parse_datetime and format_datetime do not exist in DuckDB: `time` is compared as
  ISO-8601 text instead, which is exact for the logs' fixed format.
The Trino tier runs the untranslated text and checks that both engines agree.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=64)
def to_duckdb(athena_sql: str) -> str:
    import sqlglot  # imported here: `alb502 --help` must not pay for it

    statements = sqlglot.transpile(athena_sql, read="athena", write="duckdb")
    if len(statements) != 1:
        raise ValueError(f"expected one statement, got {len(statements)}")
    return str(statements[0])
