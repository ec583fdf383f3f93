"""Log folders laid out as ALB writes them, with objects at the edges of the `"$path"` ranges: shared by
the DuckDB tests (tests/test_pruning.py) and the Trino ones (tests/trino/test_pruning_trino.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alb502athena.objectname import access_log_prefix
from alb502athena.scope import ObjectScope
from alb502athena.window import Window, log_time
from tests.conftest import write_log
from tests.lines import make_line, signature_line

ACCOUNT, REGION = "123456789012", "eu-west-1"
FOLDER = f"AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}"
# `shop` is the start of `shop-prod`'s name: the prefixes end with `.<id>_`, so neither takes the other's.
LOAD_BALANCERS = ("app/shop/50dc6c495c0c9188", "app/shop-prod/0f1e2d3c4b5a6978", "app/a-b-1/aaaaaaaaaaaaaaaa")
WINDOWS = {
    # A file ends exactly at the start (09:20), late entries land in files up to 15 minutes after the end.
    "narrow": Window.from_options(None, "2026-11-20T09:20Z", "2026-11-20T09:35Z"),
    "midnight": Window.from_options(None, "2026-11-20T23:50Z", "2026-11-21T00:10Z"),
    "day": Window.from_options(None, "2026-11-20T00:00Z", "2026-11-21T00:00Z"),
}


def _name(kind: str, lb: str, end: datetime, node: str, tag: str) -> str:
    return f"{kind}{access_log_prefix(ACCOUNT, REGION, lb)}{end:%Y%m%dT%H%MZ}_{node}_{tag}.log.gz"


def edge_logs(root: Path, start: datetime | None = None, hours: int = 26) -> Path:
    """From `start` (2026-11-19T23:00Z), `hours` of 5-minute access-log files per load balancer and node,
    each holding 502s and 200s of its five minutes and one late entry of ten minutes before its span;
    beside each access-log object a connection-log and a health-check-log object (lines that do not
    parse: read, they would show as unparsed lines)."""
    first = start or datetime(2026, 11, 19, 23, 0, tzinfo=UTC)
    for k in range(hours * 12):
        end = first + timedelta(minutes=5 * (k + 1))
        folder = root / FOLDER / f"{end:%Y/%m/%d}"
        for i, lb in enumerate(LOAD_BALANCERS):
            for j, node in enumerate(("10.0.1.37", "10.0.2.114")):
                # No two lines at one time: the samples query takes the first few of each signature.
                at = [end - timedelta(seconds=s + 4 * i + j) for s in (1, 150, 280)]
                late = end - timedelta(minutes=14, seconds=50 - 4 * i - j)  # late, within LATE_MARGIN
                lines = [
                    make_line(elb=lb, time=log_time(at[0])),
                    signature_line(
                        "target-502", elb=lb, time=log_time(at[1]), target=f"10.1.{i}.{k % 250}:80"
                    ),
                    signature_line("connect-failed", elb=lb, time=log_time(at[2])),
                    signature_line("response-failed", elb=lb, time=log_time(late)),
                ]
                write_log(folder / _name("", lb, end, node, f"a{k}"), lines)
                for kind in ("conn_log_", "health_check_log_"):
                    write_log(folder / _name(kind, lb, end, node, f"o{k}"), [f"{kind} line {k}", "x y z"])
    return root


def scope_of(root: str, load_balancers: tuple[str, ...] = LOAD_BALANCERS) -> ObjectScope:
    return ObjectScope(
        root=root,
        prefixes=tuple(access_log_prefix(ACCOUNT, REGION, lb) for lb in load_balancers),
        account=ACCOUNT,
        region=REGION,
        found_by="the test",
    )
