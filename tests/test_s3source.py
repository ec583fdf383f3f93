"""`alb502 diagnose s3://bucket/prefix`: the listing of accounts, regions and the window's objects, the
reading straight from S3, the cache and the JSON, against moto's S3 server over real HTTP on loopback.
The bucket's objects are written by tests/pruning_data.py (as ALB lays them out) and put straight into
moto's backend (one HTTP PUT each would cost most of the test's time); every read goes over HTTP."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alb502athena.aws import session
from alb502athena.cli.app import app
from alb502athena.diagnosis import diagnose
from alb502athena.engines.athena import human_bytes
from alb502athena.engines.local import LocalEngine
from alb502athena.errors import InputError, UsageError
from alb502athena.logfiles import discover
from alb502athena.render import QueryParams
from alb502athena.s3cache import ObjectCache, entry_name
from alb502athena.s3read import ObjectReadError, S3Object, S3Reader, fetch_object
from alb502athena.s3source import RequestCounter, S3Plan, parse_url, plan, s3_client
from alb502athena.window import Window
from tests.aws import ACCOUNT, REGION, MotoServer, fill_bucket
from tests.pruning_data import FOLDER, LOAD_BALANCERS, edge_logs

runner = CliRunner()
BUCKET = "alb-logs.example"
PREFIX = "prod"
OTHER_ACCOUNT, OTHER_REGION = "210987654321", "us-east-1"
START, END = "2026-11-20T09:00Z", "2026-11-20T09:30Z"
WINDOW = Window.from_options(None, START, END)
# Three folders of ELB logs under one prefix: the main one (three load balancers), the same objects
# under a second account and under a second region (names rewritten to match their folders).
HOME = f"{PREFIX}/{FOLDER}"
ELSEWHERE = {
    "account": (ACCOUNT, OTHER_ACCOUNT),
    "region": (REGION, OTHER_REGION),
}


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two hours of objects (08:00-10:00 end times) as ALB writes them, with connection and
    health-check logs beside the access logs."""
    return edge_logs(tmp_path_factory.mktemp("alb"), datetime(2026, 11, 20, 8, 0, tzinfo=UTC), hours=2)


def _moved(key: str, what: str) -> str:
    old, new = ELSEWHERE[what]
    return key.replace(old, new)


@pytest.fixture
def bucket(aws: MotoServer, logs: Path) -> dict[str, bytes]:
    """Key -> body of every object put."""
    objects: dict[str, bytes] = {}
    for path in sorted(logs.rglob("*.log.gz")):
        key = f"{PREFIX}/{path.relative_to(logs).as_posix()}"
        body = path.read_bytes()
        objects[key] = body
        if LOAD_BALANCERS[0].split("/")[1] + "." in path.name and "_log_" not in path.name:
            objects[_moved(key, "account")] = body  # one load balancer's access logs in a second account
            objects[_moved(key, "region")] = body
    # Not ELB's: a folder under AWSLogs that is no account, and objects beside the logs.
    objects[f"{PREFIX}/AWSLogs/notes/readme.txt"] = b"hello"
    objects[f"{HOME}/2026/11/20/notes.txt"] = b"not a log"
    fill_bucket(BUCKET, objects.items())
    return objects


def client() -> Any:
    return s3_client(session(None, None), 4)


def planned(url: str = f"s3://{BUCKET}/{PREFIX}", **kwargs: Any) -> S3Plan:
    s3 = client()
    counter = RequestCounter()
    counter.attach(s3)
    return plan(s3, url, WINDOW, requests=counter, **kwargs)


def synced(bucket: dict[str, bytes], keys: list[str], root: Path) -> Path:
    """The objects as `aws s3 sync` of the prefix leaves them."""
    for key in keys:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bucket[key])
    return root


def cli(*args: str) -> Any:
    return runner.invoke(app, [*args])


def json_of(result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


# --- listing -----------------------------------------------------------------------------------


def test_accounts_and_regions_found_under_the_prefix(bucket: dict[str, bytes]) -> None:
    found = planned()
    assert [lst.root for lst in found.listings] == [
        f"s3://{BUCKET}/{PREFIX}/AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}",
        f"s3://{BUCKET}/{PREFIX}/AWSLogs/{ACCOUNT}/elasticloadbalancing/{OTHER_REGION}",
        f"s3://{BUCKET}/{PREFIX}/AWSLogs/{OTHER_ACCOUNT}/elasticloadbalancing/{REGION}",
    ]
    assert found.accounts() == [ACCOUNT, OTHER_ACCOUNT]
    assert found.regions() == [REGION, OTHER_REGION]
    assert found.load_balancers() == sorted(LOAD_BALANCERS)
    # One listing of AWSLogs/, one of each account's regions, then the window's day folder (2026/11/20:
    # its last end time, 09:45, is before midnight) of each of the three folders, by name ranges: at home
    # 3 groups (access, connection, health-check logs), each found by a one-key listing and listed
    # delimited for its load balancers, 3 load balancers x 3 kinds listed over the window's end times,
    # notes.txt stepped over and the end of the folder; elsewhere one load balancer's access logs.
    home = 3 * 2 + 3 * 3 + 2
    assert found.requests.list == 1 + 2 + home + 2 * (2 + 1 + 1) and found.requests.get == 0


def test_account_and_region_narrow(bucket: dict[str, bytes]) -> None:
    one = planned(account=OTHER_ACCOUNT)
    assert one.accounts() == [OTHER_ACCOUNT] and one.regions() == [REGION]
    assert one.load_balancers() == [LOAD_BALANCERS[0]]
    other = planned(region=OTHER_REGION)
    assert other.accounts() == [ACCOUNT] and other.regions() == [OTHER_REGION]
    with pytest.raises(InputError, match="no ALB log folders of --account 111111111111 under"):
        planned(account="111111111111")


def test_a_prefix_at_any_level(bucket: dict[str, bytes]) -> None:
    home = f"s3://{BUCKET}/{HOME}"
    at_region = planned(home)
    assert [lst.root for lst in at_region.listings] == [home]
    assert at_region.requests.list == 3 * 2 + 3 * 3 + 2  # the day folder only: no accounts or regions
    at_account = planned(f"s3://{BUCKET}/{PREFIX}/AWSLogs/{ACCOUNT}/")
    assert at_account.regions() == [REGION, OTHER_REGION] and at_account.accounts() == [ACCOUNT]
    with pytest.raises(UsageError, match="below ELB's log folders"):
        planned(f"{home}/2026/11/20")
    with pytest.raises(InputError, match="no ALB log folders"):
        planned(f"s3://{BUCKET}/elsewhere")
    with pytest.raises(InputError, match=f"no ALB log folders under s3://{BUCKET} "):
        planned(f"s3://{BUCKET}")  # the bucket's own AWSLogs/: none here, all are under prod/
    with pytest.raises(InputError, match="no such bucket: no-such-bucket"):
        planned("s3://no-such-bucket/prod")
    # Given down to its region folder, no delimited listing comes first: the window's listing says it.
    with pytest.raises(InputError, match="no such bucket: no-such-bucket"):
        planned(f"s3://no-such-bucket/{HOME}")


def test_the_window_selects_by_name_as_local_discovery_does(bucket: dict[str, bytes], tmp_path: Path) -> None:
    found = planned(f"s3://{BUCKET}/{HOME}")
    every = [k for k in bucket if k.startswith(HOME + "/")]
    on_disk = discover([synced(bucket, every, tmp_path)], WINDOW)
    assert sorted(o.key for o in found.objects) == sorted(
        f.path.relative_to(tmp_path).as_posix() for f in on_disk.files
    )
    # 09:00 to 09:45 (the late margin): ten end times, three load balancers, two nodes.
    assert len(found.objects) == 10 * 3 * 2
    assert {f.location for f in found.files} == {o.url for o in found.objects}


def test_other_log_types_set_aside_and_counted(bucket: dict[str, bytes]) -> None:
    found = planned(f"s3://{BUCKET}/{HOME}")
    aside = found.set_aside()
    # The window's ten end times (09:00 to 09:45) of each load balancer and node, of each kind; the
    # day folder holds 24 (the names outside the window are never listed); notes.txt stepped over.
    assert {k: t.objects for k, t in aside.items()} == {
        "connection": 60,
        "health_check": 60,
        "unrecognised": 1,
    }
    assert (
        "set aside 60 connection-log, 60 health-check-log, 1 unrecognised objects of the window"
        in found.sentence()
    )
    assert all("conn_log" not in o.key and "health_check" not in o.key for o in found.objects)


def test_a_window_is_required(bucket: dict[str, bytes]) -> None:
    with pytest.raises(UsageError, match="reading S3 needs a window"):
        plan(client(), f"s3://{BUCKET}/{PREFIX}", Window())
    result = cli("diagnose", f"s3://{BUCKET}/{PREFIX}")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "Error: reading S3 needs a window, to list only its day folders: --last 1h, or --start (and --end)"
    ]


def test_nothing_in_the_window(bucket: dict[str, bytes]) -> None:
    with pytest.raises(
        InputError,
        match=r"no ALB access log in the window .* the ALB access logs of app/a-b-1/aaaaaaaaaaaaaaaa, "
        r"app/shop-prod/0f1e2d3c4b5a6978, app/shop/50dc6c495c0c9188 are all outside it",
    ):
        plan(
            client(),
            f"s3://{BUCKET}/{HOME}",
            Window.from_options(None, "2026-11-20T20:00Z", "2026-11-20T21:00Z"),
        )


@pytest.mark.parametrize("url", ["s3://", "s3://B/x", "s3://bucket/a//b", "https://bucket/x"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(UsageError, match="not an S3 folder"):
        parse_url(url)


# --- reading, the same verdict as on disk ------------------------------------------------------


def test_the_same_verdict_as_the_same_objects_on_disk(
    bucket: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path / "cache"))
    window = ["--start", START, "--end", END, "-o", "json"]
    from_s3 = json_of(
        cli("diagnose", f"s3://{BUCKET}/{PREFIX}", "--account", ACCOUNT, "--region", REGION, *window)
    )
    every = [k for k in bucket if k.startswith(HOME + "/")]
    local = json_of(cli("diagnose", str(synced(bucket, every, tmp_path / "sync")), *window))
    assert from_s3["source"] == "s3" and local["source"] == "local"
    for key in ("totals", "signatures", "bad_files", "window"):
        assert from_s3[key] == local[key], key
    # The other log types: on disk every file of the folder is counted, from S3 those the window's
    # name ranges listed (the rest of the folder is never listed), and the verdict says so.
    local_details = ["set aside 144 connection-log and 144 health-check-log files, not ALB access logs"]
    assert local["verdict"]["details"] == local_details
    assert from_s3["verdict"] == {
        **local["verdict"],
        "details": [
            "set aside 60 connection-log and 60 health-check-log objects whose names fall in the window, "
            "not ALB access logs"
        ],
    }
    # What the input held: the same files in the window; S3's own account differs, and the files outside
    # the window are not counted from S3 (their names are never listed).
    assert local["inputs"]["files_found"] == 144 and local["inputs"]["outside_window"] == 84
    assert {**from_s3["inputs"], "s3": None} == {**local["inputs"], "files_found": None, "outside_window": 0}
    assert from_s3["totals"]["elb_502"] > 0
    s3 = from_s3["inputs"]["s3"]
    selected = [k for k in in_window(bucket, ACCOUNT) if k.startswith(HOME + "/")]
    assert len(selected) == 10 * 3 * 2
    size = sum(len(bucket[k]) for k in selected)
    assert s3 == {
        "bucket": BUCKET,
        "prefix": PREFIX,
        "accounts": [ACCOUNT],
        "regions": [REGION],
        "load_balancers": sorted(LOAD_BALANCERS),
        "objects": 60,
        "bytes": size,
        "downloaded_objects": 60,
        "downloaded_bytes": size,
        "cached_objects": 0,
        "set_aside": {
            "connection": {"objects": 60, "bytes": s3["set_aside"]["connection"]["bytes"]},
            "health_check": {"objects": 60, "bytes": s3["set_aside"]["health_check"]["bytes"]},
            "unrecognised": {"objects": 1, "bytes": 9},
        },
        "set_aside_of": ["window"],
        "listed_whole": [],
        "requests": {"list": 1 + 1 + 3 * 2 + 3 * 3 + 2, "get": 60},
    }
    assert local["inputs"]["s3"] is None
    assert from_s3["set_aside"]["connection"]["count"] == 60


def test_the_plan_on_stderr_and_run(bucket: dict[str, bytes], tmp_path: Path) -> None:
    result = cli(
        "run", "connect-failed", f"s3://{BUCKET}/{PREFIX}", "--account", ACCOUNT, "--start", START, "--end", END,
        "--cache", str(tmp_path), "-o", "csv",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    # AWS_REGION (set by the aws fixture) chooses the client's region, and narrows nothing: both of the
    # account's regions are read, the home folder's 60 objects and the other region's 20.
    assert result.stderr.splitlines()[0] == (
        f"Reading 80 objects ({human_bytes(sum(len(bucket[o]) for o in in_window(bucket, ACCOUNT)))}) from "
        f"s3://{BUCKET}/{PREFIX}: 3 load balancers in 1 account ({ACCOUNT}) and 2 regions ({REGION}, "
        f"{OTHER_REGION}), 2 day folders listed; set aside 60 connection-log, 60 health-check-log, "
        "1 unrecognised objects of the window"
    )
    rows = result.stdout.strip().splitlines()
    # connect-failed: a line 4m40s before each object's end, in the window for the end times 09:05 to
    # 09:30; of 3 load balancers at home and 1 in the other region, 2 nodes each; and the header.
    assert len(rows) == 1 + 6 * 4 * 2


def test_unparsed_lines_are_sampled_as_on_disk(
    bucket: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found: from S3 the unparsed lines were counted but never sampled ("look like" said nothing), the
    # sample reading files on disk. The heads of a few objects are now kept as they are read.
    import gzip

    from moto.s3.models import s3_backends

    monkeypatch.setenv("ALB502_CACHE", str(tmp_path / "cache"))
    damaged = sorted(k for k in in_window(bucket, ACCOUNT) if k.startswith(HOME + "/"))[0]
    good = gzip.decompress(bucket[damaged]).splitlines(keepends=True)
    cut = good[0][: len(good[0]) // 2] + b"\n"  # an ALB line cut midway
    nginx = [
        f'203.0.113.{i} - - [20/Nov/2026:09:10:0{i} +0000] "GET /cart HTTP/1.1" 502 157 "-" "curl/8.4.0"\n'.encode()
        for i in range(3)
    ]
    bucket[damaged] = gzip.compress(b"".join([good[0], cut, *nginx, *good[1:]]))
    s3_backends[ACCOUNT]["aws"].put_object(BUCKET, damaged, bucket[damaged])
    window = ["--start", START, "--end", END, "-o", "json"]
    from_s3 = json_of(cli("diagnose", f"s3://{BUCKET}/{HOME}", *window))
    every = [k for k in bucket if k.startswith(HOME + "/")]
    local = json_of(cli("diagnose", str(synced(bucket, every, tmp_path / "sync")), *window))
    assert from_s3["totals"]["unparsed_lines"] == local["totals"]["unparsed_lines"] == 4
    looks = {
        "ALB access log of a shape this version cannot read": 1,
        "nginx/Apache access log (common or combined)": 3,
    }
    for data in (from_s3, local):
        assert {f["format"]: f["sampled_lines"] for f in data["inputs"]["unparsed_lines_look_like"]} == looks
    assert from_s3["inputs"]["unparsed_lines_look_like"] == local["inputs"]["unparsed_lines_look_like"]
    assert (
        [d for d in from_s3["verdict"]["details"] if "look like" in d]
        == [d for d in local["verdict"]["details"] if "look like" in d]
        != []
    )
    # Without a second download: each object asked for once.
    s3 = from_s3["inputs"]["s3"]
    assert s3["requests"]["get"] == s3["objects"] == s3["downloaded_objects"]


def in_window(bucket: dict[str, bytes], account: str) -> list[str]:
    """The access-log objects of the account whose end times the window needs (09:00 to 09:45)."""
    return [
        k
        for k in bucket
        if f"/{account}/" in k
        and k.endswith(".log.gz")
        and "_log_" not in k
        and "20261120T0900Z" <= k.split("_")[-3] <= "20261120T0945Z"
    ]


def test_max_download_refuses_before_reading(bucket: dict[str, bytes], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result = cli(
        "diagnose", f"s3://{BUCKET}/{HOME}", "--start", START, "--end", END, "--max-download", "1KB",
        "--cache", str(cache),
    )  # fmt: skip
    assert result.exit_code == 2
    plan_line, error = result.stderr.strip().splitlines()
    assert plan_line.startswith("Reading 60 objects (")
    assert (
        error.startswith("Error: --max-download 1KB: the window needs ") and "Narrow it: a shorter" in error
    )
    assert list(cache.iterdir()) == []  # nothing downloaded
    # Cached objects are not downloaded: once all are in the cache, the same limit lets the run go.
    assert (
        cli(
            "diagnose", f"s3://{BUCKET}/{HOME}", "--start", START, "--end", END, "--cache", str(cache)
        ).exit_code
        == 0
    )
    again = cli(
        "diagnose", f"s3://{BUCKET}/{HOME}", "--start", START, "--end", END, "--max-download", "1KB",
        "--cache", str(cache), "-o", "json",
    )  # fmt: skip
    assert json_of(again)["inputs"]["s3"]["cached_objects"] == 60
    assert "60 of them cached" in again.stderr


# --- the cache ---------------------------------------------------------------------------------


def read(found: S3Plan, cache: ObjectCache | None, **kwargs: Any) -> tuple[Any, S3Reader]:
    s3 = client()
    found.requests.attach(s3)
    reader = S3Reader(s3, found.objects, cache=cache, **kwargs)
    found.reader = reader
    engine = LocalEngine(found.files, WINDOW, source=reader)
    return diagnose(engine, QueryParams(WINDOW)), reader


def test_cache_miss_then_hit(bucket: dict[str, bytes], tmp_path: Path) -> None:
    first_plan = planned(f"s3://{BUCKET}/{HOME}")
    first, reader = read(first_plan, ObjectCache(tmp_path))
    assert reader.counts.downloaded_objects == 60 and reader.counts.cached_objects == 0
    assert first_plan.requests.get == 60
    second_plan = planned(f"s3://{BUCKET}/{HOME}", cache=ObjectCache(tmp_path))
    assert second_plan.cached_objects == 60 and second_plan.to_download == 0
    second, reader = read(second_plan, ObjectCache(tmp_path))
    assert reader.counts.downloaded_objects == 0 and reader.counts.cached_objects == 60
    assert second_plan.requests.get == 0
    assert second.totals == first.totals and second.as_json()["signatures"] == first.as_json()["signatures"]


def test_an_overlapping_window_downloads_only_what_is_new(bucket: dict[str, bytes], tmp_path: Path) -> None:
    read(planned(f"s3://{BUCKET}/{HOME}"), ObjectCache(tmp_path))
    later = Window.from_options(None, "2026-11-20T09:10Z", "2026-11-20T09:40Z")  # ends 09:10..09:55
    found = plan(client(), f"s3://{BUCKET}/{HOME}", later, cache=ObjectCache(tmp_path))
    assert found.cached_objects == 8 * 6 and len(found.objects) == 10 * 6


def test_a_changed_etag_is_a_miss(bucket: dict[str, bytes], tmp_path: Path) -> None:
    from moto.s3.models import s3_backends

    read(planned(f"s3://{BUCKET}/{HOME}"), ObjectCache(tmp_path))
    found = planned(f"s3://{BUCKET}/{HOME}")
    changed = found.objects[0]
    # The same key rewritten (a lifecycle rule re-encrypting it, say): a new ETag.
    import gzip

    s3_backends[ACCOUNT]["aws"].put_object(
        BUCKET, changed.key, gzip.compress(gzip.decompress(bucket[changed.key]) * 2)
    )
    again = planned(f"s3://{BUCKET}/{HOME}")
    assert next(o for o in again.objects if o.key == changed.key).etag != changed.etag
    result, reader = read(again, ObjectCache(tmp_path))
    assert reader.counts.downloaded_objects == 1 and reader.counts.cached_objects == 59
    first, _ = read(planned(f"s3://{BUCKET}/{HOME}"), None)
    assert result.totals == first.totals and result.totals.lines == 60 * 4 + 4


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    def held() -> set[str]:
        return {p.name for p in tmp_path.iterdir()}

    def name(i: int) -> str:
        return entry_name("b", f"k{i}", f'"e{i}"')

    cache = ObjectCache(tmp_path, limit=1000)
    for i in range(10):
        cache.put("b", f"k{i}", f'"e{i}"', bytes([i]) * 300)
    # Over the limit, the oldest go until a tenth under it: three of 300 bytes are left, the last three.
    assert held() == {name(7), name(8), name(9)} and cache.total == 900
    # A new cache over the folder counts what it holds; a hit is the whole object, and makes it the
    # newest: the next eviction takes the oldest unused one.
    again = ObjectCache(tmp_path, limit=1000)
    assert again.total == 900
    os.utime(tmp_path / name(7), (1000, 1000))  # written long ago
    again = ObjectCache(tmp_path, limit=1000)
    assert again.get("b", "k7", '"e7"', 300) == bytes([7]) * 300
    assert again.get("b", "k9", '"e9"', 301) is None  # not the size listed: no hit
    again.put("b", "k10", '"e10"', bytes(300))
    assert held() == {name(7), name(9), name(10)}
    # An object bigger than the whole cache is not kept.
    again.put("b", "big", '"x"', bytes(2000))
    assert not again.has("b", "big", '"x"', 2000)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_an_unwritable_cache_is_a_warning(bucket: dict[str, bytes], tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")  # root or not, no folder can be made under a file
    result = cli(
        "diagnose", f"s3://{BUCKET}/{HOME}", "--start", START, "--end", END, "--cache", str(blocked / "s3"),
        "-o", "json",
    )  # fmt: skip
    out = json_of(result)
    assert result.stderr.splitlines()[0].startswith(
        f"Warning: the S3 cache {blocked / 's3'} cannot be used ("
    )
    assert out["inputs"]["s3"]["downloaded_objects"] == 60 and out["totals"]["elb_502"] > 0


def test_no_cache_keeps_nothing(
    bucket: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    out = json_of(
        cli("diagnose", f"s3://{BUCKET}/{HOME}", "--start", START, "--end", END, "--no-cache", "-o", "json")
    )
    assert out["inputs"]["s3"]["downloaded_objects"] == 60
    assert not (tmp_path / "s3").exists()
    json_of(cli("diagnose", f"s3://{BUCKET}/{HOME}", "--start", START, "--end", END, "-o", "json"))
    assert len(list((tmp_path / "s3").iterdir())) == 60  # the default cache, under ALB502_CACHE


# --- objects that cannot be read ----------------------------------------------------------------


def test_an_object_gone_after_the_listing_is_named(bucket: dict[str, bytes]) -> None:
    from moto.s3.models import s3_backends

    found = planned(f"s3://{BUCKET}/{HOME}")
    gone = found.objects[5]
    s3_backends[ACCOUNT]["aws"].delete_object(BUCKET, gone.key)
    result, _ = read(found, None)
    assert result.bad_files == [(gone.url, "the object is gone: deleted after it was listed")]
    assert result.totals.lines == 59 * 4  # the others are analysed


def test_an_object_changed_after_the_listing_is_refused(bucket: dict[str, bytes]) -> None:
    # IfMatch pins the ETag listed: the cache would otherwise keep the new body under the old ETag.
    obj = planned(f"s3://{BUCKET}/{HOME}").objects[0]
    with pytest.raises(ObjectReadError, match="changed after it was listed"):
        fetch_object(client(), S3Object(obj.bucket, obj.key, obj.size, '"0123456789abcdef0123456789abcdef"'))
    assert fetch_object(client(), obj) == bucket[obj.key]


def test_reading_one_object_ahead_at_a_time(bucket: dict[str, bytes]) -> None:
    # The smallest read-ahead still reads every object, in the scan's order, without waiting forever.
    found = planned(f"s3://{BUCKET}/{HOME}")
    small, reader = read(found, None, concurrency=1, ahead_objects=1, ahead_bytes=1)
    wide, _ = read(planned(f"s3://{BUCKET}/{HOME}"), None)
    assert small.totals == wide.totals and reader.counts.downloaded_objects == 60


def test_s3_with_an_engine_or_other_paths_is_refused(tmp_path: Path) -> None:
    both = cli("diagnose", "s3://bucket/x", str(tmp_path), "--last", "1h")
    assert both.exit_code == 2 and "read one s3:// folder at a time" in both.stderr
    athena = cli("diagnose", "s3://bucket/x", "--engine", "athena", "--database", "d", "--last", "1h")
    assert athena.exit_code == 2 and "an s3:// folder is read without --engine" in athena.stderr
    account = cli("diagnose", "s3://bucket/x", "--account", "12345", "--last", "1h")
    assert account.exit_code == 2 and "invalid --account '12345'" in account.stderr
    size = cli("diagnose", "s3://bucket/x", "--max-download", "lots", "--last", "1h")
    assert size.exit_code == 2 and "invalid --max-download 'lots'" in size.stderr


# --- AWS conventions ----------------------------------------------------------------------------


def test_requester_pays_is_said_on_every_request(bucket: dict[str, bytes]) -> None:
    s3 = s3_client(session(None, None), 4, request_payer="requester")
    said: list[tuple[str, bytes | None]] = []

    def record(request: Any, event_name: str, **_: Any) -> None:
        said.append((event_name.rsplit(".", 1)[-1], request.headers.get("x-amz-request-payer")))

    s3.meta.events.register("before-send.s3", record)
    found = plan(s3, f"s3://{BUCKET}/{HOME}", WINDOW)
    reader = S3Reader(s3, found.objects[:2], request_payer="requester")
    reading = reader.reading([o.url for o in found.objects[:2]])
    from alb502athena.engines.native.pool import Pool

    assert sum(len(c[0]) for o in found.objects[:2] for c in reading.chunks(o.url, Pool())) > 0
    reading.close()
    assert {op for op, _ in said} == {"ListObjectsV2", "GetObject"}
    assert all(payer == b"requester" for _, payer in said), said


def test_the_s3_endpoint_variable_is_honoured(
    bucket: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    # AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL for S3 (botocore reads both): the general one
    # points nowhere, and the bucket is read all the same.
    s3_endpoint = os.environ["AWS_ENDPOINT_URL"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    out = json_of(
        cli("diagnose", f"s3://{BUCKET}/{HOME}", "--start", START, "--end", END, "--no-cache", "-o", "json")
    )
    assert out["inputs"]["s3"]["objects"] == 60 and out["totals"]["elb_502"] > 0


def test_no_object_readable_is_one_error(bucket: dict[str, bytes]) -> None:
    # Every GET refused (here: every object deleted after the listing; a missing s3:GetObject or
    # kms:Decrypt permission alike) is one line with the reason, not one per object.
    from moto.s3.models import s3_backends

    found = planned(f"s3://{BUCKET}/{HOME}")
    for obj in found.objects:
        s3_backends[ACCOUNT]["aws"].delete_object(BUCKET, obj.key)
    with pytest.raises(InputError, match="no readable log files"):
        read(found, None)
    refused = found.none_readable()
    assert refused is not None and refused.exit_code == 3
    assert str(refused) == (
        f"none of the 60 objects under s3://{BUCKET}/{HOME} could be read: the object is gone: deleted after "
        "it was listed (every one)"
    )


def test_downloads_stay_a_bounded_number_ahead(bucket: dict[str, bytes]) -> None:
    # Memory holds the bodies downloaded and not yet taken by the scan: at most `ahead_objects` (and a
    # body per loader thread that asked before the downloads reached it).
    from alb502athena.s3read import _Reading

    most = [0]

    class Watched(_Reading):
        def _start(self, path: str) -> Any:
            started = super()._start(path)
            most[0] = max(most[0], self._ahead)
            return started

    class Reader(S3Reader):
        def reading(self, paths: Any) -> _Reading:
            return Watched(self, paths)

    found = planned(f"s3://{BUCKET}/{HOME}")
    s3 = client()
    reader = Reader(s3, found.objects, concurrency=8, ahead_objects=3)
    engine = LocalEngine(found.files, WINDOW, source=reader, threads=2)
    result = diagnose(engine, QueryParams(WINDOW))
    assert result.totals.lines == 60 * 4 and reader.counts.downloaded_objects == 60
    assert 3 <= most[0] <= 3 + 2


@pytest.mark.parametrize(
    ("code", "status", "message", "said"),
    [
        ("AccessDenied", 403, "User: arn:aws:iam::1:user/x is not authorized to perform: kms:Decrypt",
         "access denied by KMS: the kms:Decrypt permission"),
        ("AccessDenied", 403, "The ciphertext refers to a customer master key that does not exist, does not exist "
         "in this region, or you are not allowed to access.", "access denied by KMS: the kms:Decrypt permission"),
        ("KMS.DisabledException", 400, "key is disabled", "access denied by KMS"),
        ("AccessDenied", 403, "Access Denied", "access denied: the s3:GetObject permission is missing"),
        ("NoSuchKey", 404, "The specified key does not exist.", "the object is gone"),
        ("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold",
         "the object changed after it was listed"),
        ("SlowDown", 503, "Please reduce your request rate.", "S3 kept answering SlowDown (slow down)"),
    ],
)  # fmt: skip
def test_why_s3_refused_an_object(code: str, status: int, message: str, said: str) -> None:
    # The answers as botocore parses them (moto answers none of the KMS ones): the one place that
    # words an object's failure, which the fault tests reach over HTTP.
    from botocore.exceptions import ClientError

    from alb502athena.s3read import _refused

    error = ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )
    assert _refused(error).startswith(said)
