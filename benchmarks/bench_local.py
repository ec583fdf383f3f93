"""Benchmark: `alb502 diagnose` against the bare DuckDB CSV scan of the same files, in one run.

    python benchmarks/bench_local.py [--lines 1000000] [--repeat 5] [--copies 10] [--one-file]

Generates realistic gzip logs once (cached under benchmarks/data/), runs each command once untimed (page
cache and alb502's own caches warm, as on any run after a user's first), then times --repeat pairs of
whole processes (interpreter start and imports included), the first of a pair alternating:
- bare: `import duckdb` and one read_csv (space-delimited, quote-aware, all VARCHAR) grouped on the two
  status columns: the physical floor of reading these files with DuckDB;
- alb502: `alb502 diagnose DIR --output json`, the product.
It prints each pair's wall and CPU time (user + system, all threads) and their ratios, the best of each
and the median of the per-pair ratios (robust on a machine others share: a pair's two runs see about
the same load), with the load average before and after. It checks that the diagnosis equals the
canonical regex's answer (Python `re`, line by line), with --copies N measures peak memory on N times
the data (10 x 1 M = 10 M lines), and with --one-file reads the same data as one file (as a busy
node's five-minute file), streamed in chunks.
"""

from __future__ import annotations

import argparse
import ast
import compileall
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent
BARE = """
import sys, duckdb
cols = ", ".join("'c%02d': 'VARCHAR'" % i for i in range(40))
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
print(con.execute(
    "SELECT c08, c09, count(*) FROM read_csv('" + sys.argv[1] + "/**/*.log.gz', delim=' ', quote='\\"', "
    "escape='\\\\', header=false, auto_detect=false, null_padding=true, ignore_errors=true, "
    "columns={" + cols + "}) GROUP BY ALL").fetchall())
"""


def dataset(lines: int) -> Path:
    dest = ROOT / "data" / f"alb-{lines}"
    if not (dest / "done").exists():
        from alb502athena.sample import write_sample

        shutil.rmtree(dest, ignore_errors=True)
        started = time.perf_counter()
        write_sample(dest, minutes=60, requests_per_minute=max(1, lines // 60), seed=7)
        (dest / "done").write_text("")
        print(f"generated {dest} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return dest


@dataclass(frozen=True)
class Timing:
    wall: float  # seconds, the whole process
    cpu: float  # user + system seconds of the process (all its threads)
    peak_kib: int  # peak RSS of the children so far (ru_maxrss is a maximum, not a sum)
    stdout: str


def timed(cmd: list[str]) -> Timing:
    """Wall time, CPU time (user + system), peak RSS of the child (KiB) and stdout of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(elapsed, cpu, max(after.ru_maxrss, before.ru_maxrss), done.stdout)


def pairs(bare_cmd: list[str], ours_cmd: list[str], n: int) -> list[tuple[Timing, Timing]]:
    """n pairs of runs, (bare, ours), the first of a pair alternating: on a machine shared with others,
    load that comes and goes hits both members of a pair about alike, whichever ran first."""
    out = []
    for i in range(n):
        if i % 2 == 0:
            bare = timed(bare_cmd)
            ours = timed(ours_cmd)
        else:
            ours = timed(ours_cmd)
            bare = timed(bare_cmd)
        out.append((bare, ours))
    return out


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def peak_rss(cmd: list[str]) -> int:
    # ru_maxrss of RUSAGE_CHILDREN is the max over all children so far: measure in a fresh process.
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True, check=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, check=True)
    return int(out.stdout)


def canonical_answer(path: Path) -> dict[str, object]:
    """The diagnosis computed with Python's `re` and the canonical regex, line by line (the referee)."""
    from alb502athena.logformat import parse_line

    sys.path.insert(0, str(ROOT.parent))
    from tests.referee import classify  # the rule restated by hand, shared with the tests

    lines = unparsed = 0
    signatures: Counter[str] = Counter()
    for f in sorted(path.rglob("*.log.gz")):
        with gzip.open(f, "rt", encoding="utf-8", errors="replace") as fh:
            for raw in fh:
                lines += 1
                row = parse_line(raw.rstrip("\n"))
                if row is None:
                    unparsed += 1
                elif row["elb_status_code"] == "502":
                    signatures[classify(row)] += 1
    return {"lines": lines, "unparsed_lines": unparsed, "signatures": dict(signatures)}


def summary(result: dict[str, Any]) -> dict[str, object]:
    """What a diagnosis must agree on, in canonical_answer's shape."""
    return {
        "lines": result["totals"]["lines"],
        "unparsed_lines": result["totals"]["unparsed_lines"],
        "signatures": {s["id"]: s["count"] for s in result["signatures"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="pairs of timed runs")
    parser.add_argument(
        "--copies", type=int, default=0, help="also measure peak memory on N copies of the data"
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the Python regex referee (slow)")
    parser.add_argument(
        "--one-file", action="store_true", help="also read the data as one file (streamed in chunks)"
    )
    args = parser.parse_args()

    data = dataset(args.lines)
    # pip compiles an installed wheel's bytecode; an editable checkout run with PYTHONDONTWRITEBYTECODE
    # (as on these machines) would compile every module of the package again in each timed process.
    import alb502athena

    compileall.compile_dir(Path(alb502athena.__file__).parent, quiet=1)
    size = sum(f.stat().st_size for f in data.rglob("*.log.gz"))
    bare_cmd = [sys.executable, "-c", BARE, str(data)]
    ours_cmd = [sys.executable, "-m", "alb502athena", "diagnose", str(data), "--output", "json"]
    files = len(list(data.rglob("*.log.gz")))
    print(f"load average before: {load_average()}")
    # One untimed run of each first, said here: the files in the page cache, and alb502's caches (the
    # compiled parser, queries, rendered templates) filled, as on any run after a user's first.
    warm_bare, warm_ours = timed(bare_cmd), timed(ours_cmd)
    print(f"first runs (untimed in what follows): bare {warm_bare.wall:.2f} s, alb502 {warm_ours.wall:.2f} s")
    runs = pairs(bare_cmd, ours_cmd, args.repeat)
    bare_out, result = runs[-1][0].stdout, json.loads(runs[-1][1].stdout)
    if any(summary(json.loads(o.stdout)) != summary(result) for _, o in runs):
        raise SystemExit("the diagnoses of the timed runs differ")
    totals = result["totals"]
    assert isinstance(totals, dict)
    print(f"data: {totals['lines']:,} lines, {size / 2**20:.0f} MiB gzip, {files} files")
    print("pair   bare wall   cpu   alb502 wall   cpu   ratio wall   cpu")
    for i, (b, o) in enumerate(runs, 1):
        print(
            f"{i:4}   {b.wall:7.2f} s {b.cpu:5.2f} s   {o.wall:7.2f} s {o.cpu:5.2f} s"
            f"   {o.wall / b.wall:8.2f}x {o.cpu / b.cpu:5.2f}x"
        )
    bare, ours = min(b.wall for b, _ in runs), min(o.wall for _, o in runs)
    wall_ratios = [o.wall / b.wall for b, o in runs]
    cpu_ratios = [o.cpu / b.cpu for b, o in runs]
    for label, side in (("bare DuckDB CSV scan", 0), ("alb502 diagnose     ", 1)):
        walls, cpus = [r[side].wall for r in runs], [r[side].cpu for r in runs]
        print(
            f"{label} : {min(walls):.2f} s best of {args.repeat}, median {median(walls):.2f} s; "
            f"CPU median {median(cpus):.2f} s (whole process)"
        )
    print(f"ratio                : {ours / bare:.2f}x (best of each)")
    print(
        f"ratio per pair       : median {median(wall_ratios):.2f}x (from {min(wall_ratios):.2f}x to "
        f"{max(wall_ratios):.2f}x); CPU time median {median(cpu_ratios):.2f}x"
    )
    print(f"load average after: {load_average()}")
    # The bare scan is quote-aware with ignore_errors: a stray quote (in a URL, say) opens a quoted
    # field that runs into the next lines, which it then drops without a word. Say how many it read.
    bare_lines = sum(n for _, _, n in ast.literal_eval(bare_out.strip()))
    print(f"bare scan read {bare_lines:,} of {totals['lines']:,} lines (alb502 reads and counts all)")

    if not args.no_verify:
        started = time.perf_counter()
        expected = canonical_answer(data)
        got = summary(result)
        verdict = "identical" if got == expected else f"DIFFERENT: {got} vs {expected}"
        print(f"canonical regex (Python re): {time.perf_counter() - started:.1f} s, results {verdict}")
        if got != expected:
            raise SystemExit(1)

    if args.one_file:
        one_file(data, summary(result))

    if args.copies:
        # Real copies: hard links of a file are one file, which discovery reads once.
        big = ROOT / "data" / f"alb-{args.lines}-x{args.copies}-copies"
        if not big.exists():
            for i in range(args.copies):
                shutil.copytree(data, big / f"copy{i}")
        cmd = [sys.executable, "-m", "alb502athena", "diagnose", str(big), "--output", "json"]
        started = time.perf_counter()
        peak = peak_rss(cmd)
        print(
            f"{args.copies} x the data: alb502 diagnose peak RSS {peak / 1024:.0f} MiB, "
            f"{time.perf_counter() - started:.1f} s"
        )


def one_file(data: Path, expected: dict[str, object]) -> None:
    """All the files as one (their gzip members concatenated), as a busy node's five-minute file
    would be: streamed in chunks rather than read whole. Same answer, bounded memory."""
    one = ROOT / "data" / f"{data.name}-one-file" / "2026" / "11" / "20" / "all.log.gz"
    if not one.exists():
        one.parent.mkdir(parents=True, exist_ok=True)
        one.write_bytes(b"".join(f.read_bytes() for f in sorted(data.rglob("*.log.gz"))))
    cmd = [sys.executable, "-m", "alb502athena", "diagnose", str(one.parent), "--output", "json"]
    run = timed(cmd)
    elapsed, same = run.wall, summary(json.loads(run.stdout)) == expected
    print(
        f"one file of {one.stat().st_size / 2**20:.0f} MiB gzip: alb502 diagnose {elapsed:.2f} s, "
        f"peak RSS {peak_rss(cmd) / 1024:.0f} MiB, results {'identical' if same else 'DIFFERENT'}"
    )
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
