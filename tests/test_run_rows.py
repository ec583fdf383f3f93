"""`alb502 run`: the limit is applied by the query, and without one the rows are streamed, so memory does
not hold the result (3 M matching rows once took 4.5 GiB to print 100)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alb502athena.cli.app import app
from alb502athena.engines.local import LocalEngine
from alb502athena.logfiles import discover
from alb502athena.output import TABLE_PAGE, Screen, render_rows, write_rows
from alb502athena.render import QueryParams, render_signature
from alb502athena.window import Window
from tests.conftest import REPO, write_log
from tests.lines import signature_line

MiB = 1024 * 1024


def _rows(n: int, signature: str = "connect-failed") -> list[str]:
    # Each row its own time (run lists them in time order) and trace id.
    template = signature_line(signature, time="TIME", trace_id="TRACE")
    return [
        template.replace(
            "TIME", f"2026-11-20T10:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i:06d}Z", 1
        ).replace("TRACE", f"Root=1-{i:08x}-{i:024x}", 1)
        for i in range(n)
    ]


def test_the_limit_is_in_the_query_on_every_engine() -> None:
    params = QueryParams(Window())
    sql = render_signature("connect-failed", params, 101)
    assert sql.rstrip().endswith("ORDER BY time\nLIMIT 101")
    assert "LIMIT" not in render_signature("connect-failed", params)
    # The engine runs the text it is given: what DuckDB runs is this text, transpiled.
    from alb502athena.transpile import to_duckdb

    assert to_duckdb(sql).rstrip().endswith("LIMIT 101")


def test_run_shows_the_first_rows_and_says_when_more_match(tmp_path: Path) -> None:
    write_log(tmp_path / "a.log", _rows(5))
    result = CliRunner().invoke(app, ["run", "connect-failed", str(tmp_path), "--limit", "2", "-o", "json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["trace_id"] for r in rows] == [
        "Root=1-00000000-" + "0" * 24,
        "Root=1-00000001-" + "0" * 23 + "1",
    ]
    assert "showing the first 2 rows; more match (--limit 0 shows all)" in result.stderr
    result = CliRunner().invoke(app, ["run", "connect-failed", str(tmp_path), "--limit", "5", "-o", "csv"])
    assert (
        result.exit_code == 0 and len(result.stdout.splitlines()) == 6 and "more match" not in result.stderr
    )
    result = CliRunner().invoke(
        app, ["run", "connect-failed", str(tmp_path), "--limit", "0", "-o", "markdown"]
    )
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2 + 5


def test_a_stream_gives_every_row_in_batches(tmp_path: Path) -> None:
    path = write_log(tmp_path / "a.log.gz", _rows(2_500))
    window = Window()
    engine = LocalEngine(discover([path], window).files, window)
    with engine.stream(render_signature("connect-failed", QueryParams(window)), batch_rows=1_000) as result:
        sizes = [len(b) for b in result.batches]
        assert result.columns[0] == "time"
    assert sizes == [1_000, 1_000, 500]
    # The connection is free again: the next query runs.
    assert engine.run("SELECT count(*) AS n FROM alb_logs").rows == [(2_500,)]


def test_rows_written_in_batches_read_as_rows_written_at_once() -> None:
    columns = ["a", "b"]
    rows = [(f"x{i}", i) for i in range(7)]
    batches = [rows[:3], rows[3:6], rows[6:]]
    for fmt in ("json", "csv", "markdown"):
        out: list[str] = []
        assert write_rows(columns, batches, fmt, out.append) == 7
        assert "".join(out) == render_rows(columns, rows, fmt)
    assert json.loads(render_rows(columns, rows, "json")) == [{"a": f"x{i}", "b": i} for i in range(7)]
    assert render_rows(columns, [], "json") == "[]\n"
    # On a terminal a long result is laid out a page at a time, each row numbered once.
    out = []
    long = [(f"value {i}", "same") for i in range(TABLE_PAGE + 5)]
    assert write_rows(columns, [long[:600], long[600:]], "table", out.append, Screen(80)) == len(long)
    assert len(out) == 2
    text = "".join(out)
    assert text.count("value ") == len(long) and text.count("The same in all") == 2


def _peak(args: list[str], stdout: Path) -> int:
    """Peak RSS (bytes) of `python -m alb502athena *args`, in a fresh probe process (ru_maxrss of
    RUSAGE_CHILDREN is the maximum over all children so far), its stdout written to a file."""
    probe = (
        "import resource, subprocess, sys\n"
        "with open(sys.argv[1], 'wb') as out:\n"
        "    done = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.PIPE)\n"
        "assert done.returncode == 0, done.stderr\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    cmd = [sys.executable, "-m", "alb502athena", *args]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", probe, str(stdout), *cmd], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout) * 1024


ROWS = 400_000  # matching rows: held as Python tuples they took about 1.4 KiB each


@pytest.mark.slow
def test_run_memory_does_not_hold_the_result(tmp_path: Path) -> None:
    """Peak memory of `run` on 400,000 matching rows, against the same scan matching none (the reader's
    own memory): with --limit 100 the rows cost nothing; without a limit they are streamed, and only
    DuckDB's sorted copy (about 0.4 KiB a row) remains. Measured: +0 MiB with --limit 100 and +158 MiB
    without, where fetching every row took +330 MiB and +640 MiB (1.6 KiB a row)."""
    logs = tmp_path / "logs"
    lines = _rows(ROWS)
    per_file = ROWS // 20
    for i in range(20):
        data = ("\n".join(lines[i * per_file : (i + 1) * per_file]) + "\n").encode()
        (logs / f"f{i:02d}.log.gz").parent.mkdir(exist_ok=True)
        (logs / f"f{i:02d}.log.gz").write_bytes(gzip.compress(data, 1))
    del lines
    out = tmp_path / "out.csv"
    floor = _peak(["run", "target-502", str(logs), "--limit", "0", "-o", "csv"], out)
    assert out.read_text().count("\n") == 1  # the header: no target-502 row
    limited = _peak(["run", "connect-failed", str(logs), "--limit", "100", "-o", "csv"], out)
    assert out.read_text().count("\n") == 101
    streamed = _peak(["run", "connect-failed", str(logs), "--limit", "0", "-o", "csv"], out)
    with out.open() as f:
        assert sum(1 for _ in f) == ROWS + 1
    assert limited - floor < 64 * MiB, (floor / MiB, limited / MiB)
    assert streamed - floor < ROWS * 700, (floor / MiB, streamed / MiB)
