"""The CLI through CliRunner: outputs, messages and exit codes."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alb502athena.cli.app import app
from tests.conftest import REPO, write_log
from tests.lines import make_line, signature_line

runner = CliRunner()
EXAMPLES = REPO / "examples" / "logs"


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    day = tmp_path / "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/20"
    name = "123456789012_elasticloadbalancing_eu-west-1_app.shop.50dc6c495c0c9188_20261120T1020Z_10.0.0.1_abcd1234.log.gz"
    write_log(
        day / name,
        [make_line(), signature_line("connect-failed"), signature_line("response-failed"), "junk"],
    )
    return tmp_path


def test_diagnose_json_contract(logs: Path) -> None:
    code, out, err = invoke("diagnose", str(logs), "--output", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["engine"] == "local"
    assert data["window"] == {"start": None, "end": None}
    assert data["totals"] == {
        "lines": 4, "unparsed_lines": 1, "requests": 3, "elb_502": 2,
        "lb_generated_502": 2, "target_generated_502": 0,
    }  # fmt: skip
    assert {s["id"] for s in data["signatures"]} == {"connect-failed", "response-failed"}
    for s in data["signatures"]:
        assert set(s) >= {
            "id",
            "source",
            "count",
            "first_seen",
            "last_seen",
            "top_targets",
            "title",
            "remediation",
        }
        assert s["top_targets"] == [{"target": "10.0.1.20:8080", "count": 1}]
    assert sum(s["count"] for s in data["signatures"]) == data["totals"]["elb_502"]
    for s in data["signatures"]:
        assert sum(m["count"] for m in s["per_minute"]) == s["count"]
    assert "1 lines did not match the ALB log format" in err


def test_diagnose_window_and_formats(logs: Path) -> None:
    code, out, _ = invoke(
        "diagnose", str(logs), "--start", "2026-11-20T10:00Z", "--end", "2026-11-20T11:00Z", "-o", "json"
    )
    assert code == 0
    assert json.loads(out)["window"] == {"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T11:00:00Z"}
    code, out, _ = invoke("diagnose", str(logs), "-o", "csv")
    assert code == 0 and out.splitlines()[0].startswith("id,source,count,first_seen")
    code, out, _ = invoke("diagnose", str(logs), "-o", "markdown")
    assert code == 0
    assert out.startswith("### ALB HTTP 502: Mostly connect-failed (50% of 2 HTTP 502): ")
    assert (
        "| signature | 502s | share | per 1 min | first seen | last seen | target group | top targets |"
        in out
    )
    assert "**Next steps**" in out and "1. **connect-failed** (1): Check that the listed targets" in out
    code, out, _ = invoke("diagnose", str(logs))
    assert code == 0
    assert "connect-failed" in out and "Next:" in out and "2 HTTP 502" in out
    assert any(line.startswith("502s") and "per 1 min" in line for line in out.splitlines())
    assert "Warning: 25% of lines unparsed (1 of 4)" in out  # the share of the input left unread


def test_files_outside_the_window_are_not_opened(logs: Path) -> None:
    code, _, err = invoke("diagnose", str(logs), "--start", "2026-11-21T10:00Z", "--end", "2026-11-21T11:00Z")
    assert code == 2  # a window that holds no file is nothing to diagnose, not an all-clear
    assert "skipped 1 files whose names put them outside the window" in err


def test_fail_on_findings(logs: Path, tmp_path: Path) -> None:
    assert invoke("diagnose", str(logs), "--fail-on-findings")[0] == 1
    clean = write_log(tmp_path / "clean" / "a.log", [make_line()])
    assert invoke("diagnose", str(clean), "--fail-on-findings")[0] == 0


def test_bad_files_are_named_and_the_rest_analysed(logs: Path) -> None:
    good = next(logs.rglob("*.log.gz"))
    (good.parent / "truncated.log.gz").write_bytes(good.read_bytes()[:20])
    (good.parent / "notgzip.log.gz").write_bytes(b"plain text, not gzip\n")
    code, out, err = invoke("diagnose", str(logs), "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["totals"]["elb_502"] == 2
    assert {Path(b["path"]).name for b in data["bad_files"]} == {"truncated.log.gz", "notgzip.log.gz"}
    assert "Warning: could not read" in err and "truncated.log.gz" in err
    assert "Traceback" not in err


def test_input_errors(tmp_path: Path) -> None:
    code, _, err = invoke("diagnose", str(tmp_path / "missing"))
    assert code == 2 and err.strip() == f"Error: no such file or directory: {tmp_path / 'missing'}"
    (tmp_path / "empty").mkdir()
    code, _, err = invoke("diagnose", str(tmp_path / "empty"))
    assert (
        code == 2
        and err.strip() == f"Error: no ALB access-log files (*.log, *.log.gz) found in {tmp_path / 'empty'}"
    )
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "x.log.gz").write_bytes(gzip.compress(b"x")[:5])
    code, _, err = invoke("diagnose", str(only_bad))
    assert code == 2 and err.startswith("Error: no readable log files:") and "x.log.gz" in err


def test_usage_errors(logs: Path) -> None:
    code, _, err = invoke("diagnose", str(logs), "--last", "2 fortnights")
    assert (
        code == 2
        and err.strip() == "Error: invalid duration '2 fortnights': use a number and a unit, e.g. 30m, 2h, 1d"
    )
    code, _, err = invoke("diagnose", str(logs), "--last", "1h", "--start", "2026-11-20")
    assert code == 2 and err.strip() == "Error: --last and --start cannot be used together"
    code, _, err = invoke("run", "nope", str(logs))
    assert code == 2 and err.startswith(
        "Error: unknown signature 'nope'; known signatures: lambda-response-too-large"
    )
    code, _, err = invoke("diagnose", str(logs), "--load-balancer", "x' OR '1'='1")
    assert code == 2 and err.startswith("Error: invalid --load-balancer")
    code, _, _ = invoke("diagnose", str(logs), "-o", "yaml")
    assert code == 2


def test_run_rows(logs: Path) -> None:
    code, out, _ = invoke("run", "connect-failed", str(logs), "-o", "json")
    assert code == 0
    (row,) = json.loads(out)
    assert row["target_ip"] == "10.0.1.20" and row["request_processing_time"] == -1


def test_list_json() -> None:
    code, out, _ = invoke("list", "--output", "json")
    assert code == 0
    data = json.loads(out)
    assert [d["id"] for d in data][-1] == "elb-502-other" and len(data) == 9
    assert all({"id", "title", "source", "metric", "remediation"} <= set(d) for d in data)


def test_sql_is_pasteable() -> None:
    code, out, _ = invoke(
        "sql", "connect-failed", "--start", "2026-11-20T10:00Z", "--end", "2026-11-20T11:00Z"
    )
    assert code == 0
    assert out.startswith("SELECT ") and "day BETWEEN '2026/11/20' AND '2026/11/21'" in out
    code, out, _ = invoke("sql", "diagnosis")
    assert code == 0 and "GROUPING SETS" in out
    # Without a window: the last hour, relative, so a saved query never scans the whole bucket.
    assert (
        "day >= date_format((current_timestamp - interval '60' minute) AT TIME ZONE 'UTC', '%Y/%m/%d')" in out
    )
    code, out, _ = invoke("sql", "connect-failed", "--last", "2h")
    assert code == 0 and "interval '120' minute" in out and "time >= date_format(" in out


def test_ddl() -> None:
    code, out, _ = invoke(
        "ddl", "--bucket", "my-alb-logs", "--account", "123456789012", "--region", "eu-west-1"
    )
    assert code == 0 and out.startswith("CREATE EXTERNAL TABLE IF NOT EXISTS alb_logs (")
    code, _, err = invoke("ddl", "--bucket", "my-alb-logs", "--account", "12", "--region", "eu-west-1")
    assert code == 2 and err.strip() == "Error: invalid --account '12': 12 digits"


def test_example_logs_shipped_in_the_repo() -> None:
    code, out, err = invoke("diagnose", str(EXAMPLES), "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    assert {s["id"] for s in data["signatures"]} == {
        "lambda-response-too-large", "lambda-unhandled", "lambda-throttled", "lambda-invalid-response",
        "lambda-other", "target-502", "connect-failed", "response-failed", "elb-502-other",
    }  # fmt: skip


def command_names() -> list[str]:
    from typer.main import get_command

    return sorted(get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", command_names())
def test_every_command_has_help_with_an_example_and_is_in_the_readme(name: str) -> None:
    code, out, _ = invoke(name, "--help")
    assert code == 0 and "Example: alb502 " + name in re.sub(r"[│\s]+", " ", out)
    assert f"alb502 {name}" in (REPO / "README.md").read_text()


def test_python_dash_m() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "alb502athena", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("alb502 ")


def test_ddl_trino_twin() -> None:
    code, out, _ = invoke(
        "ddl",
        "--engine",
        "trino",
        "--bucket",
        "my-alb-logs",
        "--account",
        "123456789012",
        "--region",
        "eu-west-1",
    )
    assert code == 0 and out.startswith("CREATE TABLE IF NOT EXISTS alb_logs (")
    assert "format = 'REGEX'" in out
    assert (
        "partition_projection_location_template = 's3://my-alb-logs/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/${day}'"
        in out
    )
    code, _, err = invoke("ddl", "--engine", "trino")
    assert (
        code == 2
        and err.strip() == "Error: missing --bucket, --account, --region (the S3 location of the logs)"
    )
    code, _, err = invoke("ddl", "--location", "local:///x", "--bucket", "b")
    assert code == 2 and err.startswith("Error: --location goes with --engine trino")


_HELP_IMPORTS = """
import sys
from alb502athena.cli.app import main
try:
    main()
except SystemExit:
    pass
heavy = ["duckdb", "numpy", "pyarrow", "numba", "llvmlite", "isal", "deflate", "sqlglot", "jinja2", "yaml",
         "boto3", "trino"]
print("loaded:", ",".join(m for m in heavy if m in sys.modules))
"""


@pytest.mark.parametrize("args", [["--help"], ["diagnose", "--help"], ["run", "--help"]])
def test_help_imports_no_engine_and_no_template(args: list[str]) -> None:
    # Help must come at once: the engines, the parser's libraries and the templates load on use.
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _HELP_IMPORTS, *args], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert "Usage" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "loaded:"
