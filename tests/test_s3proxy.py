"""The fault proxy of the S3 fault tests (tests/s3proxy.py), checked with boto3 itself against moto's S3
over loopback: each fault reaches the client as the network or S3 would make it, and the counts are
the requests S3 would bill. Without these, a fault test whose fault never happened could pass."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from tests.aws import REGION, MotoServer
from tests.s3proxy import KMS_MESSAGE, S3Proxy, classify

BUCKET = "proxy-test-bucket"
KEY = "AWSLogs/2026/11/20/object.log.gz"
BODY = bytes(range(256)) * 64  # 16 KiB


@pytest.fixture
def s3(aws: MotoServer, proxy: S3Proxy) -> Iterator[Any]:
    """A boto3 client through the proxy (one attempt: the tests count what each fault does), with the
    bucket and object put straight into moto."""
    proxy.reset()
    direct = boto3.client("s3", region_name=REGION, endpoint_url=aws.url)
    direct.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    direct.put_object(Bucket=BUCKET, Key=KEY, Body=BODY)
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    yield boto3.client("s3", region_name=REGION, endpoint_url=proxy.url, config=config)
    proxy.reset()


def test_passes_requests_on_and_counts_them(s3: Any, proxy: S3Proxy) -> None:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="AWSLogs/2026/")
    assert [o["Key"] for o in listed["Contents"]] == [KEY]
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == BODY
    assert s3.head_object(Bucket=BUCKET, Key=KEY)["ContentLength"] == len(BODY)
    assert proxy.requests == {"list": 1, "get": 1, "head": 1}
    assert proxy.gets == {KEY: 1} and proxy.faulted == []


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("denied", 403, "AccessDenied"),
        ("missing", 404, "NoSuchKey"),
        ("kms", 403, "AccessDenied"),
        ("slowdown", 503, "SlowDown"),
    ],
)
def test_error_answers(s3: Any, proxy: S3Proxy, kind: str, status: int, code: str) -> None:
    proxy.add(kind, "object")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        s3.get_object(Bucket=BUCKET, Key=KEY)
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    if kind == "kms":
        assert caught.value.response["Error"]["Message"] == KMS_MESSAGE
    assert proxy.faulted == [(kind, KEY)]


def test_slowdown_n_times_then_passes(aws: MotoServer, s3: Any, proxy: S3Proxy) -> None:
    proxy.add("slowdown", times=2)
    # botocore's standard retries take SlowDown as throttling: a third attempt gets the object.
    config = Config(retries={"mode": "standard", "total_max_attempts": 3})
    retrying = boto3.client("s3", region_name=REGION, endpoint_url=proxy.url, config=config)
    assert retrying.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == BODY
    assert proxy.gets == {KEY: 3} and proxy.faulted == [("slowdown", KEY)] * 2


@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_body_cut_short(s3: Any, proxy: S3Proxy, kind: str) -> None:
    proxy.add(kind, times=1)
    answer = s3.get_object(Bucket=BUCKET, Key=KEY)
    assert answer["ContentLength"] == len(BODY)  # the headers announce the whole object
    # botocore reads a streamed body after the call returned: the cut shows there, never retried.
    with pytest.raises(botocore.exceptions.ResponseStreamingError) as caught:
        answer["Body"].read()
    assert ("reset by peer" if kind == "reset" else "IncompleteRead") in str(caught.value)
    # Once, then the object passes whole.
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == BODY


def test_list_fault_and_key_match(s3: Any, proxy: S3Proxy) -> None:
    proxy.add("denied", "2026/11/20", op="list")
    proxy.add("missing", "another-object")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        s3.list_objects_v2(Bucket=BUCKET, Prefix="AWSLogs/2026/11/20/")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="AWSLogs/2026/11/21/")["KeyCount"] == 0
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == BODY  # not the key of the fault
    assert proxy.requests == {"list": 2, "get": 1}


def test_stall_holds_until_released(s3: Any, proxy: S3Proxy) -> None:
    proxy.add("stall")
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()))
    reader.start()
    assert proxy.wait_stalled(1, timeout=30)
    assert got == []
    proxy.release()
    reader.join(30)
    assert got == [BODY] and proxy.stalled == 0


def test_classify() -> None:
    assert classify("GET", "/b?list-type=2&prefix=a%2Fb%2F").op == "list"
    assert classify("GET", "/b?list-type=2&prefix=a%2Fb%2F").key == "a/b/"
    assert classify("GET", "/b/a/b%20c.log.gz") == classify("GET", "/b/a/b c.log.gz")
    assert classify("GET", "/b/a/b.log.gz").op == "get"
    assert classify("GET", "/b?location").op == "other"
    assert classify("PUT", "/b/a").op == "other"
    assert classify("HEAD", "/b/a").op == "head"
