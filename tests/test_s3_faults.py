"""`alb502 diagnose s3://...` when the bucket or the network fails: each fault of issue 16, against moto's
S3 over real HTTP on loopback, through tests/s3proxy.py, a proxy that makes the faults moto cannot
(a connection reset or a body cut short mid-download, 503 SlowDown, 403 and 404 on a GetObject after
the listing showed the object, SSE-KMS's AccessDenied, a denied listing, stalled downloads).

Where retrying helps (SlowDown, a reset, a body cut short once) the diagnosis is whole: the same as the
local diagnosis of the same objects. Where it does not (403, 404, a KMS key refused, a body cut short
every time), the object is named in `bad_files` as s3://bucket/key, with why, and the others are
analysed: the same as the local diagnosis of the folder without that object. The proxy's counts show
that each fault happened, and how often each object was asked for."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from alb502athena.cli.app import app
from alb502athena.s3read import CONCURRENCY
from tests.aws import ACCOUNT, REGION, MotoServer, folder_through_proxy
from tests.pruning_data import FOLDER, edge_logs
from tests.s3proxy import STALL_LIMIT, S3Proxy
from tests.test_faults import MODES, Run, assert_interrupted

runner = CliRunner()
BUCKET = "alb-logs.faults"
PREFIX = "prod"
WINDOW = ["--start", "2026-11-20T09:30Z", "--end", "2026-11-20T10:00Z"]
# The object each fault hits: an access log in the window (09:45, the first load balancer's first node).
VICTIM = "app.shop.50dc6c495c0c9188_20261120T0945Z_10.0.1.37_"


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two hours of objects (end times 09:05-11:00) as ALB lays them out: three load balancers, two
    nodes, connection and health-check logs beside the access logs."""
    return edge_logs(tmp_path_factory.mktemp("alb"), datetime(2026, 11, 20, 9, 0, tzinfo=UTC), hours=2)


@pytest.fixture
def bucket(aws: MotoServer, proxy: S3Proxy, logs: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The logs in a bucket under `prod/`, reached through the proxy. Yields the key of the fault's object."""
    folder_through_proxy(BUCKET, PREFIX, logs, proxy, monkeypatch)
    [victim] = [p for p in logs.rglob(f"*{VICTIM}*") if not p.name.startswith(("conn_", "health"))]
    yield f"{PREFIX}/{victim.relative_to(logs).as_posix()}"
    proxy.reset()


def diagnose(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    result = runner.invoke(app, ["diagnose", *args, *WINDOW, "--no-cache", "-o", "json"])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else None, result.stderr


def verdict(data: dict[str, Any]) -> dict[str, Any]:
    """What the S3 and the local diagnoses must agree on. Less the count of other log types set aside:
    on disk every file of the folder, from S3 those whose names fall in the window (tests/test_s3source.py
    checks both sentences)."""
    agreed = {k: data[k] for k in ("verdict", "window", "totals", "signatures")}
    details = [d for d in agreed["verdict"]["details"] if not d.startswith("set aside ")]
    return {**agreed, "verdict": {**agreed["verdict"], "details": details}}


def local(logs: Path, tmp_path: Path, without: str | None = None) -> dict[str, Any]:
    """The local diagnosis of the same objects (less the key `without`), in the same window."""
    folder = logs
    if without is not None:
        folder = tmp_path / "copy"
        shutil.copytree(logs, folder)
        (folder / without.removeprefix(f"{PREFIX}/")).unlink()
    code, data, err = diagnose(str(folder))
    assert code == 0 and data is not None, err
    assert data["bad_files"] == []
    return data


def test_without_faults_it_is_the_local_diagnosis(
    bucket: str, proxy: S3Proxy, logs: Path, tmp_path: Path
) -> None:
    code, data, err = diagnose(f"s3://{BUCKET}/{PREFIX}")
    assert code == 0 and data is not None, err
    assert data["bad_files"] == [] and verdict(data) == verdict(local(logs, tmp_path))
    s3 = data["inputs"]["s3"]
    # Each object asked for once, and the counts the JSON gives are the requests that reached S3.
    assert set(proxy.gets.values()) == {1} and len(proxy.gets) == s3["objects"] > 0
    assert s3["requests"] == {"list": proxy.requests["list"], "get": proxy.requests["get"]}
    assert proxy.faulted == []


@pytest.mark.parametrize(
    ("kind", "times"),
    [
        pytest.param("slowdown", 2, id="503 SlowDown twice"),
        pytest.param("reset", 1, id="connection reset mid-body"),
        pytest.param("reset", 2, id="connection reset mid-body twice"),
        pytest.param("truncate", 1, id="body cut short"),
    ],
)
def test_retried_where_it_helps(
    bucket: str, proxy: S3Proxy, logs: Path, tmp_path: Path, kind: str, times: int
) -> None:
    proxy.add(kind, bucket, times=times)
    code, data, err = diagnose(f"s3://{BUCKET}/{PREFIX}")
    assert code == 0 and data is not None, err
    assert proxy.faulted == [(kind, bucket)] * times  # the fault happened, as often as asked
    assert proxy.gets[bucket] == times + 1  # then the object was read
    assert data["bad_files"] == [] and "could not read" not in err
    assert verdict(data) == verdict(local(logs, tmp_path))  # the diagnosis is whole


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("slowdown", id="503 SlowDown"),
        pytest.param("reset", id="connection reset mid-answer"),
        # Found: a cut answer was refused after botocore's retries (in its before-parse event), so the
        # listing failed where asking again helps (awsanswers.py now refuses it within the attempt).
        pytest.param("truncate", id="answer cut short"),
    ],
)
def test_listing_retried_where_it_helps(
    bucket: str, proxy: S3Proxy, logs: Path, tmp_path: Path, kind: str
) -> None:
    """A listing page that fails once is asked for again: the same objects are found and read."""
    proxy.add(kind, "2026/11/20/", op="list", times=1)
    code, data, err = diagnose(f"s3://{BUCKET}/{PREFIX}")
    assert code == 0 and data is not None, err
    assert proxy.faulted == [(kind, f"{PREFIX}/{FOLDER}/2026/11/20/")]
    assert data["bad_files"] == [] and verdict(data) == verdict(local(logs, tmp_path))


@pytest.mark.parametrize("mode", ["standard", "legacy", "adaptive"])
def test_an_answer_cut_short_is_asked_again_in_every_retry_mode(
    bucket: str, proxy: S3Proxy, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """AWS_RETRY_MODE chooses botocore's retry handler; each must take a cut answer for a failed attempt
    (aws.guard's client, as every AWS call of alb502 makes), and the second answer is the page, whole."""
    from alb502athena.aws import session
    from alb502athena.s3source import s3_client

    monkeypatch.setenv("AWS_RETRY_MODE", mode)
    s3 = s3_client(session(None, None), 1)
    listed = f"{PREFIX}/{FOLDER}/2026/11/20/"
    whole = s3.list_objects_v2(Bucket=BUCKET, Prefix=listed)
    proxy.add("truncate", listed, op="list", times=1)
    again = s3.list_objects_v2(Bucket=BUCKET, Prefix=listed)
    assert proxy.faulted == [("truncate", listed)]
    assert again["ResponseMetadata"]["RetryAttempts"] == 1
    assert again["Contents"] == whole["Contents"] and len(whole["Contents"]) > 1


def test_a_listing_cut_short_every_time_is_one_error_line(bucket: str, proxy: S3Proxy) -> None:
    """A listing page cut short at every attempt: asked for as often as the attempts allow (AWS_MAX_ATTEMPTS,
    3 from the aws fixture), never parsed as a shorter page, then one `Error:` line, exit 3."""
    proxy.add("truncate", "2026/11/20/", op="list")
    result = runner.invoke(app, ["diagnose", f"s3://{BUCKET}/{PREFIX}", *WINDOW, "--no-cache"])
    assert result.exit_code == 3, result.stderr
    assert result.stdout == ""
    listed = f"{PREFIX}/{FOLDER}/2026/11/20/"
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"Error: the answers of {proxy.url}/ kept being cut short while listing s3://{BUCKET}/{listed}, "
        "even after retries (the last: "
    ), line
    assert proxy.faulted == [("truncate", listed)] * 3 and proxy.requests["get"] == 0


@pytest.mark.parametrize(
    ("kind", "reason", "retried"),
    [
        pytest.param("denied", "s3:GetObject", False, id="403 AccessDenied"),
        pytest.param("missing", "deleted after it was listed", False, id="404 after the listing"),
        pytest.param("kms", "kms:Decrypt", False, id="SSE-KMS key refused"),
        pytest.param("kms-decrypt", "kms:Decrypt", False, id="SSE-KMS key refused, kms:Decrypt named"),
        pytest.param("truncate", "cut short", True, id="body cut short every time"),
        pytest.param("reset", "cut short", True, id="connection reset every time"),
        # Taken by botocore as S3 out of reach: the objects' client must not stop every other GET then.
        pytest.param("drop", "cut short", True, id="connection closed before an answer every time"),
        pytest.param("slowdown", "SlowDown", True, id="503 SlowDown every time"),
    ],
)
def test_named_where_retrying_does_not_help(
    bucket: str, proxy: S3Proxy, logs: Path, tmp_path: Path, kind: str, reason: str, retried: bool
) -> None:
    proxy.add(kind, bucket)
    code, data, err = diagnose(f"s3://{BUCKET}/{PREFIX}")
    assert code == 0 and data is not None, err
    [bad] = data["bad_files"]
    assert bad["path"] == f"s3://{BUCKET}/{bucket}" and reason in bad["reason"], bad
    if kind.startswith("kms"):  # S3's own message may name no permission, or only KMS's
        assert "s3:GetObject" not in bad["reason"], bad
    assert f"s3://{BUCKET}/{bucket}" in err and "Traceback" not in err
    assert f"Warning: could not read s3://{BUCKET}/{bucket}: " in err
    assert err.count("; the other objects were analysed") == 1, err  # S3 holds objects, not files
    # A refusal is final: asked for once. A fault that a retry may clear: asked for again, then given up.
    assert (proxy.gets[bucket] > 1) == retried, proxy.gets[bucket]
    if kind == "slowdown":  # AWS_MAX_ATTEMPTS (3, from the aws fixture) counts attempts, the first included
        assert proxy.gets[bucket] == 3, proxy.gets[bucket]
    assert {k for k, _ in proxy.faulted} == {kind}
    # Every other object is read and analysed: the local diagnosis of the folder without this one, with
    # the unreadable object said under the headline.
    got, expected = verdict(data), verdict(local(logs, tmp_path, without=bucket))
    objects = data["inputs"]["s3"]["objects"]
    unread = got["verdict"]["warnings"].pop(0)
    assert unread.startswith(f"1 of {objects} objects unreadable"), unread
    assert got == expected
    assert data["inputs"]["s3"]["objects"] == len(proxy.gets)


def test_an_object_unreadable_is_said_as_an_object(bucket: str, proxy: S3Proxy, tmp_path: Path) -> None:
    """The verdict, the warnings on stderr and the report say "objects" of S3's, in the one sentence each
    that says "files" of a folder's (found: "1 of 60 files unreadable" from a bucket)."""
    proxy.add("denied", bucket)
    report = tmp_path / "incident.html"
    result = runner.invoke(
        app, ["diagnose", f"s3://{BUCKET}/{PREFIX}", *WINDOW, "--no-cache", "--report", str(report)]
    )
    assert result.exit_code == 0, result.stderr
    objects = len(proxy.gets)
    assert f"1 of {objects} objects unreadable (" in result.stdout
    assert f"could not read s3://{BUCKET}/{bucket}: " in result.stderr
    assert "; the other objects were analysed" in result.stderr
    html = report.read_text()
    assert "Objects that could not be read, or only in part (1)" in html
    assert "The other objects were analysed." in html and f"s3://{BUCKET}/{bucket}" in html
    assert "files unreadable" not in result.stdout + result.stderr and "Files that could not" not in html


@pytest.mark.parametrize("output", ["json", "table"])
def test_every_object_refused_is_one_error_line(bucket: str, proxy: S3Proxy, output: str) -> None:
    """Every GET refused (403: no s3:GetObject on any object; moto cannot refuse GETs and not the listing
    with one policy, so the proxy does). As for local files of which none can be read, no verdict at all
    (never "No HTTP 502" from nothing read) but one `Error:` line; its exit code is 3, AWS refusing, as
    for a listing refused (local files none can read: 2, an input error). The objects are counted in it,
    with S3's reason, rather than named one per line."""
    proxy.add("denied")
    result = runner.invoke(app, ["diagnose", f"s3://{BUCKET}/{PREFIX}", *WINDOW, "--no-cache", "-o", output])
    assert result.exit_code == 3, result.stderr
    assert result.stdout == ""  # no verdict, no JSON: nothing that could read as an all-clear
    objects = len(proxy.gets)
    assert objects > 1 and set(proxy.gets.values()) == {1}  # every object asked for, once: a 403 is final
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        f"Error: none of the {objects} objects under s3://{BUCKET}/{PREFIX} could be read: access denied: "
        "the s3:GetObject permission is missing (AccessDenied: Access Denied) (every one)"
    ], result.stderr
    # Nothing else but the plan said before the reading: no verdict, no note, no traceback.
    assert [line for line in result.stderr.splitlines() if not line.startswith("Reading ")] == errors
    assert [k for k, _ in proxy.faulted] == ["denied"] * objects


@pytest.mark.parametrize(
    ("where", "listed"),
    [
        pytest.param(f"{PREFIX}", f"{PREFIX}/AWSLogs/", id="above AWSLogs (accounts and regions listed)"),
        pytest.param(
            f"{PREFIX}/{FOLDER}",
            f"{PREFIX}/{FOLDER}/2026/11/20/",
            id="the region folder (day folders listed)",
        ),
    ],
)
def test_listing_denied_is_one_error_line(bucket: str, proxy: S3Proxy, where: str, listed: str) -> None:
    proxy.add("denied", op="list")
    result = runner.invoke(app, ["diagnose", f"s3://{BUCKET}/{where}", *WINDOW, "--no-cache"])
    assert result.exit_code == 3, result.stderr
    assert result.stdout == ""
    # The folder whose listing was refused, the permission, and S3's own words; nothing about Athena,
    # which this reading does not use.
    assert result.stderr.splitlines() == [
        f"Error: access denied while listing s3://{BUCKET}/{listed}: the s3:ListBucket permission on bucket "
        f"{BUCKET} is missing (Access Denied)"
    ]
    assert proxy.requests["get"] == 0 and proxy.faulted == [("denied", listed)]


def interrupt_stalled_downloads(proxy: S3Proxy, tty: bool) -> tuple[int, str, int]:
    """A real SIGINT to an `alb502` process while the proxy holds every download it runs at once (no
    request of its is then on the way): its exit code, stderr, and the GETs sent after the SIGINT."""
    proxy.add("stall")
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}  # the aws fixture's, and the proxy
    run = Run(["diagnose", f"s3://{BUCKET}/{PREFIX}", *WINDOW, "--no-cache"], tty, env=env)
    assert proxy.wait_stalled(CONCURRENCY, timeout=120), f"{proxy.stalled} downloads reached the proxy"
    asked = proxy.requests["get"]
    code, err = run.interrupt()
    return code, err, proxy.requests["get"] - asked


@pytest.mark.parametrize("tty", MODES)
def test_ctrl_c_stops_the_stalled_downloads(bucket: str, proxy: S3Proxy, tty: bool) -> None:
    code, err, sent = interrupt_stalled_downloads(proxy, tty)
    assert_interrupted(code, err)
    assert sent == 0  # no download was tried again after Ctrl-C: the process did not wait for them


def test_a_stopped_reading_does_not_wait_for_a_stalled_download(bucket: str, proxy: S3Proxy) -> None:
    # Found under load: after Ctrl-C the reader's loader still waited for a download held by a silent
    # connection (botocore's read timeout, then its retries), so the process did not end for minutes.
    from moto.s3.models import s3_backends

    from alb502athena.engines.native.pool import Pool
    from alb502athena.s3read import ObjectReadError, S3Object, S3Reader

    stored = s3_backends[ACCOUNT]["aws"].get_object(BUCKET, bucket)
    assert stored is not None
    obj = S3Object(BUCKET, bucket, stored.size, stored.etag)
    proxy.add("stall", bucket)
    reader = S3Reader(boto3.client("s3", region_name=REGION), [obj], concurrency=1)
    reading = reader.reading([obj.url])
    assert proxy.wait_stalled(1, timeout=30)
    failed: list[BaseException] = []

    def load() -> None:
        try:
            list(reading.chunks(obj.url, Pool()))
        except BaseException as exc:
            failed.append(exc)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    loader.join(0.5)
    assert loader.is_alive()  # waiting for the download (the proxy holds it)
    reading.close()
    # The loader must end while the proxy still holds the download (the wait is only a guard: at
    # STALL_LIMIT the proxy lets the download go, and a loader that waited for it ends then).
    loader.join(STALL_LIMIT)
    held = proxy.stalled
    proxy.release()
    assert not loader.is_alive() and held == 1, "the loader waited for the stalled download"
    assert len(failed) == 1 and isinstance(failed[0], ObjectReadError), failed


# Run in `alb502` through sitecustomize: its main thread is held where the parser compiles (an empty
# cache: the compile runs) until Ctrl-C has come and its handler has run, and then compiles, seconds.
# Found so, under load: a Ctrl-C that came while the parser compiled stopped nothing until the compile
# ended, and meanwhile the downloads went on. Held in Python code (a sleep), where the handler runs at
# once; the compile itself is native code for long stretches, where the handler waits for its end.
HOLD_THE_COMPILE = """
import sys, time
from alb502athena import interrupts
from alb502athena.engines.native import kernel

compile_parser = kernel._compile

def held(source):
    print("test hook: the parser compiles", file=sys.stderr, flush=True)
    deadline = time.monotonic() + 120
    while not interrupts.came() and time.monotonic() < deadline:
        time.sleep(0.01)
    print("test hook: Ctrl-C came while the parser compiled", file=sys.stderr, flush=True)
    return compile_parser(source)

kernel._compile = held
"""


def test_ctrl_c_while_the_parser_compiles_sends_no_more_gets(
    bucket: str, proxy: S3Proxy, tmp_path: Path
) -> None:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOLD_THE_COMPILE)
    proxy.add("stall")
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}  # the aws fixture's, and the proxy
    env["ALB502_CACHE"] = str(tmp_path / "empty-cache")
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(hook), os.environ.get("PYTHONPATH")] if p)
    run = Run(["diagnose", f"s3://{BUCKET}/{PREFIX}", *WINDOW, "--no-cache"], False, env=env)
    assert proxy.wait_stalled(CONCURRENCY, timeout=120), f"{proxy.stalled} downloads reached the proxy"
    run.wait_for("the parser compiles")
    asked = proxy.requests["get"]

    def release_once_stopped() -> None:
        # Once the handler has run, the held downloads are let go: any download still wanted, a new
        # one or the held ones asked again, would now be sent while the main thread compiles.
        run.wait_for("Ctrl-C came while the parser compiled")
        proxy.release()

    releaser = threading.Thread(target=release_once_stopped, daemon=True)
    releaser.start()
    code, err = run.interrupt()
    releaser.join(STALL_LIMIT)
    assert "Ctrl-C came while the parser compiled" in err, err[-2000:]
    assert_interrupted(code, err)
    assert proxy.requests["get"] == asked  # no GET after Ctrl-C, though nothing held them any more


def test_a_stopped_reader_refuses_the_retries_of_a_stalled_download(bucket: str, proxy: S3Proxy) -> None:
    # A GET sent before Ctrl-C and held by a silent connection ends at botocore's read timeout (10 s;
    # 1 s here), and botocore then sends it again, up to its attempts: after Ctrl-C, none may be sent.
    from botocore.config import Config
    from moto.s3.models import s3_backends

    from alb502athena.s3read import ObjectReadError, S3Object, S3Reader
    from alb502athena.s3source import READ_ATTEMPTS, RequestCounter

    stored = s3_backends[ACCOUNT]["aws"].get_object(BUCKET, bucket)
    assert stored is not None
    obj = S3Object(BUCKET, bucket, stored.size, stored.etag)
    proxy.add("stall", bucket)
    retries = {"mode": "standard", "total_max_attempts": READ_ATTEMPTS}
    s3 = boto3.client("s3", region_name=REGION, config=Config(read_timeout=1, retries=retries))
    counter = RequestCounter()
    counter.attach(s3)  # before the reader, as cli.s3 does
    reader = S3Reader(s3, [obj], concurrency=1)
    failed: list[BaseException] = []

    def fetch() -> None:
        try:
            reader.fetch(obj, lambda: False)
        except BaseException as exc:
            failed.append(exc)

    fetching = threading.Thread(target=fetch, daemon=True)
    fetching.start()
    assert proxy.wait_stalled(1, timeout=30)
    reader.stop()
    fetching.join(STALL_LIMIT)  # the read timeout ends the held GET; its retry is refused
    proxy.release()
    assert not fetching.is_alive()
    assert [str(e) for e in failed] == ["the download was stopped"], failed
    assert isinstance(failed[0], ObjectReadError)
    assert proxy.requests["get"] == 1 and counter.get == 1  # the refused retry was neither sent nor counted


def test_an_object_refused_in_two_scans_is_one_object(bucket: str, proxy: S3Proxy) -> None:
    # "None of the objects could be read" counted failed attempts, not objects: an object refused in
    # two scans of one reader counted twice, and one object of two refused read as none readable.
    from moto.s3.models import s3_backends

    from alb502athena.engines.native.pool import Pool
    from alb502athena.s3read import ObjectReadError, S3Object, S3Reader
    from alb502athena.s3source import RequestCounter, S3Location, S3Plan
    from alb502athena.window import Window

    backend = s3_backends[ACCOUNT]["aws"]
    node = bucket.replace("_10.0.1.37_", "_10.0.2.114_").rsplit("_", 1)[0]  # the other node's object
    [other] = [k for k in backend.buckets[BUCKET].keys if k.startswith(node)]
    objects = []
    for key in (bucket, other):
        stored = backend.get_object(BUCKET, key)
        assert stored is not None
        objects.append(S3Object(BUCKET, key, stored.size, stored.etag))
    window = Window.from_options(None, WINDOW[1], WINDOW[3])

    def scanned_twice(refused: int) -> S3Plan:
        """Two scans of both objects by one reader, the first `refused` of them refused by S3."""
        reader = S3Reader(boto3.client("s3", region_name=REGION), objects, concurrency=1)
        for _ in range(2):
            reading = reader.reading([o.url for o in objects])
            for i, obj in enumerate(objects):
                if i < refused:
                    with pytest.raises(ObjectReadError, match="s3:GetObject"):
                        list(reading.chunks(obj.url, Pool()))
                else:
                    assert list(reading.chunks(obj.url, Pool()))
            reading.close()
        assert len(reader.counts.failed) == refused
        return S3Plan(S3Location(BUCKET, PREFIX), window, [], objects, [], RequestCounter(), reader=reader)

    proxy.add("denied", bucket)
    assert scanned_twice(1).none_readable() is None  # one of the two was read
    assert proxy.gets[bucket] == 2
    proxy.add("denied", other)
    refused = scanned_twice(2).none_readable()
    assert refused is not None and "none of the 2 objects" in str(refused) and "(every one)" in str(refused)
