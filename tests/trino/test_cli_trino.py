"""`alb502 diagnose/run --engine trino` against the tier's Trino server: same JSON as the local engine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alb502athena.cli.app import app
from tests.conftest import REPO
from tests.trino.conftest import TrinoTier
from tests.trino.test_trino import EXAMPLES_ROOT

runner = CliRunner()
WINDOW = ["--start", "2026-11-20T09:00Z", "--end", "2026-11-20T10:00Z"]


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def schema(trino: TrinoTier) -> str:
    return trino.dataset("examples", REPO / "examples" / "logs", EXAMPLES_ROOT)


def test_diagnose_json_matches_the_local_engine(trino: TrinoTier, schema: str) -> None:
    code, out, err = invoke(
        "diagnose",
        "--engine",
        "trino",
        "--trino-url",
        trino.server.url,
        "--schema",
        schema,
        *WINDOW,
        "-o",
        "json",
    )
    assert code == 0, err
    remote = json.loads(out)
    code, out, _ = invoke("diagnose", str(REPO / "examples" / "logs"), *WINDOW, "-o", "json")
    local = json.loads(out)
    assert remote["engine"] == "trino" and local["engine"] == "local"
    assert remote["source"] == "table" and local["source"] == "local"
    # What the input held is known from files locally only (names, sampled lines); the verdict's
    # status, headline and warnings are the same on both.
    for data in (remote, local):
        del data["engine"], data["source"], data["inputs"], data["verdict"]["details"]
    assert remote == local
    assert remote["totals"]["elb_502"] == 197


def test_options_from_the_environment(trino: TrinoTier, schema: str) -> None:
    env = {"ALB502_ENGINE": "trino", "ALB502_TRINO_URL": trino.server.url, "ALB502_TRINO_SCHEMA": schema}
    code, out, err = invoke("run", "connect-failed", *WINDOW, "-o", "json", "--limit", "0", env=env)
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 72 and {r["target_ip"] for r in rows} == {"10.0.12.14", "10.0.12.203"}
    # The limit is in the query Trino runs (LIMIT 6, one past it): the first five, and a note.
    code, out, err = invoke("run", "connect-failed", *WINDOW, "-o", "json", "--limit", "5", env=env)
    assert code == 0, err
    assert json.loads(out) == rows[:5] and "more match" in err


def test_printed_trino_ddl_creates_a_working_table(trino: TrinoTier, schema: str) -> None:
    location = f"local:///examples/{EXAMPLES_ROOT}"
    code, ddl, _ = invoke("ddl", "--engine", "trino", "--location", location, "--table", "hive.cli.alb_logs")
    assert code == 0
    trino.execute("CREATE SCHEMA IF NOT EXISTS hive.cli WITH (location = 'local:///schemas/cli')")
    trino.execute(ddl)
    _, rows = trino.execute("SELECT count(*), count(type) FROM hive.cli.alb_logs")
    assert rows == [(12280, 12275)]


def test_trino_failures_are_one_line(trino: TrinoTier, schema: str) -> None:
    code, _, err = invoke(
        "diagnose", "--engine", "trino", "--trino-url", trino.server.url, "--schema", "nope"
    )
    assert code == 3
    assert re.fullmatch(
        r"Error: Trino query \w+ failed: SCHEMA_NOT_FOUND: line \d+:\d+: Schema 'nope' does not exist\n", err
    ), err
    assert len(err.strip().splitlines()) == 1
    code, _, err = invoke("diagnose", "--engine", "trino", "--trino-url", "http://127.0.0.1:9")
    assert code == 3 and err.strip() == "Error: cannot reach Trino at http://127.0.0.1:9 (ConnectionError)"


def test_trino_usage_errors(trino: TrinoTier, tmp_path: Path) -> None:
    code, _, err = invoke("diagnose", "--engine", "trino")
    assert code == 2 and err.strip() == "Error: the trino engine needs --trino-url (or ALB502_TRINO_URL)"
    code, _, err = invoke("diagnose", str(tmp_path), "--engine", "trino", "--trino-url", trino.server.url)
    assert code == 2 and err.strip() == "Error: the trino engine reads its table, not files: remove the paths"
    code, _, err = invoke("diagnose", "--engine", "trino", "--trino-url", trino.server.url, "--password", "x")
    assert (
        code == 2
        and err.strip() == "Error: a Trino password is only sent over https: use an https:// --trino-url"
    )
    code, _, err = invoke(
        "diagnose", "--engine", "trino", "--trino-url", trino.server.url, "--table", "x;drop"
    )
    assert code == 2 and err.startswith("Error: invalid table name 'x;drop'")
    code, _, err = invoke("diagnose")
    assert (
        code == 2
        and err.strip() == "Error: the local engine needs log files or folders, e.g. alb502 diagnose ./logs"
    )


def test_a_load_balancer_that_matches_no_line_on_trino(trino: TrinoTier, schema: str) -> None:
    other = "app/other-alb/0123456789abcdef"
    url = trino.server.url
    args = ["--engine", "trino", "--trino-url", url, "--schema", schema, *WINDOW, "--load-balancer", other]
    code, out, err = invoke("diagnose", *args, "-o", "json")
    assert code == 2, err
    data = json.loads(out)
    assert data["verdict"]["headline"] == (
        f"No ALB access-log request in the window: no line is from --load-balancer {other}; "
        "the lines are from app/shop-prod/50dc6c495c0c9188."
    )
    (lines,) = data["inputs"]["lines_by_load_balancer"]
    assert lines["load_balancer"] == "app/shop-prod/50dc6c495c0c9188" and lines["in_window"] == 12275
