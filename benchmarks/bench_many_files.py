"""Benchmark: `alb502 diagnose` over many small gzip files, as a quiet load balancer writes them.

    python benchmarks/bench_many_files.py [--counts 10000 30000 50000] [--lines 10]

A low-traffic load balancer writes 288 small files a day per node: a month synced to disk is tens of
thousands of files. For each count it generates that many files of --lines lines (cached under
benchmarks/data/), runs one whole `alb502 diagnose DIR --output json` process and prints its wall
time, the time per file and its peak memory (measured in a fresh probe process). Time per file that
stays flat as the count grows is linear scaling; peak memory that stays flat is read-ahead bounded
by design (issue 13: 20,000 files of ten lines once took 10.4 GiB, and a million did not finish).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PROBE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=True)
print(json.dumps({"seconds": time.perf_counter() - started,
                  "peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "totals": json.loads(done.stdout)["totals"]}))
"""


def dataset(count: int, lines: int) -> Path:
    dest = ROOT / "data" / f"many-{count}x{lines}"
    if (dest / "done").exists():
        return dest
    from alb502athena.sample import write_sample

    shutil.rmtree(dest, ignore_errors=True)
    started = time.perf_counter()
    source = ROOT / "data" / "many-source"
    if not (source / "done").exists():
        write_sample(source, minutes=5, requests_per_minute=2000, seed=13)
        (source / "done").write_text("")
    text = b"".join(gzip.decompress(f.read_bytes()) for f in sorted(source.rglob("*.log.gz")))
    pool = text.splitlines(keepends=True)
    prefix = "123456789012_elasticloadbalancing_eu-west-1_app.shop-prod.50dc6c495c0c9188"
    for i in range(count):
        folder = dest / f"{i // 1000:04d}"
        if i % 1000 == 0:
            folder.mkdir(parents=True)
        at = i * lines % (len(pool) - lines)
        name = f"{prefix}_20261120T{i // 12 % 24:02d}{i % 12 * 5:02d}Z_10.0.1.{i % 250}_{i:07d}.log.gz"
        (folder / name).write_bytes(gzip.compress(b"".join(pool[at : at + lines]), 6))
    (dest / "done").write_text("")
    print(f"generated {count:,} files in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000, 30_000, 50_000])
    parser.add_argument("--lines", type=int, default=10, help="lines per file")
    args = parser.parse_args()
    print(f"{'files':>9} {'lines':>10} {'seconds':>8} {'ms/file':>8} {'peak MiB':>9}")
    for count in args.counts:
        folder = dataset(count, args.lines)
        cmd = [sys.executable, "-m", "alb502athena", "diagnose", str(folder), "--output", "json"]
        out = subprocess.run([sys.executable, "-c", PROBE, *cmd], capture_output=True, text=True, check=True)
        run = json.loads(out.stdout)
        print(
            f"{count:>9,} {run['totals']['lines']:>10,} {run['seconds']:>8.1f} "
            f"{1000 * run['seconds'] / count:>8.2f} {run['peak_kib'] / 1024:>9.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
