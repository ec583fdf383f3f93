"""The `"$path"` ranges on a real Trino: the objects it reads, the same rows as `day` alone and as the
local engine, and relative windows folded to constants and pruning (issue 14)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alb502athena.diagnosis import build
from alb502athena.engines.local import LocalEngine
from alb502athena.engines.trino import TrinoEngine, TrinoSettings
from alb502athena.logfiles import discover
from alb502athena.render import (
    QueryParams,
    environment,
    path_ranges,
    render_diagnosis,
    render_samples,
    render_signature,
)
from alb502athena.scope import ObjectScope
from alb502athena.window import Window
from tests.pruning_data import FOLDER, LOAD_BALANCERS, WINDOWS, edge_logs, scope_of
from tests.trino.conftest import TrinoTier

QUERIES = ["diagnosis", "target-502", "response-failed", "connect-failed", "samples"]


@pytest.fixture(scope="module")
def edges(trino: TrinoTier, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    source = edge_logs(tmp_path_factory.mktemp("edges"))
    return trino.dataset("edges", source, FOLDER), source


def engine_of(trino: TrinoTier, schema: str) -> TrinoEngine:
    return TrinoEngine(TrinoSettings(url=trino.server.url, catalog="hive", schema=schema, user="alb502"))


def paths_read(trino: TrinoTier, schema: str, window: Window, scope: ObjectScope | None) -> set[str]:
    template = environment().from_string(
        '{% from "_macros/alb.sql" import partition_filter %}'
        'SELECT DISTINCT "$path" FROM alb_logs WHERE {{ partition_filter(window) }}'
    )
    sql = template.render(window=replace(window.sql(), paths=path_ranges(window, scope)))
    _, rows = trino.execute(sql, schema=schema)
    return {Path(r[0]).name for r in rows}


def render(query: str, params: QueryParams) -> str:
    if query == "samples":
        return render_samples(params, ["time", "elb", "target_ip", "request_url"], 3)
    return render_diagnosis(params) if query == "diagnosis" else render_signature(query, params)


def normalise(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(
        (tuple(round(v, 9) if isinstance(v, float) and not math.isnan(v) else v for v in r) for r in rows),
        key=repr,
    )


def test_the_engine_reads_its_location(trino: TrinoTier, edges: tuple[str, Path]) -> None:
    schema, _ = edges
    assert engine_of(trino, schema).log_location("alb_logs") == f"local:///edges/{FOLDER}"
    engine = engine_of(trino, schema)
    assert engine.log_location("no_such_table") is None and "could not be read" in engine.notes[0]


@pytest.mark.parametrize("window", sorted(WINDOWS))
@pytest.mark.parametrize("chosen", [LOAD_BALANCERS, LOAD_BALANCERS[1:2]])
def test_trino_reads_what_discovery_keeps(
    trino: TrinoTier, edges: tuple[str, Path], window: str, chosen: tuple[str, ...]
) -> None:
    schema, source = edges
    w = WINDOWS[window]
    root = engine_of(trino, schema).log_location("alb_logs")
    assert root is not None
    read = paths_read(trino, schema, w, scope_of(root, chosen))
    assert read == {f.path.name for f in discover([source], w).files if f.load_balancer in chosen}
    every = paths_read(trino, schema, w, None)
    # `day` alone reads the connection and health-check logs too; the ranges, none.
    assert any(n.startswith(("conn_log_", "health_check_log_")) for n in every)
    assert read < every
    # Without prefixes: every load balancer's access logs, and nothing else.
    assert paths_read(trino, schema, w, replace(scope_of(root), prefixes=())) == {
        f.path.name for f in discover([source], w, by_name=False).files
    }


@pytest.mark.parametrize("window", sorted(WINDOWS))
@pytest.mark.parametrize("query", QUERIES)
def test_same_rows_pruned_or_not_on_both_engines(
    trino: TrinoTier, edges: tuple[str, Path], window: str, query: str
) -> None:
    schema, source = edges
    w = WINDOWS[window]
    pruned = render(query, QueryParams(w, scope=scope_of(f"local:///edges/{FOLDER}")))
    t_columns, t_rows = trino.execute(pruned, schema=schema)
    # The local engine runs the same text over the window's whole days, as Trino lists them.
    local = LocalEngine(discover([source], w, by_name=False).files, w).run(pruned)
    assert t_columns == local.columns
    assert normalise(t_rows) == normalise(local.rows) and t_rows
    # And over the files discovery keeps by name: the ranges select the same ones.
    by_name = LocalEngine(discover([source], w).files, w).run(pruned)
    assert normalise(by_name.rows) == normalise(t_rows)
    d_columns, d_rows = trino.execute(render(query, QueryParams(w)), schema=schema)
    if query != "diagnosis":
        assert normalise(d_rows) == normalise(t_rows)
        return
    # `day` alone reads the other log types as lines that do not parse: every other count agrees.
    params = QueryParams(w)
    pruned_json, day_json = (
        build("trino", params, t_columns, t_rows).as_json(),
        build("trino", params, d_columns, d_rows).as_json(),
    )
    assert day_json["totals"]["unparsed_lines"] > pruned_json["totals"]["unparsed_lines"] == 0
    for d in (pruned_json, day_json):
        del d["totals"]["lines"], d["totals"]["unparsed_lines"]
        d["verdict"] = d["verdict"]["status"]
    assert pruned_json == day_json


def stats(trino: TrinoTier, schema: str, sql: str) -> tuple[int, int]:
    cursor = trino.server.connect(schema=schema).cursor()
    cursor.execute(sql)
    cursor.fetchall()
    return int(cursor.stats["totalSplits"]), int(cursor.stats["physicalInputBytes"])


def test_relative_windows_are_folded_and_prune(
    trino: TrinoTier, tmp_path_factory: pytest.TempPathFactory
) -> None:
    now = datetime.now(UTC)
    first = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0) - timedelta(hours=3)
    source = edge_logs(tmp_path_factory.mktemp("recent"), start=first, hours=3)
    schema = trino.dataset("recent", source, FOLDER)
    w = Window.from_options("1h", None, None).as_relative()
    scope = scope_of(f"local:///recent/{FOLDER}")
    pruned = render_signature("target-502", QueryParams(w, scope=scope))
    # The plan holds the ranges as constants: current_timestamp was folded before the scan.
    _, plan = trino.execute("EXPLAIN " + pruned, schema=schema)
    text = plan[0][0]
    assert "current_timestamp" not in text.lower() and f"local:///recent/{FOLDER}/{now:%Y/%m/%d}/" in text
    day_splits, day_bytes = stats(trino, schema, render_signature("target-502", QueryParams(w)))
    cut_splits, cut_bytes = stats(trino, schema, pruned)
    # The hour needs at most 16 of the 5-minute objects per node and load balancer, plus the late ones.
    admitted = len(LOAD_BALANCERS) * 2 * (60 // 5 + 4)
    assert cut_splits <= admitted < day_splits and cut_bytes * 2 < day_bytes
    _, rows = trino.execute(pruned, schema=schema)
    _, day_rows = trino.execute(render_signature("target-502", QueryParams(w)), schema=schema)
    assert normalise(rows) == normalise(day_rows) and rows


def test_the_correlation_join_prunes_the_same(trino: TrinoTier, edges: tuple[str, Path]) -> None:
    """The deregistrations' join reads the logs through an alias (l."$path"), in its ON clause."""
    from alb502athena.evidence.cloudtrail import Deregistration, render_correlation

    schema, source = edges
    w = WINDOWS["midnight"]
    tg = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067"
    _, [(target_group,)] = trino.execute(
        "SELECT DISTINCT target_group_arn FROM alb_logs WHERE target_group_arn IS NOT NULL LIMIT 1",
        schema=schema,
    )
    assert target_group == tg
    events = [
        Deregistration("e1", datetime(2026, 11, 20, 23, 40, tzinfo=UTC), tg, "10.1.1.49", 80, "someone")
    ]
    scope = scope_of(f"local:///edges/{FOLDER}")
    pruned = render_correlation(QueryParams(w, scope=scope), events, {tg: 3600})
    assert 'l."$path" >= ' in pruned
    _, t_rows = trino.execute(pruned, schema=schema)
    _, d_rows = trino.execute(render_correlation(QueryParams(w), events, {tg: 3600}), schema=schema)
    local = LocalEngine(discover([source], w, by_name=False).files, w).run(pruned)
    assert normalise(t_rows) == normalise(d_rows) == normalise(local.rows)
    assert sum(int(r[1]) for r in t_rows) > 0


def test_diagnose_on_trino_reads_no_other_log_type(trino: TrinoTier, edges: tuple[str, Path]) -> None:
    """End to end: the connection and health-check logs beside the access logs were read as lines that
    do not parse; the diagnosis now reads the access logs only, and says how it chose the objects."""
    import json

    from typer.testing import CliRunner

    from alb502athena.cli.app import app

    schema, source = edges
    w = WINDOWS["midnight"]
    args = ["diagnose", "--engine", "trino", "--trino-url", trino.server.url, "--schema", schema,
            "--start", "2026-11-20T23:50Z", "--end", "2026-11-21T00:10Z", "-o", "json"]  # fmt: skip
    runner = CliRunner()
    every = runner.invoke(app, args)
    assert every.exit_code == 0, every.stderr
    totals = json.loads(every.stdout)["totals"]
    assert totals["unparsed_lines"] == 0 and "connection and health-check logs left out" in every.stderr
    lb = LOAD_BALANCERS[2]
    one = runner.invoke(app, [*args, "--load-balancer", lb])
    assert one.exit_code == 0, one.stderr
    assert f"reading only the window's objects of {lb} (named by --load-balancer)" in one.stderr
    read = [f for f in discover([source], w).files if f.load_balancer == lb]
    assert json.loads(one.stdout)["totals"]["lines"] == 4 * len(read) < totals["lines"]
