"""DeregisterTargets correlation: CloudTrail files and the LookupEvents API give the same result, and
the count is the 502s of that target inside its deregistration delay."""

from __future__ import annotations

import gzip
import json
import os
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from alb502athena.engines.local import LocalEngine
from alb502athena.evidence.cloudtrail import (
    Trail,
    correlate,
    from_files,
    from_lookup,
    read_files,
    resolve_instances,
)
from alb502athena.logfiles import discover
from alb502athena.render import QueryParams
from alb502athena.window import Window
from tests.aws import REGION, MotoServer
from tests.conftest import write_log
from tests.lines import make_line, signature_line

TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067"
OTHER_TG = TG.replace("/web/", "/api/")
WINDOW = Window.from_options(None, "2026-11-20T09:00Z", "2026-11-20T10:00Z")


def record(
    event_id: str, when: str, targets: list[dict[str, Any]], invoked_by: str | None = "ecs.amazonaws.com"
) -> dict[str, Any]:
    identity: dict[str, Any] = {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/deployer/jo",
    }
    if invoked_by:
        identity["invokedBy"] = invoked_by
    return {
        "eventVersion": "1.08",
        "eventID": event_id,
        "eventTime": when,
        "eventSource": "elasticloadbalancing.amazonaws.com",
        "eventName": "DeregisterTargets",
        "userIdentity": identity,
        "requestParameters": {"targetGroupArn": TG, "targets": targets},
    }


RECORDS = [
    record("e1", "2026-11-20T09:24:00Z", [{"id": "10.0.12.14", "port": 8080}]),
    record("e2", "2026-11-20T09:40:00Z", [{"id": "10.0.99.9", "port": 8080}], invoked_by=None),
    {
        **record("e3", "2026-11-20T09:41:00Z", [{"id": "10.0.12.14", "port": 8080}]),
        "errorCode": "ValidationError",
    },
]


def logs(tmp_path: Path) -> Path:
    at = "2026-11-20T09:{}.000000Z"
    lines = [
        signature_line(
            "connect-failed", target="10.0.12.14:8080", target_group_arn=TG, time=at.format("24:10")
        ),
        signature_line(
            "connect-failed", target="10.0.12.14:8080", target_group_arn=TG, time=at.format("28:59")
        ),
        signature_line(
            "connect-failed", target="10.0.12.14:8080", target_group_arn=TG, time=at.format("29:31")
        ),  # after delay+margin
        signature_line(
            "connect-failed", target="10.0.12.14:9090", target_group_arn=TG, time=at.format("24:20")
        ),  # other port
        signature_line(
            "connect-failed", target="10.0.12.14:8080", target_group_arn=OTHER_TG, time=at.format("24:30")
        ),  # other target group
        make_line(target="10.0.12.14:8080", target_group_arn=TG, time=at.format("24:40")),  # not a 502
    ]
    return write_log(tmp_path / "logs" / "2026/11/20" / "a.log", lines)


def engine(path: Path) -> LocalEngine:
    return LocalEngine(discover([path], WINDOW).files, WINDOW)


def cloudtrail_files(tmp_path: Path) -> Path:
    folder = tmp_path / "ct" / "AWSLogs/123456789012/CloudTrail/eu-west-1/2026/11/20"
    folder.mkdir(parents=True)
    (folder / "a.json.gz").write_bytes(gzip.compress(json.dumps({"Records": RECORDS[:2]}).encode()))
    (folder / "b.json").write_text(json.dumps({"Records": RECORDS[2:]}))
    return tmp_path / "ct"


def test_files_correlate_within_the_delay(tmp_path: Path) -> None:
    events = from_files([cloudtrail_files(tmp_path)])
    assert [e.event_id for e in events] == ["e1", "e2"]  # the failed call is no deregistration
    found, notes = correlate(engine(logs(tmp_path)), QueryParams(WINDOW), events, {})
    assert notes == []
    assert found == [
        {
            "kind": "deregistration",
            "event_id": "e1",
            "event_time": "2026-11-20T09:24:00.000000Z",
            "who": "ecs.amazonaws.com",
            "target_group": TG,
            "target": "10.0.12.14:8080",
            "instance_id": None,
            "deregistration_delay_seconds": 300,
            "delay_known": False,
            "elb_502": 2,
            "first_seen": "2026-11-20T09:24:10.000000Z",
            "last_seen": "2026-11-20T09:28:59.000000Z",
        }
    ]
    # With the target group's real delay (60 s), only the first 502 falls inside it.
    found, _ = correlate(engine(logs(tmp_path)), QueryParams(WINDOW), events, {TG: 60})
    assert found[0]["elb_502"] == 1 and found[0]["delay_known"] is True


def test_lookup_events_gives_the_same_result(tmp_path: Path) -> None:
    # CloudTrail LookupEvents is not implemented by moto: its answers are stubbed here.
    client = boto3.client("cloudtrail", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    events = [{"EventId": r["eventID"], "CloudTrailEvent": json.dumps(r)} for r in RECORDS]
    params = {
        "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "DeregisterTargets"}],
        "StartTime": ANY,
        "EndTime": ANY,
    }
    stub.add_response("lookup_events", {"Events": events[:2], "NextToken": "t"}, params)
    stub.add_response("lookup_events", {"Events": events[2:]}, {**params, "NextToken": "t"})
    stub.activate()
    assert WINDOW.start is not None and WINDOW.end is not None
    from_api = from_lookup(client, WINDOW.start, WINDOW.end)
    assert from_api == from_files([cloudtrail_files(tmp_path)])
    path = logs(tmp_path)
    assert correlate(engine(path), QueryParams(WINDOW), from_api, {}) == correlate(
        engine(path), QueryParams(WINDOW), from_files([tmp_path / "ct"]), {}
    )


def test_instance_targets_are_mapped_to_their_ips(aws: MotoServer, tmp_path: Path) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.12.0/24")["Subnet"]["SubnetId"]
    inst = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet, PrivateIpAddress="10.0.12.14"
    )
    instance_id = inst["Instances"][0]["InstanceId"]
    events = from_files([cloudtrail_files(tmp_path)])
    events = [
        type(e)(
            e.event_id,
            e.event_time,
            e.target_group,
            instance_id if e.event_id == "e1" else "i-0000000000000dead",
            e.port,
            e.who,
        )
        for e in events
    ]
    resolved = [*resolve_instances(ec2, [events[0]]), events[1]]
    found, notes = correlate(engine(logs(tmp_path)), QueryParams(WINDOW), resolved, {})
    assert [(c["instance_id"], c["target"], c["elb_502"]) for c in found] == [
        (instance_id, "10.0.12.14:8080", 2)
    ]
    assert notes == [
        "DeregisterTargets of i-0000000000000dead at 2026-11-20T09:40:00.000000Z not matched: its IP is unknown "
        "(ec2:DescribeInstances not allowed or instance gone)"
    ]


def test_unreadable_cloudtrail_file(tmp_path: Path) -> None:
    from alb502athena.errors import InputError

    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match=r"^cannot read CloudTrail file .*x\.json"):
        from_files([bad])


def test_diagnose_offline_with_cloudtrail_files(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from alb502athena.cli.app import app

    runner = CliRunner()
    path = logs(tmp_path)
    args = [
        "diagnose",
        str(path),
        "--cloudtrail",
        str(cloudtrail_files(tmp_path)),
        "--start",
        "2026-11-20T09:00Z",
        "--end",
        "2026-11-20T10:00Z",
    ]
    result = runner.invoke(app, [*args, "-o", "json"])
    assert result.exit_code == 0, result.stderr
    (c,) = json.loads(result.stdout)["correlations"]
    assert (c["target"], c["elb_502"], c["who"]) == ("10.0.12.14:8080", 2, "ecs.amazonaws.com")
    assert "Note: deregistration delay taken as 300 s where it could not be read" in result.stderr
    table = runner.invoke(app, args).stdout
    assert (
        "502s after DeregisterTargets (CloudTrail), within the deregistration delay:\n  2 on 10.0.12.14:8080 after 2026-11-20 09:24:00 by ecs.amazonaws.com (delay 300 s)"
        in table
    )


def test_three_sources_same_result(tmp_path: Path) -> None:
    """Files read in Python, and the SQL join over a CloudTrail table (here a DuckDB view over the same
    files), find the same deregistrations and count the same 502s."""
    from alb502athena.evidence.cloudtrail import cloudtrail_view_sql, correlate_table

    ct = cloudtrail_files(tmp_path)
    eng = engine(logs(tmp_path))
    by_files, _ = correlate(eng, QueryParams(WINDOW), from_files([ct]), {TG: 400})
    eng.add_view(cloudtrail_view_sql(sorted(ct.rglob("*.json*"))))
    by_table = correlate_table(eng, QueryParams(WINDOW), "cloudtrail_logs", {TG: 400})
    assert by_table == by_files
    assert [(c["event_id"], c["elb_502"]) for c in by_table] == [("e1", 3)]  # a 400 s delay reaches 09:31:10


def test_table_join_without_known_delays(tmp_path: Path) -> None:
    # Regression: with no delay read, the query once rendered a CASE without WHEN (Trino refused it).
    from alb502athena.evidence.cloudtrail import (
        cloudtrail_view_sql,
        correlate_table,
        render_correlation_table,
    )

    assert "CASE" not in render_correlation_table(QueryParams(WINDOW), "cloudtrail_logs", {})
    ct = cloudtrail_files(tmp_path)
    eng = engine(logs(tmp_path))
    eng.add_view(cloudtrail_view_sql(sorted(ct.rglob("*.json*"))))
    assert (
        correlate_table(eng, QueryParams(WINDOW), "cloudtrail_logs", {})
        == correlate(eng, QueryParams(WINDOW), from_files([ct]), {})[0]
    )


def test_cloudtrail_table_needs_a_remote_engine(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from alb502athena.cli.app import app

    result = CliRunner().invoke(app, ["diagnose", str(logs(tmp_path)), "--cloudtrail-table", "ct"])
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == "Error: --cloudtrail-table needs --engine athena or trino; use --cloudtrail FILES locally"
    )


# CloudTrail files are input like the access logs: a malformed record is skipped and counted, a file
# that cannot be read (or inflates beyond the limit) is named, and the rest is read.

GOOD = RECORDS[0]


def _malformed() -> list[Any]:
    def with_target(**target: Any) -> dict[str, Any]:
        return record("bad", "2026-11-20T09:24:00Z", [{"id": "10.0.12.14", "port": 8080, **target}])

    no_time = dict(GOOD)
    del no_time["eventTime"]
    return [
        with_target(port="eighty"),
        with_target(port=-1),
        with_target(port=[8080]),
        with_target(id="10.0.12.14\u0000' OR 1=1 --"),
        with_target(id=None),
        no_time,
        record("bad", "yesterday", [{"id": "10.0.12.14", "port": 8080}]),
        record("bad", "9999-12-31T23:59:59Z", [{"id": "10.0.12.14", "port": 8080}]),  # no room for a delay
        record("bad", 1763630640, [{"id": "10.0.12.14", "port": 8080}]),
        {**GOOD, "requestParameters": {"targetGroupArn": TG, "targets": "10.0.12.14"}},
        {**GOOD, "requestParameters": {"targetGroupArn": f"{TG}\u0000", "targets": [{"id": "10.0.12.14"}]}},
        {**GOOD, "requestParameters": "targets"},
        "not a record",
    ]


def _diagnose_with(tmp_path: Path, cloudtrail: Path) -> Any:
    from typer.testing import CliRunner

    from alb502athena.cli.app import app

    args = ["diagnose", str(logs(tmp_path)), "--cloudtrail", str(cloudtrail), *WINDOW_ARGS, "-o", "json"]
    return CliRunner().invoke(app, args)


WINDOW_ARGS = ["--start", "2026-11-20T09:00Z", "--end", "2026-11-20T10:00Z"]


def test_malformed_records_are_skipped_and_counted(tmp_path: Path) -> None:
    ct = tmp_path / "ct"
    ct.mkdir()
    bad = _malformed()
    (ct / "a.json").write_text(json.dumps({"Records": [*bad, GOOD]}))
    result = _diagnose_with(tmp_path, ct)
    assert result.exit_code == 0, result.stderr
    (c,) = json.loads(result.stdout)["correlations"]
    assert (c["event_id"], c["target"], c["elb_502"]) == ("e1", "10.0.12.14:8080", 2)
    assert (
        f"Note: {len(bad)} CloudTrail record(s) skipped: not as CloudTrail writes them "
        "(eventTime, targetGroupArn, a target's id or port)"
    ) in result.stderr


def test_unreadable_files_are_named_and_the_others_read(tmp_path: Path) -> None:
    ct = cloudtrail_files(tmp_path)
    broken = ct / "broken.json.gz"
    broken.write_bytes(gzip.compress(b'{"Records": []}')[:-12])  # cut in its last block
    (ct / "list.json").write_text("[1, 2]")
    result = _diagnose_with(tmp_path, ct)
    assert result.exit_code == 0, result.stderr
    assert [c["event_id"] for c in json.loads(result.stdout)["correlations"]] == ["e1"]
    assert f"Note: CloudTrail file {broken} not read: " in result.stderr
    assert f"Note: CloudTrail file {ct / 'list.json'} not read: no Records list" in result.stderr


def _bomb(path: Path, inflated: int) -> Path:
    # The start of a CloudTrail document, then blanks (valid JSON, as far as it goes): one gzip member of
    # 16 MiB of blanks, repeated (a file of several members inflates to all of them).
    blanks = gzip.compress(b" " * (16 << 20), compresslevel=9)
    with path.open("wb") as out:
        out.write(gzip.compress(b'{"Records": ['))
        for _ in range(inflated >> 24):
            out.write(blanks)
        out.write(gzip.compress(b"]}"))
    return path


@pytest.mark.slow
def test_a_cloudtrail_gzip_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    import resource
    import subprocess
    import sys

    from alb502athena.evidence.cloudtrail import MAX_FILE_BYTES

    ct = cloudtrail_files(tmp_path)
    bomb = _bomb(ct / "bomb.json.gz", 1 << 30)  # 1 GiB of JSON in about 1 MB
    assert bomb.stat().st_size < 2 << 20
    args = ["diagnose", str(logs(tmp_path)), "--cloudtrail", str(ct), *WINDOW_ARGS, "-o", "json"]
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: measured from a fresh probe process.
    probe = (
        "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(done.returncode); "
        "sys.stdout.write(done.stderr)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "alb502athena", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    peak_kib, code, *stderr = out.split("\n")
    peak = int(peak_kib) * 1024
    print(f"CloudTrail bomb (1 GiB inflated): peak {peak / 2**20:.0f} MiB")
    assert code == "0", stderr
    assert (
        f"Note: CloudTrail file {bomb} not read: larger than {MAX_FILE_BYTES >> 20} MiB (inflated)" in stderr
    )
    assert peak < MAX_FILE_BYTES * 2 + (400 << 20)  # the limit's text, joined once, and the run itself
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < 1 << 30  # the test itself stays small


def test_a_linked_folder_of_cloudtrail_files_is_read(tmp_path: Path) -> None:
    # s3 sync targets are often linked into place: the link is followed, and a link back up (a loop)
    # is cut and said, not followed for ever.
    real = cloudtrail_files(tmp_path)
    ct = tmp_path / "linked-ct"
    ct.mkdir()
    (ct / "trail").symlink_to(real, target_is_directory=True)
    (real / "up").symlink_to(ct, target_is_directory=True)
    trail = read_files([ct])
    assert sorted(e.event_id for e in trail.events) == sorted(e.event_id for e in from_files([real]))
    assert trail.events
    assert trail.notes() == [
        f"CloudTrail folder {ct / 'trail' / 'up'}: leads back to {ct}, which holds it (a loop): not followed"
    ]


def test_a_fifo_named_like_a_cloudtrail_file_is_named_not_opened(tmp_path: Path) -> None:
    ct = cloudtrail_files(tmp_path)
    fifo = ct / "x.json.gz"
    os.mkfifo(fifo)
    done: list[Trail] = []
    # In a thread, so that a FIFO opened (which waits for a writer for ever) fails the test, not hangs it.
    reader = threading.Thread(target=lambda: done.append(read_files([ct])), daemon=True)
    reader.start()
    reader.join(timeout=120)
    if reader.is_alive():
        with open(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK), "wb"):  # lets the stuck reader go
            pass
        pytest.fail("the FIFO was opened: reading waited for a writer")
    (trail,) = done
    assert sorted(e.event_id for e in trail.events) == ["e1", "e2"]
    assert f"CloudTrail file {fifo} not read: a FIFO (named pipe), not a regular file: not opened" in (
        trail.notes()
    )
