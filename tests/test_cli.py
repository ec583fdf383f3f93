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
    # The share of unparsed lines is part of the verdict (a warning above 1%), said on stderr too.
    assert data["verdict"]["warnings"] == ["25% of lines unparsed (1 of 4)"]
    assert "Warning: 25% of lines unparsed (1 of 4)" in err.splitlines()


def test_diagnose_window_and_formats(logs: Path) -> None:
    code, out, _ = invoke(
        "diagnose", str(logs), "--start", "2026-11-20T10:00Z", "--end", "2026-11-20T11:00Z", "-o", "json"
    )
    assert code == 0
    assert json.loads(out)["window"] == {"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T11:00:00Z"}
    code, out, _ = invoke("diagnose", str(logs), "-o", "csv")
    assert code == 0 and out.splitlines()[0].startswith('"id","source","count","first_seen"')
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
    # Said once, by the verdict: not a "skipped" note as well.
    assert "Error: No ALB access-log request in the window: none of the 1 access-log file found falls" in err
    assert "skipped" not in err


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
         "boto3", "trino", "alb502athena.diagnosis", "alb502athena.verdict", "alb502athena.inputs"]
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


ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188"


def test_load_balancer_by_arn_or_by_id(logs: Path) -> None:
    by_id = invoke("diagnose", str(logs), "--load-balancer", "app/shop/50dc6c495c0c9188", "-o", "json")
    by_arn = invoke("diagnose", str(logs), "--load-balancer", ARN, "-o", "json")
    assert by_id[0] == by_arn[0] == 0, by_arn[2]
    assert json.loads(by_arn[1])["totals"]["elb_502"] == json.loads(by_id[1])["totals"]["elb_502"] == 2
    # The ARN reaches the SQL as the `elb` value it names, never as itself.
    code, out, _ = invoke("sql", "connect-failed", "--last", "1h", "--load-balancer", ARN)
    assert code == 0 and "AND elb = 'app/shop/50dc6c495c0c9188'" in out and "arn:" not in out
    gov = (
        "arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:loadbalancer/app/a-b/0123456789abcdef"
    )
    code, out, _ = invoke("sql", "connect-failed", "--last", "1h", "--load-balancer", gov)
    assert code == 0 and "AND elb = 'app/a-b/0123456789abcdef'" in out


@pytest.mark.parametrize(
    "value",
    [
        "shop",  # a bare name: which load balancer it is cannot be known offline
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/shop/50dc6c495c0c9188",
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop/50dc6c495c0c9188",
        ARN + "' OR '1'='1",
        "x" + ARN,
    ],
)
def test_load_balancer_other_forms_are_one_usage_error(logs: Path, value: str) -> None:
    code, out, err = invoke("sql", "connect-failed", "--load-balancer", value)
    assert code == 2 and out == ""
    assert err == (
        f"Error: invalid --load-balancer {value!r}: use app/<name>/<16 hex id> (the `elb` field of the logs, "
        "e.g. app/my-alb/50dc6c495c0c9188) or the load balancer's ARN "
        "(arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>)\n"
    )


def test_metrics_takes_the_arn_too() -> None:
    # Refused before any AWS call: the form is checked first.
    code, _, err = invoke("metrics", "--load-balancer", "shop")
    assert code == 2 and err.startswith("Error: invalid --load-balancer 'shop': use app/<name>/<16 hex id>")
    # The ARN is taken, and the call goes out (to a closed loopback port: nothing answers).
    arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188"
    closed = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_REGION": "eu-west-1",
              "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}  # fmt: skip
    result = runner.invoke(app, ["metrics", "--load-balancer", arn, "--last", "1h"], env=closed)
    assert result.exit_code == 3, result.stderr
    assert result.stderr.startswith("Error: AWS could not be reached (http://127.0.0.1:9/)")


def _help_texts() -> list[tuple[list[str], str]]:
    """(command path, help text as written in the source) for every command and parameter."""
    from typer.main import get_command

    out: list[tuple[list[str], str]] = []
    root = get_command(app)
    for name, command in [("", root), *sorted(root.commands.items())]:  # type: ignore[attr-defined]
        path = [name] if name else []
        texts = [command.help or "", *(p.help or "" for p in command.params)]  # type: ignore[attr-defined]
        out += [(path, t) for t in texts if t]
    return out


def test_help_keeps_every_bracket_as_written() -> None:
    # Help is rendered with Rich, whose markup would read `[database.]` as a tag and drop it.
    bracketed = [(path, seg) for path, text in _help_texts() for seg in re.findall(r"\[[^\]\n]*\]", text)]
    assert ([], "[database.]") not in bracketed and (["sql"], "[database.]") in bracketed
    for path, seg in bracketed:
        code, out, _ = invoke(*path, "--help")
        assert code == 0 and seg in re.sub(r"[│\s]+", " ", out), (path, seg)
    code, out, _ = invoke("diagnose", "--help")
    assert "[database.]table" in re.sub(r"[│\s]+", " ", out)


def _panels(help_text: str) -> dict[str, str]:
    """The options listed in each `╭─ Panel ─` box of a --help page."""
    panels: dict[str, str] = {}
    current = None
    for line in help_text.splitlines():
        title = re.match(r"╭─ (.+?) ─", line)
        if title:
            current = title[1]  # arguments and options of one panel are two boxes of that name
            panels.setdefault(current, "")
        elif current is not None:
            panels[current] += line + "\n"
    return panels


def test_options_grouped_per_engine_in_help() -> None:
    code, out, _ = invoke("diagnose", "--help")
    assert code == 0
    panels = _panels(out)
    expected = {
        "Local files": ["paths", "--cloudtrail"],
        "Athena": ["--database", "--workgroup", "--output-location", "--reuse-minutes", "--table"],
        "Trino": [
            "--trino-url",
            "--catalog",
            "--schema",
            "--user",
            "--password",
            "--ca-bundle",
            "--insecure",
        ],
        "Window and filters": ["--last", "--start", "--end", "--load-balancer"],
        "Output": ["--output", "--report", "--fail-on-findings"],
    }
    for panel, options in expected.items():
        for option in options:
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", panels[panel]), (panel, option)
    assert "--trino-url" not in panels["Athena"] and "--database" not in panels["Trino"]
    _, out, _ = invoke("run", "--help")
    assert set(expected) <= set(_panels(out))


def test_shell_completion() -> None:
    code, out, _ = invoke("--show-completion", "bash")
    assert code == 0 and "_ALB502_COMPLETE=complete_bash" in out and "complete -o default" in out
    # The shell asks the program itself: commands, then each command's options.
    done = runner.invoke(app, [], env={"_ALB502_COMPLETE": "complete_bash", "COMP_WORDS": "alb502 diag",
                                       "COMP_CWORD": "1"})  # fmt: skip
    assert done.exit_code == 0 and done.stdout.split() == ["diagnose"]
    done = runner.invoke(app, [], env={"_ALB502_COMPLETE": "complete_bash",
                                       "COMP_WORDS": "alb502 diagnose --load", "COMP_CWORD": "2"})  # fmt: skip
    assert done.exit_code == 0 and done.stdout.split() == ["--load-balancer"]
    code, out, _ = invoke("--help")
    assert "--install-completion" in out and "--show-completion" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["diagnose", "--bogus"], "No such option: --bogus (Possible options: --user)"),
        (
            ["diagnose", "-o", "yaml"],
            "Invalid value for '--output' / '-o' (env var: 'ALB502_OUTPUT'): choose one of table, json, csv, markdown",
        ),
        (["run"], "Missing argument 'signature'."),
        (["nope"], "No such command 'nope'."),
    ],
)
def test_usage_errors_are_one_line_and_a_hint(args: list[str], message: str) -> None:
    code, out, err = invoke(*args)
    command = " ".join(["alb502", *args[:1]]) if args[0] != "nope" else "alb502"
    assert code == 2 and out == ""
    assert err == f"Error: {message}\nTry '{command} --help' for help.\n"


def test_usage_errors_in_a_real_process_have_no_box() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "alb502athena", "diagnose", "--output", "yaml"], capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Error: Invalid value for '--output'")
    assert not re.search("[╭│╰]", done.stderr)


# A `time` is log data: the log format takes any text without a blank or a quote there.
BAD_TIMES = [
    "2026-13-45T99:99:99.000000Z",  # the shape of a time, no time
    "2026-11-20T10:1|<b>x</b>\x1b]0;t\x07",  # markup and a terminal title in the minute itself
]


@pytest.mark.parametrize(
    "window", [[], ["--start", "2026-11-20", "--end", "2027-01-01"]], ids=["all", "window"]
)
@pytest.mark.parametrize("output", ["table", "markdown", "report"])
def test_a_502_whose_time_is_not_a_time(output: str, window: list[str], tmp_path: Path) -> None:
    lines = [
        make_line(),
        signature_line("connect-failed", time="2026-11-20T10:15:30.000000Z"),
        signature_line("connect-failed", time="2026-11-20T10:17:30.000000Z"),
        *(signature_line("connect-failed", time=t) for t in BAD_TIMES),
    ]
    logs = write_log(tmp_path / "logs" / "a.log", lines)
    report = tmp_path / "r.html"
    args = ["-o", "json", "--report", str(report)] if output == "report" else ["-o", output]
    code, out, err = invoke("diagnose", str(logs), *window, *args)
    assert code == 0, err
    text = report.read_text() if output == "report" else out
    flat = " ".join(text.split())
    # Counted, and said to be left out of the timeline, with the count and one of them as written.
    assert "connect-failed" in flat and "4 HTTP 502" in " ".join(out.split())
    assert "2 HTTP 502 with a time that is not a time" in flat
    assert "<b>x" not in text
    if output != "report":  # in HTML these are inert characters, not escapes to obey
        assert "\x1b" not in text and "\x07" not in text
    if output == "table":
        assert "█" in out  # the real times are still drawn
    elif output == "markdown":
        assert "(such as 2026-11-20T10:1\\|)" in flat and "█" in out  # | would end the cell
    else:
        assert "<code>2026-11-20T10:1|</code>" in text and 'class="series"' in text
        assert "2026-11-20T10:1|&lt;b&gt;x" in text  # a sample row shows it, as text


def test_times_at_the_ends_of_the_calendar(tmp_path: Path) -> None:
    # Real times, but none a window may hold (no minute after the last one, nothing before year 1):
    # the other 502s still make the timeline, and these two are counted out of it.
    late, early = "9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00.000000Z"
    logs = write_log(
        tmp_path / "logs" / "a.log",
        [signature_line("connect-failed", time=t) for t in ("2026-11-20T10:15:30.000000Z", late, early)],
    )
    for output in ("table", "markdown", "json"):
        code, out, err = invoke("diagnose", str(logs), "-o", output, "--report", str(tmp_path / "r.html"))
        assert code == 0, err
        assert "9999-12-31" in out and ("0001-01-01" in out)
        if output != "json":
            assert "2 HTTP 502 with a time that is not a time" in " ".join(out.split()) and "█" in out
    assert 'class="series"' in (tmp_path / "r.html").read_text()


RANGE = "use a time from 1970-01-01 to 9998-12-31 (UTC)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--last", "999999999999d"], "invalid duration '999999999999d': at most 36500d (100 years)"),
        (["--last", "36501d"], "invalid duration '36501d': at most 36500d (100 years)"),
        (["--start", "9999-12-31"], f"invalid --start '9999-12-31': {RANGE}"),
        (
            ["--start", "9998-12-30", "--end", "9999-12-31T23:59:59"],
            f"invalid --end '9999-12-31T23:59:59': {RANGE}",
        ),
        (["--start", "0001-01-01T00:00+01:00"], f"invalid --start '0001-01-01T00:00+01:00': {RANGE}"),
        (["--last", "1d", "--end", "1969-12-31"], f"invalid --end '1969-12-31': {RANGE}"),
        (
            ["--last", "3d", "--end", "1970-01-02T12:00Z"],
            "invalid --last '3d': the window would start before 1970-01-01 (at most 1d before --end)",
        ),
    ],
)
def test_windows_beyond_the_calendar(args: list[str], message: str, logs: Path) -> None:
    for command in (["diagnose", str(logs)], ["sql", "connect-failed"]):
        code, out, err = invoke(*command, *args)
        assert (code, out, err.strip()) == (2, "", f"Error: {message}")


def test_the_last_day_a_window_may_hold(logs: Path) -> None:
    code, out, err = invoke(
        "sql", "connect-failed", "--start", "9998-12-31T00:00Z", "--end", "9998-12-31T23:59Z"
    )
    assert code == 0 and "'9998-12-31T00:00:00.000000Z'" in out and "'9999/01/01'" in out, err


@pytest.mark.parametrize(
    ("table", "why"),
    [
        (
            "select",
            "'select' is a reserved word of Athena's SQL (DDL or queries); use another name, e.g. alb_logs",
        ),
        (
            "alb.user",
            "'user' is a reserved word of Athena's SQL (DDL or queries); use another name, e.g. alb_logs",
        ),
        (
            "Alb_Logs",
            "[database.]table, each a lowercase letter then lowercase letters, digits and underscores",
        ),
        ("_alb", "[database.]table, each a lowercase letter then lowercase letters, digits and underscores"),
        ("1alb", "[database.]table, each a lowercase letter then lowercase letters, digits and underscores"),
        (
            "a" * 256,
            "[database.]table, each a lowercase letter then lowercase letters, digits and underscores",
        ),
    ],
)
def test_table_names_need_no_quotes(table: str, why: str) -> None:
    for command in (
        ["sql", "connect-failed", "--table", table],
        [
            "ddl",
            "--bucket",
            "my-alb-logs",
            "--account",
            "123456789012",
            "--region",
            "eu-west-1",
            "--table",
            table,
        ],
    ):
        code, out, err = invoke(*command)
        assert code == 2 and out == "" and err.startswith(f"Error: invalid table name {table!r}: {why}"), err
        assert len(err.strip().splitlines()) == 1
    code, out, err = invoke("sql", "connect-failed", "--table", "alb.alb_logs")
    assert code == 0 and "FROM alb.alb_logs" in out, err


@pytest.mark.parametrize(
    ("since", "why"),
    [
        ("2024/13/45", "no such day; use yyyy/MM/dd, e.g. 2016/08/01"),
        ("2023/02/29", "no such day; use yyyy/MM/dd, e.g. 2016/08/01"),
        ("2024-01-01", "use yyyy/MM/dd, e.g. 2016/08/01"),
        ("9999/01/01", "use a day from 1970/01/01 to today"),
        ("1969/12/31", "use a day from 1970/01/01 to today"),
    ],
)
def test_ddl_since_is_a_day(since: str, why: str) -> None:
    where = ["--bucket", "my-alb-logs", "--account", "123456789012", "--region", "eu-west-1"]
    for command in (["ddl", *where], ["ddl", "--engine", "trino", "--location", "s3://my-alb-logs/AWSLogs"]):
        code, out, err = invoke(*command, "--since", since)
        assert (code, out, err.strip()) == (2, "", f"Error: invalid --since {since!r}: {why}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--engine", "athena", "--database", "alb", "--region", "eu-west-1\nx", "--last", "1h"],
            "invalid --region 'eu-west-1\\nx': an AWS region, e.g. eu-west-1",
        ),
        (
            [
                "--engine",
                "athena",
                "--database",
                "alb",
                "--region",
                "eu-west-1",
                "--output-location",
                "results/",
                "--last",
                "1h",
            ],
            "invalid --output-location 'results/': an S3 folder, e.g. s3://my-bucket/athena/",
        ),
        (
            [
                "--engine",
                "athena",
                "--database",
                "alb",
                "--table",
                "select",
                "--region",
                "eu-west-1",
                "--last",
                "1h",
            ],
            "invalid table name 'select': 'select' is a reserved word of Athena's SQL (DDL or queries); "
            "use another name, e.g. alb_logs",
        ),
        (
            [
                "--engine",
                "trino",
                "--trino-url",
                "http://127.0.0.1:9",
                "--catalog",
                "hive\r\nX-Evil: 1",
                "--last",
                "1h",
            ],
            "invalid --catalog 'hive\\r\\nX-Evil: 1': letters, digits, '_' and '-', e.g. hive",
        ),
        (
            ["--engine", "trino", "--trino-url", "http://127.0.0.1:9", "--schema", 'a"b', "--last", "1h"],
            "invalid --schema 'a\"b': letters, digits, '_' and '-', e.g. hive",
        ),
        (
            [
                "--engine",
                "trino",
                "--trino-url",
                "http://127.0.0.1:9",
                "--user",
                "me\nX-Evil: 1",
                "--last",
                "1h",
            ],
            "invalid --user 'me\\nX-Evil: 1': a Trino user name, printable characters",
        ),
    ],
)
def test_free_values_are_checked_before_any_call(args: list[str], message: str) -> None:
    # No AWS or Trino is reachable here: the value is refused before anything is asked of one.
    code, out, err = invoke("diagnose", *args)
    assert (code, out, err.strip()) == (2, "", f"Error: {message}")


def test_numbers_and_tables_refused_before_any_query() -> None:
    athena = ["diagnose", "--engine", "athena", "--database", "alb", "--region", "eu-west-1", "--last", "1h"]
    code, out, err = invoke(*athena, "--cloudtrail-table", "select")
    assert (code, out, err.strip()) == (
        2,
        "",
        "Error: invalid table name 'select': 'select' is a reserved word of Athena's SQL (DDL or queries); "
        "use another name, e.g. alb_logs",
    )
    for option in ("--timeout", "--price-per-tb"):
        code, out, err = invoke(*athena, option, "inf")
        assert code == 2 and out == "" and f"Invalid value for '{option}'" in err and "a finite number" in err
