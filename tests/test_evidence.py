"""AWS evidence on moto's server: metrics put into CloudWatch, a load balancer and target groups in
ELBv2, and the verdicts they change. Refusals are driven with botocore's Stubber (moto does not enforce
IAM), as noted where used."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from alb502athena.cli.app import app
from alb502athena.diagnosis import diagnose
from alb502athena.engines.local import LocalEngine
from alb502athena.evidence.gather import gather
from alb502athena.logfiles import discover
from alb502athena.render import QueryParams
from alb502athena.window import Window
from tests.aws import REGION, MotoServer
from tests.conftest import write_log
from tests.lines import make_line, signature_line

runner = CliRunner()
WINDOW = ["--start", "2026-11-20T09:00Z", "--end", "2026-11-20T10:00Z"]


@pytest.fixture
def alb(aws: MotoServer) -> dict[str, str]:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"][
            "SubnetId"
        ]
        for i, z in ((1, "a"), (2, "b"))
    ]
    elbv2 = boto3.client("elbv2", region_name=REGION)
    lb_arn = elbv2.create_load_balancer(Name="shop", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=lb_arn, Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "120"}]
    )
    tg = elbv2.create_target_group(Name="web", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")
    tg_arn = tg["TargetGroups"][0]["TargetGroupArn"]
    return {"lb": lb_arn.split(":loadbalancer/")[1], "lb_arn": lb_arn, "tg": tg_arn}


def put_metric(
    name: str, value: float, lb: str, when: str = "2026-11-20T09:30:00+00:00", tg: str | None = None
) -> None:
    dims = [{"Name": "LoadBalancer", "Value": lb}] + ([{"Name": "TargetGroup", "Value": tg}] if tg else [])
    boto3.client("cloudwatch", region_name=REGION).put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": dims,
                "Timestamp": datetime.fromisoformat(when),
                "Value": value,
                "Unit": "Count",
            }
        ],
    )


def logs(tmp_path: Path, alb: dict[str, str]) -> Path:
    common = {"elb": alb["lb"], "target_group_arn": alb["tg"], "time": "2026-11-20T09:30:00.000000Z"}
    lines = [signature_line("connect-failed", **common)] * 3 + [
        signature_line("response-failed", **common)
    ] * 2
    return write_log(
        tmp_path / "2026/11/20" / "a.log", [*lines, make_line(**common)]
    ).parent.parent.parent.parent


def test_evidence_changes_the_verdicts(aws: MotoServer, alb: dict[str, str], tmp_path: Path) -> None:
    put_metric("TargetConnectionErrorCount", 3, alb["lb"])
    put_metric("HTTPCode_ELB_502_Count", 9, alb["lb"])
    put_metric("HTTPCode_ELB_502_Count", 100, alb["lb"], when="2026-11-20T11:30:00+00:00")  # outside
    result = runner.invoke(
        app, ["diagnose", str(logs(tmp_path, alb)), *WINDOW, "--aws-evidence", "-o", "json"]
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    evidence = {s["id"]: s["evidence"] for s in data["signatures"]}
    assert evidence["connect-failed"]["metrics"] == {
        "TargetConnectionErrorCount": 3.0,
        "TargetTLSNegotiationErrorCount": 0.0,
    }
    assert evidence["connect-failed"]["verdict"].startswith(
        "TCP connections to the targets failed (3 TargetConnectionErrorCount)"
    )
    assert evidence["response-failed"]["config"]["idle_timeout_seconds"] == [120]
    assert evidence["response-failed"]["verdict"] == (
        "the load balancer's idle timeout is 120 s: the targets' HTTP keep-alive timeout must be longer "
        "than 120 s (for example 135 s)"
    )
    # 9 in CloudWatch, 5 in the logs: said, not hidden.
    assert "CloudWatch counts 9 HTTPCode_ELB_502_Count where the logs show 5" in result.stderr


def test_tls_failures_point_at_tls(aws: MotoServer, alb: dict[str, str], tmp_path: Path) -> None:
    put_metric("TargetTLSNegotiationErrorCount", 3, alb["lb"])
    cert = boto3.client("acm", region_name=REGION).request_certificate(DomainName="shop.example.com")
    boto3.client("elbv2", region_name=REGION).create_listener(
        LoadBalancerArn=alb["lb_arn"], Protocol="HTTPS", Port=443,
        SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        Certificates=[{"CertificateArn": cert["CertificateArn"]}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": alb["tg"]}],
    )  # fmt: skip
    window = Window.from_options(None, "2026-11-20T09:00Z", "2026-11-20T10:00Z")
    d = diagnose(LocalEngine(discover([logs(tmp_path, alb)], window).files, window), QueryParams(window))
    evidence = gather(d, boto3.Session(region_name=REGION))
    assert evidence["connect-failed"].verdict == (
        "TLS handshakes to the targets failed (3 TargetTLSNegotiationErrorCount): check the targets' TLS "
        "versions and ciphers against the load balancer's backend policy (ELBSecurityPolicy-TLS13-1-0-2021-06)"
    )
    assert evidence["connect-failed"].config["backend_tls_policies"] == [
        "ELBSecurityPolicy-TLS13-1-0-2021-06"
    ]


def test_missing_permissions_degrade_to_not_checked(
    aws: MotoServer, alb: dict[str, str], tmp_path: Path
) -> None:
    window = Window.from_options(None, "2026-11-20T09:00Z", "2026-11-20T10:00Z")
    d = diagnose(LocalEngine(discover([logs(tmp_path, alb)], window).files, window), QueryParams(window))
    session = boto3.Session(region_name=REGION)
    clients: dict[str, Any] = {}
    real_client = session.client

    def refusing_client(service: str, **kwargs: Any) -> Any:
        # Stubbed refusals: moto does not enforce IAM.
        c = real_client(service, **kwargs)
        stub = Stubber(c)
        if service == "cloudwatch":
            stub.add_client_error(
                "get_metric_data",
                service_error_code="AccessDenied",
                service_message="User: arn:aws:iam::123456789012:user/x is not authorized to perform: cloudwatch:GetMetricData",
            )
        else:
            stub.add_client_error(
                "describe_load_balancers", service_error_code="AccessDenied", service_message="denied"
            )
            stub.add_client_error(
                "describe_target_groups", service_error_code="AccessDenied", service_message="denied"
            )
        stub.activate()
        clients[service] = stub
        return c

    session.client = refusing_client  # type: ignore[method-assign]
    evidence = gather(d, session)
    assert "not checked: cloudwatch:GetMetricData" in d.notes
    assert "not checked: elasticloadbalancing:DescribeLoadBalancers" in d.notes
    assert "not checked: elasticloadbalancing:DescribeTargetGroups" in d.notes
    assert evidence["response-failed"].verdict == ""  # nothing claimed without the evidence


def test_metrics_command(aws: MotoServer, alb: dict[str, str]) -> None:
    put_metric("HTTPCode_ELB_502_Count", 4, alb["lb"])
    put_metric("HTTPCode_ELB_502_Count", 5, alb["lb"], when="2026-11-20T09:45:00+00:00")
    result = runner.invoke(app, ["metrics", "--load-balancer", alb["lb"], *WINDOW, "-o", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["sums"]["HTTPCode_ELB_502_Count"] == 9.0 and data["sums"]["TargetConnectionErrorCount"] == 0.0
    bad = runner.invoke(app, ["metrics", "--load-balancer", "x' OR '1'='1", *WINDOW])
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: invalid --load-balancer")


def test_terminal_shows_one_evidence_line_per_signature(
    aws: MotoServer, alb: dict[str, str], tmp_path: Path
) -> None:
    put_metric("TargetConnectionErrorCount", 3, alb["lb"])
    result = runner.invoke(app, ["diagnose", str(logs(tmp_path, alb)), *WINDOW, "--aws-evidence"])
    assert result.exit_code == 0, result.stderr
    section = result.stdout.split("Evidence from CloudWatch and the configuration:\n", 1)[1].split("\n\n")[0]
    assert section.splitlines() == [
        "  connect-failed: TCP connections to the targets failed (3 TargetConnectionErrorCount): the targets "
        "refused (RST: nothing listening, restarting) or were unreachable (security group, NACL)",
        "  response-failed: the load balancer's idle timeout is 120 s: the targets' HTTP keep-alive timeout "
        "must be longer than 120 s (for example 135 s)",
    ]


def test_lambda_errors_are_put_on_the_function_or_the_service(
    aws: MotoServer, alb: dict[str, str], tmp_path: Path
) -> None:
    fn_tg = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/fn/0123456789abcdef"
    put_metric("LambdaUserError", 4, alb["lb"], tg="targetgroup/fn/0123456789abcdef")
    put_metric("LambdaInternalError", 1, alb["lb"], tg="targetgroup/fn/0123456789abcdef")
    common = {"elb": alb["lb"], "target_group_arn": fn_tg, "time": "2026-11-20T09:30:00.000000Z"}
    path = write_log(tmp_path / "2026/11/20/l.log", [signature_line("lambda-throttled", **common)] * 4)
    window = Window.from_options(None, "2026-11-20T09:00Z", "2026-11-20T10:00Z")
    d = diagnose(LocalEngine(discover([path], window).files, window), QueryParams(window))
    evidence = gather(d, boto3.Session(region_name=REGION))
    assert evidence["lambda-throttled"].metrics == {"LambdaUserError": 4.0, "LambdaInternalError": 1.0}
    assert evidence["lambda-throttled"].verdict == (
        "CloudWatch puts these on the function or its configuration (LambdaUserError): 4 user, 1 internal errors"
    )


def lambda_target_group() -> tuple[str, str]:
    """A function (30 s timeout, 512 MB) behind a lambda target group; returns (function, group) ARNs."""
    import io
    import zipfile

    role = boto3.client("iam", region_name=REGION).create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("h.py", "def h(event, context):\n    return {}\n")
    fn = boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="api", Runtime="python3.12", Role=role["Role"]["Arn"], Handler="h.h",
        Code={"ZipFile": code.getvalue()}, Timeout=30, MemorySize=512,
    )  # fmt: skip
    elbv2 = boto3.client("elbv2", region_name=REGION)
    tg = elbv2.create_target_group(Name="fn", TargetType="lambda")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": fn["FunctionArn"]}])
    return fn["FunctionArn"], tg


def put_function_metric(name: str, value: float, unit: str = "Count") -> None:
    boto3.client("cloudwatch", region_name=REGION).put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {"MetricName": name, "Dimensions": [{"Name": "FunctionName", "Value": "api"}],
             "Timestamp": datetime.fromisoformat("2026-11-20T09:30:00+00:00"), "Value": value, "Unit": unit},
        ],
    )  # fmt: skip


def lambda_evidence(alb: dict[str, str], tg: str, tmp_path: Path, signature: str) -> Any:
    common = {"elb": alb["lb"], "target_group_arn": tg, "time": "2026-11-20T09:30:00.000000Z"}
    path = write_log(tmp_path / "2026/11/20/l.log", [signature_line(signature, **common)] * 2)
    window = Window.from_options(None, "2026-11-20T09:00Z", "2026-11-20T10:00Z")
    d = diagnose(LocalEngine(discover([path], window).files, window), QueryParams(window))
    return gather(d, boto3.Session(region_name=REGION))[signature]


def test_lambda_exceptions_within_the_timeout(aws: MotoServer, alb: dict[str, str], tmp_path: Path) -> None:
    _, tg = lambda_target_group()
    put_function_metric("Errors", 7)
    put_function_metric("Duration", 1200.0, "Milliseconds")
    evidence = lambda_evidence(alb, tg, tmp_path, "lambda-unhandled")
    assert evidence.verdict == (
        "api raised 7 errors (AWS/Lambda Errors) well within its 30 s timeout: exceptions; read its logs for "
        "the failing requests"
    )


def test_lambda_throttles(aws: MotoServer, alb: dict[str, str], tmp_path: Path) -> None:
    _, tg = lambda_target_group()
    put_function_metric("Throttles", 12)
    evidence = lambda_evidence(alb, tg, tmp_path, "lambda-throttled")
    assert evidence.verdict == "api was throttled 12 times (AWS/Lambda Throttles): raise its concurrency"


def test_lambda_timeout_seen_in_duration(aws: MotoServer, alb: dict[str, str], tmp_path: Path) -> None:
    _, tg = lambda_target_group()
    boto3.client("cloudwatch", region_name=REGION).put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {"MetricName": "Duration", "Dimensions": [{"Name": "FunctionName", "Value": "api"}],
             "Timestamp": datetime.fromisoformat("2026-11-20T09:30:00+00:00"), "Value": 29990.0, "Unit": "Milliseconds"},
        ],
    )  # fmt: skip
    common = {"elb": alb["lb"], "target_group_arn": tg, "time": "2026-11-20T09:30:00.000000Z"}
    path = write_log(tmp_path / "2026/11/20/l.log", [signature_line("lambda-unhandled", **common)] * 2)
    window = Window.from_options(None, "2026-11-20T09:00Z", "2026-11-20T10:00Z")
    d = diagnose(LocalEngine(discover([path], window).files, window), QueryParams(window))
    evidence = gather(d, boto3.Session(region_name=REGION))["lambda-unhandled"]
    assert evidence.config == {"functions": [{"name": "api", "timeout_seconds": 30, "memory_mb": 512}]}
    assert evidence.metrics["api:MaxDurationMs"] == 29990.0
    assert evidence.verdict == (
        "api ran up to 30.0 s of its 30 s timeout: these are timeouts; raise the timeout or the memory "
        "(512 MB), or make the slow call fail sooner"
    )
