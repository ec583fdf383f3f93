"""Never a false all-clear: what the verdict says, and the exit code, when the input is not (all) ALB
access logs. Each case printed "No HTTP 502 in the window." and exited 0 before."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlglot
from typer.testing import CliRunner

from alb502athena.cli.app import app
from alb502athena.diagnosis import Diagnosis, Totals
from alb502athena.engines.base import QueryResult
from alb502athena.inputs import gather
from alb502athena.render import QueryParams, render_load_balancers
from alb502athena.sniff import recognise
from alb502athena.verdict import UNREAD_WARNING_SHARE, share
from alb502athena.window import Window
from tests.conftest import REPO, write_log
from tests.lines import make_line, signature_line

runner = CliRunner()
EXAMPLES = REPO / "examples" / "logs"
DAY = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/20"
OBJECT = "123456789012_elasticloadbalancing_eu-west-1_app.{lb}.{id}_20261120T1020Z_10.0.0.1_{rnd}.log.gz"
NOTHING = "No ALB access-log request in the window: "


def invoke(*args: str) -> tuple[int, str, str]:
    # A wide screen: these tests read the verdict's sentences whole; fitting the width is test_output's.
    result = runner.invoke(app, list(args), env={"COLUMNS": "1000"})
    return result.exit_code, result.stdout, result.stderr


def alb_object(
    root: Path, lines: list[str], lb: str = "shop", lb_id: str = "50dc6c495c0c9188", rnd: str = "a1"
) -> Path:
    return write_log(root / DAY / OBJECT.format(lb=lb, id=lb_id, rnd=rnd), lines)


# Lines of other formats, written from their documented layouts.
def nginx_line(i: int) -> str:
    return f'203.0.113.{i % 250} - - [20/Nov/2026:10:15:{i % 60:02d} +0000] "GET /cart?id={i} HTTP/1.1" 502 157 "-" "curl/8.4.0"'


def classic_elb_line(i: int) -> str:
    return (
        f"2026-11-20T10:15:{i % 60:02d}.123456Z my-clb 203.0.113.9:{50000 + i} 10.0.1.20:80 0.000073 0.001048 "
        '0.000057 502 502 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -'
    )


def nlb_line(i: int) -> str:
    return (
        f"tls 2.0 2026-11-20T10:15:{i % 60:02d} net/my-nlb/1234567890abcdef g3d4b5e8bb8464cd "
        f"203.0.113.9:{50000 + i} 10.0.1.20:443 5 2 98 246 - "
        "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012 - "
        "ECDHE-RSA-AES128-SHA tlsv12 - my-nlb-1234567890abcdef.elb.us-east-2.amazonaws.com - - - "
        "2026-11-20T10:15:20"
    )


def connection_line(i: int) -> str:
    return (
        f"2026-11-20T10:15:{i % 60:02d}.123456Z 203.0.113.9 {50000 + i} 443 TLSv1.2 "
        "ECDHE-RSA-AES128-GCM-SHA256 4 - - - Success TID_0123456789abcdef0123456789abcdef"
    )


@pytest.mark.parametrize(
    ("make", "looks_like"),
    [
        (nginx_line, "nginx/Apache access log (common or combined)"),
        (classic_elb_line, "Classic Load Balancer access log"),
        (nlb_line, "Network Load Balancer access log"),
    ],
)
def test_a_folder_of_other_logs_is_said_as_the_verdict(
    tmp_path: Path, make: Callable[[int], str], looks_like: str
) -> None:
    write_log(tmp_path / "logs" / "access.log", [make(i) for i in range(150)])
    code, out, err = invoke("diagnose", str(tmp_path / "logs"), "--fail-on-findings")
    headline = f"{NOTHING}none of the 150 lines read is an ALB access-log line; they look like {looks_like}."
    assert code == 2, out + err
    assert headline in out.splitlines()
    assert "No HTTP 502" not in out
    assert f"unparsed lines look like: {looks_like} (20 of 20 sampled lines)" in out
    assert err.rstrip().endswith(f"Error: {headline}")


def test_classic_and_nlb_objects_are_set_aside_by_name(tmp_path: Path) -> None:
    day = tmp_path / DAY
    write_log(
        day / "123456789012_elasticloadbalancing_eu-west-1_my-clb_20261120T1020Z_10.0.0.1_x1.log",
        [classic_elb_line(1)],
    )
    write_log(
        day
        / "123456789012_elasticloadbalancing_eu-west-1_net.my-nlb.1234567890abcdef_20261120T1020Z_x2.log.gz",
        [nlb_line(1)],
    )
    code, out, err = invoke("diagnose", str(tmp_path), "-o", "json")
    assert code == 2, err
    data = json.loads(out)
    assert data["verdict"]["status"] == "no_alb_requests"
    assert data["verdict"]["headline"] == f"{NOTHING}no ALB access-log file was found, only other logs."
    assert {k: v["count"] for k, v in data["set_aside"].items()} == {"classic": 1, "network": 1}
    assert (
        "Note: set aside 1 Classic Load Balancer access-log and 1 Network Load Balancer access-log files, "
        "not ALB access logs" in err
    )


def test_a_load_balancer_that_matches_no_line(tmp_path: Path) -> None:
    other = "app/other-alb/0123456789abcdef"
    code, out, err = invoke(
        "diagnose", str(EXAMPLES), "--load-balancer", other, "--fail-on-findings", "-o", "json"
    )
    assert code == 2, err
    data = json.loads(out)
    assert data["totals"]["lines"] == 12280 and data["totals"]["requests"] == 0
    assert data["verdict"]["status"] == "no_alb_requests"
    assert data["verdict"]["headline"] == (
        f"{NOTHING}no line is from --load-balancer {other}; the lines are from app/shop-prod/50dc6c495c0c9188."
    )
    # Loose files carry no load balancer in their names: the lines are asked, in one more query.
    write_log(tmp_path / "loose.log", [make_line(), make_line(elb="app/api/0123456789abcdee")])
    code, out, _ = invoke("diagnose", str(tmp_path / "loose.log"), "--load-balancer", other)
    assert code == 2
    assert (
        f"{NOTHING}no line is from --load-balancer {other}; the lines are from "
        "app/api/0123456789abcdee, app/shop/50dc6c495c0c9188." in out
    )
    assert (
        "app/api/0123456789abcdee: 1 line, 1 in the window, from 2026-11-20T10:15:30 to 2026-11-20T10:15:30"
        in out
    )


def test_an_empty_log_file(tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_bytes(b"")
    code, out, err = invoke("diagnose", str(tmp_path / "empty.log"))
    assert code == 2, err
    assert f"{NOTHING}the window's access-log files (1) hold no line: they are empty." in out.splitlines()


def test_a_window_that_holds_no_file() -> None:
    code, out, err = invoke("diagnose", str(EXAMPLES), "--start", "2026-11-25", "--end", "2026-11-26")
    assert code == 2, err
    assert (
        f"{NOTHING}none of the 24 access-log files found falls in the window (they cover 2026/11/20)."
        in out.splitlines()
    )
    assert "  load balancers named by the files and lines: app/shop-prod/50dc6c495c0c9188" in out.splitlines()


def test_run_says_when_the_window_holds_no_file() -> None:
    window = ["--start", "2026-11-25", "--end", "2026-11-26"]
    code, out, err = invoke("run", "connect-failed", str(EXAMPLES), *window)
    assert code == 2
    assert out == "No matching rows.\n"
    assert err.rstrip().endswith(
        f"Error: {NOTHING}none of the 24 access-log files found falls in the window (they cover 2026/11/20)."
    )


def test_every_format_carries_the_verdict(tmp_path: Path) -> None:
    write_log(tmp_path / "access.log", [nginx_line(i) for i in range(10)])
    headline = (
        f"{NOTHING}none of the 10 lines read is an ALB access-log line; they look like "
        "nginx/Apache access log (common or combined)."
    )
    for fmt in ("table", "json", "csv", "markdown"):
        code, out, err = invoke("diagnose", str(tmp_path), "-o", fmt, "--fail-on-findings")
        assert code == 2, (fmt, err)
        assert err.rstrip().endswith(f"Error: {headline}"), fmt
        if fmt == "json":
            verdict = json.loads(out)["verdict"]
            assert (verdict["status"], verdict["headline"]) == ("no_alb_requests", headline)
        elif fmt == "csv":
            assert list(csv.reader(io.StringIO(out)))[1:] == []  # no signature rows; the verdict is on stderr
        elif fmt == "markdown":
            assert out.startswith(f"### ALB HTTP 502: {headline}\n")
        else:
            assert headline in out.splitlines()
        assert "No HTTP 502" not in out
    report = tmp_path.parent / f"{tmp_path.name}-report.html"
    code, _, _ = invoke("diagnose", str(tmp_path), "--report", str(report))
    html = report.read_text()
    assert code == 2 and f"<h1>{headline}</h1>" in html and "No HTTP 502" not in html


def test_markdown_warnings_are_paragraphs_of_their_own(tmp_path: Path) -> None:
    alb_object(tmp_path, [signature_line("connect-failed")] * 90 + ["junk"] * 10)
    code, out, _ = invoke("diagnose", str(tmp_path), "-o", "markdown")
    head = out.split("\n")
    assert code == 0
    assert head[0].startswith("### ALB HTTP 502: All connect-failed")
    assert head[1:4] == ["", "**Warning:** 10% of lines unparsed (10 of 100)", ""]


def test_no_502_is_said_only_when_requests_were_read(tmp_path: Path) -> None:
    alb_object(tmp_path, [make_line() for _ in range(3)])
    code, out, _ = invoke("diagnose", str(tmp_path), "-o", "json", "--fail-on-findings")
    assert code == 0
    assert json.loads(out)["verdict"]["status"] == "no_502"
    assert json.loads(out)["verdict"]["headline"] == "No HTTP 502 in the window (3 requests read)."


def test_shares_and_the_warning_threshold(tmp_path: Path) -> None:
    assert UNREAD_WARNING_SHARE == 0.01
    below = alb_object(tmp_path / "below", [make_line()] * 199 + ["junk"])
    code, out, _ = invoke("diagnose", str(below.parents[6]), "-o", "json")
    v = json.loads(out)["verdict"]
    assert code == 0 and v["warnings"] == [] and "0.5% of lines unparsed (1 of 200)" in v["details"]
    above = alb_object(tmp_path / "above", [signature_line("connect-failed")] * 190 + ["junk"] * 10)
    # and 1 of 3 files cannot be read
    alb_object(tmp_path / "above", [make_line()], rnd="b2")
    (above.parent / OBJECT.format(lb="shop", id="50dc6c495c0c9188", rnd="c3")).write_bytes(b"\x1f\x8b broken")
    code, out, _ = invoke("diagnose", str(tmp_path / "above"))
    assert code == 0
    lines = out.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("All connect-failed (100% of 190 HTTP 502)"))
    assert lines[at + 1 : at + 3] == [
        "Warning: 5% of lines unparsed (10 of 201)",
        "Warning: 1 of 3 files unreadable (33.3%)",
    ]
    code, out, _ = invoke("diagnose", str(tmp_path / "above"), "-o", "markdown")
    assert "**Warning:** 5% of lines unparsed (10 of 201)" in out.split("\n\n")[1]


def test_two_load_balancers_are_named_not_merged(tmp_path: Path) -> None:
    alb_object(tmp_path, [signature_line("connect-failed")], lb="shop", lb_id="50dc6c495c0c9188")
    alb_object(
        tmp_path,
        [signature_line("target-502", elb="app/api/0123456789abcdee")],
        lb="api",
        lb_id="0123456789abcdee",
    )
    code, out, err = invoke("diagnose", str(tmp_path), "-o", "json")
    assert code == 0, err
    v = json.loads(out)["verdict"]
    assert v["load_balancers"] == ["app/api/0123456789abcdee", "app/shop/50dc6c495c0c9188"]
    assert (
        "2 load balancers in the window, counted together; each finding names its own, --load-balancer "
        "picks one: app/api/0123456789abcdee, app/shop/50dc6c495c0c9188" in v["warnings"]
    )
    code, out, _ = invoke(
        "diagnose", str(tmp_path), "--load-balancer", "app/api/0123456789abcdee", "-o", "json"
    )
    v = json.loads(out)["verdict"]
    assert v["warnings"] == [] and v["details"] == [
        "only --load-balancer app/api/0123456789abcdee, of 2 in the files: "
        "app/api/0123456789abcdee, app/shop/50dc6c495c0c9188"
    ]


def test_connection_and_health_check_logs_are_set_aside(tmp_path: Path) -> None:
    access = alb_object(tmp_path, [make_line(), signature_line("connect-failed")])
    day = access.parent
    conn = [
        day / ("conn_log_" + access.name.replace("a1", "c1")),
        day / ("conn_log." + access.name.replace("a1", "c2")),
    ]
    health = day / ("health_check_log_" + access.name.replace("a1", "h1"))
    for path in conn:
        write_log(path, [connection_line(i) for i in range(5)])
    write_log(
        health,
        [
            "http 2026-11-20T10:15:30.123456Z 0.002 10.0.1.20:8080 tg-0123 unhealthy 502 Target.ResponseCodeMismatch"
        ],
    )
    code, out, err = invoke("diagnose", str(tmp_path), "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["totals"]["lines"] == 2 and data["totals"]["unparsed_lines"] == 0
    assert data["set_aside"] == {
        "connection": {"count": 2, "paths": [str(p) for p in sorted(conn)]},
        "health_check": {"count": 1, "paths": [str(health)]},
    }
    assert "Note: set aside 2 connection-log and 1 health-check-log files, not ALB access logs" in err
    assert (
        "set aside 2 connection-log and 1 health-check-log files, not ALB access logs"
        in data["verdict"]["details"]
    )


def _without_root_powers() -> list[str] | None:
    """A prefix that runs a command unable to read a mode-000 folder (root reads everything)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]


def test_an_unreadable_folder_is_named(tmp_path: Path) -> None:
    prefix = _without_root_powers()
    if prefix is None:
        pytest.skip("running as root without setpriv: no folder is unreadable")
    alb_object(tmp_path / "ok", [signature_line("connect-failed")])
    locked = tmp_path / "only" / "locked"  # a path argument typer itself cannot read is refused earlier
    alb_object(locked, [signature_line("connect-failed")])
    locked.chmod(0)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        command = [*prefix, sys.executable, "-m", "alb502athena", "diagnose", "-o", "json"]
        both = subprocess.run([*command, str(tmp_path)], capture_output=True, text=True, env=env, timeout=300)
        alone = subprocess.run(
            [*command, str(locked.parent)], capture_output=True, text=True, env=env, timeout=300
        )
    finally:
        locked.chmod(0o755)
    assert both.returncode == 0, both.stdout + both.stderr
    data = json.loads(both.stdout)
    assert data["unreadable"] == [{"path": str(locked), "reason": "Permission denied"}]
    assert (
        f"folder {locked} could not be read (Permission denied): its logs are not counted"
        in data["verdict"]["warnings"]
    )
    # Said once on stderr, as the verdict's warning (json and csv repeat the verdict's warnings there).
    warning = f"Warning: folder {locked} could not be read (Permission denied): its logs are not counted"
    assert both.stderr.splitlines().count(warning) == 1, both.stderr
    assert "could not read folder" not in both.stderr
    assert alone.returncode == 2, alone.stderr
    verdict = json.loads(alone.stdout)["verdict"]
    assert (
        verdict["headline"]
        == f"{NOTHING}no ALB access-log file could be read: the folders could not be listed."
    )
    assert "no ALB access-log files" not in alone.stderr


def test_the_load_balancers_query_is_athena_sql_with_a_window() -> None:
    window = Window.from_options(None, "2026-11-20T10:00Z", "2026-11-20T12:00Z")
    text = render_load_balancers(QueryParams(window, "app/shop/50dc6c495c0c9188", "alb.alb_logs"))
    (tree,) = sqlglot.parse(text, read="athena")
    assert tree is not None
    assert "day BETWEEN '2026/11/20' AND '2026/11/21'" in text  # never the whole bucket
    assert "FROM alb.alb_logs" in text and "elb =" not in text  # every load balancer, not the filter's


@pytest.mark.parametrize(
    ("line", "shape"),
    [
        (connection_line(1), "ALB connection log"),
        ("#Version: 1.0", "CloudFront access log"),
        ("2026-11-20\t10:15:30\tLAX1\t1234\t203.0.113.9\tGET", "CloudFront access log"),
        ('{"Records": [{"eventVersion": "1.08"}]}', "CloudTrail JSON"),
        ('{"time": "2026-11-20T10:15:30Z"}', "JSON lines"),
        ("#Fields: date time s-ip cs-method", "W3C extended log"),
        (
            "h2 2026-11-20T10:15:30.123456Z app/shop/50dc6c495c0c9188 truncated",
            "ALB access log of a shape this version cannot read",
        ),
        ("\x00\x01binary", "binary data, not text"),
        ("hello world", "an unrecognised format"),
    ],
)
def test_well_known_shapes_are_recognised(line: str, shape: str) -> None:
    assert recognise(line) == shape


class _BilledEngine:
    """An engine that bills by the byte: the verdict must not run a second scan on it."""

    name = "athena"
    last_stats = None
    aws_session = None

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.queries: list[str] = []

    def run(self, athena_sql: str) -> QueryResult:
        self.queries.append(athena_sql)
        raise AssertionError("no query may run here")


def test_on_athena_the_load_balancers_are_not_asked_for() -> None:
    window = Window.from_options(None, "2026-11-20T10:00Z", "2026-11-20T12:00Z")
    totals = Totals(
        lines=100, unparsed_lines=0, requests=0, elb_502=0, lb_generated_502=0, target_generated_502=0
    )
    d = Diagnosis("athena", QueryParams(window, "app/other-alb/0123456789abcdef"), totals, [])
    engine = _BilledEngine()
    gather(d, None, engine)
    v = d.verdict()
    assert engine.queries == []
    assert v.status == "no_alb_requests" and v.exit_code == 2
    assert v.headline == f"{NOTHING}no line is from --load-balancer app/other-alb/0123456789abcdef."
    assert any("one more billed scan" in x for x in v.details)


@pytest.mark.parametrize(
    ("part", "whole", "text"),
    [(1, 200, "0.5%"), (10, 201, "5%"), (1, 3, "33.3%"), (1, 10**6, "<0.1%"), (999_999, 10**6, ">99.9%")],
)
def test_shares_read_as_people_read_them(part: int, whole: int, text: str) -> None:
    assert share(part, whole) == text
