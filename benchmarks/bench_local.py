"""Benchmark: `alb502 diagnose` against the bare DuckDB CSV scan of the same files, in one run.

    python benchmarks/bench_local.py [--lines 1000000] [--repeat 3] [--copies 10] [--one-file]

Generates realistic gzip logs once (cached under benchmarks/data/), then times whole processes
(interpreter start and imports included), best of --repeat, alternating the two:
- bare: `import duckdb` and one read_csv (space-delimited, quote-aware, all VARCHAR) grouped on the two
  status columns: the physical floor of reading these files with DuckDB;
- alb502: `alb502 diagnose DIR --output json`, the product.
It checks that the diagnosis equals the canonical regex's answer (Python `re`, line by line), prints the
ratio, with --copies N measures peak memory on N times the data (10 x 1 M = 10 M lines), and with
--one-file reads the same data as one file (as a busy node's five-minute file), streamed in chunks.
"""

from __future__ import annotations

import argparse
import ast
import compileall
import gzip
import json
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
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


def timed(cmd: list[str]) -> tuple[float, int, str]:
    """Wall time, peak RSS of the child (KiB) and stdout of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before), done.stdout


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
    parser.add_argument("--repeat", type=int, default=3)
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
    bare_times, ours_times = [], []
    result: dict[str, Any] = {}
    bare_out = ""
    for _ in range(args.repeat):
        elapsed, _, bare_out = timed(bare_cmd)
        bare_times.append(elapsed)
        elapsed, _, out = timed(ours_cmd)
        ours_times.append(elapsed)
        result = json.loads(out)
    bare, ours = min(bare_times), min(ours_times)
    totals = result["totals"]
    assert isinstance(totals, dict)
    files = len(list(data.rglob("*.log.gz")))
    print(f"data: {totals['lines']:,} lines, {size / 2**20:.0f} MiB gzip, {files} files")
    print(f"bare DuckDB CSV scan : {bare:.2f} s (best of {args.repeat}, whole process)")
    print(f"alb502 diagnose      : {ours:.2f} s (best of {args.repeat}, whole process)")
    print(f"ratio                : {ours / bare:.2f}x")
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
    elapsed, _, out = timed(cmd)
    same = summary(json.loads(out)) == expected
    print(
        f"one file of {one.stat().st_size / 2**20:.0f} MiB gzip: alb502 diagnose {elapsed:.2f} s, "
        f"peak RSS {peak_rss(cmd) / 1024:.0f} MiB, results {'identical' if same else 'DIFFERENT'}"
    )
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
