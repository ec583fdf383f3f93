"""The HTML report, opened in a real browser (headless Chromium from the distribution, driven by
Playwright) with the network cut: no console error, no request, the chart's structure, a screenshot."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alb502athena.catalogue import catalogue
from alb502athena.cli.app import app
from tests.conftest import REPO

ARTIFACTS = REPO / ".artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WINDOW = ["--start", "2026-11-20T09:00Z", "--end", "2026-11-20T10:00Z"]


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
        assert labels[0] == "2026-11-20 09:00" and all(re.fullmatch(r"\d\d:\d\d", t) for t in labels[1:])
        assert page.locator("h1").inner_text().startswith("Most often connect-failed (37% of 197 HTTP 502)")
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
