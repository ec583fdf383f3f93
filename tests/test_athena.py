"""The Athena engine against moto's Athena on loopback (queries succeed at once there and return canned
rows; failure states moto cannot produce are driven with botocore's Stubber, as noted where used)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import time
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from alb502athena.cli.app import app
from alb502athena.engines.athena import AthenaEngine, AthenaSettings
from alb502athena.errors import AwsError, Interrupted
from tests.aws import REGION, MotoServer

runner = CliRunner()
LB = "app/shop/50dc6c495c0c9188"
TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067"
DIAGNOSIS_COLUMNS = [
    ("level", "varchar"),
    ("signature", "varchar"),
    ("target", "varchar"),
    ("load_balancer", "varchar"),
    ("target_group", "varchar"),
    ("minute", "varchar"),
    ("lines", "bigint"),
    ("unparsed_lines", "bigint"),
    ("requests", "bigint"),
    ("elb_502", "bigint"),
    ("first_seen", "varchar"),
    ("last_seen", "varchar"),
]
T1, T2 = "2026-11-20T09:01:00.000000Z", "2026-11-20T09:50:00.000000Z"
DIAGNOSIS_ROWS = [
    ["total", None, None, None, None, None, 1000, 2, 990, 12, T1, T2],
    ["signature", "connect-failed", None, None, None, None, 10, 0, 10, 10, T1, "2026-11-20T09:20:00.000000Z"],
    ["target", "connect-failed", "10.0.0.7:8080", None, None, None, 8, 0, 8, 8, T1, T1],
    ["target", "connect-failed", "10.0.0.8:8080", None, None, None, 2, 0, 2, 2, T1, T1],
    ["source", "connect-failed", None, LB, TG, None, 10, 0, 10, 10, T1, T1],
    ["signature", "target-502", None, None, None, None, 2, 0, 2, 2, "2026-11-20T09:30:00.000000Z", T2],
    ["target", "target-502", "10.0.0.9:80", None, None, None, 2, 0, 2, 2, T1, T2],
    ["source", "target-502", None, LB, TG, None, 2, 0, 2, 2, T1, T2],
    ["minute", "connect-failed", None, None, None, "2026-11-20T09:01", 10, 0, 10, 10, T1, T1],
    ["signature", None, None, None, None, None, 988, 2, 978, 0, None, None],
    ["target", None, None, None, None, None, 988, 2, 978, 0, None, None],
    ["source", None, None, None, None, None, 988, 2, 978, 0, None, None],
]
ATHENA = ["--engine", "athena", "--database", "alb", "--workgroup", "primary"]
WINDOW = ["--start", "2026-11-20T09:00Z", "--end", "2026-11-20T10:00Z"]


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def bucket(name: str) -> None:
    """An S3 bucket in moto: Athena writes each result file to the output location's bucket, and moto
    writes the result it was given there too (the rows are then read from that file)."""
    boto3.client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})


ROOT = "s3://my-alb-logs/AWSLogs/123456789012/elasticloadbalancing/eu-west-1"


def glue_table(name: str, location: str | None, template: str | None, database: str = "alb") -> None:
    glue = boto3.client("glue", region_name=REGION)
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(DatabaseInput={"Name": database})
    table: dict[str, Any] = {
        "Name": name,
        "StorageDescriptor": {"Columns": [{"Name": "type", "Type": "string"}]},
    }
    if location is not None:
        table["StorageDescriptor"]["Location"] = location
    if template is not None:
        table["Parameters"] = {"projection.enabled": "true", "storage.location.template": template}
    glue.create_table(DatabaseName=database, TableInput=table)


def logs_table() -> None:
    """The table Athena reads, as `alb502 ddl` creates it, over an empty log bucket: the engine asks Glue
    for its location and lists the window's day folders before the query (the `"$path"` ranges)."""
    bucket("my-alb-logs")
    glue_table("alb_logs", ROOT + "/", ROOT + "/${day}")


def test_diagnose_issues_one_query_with_the_printed_sql(aws: MotoServer) -> None:
    bucket("results")
    logs_table()
    aws.queue_results(DIAGNOSIS_COLUMNS, DIAGNOSIS_ROWS)
    code, out, err = invoke(
        "diagnose",
        *ATHENA,
        "--output-location",
        "s3://results/alb502/",
        "--table",
        "alb_logs",
        *WINDOW,
        "-o",
        "json",
    )
    assert code == 0, err
    (execution,) = aws.executions()
    _, printed, _ = invoke("sql", "diagnosis", *WINDOW, "--table", "alb_logs", "--location", ROOT)
    assert execution.query == printed
    assert "day BETWEEN '2026/11/20' AND '2026/11/21'" in execution.query
    assert execution.context == {"Database": "alb"} and execution.workgroup.name == "primary"
    assert execution.config["OutputLocation"].startswith("s3://results/alb502/")
    data = json.loads(out)
    assert data["engine"] == "athena"
    assert data["totals"] == {
        "lines": 1000, "unparsed_lines": 2, "requests": 990, "elb_502": 12,
        "lb_generated_502": 10, "target_generated_502": 2,
    }  # fmt: skip
    assert [(s["id"], s["count"]) for s in data["signatures"]] == [("connect-failed", 10), ("target-502", 2)]
    assert data["signatures"][0]["top_targets"][0] == {"target": "10.0.0.7:8080", "count": 8}
    assert data["signatures"][0]["sources"] == [{"load_balancer": LB, "target_group": TG, "count": 10}]
    stats = data["engine_stats"]
    assert stats["query_id"] == execution.id and stats["state"] == "SUCCEEDED"
    # Athena bills at least 10 MB a query.
    assert stats["data_scanned_bytes"] == 0 and stats["cost_usd"] == pytest.approx(10 / 1024**2 * 5, abs=1e-6)
    assert f"Athena query {execution.id}: 0 B scanned" in err


def recording_session(calls: list[tuple[str, dict[str, Any]]]) -> boto3.Session:
    session = boto3.Session(region_name=REGION)

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    session.events.register("provide-client-params.athena.*", record)
    return session


def test_result_reuse_and_polling_through_queued_and_running(aws: MotoServer) -> None:
    aws.queue_results([("n", "integer"), ("s", "varchar")], [[1, "x"]])
    aws.slow_queries(2)
    calls: list[tuple[str, dict[str, Any]]] = []
    seen: list[str] = []
    engine = AthenaEngine(
        AthenaSettings(database="alb", workgroup="primary", reuse_minutes=30, poll_seconds=0.01),
        progress=seen.append,
        aws_session=recording_session(calls),
    )
    result = engine.run("SELECT 1")
    assert result.rows == [(1, "x")]
    start = next(p for name, p in calls if name == "StartQueryExecution")
    assert start["ResultReuseConfiguration"] == {
        "ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": 30}
    }
    states = [s.split(": ")[1].split(",")[0] for s in seen]
    assert states[0] == "QUEUED" and "RUNNING" in states and states[-1] == "SUCCEEDED"


def test_results_are_paged(aws: MotoServer) -> None:
    # Without an output location the rows come through GetQueryResults (Athena pages it at 1,000 rows;
    # moto answers every row at once, see benchmarks/bench_athena_results.py).
    rows = [[i, f"t{i}"] for i in range(2500)]
    aws.queue_results([("n", "integer"), ("t", "varchar")], rows)
    engine = AthenaEngine(AthenaSettings(database="alb", poll_seconds=0.01))
    result = engine.run("SELECT n, t FROM x")
    assert result.columns == ["n", "t"] and len(result.rows) == 2500 and result.rows[-1] == (2499, "t2499")


def test_ctrl_c_stops_the_running_query(aws: MotoServer) -> None:
    aws.slow_queries(50)

    def interrupt(message: str) -> None:
        if "RUNNING" in message:
            raise KeyboardInterrupt

    engine = AthenaEngine(AthenaSettings(database="alb", poll_seconds=0.01), progress=interrupt)
    with pytest.raises(Interrupted, match="was stopped"):
        engine.run("SELECT 1")
    (execution,) = aws.executions()
    assert execution.status == "CANCELLED"


def test_ctrl_c_exit_code(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    logs_table()
    aws.slow_queries(50)

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    # Ctrl-C while pyathena waits between two polls of the running query.
    monkeypatch.setattr(time, "sleep", interrupt)
    code, _, err = invoke("diagnose", *ATHENA, *WINDOW)
    *before, last = err.strip().splitlines()
    assert before == ["Athena will read about 0 B (USD 0.0000, Athena's 10.0 MB minimum) from 0 objects of "
                      "2 day folders (every ALB access log in them)"]  # fmt: skip
    assert (
        code == 130 and last.startswith("Error: interrupted; Athena query ") and last.endswith("was stopped")
    )


def stubbed(
    responses: list[tuple[str, dict[str, Any]]],
    error: tuple[str, str, str] | None = None,
    timeout: float = 0.05,
) -> AthenaEngine:
    """An engine whose Athena client (pyathena's) answers from a Stubber: moto cannot produce FAILED
    queries, access-denied or throttling answers, so those paths are stubbed (no real service runs them)."""
    engine = AthenaEngine(
        AthenaSettings(database="alb", poll_seconds=0.01, timeout=timeout),
        aws_session=boto3.Session(region_name=REGION),
    )
    stub = Stubber(engine._client)
    for method, response in responses:
        stub.add_response(method, response)
    if error is not None:
        method, code, message = error
        stub.add_client_error(method, service_error_code=code, service_message=message)
    stub.add_response("stop_query_execution", {})
    stub.activate()
    return engine


def execution(state: str, reason: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    return {
        "QueryExecution": {
            "QueryExecutionId": "q-1",
            "Query": "SELECT 1",  # Athena always returns the query's text (pyathena requires it)
            "Status": status,
            "Statistics": {"DataScannedInBytes": 5},
        }
    }


def test_failed_query_carries_athena_reason_and_id() -> None:
    engine = stubbed(
        [
            ("start_query_execution", {"QueryExecutionId": "q-1"}),
            (
                "get_query_execution",
                execution("FAILED", "SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved"),
            ),
        ]
    )
    with pytest.raises(AwsError) as info:
        engine.run("SELECT x")
    assert str(info.value) == "Athena query q-1 FAILED: SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved"


def test_missing_table_hints_at_ddl() -> None:
    engine = stubbed(
        [
            ("start_query_execution", {"QueryExecutionId": "q-1"}),
            (
                "get_query_execution",
                execution(
                    "FAILED", "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.alb.alb_logs' does not exist"
                ),
            ),
        ]
    )
    with pytest.raises(AwsError, match=r"does not exist \(create the table with `alb502 ddl`\)$"):
        engine.run("SELECT 1 FROM alb_logs")


def test_cancelled_query() -> None:
    engine = stubbed(
        [
            ("start_query_execution", {"QueryExecutionId": "q-1"}),
            ("get_query_execution", execution("CANCELLED", "Query was cancelled by user")),
        ]
    )
    with pytest.raises(AwsError, match=r"^Athena query q-1 CANCELLED: Query was cancelled by user$"):
        engine.run("SELECT 1")


def test_access_denied_names_the_permission() -> None:
    message = "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: athena:StartQueryExecution on resource: arn:aws:athena:eu-west-1:123456789012:workgroup/primary"
    engine = stubbed([], error=("start_query_execution", "AccessDeniedException", message))
    with pytest.raises(
        AwsError,
        match=r"^access denied while running the Athena query: the athena:StartQueryExecution permission is missing",
    ):
        engine.run("SELECT 1")


def test_timeout_stops_the_query() -> None:
    # A timeout of 0 s has passed at the first poll, so the Stubber's answers come in a known order:
    # start, one poll, then the stop, whose failure would be reported.
    engine = stubbed(
        [
            ("start_query_execution", {"QueryExecutionId": "q-1"}),
            ("get_query_execution", execution("RUNNING")),
        ],
        timeout=0,
    )
    with pytest.raises(
        AwsError, match=r"^Athena query q-1 did not finish in 0 s \(--timeout\); it was stopped$"
    ):
        engine.run("SELECT 1")


def test_throttling_is_retried_then_reported(aws: MotoServer) -> None:
    engine = stubbed([], error=("start_query_execution", "ThrottlingException", "Rate exceeded"))
    with pytest.raises(AwsError, match=r"^AWS kept throttling while running the Athena query"):
        engine.run("SELECT 1")


def test_throttling_retries_with_backoff(aws: MotoServer) -> None:
    # botocore's standard retry mode retries throttling: two throttled answers, then moto answers.
    aws.queue_results([("n", "integer")], [[7]])
    session = boto3.Session(region_name=REGION)
    attempts = {"n": 0}

    def throttle(request: Any, **_: Any) -> None:
        if attempts["n"] < 2:
            attempts["n"] += 1
            from botocore.awsrequest import AWSResponse

            raw = type("Raw", (), {"stream": lambda self, **_: iter([b""])})()
            body = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
            response = AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ThrottlingException"}, raw)
            response._content = body
            return response  # type: ignore[return-value]
        return None

    session.events.register("before-send.athena.StartQueryExecution", throttle)
    engine = AthenaEngine(AthenaSettings(database="alb", poll_seconds=0.01), aws_session=session)
    assert engine.run("SELECT 7").rows == [(7,)]
    assert attempts["n"] == 2


def test_no_credentials_and_no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, _, err = invoke("diagnose", *ATHENA, *WINDOW)
    assert (
        code == 2
        and err.strip()
        == "Error: no AWS region: use --region or set AWS_REGION (or a region in your profile)"
    )
    code, _, err = invoke("diagnose", *ATHENA, *WINDOW, "--region", REGION)
    assert (
        code == 3
        and err.strip()
        == "Error: no AWS credentials: set AWS_PROFILE, run `aws configure` or `aws sso login`"
    )
    code, _, err = invoke("diagnose", *ATHENA, "--profile", "nope", *WINDOW)
    assert code == 2 and err.strip() == "Error: no AWS profile named 'nope' (see ~/.aws/config)"


def test_athena_usage_errors(aws: MotoServer) -> None:
    code, _, err = invoke("diagnose", "--engine", "athena", *WINDOW)
    assert code == 2 and err.strip() == "Error: the athena engine needs --database (or ALB502_DATABASE)"
    code, _, err = invoke("diagnose", "--engine", "athena", "--database", "alb; drop", *WINDOW)
    assert (
        code == 2
        and err.strip() == "Error: invalid --database 'alb; drop': letters, digits and underscores only"
    )


@pytest.mark.parametrize("output", ["table", "markdown"])
def test_a_time_from_athena_that_is_not_a_time(aws: MotoServer, output: str) -> None:
    logs_table()
    # Athena's rows are strings, log data as the lines held it: a billed answer is never lost to it.
    bad = "2026-13-45T99:99:99.000000Z"
    rows = [[bad if v == T2 else v for v in row] for row in DIAGNOSIS_ROWS] + [
        ["minute", "target-502", None, None, None, bad[:16], 2, 0, 2, 2, bad, bad]
    ]
    aws.queue_results(DIAGNOSIS_COLUMNS, rows)
    code, out, err = invoke("diagnose", *ATHENA, "--no-aws-evidence", *WINDOW, "-o", output)
    assert code == 0, err
    assert "2 HTTP 502 with a time that is not a time" in " ".join(out.split())
    assert "2026-13-45" in out  # shown as it is


# pyathena as the driver, against moto's Athena: what each query is started with, and where its rows
# are read from.


def test_sql_is_sent_verbatim_with_a_percent_sign(aws: MotoServer) -> None:
    # pyathena formats a query with `%` directives when given parameters, and strips it: the engine's
    # formatter sends the text as it is, so a LIKE pattern or a literal `%s` reaches Athena unchanged.
    aws.queue_results([("p", "varchar")], [["100%"]])
    sql = "SELECT '100%' AS p WHERE 'a%(x)s %s %%' LIKE '%'\n"
    engine = AthenaEngine(AthenaSettings(database="alb", poll_seconds=0.01))
    assert engine.run(sql).rows == [("100%",)]
    (execution,) = aws.executions()
    assert execution.query == sql


def test_work_group_database_output_location_and_reuse(
    aws: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyathena would read these two variables when a setting is not given: alb502's settings decide.
    monkeypatch.setenv("AWS_ATHENA_WORK_GROUP", "not-this-one")
    monkeypatch.setenv("AWS_ATHENA_S3_STAGING_DIR", "s3://not-this-bucket/")
    boto3.client("athena", region_name=REGION).create_work_group(Name="alb502", Configuration={})
    bucket("results")
    aws.queue_results([("n", "bigint")], [[1]])
    calls: list[tuple[str, dict[str, Any]]] = []
    settings = AthenaSettings(
        database="logs_db",
        workgroup="alb502",
        output_location="s3://results/q/",
        reuse_minutes=60,
        poll_seconds=0.01,
    )
    engine = AthenaEngine(settings, aws_session=recording_session(calls))
    result = engine.run("SELECT count(*) AS n FROM alb_logs")
    assert result.rows == [(1,)]
    (execution,) = aws.executions()
    assert execution.workgroup.name == "alb502"
    assert execution.context == {"Database": "logs_db"}
    assert execution.config["OutputLocation"] == f"s3://results/q/{execution.id}.csv"
    start = next(p for name, p in calls if name == "StartQueryExecution")
    assert start["ResultReuseConfiguration"] == {
        "ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": 60}
    }
    assert result.stats is not None and result.stats.query_id == execution.id


def test_no_work_group_and_no_output_location(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Neither given: the query runs in Athena's default work group, named since pyathena needs one,
    # with no ResultConfiguration and no reuse; the rows then come through GetQueryResults, and a note
    # says so.
    monkeypatch.setenv("AWS_ATHENA_S3_STAGING_DIR", "s3://not-this-bucket/")
    aws.queue_results([("n", "bigint")], [[1]])
    calls: list[tuple[str, dict[str, Any]]] = []
    engine = AthenaEngine(
        AthenaSettings(database="alb", poll_seconds=0.01), aws_session=recording_session(calls)
    )
    assert engine.run("SELECT 1 AS n").rows == [(1,)]
    start = next(p for name, p in calls if name == "StartQueryExecution")
    assert start["WorkGroup"] == "primary"
    assert "ResultConfiguration" not in start and "ResultReuseConfiguration" not in start
    assert engine.notes == [
        "Athena gave no result file (managed query results): the rows came through GetQueryResults, 1,000 a call"
    ]


def test_rows_are_read_from_the_result_file_in_batches(aws: MotoServer) -> None:
    # moto writes the rows it was given as the query's result file at the output location, as Athena
    # does (each value quoted, NULL an empty field): they are read from there, not through
    # GetQueryResults, whose one call (one row) only describes the columns.
    bucket("results")
    rows = [[i, f"t{i}", None if i % 3 else "", i % 2 == 0, i / 4] for i in range(2500)]
    columns = [("n", "integer"), ("t", "varchar"), ("e", "varchar"), ("b", "boolean"), ("d", "double")]
    aws.queue_results(columns, rows)
    calls: list[tuple[str, dict[str, Any]]] = []
    session = recording_session(calls)
    s3_calls: list[str] = []
    session.events.register("provide-client-params.s3.*", lambda model, **_: s3_calls.append(model.name))
    engine = AthenaEngine(
        AthenaSettings(database="alb", output_location="s3://results/", poll_seconds=0.01),
        aws_session=session,
    )
    with engine.stream("SELECT n, t, e, b, d FROM x", batch_rows=1000) as result:
        assert result.columns == ["n", "t", "e", "b", "d"]
        batches = list(result.batches)
    assert [len(b) for b in batches] == [1000, 1000, 500]
    got = [r for b in batches for r in b]
    # pyathena's conversion: integers, booleans and doubles typed; NULL and the empty string apart.
    assert got == [tuple(r) for r in rows]
    assert [p.get("MaxResults") for name, p in calls if name == "GetQueryResults"] == [1]
    assert "GetObject" in s3_calls


def test_an_unreadable_result_file_names_the_query_and_the_file(aws: MotoServer) -> None:
    # The output location's bucket does not exist in moto, so there is no result file to read.
    aws.queue_results([("n", "integer")], [[1]])
    engine = AthenaEngine(AthenaSettings(database="alb", output_location="s3://gone/", poll_seconds=0.01))
    with pytest.raises(AwsError) as info:
        engine.run("SELECT 1 AS n")
    (execution,) = aws.executions()
    assert f"reading the result of Athena query {execution.id} at s3://gone/{execution.id}.csv" in str(
        info.value
    )


def test_stats_of_the_query(aws: MotoServer) -> None:
    bucket("results")
    aws.queue_results([("n", "integer")], [[1]])
    engine = AthenaEngine(AthenaSettings(database="alb", output_location="s3://results/", poll_seconds=0.01))
    result = engine.run("SELECT 1 AS n")
    (execution,) = aws.executions()
    assert engine.last_stats is result.stats
    assert result.stats is not None
    assert result.stats.as_json() == {
        "query_id": execution.id,
        "state": "SUCCEEDED",
        "data_scanned_bytes": 0,
        "engine_ms": 0,
        "reused_previous_result": False,
        "cost_usd": round(10 / 1024**2 * 5, 6),
        "price_per_tb_usd": 5.0,
    }


def test_ctrl_c_when_the_stop_fails() -> None:
    # Stubbed: moto always stops a query. The message must not claim a stop that did not happen.
    engine = AthenaEngine(
        AthenaSettings(database="alb", poll_seconds=0.01),
        progress=lambda message: (_ for _ in ()).throw(KeyboardInterrupt) if "RUNNING" in message else None,
        aws_session=boto3.Session(region_name=REGION),
    )
    stub = Stubber(engine._client)
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    stub.add_response("get_query_execution", execution("RUNNING"))
    denied = "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: athena:StopQueryExecution on resource: x"
    stub.add_client_error(
        "stop_query_execution", service_error_code="AccessDeniedException", service_message=denied
    )
    stub.activate()
    with pytest.raises(Interrupted) as info:
        engine.run("SELECT 1")
    assert str(info.value).startswith(
        "interrupted; Athena query q-1 may still be running: stopping it failed (access denied while "
        "stopping the Athena query: the athena:StopQueryExecution permission is missing"
    )


def test_failed_query_keeps_its_statistics() -> None:
    # A failed query is billed for what it scanned: its statistics are kept for the user.
    engine = stubbed(
        [
            ("start_query_execution", {"QueryExecutionId": "q-1"}),
            ("get_query_execution", execution("FAILED", "HIVE_BAD_DATA: bad")),
        ]
    )
    with pytest.raises(AwsError, match=r"^Athena query q-1 FAILED: HIVE_BAD_DATA: bad$"):
        engine.run("SELECT 1")
    assert engine.last_stats is not None
    assert (engine.last_stats.state, engine.last_stats.data_scanned_bytes) == ("FAILED", 5)


def located(table: str) -> str | None:
    return AthenaEngine(AthenaSettings(database="alb", table=table)).log_location()


def test_log_location_from_the_projection_template(aws: MotoServer) -> None:
    # The template wins over the location (Athena reads the template's folders when projection is on).
    glue_table("alb_logs", "s3://elsewhere/", ROOT + "/${day}")
    assert located("alb_logs") == ROOT


def test_log_location_from_a_template_with_a_trailing_slash(aws: MotoServer) -> None:
    glue_table("t", None, ROOT + "/${day}/")
    assert located("t") == ROOT


def test_log_location_without_projection_and_in_another_database(aws: MotoServer) -> None:
    glue_table("plain", ROOT + "/", None, database="other")
    assert located("other.plain") == ROOT


def test_log_location_of_a_table_with_neither(aws: MotoServer) -> None:
    glue_table("bare", None, "s3://no-day-in-it/")
    assert located("bare") is None


def test_log_location_of_a_missing_table(aws: MotoServer) -> None:
    glue_table("alb_logs", ROOT, None)
    with pytest.raises(AwsError, match=r"\(create the table with `alb502 ddl`\)$") as info:
        located("nope")
    assert "nope" in str(info.value)


def test_log_location_access_denied() -> None:
    # Stubbed: moto grants every call.
    engine = AthenaEngine(AthenaSettings(database="alb"), aws_session=boto3.Session(region_name=REGION))
    stub = Stubber(engine.glue())
    message = (
        "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: glue:GetTable on resource: x"
    )
    stub.add_client_error("get_table", service_error_code="AccessDeniedException", service_message=message)
    stub.activate()
    with pytest.raises(
        AwsError,
        match=r"^access denied while reading the Glue table alb\.alb_logs: the glue:GetTable permission is missing",
    ):
        engine.log_location()


def test_run_streams_every_row_from_the_result_file(aws: MotoServer) -> None:
    logs_table()
    # `alb502 run --limit 0` on Athena: the rows of the result file, as the CLI writes them.
    bucket("results")
    rows = [
        [
            f"2026-11-20T09:{i // 60 % 60:02d}:{i % 60:02d}.000000Z",
            f"10.0.0.{i % 9}:80",
            None if i % 2 else "a,b",
        ]
        for i in range(1500)
    ]
    aws.queue_results([("time", "varchar"), ("target", "varchar"), ("note", "varchar")], rows)
    code, out, err = invoke(
        "run",
        "connect-failed",
        *ATHENA,
        "--output-location",
        "s3://results/",
        *WINDOW,
        "--limit",
        "0",
        "-o",
        "csv",
    )
    assert code == 0, err
    written = list(csv.reader(io.StringIO(out)))
    assert written[0] == ["time", "target", "note"]
    assert written[1:] == [["" if v is None else v for v in r] for r in rows]


def test_the_cost_printed_after_a_query_is_athenas_billing_rule() -> None:
    # Before: the stats rounded nothing up to the MB, unlike the estimate (cost.billed_usd), so the
    # two figures printed side by side disagreed for the same bytes.
    from alb502athena.cost import billed_usd
    from alb502athena.engines.athena import EngineStats

    scanned = 10 * 1024**2 + 1  # just over the minimum: billed as 11 MB
    stats = EngineStats("q", "SUCCEEDED", scanned, 1, reused=False, price_per_tb=5.0)
    assert stats.cost_usd == billed_usd(scanned, 5.0) == 11 * 1024**2 / 1024**4 * 5.0
    assert EngineStats("q", "SUCCEEDED", scanned, 1, reused=True, price_per_tb=5.0).cost_usd == 0.0
