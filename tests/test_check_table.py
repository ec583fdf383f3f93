"""`alb502 check-table` on Glue tables held by moto's server: a healthy one and each known defect."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from alb502athena.cli.app import app
from alb502athena.logformat import log_format
from tests.aws import REGION, MotoServer

runner = CliRunner()
LOCATION = "s3://my-alb-logs/AWSLogs/123456789012/elasticloadbalancing/eu-west-1"

# AWS's published input.regex (the Athena user guide), unescaped from its Hive string literal: 35 groups
# for 34 columns, and nothing before the 2020 classification fields matches.
AWS_REGEX = (
    r"([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*):([0-9]*) ([^ ]*)[:-]([0-9]*) ([-.0-9]*) ([-.0-9]*) ([-.0-9]*) (|[-0-9]*) "
    r'(-|[-0-9]*) ([-0-9]*) ([-0-9]*) "([^ ]*) (.*) (- |[^ ]*)" "([^"]*)" ([A-Z0-9-_]+) ([A-Za-z0-9.-]*) '
    r'([^ ]*) "([^"]*)" "([^"]*)" "([^"]*)" ([-.0-9]*) ([^ ]*) "([^"]*)" "([^"]*)" "([^ ]*)" "([^\s]+?)" '
    r'"([^\s]+)" "([^ ]*)" "([^ ]*)" ?([^ ]*)? ?( .*)?'
)


def table_input(**changes: Any) -> dict[str, Any]:
    columns = [{"Name": c.name, "Type": c.type} for c in log_format().columns]
    params = {
        "projection.enabled": "true",
        "projection.day.type": "date",
        "projection.day.format": "yyyy/MM/dd",
        "projection.day.range": "2024/01/01,NOW",
        "storage.location.template": LOCATION + "/${day}",
        **changes.pop("parameters", {}),
    }
    serde = {
        "SerializationLibrary": "org.apache.hadoop.hive.serde2.RegexSerDe",
        "Parameters": {
            "input.regex": changes.pop("regex", log_format().regex()),
            "serialization.format": "1",
        },
    }
    return {
        "Name": changes.pop("name"),
        "StorageDescriptor": {
            "Columns": changes.pop("columns", columns),
            "Location": LOCATION,
            "SerdeInfo": serde,
        },
        "PartitionKeys": [{"Name": "day", "Type": "string"}],
        "TableType": "EXTERNAL_TABLE",
        "Parameters": params,
    }


@pytest.fixture
def glue(aws: MotoServer) -> Any:
    client = boto3.client("glue", region_name=REGION)
    client.create_database(DatabaseInput={"Name": "alb"})
    return client


def check(*args: str) -> tuple[int, list[dict[str, Any]], str]:
    result = runner.invoke(app, ["check-table", "--database", "alb", *args, "-o", "json"])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else [], result.stderr


def problems(report: list[dict[str, Any]]) -> dict[str, str]:
    return {c["check"]: c["fix"] for c in report if not c["ok"]}


def test_healthy_table_and_the_unparsed_query(glue: Any, aws: MotoServer) -> None:
    glue.create_table(DatabaseName="alb", TableInput=table_input(name="good"))
    aws.queue_results([("lines", "bigint"), ("unparsed_lines", "bigint")], [[48213, 0]])
    code, report, err = check("--table", "good")
    assert code == 0, err
    assert problems(report) == {}
    assert {c["check"] for c in report} >= {
        "regex groups",
        "parses 2016-08 lines",
        "parses 2017-10 lines",
        "parses 2018-11 lines",
        "parses 2025-08 lines",
        "projection range",
    }
    (execution,) = aws.executions()
    assert "FROM alb.good" in execution.query and "count_if(type IS NULL)" in execution.query
    assert report[-1]["detail"] == "0 of 48,213 lines (0.00%) read as all-NULL rows"


def test_aws_documented_table(glue: Any, aws: MotoServer) -> None:
    columns = [{"Name": c.name, "Type": c.type} for c in log_format().columns[:34]]
    glue.create_table(
        DatabaseName="alb", TableInput=table_input(name="aws", regex=AWS_REGEX, columns=columns)
    )
    aws.queue_results([("lines", "bigint"), ("unparsed_lines", "bigint")], [[1000, 12]])
    code, report, err = check("--table", "aws")
    assert code == 1 and "problem(s) with alb.aws" in err
    found = problems(report)
    # AWS's regex rejects every shape before the 2020 classification fields, since ALB's launch.
    assert set(found) == {
        "regex groups",
        *(f"parses {v} lines" for v in ("2016-08", "2017-10", "2018-05", "2018-07", "2018-11", "2019")),
        "unparsed lines, last day",
    }
    detail = {c["check"]: c["detail"] for c in report}
    assert detail["regex groups"] == "35 capture groups for 34 columns"
    assert detail["unparsed lines, last day"] == "12 of 1,000 lines (1.20%) read as all-NULL rows"
    assert "alb502 ddl" in found["regex groups"]


def test_projection_defects(glue: Any, aws: MotoServer) -> None:
    glue.create_table(
        DatabaseName="alb",
        TableInput=table_input(
            name="proj",
            parameters={
                "projection.day.range": "2099/01/01,2099/01/31",
                "storage.location.template": "s3://elsewhere/${day}",
            },
        ),
    )
    code, report, _ = check("--table", "proj", "--no-query")
    assert code == 1
    assert set(problems(report)) == {"projection range", "projection start", "location template"}
    assert aws.executions() == []


def test_no_projection_and_missing_columns(glue: Any, aws: MotoServer) -> None:
    columns = [{"Name": c.name, "Type": c.type} for c in log_format().columns if c.name != "conn_trace_id"]
    glue.create_table(
        DatabaseName="alb",
        TableInput=table_input(name="old", columns=columns, parameters={"projection.enabled": "false"}),
    )
    code, report, _ = check("--table", "old", "--no-query")
    assert code == 1
    found = problems(report)
    assert set(found) == {"columns", "partition projection", "regex groups"}
    assert next(c for c in report if c["check"] == "columns")["detail"] == "missing: conn_trace_id"


def test_missing_table(glue: Any, aws: MotoServer) -> None:
    result = runner.invoke(app, ["check-table", "--database", "alb", "--table", "nope"])
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: ") and "(create the table with `alb502 ddl`)" in result.stderr


def test_projection_starting_after_the_first_logs(glue: Any, aws: MotoServer) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="my-alb-logs", CreateBucketConfiguration={"LocationConstraint": REGION})
    root = LOCATION.removeprefix("s3://my-alb-logs/")
    for day in ("2023/12/30", "2023/12/31", "2024/01/02"):
        s3.put_object(Bucket="my-alb-logs", Key=f"{root}/{day}/x.log.gz", Body=b"")
    glue.create_table(DatabaseName="alb", TableInput=table_input(name="late"))
    code, report, _ = check("--table", "late", "--no-query")
    assert code == 1
    covers = next(c for c in report if c["check"] == "projection covers the data")
    assert covers["detail"] == "the first day of logs is 2023/12/30, the range starts 2024/01/01"
    assert covers["fix"].startswith("start projection.day.range at 2023/12/30 or earlier")


def test_a_regex_without_the_shapes_before_lambda_targets(glue: Any, aws: MotoServer) -> None:
    # This project's own regex until the 2016 to mid-2018 shapes were added: every field up to
    # error_reason required. check-table names each older shape it rejects.
    fmt = log_format()
    required = {"domain_name", "matched_rule_priority", "redirect_url", "error_reason"}
    older = replace(
        fmt, fields=tuple(replace(f, optional_from=None) if f.name in required else f for f in fmt.fields)
    )
    glue.create_table(DatabaseName="alb", TableInput=table_input(name="older", regex=older.regex()))
    code, report, _ = check("--table", "older", "--no-query")
    assert code == 1
    assert set(problems(report)) == {
        f"parses {v} lines" for v in ("2016-08", "2017-10", "2018-05", "2018-07")
    }
    detail = {c["check"]: c["detail"] for c in report}
    assert "from 2016-08" in detail["parses 2016-08 lines"] and detail["parses 2018-11 lines"] == "matches"


def test_table_values_print_inert(glue: Any, aws: MotoServer) -> None:
    # Whoever may edit the table's definition writes what the details quote: shown, never obeyed.
    glue.create_table(
        DatabaseName="alb",
        TableInput=table_input(name="odd", parameters={"projection.day.format": "\x1b]0;pwned\x07"}),
    )
    result = runner.invoke(app, ["check-table", "--database", "alb", "--table", "odd", "--no-query"])
    assert result.exit_code == 1
    assert "\x1b" not in result.stdout and "\\x1b]0;pwned\\x07" in result.stdout


def test_other_logs_in_the_location(glue: Any, aws: MotoServer) -> None:
    # ALB writes connection and health-check logs to the same day folders when they share the access
    # logs' bucket and prefix: a query reading whole `day` partitions reads them as all-NULL rows.
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="my-alb-logs", CreateBucketConfiguration={"LocationConstraint": REGION})
    root = LOCATION.removeprefix("s3://my-alb-logs/")
    name = "123456789012_elasticloadbalancing_eu-west-1_app.shop-prod.50dc6c495c0c9188_{}_10.0.1.5_abc.log.gz"
    objects = {
        # An earlier day's connection log does not count: the check reads the latest day folder.
        f"2024/01/01/conn_log_{name.format('20240101T0005Z')}": 10,
        f"2024/01/02/{name.format('20240102T0005Z')}": 1000,
        f"2024/01/02/conn_log_{name.format('20240102T0005Z')}": 300,
        f"2024/01/02/conn_log_{name.format('20240102T0010Z')}": 300,
        f"2024/01/02/health_check_log_{name.format('20240102T0005Z')}": 424,
        "2024/01/02/hand-made.log": 5,  # no ELB object's name: not counted as another log
    }
    for key, size in objects.items():
        s3.put_object(Bucket="my-alb-logs", Key=f"{root}/{key}", Body=b"x" * size)
    glue.create_table(DatabaseName="alb", TableInput=table_input(name="mixed"))
    code, report, _ = check("--table", "mixed", "--no-query")
    assert code == 1 and set(problems(report)) == {"other logs in the location"}
    other = next(c for c in report if c["check"] == "other logs in the location")
    assert other["detail"] == (
        "the latest day folder (2024/01/02) holds 2 connection-log and 1 health-check-log objects "
        "(1.0 KB), not ALB access logs"
    )
    assert "all-NULL rows" in other["fix"] and "`$path` ranges" in other["fix"]
    for key in objects:
        if key.startswith("2024/01/02/") and ("conn_log" in key or "health_check" in key):
            s3.delete_object(Bucket="my-alb-logs", Key=f"{root}/{key}")
    code, report, _ = check("--table", "mixed", "--no-query")
    assert code == 0 and problems(report) == {}
    other = next(c for c in report if c["check"] == "other logs in the location")
    assert other["detail"] == "the latest day folder (2024/01/02) holds ALB access logs only"
