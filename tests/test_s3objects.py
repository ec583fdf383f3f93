"""The S3 listing of a window's day folders, the estimate it gives and `--max-scan`, against moto's S3
on loopback (the listing goes over real HTTP; the bucket's hundreds of objects are put straight into
moto's backend, as one HTTP PUT each took 12 ms here)."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from alb502athena.aws import client, session
from alb502athena.cli.app import app
from alb502athena.cost import MINIMUM_BILLED, estimate, parse_size
from alb502athena.errors import AwsError, UsageError
from alb502athena.logfiles import discover
from alb502athena.objectname import access_log_prefix, end_time_text
from alb502athena.render import QueryParams
from alb502athena.s3objects import Listing, WindowLister, list_window
from alb502athena.scope import ObjectScope
from alb502athena.window import Window
from tests.aws import ACCOUNT, REGION, MotoServer, fill_bucket

runner = CliRunner()
BUCKET = "alb-logs.example-eu"
KEY = f"logs.prod-1/AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}"
ROOT = f"s3://{BUCKET}/{KEY}"
SHOP, API = "app/shop-prod/50dc6c495c0c9188", "app/api-v2/0123456789abcdef"
NODES = ("10.0.1.5", "10.0.2.17")
FIRST_END = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)  # 5-minute objects until 04:00 the next day
LAST_END = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)


def access_name(lb: str, end: datetime, node: str, kind: str = "") -> str:
    _, name, lb_id = lb.split("/")
    return (
        f"{kind}{ACCOUNT}_elasticloadbalancing_{REGION}_app.{name}.{lb_id}_{end_time_text(end)}_{node}_"
        f"{end:%H%M}x{node.replace('.', '')}.log.gz"
    )


def bucket_objects() -> dict[str, int]:
    """Key (below the root) -> size: two load balancers, two nodes, 5-minute access logs over two days,
    with connection and health-check logs beside them and a few other objects. Every size differs, so a
    sum of sizes tells which objects were counted."""
    keys: list[str] = []
    end = FIRST_END
    while end <= LAST_END:
        for lb in (SHOP, API):
            names = [access_name(lb, end, node) for node in NODES]
            names.append(access_name(lb, end, NODES[0], "conn_log_"))
            names.append(access_name(lb, end, NODES[1], "health_check_log_"))
            keys += [f"{end:%Y/%m/%d}/{n}" for n in names]  # ALB's folder is the end time's day
        end += timedelta(minutes=5)
    day = "2026/11/20"
    keys += [
        f"{day}/{ACCOUNT}_elasticloadbalancing_{REGION}_net.my-nlb.1234567890abcdef_20261120T2305Z_a1b2c3d4.log.gz",
        f"{day}/{ACCOUNT}_elasticloadbalancing_{REGION}_my-classic_20261120T2305Z_172.16.1.192_20sg8hgm.log",
        f"{day}/notes.txt",
    ]
    return {key: 100 + i for i, key in enumerate(keys)}


@pytest.fixture
def bucket(aws: MotoServer) -> dict[str, int]:
    objects = bucket_objects()
    fill_bucket(BUCKET, ((f"{KEY}/{key}", b"x" * size) for key, size in objects.items()))
    return objects


def s3_client() -> Any:
    return client(session(None, None), "s3")


def window(start: str, end: str) -> Window:
    return Window.from_options(None, start, end)


def listed(w: Window, **kwargs: Any) -> Listing:
    found = list_window(s3_client(), ROOT, w, keep_keys=True, **kwargs)
    assert found is not None and found.keys is not None
    return found


def discovered(objects: dict[str, int], w: Window, tmp_path: Path) -> set[str]:
    """What local discovery selects from the same names, laid out as `aws s3 sync` leaves them."""
    for key in objects:
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).touch()
    return {f.path.relative_to(tmp_path).as_posix() for f in discover([tmp_path], w).files}


def ends(keys: list[str]) -> list[str]:
    return sorted({k.split("_")[-3] for k in keys})


@pytest.mark.parametrize(
    ("start", "end", "end_times"),
    [
        # A file ending exactly at the start holds the five minutes before it: kept by the rule (an
        # entry written late may be in it); files ending up to 15 minutes after the end hold the late.
        ("2026-11-20T23:00Z", "2026-11-20T23:10Z", ["T2300Z", "T2305Z", "T2310Z", "T2315Z", "T2320Z", "T2325Z"]),
        # Not on a 5-minute mark.
        ("2026-11-20T23:02:30Z", "2026-11-20T23:07Z", ["T2305Z", "T2310Z", "T2315Z", "T2320Z"]),
        # Across midnight: the objects of both day folders.
        ("2026-11-20T23:50Z", "2026-11-21T00:05Z", ["T2350Z", "T2355Z", "T0000Z", "T0005Z", "T0010Z", "T0015Z", "T0020Z"]),
        # Ending before midnight: the late objects are in the next day's folder.
        ("2026-11-20T23:40Z", "2026-11-20T23:55Z", ["T2340Z", "T2345Z", "T2350Z", "T2355Z", "T0000Z", "T0005Z", "T0010Z"]),
    ],
)  # fmt: skip
def test_the_listing_selects_what_discovery_selects(
    bucket: dict[str, int], tmp_path: Path, start: str, end: str, end_times: list[str]
) -> None:
    w = window(start, end)
    found = listed(w)
    assert found.keys is not None
    selected = {k.removeprefix(KEY + "/") for k in found.keys}
    assert selected == discovered(bucket, w, tmp_path)
    assert sorted(e[8:] for e in ends(list(selected))) == sorted(end_times)
    assert len(selected) == len(end_times) * 2 * 2  # two load balancers, two nodes
    assert all("conn_log" not in k and "health_check" not in k for k in selected)
    assert {lb.load_balancer for lb in found.load_balancers.values()} == {SHOP, API}
    for prefix, lb in found.load_balancers.items():
        assert prefix == access_log_prefix(ACCOUNT, REGION, lb.load_balancer)
        assert lb.tally.objects == len(end_times) * 2
        assert lb.tally.bytes == sum(bucket[k] for k in selected if prefix in k)


def test_the_day_folders_listed_and_what_is_set_aside(bucket: dict[str, int]) -> None:
    w = window("2026-11-20T23:50Z", "2026-11-21T00:05Z")
    found = listed(w)
    # The `day` predicate's range: the first day to the day after the last.
    assert found.days == ("2026/11/20", "2026/11/21", "2026/11/22")
    in_folders = {k: s for k, s in bucket.items() if k.startswith(("2026/11/20/", "2026/11/21/"))}
    assert (found.listed.objects, found.listed.bytes) == (len(in_folders), sum(in_folders.values()))
    counts = {kind: t.objects for kind, t in found.set_aside.items()}
    per_kind = (LAST_END - FIRST_END) // timedelta(minutes=5) + 1  # end times, one object per lb each
    assert counts == {
        "connection": 2 * per_kind,
        "health_check": 2 * per_kind,
        "network": 1,
        "classic": 1,
        "unrecognised": 1,
    }
    conn = [k for k in in_folders if "/conn_log_" in k]
    assert found.set_aside["connection"].bytes == sum(in_folders[k] for k in conn)
    assert found.access_logs.objects == 2 * 2 * per_kind
    assert found.account == ACCOUNT and found.region == REGION
    assert found.set_aside_sentence() is not None
    assert found.scope == ObjectScope(
        root=ROOT,
        prefixes=tuple(sorted(access_log_prefix(ACCOUNT, REGION, lb) for lb in (SHOP, API))),
        account=ACCOUNT,
        region=REGION,
        found_by="an S3 listing of 3 day folders: 2 load balancers",
    )


def test_the_estimate_is_the_size_of_what_the_query_reads(bucket: dict[str, int]) -> None:
    w = window("2026-11-20T23:00Z", "2026-11-20T23:10Z")
    found = listed(w)
    assert found.keys is not None
    window_bytes = sum(bucket[k.removeprefix(KEY + "/")] for k in found.keys)
    pruned = estimate(found, found.scope, 5.0)
    assert (pruned.bytes, pruned.objects) == (window_bytes, 24)
    assert pruned.of == "2 load balancers"
    # Below Athena's 10 MB minimum, the minimum is the price.
    assert pruned.usd == pytest.approx(MINIMUM_BILLED / 1024**4 * 5.0)
    assert pruned.sentence() == (
        f"Athena will read about {window_bytes / 1024:.1f} KB (USD 0.0000, Athena's 10.0 MB minimum) "
        "from 24 objects of 2 load balancers"
    )
    one = ObjectScope(root=ROOT, prefixes=(access_log_prefix(ACCOUNT, REGION, SHOP),))
    assert estimate(found, one, 5.0).objects == 12
    by_day = estimate(found, None, 5.0)
    assert (by_day.bytes, by_day.objects) == (found.listed.bytes, found.listed.objects)
    assert by_day.bytes == sum(s for k, s in bucket.items() if k.startswith(("2026/11/20/", "2026/11/21/")))
    every = estimate(found, ObjectScope(root=ROOT), 5.0)
    assert every.objects == found.access_logs.objects


def test_a_load_balancer_named(bucket: dict[str, int]) -> None:
    found = listed(window("2026-11-20T23:00Z", "2026-11-20T23:10Z"), load_balancers=[API])
    assert [lb.load_balancer for lb in found.load_balancers.values()] == [API]
    assert found.selected.objects == 12
    assert found.found_by() == "an S3 listing of 2 day folders: 1 load balancer"


def test_no_listing_possible(aws: MotoServer) -> None:
    s3 = s3_client()
    w = window("2026-11-20T23:00Z", "2026-11-20T23:10Z")
    assert list_window(s3, "/var/log/alb", w) is None
    assert list_window(s3, "hdfs://logs/alb", w) is None
    assert list_window(s3, ROOT, Window()) is None


def test_pagination(aws: MotoServer) -> None:
    # More than 1,000 objects in a folder: ListObjectsV2 answers 1,000 keys a call.
    from moto.s3.models import s3_backends

    s3 = s3_client()
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    backend = s3_backends[ACCOUNT]["aws"]
    start = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    nodes = [f"10.0.{i // 200}.{i % 200}" for i in range(1100)]
    for i, node in enumerate(nodes):  # 1,100 nodes' objects ending at the same minute
        backend.put_object(
            BUCKET, f"{KEY}/2026/11/20/{access_name(SHOP, start + timedelta(hours=12), node)}", b"x" * i
        )
    calls: list[dict[str, Any]] = []
    s3.meta.events.register(
        "provide-client-params.s3.ListObjectsV2", lambda params, **_: calls.append(params)
    )
    found = list_window(s3, ROOT, window("2026-11-20T12:00Z", "2026-11-20T12:05Z"))
    assert found is not None
    assert found.selected.objects == 1100 and found.selected.bytes == sum(range(1100))
    assert sum(c["Prefix"] == f"{KEY}/2026/11/20/" for c in calls) == 2


def test_access_denied_names_s3_list_bucket(aws: MotoServer) -> None:
    # moto's server does not enforce bucket policies (a Deny of s3:ListBucket lists all the same), so
    # AWS's refusal is answered by botocore's Stubber on the client the listing uses.
    s3 = s3_client()
    stub = Stubber(s3)
    stub.add_client_error(
        "list_objects_v2",
        service_error_code="AccessDenied",
        service_message="Access Denied",
        http_status_code=403,
        expected_params={"Bucket": BUCKET, "Prefix": f"{KEY}/2026/11/20/"},
    )
    with stub, pytest.raises(AwsError) as raised:
        list_window(s3, ROOT, window("2026-11-20T23:00Z", "2026-11-20T23:10Z"))
    assert str(raised.value) == (
        f"access denied while listing s3://{BUCKET}/{KEY}/2026/11/20/: the s3:ListBucket permission on "
        f"bucket {BUCKET} is missing; Athena needs it too, to read the table (Access Denied)"
    )
    assert raised.value.exit_code == 3


@pytest.mark.parametrize(
    ("text", "size"),
    [("500MB", 500 * 1024**2), ("1.5GB", 3 * 1024**3 // 2), ("2GiB", 2 * 1024**3), ("1048576", 1048576),
     (" 10 kb ", 10240), ("1TB", 1024**4), ("7B", 7)],
)  # fmt: skip
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "a size such as 500MB, 1.5GB, 2GiB or a number of bytes"),
        ("lots", "a size such as 500MB, 1.5GB, 2GiB or a number of bytes"),
        ("5 PB", "a size such as 500MB, 1.5GB, 2GiB or a number of bytes"),
        ("-5MB", "a size such as 500MB, 1.5GB, 2GiB or a number of bytes"),
        ("1.5", "a number of bytes is a whole number; or a size such as 500MB, 1.5GB, 2GiB or a number of bytes"),
        ("0MB", "it must be more than zero bytes"),
    ],
)  # fmt: skip
def test_size_errors(text: str, why: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_size(text)
    assert str(raised.value) == f"invalid --max-scan {text!r}: {why}"


# The CLI: the estimate before an Athena query, --max-scan, and Athena's own figure after it.

ATHENA = ["--engine", "athena", "--database", "alb", "--workgroup", "primary", "--no-aws-evidence"]
WINDOW = ["--start", "2026-11-20T23:00Z", "--end", "2026-11-20T23:10Z"]
COLUMNS = [
    ("level", "varchar"), ("signature", "varchar"), ("target", "varchar"), ("load_balancer", "varchar"),
    ("target_group", "varchar"), ("minute", "varchar"), ("lines", "bigint"), ("unparsed_lines", "bigint"),
    ("requests", "bigint"), ("elb_502", "bigint"), ("first_seen", "varchar"), ("last_seen", "varchar"),
]  # fmt: skip
ROWS = [["total", None, None, None, None, None, 10, 0, 10, 0, None, None]]


@pytest.fixture
def table(bucket: dict[str, int]) -> dict[str, int]:
    glue = boto3.client("glue", region_name=REGION)
    glue.create_database(DatabaseInput={"Name": "alb"})
    glue.create_table(
        DatabaseName="alb",
        TableInput={"Name": "alb_logs", "StorageDescriptor": {"Location": ROOT + "/"}, "PartitionKeys": []},
    )
    return bucket


def what_the_query_reads(objects: dict[str, int]) -> tuple[int, int, str]:
    """(bytes, objects, of what) the diagnosis of WINDOW reads: the window's access logs of the two load
    balancers where the SQL carries `"$path"` ranges (QueryParams.scope, the prune branch), else every
    object of the two day folders (the `day` predicate alone)."""
    if PRUNED:
        first, last = "20261120T2300Z", "20261120T2325Z"  # objectname.end_time_range of the window
        read = [
            s
            for k, s in objects.items()
            if "_log_" not in k and "app." in k and first <= k.split("_")[-3] <= last
        ]
        return sum(read), len(read), "2 load balancers"
    read = [s for k, s in objects.items() if k.startswith(("2026/11/20/", "2026/11/21/"))]
    return sum(read), len(read), "2 day folders (the query is pruned by day alone)"


PRUNED = "scope" in {f.name for f in fields(QueryParams)}


def test_max_scan_refuses_the_query(table: dict[str, int], aws: MotoServer) -> None:
    result = runner.invoke(app, ["diagnose", *ATHENA, *WINDOW, "--max-scan", "5KB"])
    assert result.exit_code == 2
    assert aws.executions() == []  # never started, never billed
    total, objects, of = what_the_query_reads(table)
    assert total > 5 * 1024
    amount = f"about {total / 1024:.1f} KB (USD 0.0000, Athena's 10.0 MB minimum)"
    assert result.stderr.splitlines()[-1] == (
        f"Error: the query was not started: Athena would read {amount} from {objects:,} objects of {of}, "
        "above --max-scan 5.0 KB; narrow it with a shorter window (--last, --start/--end) or one load "
        "balancer (--load-balancer)"
    )
    assert f"Athena will read {amount} from {objects:,} objects of {of}" in result.stderr


def test_max_scan_accepts_and_athena_figure_follows(table: dict[str, int], aws: MotoServer) -> None:
    aws.queue_results(COLUMNS, ROWS)
    result = runner.invoke(app, ["diagnose", *ATHENA, *WINDOW, "--max-scan", "1MB", "-o", "json"])
    assert result.exit_code == 0, result.stderr
    (execution,) = aws.executions()
    total, objects, of = what_the_query_reads(table)
    assert (
        f"Athena will read about {total / 1024:.1f} KB (USD 0.0000, Athena's 10.0 MB minimum) from {objects:,} objects of {of}\n"
        in result.stderr
    )
    # moto's Athena reports 0 bytes scanned: the line carries Athena's figure, then the estimate.
    assert f"Athena query {execution.id}: 0 B scanned (estimated: {total / 1024:.1f} KB)," in result.stderr
    # Only a query that reads whole day partitions reads the connection and health-check logs.
    assert ("Note: the day folders also hold" in result.stderr) is not PRUNED
    stats = json.loads(result.stdout)["engine_stats"]
    assert stats["query_id"] == execution.id and stats["estimated_bytes"] == total


def test_run_is_capped_too(table: dict[str, int], aws: MotoServer) -> None:
    result = runner.invoke(app, ["run", "connect-failed", *ATHENA[:-1], *WINDOW, "--max-scan", "1000"])
    assert result.exit_code == 2 and "above --max-scan 1000 B" in result.stderr
    assert aws.executions() == []


def test_max_scan_without_an_estimate(aws: MotoServer) -> None:
    # No Glue table to read the location from: the cap cannot be kept, so the query is not started.
    result = runner.invoke(app, ["diagnose", *ATHENA, *WINDOW, "--max-scan", "1GB"])
    assert result.exit_code == 3 and aws.executions() == []
    assert result.stderr.startswith("Error: ") and "alb502 ddl" in result.stderr


def test_max_scan_without_a_window(table: dict[str, int], aws: MotoServer) -> None:
    result = runner.invoke(app, ["diagnose", *ATHENA, "--max-scan", "1GB"])
    assert result.exit_code == 2 and aws.executions() == []
    assert result.stderr.strip() == (
        "Error: --max-scan: the bytes Athena would read cannot be estimated "
        "(the window has no start or end: use --last or --start)"
    )


def test_bad_max_scan_is_a_usage_error(aws: MotoServer) -> None:
    result = runner.invoke(app, ["diagnose", *ATHENA, *WINDOW, "--max-scan", "lots"])
    assert result.exit_code == 2 and aws.executions() == []
    assert result.stderr.strip() == (
        "Error: invalid --max-scan 'lots': a size such as 500MB, 1.5GB, 2GiB or a number of bytes"
    )


def test_one_listing_for_the_scope_and_the_estimate(bucket: dict[str, int]) -> None:
    # scope.resolve_scope calls the lister when no --load-balancer is given; the estimate then reads
    # the same listing rather than listing the folders again.
    s3 = s3_client()
    calls: list[dict[str, Any]] = []
    s3.meta.events.register(
        "provide-client-params.s3.ListObjectsV2", lambda params, **_: calls.append(params)
    )
    seen: list[str] = []
    lister = WindowLister(s3, progress=seen.append)
    w = window("2026-11-20T23:00Z", "2026-11-20T23:10Z")
    scope = lister(ROOT, w)
    assert scope is not None and scope.found_by == "an S3 listing of 2 day folders: 2 load balancers"
    assert len(calls) == 2
    found = lister.listing_for(ROOT, w)
    assert found is not None and found.scope == scope and len(calls) == 2
    assert seen[0] == f"Listing s3://{BUCKET}/{KEY}/2026/11/20/ (1 of 2 day folders)" and seen[-1] == ""
    other = window("2026-11-20T22:00Z", "2026-11-20T22:10Z")
    assert lister.listing_for(ROOT, other) is not found and len(calls) == 4
    assert lister.listing_for(ROOT + "/", other) is lister.listing_for(ROOT, other) and len(calls) == 4
    assert lister("/var/log/alb", w) is None


def test_bad_max_scan_is_refused_before_any_engine_work(tmp_path: Path) -> None:
    # Checked first, whatever the engine: nothing else bills by the byte, but a typo must not pass.
    result = runner.invoke(app, ["diagnose", str(tmp_path / "nothing-here"), "--max-scan", "5 PB"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: invalid --max-scan '5 PB': a size such as 500MB, 1.5GB, 2GiB or a number of bytes"
    )


def test_a_location_no_listing_can_read(aws: MotoServer) -> None:
    glue = boto3.client("glue", region_name=REGION)
    glue.create_database(DatabaseInput={"Name": "alb"})
    location = {"Location": "hdfs://namenode/alb"}
    glue.create_table(DatabaseName="alb", TableInput={"Name": "alb_logs", "StorageDescriptor": location})
    result = runner.invoke(app, ["diagnose", *ATHENA, *WINDOW, "--max-scan", "1GB"])
    assert result.exit_code == 2 and aws.executions() == []
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: --max-scan: the bytes Athena would read cannot be estimated "
        "(the table's location 'hdfs://namenode/alb' is not an s3:// folder)"
    )
    # Without a cap the query runs, and the user is told the bytes were not known.
    aws.queue_results(COLUMNS, ROWS)
    result = runner.invoke(app, ["diagnose", *ATHENA, *WINDOW])
    assert result.exit_code == 0, result.stderr
    assert (
        "Note: the bytes Athena will read are not known before the query: the table's location "
        "'hdfs://namenode/alb' is not an s3:// folder" in result.stderr
    )


# Issue 14: Trino over an s3:// table location finds the load balancers by the same listing, made with
# boto3's own configuration (here AWS_ENDPOINT_URL: moto's server), and goes on without them where boto3
# cannot list: Trino reads S3 with credentials of its own.


class S3TrinoTable:
    """What cli.logs.with_scope asks of an engine whose table lies under an s3:// location: its name, its
    notes and LocatesLogs.log_location (TrinoEngine reads it from SHOW CREATE TABLE, shown on the real
    Trino in tests/trino/test_pruning_trino.py; the trino tier's server has no S3 file system, so the
    listing an s3:// location leads to is shown here, against moto)."""

    name = "trino"

    def __init__(self, root: str) -> None:
        self.root = root
        self.notes: list[str] = []

    def log_location(self, table: str) -> str | None:
        return self.root


def trino_scope(root: str, w: Window, load_balancer: str | None = None) -> tuple[QueryParams, list[str]]:
    from typing import cast

    from alb502athena.cli.logs import with_scope
    from alb502athena.engines.base import Engine
    from alb502athena.s3objects import own_credentials_lister

    engine = S3TrinoTable(root)
    lister = own_credentials_lister(None, None, engine.notes.append)
    params = with_scope(cast(Engine, engine), QueryParams(w), load_balancer, local=False, lister=lister)
    return params, engine.notes


def test_trino_finds_the_load_balancers_by_the_listing(
    bucket: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from alb502athena.render import render_diagnosis

    params, notes = trino_scope(ROOT, window("2026-11-20T23:00Z", "2026-11-20T23:10Z"))
    assert params.scope is not None
    assert params.scope.prefixes == tuple(
        sorted(access_log_prefix(ACCOUNT, REGION, lb) for lb in (SHOP, API))
    )
    assert notes == [
        f"reading only the window's objects of {', '.join(params.scope.prefixes)} (found by an S3 listing "
        "of 2 day folders: 2 load balancers)"
    ]
    sql = render_diagnosis(params)
    assert sql.count('"$path" >= ') == 2 * 2  # two day folders, two load balancers
    # --load-balancer names one: no listing needed (S3 unreachable now: a listing would say so).
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    params, notes = trino_scope(ROOT, window("2026-11-20T23:00Z", "2026-11-20T23:10Z"), SHOP)
    assert params.scope is not None and params.scope.found_by == "--load-balancer"
    assert params.scope.prefixes == (access_log_prefix(ACCOUNT, REGION, SHOP),)
    assert not any("listed" in n or "listing" in n for n in notes), notes


def test_trino_goes_on_where_boto3_cannot_list(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    w = window("2026-11-20T23:00Z", "2026-11-20T23:10Z")
    # No such bucket for these credentials (Trino may read it with its own): every ALB's access logs.
    params, notes = trino_scope(ROOT, w)
    assert params.scope is not None and params.scope.prefixes == () and params.scope.account == ACCOUNT
    assert notes[0].startswith(f"the load balancers of the window could not be listed from {ROOT}: ")
    assert notes[0].endswith(f"no such bucket: {BUCKET}"), notes[0]
    assert "connection and health-check logs left out" in notes[1]
    # S3 unreachable (nothing listens on the discard port): the same, said with the reason.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    params, notes = trino_scope(ROOT, w)
    assert params.scope is not None and params.scope.prefixes == ()
    assert notes[0].startswith(f"the load balancers of the window could not be listed from {ROOT}: ")
    assert "could not be reached" in notes[0] and "Connection refused" in notes[0], notes[0]
    # A location that is no S3 folder: nothing to list, nothing said about a listing.
    params, notes = trino_scope(f"local:///edges/AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}", w)
    assert params.scope is not None and params.scope.prefixes == ()
    assert not any("could not be listed" in n for n in notes)
