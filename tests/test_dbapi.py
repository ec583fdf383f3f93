"""A DB-API connection of the library user's as the engine (engines/dbapi.py): pyathena's against moto's
Athena on loopback, and sqlite3 (the standard library's PEP 249 driver) for the driver-neutral parts."""

from __future__ import annotations

import sqlite3

import pytest

from alb502athena.diagnosis import diagnose
from alb502athena.engines.dbapi import DbApiEngine, as_engine
from alb502athena.errors import QueryError
from alb502athena.render import QueryParams, render_diagnosis
from alb502athena.window import Window
from tests.aws import REGION, MotoServer
from tests.test_athena import DIAGNOSIS_COLUMNS, DIAGNOSIS_ROWS, bucket

PARAMS = QueryParams(Window.from_options(None, "2026-11-20T09:00Z", "2026-11-20T10:00Z"))


def test_diagnose_on_a_pyathena_connection(aws: MotoServer) -> None:
    from pyathena import connect

    bucket("results")
    aws.queue_results(DIAGNOSIS_COLUMNS, DIAGNOSIS_ROWS)
    connection = connect(
        s3_staging_dir="s3://results/mine/", region_name=REGION, schema_name="alb", work_group="primary"
    )
    found = diagnose(connection, PARAMS)
    (execution,) = aws.executions()
    # The user's connection as they set it up; the text is alb502's (pyathena strips its ends).
    assert execution.query == render_diagnosis(PARAMS).strip()
    assert execution.context == {"Database": "alb", "Catalog": "awsdatacatalog"}
    assert execution.config["OutputLocation"].startswith("s3://results/mine/")
    assert found.engine == "athena"
    assert (found.totals.elb_502, found.totals.lb_generated_502, found.totals.target_generated_502) == (
        12,
        10,
        2,
    )
    assert [(f.signature.id, f.count) for f in found.findings] == [("connect-failed", 10), ("target-502", 2)]
    assert found.engine_stats is not None and found.engine_stats["query_id"] == execution.id


def test_a_failing_pyathena_query_is_one_query_error(aws: MotoServer) -> None:
    from pyathena import connect

    connection = connect(region_name=REGION, schema_name="alb", work_group="no-such-group")
    with pytest.raises(QueryError, match=r"^the athena query failed: .*WorkGroup does not exist"):
        diagnose(connection, PARAMS)


def test_any_pep_249_connection_streams_in_batches() -> None:
    connection = sqlite3.connect(":memory:")
    engine = as_engine(connection)
    assert isinstance(engine, DbApiEngine) and engine.name == "sqlite3"
    assert (engine.notes, engine.last_stats, engine.aws_session, engine.log_location()) == (
        [],
        None,
        None,
        None,
    )
    sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25) SELECT i, '100%' AS p FROM n"
    with engine.stream(sql, batch_rows=10) as result:
        assert result.columns == ["i", "p"]
        batches = list(result.batches)
    assert [len(b) for b in batches] == [10, 10, 5]
    assert batches[0][0] == (1, "100%")  # sent as it is, without parameters


def test_driver_errors_become_query_errors() -> None:
    with pytest.raises(QueryError, match=r"^the sqlite3 query failed: no such table: alb_logs$"):
        DbApiEngine(sqlite3.connect(":memory:")).run("SELECT * FROM alb_logs")


def test_an_engine_is_taken_as_it_is_and_anything_else_refused() -> None:
    engine = DbApiEngine(sqlite3.connect(":memory:"))
    assert as_engine(engine) is engine
    with pytest.raises(TypeError, match="not an engine nor a DB-API connection: str"):
        as_engine("athena")
