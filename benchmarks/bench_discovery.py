"""Benchmark: finding the log files alone (logfiles.discover), at two file counts, to show it scales
linearly (one stat per entry, no quadratic list work).

    python benchmarks/bench_discovery.py [--small 10000] [--large 100000] [--repeat 3]

Writes empty files named as ALB names them, in the folders `aws s3 sync` leaves (288 files a day per
node, two nodes), cached under benchmarks/data/discovery-<n>/, then times discover() over each tree, best
of --repeat, in a fresh process per tree (its peak memory is discovery's; no interpreter start is
timed, no file is read: they are empty and never opened).
Prints the seconds per tree, the microseconds per file and the ratio of the two times to the ratio of
the file counts: about 1 when discovery is linear. The first pass over a tree also warms the kernel's
inode cache, so the best of several repeats is compared.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent

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


# Run in a fresh process per tree, so that its peak memory is discovery's own.
_PROBE = """
import resource, sys, time
from pathlib import Path
from alb502athena.logfiles import discover
from alb502athena.window import Window
times = []
for _ in range(int(sys.argv[2])):
    t0, c0 = time.perf_counter(), time.process_time()
    found = discover([Path(sys.argv[1])], Window(None, None))
    times.append((time.process_time() - c0, time.perf_counter() - t0))
cpu, wall = min(times)
print(cpu, wall, len(found.files), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def best(root: Path, repeat: int) -> tuple[float, float, int, int]:
    """CPU and wall seconds of the best of `repeat` discoveries, files found, and the probe's peak
    memory in KiB. CPU time is compared: on a shared machine the wall time is mostly the others'."""
    env = {**os.environ, "PYTHONPATH": str(ROOT.parent)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(root), str(repeat)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), int(out[2]), int(out[3])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--large", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = []
    for n in (args.small, args.large):
        seconds, wall, found, peak = best(tree(n), args.repeat)
        if found != n:
            raise SystemExit(f"discover found {found} of {n} files")
        rows.append((n, seconds))
        print(
            f"{n:>9,} files: {seconds:7.3f} s CPU ({wall:.3f} s wall), {1e6 * seconds / n:6.1f} us per file, "
            f"peak {peak / 1024:,.0f} MiB (the interpreter and imports included)",
            flush=True,
        )
    (n1, t1), (n2, t2) = rows
    per_unit = t2 / t1 / (n2 / n1)
    print(f"time ratio {t2 / t1:.2f} for {n2 / n1:.0f}x the files, {per_unit:.2f} per unit (1.00 = linear)")


if __name__ == "__main__":
    main()
