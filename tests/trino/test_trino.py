"""Every query of the catalogue on a real Trino and on the local engine: the same text, the same rows."""

from __future__ import annotations

import gzip
import math
import random
from pathlib import Path
from typing import Any

import pytest

from alb502athena.catalogue import catalogue
from alb502athena.diagnosis import build
from alb502athena.engines.local import LocalEngine
from alb502athena.logfiles import discover
from alb502athena.logformat import log_format, parse_line
from alb502athena.render import QueryParams, render_diagnosis, render_samples, render_signature
from alb502athena.window import Window
from tests.conftest import REPO, write_log
from tests.lines import (
    BASE,
    OLD_SHAPES,
    SHAPES,
    aws_examples_by_shape,
    make_line,
    signature_line,
    tricky_lines,
)
from tests.trino.conftest import TrinoTier
from tests.typed import typed_row

EXAMPLES_ROOT = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1"
WINDOWS = {
    "none": Window(),
    "hour": Window.from_options(None, "2026-11-20T09:00Z", "2026-11-20T10:00Z"),
    "narrow": Window.from_options(None, "2026-11-20T09:20Z", "2026-11-20T09:35Z"),
    "midnight": Window.from_options(None, "2026-11-20T23:00Z", "2026-11-21T01:00Z"),
}
QUERIES = ["diagnosis", *(s.id for s in catalogue()), "samples"]
SHOWN = {c for s in catalogue() for c in s.columns}  # every column a signature query shows


def crafted_logs(root: Path) -> Path:
    """Every signature in every shape, junk, and lines on both sides of midnight and of the windows."""
    day1 = root / "2026/11/20"
    day2 = root / "2026/11/21"
    lines = []
    for i, sig in enumerate(s.id for s in catalogue()):
        for j, shape in enumerate(SHAPES):
            lines.append(signature_line(sig, shape, time=f"2026-11-20T09:{10 + i:02d}:{j:02d}.000000Z"))
    lines += [make_line(shape) for shape in SHAPES]
    lines += ["garbage", make_line()[:150], signature_line("connect-failed")[:-40]]
    write_log(day1 / "a.log", lines)
    write_log(
        day2 / "b.log.gz",
        [
            signature_line("response-failed", time="2026-11-20T23:59:59.999999Z"),  # delivered the next day
            signature_line("connect-failed", time="2026-11-21T00:00:00.000000Z"),
            signature_line("target-502", time="2026-11-21T00:30:00.000000Z", target="10.9.9.9:443"),
            make_line(time="2026-11-21T00:10:00.000000Z"),
        ],
    )
    return root


def read_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    text = (gzip.decompress(data) if path.name.endswith(".gz") else data).decode()
    return text.splitlines()


def normalise(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    def cell(v: Any) -> Any:
        return round(v, 9) if isinstance(v, float) and not math.isnan(v) else v

    return sorted((tuple(cell(v) for v in r) for r in rows), key=repr)


def local_rows(
    source: Path, sql: str, window: Window, by_name: bool = False
) -> tuple[list[str], list[tuple[Any, ...]]]:
    # By default the local engine reads what Trino reads: every file of the window's partitions.
    engine = LocalEngine(discover([source], window, by_name=by_name).files, window)
    result = engine.run(sql)
    return result.columns, result.rows


def target_group_of(source: Path, window: Window, target_ip: str) -> str:
    """The one target group the examples log for this target."""
    _, groups = local_rows(
        source, f"SELECT DISTINCT target_group_arn FROM alb_logs WHERE target_ip = '{target_ip}'", window
    )
    [(tg,)] = groups
    return str(tg)


def render(query: str, window: Window) -> str:
    params = QueryParams(window)
    if query == "samples":
        return render_samples(params, [c for c in log_format().column_names if c in SHOWN], 3)
    return render_diagnosis(params) if query == "diagnosis" else render_signature(query, params)


@pytest.fixture(scope="module")
def datasets(trino: TrinoTier, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, Path]]:
    crafted = crafted_logs(tmp_path_factory.mktemp("crafted"))
    return {
        "examples": (
            trino.dataset("examples", REPO / "examples" / "logs", EXAMPLES_ROOT),
            REPO / "examples" / "logs",
        ),
        "crafted": (trino.dataset("crafted", crafted), crafted),
    }


@pytest.mark.parametrize("window", sorted(WINDOWS))
@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("dataset", ["examples", "crafted"])
def test_same_text_same_rows(
    trino: TrinoTier, datasets: dict[str, tuple[str, Path]], dataset: str, query: str, window: str
) -> None:
    schema, source = datasets[dataset]
    sql = render(query, WINDOWS[window])
    t_columns, t_rows = trino.execute(sql, schema=schema)
    l_columns, l_rows = local_rows(source, sql, WINDOWS[window])
    assert t_columns == l_columns
    assert normalise(t_rows) == normalise(l_rows)


def test_the_comparison_sees_data(trino: TrinoTier, datasets: dict[str, tuple[str, Path]]) -> None:
    # Guards the test above against agreeing on nothing.
    schema, source = datasets["crafted"]
    _, rows = trino.execute(render("diagnosis", WINDOWS["none"]), schema=schema)
    totals = next(r for r in rows if r[0] == "total")
    lines = [line for f in sorted(source.rglob("*.log*")) for line in read_lines(f)]
    parsed = [parse_line(line) for line in lines]
    assert totals[6:10] == (
        len(lines),
        sum(p is None for p in parsed),
        sum(p is not None for p in parsed),
        sum(p is not None and p["elb_status_code"] == "502" for p in parsed),
    )
    assert totals[9] > 45 and len({r[1] for r in rows if r[0] == "signature" and r[1] is not None}) == 9


def varied_corpus(n: int = 150, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    alphabet = list(' "-.:0123456789aZ_/\\\té')
    corpus = tricky_lines()
    while len(corpus) < n:
        fields = {
            name: "".join(rng.choices(alphabet, k=rng.randint(0, 6))) for name in rng.sample(sorted(BASE), 2)
        }
        line = make_line(rng.choice(SHAPES), **fields)
        if rng.random() < 0.3:
            at = rng.randrange(len(line))
            line = line[:at] + rng.choice(['"', " ", "x", '" "']) + line[at:]
        corpus.append(line.replace("\t", " ") if not line.strip() else line)
    return corpus


def test_parsing_agrees_line_by_line(trino: TrinoTier, tmp_path: Path) -> None:
    """Trino's REGEX table, the DuckDB view and Python's `re` agree on every line, NULL rows included."""
    corpus = varied_corpus()
    root = tmp_path / "parse"
    for i, line in enumerate(corpus):
        write_log(root / "2026/11/20" / f"{i:05d}.log", [line])
    schema = trino.dataset("parsing", root)
    names = ", ".join(log_format().column_names)
    _, t_rows = trino.execute(f'SELECT "$path", {names} FROM alb_logs', schema=schema)
    by_file = {Path(r[0]).name: r[1:] for r in t_rows}
    sql = f"SELECT {names} FROM alb_logs"
    for i, line in enumerate(corpus):
        expected = typed_row(line)
        trino_row = by_file[f"{i:05d}.log"]
        _, local = local_rows(root / "2026/11/20" / f"{i:05d}.log", sql, Window())
        assert normalise([trino_row]) == normalise([expected]), f"Trino vs regex on {line!r}"
        assert normalise(local) == normalise([expected]), f"DuckDB vs regex on {line!r}"


@pytest.mark.parametrize("window", ["hour", "relative"])
def test_partition_pruning_in_the_plan(
    trino: TrinoTier, datasets: dict[str, tuple[str, Path]], window: str
) -> None:
    schema, _ = datasets["examples"]
    w = WINDOWS["hour"] if window == "hour" else Window.from_options("2h", None, None).as_relative()
    for query in QUERIES:
        _, plan = trino.execute("EXPLAIN " + render(query, w), schema=schema)
        text = plan[0][0]
        scanned = text.split("day:string:PARTITION_KEY", 1)[1].splitlines()[1]
        days = scanned.count("[2026/")
        # The table projects every day since 2026/11/01: a scan without the predicate lists them all.
        assert 1 <= days <= 2, f"{query}: {scanned}"
    _, plan = trino.execute("EXPLAIN SELECT count(*) FROM alb_logs", schema=schema)
    assert plan[0][0].split("day:string:PARTITION_KEY", 1)[1].splitlines()[1].count("[2026/") > 2


@pytest.mark.parametrize("window", ["hour", "narrow", "midnight"])
def test_skipping_files_by_name_loses_no_request(
    trino: TrinoTier, datasets: dict[str, tuple[str, Path]], window: str
) -> None:
    """The local engine skips files whose names put them outside the window: only the counts of lines
    read (total and unparsed) may change, never a request, a 502 or a signature."""
    schema, source = datasets["examples"]
    sql = render("diagnosis", WINDOWS[window])
    params = QueryParams(WINDOWS[window])
    t_columns, t_rows = trino.execute(sql, schema=schema)
    l_columns, l_rows = local_rows(source, sql, WINDOWS[window], by_name=True)
    by_trino = build("trino", params, t_columns, t_rows).as_json()
    by_local = build("trino", params, l_columns, l_rows).as_json()
    for d in (by_trino, by_local):
        del d["totals"]["lines"], d["totals"]["unparsed_lines"]
        # The verdict's words name the lines read (and, locally, the files): its status must agree.
        d["verdict"] = d["verdict"]["status"]
    assert by_trino == by_local


def test_deregistration_join_agrees(trino: TrinoTier, datasets: dict[str, tuple[str, Path]]) -> None:
    """The correlation query (events as VALUES joined to the logs) on Trino and on the local engine."""
    from datetime import UTC, datetime

    from alb502athena.evidence.cloudtrail import Deregistration, render_correlation

    schema, source = datasets["examples"]
    window = WINDOWS["hour"]
    tg = target_group_of(source, window, "10.0.12.14")
    events = [
        Deregistration(
            "e1", datetime(2026, 11, 20, 9, 24, tzinfo=UTC), tg, "10.0.12.14", 8080, "ecs.amazonaws.com"
        ),
        Deregistration("e2", datetime(2026, 11, 20, 9, 30, tzinfo=UTC), tg, "10.0.12.203", None, "someone"),
        Deregistration("e3", datetime(2026, 11, 20, 9, 50, tzinfo=UTC), tg, "10.9.9.9", 80, "someone"),
    ]
    sql = render_correlation(QueryParams(window), events, {tg: 120})
    t_columns, t_rows = trino.execute(sql, schema=schema)
    l_columns, l_rows = local_rows(source, sql, window)
    assert t_columns == l_columns
    assert normalise(t_rows) == normalise(l_rows)
    counts = {r[0]: r[1] for r in t_rows}
    assert counts["0"] > 0 and counts["2"] == 0


def test_cloudtrail_table_join_agrees(
    trino: TrinoTier, datasets: dict[str, tuple[str, Path]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The join with a CloudTrail table: on Trino (a JSON table shaped like AWS's CloudTrail table) and
    on DuckDB (a view over CloudTrail's own files), the same rows."""
    import json

    from alb502athena.evidence.cloudtrail import cloudtrail_view_sql, render_correlation_table

    schema, source = datasets["examples"]
    window = WINDOWS["hour"]
    tg = target_group_of(source, window, "10.0.12.14")
    records = [
        {
            "eventID": f"e{i}",
            "eventTime": when,
            "eventSource": "elasticloadbalancing.amazonaws.com",
            "eventName": "DeregisterTargets",
            "userIdentity": {"type": "AWSService", "invokedBy": "ecs.amazonaws.com", "arn": None},
            "requestParameters": {"targetGroupArn": tg, "targets": targets},
        }
        for i, (when, targets) in enumerate(
            [
                ("2026-11-20T09:24:00Z", [{"id": "10.0.12.14", "port": 8080}]),
                ("2026-11-20T09:30:00Z", [{"id": "10.0.12.203", "port": 8080}, {"id": "10.9.9.9"}]),
            ]
        )
    ]
    root = tmp_path_factory.mktemp("cloudtrail")
    native = root / "native" / "2026/11/20"
    native.mkdir(parents=True)
    (native / "a.json").write_text(json.dumps({"Records": records}))
    # The Athena CloudTrail table reads requestparameters as JSON text and userIdentity as a struct.
    table_rows = root / "table" / "2026/11/20"
    table_rows.mkdir(parents=True)
    (table_rows / "a.json").write_text(
        "\n".join(
            json.dumps(
                {
                    "eventid": r["eventID"], "eventtime": r["eventTime"], "eventsource": r["eventSource"],
                    "eventname": r["eventName"], "errorcode": None, "requestparameters": json.dumps(r["requestParameters"]),
                    "useridentity": {"invokedby": "ecs.amazonaws.com", "arn": None, "sessioncontext": None},
                }
            )
            for r in records
        )
        + "\n"
    )  # fmt: skip
    trino.copy(root / "table", "cloudtrail_table")
    trino.execute(
        f"""CREATE TABLE IF NOT EXISTS hive.{schema}.cloudtrail_logs (
          eventid varchar, eventtime varchar, eventsource varchar, eventname varchar, errorcode varchar,
          requestparameters varchar,
          useridentity ROW(invokedby varchar, arn varchar, sessioncontext ROW(sessionissuer ROW(arn varchar))),
          "timestamp" varchar WITH (partition_projection_type = 'date', partition_projection_format = 'yyyy/MM/dd',
            partition_projection_range = ARRAY['2026/11/01', 'NOW'], partition_projection_interval = 1,
            partition_projection_interval_unit = 'DAYS')
        ) WITH (format = 'JSON', external_location = 'local:///cloudtrail_table', partitioned_by = ARRAY['timestamp'],
          partition_projection_enabled = true, partition_projection_location_template = 'local:///cloudtrail_table/${{timestamp}}')"""
    )
    sql = render_correlation_table(QueryParams(window), "cloudtrail_logs", {tg: 200})
    t_columns, t_rows = trino.execute(sql, schema=schema)
    engine = LocalEngine(discover([source], window, by_name=False).files, window)
    engine.add_view(cloudtrail_view_sql([native / "a.json"]))
    local = engine.run(sql)
    assert t_columns == local.columns
    assert normalise(t_rows) == normalise(local.rows)
    counts = {(r[4], r[5]): r[6] for r in t_rows}
    assert counts[("10.0.12.14", 8080)] > 0 and counts[("10.9.9.9", None)] == 0 and len(counts) == 3
    # And from the CLI, on the Trino engine.
    from typer.testing import CliRunner

    from alb502athena.cli.app import app

    result = CliRunner().invoke(
        app,
        ["diagnose", "--engine", "trino", "--trino-url", trino.server.url, "--schema", schema,
         "--cloudtrail-table", "cloudtrail_logs", "--start", "2026-11-20T09:00Z", "--end", "2026-11-20T10:00Z", "-o", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    correlations = json.loads(result.stdout)["correlations"]
    assert {c["target"] for c in correlations} >= {"10.0.12.14:8080"}
    assert all(
        c["who"] == "ecs.amazonaws.com" and c["deregistration_delay_seconds"] == 300 for c in correlations
    )


def test_line_ends_and_bytes_as_trino_reads_them(trino: TrinoTier, tmp_path: Path) -> None:
    """Bytes that DuckDB's CSV reader treats otherwise: invalid UTF-8, empty lines, CRLF and a lone CR.
    Trino's text reader is Hadoop's; the native reader must give the same rows, in the same order."""
    good = make_line(SHAPES[-1]).encode()
    p502 = signature_line("connect-failed", SHAPES[-1]).encode()
    content = b"".join(
        [
            good + b"\r\n",  # CRLF
            good.replace(b"Firefox", b"Fire\xfffox") + b"\n",  # invalid UTF-8 in a quoted field
            p502.replace(b"app/", b"app/\xc3x", 1) + b"\n",  # invalid UTF-8 in a value the query reads
            b"\n",  # an empty line
            good + b"\r",  # a lone CR ends a line
            p502 + b"\n",
            b"caf\xc3\xa9 \xe2\x82 junk\n",  # valid and truncated sequences in a junk line
            good,  # no line end at the end of the file
        ]
    )
    root = tmp_path / "bytes"
    for name, data in (("plain.log", content), ("packed.log.gz", gzip.compress(content))):
        (root / "2026/11/20").mkdir(parents=True, exist_ok=True)
        (root / "2026/11/20" / name).write_bytes(data)
    schema = trino.dataset("bytes", root)
    names = ", ".join(log_format().column_names)
    sql = f"SELECT {names} FROM alb_logs"
    _, t_rows = trino.execute(sql, schema=schema)
    _, local = local_rows(root, sql, Window())
    assert len(t_rows) == 2 * 8
    assert normalise(local) == normalise(t_rows)
    assert any(r[2] is not None and "\ufffd" in r[2] for r in t_rows)  # the replacement reached a value
    sql = render("diagnosis", Window())
    _, t_diag = trino.execute(sql, schema=schema)
    _, l_diag = local_rows(root, sql, Window())
    assert normalise(l_diag) == normalise(t_diag)


def test_every_shape_since_2016_and_the_protocol_space(trino: TrinoTier, tmp_path: Path) -> None:
    """Trino's table (the DDL's regex) reads AWS's example lines of every shape since 2016, and a request
    whose protocol is followed by a space, as the native reader does. Before, the lines of 2016 to
    mid-2018 were all-NULL rows, and the protocol read as part of the URL."""
    lines = [line for v in sorted(aws_examples_by_shape()) for line in aws_examples_by_shape()[v]]
    lines += [make_line(s) for s in OLD_SHAPES]
    lines += [make_line(s, request="GET http://example.com:80/a b HTTP/1.0 ") for s in ("2016", "2025")]
    lines += [make_line("2016", request="- - - ")]
    root = tmp_path / "history"
    write_log(root / "2026/11/20" / "a.log", lines)
    schema = trino.dataset("history", root)
    names = log_format().column_names
    sql = f"SELECT {', '.join(names)} FROM alb_logs"
    _, t_rows = trino.execute(sql, schema=schema)
    _, local = local_rows(root, sql, Window())
    assert normalise(local) == normalise(t_rows) == normalise([typed_row(line) for line in lines])
    assert all(r[names.index("type")] is not None for r in t_rows)  # no line unparsed
    request = [names.index(c) for c in ("request_verb", "request_url", "request_proto")]
    assert sorted({tuple(r[i] for i in request) for r in t_rows if r[request[1]] != "-"}) == sorted(
        {("GET", "http://example.com:80/a b", "HTTP/1.0"), ("GET", "http://www.example.com:80/", "HTTP/1.1"),
         ("GET", "https://www.example.com:443/", "HTTP/1.1"), ("GET", "https://10.0.2.105:773/", "HTTP/2.0"),
         ("GET", "http://10.0.0.30:80/", "HTTP/1.1"), ("GET", "https://10.0.0.30:443/", "HTTP/1.1"),
         ("GET", "https://shop.example.com:443/cart?id=1", "HTTP/1.1")}
    )  # fmt: skip
    assert ("-", "-", "- ") in {tuple(r[i] for i in request) for r in t_rows}
