"""The SQL the Terraform module sends to Athena, on Trino: every generated query filled by Terraform's own
templatefile() with the module's variables (a schedule's interval ending the delivery lag before the run,
counted from the run's minute; a saved query's hours up to the run; the table's location, account,
region and load balancers) parses, prunes the `day` partitions and the objects by name, and runs.
The module's own wrapping of the scheduled count is shown by the plan in tests/test_terraform_live.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alb502athena.objectname import may_hold, parse
from alb502athena.render import QueryParams, render_diagnosis, render_signature
from alb502athena.window import Window
from tests.conftest import REPO
from tests.pruning_data import ACCOUNT, FOLDER, LOAD_BALANCERS, REGION, edge_logs
from tests.terraform_harness import templatefile
from tests.trino.conftest import TrinoTier

GENERATED = REPO / "terraform" / "generated"
EXAMPLES_ROOT = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1"
MANIFEST = json.loads((GENERATED / "manifest.json").read_text())
QUERY_FILES = {q["id"]: GENERATED / q["file"] for q in MANIFEST["queries"]}
LAG = MANIFEST["delivery_lag_minutes"]

# (query id, schema, start_minutes, end_minutes, load balancers) -> the text templatefile() made of it.
Fill = Callable[[str, str, int, int, tuple[str, ...]], str]


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Fill:
    """Every generated query filled by `terraform console` as athena.tf and schedules.tf fill it: one
    run per set of variables, for all the queries at once."""
    runs: dict[tuple[str, int, int, tuple[str, ...]], dict[str, str]] = {}

    def fill(query: str, schema: str, start: int, end: int, load_balancers: tuple[str, ...]) -> str:
        key = (schema, start, end, load_balancers)
        if key not in runs:
            variables = {
                "database": schema, "table": "alb_logs", "start_minutes": start, "end_minutes": end,
                "log_root": f"local:///{schema}/{FOLDER}", "account": ACCOUNT, "region": REGION,
                "load_balancers": list(load_balancers),
            }  # fmt: skip
            runs[key] = templatefile(QUERY_FILES, variables, tmp_path_factory.mktemp("templatefile"))
        return runs[key][query]

    return fill


@pytest.mark.parametrize("use", ["hourly schedule", "saved query"])
@pytest.mark.parametrize("query", sorted(QUERY_FILES))
def test_generated_query_parses_prunes_and_runs(trino: TrinoTier, filled: Fill, query: str, use: str) -> None:
    schema = trino.dataset("examples", REPO / "examples" / "logs", EXAMPLES_ROOT)
    start, end = (60 + LAG, LAG) if use == "hourly schedule" else (24 * 60, 0)
    sql = filled(query, schema, start, end, ())
    assert '"$path" >= concat(' in sql and "${" not in sql and "%{" not in sql
    _, plan = trino.execute("EXPLAIN " + sql, schema=schema)
    scanned = plan[0][0].split("day:string:PARTITION_KEY", 1)[1].splitlines()[1]
    # The table projects every day since 2026/11/01: today's folder (and yesterday's near midnight).
    assert 1 <= scanned.count("[20") <= 2, scanned
    columns, rows = trino.execute(sql, schema=schema)
    # The example logs (November 2026) are older than any window relative to now: nothing is counted.
    if "elb_502" in columns:
        assert all(row[columns.index("elb_502")] in (0, None) for row in rows), rows
    else:
        assert rows == []


def test_scheduled_count_is_one_number_on_an_empty_window(trino: TrinoTier, filled: Fill) -> None:
    """Defect 6 of issue 15: the diagnosis' total in an empty window is 0, not a missing row."""
    schema = trino.dataset("examples", REPO / "examples" / "logs", EXAMPLES_ROOT)
    body = filled("diagnosis", schema, 60 + LAG, LAG, ())
    # schedules.tf wraps the diagnosis this way (the maximal plan in test_terraform_live.py shows it).
    _, rows = trino.execute(
        f"SELECT coalesce(sum(elb_502), 0) AS elb_502 FROM (\n{body}) WHERE level = 'total'", schema=schema
    )
    assert rows == [(0,)]


# Issue 14: the module's queries read only the objects of their window, as the CLI's do.


@pytest.fixture(scope="module")
def recent(trino: TrinoTier, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Three hours of logs up to now (three load balancers, two nodes, the other log types beside)."""
    now = datetime.now(UTC)
    first = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0) - timedelta(hours=3)
    source = edge_logs(tmp_path_factory.mktemp("tf-recent"), start=first, hours=3)
    return trino.dataset("tfrecent", source, FOLDER), source


def rule_objects(source: Path, start: int, end: int, load_balancers: tuple[str, ...]) -> dict[str, int]:
    """The access-log objects of these load balancers (all, for none) that objectname.may_hold keeps for
    the window [now - start, now - end) of this moment, with their sizes.

    The module's windows count from the run's whole minute (sql/_macros/alb.sql since, with an end): so
    does the rule here. Taken at this moment's seconds, the rule would round the start up past the object
    ending at that minute, which the window's first entries may be in and the SQL rightly reads."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    out = {}
    for f in (source / FOLDER).rglob("*.log.gz"):
        name = parse(f.name)
        assert name is not None
        if (
            name.is_alb_access_log
            and (not load_balancers or name.load_balancer in load_balancers)
            and may_hold(name.end_time, now - timedelta(minutes=start), now - timedelta(minutes=end))
        ):
            out[f.name] = f.stat().st_size
    return out


def run_with_stats(trino: TrinoTier, schema: str, sql: str) -> tuple[list[tuple[Any, ...]], int, int]:
    cursor = trino.server.connect(schema=schema).cursor()
    cursor.execute(sql)
    rows = [tuple(r) for r in cursor.fetchall()]
    return rows, int(cursor.stats["totalSplits"]), int(cursor.stats["physicalInputBytes"])


def day_only(query: str, schema: str, start: int, end: int) -> str:
    """The same query as the CLI renders it for the same relative window with no `"$path"` ranges."""
    now = datetime.now(UTC)
    w = Window(now - timedelta(minutes=start), now - timedelta(minutes=end), relative=True,
               lag=timedelta(minutes=end))  # fmt: skip
    params = QueryParams(w, table=f"{schema}.alb_logs")
    return render_diagnosis(params) if query == "diagnosis" else render_signature(query, params)


USES = {"hourly schedule": (60 + LAG, LAG), "saved query of 2 h": (120, 0)}
CHOSEN = {"two load balancers": LOAD_BALANCERS[:2], "every load balancer": ()}


@pytest.mark.parametrize("chosen", sorted(CHOSEN))
@pytest.mark.parametrize("use", sorted(USES))
def test_module_query_reads_only_the_rules_objects(
    trino: TrinoTier, filled: Fill, recent: tuple[str, Path], use: str, chosen: str
) -> None:
    schema, source = recent
    (start, end), lbs = USES[use], CHOSEN[chosen]
    sql = filled("target-502", schema, start, end, lbs)
    # The plan holds the ranges as constants: current_timestamp was folded before the scan.
    _, plan = trino.execute("EXPLAIN " + sql, schema=schema)
    assert "current_timestamp" not in plan[0][0].lower() and f"local:///{schema}/{FOLDER}/" in plan[0][0]
    # Trino's physical input bytes are the sizes of the objects it opened (its splits also count other
    # stages'). The rule's objects move with the clock: measure again when an edge passed meanwhile.
    for _ in range(3):
        before = rule_objects(source, start, end, lbs)
        _, splits, read = run_with_stats(trino, schema, sql)
        if rule_objects(source, start, end, lbs) == before:
            break
    if lbs:  # the objects of the chosen load balancers that hold the window, and nothing else
        assert read == sum(before.values()), sorted(before)
    else:  # no time bounds without a load balancer: every access log of the days, no other log type
        every = {f.name: f.stat().st_size for f in (source / FOLDER).rglob("*.log.gz") if parse(f.name)}
        access = {n: s for n, s in every.items() if not n.startswith(("conn_log_", "health_check_log_"))}
        days = {f"{datetime.now(UTC) - timedelta(minutes=start):%Y/%m/%d}", f"{datetime.now(UTC):%Y/%m/%d}"}
        in_days = {
            f.name for f in (source / FOLDER).rglob("*.log.gz") if "/".join(f.parent.parts[-3:]) in days
        }
        wanted = {n: s for n, s in access.items() if n in in_days}
        assert read == sum(wanted.values())
    _, day_splits, day_read = run_with_stats(trino, schema, day_only("target-502", schema, start, end))
    assert read < day_read and splits < day_splits


@pytest.mark.parametrize("query", ["diagnosis", "target-502", "connect-failed", "response-failed"])
@pytest.mark.parametrize("use", sorted(USES))
def test_module_query_gives_the_day_only_results(
    trino: TrinoTier, filled: Fill, recent: tuple[str, Path], use: str, query: str
) -> None:
    """The filled text and the same query with `day` alone, in one statement: one current_timestamp, so
    one window for both."""
    schema, _ = recent
    start, end = USES[use]
    lbs = LOAD_BALANCERS[:2]
    pruned, whole = filled(query, schema, start, end, lbs), day_only(query, schema, start, end)
    columns, rows = trino.execute(
        f"SELECT 'pruned' AS q, * FROM (\n{pruned}) UNION ALL SELECT 'day', * FROM (\n{whole})", schema=schema
    )
    if query == "diagnosis":
        # `day` alone counts every load balancer and reads the other log types as unparsed lines:
        # compare the chosen load balancers' sources, every count of theirs.
        at = columns.index("load_balancer")
        kept = [r for r in rows if r[columns.index("level")] == "source"]
        both = {
            q: sorted((r[1:] for r in kept if r[0] == q and r[at] in lbs), key=repr)
            for q in ("pruned", "day")
        }
        # (The lines that are no 502 form a source of their own, without a load balancer.)
        assert {r[at] for r in kept if r[0] == "pruned"} - {None} == set(lbs)
    else:
        elb = columns.index("elb")
        both = {
            q: sorted((r[1:] for r in rows if r[0] == q and r[elb] in lbs), key=repr)
            for q in ("pruned", "day")
        }
        assert all(r[elb] in lbs for r in rows if r[0] == "pruned")
    assert both["pruned"] == both["day"] and both["pruned"]
