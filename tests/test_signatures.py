"""Every signature, on fixture lines of every historical format, through the real DuckDB engine."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from alb502athena.catalogue import catalogue, rule_order
from alb502athena.diagnosis import diagnose, signature_rows, signature_samples
from alb502athena.engines.local import LocalEngine
from alb502athena.logfiles import discover
from alb502athena.render import QueryParams
from alb502athena.window import Window
from tests.conftest import REPO, write_log
from tests.lines import SHAPES, SIGNATURE_FIELDS, make_line, signature_line

SIGNATURE_IDS = [s.id for s in catalogue()]


def engine_for(path: Path, window: Window | None = None) -> tuple[LocalEngine, QueryParams]:
    w = window or Window()
    return LocalEngine(discover([path], w).files, w), QueryParams(w)


def test_catalogue_covers_the_rule() -> None:
    assert list(rule_order()) == SIGNATURE_IDS
    assert set(SIGNATURE_IDS) == set(SIGNATURE_FIELDS)
    assert SIGNATURE_IDS[-1] == "elb-502-other"


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("signature_id", SIGNATURE_IDS)
def test_each_signature_in_each_shape(tmp_path: Path, signature_id: str, shape: str) -> None:
    path = write_log(tmp_path / "x.log", [make_line(shape), signature_line(signature_id, shape)])
    engine, params = engine_for(path)
    d = diagnose(engine, params)
    assert [(f.signature.id, f.count) for f in d.findings] == [(signature_id, 1)]
    assert d.totals.lines == 2 and d.totals.requests == 2 and d.totals.elb_502 == 1
    rows = signature_rows(engine, signature_id, params)
    assert len(rows.rows) == 1


def test_every_502_lands_in_exactly_one_signature(tmp_path: Path) -> None:
    lines = [signature_line(s, shape) for s in SIGNATURE_IDS for shape in SHAPES]
    lines += [
        make_line(elb_status_code="502", target="-", request_processing_time="0.001")
    ]  # no rule but the last
    lines += [make_line(elb_status_code="504", target_status_code="-")] * 3
    path = write_log(tmp_path / "x.log.gz", lines)
    engine, params = engine_for(path)
    d = diagnose(engine, params)
    counts = {f.signature.id: f.count for f in d.findings}
    assert sum(counts.values()) == d.totals.elb_502 == len(SIGNATURE_IDS) * len(SHAPES) + 1
    assert counts["elb-502-other"] == len(SHAPES) + 1
    per_signature = sum(len(signature_rows(engine, s, params).rows) for s in SIGNATURE_IDS)
    assert per_signature == d.totals.elb_502
    assert d.totals.target_generated_502 == counts["target-502"]
    assert d.totals.lb_generated_502 == d.totals.elb_502 - counts["target-502"]


def test_totals_window_and_top_targets(tmp_path: Path) -> None:
    lines = [
        signature_line("connect-failed", time="2026-11-20T10:00:01.000000Z", target="10.0.0.7:80"),
        signature_line("connect-failed", time="2026-11-20T10:00:02.000000Z", target="10.0.0.7:80"),
        signature_line("connect-failed", time="2026-11-20T10:00:03.000000Z", target="10.0.0.8:80"),
        signature_line("connect-failed", time="2026-11-20T11:30:00.000000Z", target="10.0.0.9:80"),  # outside
        make_line(time="2026-11-20T10:10:00.000000Z"),
        "this is not a log line",
    ]
    path = write_log(tmp_path / "x.log", lines)
    window = Window.from_options(None, "2026-11-20T10:00Z", "2026-11-20T11:00Z")
    engine, params = engine_for(path, window)
    d = diagnose(engine, params)
    assert d.totals.lines == 6
    assert d.totals.unparsed_lines == 1
    assert d.totals.requests == 4
    (finding,) = d.findings
    assert finding.count == 3
    assert finding.first_seen == "2026-11-20T10:00:01.000000Z"
    assert finding.last_seen == "2026-11-20T10:00:03.000000Z"
    assert finding.top_targets == [("10.0.0.7:80", 2), ("10.0.0.8:80", 1)]


def test_aws_documentation_lambda_example(tmp_path: Path, aws_samples: list[str]) -> None:
    engine, params = engine_for(write_log(tmp_path / "doc.log", aws_samples))
    d = diagnose(engine, params)
    assert [(f.signature.id, f.count) for f in d.findings] == [("lambda-invalid-response", 1)]
    assert d.totals.unparsed_lines == 0 and d.totals.lines == len(aws_samples)


def test_load_balancer_filter(tmp_path: Path) -> None:
    lines = [signature_line("target-502"), signature_line("target-502", elb="app/other/0123456789abcdef")]
    engine, _ = engine_for(write_log(tmp_path / "x.log", lines))
    d = diagnose(engine, QueryParams(Window(), load_balancer="app/other/0123456789abcdef"))
    assert d.totals.elb_502 == 1 and d.totals.lines == 2


def test_relative_window_runs_locally(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from alb502athena.window import log_time

    now = datetime.now(UTC)
    lines = [
        signature_line("target-502", time=log_time(now - timedelta(minutes=10))),
        signature_line("target-502", time=log_time(now - timedelta(hours=3))),
    ]
    path = write_log(tmp_path / "x.log", lines)
    window = Window.from_options("1h", None, None).as_relative()
    engine = LocalEngine(discover([path], window).files, window)
    d = diagnose(engine, QueryParams(window))
    assert d.totals.elb_502 == 1 and d.totals.requests == 1 and d.totals.lines == 2


def test_progress_and_interrupt(tmp_path: Path) -> None:
    from alb502athena.errors import Interrupted

    lines = [signature_line("connect-failed")] * 20000 + [make_line()] * 20000
    path = write_log(tmp_path / "big.log", lines)
    window = Window()
    plain = diagnose(LocalEngine(discover([path], window).files, window), QueryParams(window))
    seen: list[str] = []
    engine = LocalEngine(discover([path], window).files, window, progress=seen.append)
    engine.poll_seconds = 0.0
    with_progress = diagnose(engine, QueryParams(window))
    assert with_progress.as_json() == plain.as_json()
    # DuckDB's measure with the SQL reader; the native reader's own files and bytes (DuckDB cannot see
    # an Arrow stream's progress).
    form = r"Reading (1 log files \(\d+ [KM]iB\)|log files: [01] of 1 \(\d+ [KM]iB of \d+ [KM]iB\)) \[#*-*\] \d+%"
    assert seen and all(re.fullmatch(form, m) for m in seen), seen

    def stop(_: str) -> None:
        raise KeyboardInterrupt

    engine = LocalEngine(discover([path], window).files, window, progress=stop)
    engine.poll_seconds = 0.0
    with pytest.raises(Interrupted):
        diagnose(engine, QueryParams(window))


def test_samples_are_the_first_rows_of_each_signature_query_from_one_scan() -> None:
    window = Window(None, None)
    files = discover([REPO / "examples" / "logs"], window).files
    params = QueryParams(window)
    scans: list[str] = []

    class Counting(LocalEngine):
        def run(self, athena_sql: str) -> Any:
            scans.append(athena_sql)
            return super().run(athena_sql)

    engine = Counting(files, window)
    found = [f.signature.id for f in diagnose(engine, params).findings]
    assert len(found) > 3
    scans.clear()
    samples = signature_samples(engine, params, found, per_signature=5)
    assert len(scans) == 1  # one scan for every signature
    for signature_id in found:
        own = signature_rows(engine, signature_id, params)
        columns, rows = samples[signature_id]
        assert columns == own.columns  # the signature's own columns, in its order
        assert rows == own.rows[:5]
