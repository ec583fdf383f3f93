"""The Terraform module run by Terraform itself, with the real AWS provider from the machine's filesystem
mirror (tests/terraform_harness.py finds it; nothing is downloaded): `validate` of the example and of a
minimal and a maximal root module, `plan` of each against moto's server on loopback, and, in the
test after, the example's whole life: apply, plan again with no change, the CLI on what Terraform made,
a query in the work group, destroy. All of it is in the `slow` tier (minutes, most of it the provider
starting for each command).

Without Terraform on the PATH or the provider in a mirror these tests skip, saying which is missing:
they never pass silently. moto's gaps the provider runs into are filled in the harness, each named
there (`fill_gaps`); the module is never changed for the emulator.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from alb502athena.cli.app import app
from tests.aws import ACCOUNT, REGION, queue_athena_results
from tests.conftest import REPO
from tests.terraform_harness import (
    GapFillingMotoServer,
    Terraform,
    cli_config,
    definite_json_paths,
    find_mirror,
    mirror_versions,
    provider_override,
    scratch_copy,
)

# Each Terraform command starts the AWS provider (seconds of CPU): the whole file is the slow tier,
# which scripts/test (CI) runs.
pytestmark = pytest.mark.slow

MODULE = REPO / "terraform"
LONG_NAME = "a-schedule-name-of-forty-characters-long"  # the longest the module's validation allows
assert len(LONG_NAME) == 40

MINIMAL = """
module "alb502" {
  source           = "../mod"
  log_bucket       = "my-alb-logs"
  projection_start = "2024/01/01"
}
"""

# Every input, with schedules whose names and intervals exercise the defects of issue 15.
MAXIMAL = f"""
module "alb502" {{
  source           = "../mod"
  log_bucket       = "my-alb-logs"
  log_prefix       = "prod/web"
  account_id       = "210987654321"
  region           = "eu-central-1"
  projection_start = "2024/01/01"
  load_balancers   = ["app/shop/50dc6c495c0c9188", "app/api-v2-edge/0f1e2d3c4b5a6978"]
  database_name    = "alb_prod"
  table_name       = "web_logs"
  workgroup_name   = "alb502-prod"
  results_bucket = {{
    create          = false
    name            = "my-athena-results"
    expiration_days = 7
  }}
  kms_key_arn              = "arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
  bytes_scanned_cutoff     = 10485760
  saved_query_window_hours = 6
  schedules = {{
    {LONG_NAME} = {{
      query               = "connect-failed"
      schedule_expression = "rate(5 minutes)"
    }}
    hourly = {{
      query               = "diagnosis"
      schedule_expression = "rate(1 hour)"
      threshold           = 50
    }}
    quarter = {{
      query               = "target-502"
      schedule_expression = "cron(0/15 * * * ? *)"
      interval_minutes    = 15
      timezone            = "Europe/Paris"
    }}
  }}
  alert_topic_arn       = "arn:aws:sns:{REGION}:{ACCOUNT}:oncall"
  query_timeout_seconds = 600
  log_retention_days    = 30
  cloudtrail = {{
    bucket     = "my-trail"
    prefix     = "org"
    table_name = "trail"
    start      = "2024/06/01"
  }}
  tags = {{ team = "platform" }}
}}

output "definition" {{
  value = module.alb502.state_machine_arn
}}
"""

UNKNOWN_QUERY = """
module "alb502" {
  source           = "../mod"
  log_bucket       = "my-alb-logs"
  projection_start = "2024/01/01"
  schedules = {
    oops = { query = "no-such-signature", schedule_expression = "rate(1 hour)" }
  }
}
"""

# A year of saved query over two load balancers: 366 day folders of ranges each, more than Athena takes.
TOO_LONG = """
module "alb502" {
  source                   = "../mod"
  log_bucket               = "my-alb-logs"
  projection_start         = "2024/01/01"
  saved_query_window_hours = 8760
  load_balancers           = ["app/shop/50dc6c495c0c9188", "app/api-v2-edge/0f1e2d3c4b5a6978"]
}
"""


class Toolchain:
    def __init__(self, mirror: Path, config: Path) -> None:
        self.mirror = mirror
        self.config = config


@pytest.fixture(scope="module")
def toolchain(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Toolchain:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on the PATH: the module's validate/plan/apply tests cannot run")
    mirror = find_mirror()
    if mirror is None:
        pytest.skip(
            "no filesystem mirror of hashicorp/aws (find / -maxdepth 4 -type d -name registry.terraform.io "
            "finds none; set ALB502_TF_PLUGIN_DIR): the tests download nothing"
        )
    config = cli_config(mirror, tmp_path_factory.mktemp("tfcli") / "terraformrc")
    # Said in the test output, so a reader knows which Terraform and provider ran.
    version = subprocess.run(["terraform", "version"], capture_output=True, text=True, timeout=60).stdout
    line = (
        f"terraform: {version.splitlines()[0] if version else '?'}, hashicorp/aws "
        f"{', '.join(mirror_versions(mirror))} from the filesystem mirror {mirror} (no download)"
    )
    say(request, line)
    return Toolchain(mirror, config)


def say(request: pytest.FixtureRequest, line: str) -> None:
    """A line in pytest's output whether or not output is captured."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        sys.stderr.write(f"\n{line}\n")
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(f"\n{line}")


@pytest.fixture(scope="module")
def moto() -> Iterator[GapFillingMotoServer]:
    server = GapFillingMotoServer()
    yield server
    server.stop()


def root_module(tmp_path: Path, toolchain: Toolchain, body: str, endpoint: str | None) -> Terraform:
    """A root module beside a scratch copy of the module, with the provider pointed at `endpoint`."""
    scratch_copy(MODULE, tmp_path / "mod")
    root = tmp_path / "root"
    root.mkdir()
    (root / "main.tf").write_text(body)
    (root / "provider_override.tf").write_text(provider_override(endpoint))
    tf = Terraform(root, toolchain.config)
    tf.run("init", "-input=false")
    return tf


def example(tmp_path: Path, toolchain: Toolchain, endpoint: str | None) -> Terraform:
    copy = scratch_copy(MODULE, tmp_path / "mod")
    root = copy / "examples" / "complete"
    (root / "provider_override.tf").write_text(provider_override(endpoint))
    tf = Terraform(root, toolchain.config)
    tf.run("init", "-input=false")
    return tf


def warnings_in(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [block.strip()[:300] for block in (done.stdout + done.stderr).split("Warning:")[1:]]


def validate(tf: Terraform) -> None:
    done = tf.run("validate", "-json", check=False)
    report = json.loads(done.stdout)
    assert report["valid"], report["diagnostics"]
    # Issue 15, defect 7: no deprecation (or any other) warning from the provider.
    assert report["warning_count"] == 0, report["diagnostics"]


def planned(plan_json: dict[str, Any], address: str) -> dict[str, Any]:
    for change in plan_json["resource_changes"]:
        if change["address"] == address:
            return dict(change["change"]["after"])
    raise AssertionError(f"{address} is not in the plan")


def check_asl(definition: str, tmp_path: Path) -> None:
    validator = shutil.which("asl-validator") or REPO / ".node" / "node_modules" / ".bin" / "asl-validator"
    if not Path(validator).exists():
        pytest.skip("asl-validator is not installed (scripts/test installs it into .node/ with npm)")
    path = tmp_path / "definition.json"
    path.write_text(definition)
    done = subprocess.run(
        [str(validator), "--json-path", str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_mirror_holds_a_provider_the_module_accepts(toolchain: Toolchain) -> None:
    versions = mirror_versions(toolchain.mirror)
    assert versions
    majors = {int(v.split(".")[0]) for v in versions}
    assert majors <= {5, 6}, "versions.tf bounds the provider to 5.x and 6.x"


def test_validate_and_plan_the_example(
    tmp_path: Path, toolchain: Toolchain, moto: GapFillingMotoServer
) -> None:
    tf = example(tmp_path, toolchain, moto.url)
    validate(tf)
    done = tf.run("plan", "-input=false")
    assert not warnings_in(done), warnings_in(done)
    assert "Plan:" in done.stdout and " to add, 0 to change, 0 to destroy." in done.stdout


def test_plan_minimal(tmp_path: Path, toolchain: Toolchain, moto: GapFillingMotoServer) -> None:
    tf = root_module(tmp_path, toolchain, MINIMAL, moto.url)
    validate(tf)
    done = tf.run("plan", "-input=false", "-out=plan.bin")
    assert not warnings_in(done), warnings_in(done)
    shown = json.loads(tf.run("show", "-json", "plan.bin").stdout)
    kinds = {c["type"] for c in shown["resource_changes"]}
    assert {
        "aws_glue_catalog_table",
        "aws_athena_workgroup",
        "aws_athena_named_query",
        "aws_s3_bucket",
    } <= kinds
    assert "aws_sfn_state_machine" not in kinds  # no schedules, no state machine
    # The caller's account and the provider's region, known at plan (defect 7: read without aws_region).
    table = planned(shown, "module.alb502.aws_glue_catalog_table.this")
    assert table["storage_descriptor"][0]["location"] == (
        f"s3://my-alb-logs/AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/"
    )
    query = planned(shown, 'module.alb502.aws_athena_named_query.this["diagnosis"]')
    # Defect 1: the saved queries state their own window (24 h by default) and count up to the run.
    assert query["description"].endswith("(the last 24 h before each run)")
    assert "interval '1440' minute" in query["query"] and "interval '0' minute" in query["query"]
    # Issue 14: no load balancers named, every ALB's access logs of the account and region, whole days.
    root = f"s3://my-alb-logs/AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/"
    assert query["query"].count(f"concat('{root}', ") == 2 * 2
    assert f"'{ACCOUNT}_elasticloadbalancing_{REGION}_app.')" in query["query"]


@pytest.fixture(scope="module")
def maximal_plan(
    tmp_path_factory: pytest.TempPathFactory, toolchain: Toolchain, moto: GapFillingMotoServer
) -> dict[str, Any]:
    tf = root_module(tmp_path_factory.mktemp("maximal"), toolchain, MAXIMAL, moto.url)
    validate(tf)
    done = tf.run("plan", "-input=false", "-out=plan.bin")
    assert not warnings_in(done), warnings_in(done)
    return dict(json.loads(tf.run("show", "-json", "plan.bin").stdout))


def test_plan_maximal(maximal_plan: dict[str, Any], tmp_path: Path) -> None:
    shown = maximal_plan
    lag = json.loads((MODULE / "generated" / "manifest.json").read_text())["delivery_lag_minutes"]

    # Defect 2: a schedule name of 40 characters plans (a name_prefix allowed 38 with its suffix).
    long = planned(shown, f'module.alb502.aws_scheduler_schedule.this["{LONG_NAME}"]')
    assert long["name"] == LONG_NAME

    # Defect 1: each schedule counts its own interval, ending the delivery lag before the run.
    for name, interval in ((LONG_NAME, 5), ("hourly", 60), ("quarter", 15)):
        schedule = planned(shown, f'module.alb502.aws_scheduler_schedule.this["{name}"]')
        payload = json.loads(schedule["target"][0]["input"])
        assert payload["window_minutes"] == interval and payload["lag_minutes"] == lag
        sql = payload["sql"]
        assert (
            f"time >= date_format((date_trunc('minute', current_timestamp) - interval '{interval + lag}' minute)"
            in sql
        )
        assert (
            f"time < date_format((date_trunc('minute', current_timestamp) - interval '{lag}' minute)" in sql
        )
        assert "'1440'" not in sql
        # Issue 14: only the objects of the two load balancers that may hold the window, per day folder.
        root = "s3://my-alb-logs/prod/web/AWSLogs/210987654321/elasticloadbalancing/eu-central-1/"
        assert sql.count('"$path" >= concat(') == 2 * 2 and sql.count(f"concat('{root}', ") == 2 * 2 * 2
        for lb in ("shop.50dc6c495c0c9188", "api-v2-edge.0f1e2d3c4b5a6978"):
            assert f"'210987654321_elasticloadbalancing_eu-central-1_app.{lb}_'" in sql
        assert payload["last"] == f"{interval + lag}m"
    hourly = json.loads(
        planned(shown, 'module.alb502.aws_scheduler_schedule.this["hourly"]')["target"][0]["input"]
    )
    # Defect 6: the diagnosis' count is never NULL nor missing (one row, coalesced).
    assert hourly["sql"].startswith("SELECT coalesce(sum(elb_502), 0) AS elb_502 FROM (")

    # Defect 4: the payloads are encrypted with the key, failures are kept in a dead-letter queue.
    assert long["kms_key_arn"].startswith("arn:aws:kms:")
    assert long["target"][0]["dead_letter_config"]

    saved = planned(shown, 'module.alb502.aws_athena_named_query.this["connect-failed"]')
    assert (
        saved["description"].endswith("(the last 6 h before each run)")
        and "interval '360' minute" in saved["query"]
    )

    # Defect 5: the work group goes with its query history.
    assert planned(shown, "module.alb502.aws_athena_workgroup.this")["force_destroy"] is True

    # Defect 6: the rendered definition is valid ASL (asl-validator), with a timeout that can fire.
    definition = planned(shown, "module.alb502.aws_sfn_state_machine.schedules[0]")["definition"]
    check_asl(definition, tmp_path)
    states = json.loads(definition)["States"]
    assert states["Query"]["TimeoutSeconds"] == 600
    assert all(states[s]["Catch"] for s in ("Query", "Results", "Alert", "QueryFailed"))

    table = planned(shown, "module.alb502.aws_glue_catalog_table.this")
    assert table["storage_descriptor"][0]["location"] == (
        "s3://my-alb-logs/prod/web/AWSLogs/210987654321/elasticloadbalancing/eu-central-1/"
    )


def failed_plan(tf: Terraform) -> str:
    """The error of a plan that must fail, on one line (Terraform wraps it in a box)."""
    done = tf.run("plan", "-input=false", check=False)
    assert done.returncode != 0
    return re.sub(r"\s+", " ", done.stderr.replace("│", " "))


def test_plan_names_an_unknown_query(
    tmp_path: Path, toolchain: Toolchain, moto: GapFillingMotoServer
) -> None:
    """Defect 8: the precondition's message, not "Invalid index" from a local evaluated first."""
    message = failed_plan(root_module(tmp_path, toolchain, UNKNOWN_QUERY, moto.url))
    assert "Invalid index" not in message
    assert (
        "schedules.oops.query must be `diagnosis` or a signature id" in message
        and "connect-failed" in message
    )


def test_plan_refuses_a_query_longer_than_athena_takes(
    tmp_path: Path, toolchain: Toolchain, moto: GapFillingMotoServer
) -> None:
    """Issue 14: the plan fails, naming the query and what to shorten, rather than every run."""
    message = failed_plan(root_module(tmp_path, toolchain, TOO_LONG, moto.url))
    assert "The saved query diagnosis is " in message and "more than Athena's 262144" in message
    assert "a shorter saved_query_window_hours or fewer load_balancers" in message


def test_apply_plan_again_use_and_destroy(
    tmp_path: Path,
    toolchain: Toolchain,
    moto: GapFillingMotoServer,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """The example's whole life against moto's server; the timings go to the test output."""
    tf = example(tmp_path, toolchain, moto.url)
    timings: dict[str, float] = {}

    started = time.monotonic()
    tf.run("apply", "-auto-approve", "-input=false")
    timings["apply"] = time.monotonic() - started
    outputs = tf.output()

    started = time.monotonic()
    again = tf.run("plan", "-detailed-exitcode", "-input=false", check=False)
    timings["plan"] = time.monotonic() - started
    assert again.returncode == 0, f"a second plan wants changes:\n{again.stdout}"

    # What Terraform made, read back through the AWS APIs.
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    iam = session.client("iam", endpoint_url=moto.url)
    statements = []
    for role in iam.list_roles()["Roles"]:
        for policy in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=policy)["PolicyDocument"]
            document = json.loads(document) if isinstance(document, str) else document
            statements += document["Statement"]
    by_sid = {s["Sid"]: s for s in statements if "Sid" in s}
    # Defect 3: GetBucketLocation granted without the s3:prefix condition it never carries.
    assert by_sid["LocateTheLogBucket"]["Action"] == "s3:GetBucketLocation"
    assert "Condition" not in by_sid["LocateTheLogBucket"]
    assert by_sid["LakeFormationData"]["Action"] == "lakeformation:GetDataAccess"
    assert by_sid["DeadLetter"]["Action"] == "sqs:SendMessage"
    sfn = session.client("stepfunctions", endpoint_url=moto.url)
    definition = json.loads(
        sfn.describe_state_machine(stateMachineArn=outputs["state_machine_arn"])["definition"]
    )
    assert definition["States"]["Query"]["TimeoutSeconds"] == 1800
    cloudwatch = session.client("cloudwatch", endpoint_url=moto.url)
    alarms = {a["MetricName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert alarms["ExecutionsFailed"]["AlarmActions"] == [outputs["alert_topic_arn"]]

    # The CLI on what Terraform made: the table is healthy, and a diagnosis runs in the work group.
    from tests.test_athena import DIAGNOSIS_COLUMNS, DIAGNOSIS_ROWS

    for name, value in {
        "AWS_ENDPOINT_URL": moto.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION, "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_MAX_ATTEMPTS": "3",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    queue_athena_results(moto.url, [("lines", "bigint"), ("unparsed_lines", "bigint")], [[1000, 0]])
    checked = runner.invoke(
        app, ["check-table", "--database", outputs["database"], "--table", outputs["table"]]
    )
    assert checked.exit_code == 0, checked.stderr + checked.stdout
    # ALB delivers to a bucket of the user's, which the module reads and does not create: the diagnosis
    # lists the window's day folders in it (the table's location) before its query.
    glue = session.client("glue", endpoint_url=moto.url)
    table = glue.get_table(DatabaseName=outputs["database"], Name=outputs["table"])["Table"]
    log_bucket = table["StorageDescriptor"]["Location"].removeprefix("s3://").split("/", 1)[0]
    session.client("s3", endpoint_url=moto.url).create_bucket(
        Bucket=log_bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    queue_athena_results(moto.url, DIAGNOSIS_COLUMNS, DIAGNOSIS_ROWS)
    diagnosed = runner.invoke(
        app,
        [
            "diagnose", "--engine", "athena", "--workgroup", outputs["workgroup"],
            "--database", outputs["database"], "--last", "1h", "--no-aws-evidence", "-o", "json",
        ],
    )  # fmt: skip
    assert diagnosed.exit_code == 0, diagnosed.stderr
    assert json.loads(diagnosed.stdout)["totals"]["elb_502"] == 12
    athena = session.client("athena", endpoint_url=moto.url)
    assert athena.list_query_executions(WorkGroup=outputs["workgroup"])["QueryExecutionIds"]

    # Defect 5: destroy succeeds although the work group now has query history.
    started = time.monotonic()
    tf.run("destroy", "-auto-approve", "-input=false")
    timings["destroy"] = time.monotonic() - started
    assert outputs["workgroup"] not in {w["Name"] for w in athena.list_work_groups()["WorkGroups"]}
    line = "terraform against moto: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
    say(request, line)


BRANCH_INPUT = {
    "name": "hourly",
    "sql": "SELECT 1",
    "threshold": 50,
    "window_minutes": 60,
    "lag_minutes": 15,
    "last": "75m",
}


def header_and(*rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{"Data": [{"VarCharValue": "elb_502"}]}, *({"Data": r} for r in rows)]


@pytest.mark.parametrize(
    ("case", "rows", "status", "alert"),
    [
        ("above the threshold", header_and([{"VarCharValue": "51"}]), "SUCCEEDED", "found 51 HTTP 502"),
        ("at the threshold", header_and([{"VarCharValue": "50"}]), "SUCCEEDED", None),
        ("below the threshold", header_and([{"VarCharValue": "0"}]), "SUCCEEDED", None),
        ("a NULL count", header_and([{}]), "FAILED", "NoCount"),
        ("no row at all", header_and(), "FAILED", "NoCount"),
        ("not a number", header_and([{"VarCharValue": '"x"'}]), "FAILED", "NoCount"),
        ("a failed query", None, "FAILED", "scheduled query hourly failed"),
    ],
)
def test_state_machine_takes_the_right_branch(
    case: str,
    rows: list[dict[str, Any]] | None,
    status: str,
    alert: str | None,
    maximal_plan: dict[str, Any],
    moto: GapFillingMotoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rendered definition, run by moto's Step Functions interpreter. moto cannot run the Athena
    integration (`.sync` on Athena is outside what its interpreter supports), so the two Athena tasks
    are replaced, and only they: the query by a Pass holding its execution id (or, for a failed query,
    by a task that fails, with the query's own Retry and Catch), the results by a Pass holding
    GetQueryResults' answer followed by the state's own ResultSelector. Every Choice, Pass, Catch and SNS
    task is the module's."""
    import requests

    definition = json.loads(
        planned(maximal_plan, "module.alb502.aws_sfn_state_machine.schedules[0]")["definition"]
    )
    states = definition["States"]
    query, results = states["Query"], states["Results"]
    if rows is None:
        # Publishing to a topic that does not exist fails, as a failed query does, into the Catch.
        query["Resource"] = "arn:aws:states:::sns:publish"
        query["Parameters"] = {"TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic", "Message": "x"}
        query.pop("TimeoutSeconds")
    else:
        states["Query"] = {
            "Type": "Pass",
            "Result": {"QueryExecution": {"QueryExecutionId": "q-1"}},
            "ResultPath": query["ResultPath"],
            "Next": query["Next"],
        }
    states["Results"] = {
        "Type": "Pass",
        "Result": {"ResultSet": {"Rows": rows or []}},
        "ResultPath": "$.raw",
        "Next": "Selected",
    }
    states["Selected"] = {
        "Type": "Pass",
        "Parameters": {k: v.replace("$.", "$.raw.", 1) for k, v in results["ResultSelector"].items()},
        "ResultPath": results["ResultPath"],
        "Next": results["Next"],
    }

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    sns = session.client("sns", endpoint_url=moto.url)
    topic = sns.create_topic(Name="oncall")["TopicArn"]
    assert topic == f"arn:aws:sns:{REGION}:{ACCOUNT}:oncall"  # the maximal module's alert_topic_arn
    from moto.sns.models import sns_backends

    sent = sns_backends[ACCOUNT][REGION].topics[topic].sent_notifications
    sent.clear()
    definite_json_paths(monkeypatch)  # a gap of moto's interpreter, named there
    # The interpreter's own AWS calls (the SNS tasks) go to moto's port.
    monkeypatch.setenv("MOTO_PORT", moto.url.rsplit(":", 1)[1])
    config = f"{moto.url}/moto-api/config"
    requests.post(
        config, json={"stepfunctions": {"execute_state_machine": True}}, timeout=10
    ).raise_for_status()
    try:
        sfn = session.client("stepfunctions", endpoint_url=moto.url)
        machine = sfn.create_state_machine(
            name=f"branches-{len(sent)}-{abs(hash(case))}",
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/test",
        )["stateMachineArn"]
        run = sfn.start_execution(stateMachineArn=machine, input=json.dumps(BRANCH_INPUT))["executionArn"]
        for _ in range(600):  # a bound on the wait, not a timed assertion
            described = sfn.describe_execution(executionArn=run)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.1)
    finally:
        requests.post(config, json={"stepfunctions": {"execute_state_machine": False}}, timeout=10)
    assert described["status"] == status, (case, described)
    messages = [f"{subject}\n{message}" for _, message, subject, _, _ in sent]
    if alert is None:
        assert messages == [], case
    else:
        assert len(messages) == 1 and alert in messages[0], (case, messages)
    if case == "above the threshold":
        assert messages[0].startswith("alb502: 51 HTTP 502 in 60 min (hourly)")
        assert "in the 60 minutes ending 15 minutes before Athena query q-1 started" in messages[0]
        assert "--workgroup alb502-prod --last 75m" in messages[0]
