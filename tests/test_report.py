"""The HTML report, opened in a real browser (headless Chromium from the distribution, driven by
Playwright) with the network cut: no console error, no request, the chart's structure, a screenshot."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alb502athena.catalogue import catalogue
from alb502athena.cli.app import app
from tests.conftest import REPO, write_log
from tests.lines import signature_line

ARTIFACTS = REPO / ".artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WINDOW = ["--start", "2026-11-20T09:00Z", "--end", "2026-11-20T10:00Z"]
RULE_LINE = "WHEN lambda_error_reason = 'LambdaResponseTooLarge'"  # one line of the classification CASE


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "incident.html"
    result = CliRunner().invoke(
        app, ["diagnose", str(REPO / "examples" / "logs"), *WINDOW, "--report", str(path)]
    )
    assert result.exit_code == 0, result.stderr
    return path


def test_self_contained_html(report: Path) -> None:
    html = report.read_text()
    assert "default-src 'none'" in html  # the page itself forbids any network request
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert html.count('<g class="series"') == len(catalogue())  # every signature is in the examples
    for sig in catalogue():
        assert f'data-signature="{sig.id}"' in html and f'<h2 id="{sig.id}">' in html
    assert "502 / minute" in html and "time (UTC)" in html
    assert "unparsed lines" in html and ">5<" in html
    assert html.count('class="copy"') == len(catalogue())


def test_report_in_a_real_browser(report: Path) -> None:
    assert CHROMIUM, "Chromium is needed: scripts/test installs it (apt-get install chromium)"
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        )  # fmt: skip
        context = browser.new_context(offline=True, viewport={"width": 1000, "height": 1400})
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url) if r.url != report.as_uri() else None)
        page.goto(report.as_uri())
        series = page.locator("svg#timeline g.series")
        assert series.count() == len(catalogue())
        assert {series.nth(i).get_attribute("data-signature") for i in range(series.count())} == {
            s.id for s in catalogue()
        }
        assert page.locator("svg#timeline g.series rect").count() > 50
        labels = page.locator("svg#timeline g.axis.x text.label").all_text_contents()
        assert labels == ["09:00", "09:10", "09:20", "09:30", "09:40", "09:50"]  # round times, one hour
        assert page.locator("svg#timeline g.axis.x text.date").all_text_contents() == ["2026-11-20"]
        assert page.locator("h1").inner_text().startswith("Most often connect-failed (37% of 197 HTTP 502)")
        # The classification CASE is on the page once, whatever the number of signatures.
        assert page.locator("body").inner_text().count(RULE_LINE) == 1
        # A sample's time stays on one line (its text is one box) on a 1000-pixel-wide page.
        lines_per_time = page.eval_on_selector_all(
            "table.samples tr td:first-child",
            "cells => cells.map(c => { const r = document.createRange(); r.selectNodeContents(c);"
            " return r.getClientRects().length; })",
        )
        assert len(lines_per_time) > 20 and set(lines_per_time) == {1}
        page.locator("button.copy").first.click()  # the inline script runs without error
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        browser.close()
    assert errors == []
    assert requests == []
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def test_cloudwatch_series_and_deregistrations_on_the_time_axis(tmp_path: Path) -> None:
    from alb502athena.diagnosis import diagnose
    from alb502athena.engines.local import LocalEngine
    from alb502athena.logfiles import discover
    from alb502athena.render import QueryParams
    from alb502athena.report import chart, write_report
    from alb502athena.window import Window

    window = Window.from_options(None, "2026-11-20T09:00Z", "2026-11-20T10:00Z")
    logs = REPO / "examples" / "logs"
    d = diagnose(LocalEngine(discover([logs], window).files, window), QueryParams(window))
    # As gather() and add_correlations() leave them (their AWS sides are tested in test_evidence/cloudtrail).
    d.metric_series = {"HTTPCode_ELB_502_Count": [["2026-11-20T09:24", 20.0], ["2026-11-20T09:25", 12.0]]}
    d.correlations = [{"event_time": "2026-11-20T09:24:00.000000Z", "target": "10.0.12.14:8080", "who": "ecs.amazonaws.com",
                       "deregistration_delay_seconds": 300, "elb_502": 40}]  # fmt: skip
    geometry = chart(d)
    assert geometry["ymax"] == 20  # the CloudWatch peak is above the logs' 18
    (line,) = geometry["lines"]
    assert line["metric"] == "HTTPCode_ELB_502_Count" and len(line["points"].split()) == 2
    (event,) = geometry["events"]
    assert event["label"] == "DeregisterTargets 10.0.12.14:8080 by ecs.amazonaws.com"
    path = tmp_path / "r.html"
    write_report(d, path, {})
    html = path.read_text()
    assert 'data-metric="HTTPCode_ELB_502_Count"' in html and '<g class="event">' in html


class _Text(HTMLParser):
    """The text of a page as shown (no attributes, no script), and the data-sql of each query."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.sql: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._script = tag == "script"
        self.sql += [v for k, v in attrs if k == "data-sql" and v is not None]

    def handle_endtag(self, tag: str) -> None:
        self._script = False

    def handle_data(self, data: str) -> None:
        if not self._script:
            self.text.append(data)


def page_text(html: str) -> _Text:
    parsed = _Text()
    parsed.feed(html)
    return parsed


@pytest.fixture(scope="module")
def unwindowed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The example logs with one unreadable file next to them, diagnosed with no window."""
    logs = tmp_path_factory.mktemp("logs")
    shutil.copytree(REPO / "examples" / "logs", logs, dirs_exist_ok=True)
    day = next(p.parent for p in logs.rglob("*.log.gz"))
    (day / "truncated.log.gz").write_bytes(next(day.glob("*.log.gz")).read_bytes()[:20])
    path = tmp_path_factory.mktemp("report") / "incident.html"
    result = CliRunner().invoke(app, ["diagnose", str(logs), "--report", str(path)])
    assert result.exit_code == 0, result.stderr
    return path, day / "truncated.log.gz"


def test_title_names_load_balancer_account_region_and_span(
    report: Path, unwindowed: tuple[Path, Path]
) -> None:
    html = report.read_text()
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title is not None
    assert title[1] == (
        "ALB HTTP 502 report: app/shop-prod/50dc6c495c0c9188 \u00b7 123456789012 \u00b7 eu-west-1 "
        "\u00b7 2026-11-20 09:00 to 10:00 UTC"
    )
    text = " ".join(" ".join(page_text(html).text).split())
    assert "ALB HTTP 502 report · app/shop-prod/50dc6c495c0c9188 · account 123456789012 · eu-west-1 · " \
        "2026-11-20 09:00 to 10:00 UTC" in text  # fmt: skip
    # Without a window the span is the whole minutes from the first 502 (09:00:12) to the last (09:59:24).
    text = " ".join(" ".join(page_text(unwindowed[0].read_text()).text).split())
    assert "2026-11-20 09:00 to 10:00 UTC (first to last 502; no window given)" in text


def test_title_lists_every_load_balancer(tmp_path: Path) -> None:
    other_tg = "arn:aws:elasticloadbalancing:us-east-1:210987654321:targetgroup/api/0123456789abcdef"
    lines = [
        signature_line("target-502", time="2026-11-20T23:58:10.000000Z"),
        signature_line("target-502", time="2026-11-20T23:59:10.000000Z"),
        signature_line(
            "connect-failed", time="2026-11-21T00:03:59.000000Z", elb="app/api/0123456789abcdef",
            target_group_arn=other_tg,
        ),
    ]  # fmt: skip
    path = tmp_path / "r.html"
    result = CliRunner().invoke(
        app, ["diagnose", str(write_log(tmp_path / "a.log", lines)), "--report", str(path)]
    )
    assert result.exit_code == 0, result.stderr
    title = re.search(r"<title>(.*?)</title>", path.read_text(), re.S)
    assert title is not None and title[1] == (
        "ALB HTTP 502 report: app/shop/50dc6c495c0c9188, app/api/0123456789abcdef \u00b7 123456789012, "
        "210987654321 \u00b7 eu-west-1, us-east-1 \u00b7 2026-11-20 23:58 to 2026-11-21 00:04 UTC"
    )
    html = path.read_text()
    # Each finding names its own load balancer and target group.
    connect = html[html.index('<h2 id="connect-failed">') :]
    assert "app/api/0123456789abcdef" in connect and "<b>api</b>" in connect
    target = html[html.index('<h2 id="target-502">') : html.index('<h2 id="connect-failed">')]
    assert "app/shop/50dc6c495c0c9188" in target and "<b>web</b>" in target and "app/api/" not in target


def test_ticks_fall_on_round_times_with_the_date_at_midnight() -> None:
    from datetime import datetime, timedelta

    from alb502athena.report import ticks

    start = datetime(2026, 11, 20, 23, 37)
    minutes = [start + timedelta(minutes=i) for i in range(95)]  # 23:37 .. 01:11
    assert [(minutes[i].strftime("%H:%M"), label, date) for i, label, date in ticks(minutes)] == [
        ("23:40", "23:40", "2026-11-20"),
        ("23:50", "23:50", None),
        ("00:00", "00:00", "2026-11-21"),
        ("00:10", "00:10", None),
        ("00:20", "00:20", None),
        ("00:30", "00:30", None),
        ("00:40", "00:40", None),
        ("00:50", "00:50", None),
        ("01:00", "01:00", None),
        ("01:10", "01:10", None),
    ]
    day = [datetime(2026, 11, 20, 6, 13) + timedelta(minutes=i) for i in range(20 * 60)]  # 06:13 .. 02:12
    labels = [(label, date) for _, label, date in ticks(day)]
    assert labels[0] == ("08:00", "2026-11-20") and ("00:00", "2026-11-21") in labels
    assert all(label.endswith(":00") and int(label[:2]) % 2 == 0 for label, _ in labels)  # every 2 h
    short = [datetime(2026, 11, 20, 9, 58) + timedelta(minutes=i) for i in range(7)]
    assert [label for _, label, _ in ticks(short)] == [m.strftime("%H:%M") for m in short]


def test_report_across_midnight_dates_its_ticks(tmp_path: Path) -> None:
    lines = [signature_line("target-502", time=f"2026-11-2{d}T{t}:10.000000Z") for d, t in
             (("0", "23:31"), ("0", "23:55"), ("1", "00:05"), ("1", "00:29"))]  # fmt: skip
    path = tmp_path / "r.html"
    result = CliRunner().invoke(
        app, ["diagnose", str(write_log(tmp_path / "a.log", lines)), "--report", str(path)]
    )
    assert result.exit_code == 0, result.stderr
    html = path.read_text()
    labels = re.findall(r'<text class="label"[^>]*>(\d\d:\d\d)</text>', html)
    dates = re.findall(r'<text class="date"[^>]*>([\d-]+)</text>', html)
    assert labels == ["23:40", "23:50", "00:00", "00:10", "00:20"]  # 23:31 to 00:30, every 10 minutes
    assert dates == ["2026-11-20", "2026-11-21"]


def test_reproduce_sql_always_has_a_window(unwindowed: tuple[Path, Path]) -> None:
    from alb502athena.render import QueryParams, render_signature
    from alb502athena.window import Window

    html = unwindowed[0].read_text()
    assert "WHERE TRUE" not in html and "TRUE" not in "".join(page_text(html).text)
    parsed = page_text(html)
    assert len(parsed.sql) == len(catalogue())
    covering = Window.from_options(None, "2026-11-20T09:00Z", "2026-11-20T10:00Z")
    for sig, sql in zip(
        sorted(catalogue(), key=lambda s: s.id), sorted(parsed.sql, key=_signature_of), strict=True
    ):
        # What Copy SQL copies is the signature's own query, whole, over the minutes the 502s span.
        assert sql == render_signature(sig.id, QueryParams(covering))
        assert "day BETWEEN '2026/11/20' AND '2026/11/21'" in sql
        assert "time >= '2026-11-20T09:00:00.000000Z' AND time < '2026-11-20T10:00:00.000000Z'" in sql


def _signature_of(sql: str) -> str:
    found = re.search(r"END = '([a-z0-9-]+)'", sql)
    assert found is not None
    return found[1]


def test_window_covering_rounds_out_to_whole_minutes() -> None:
    from alb502athena.window import Window

    w = Window.covering("2026-11-20T09:00:12.152325Z", "2026-11-20T09:59:24.863572Z")
    assert w is not None and w.as_json() == {"start": "2026-11-20T09:00:00Z", "end": "2026-11-20T10:00:00Z"}
    w = Window.covering("2026-11-20T23:59:00.000000Z", "2026-11-20T23:59:00.000000Z")
    assert w is not None and w.as_json() == {"start": "2026-11-20T23:59:00Z", "end": "2026-11-21T00:00:00Z"}
    assert Window.covering("-", "2026-11-20T09:00:00Z") is None and Window.covering(None, None) is None


def test_classification_case_shown_once(report: Path) -> None:
    parsed = page_text(report.read_text())
    shown = "".join(parsed.text)
    assert shown.count(RULE_LINE) == 1 and shown.count("CASE … END") == len(catalogue())
    assert all(sql.count(RULE_LINE) == 1 for sql in parsed.sql)  # copied whole, pasteable


def test_markdown_rendered_and_log_data_escaped(tmp_path: Path) -> None:
    from alb502athena.report import markdown

    assert markdown("run `a<b>` and **x & y**, not *z*") == (
        "run <code>a&lt;b&gt;</code> and <strong>x &amp; y</strong>, not *z*"
    )
    assert (
        markdown("`**not bold**` **`code`**")
        == "<code>**not bold**</code> <strong><code>code</code></strong>"
    )
    hostile = "/x?q=<script>alert(1)</script>&b=`c`&d=**e**"
    lines = [
        signature_line(
            "lambda-response-too-large", request=f"GET https://shop.example.com:443{hostile} HTTP/1.1"
        )
    ]
    path = tmp_path / "r.html"
    result = CliRunner().invoke(
        app, ["diagnose", str(write_log(tmp_path / "a.log", lines)), "--report", str(path)]
    )
    assert result.exit_code == 0, result.stderr
    html = path.read_text()
    # The catalogue's own markdown becomes tags...
    assert "<code>alb502 run lambda-response-too-large</code>" in html
    assert "`alb502 run" not in html
    # ...the logs' text never does.
    assert (
        "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;&amp;b=`c`&amp;d=**e**" in html
    )
    assert "<code>c</code>" not in html and "<strong>e</strong>" not in html


def test_bad_and_set_aside_files_listed(unwindowed: tuple[Path, Path], tmp_path: Path) -> None:

    html, bad = unwindowed[0].read_text(), unwindowed[1]
    assert 'id="bad-files"' in html and f"<td>{bad}</td>" in html
    assert "Files set aside" not in html  # nothing is, in the examples

    # A folder mixing access, connection and health-check logs, diagnosed for real.
    day = tmp_path / "mixed" / "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/20"
    access = next((REPO / "examples" / "logs").rglob("*.log.gz"))
    day.mkdir(parents=True)
    shutil.copy(access, day / access.name)
    conn = write_log(day / ("conn_log_" + access.name), ["2026-11-20T09:04:00.000000Z 203.0.113.9 1 443 x"])
    health = write_log(day / ("health_check_log_" + access.name), ["http 2026-11-20T09:04:00Z x"])
    report = tmp_path / "mixed.html"
    result = CliRunner().invoke(app, ["diagnose", str(tmp_path / "mixed"), "--report", str(report)])
    out = report.read_text()
    assert result.exit_code == 0, result.output
    assert "Files set aside (2)" in out
    assert f"<td>{conn}</td><td>connection-log</td>" in out
    assert f"<td>{health}</td><td>health-check-log</td>" in out


# A value that would run as a script if the report printed it raw: it closes the element it is in and
# opens a script, an event handler, and a base that would redirect relative links.
BREAKOUT = (
    "</pre></td>\"'><script>window.pwned='escaped'</script><img src=x onerror=\"window.pwned='img'\">"
    '<base href="http://evil.example/">'
)


def _open_in_chromium(path: Path, action: str | None = None) -> tuple[Any, list[str], str]:
    """(window.pwned after loading and after clicking the first Copy SQL button and the element
    `action` names, the console errors, the copy button's text afterwards)."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(offline=True)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        if action is not None:
            page.locator(action).click()
        button = page.locator("button.copy").first
        button.click()
        page.wait_for_function("b => b.textContent === 'Copied'", arg=button.element_handle(), timeout=10_000)
        pwned = page.evaluate("window.pwned")
        text = button.inner_text()
        browser.close()
    return pwned, errors, text


def test_the_policy_allows_the_report_script_alone(tmp_path: Path) -> None:
    """The Content-Security-Policy names the report's own script by its hash (no 'unsafe-inline'),
    and forbids forms, <base>, plugins and the network."""
    from alb502athena.report import SCRIPT, content_security_policy

    policy = content_security_policy([SCRIPT.read_text()])
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]
    for directive in ("default-src 'none'", "form-action 'none'", "base-uri 'none'", "object-src 'none'"):
        assert directive in policy
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/]{43}='", policy)
    assert content_security_policy([]).startswith("default-src 'none'; script-src 'none';")


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of 502 lines whose every printed field tries to break out of the HTML."""
    tmp = tmp_path_factory.mktemp("hostile")
    # Each field as the format lets it hold the value: no quote inside quotes, no blank outside them.
    quoted = BREAKOUT.replace('"', "'")
    bare = quoted.replace(" ", "/")
    tg = f"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/{bare}/73e2d6bc24d8a067"
    lines = [
        signature_line("connect-failed", request=f"GET https://shop.example.com:443/{BREAKOUT} HTTP/1.1",
                       trace_id=quoted, target_group_arn=tg, target=f"{bare}:80"),
        signature_line("lambda-other", error_reason=f"Lambda{bare}", elb=f"app/{bare}/50dc6c495c0c9188"),
    ]  # fmt: skip
    path = tmp / "r.html"
    result = CliRunner().invoke(
        app, ["diagnose", str(write_log(tmp / "a.log", lines)), "--report", str(path)]
    )
    assert result.exit_code == 0, result.stderr
    return path


def test_log_values_crafted_to_break_out_stay_text(hostile_report: Path) -> None:
    assert CHROMIUM, "Chromium is needed: scripts/test installs it (apt-get install chromium)"
    html = hostile_report.read_text()
    assert "window.pwned='escaped'" in html.replace("&#39;", "'")  # the values are in the page...
    assert "<script>window.pwned" not in html and "<base" not in html  # ...as text
    pwned, errors, copied = _open_in_chromium(hostile_report)
    assert pwned is None and errors == []
    assert copied == "Copied"  # the report's own script runs


def test_a_script_that_escaping_let_through_does_not_run(hostile_report: Path, tmp_path: Path) -> None:
    """As if escaping had failed, or the file were edited after it was written: inline scripts and
    event handlers without the policy's hash are refused by the browser; the report's own still runs."""
    assert CHROMIUM, "Chromium is needed: scripts/test installs it (apt-get install chromium)"
    html = hostile_report.read_text()
    injected = (
        "<script>window.pwned = 'inline';</script>"
        '<button id="evil" type="button" onclick="window.pwned = \'handler\'">x</button>'
        '<form action="http://evil.example/"><input name=q></form>'
    )
    assert html.count("</body>") == 1
    path = tmp_path / "tampered.html"
    path.write_text(html.replace("</body>", injected + "</body>"))
    pwned, errors, copied = _open_in_chromium(path, action="#evil")
    assert pwned is None
    assert copied == "Copied"
    refused = [e for e in errors if "Content Security Policy" in e]
    assert len(refused) >= 2, errors  # the inline script and the handler, each refused
