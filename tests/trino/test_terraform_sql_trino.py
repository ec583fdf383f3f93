"""The SQL the Terraform module sends to Athena, on Trino: every generated query with its window filled
as the module fills it (a schedule's interval ending the delivery lag before the run, counted from the
run's minute; a saved query's hours up to the run) parses, prunes the `day` partitions, and runs.
The module's own wrapping of the scheduled count is shown by the plan in tests/test_terraform_live.py."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO
from tests.trino.conftest import TrinoTier

GENERATED = REPO / "terraform" / "generated"
EXAMPLES_ROOT = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1"
MANIFEST = json.loads((GENERATED / "manifest.json").read_text())


def filled(file: str, schema: str, start_minutes: int, end_minutes: int) -> str:
    """What templatefile() makes of a generated file (it has no other directive: see terraform_export)."""
    text = (GENERATED / file).read_text()
    return (
        text.replace("${database}.${table}", f"{schema}.alb_logs")
        .replace("${start_minutes}", str(start_minutes))
        .replace("${end_minutes}", str(end_minutes))
        .replace("$${", "${")
        .replace("%%{", "%{")
    )


@pytest.mark.parametrize("use", ["hourly schedule", "saved query"])
@pytest.mark.parametrize("query", [q["file"] for q in MANIFEST["queries"]])
def test_generated_query_parses_prunes_and_runs(trino: TrinoTier, query: str, use: str) -> None:
    schema = trino.dataset("examples", REPO / "examples" / "logs", EXAMPLES_ROOT)
    lag = MANIFEST["delivery_lag_minutes"]
    start, end = (60 + lag, lag) if use == "hourly schedule" else (24 * 60, 0)
    sql = filled(query, schema, start, end)
    _, plan = trino.execute("EXPLAIN " + sql, schema=schema)
    scanned = plan[0][0].split("day:string:PARTITION_KEY", 1)[1].splitlines()[1]
    # The table projects every day since 2026/11/01: today's folder (and yesterday's near midnight).
    assert 1 <= scanned.count("[20") <= 2, scanned
    columns, rows = trino.execute(sql, schema=schema)
    # The example logs (November 2026) are older than any window relative to now: nothing is counted.
    if "elb_502" in columns:
        assert all(row[columns.index("elb_502")] in (0, None) for row in rows), rows
    else:
        assert rows == []


def test_scheduled_count_is_one_number_on_an_empty_window(trino: TrinoTier) -> None:
    """Defect 6 of issue 15: the diagnosis' total in an empty window is 0, not a missing row."""
    schema = trino.dataset("examples", REPO / "examples" / "logs", EXAMPLES_ROOT)
    lag = MANIFEST["delivery_lag_minutes"]
    body = filled("queries/diagnosis.sql", schema, 60 + lag, lag)
    # schedules.tf wraps the diagnosis this way (the maximal plan in test_terraform_live.py shows it).
    _, rows = trino.execute(
        f"SELECT coalesce(sum(elb_502), 0) AS elb_502 FROM (\n{body}) WHERE level = 'total'", schema=schema
    )
    assert rows == [(0,)]
