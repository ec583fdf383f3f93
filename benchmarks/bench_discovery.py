"""Benchmark: finding the log files alone (logfiles.discover), at two file counts, to show it scales
linearly (one stat per entry, no quadratic list work).

    python benchmarks/bench_discovery.py [--small 10000] [--large 100000] [--repeat 3]

Writes empty files named as ALB names them, in the folders `aws s3 sync` leaves (288 files a day per
node, two nodes), cached under benchmarks/data/discovery-<n>/, then times discover() over each tree, best
of --repeat, in this process (no interpreter start, no reading: the files are empty and never opened).
Prints the seconds per tree, the microseconds per file and the ratio of the two times to the ratio of
the file counts: about 1 when discovery is linear. The first pass over a tree also warms the kernel's
inode cache, so the best of several repeats is compared.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from alb502athena.logfiles import discover  # noqa: E402
from alb502athena.window import Window  # noqa: E402

_PREFIX = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1"
_NAME = "123456789012_elasticloadbalancing_eu-west-1_app.shop.50dc6c495c0c9188_{end}_{ip}_{rnd}.log.gz"


def tree(n: int) -> Path:
    """A folder of n empty access-log files, 5 minutes apart, two nodes, made once."""
    root = ROOT / "data" / f"discovery-{n}"
    done = root / ".complete"
    if done.exists():
        return root
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(n):
        end = start + timedelta(minutes=5 * (i // 2))
        day = root / _PREFIX / end.strftime("%Y/%m/%d")
        if i % 576 == 0 or not day.exists():
            day.mkdir(parents=True, exist_ok=True)
        name = _NAME.format(end=end.strftime("%Y%m%dT%H%MZ"), ip=f"10.0.0.{i % 2 + 1}", rnd=f"r{i:08d}")
        (day / name).touch()
    done.touch()
    return root


def best(root: Path, repeat: int) -> tuple[float, int]:
    times = []
    found = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        d = discover([root], Window(None, None))
        times.append(time.perf_counter() - t0)
        found = len(d.files)
    return min(times), found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--large", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = []
    for n in (args.small, args.large):
        seconds, found = best(tree(n), args.repeat)
        if found != n:
            raise SystemExit(f"discover found {found} of {n} files")
        rows.append((n, seconds))
        print(f"{n:>9,} files: {seconds:7.3f} s, {1e6 * seconds / n:6.1f} us per file", flush=True)
    (n1, t1), (n2, t2) = rows
    per_unit = t2 / t1 / (n2 / n1)
    print(f"time ratio {t2 / t1:.2f} for {n2 / n1:.0f}x the files, {per_unit:.2f} per unit (1.00 = linear)")


if __name__ == "__main__":
    main()
