"""A real HTTP server speaking the AWS APIs (moto) on loopback, for the Athena, Glue and S3 tests, and the
fault proxy in front of it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.s3proxy import S3Proxy

ACCOUNT = "123456789012"
REGION = "eu-west-1"


class MotoServer:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=10)
        # The state manager outlives a reset: queries of the next test must succeed at once again.
        body = {"model_name": "athena::execution"}
        requests.post(f"{self.url}/moto-api/state-manager/unset-transition", json=body, timeout=10)

    def queue_results(self, columns: list[tuple[str, str]], rows: list[list[Any]]) -> None:
        """Canned rows for the next new Athena query (moto never runs SQL)."""
        queue_athena_results(self.url, columns, rows)

    def slow_queries(self, polls: int) -> None:
        """Each query stays QUEUED, then RUNNING, for `polls` status reads each."""
        body = {"model_name": "athena::execution", "transition": {"progression": "manual", "times": polls}}
        requests.post(
            f"{self.url}/moto-api/state-manager/set-transition", json=body, timeout=10
        ).raise_for_status()

    def executions(self) -> list[Any]:
        from moto.athena.models import athena_backends

        return list(athena_backends[ACCOUNT][REGION].executions.values())


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """Every boto3 client of the test talks to the moto server, with throwaway credentials."""
    moto_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    # moto answers HTTP 500 for what it does not implement (CloudTrail LookupEvents): retry less.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    yield moto_server


@pytest.fixture(scope="module")
def proxy(moto_server: MotoServer) -> Iterator[S3Proxy]:
    """The fault proxy of tests/s3proxy.py in front of moto's server: a test reaches moto through it by
    setting AWS_ENDPOINT_URL (or a client's endpoint_url) to its `url`, and calls its `reset` first."""
    from tests.s3proxy import S3Proxy

    made = S3Proxy(moto_server.url)
    yield made
    made.stop()


def fill_bucket(bucket: str, objects: Iterable[tuple[str, bytes]], s3: Any = None) -> None:
    """A bucket of moto's server holding these (key, body) objects. The bucket is made over HTTP (by `s3`,
    or a client of the aws fixture's settings); the objects are put straight into moto's backend, in this
    process: an HTTP PUT each would be most of a test's time. Every read still goes over HTTP."""
    import boto3
    from moto.s3.models import s3_backends

    (s3 or boto3.client("s3", region_name=REGION)).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    backend = s3_backends[ACCOUNT]["aws"]
    for key, body in objects:
        backend.put_object(bucket, key, body)


def folder_through_proxy(
    bucket: str, prefix: str, folder: Path, proxy: S3Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The logs of `folder` (every *.log.gz, at its path below it) in a bucket of moto's under `prefix/`,
    which the test's clients then reach through the fault proxy (reset)."""
    fill_bucket(
        bucket,
        ((f"{prefix}/{p.relative_to(folder).as_posix()}", p.read_bytes()) for p in folder.rglob("*.log.gz")),
    )
    proxy.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)


def queue_athena_results(
    url: str, columns: list[tuple[str, str]], rows: list[list[Any]], timeout: float = 10
) -> None:
    """Canned rows for the next new Athena query of the moto server at `url` (moto never runs SQL)."""

    def cell(v: Any) -> dict[str, str]:
        return {} if v is None else {"VarCharValue": str(v).lower() if isinstance(v, bool) else str(v)}

    body = {
        "account_id": ACCOUNT,
        "region": REGION,
        "results": [
            {
                "rows": [
                    {"Data": [cell(c) for c, _ in columns]},
                    *({"Data": [cell(v) for v in r]} for r in rows),
                ],
                # As Athena describes each column (pyathena reads all of these).
                "column_info": [
                    {"Name": c, "Label": c, "Type": t, "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN"}
                    for c, t in columns
                ],
            }
        ],
    }
    requests.post(
        f"{url}/moto-api/static/athena/query-results", json=body, timeout=timeout
    ).raise_for_status()
