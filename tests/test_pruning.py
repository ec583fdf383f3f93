"""The `"$path"` ranges (issue 14): which objects they admit, on DuckDB, against discovery's own rule."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from alb502athena.catalogue import catalogue
from alb502athena.cli.app import app
from alb502athena.engines.local import LocalEngine
from alb502athena.engines.local_paths import reduce_paths
from alb502athena.engines.trino import location_from_definition
from alb502athena.errors import UsageError
from alb502athena.logfiles import LogFile, describe, discover
from alb502athena.objectname import FILE_SPAN, LATE_MARGIN, access_log_prefix, end_time_range, may_hold
from alb502athena.render import (
    QueryParams,
    load_balancer_id,
    render_diagnosis,
    render_load_balancers,
    render_samples,
    render_signature,
)
from alb502athena.scope import ObjectScope, account_region, resolve_scope
from alb502athena.window import Window
from tests.pruning_data import ACCOUNT, FOLDER, LOAD_BALANCERS, REGION, WINDOWS, edge_logs, scope_of

S3_ROOT = f"s3://my-alb-logs/prod/{FOLDER}"


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return edge_logs(tmp_path_factory.mktemp("edges"))


def admitted(sql: str, files: list[LogFile], window: Window) -> set[Path]:
    days = window.day_range()
    _, kept = reduce_paths(sql, files, days[0] if days else None, duckdb.connect())
    return {f.path for f in kept}


@pytest.mark.parametrize("window", sorted(WINDOWS))
@pytest.mark.parametrize("chosen", [LOAD_BALANCERS, LOAD_BALANCERS[:1], LOAD_BALANCERS[1:2]])
def test_the_ranges_admit_what_discovery_keeps(logs: Path, window: str, chosen: tuple[str, ...]) -> None:
    w = WINDOWS[window]
    every = discover([logs], w, by_name=False).files  # the window's `day` partitions, whole
    sql = render_diagnosis(QueryParams(w, scope=scope_of(S3_ROOT, chosen)))
    expected = {f.path for f in discover([logs], w).files if f.load_balancer in chosen}
    assert admitted(sql, every, w) == expected
    assert len(expected) < len(every)
    ends = {f.end_time for f in every if f.path in expected}
    assert w.start is not None and w.end is not None
    # The object that ends exactly at the start, and the last that may hold late entries, are read;
    # the one after it is not.
    assert w.start in ends and w.end + FILE_SPAN + LATE_MARGIN in ends
    assert w.end + FILE_SPAN + LATE_MARGIN + timedelta(minutes=5) not in ends
    assert w.start - timedelta(minutes=5) not in ends


def test_other_log_types_are_never_admitted(logs: Path) -> None:
    w = WINDOWS["narrow"]
    found = discover([logs], w, by_name=False)
    others = [describe(p) for kind in ("connection", "health_check") for p in found.set_aside[kind]]
    assert len(others) > 100
    for scope in (scope_of(S3_ROOT), ObjectScope(root=S3_ROOT, account=ACCOUNT, region=REGION)):
        sql = render_diagnosis(QueryParams(w, scope=scope))
        assert admitted(sql, others, w) == set()
    # Without prefixes, every load balancer's access logs of the days are read, and nothing else.
    sql = render_load_balancers(QueryParams(w, scope=scope_of(S3_ROOT)))
    assert admitted(sql, found.files, w) == {f.path for f in found.files}


def normalise(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(
        (tuple(round(v, 9) if isinstance(v, float) and not math.isnan(v) else v for v in r) for r in rows),
        key=repr,
    )


def queries(params: QueryParams) -> dict[str, str]:
    shown = sorted({c for s in catalogue() for c in s.columns})
    return {
        "diagnosis": render_diagnosis(params),
        "target-502": render_signature("target-502", params),
        "response-failed": render_signature("response-failed", params),
        "samples": render_samples(params, shown, 3),
    }


@pytest.mark.parametrize("window", sorted(WINDOWS))
def test_results_are_those_of_day_alone(logs: Path, window: str) -> None:
    """The pruned text over the window's whole days gives what the `day`-only text gives over the files
    discovery keeps by name: the same lines (late entries included), none of another log type."""
    w = WINDOWS[window]
    pruned = LocalEngine(discover([logs], w, by_name=False).files, w)
    whole = LocalEngine(discover([logs], w).files, w)
    day_only = queries(QueryParams(w))
    for name, sql in queries(QueryParams(w, scope=scope_of(S3_ROOT))).items():
        got, want = pruned.run(sql), whole.run(day_only[name])
        assert got.columns == want.columns
        assert normalise(got.rows) == normalise(want.rows), name
        assert want.rows, name
    assert any("leave out" in n for n in pruned.notes)


def test_one_load_balancer(logs: Path) -> None:
    w = WINDOWS["midnight"]
    lb = LOAD_BALANCERS[1]
    engine = LocalEngine(discover([logs], w, by_name=False).files, w)
    whole = LocalEngine(discover([logs], w).files, w)
    got = engine.run(render_signature("target-502", QueryParams(w, lb, scope=scope_of(S3_ROOT, (lb,)))))
    want = whole.run(render_signature("target-502", QueryParams(w, lb)))
    assert normalise(got.rows) == normalise(want.rows) and len(want.rows) > 4
    totals = engine.run(render_diagnosis(QueryParams(w, lb, scope=scope_of(S3_ROOT, (lb,))))).rows
    total = next(r for r in totals if r[0] == "total")
    assert total[6] == 4 * 2 * 8  # its own 8 files per node (ends 23:50 .. 00:25), 4 lines each


def test_relative_windows_prune_from_the_query_time(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    # Three hours of objects up to now: logs hold no entry from the future.
    edge_logs(
        tmp_path,
        start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0) - timedelta(hours=3),
        hours=3,
    )
    w = Window.from_options("1h", None, None).as_relative()
    files = discover([tmp_path], Window(), by_name=False).files
    before = datetime.now(UTC)
    got = admitted(render_diagnosis(QueryParams(w, scope=scope_of(S3_ROOT))), files, w)
    after = datetime.now(UTC)
    late = FILE_SPAN + LATE_MARGIN
    # Every object that may hold the last hour's entries, whenever in [before, after] the query ran,
    # and no object outside the widest such span (objectname's, from the earliest start).
    assert after - before < timedelta(minutes=1)
    low, _ = end_time_range(before - timedelta(hours=1), after)
    sure = {
        f.path
        for f in files
        if after - timedelta(hours=1) <= f.end_time <= before + late - timedelta(minutes=1)
    }  # type: ignore[operator]
    may = {f.path for f in files if low <= f.end_time <= after + late}  # type: ignore[operator]
    assert sure <= got <= may and len(sure) > 30
    # The same rows as `day` alone.
    engine = LocalEngine(files, w)
    for name, sql in queries(QueryParams(w, scope=scope_of(S3_ROOT))).items():
        if name != "diagnosis":  # its line counts depend on the files read
            assert normalise(engine.run(sql).rows) == normalise(
                engine.run(queries(QueryParams(w))[name]).rows
            )


@pytest.mark.parametrize("seconds", [0, 30])
def test_a_relative_window_reads_from_its_start_rounded_up_to_the_minute(
    tmp_path: Path, seconds: int
) -> None:
    """The relative SQL's first end time is objectname's (end_time_range): a start with seconds is
    rounded up, so the object ending at that start's minute is not read; a start at a whole minute reads
    it. The query's moment is a literal in place of current_timestamp, so the edge is met every run."""
    edge_logs(tmp_path, start=datetime(2026, 11, 20, 9, 0, tzinfo=UTC), hours=3)
    now = datetime(2026, 11, 20, 11, 0, seconds, tzinfo=UTC)  # its hour starts at 10:00, an end time
    start = now - timedelta(hours=1)
    sql = render_diagnosis(
        QueryParams(Window.from_options("1h", None, None).as_relative(), scope=scope_of(S3_ROOT))
    ).replace("current_timestamp", f"TIMESTAMPTZ '{now.isoformat()}'")
    files = discover([tmp_path], Window(), by_name=False).files
    got = admitted(sql, files, Window(start, now))
    want = {
        f.path
        for f in files
        if f.end_time is not None and f.load_balancer in LOAD_BALANCERS and may_hold(f.end_time, start, now)
    }
    at_start = {f.path for f in files if f.end_time == start.replace(second=0) and f.load_balancer}
    assert got == want and at_start and (at_start <= got) == (seconds == 0)


def test_a_predicate_of_another_location_still_selects_by_folder_and_name(logs: Path) -> None:
    # The local engine's files are the table's, wherever it is: only the day folder and name count.
    w = WINDOWS["narrow"]
    files = discover([logs], w, by_name=False).files
    a = admitted(render_diagnosis(QueryParams(w, scope=scope_of("local:///x"))), files, w)
    b = admitted(render_diagnosis(QueryParams(w, scope=scope_of("s3://b/it's (odd)/" + FOLDER))), files, w)
    assert a == b and a


def test_resolve_scope() -> None:
    w = WINDOWS["narrow"]
    said: list[str] = []
    lb = LOAD_BALANCERS[1]
    arn = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/{lb}"
    prefix = access_log_prefix(ACCOUNT, REGION, lb)
    scope = resolve_scope(S3_ROOT + "/", w, lb, say=said.append)
    assert scope == ObjectScope(
        root=S3_ROOT, prefixes=(prefix,), account=ACCOUNT, region=REGION, found_by="--load-balancer"
    )
    assert "--load-balancer" in said[-1]
    # An ARN names the account and region where the location does not.
    scope = resolve_scope("s3://b/logs", w, arn, say=said.append)
    assert scope is not None and scope.prefixes == (prefix,)
    with pytest.raises(UsageError, match="210987654321"):
        resolve_scope(S3_ROOT.replace(ACCOUNT, "210987654321"), w, arn)
    # Nothing names the objects: whole days, and why.
    assert resolve_scope("s3://b/logs", w, lb, say=said.append) is None
    assert "whole" in said[-1] and "ARN" in said[-2]
    assert resolve_scope(None, w, lb, say=said.append) is None and "location" in said[-1]
    # A lister (the S3 listing) names them; else the account's access logs, whole days.
    listed = ObjectScope(root=S3_ROOT, prefixes=(prefix,), found_by="a listing")
    seen: list[tuple[str, Window]] = []
    assert resolve_scope(S3_ROOT, w, None, lambda r, x: seen.append((r, x)) or listed, said.append) == listed
    assert seen == [(S3_ROOT, w)] and "a listing" in said[-1]
    scope = resolve_scope(S3_ROOT, w, None, lambda r, x: None, said.append)
    assert scope == ObjectScope(root=S3_ROOT, account=ACCOUNT, region=REGION, found_by="the table's location")
    assert "connection and health-check logs left out" in said[-1]
    assert resolve_scope(S3_ROOT, Window(), lb) is None  # no window: no days to narrow


def test_trino_location_from_its_definition() -> None:
    ddl = "CREATE TABLE x (a varchar) WITH (\n   partition_projection_location_template = 'local:///it''s/AWSLogs/1/${day}'\n)"
    assert location_from_definition(ddl) == "local:///it's/AWSLogs/1"
    assert location_from_definition(ddl.replace("${day}", "day=${day}")) is None
    assert location_from_definition("CREATE TABLE x (a varchar)") is None


def test_local_location(logs: Path, tmp_path: Path) -> None:
    w = WINDOWS["narrow"]
    assert LocalEngine(discover([logs], w).files, w, parser="sql").log_location("t") == str(logs / FOLDER)
    loose = tmp_path / "a.log"
    loose.write_text("x\n")
    assert LocalEngine(discover([loose], w).files, w, parser="sql").log_location("t") is None


def test_sql_prints_the_pruned_text() -> None:
    lb = LOAD_BALANCERS[0]
    window = ["--start", "2026-11-20T09:20Z", "--end", "2026-11-20T09:35Z"]
    runner = CliRunner()
    result = runner.invoke(app, ["sql", "target-502", *window, "--bucket", "my-alb-logs", "--prefix", "prod",
                                 "--account", ACCOUNT, "--region", REGION, "--load-balancer", lb])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == render_signature(
        "target-502",
        QueryParams(Window.from_options(None, *window[1::2]), lb, scope=scope_of(S3_ROOT, (lb,))),
    )
    assert "--load-balancer" in result.stderr
    result = runner.invoke(app, ["sql", "diagnosis", "--last", "2h", "--location", S3_ROOT])
    assert result.exit_code == 0 and '"$path" >= concat(' in result.stdout
    assert "health-check logs left out" in result.stderr
    result = runner.invoke(app, ["sql", "diagnosis", *window])
    assert result.exit_code == 0 and "$path" not in result.stdout and "whole" in result.stderr
    result = runner.invoke(app, ["sql", "diagnosis", *window, "--bucket", "my-alb-logs"])
    assert result.exit_code == 2 and "--account" in result.stderr


def test_a_load_balancer_with_no_object_read_is_not_an_empty_table(logs: Path) -> None:
    """Only its objects were read: the verdict names the load balancers that do have lines, as it does
    when the `elb` filter matched none, rather than calling the table empty."""
    from alb502athena.diagnosis import diagnose
    from alb502athena.inputs import gather

    w = WINDOWS["narrow"]
    other = "app/other-alb/0123456789abcdef"
    engine = LocalEngine(discover([logs], w, by_name=False).files, w)
    d = diagnose(engine, QueryParams(w, other, scope=scope_of(S3_ROOT, (other,))))
    assert d.totals.lines == 0
    gather(d, None, engine)
    headline = d.verdict().headline
    assert f"no line is from --load-balancer {other}; the lines are from" in headline
    assert all(lb in headline for lb in LOAD_BALANCERS) and d.verdict().exit_code == 2


def test_the_unparsed_share_check_reads_access_logs_only() -> None:
    from alb502athena.render import location_from_template, render_unparsed_share

    now = datetime.now(UTC)
    folder = Path("/x") / FOLDER / f"{now:%Y/%m/%d}"
    end = f"{now:%Y%m%dT%H}00Z"
    names = [
        f"{kind}{access_log_prefix(ACCOUNT, REGION, lb)}{end}_10.0.1.37_x.log.gz"
        for kind in ("", "conn_log_", "health_check_log_")
        for lb in LOAD_BALANCERS
    ]
    files = [describe(folder / n) for n in names]
    root = location_from_template(S3_ROOT + "/${day}")
    assert root == S3_ROOT
    sql = render_unparsed_share("alb.alb_logs", root)
    w = Window(now - timedelta(days=1), now, relative=True)
    assert {p.name for p in admitted(sql, files, w)} == set(names[: len(LOAD_BALANCERS)])
    assert "$path" not in render_unparsed_share("alb.alb_logs", None)


def test_the_correlation_join_reads_through_its_alias(logs: Path) -> None:
    from alb502athena.evidence.cloudtrail import Deregistration, render_correlation

    w = WINDOWS["midnight"]
    tg = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067"
    events = [
        Deregistration("e1", datetime(2026, 11, 20, 23, 40, tzinfo=UTC), tg, "10.1.1.49", 80, "someone")
    ]
    pruned = render_correlation(
        QueryParams(w, scope=scope_of(S3_ROOT, LOAD_BALANCERS[1:2])), events, {tg: 3600}
    )
    assert 'l."$path" >= ' in pruned
    got = LocalEngine(discover([logs], w, by_name=False).files, w).run(pruned).rows
    want = (
        LocalEngine(discover([logs], w).files, w)
        .run(render_correlation(QueryParams(w), events, {tg: 3600}))
        .rows
    )
    assert got == want and got[0][1] == 2


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("s3://logs/AWSLogs/123456789012/elasticloadbalancing/eu-west-1", ("123456789012", "eu-west-1")),
        (
            "s3://logs/prod/AWSLogs/123456789012/elasticloadbalancing/us-gov-west-1/",
            ("123456789012", "us-gov-west-1"),
        ),
        # An S3 listing's key prefix starts with the folder itself (no bucket, no leading slash).
        ("AWSLogs/123456789012/elasticloadbalancing/eu-west-1", ("123456789012", "eu-west-1")),
        ("s3://logs/xAWSLogs/123456789012/elasticloadbalancing/eu-west-1", (None, None)),
        ("s3://logs/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/20", (None, None)),
    ],
)
def test_one_reading_of_a_locations_account_and_region(root: str, expected: tuple[str | None, ...]) -> None:
    # resolve_scope and the S3 listing each had a pattern of their own; both read this one now.
    assert account_region(root) == expected


def test_a_load_balancer_arn_of_another_partition_names_its_account_and_region() -> None:
    arn = "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188"
    root = "s3://logs/AWSLogs/123456789012/elasticloadbalancing/cn-north-1"
    scope = resolve_scope(root, Window.from_options("1h", None, None), arn)
    assert scope is not None and scope.prefixes == (
        "123456789012_elasticloadbalancing_cn-north-1_app.shop.50dc6c495c0c9188_",
    )
    assert load_balancer_id(arn) == "app/shop/50dc6c495c0c9188"
