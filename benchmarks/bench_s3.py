"""Benchmark: `alb502 diagnose s3://...` against boto3's own transfer (s3transfer, what the AWS CLI uses)
into a folder then `alb502 diagnose` of that folder, on a bucket served by moto's S3 on loopback.

    python benchmarks/bench_s3.py [--rpm 3000] [--repeat 3]

The bucket holds two days (2026-11-20 and 21) of two load balancers' logs, two nodes each, a 5-minute
access-log object per node, with a connection-log and a health-check-log object beside each. The
diagnosed hour (2026-11-21 10:00-11:00) and the hours around it hold realistic logs (alb502athena.sample,
--rpm requests a minute per load balancer; generated once, cached under benchmarks/data/); the objects of
other hours hold a few lines (the listing names them all; no run reads them) so that moto's memory stays
small. Whole processes are timed (interpreter start and imports included), best of --repeat, the four
runs alternating:

- (a) `alb502 diagnose s3://BUCKET/prod --start --end --no-cache`: list, fetch and diagnose;
- (b) a process that lists the window's day folder, keeps the objects the window needs (by the same
  name rule, as `aws s3 cp --recursive --exclude/--include` patterns would) and downloads them with
  s3transfer's TransferManager (10 concurrent requests, each object's size and ETag from the listing,
  as the AWS CLI does: no HeadObject), then `alb502 diagnose FOLDER --start --end`;
- (c) `alb502 diagnose s3://... --cache DIR` once the cache holds the objects, against (c') the local
  diagnosis of the folder (b) downloaded.

Prints the times, the ratios (goals: (a) <= 0.8x (b); (c) <= 1.1x (c')), whether the four diagnoses
agree (verdict, window, totals, signatures), and the S3 requests of each run (LIST and GET, each billed),
counted by the server as they arrive.
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import json
import logging
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from alb502athena.objectname import access_log_prefix, end_time_text  # noqa: E402
from tests.aws import ACCOUNT, REGION, fill_bucket  # noqa: E402  moto's default account, as the tests use it
from tests.s3proxy import classify  # noqa: E402  the one reading of what S3 bills a request as

BUCKET, PREFIX = "alb-logs-bench", "prod"
FOLDER = f"{PREFIX}/AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}"
LOAD_BALANCERS = ("app/shop-prod/50dc6c495c0c9188", "app/api-prod/0f1e2d3c4b5a6978")
NODES = ("10.0.1.37", "10.0.2.114")  # the sample's node addresses
DAYS = (datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC))
START, END = "2026-11-21T10:00Z", "2026-11-21T11:00Z"
REAL_FROM, REAL_MINUTES = datetime(2026, 11, 21, 9, 0, tzinfo=UTC), 180  # the realistic hours

# The fixed cost of reading S3 at all, timed alone in a process of its own: boto3 imported, the session
# and the client made as `alb502 diagnose s3://` makes them (one S3 client of each kind).
BOTO3 = """
import time
started = time.perf_counter()
from alb502athena.aws import session
from alb502athena.s3source import s3_client
aws = session(None, None)
s3_client(aws, 16, reads=True)
s3_client(aws, 16)
print(time.perf_counter() - started)
"""

# (b)'s download: a listing of the window's day folder, then s3transfer, as `aws s3 cp --recursive` does.
DOWNLOAD = """
import os, sys
import boto3
from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.subscribers import BaseSubscriber
from alb502athena.objectname import may_hold, parse
from alb502athena.window import Window

bucket, folder, start, end, dest = sys.argv[1:6]
window = Window.from_options(None, start, end)

class Known(BaseSubscriber):  # size and ETag from the listing, as the AWS CLI gives them: no HeadObject
    def __init__(self, size, etag):
        self.size, self.etag = size, etag
    def on_queued(self, future, **kwargs):
        future.meta.provide_transfer_size(self.size)
        future.meta.provide_object_etag(self.etag)

s3 = boto3.client("s3")
wanted = []
for day in window.day_folders():
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{folder}/{day}/"):
        for item in page.get("Contents", []):
            name = parse(item["Key"].rsplit("/", 1)[-1])
            if name and name.is_alb_access_log and may_hold(name.end_time, window.start, window.end):
                wanted.append((item["Key"], item["Size"], item["ETag"]))
with TransferManager(s3, TransferConfig(max_request_concurrency=10)) as manager:
    for key, size, etag in wanted:
        target = os.path.join(dest, key)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        manager.download(bucket, key, target, subscribers=[Known(size, etag)])
print(len(wanted), sum(size for _, size, _ in wanted))
"""


class CountingApp:
    """moto's WSGI application, counting each request by the S3 operation it is billed as, and the time
    moto takes to answer them (moto builds each answer whole before sending it)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        op = classify(environ["REQUEST_METHOD"], environ.get("RAW_URI") or environ.get("PATH_INFO", "")).op
        started = time.perf_counter()
        answer = self._app(environ, start_response)
        with self._lock:
            self.counts[op] += 1
            self.seconds[op] += time.perf_counter() - started
        return answer

    def take(self) -> dict[str, float]:
        """The requests counted since the last take, by operation, and moto's seconds answering them."""
        with self._lock:
            taken: dict[str, float] = {op: self.counts[op] for op in ("list", "get", "head")}
            taken |= {f"{op}_s": self.seconds[op] for op in ("list", "get")}
            self.counts.clear()
            self.seconds.clear()
        return taken


def serve() -> tuple[str, CountingApp]:
    """moto's S3 on a free loopback port, in a thread of this process (idle while a run is timed)."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = CountingApp(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", app


def realistic(rpm: int) -> Path:
    """The realistic hours of both load balancers, as alb502athena.sample writes them, made once."""
    dest = ROOT / "data" / f"s3-{rpm}"
    if not (dest / "done").exists():
        from alb502athena.sample import write_sample

        shutil.rmtree(dest, ignore_errors=True)
        started = time.perf_counter()
        for seed, lb in enumerate(LOAD_BALANCERS, 7):
            write_sample(
                dest / lb.split("/")[1],
                seed=seed,
                start=REAL_FROM,
                minutes=REAL_MINUTES,
                requests_per_minute=rpm,
                load_balancer=lb,
                account=ACCOUNT,
                region=REGION,
            )
        (dest / "done").write_text("")
        print(f"generated {dest} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return dest


def bucket_objects(rpm: int) -> dict[str, bytes]:
    """Key -> body of every object of the bucket."""
    rng = random.Random(16)
    objects: dict[str, bytes] = {}
    real = realistic(rpm)
    filler: bytes = b""
    for path in sorted(real.rglob("*.log.gz")):
        day_folder = "/".join(path.parent.parts[-3:])
        objects[f"{FOLDER}/{day_folder}/{path.name}"] = data = path.read_bytes()
        if not filler:
            filler = gzip.compress(b"".join(gzip.decompress(data).splitlines(keepends=True)[:20]), mtime=0)
    real_ends = {name.split("_")[-3] for name in objects}
    end = DAYS[0] + timedelta(minutes=5)
    while end <= DAYS[-1] + timedelta(days=1):
        day = f"{end:%Y/%m/%d}"
        for lb in LOAD_BALANCERS:
            for node in NODES:
                head = f"{FOLDER}/{day}/"
                tail = (
                    f"{end_time_text(end)}_{node}_{''.join(rng.choices(string.ascii_lowercase, k=8))}.log.gz"
                )
                if end_time_text(end) not in real_ends:
                    objects[head + access_log_prefix(ACCOUNT, REGION, lb) + tail] = filler
                conn = [
                    f"2026-11-21T00:00:00.000000Z 203.0.113.{i} 5{i:04d} 443 - - - - - - - -"
                    for i in range(60)
                ]
                objects[head + "conn_log_" + access_log_prefix(ACCOUNT, REGION, lb) + tail] = gzip.compress(
                    "\n".join(conn).encode(), mtime=0
                )
                checks = [f"http 10.0.11.{i} 8080 200 0.001 {end:%Y-%m-%dT%H:%M:%S}Z" for i in range(30)]
                objects[head + "health_check_log_" + access_log_prefix(ACCOUNT, REGION, lb) + tail] = (
                    gzip.compress("\n".join(checks).encode(), mtime=0)
                )
        end += timedelta(minutes=5)
    return objects


def fill(url: str, objects: dict[str, bytes]) -> None:
    """The bucket, its objects put straight into moto's backend (one HTTP PUT each would take minutes)."""
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    fill_bucket(BUCKET, objects.items(), s3)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return elapsed, done.stdout


def summary(out: str) -> dict[str, Any]:
    """What the diagnoses must agree on: not `inputs` (S3 objects against files), nor the verdict's line
    on the objects set aside (the listing counts the connection and health-check logs beside the
    access logs; the folder (b) downloaded holds the access logs only)."""
    result = json.loads(out)
    same = {k: result[k] for k in ("verdict", "window", "totals", "signatures", "bad_files")}
    details = [d for d in same["verdict"].get("details", []) if not d.startswith("set aside ")]
    same["verdict"] = {**same["verdict"], "details": details}
    return same


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rpm", type=int, default=3000, help="requests a minute per load balancer")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import alb502athena

    # As bench_local: an editable checkout run with PYTHONDONTWRITEBYTECODE compiles every module anew.
    compileall.compile_dir(Path(alb502athena.__file__).parent, quiet=1)
    objects = bucket_objects(args.rpm)
    url, counter = serve()
    fill(url, objects)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }
    work = Path(tempfile.mkdtemp(prefix="alb502-bench-s3-"))
    folder, cache = work / "downloaded", work / "cache"
    window = ["--start", START, "--end", END, "--output", "json"]
    alb502 = [sys.executable, "-m", "alb502athena", "diagnose"]
    a_cmd = [*alb502, f"s3://{BUCKET}/{PREFIX}", *window, "--no-cache"]
    c_cmd = [*alb502, f"s3://{BUCKET}/{PREFIX}", *window, "--cache", str(cache)]
    download = [sys.executable, "-c", DOWNLOAD, BUCKET, FOLDER, START, END, str(folder)]
    local_cmd = [*alb502, str(folder), *window]
    try:
        timed(c_cmd, env)  # fills the cache (untimed)
        counter.take()
        times: dict[str, list[float]] = {"a": [], "download": [], "b": [], "c": [], "local": [], "boto3": []}
        outs: dict[str, str] = {}
        requests: dict[str, dict[str, float]] = {}
        fetched = ""
        for _ in range(args.repeat):
            elapsed, outs["a"] = timed(a_cmd, env)
            times["a"].append(elapsed)
            requests["a"] = counter.take()
            shutil.rmtree(folder, ignore_errors=True)
            got, fetched = timed(download, env)
            requests["b"] = counter.take()
            elapsed, outs["b"] = timed(local_cmd, env)
            times["download"].append(got)
            times["b"].append(got + elapsed)
            elapsed, outs["c"] = timed(c_cmd, env)
            times["c"].append(elapsed)
            requests["c"] = counter.take()
            elapsed, outs["local"] = timed(local_cmd, env)
            times["local"].append(elapsed)
            times["boto3"].append(float(timed([sys.executable, "-c", BOTO3], env)[1]))
        best = {k: min(v) for k, v in times.items()}
        n, size = (int(x) for x in fetched.split())
        a_json = json.loads(outs["a"])
        print(
            f"bucket: {len(objects):,} objects over 2 days; window {START} to {END}: {n} objects, "
            f"{size / 2**20:.1f} MiB gzip, {a_json['totals']['lines']:,} lines"
        )
        print(f"(a) alb502 diagnose s3:// --no-cache         : {best['a']:.2f} s (best of {args.repeat})")
        print(
            f"(b) s3transfer download + alb502 diagnose DIR : {best['b']:.2f} s "
            f"(download {best['download']:.2f} s, best of {args.repeat})"
        )
        print(f"(c) alb502 diagnose s3:// --cache (warm)      : {best['c']:.2f} s")
        print(f"(c') alb502 diagnose DIR (the same files)     : {best['local']:.2f} s")
        print(f"ratio (a)/(b): {best['a'] / best['b']:.2f}x (goal <= 0.8x)")
        print(f"ratio (c)/(c'): {best['c'] / best['local']:.2f}x (goal <= 1.1x)")
        gap, listing, boto3 = best["c"] - best["local"], requests["c"]["list_s"], best["boto3"]
        print(
            f"(c) - (c'): {gap:.2f} s; its parts (they overlap: the LISTs run 8 at once, beside the process's"
            f" own work): moto answering (c)'s LISTs {listing:.2f} s in all (last run), boto3 imported and "
            f"its clients made {boto3:.2f} s (timed alone)"
        )
        same = {k: summary(v) for k, v in outs.items()}
        identical = all(s == same["local"] for s in same.values())
        print(f"results: {'identical' if identical else 'DIFFERENT'} ((a), (b), (c), (c'))")
        for run, counted in requests.items():
            made = f"LIST {counted['list']:.0f}, GET {counted['get']:.0f}, HEAD {counted['head']:.0f}"
            spent = (
                f"moto answered the LISTs in {counted['list_s']:.2f} s, the GETs in {counted['get_s']:.2f} s"
            )
            print(f"S3 requests of ({run}): {made} ({spent}, last run)")
        reported = (a_json.get("inputs", {}).get("s3") or {}).get("requests")
        print(f"(a) says it made: {reported}")
        if not identical:
            for k, v in same.items():
                print(k, json.dumps(v)[:2000], file=sys.stderr)
            raise SystemExit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
