"""`alb502 diagnose s3://... --report`: the report's samples come from the diagnosis' own reading of the
objects, against moto's S3 server over real HTTP on loopback, through tests/s3proxy.py for its counts of
the requests that reached S3 (each GET is billed, and is a download)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alb502athena.cli.app import app
from tests.aws import MotoServer, folder_through_proxy
from tests.pruning_data import edge_logs
from tests.s3proxy import S3Proxy

runner = CliRunner()
BUCKET = "alb-logs.report"
PREFIX = "prod"
WINDOW = ["--start", "2026-11-20T09:00Z", "--end", "2026-11-20T10:00Z"]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two hours of objects (end times 08:05-10:00) as ALB lays them out: three load balancers, two
    nodes, connection and health-check logs beside the access logs."""
    return edge_logs(tmp_path_factory.mktemp("alb"), datetime(2026, 11, 20, 8, 0, tzinfo=UTC), hours=2)


@pytest.fixture
def bucket(aws: MotoServer, proxy: S3Proxy, logs: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The logs in a bucket under `prod/`, reached through the proxy."""
    folder_through_proxy(BUCKET, PREFIX, logs, proxy, monkeypatch)
    yield f"s3://{BUCKET}/{PREFIX}"
    proxy.reset()


def sample_tables(html: str) -> list[str]:
    """The report's tables of sample requests, one per signature found, in the report's order."""
    return re.findall(r'<table class="samples">.*?</table>', html, flags=re.DOTALL)


def test_the_report_reads_each_object_once(
    bucket: str, proxy: S3Proxy, logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "s3.html"
    result = runner.invoke(
        app, ["diagnose", bucket, *WINDOW, "--no-cache", "--report", str(report), "-o", "json"]
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    s3 = data["inputs"]["s3"]
    # Each object of the window was downloaded once, for the verdict and the report's samples alike
    # (the samples query of the report read every object a second time), and the JSON's count is all.
    assert s3["objects"] == s3["downloaded_objects"] > 0
    assert set(proxy.gets.values()) == {1} and len(proxy.gets) == s3["objects"]
    assert proxy.requests["get"] == s3["requests"]["get"] == s3["objects"]
    # The samples the report held before: those of the samples query run on its own, after the
    # diagnosis (the SQL view's way), over the same logs on disk.
    monkeypatch.setenv("ALB502_PARSER", "sql")
    local = tmp_path / "local.html"
    on_disk = runner.invoke(app, ["diagnose", str(logs), *WINDOW, "--report", str(local), "-o", "json"])
    assert on_disk.exit_code == 0, on_disk.stderr
    assert json.loads(on_disk.stdout)["signatures"] == data["signatures"]
    tables = sample_tables(report.read_text())
    assert tables == sample_tables(local.read_text())
    assert len(tables) == len(data["signatures"]) > 1
    assert all(table.count("<tr>") > 1 for table in tables)  # a header and rows
