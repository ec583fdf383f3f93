"""Benchmark: the bytes a real Trino reads for a window, with `day` alone and with the `"$path"` ranges.

    python benchmarks/bench_trino_pruning.py [--rpm 40]

Two days of logs (2026-11-20 and 21) from two load balancers, each with 5-minute files from two
nodes (sample.write_sample), and beside every access-log object a connection-log and a health-check-log
object in the same folder, as ALB writes them. A Trino server (tests/trino/server.py, from the cache
scripts/fetch-trino fills) reads them through the table `alb502 ddl --engine trino` defines. For
windows of 10 minutes, 1 hour and 6 hours (across midnight), it runs the diagnosis with `day` alone and
with the pruning (the scope resolve_scope builds from the table's location, TrinoEngine.log_location,
and a lister that names the load balancers of the window's day folders, as the S3 listing will) and
prints Trino's physical input bytes for each, the bytes of the access-log objects that hold the window
(their five minutes meet it), of those the name rule selects (objectname.may_hold: those plus its
margins, the object ending at the window's start and late entries) and the ratios: pruned/rule is what
the ranges cost over the rule; pruned/win adds the margins' share, large for short windows. Results
must be identical, except the lines counted (and unparsed) that the other log types add to `day`
alone: those are printed too.
"""

from __future__ import annotations

import argparse
import gzip
import random
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from alb502athena.engines.trino import TrinoEngine, TrinoSettings  # noqa: E402
from alb502athena.objectname import FILE_SPAN, access_log_prefix, may_hold, parse  # noqa: E402
from alb502athena.render import QueryParams, render_diagnosis, render_trino_ddl  # noqa: E402
from alb502athena.sample import write_sample  # noqa: E402
from alb502athena.scope import ObjectScope, resolve_scope  # noqa: E402
from alb502athena.window import Window  # noqa: E402
from tests.trino.server import TrinoServer  # noqa: E402

ACCOUNT, REGION = "123456789012", "eu-west-1"
LOAD_BALANCERS = ("app/shop-prod/50dc6c495c0c9188", "app/api-v2-edge/0f1e2d3c4b5a6978")
START = datetime(2026, 11, 20, tzinfo=UTC)
WINDOWS = {
    "10 min": ("2026-11-20T10:00Z", "2026-11-20T10:10Z"),
    "1 h": ("2026-11-20T14:00Z", "2026-11-20T15:00Z"),
    "6 h, across midnight": ("2026-11-20T21:00Z", "2026-11-21T03:00Z"),
}
FOLDER = f"AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}"


def dataset(dest: Path, rpm: int) -> None:
    rng = random.Random(14)
    for i, lb in enumerate(LOAD_BALANCERS):
        written = write_sample(
            dest, seed=100 + i, start=START, minutes=2 * 24 * 60, requests_per_minute=rpm, load_balancer=lb
        )
        for path in written.files:
            # Other log types, named as ALB names them, about as many lines as the access log.
            lines = len(gzip.decompress(path.read_bytes()).splitlines())
            for kind in ("conn_log_", "health_check_log_"):
                text = "".join(
                    f"{kind} {rng.getrandbits(128):032x} 10.0.0.{rng.randint(1, 254)}\n" for _ in range(lines)
                )
                (path.parent / (kind + path.name)).write_bytes(gzip.compress(text.encode(), mtime=0))


def lister(data: Path) -> Any:
    """The load balancers whose access logs the window's day folders hold, by a listing of the folders
    (on disk here; on S3 the integrator plugs in the real listing)."""

    def listed(root: str, window: Window) -> ObjectScope | None:
        assert window.start is not None and window.end is not None
        prefixes = set()
        day = window.start
        while day.date() <= (window.end + timedelta(days=1)).date():
            folder = data / FOLDER / f"{day:%Y/%m/%d}"
            for f in folder.iterdir() if folder.is_dir() else []:
                name = parse(f.name)
                if name is not None and name.is_alb_access_log:
                    prefixes.add(access_log_prefix(name.account, name.region, name.load_balancer))
            day += timedelta(days=1)
        return ObjectScope(
            root=root, prefixes=tuple(sorted(prefixes)), account=ACCOUNT, region=REGION,
            found_by="a listing of the window's day folders",
        )  # fmt: skip

    return listed


def window_bytes(data: Path, window: Window) -> int:
    """The access-log objects whose five minutes meet the window: what it needs at the least."""
    assert window.start is not None and window.end is not None
    total = 0
    for f in (data / FOLDER).rglob("*.log*"):
        name = parse(f.name)
        if name and name.is_alb_access_log and window.start < name.end_time < window.end + FILE_SPAN:
            total += f.stat().st_size
    return total


def rule_bytes(data: Path, window: Window) -> int:
    """The access-log objects the name rule selects (objectname.may_hold: the window's objects plus the
    margins for the object ending at its start and for late entries): what the ranges express."""
    assert window.start is not None and window.end is not None
    total = 0
    for f in (data / FOLDER).rglob("*.log*"):
        name = parse(f.name)
        if name and name.is_alb_access_log and may_hold(name.end_time, window.start, window.end):
            total += f.stat().st_size
    return total


def run(server: TrinoServer, sql: str) -> tuple[list[tuple[Any, ...]], int, int]:
    cursor = server.connect(schema="bench").cursor()
    cursor.execute(sql)
    rows = [tuple(r) for r in cursor.fetchall()]
    stats = cursor.stats
    return rows, int(stats.get("physicalInputBytes", -1)), int(stats.get("totalSplits", -1))


def without_line_counts(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    # (level, signature, ..., lines, unparsed, parsed, 502s, first, last): the other log types add lines
    # that do not parse to `day` alone; everything parsed must be the same.
    return sorted((r[:6] + r[8:] for r in rows), key=repr)


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} TB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpm", type=int, default=40, help="requests per minute per load balancer")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="alb502-bench-trino-"))
    data = work / "data"
    logs = data / "bench"
    logs.mkdir(parents=True)
    dataset(logs, args.rpm)
    objects = list((logs / FOLDER).rglob("*.log*"))
    print(
        f"{len(objects)} objects, {human(sum(f.stat().st_size for f in objects))}: 2 days, 2 load balancers, "
        "2 nodes, access + connection + health-check logs",
        flush=True,
    )
    server = TrinoServer(work, data)
    server.start()
    failed = False
    try:
        run(server, "CREATE SCHEMA IF NOT EXISTS hive.bench WITH (location = 'local:///schemas/bench')")
        ddl = render_trino_ddl(
            location=f"local:///bench/{FOLDER}", table="hive.bench.alb_logs", projection_start="2026/11/01"
        )
        run(server, ddl)
        engine = TrinoEngine(TrinoSettings(url=server.url, catalog="hive", schema="bench", user="alb502"))
        root = engine.log_location("alb_logs")
        print(f"table location (SHOW CREATE TABLE): {root}")
        columns = ("day only", "pruned", "window objs", "rule objs", "day/win", "pruned/win", "pruned/rule")
        widths = (10, 10, 11, 10, 8, 10, 11)
        print(f"{'window':<22} " + " ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
        for label, (start, end) in WINDOWS.items():
            window = Window.from_options(None, start, end)
            scope = resolve_scope(root, window, None, lister=lister(logs), say=lambda _: None)
            assert scope is not None and len(scope.prefixes) == 2, scope
            day_rows, day_bytes, day_splits = run(
                server, render_diagnosis(QueryParams(window, table="alb_logs"))
            )
            cut_rows, cut_bytes, cut_splits = run(
                server, render_diagnosis(QueryParams(window, table="alb_logs", scope=scope))
            )
            need, rule = window_bytes(logs, window), rule_bytes(logs, window)
            print(
                f"{label:<22} {human(day_bytes):>10} {human(cut_bytes):>10} {human(need):>11} "
                f"{human(rule):>10} "
                f"{day_bytes / need:>7.1f}x {cut_bytes / need:>9.2f}x {cut_bytes / rule:>10.2f}x   "
                f"splits {day_splits} -> {cut_splits}"
            )
            same = without_line_counts(day_rows) == without_line_counts(cut_rows)
            day_total = next(r for r in day_rows if r[0] == "total")
            cut_total = next(r for r in cut_rows if r[0] == "total")
            print(
                f"{'':<22} results identical: {same}; lines read {day_total[6]:,} -> {cut_total[6]:,}, "
                f"unparsed {day_total[7]:,} -> {cut_total[7]:,} (the other log types), parsed "
                f"{day_total[8]:,} / {cut_total[8]:,}, 502s {day_total[9]:,} / {cut_total[9]:,}"
            )
            failed |= not same
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
