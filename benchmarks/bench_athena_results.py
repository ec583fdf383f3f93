"""Benchmark: reading a large Athena result (`alb502 run --limit 0` on a busy window), from the result
file on S3 (the Athena engine's path: pyathena's S3FSCursor) against paging through GetQueryResults
1,000 rows a call (the hand-written engine's path, and pyathena's default Cursor).

    python benchmarks/bench_athena_results.py [--rows 100000] [--repeat 3]

Both run against moto's server on loopback (the AWS endpoint of the tests), in this process:
- moto does not run SQL: the benchmark queues the result rows through moto's API, and moto writes them
  as the query's result file to the output location in S3 (as Athena does; moto writes every value
  quoted and NULL as an empty field, as Athena does, but does not double quotes inside values, so the
  rows here hold none).
- moto answers GetQueryResults with every row in one answer whatever MaxResults asks; Athena answers
  at most 1,000 rows a call. The benchmark makes moto's server page as Athena does (MaxResults and
  NextToken, a patch of moto in this process only), so both paths make the calls they make on Athena.
- On loopback a call costs about a millisecond; on Athena each GetQueryResults call is a round trip
  to the service (tens to hundreds of milliseconds), so the ratio printed is a lower bound of the gain.

Rows look like `alb502 run` output: 25 columns of log fields, text and numbers. Each run is timed from
the poll that finds the query SUCCEEDED to the last row (moto writes the result file while it starts
the query, as Athena does while running it: not part of reading). Prints rows/s for each path (best
of --repeat) and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.aws import REGION, queue_athena_results  # moto's canned results, as the tests make them

BUCKET = "athena-results"
COLUMNS = [
    ("type", "varchar"),
    ("time", "varchar"),
    ("elb", "varchar"),
    ("client_ip", "varchar"),
    ("client_port", "integer"),
    ("target_ip", "varchar"),
    ("target_port", "integer"),
    ("request_processing_time", "double"),
    ("target_processing_time", "double"),
    ("response_processing_time", "double"),
    ("elb_status_code", "integer"),
    ("target_status_code", "varchar"),
    ("received_bytes", "bigint"),
    ("sent_bytes", "bigint"),
    ("request_verb", "varchar"),
    ("request_url", "varchar"),
    ("request_proto", "varchar"),
    ("user_agent", "varchar"),
    ("ssl_cipher", "varchar"),
    ("ssl_protocol", "varchar"),
    ("target_group_arn", "varchar"),
    ("trace_id", "varchar"),
    ("domain_name", "varchar"),
    ("error_reason", "varchar"),
    ("classification", "varchar"),
]


def row(i: int) -> list[Any]:
    return [
        "https",
        f"2026-11-20T09:{i // 6000 % 60:02d}:{i // 100 % 60:02d}.{i % 1000000:06d}Z",
        "app/shop/50dc6c495c0c9188",
        f"203.0.113.{i % 250}",
        40000 + i % 20000,
        f"10.0.0.{i % 9}",
        8080,
        0.001,
        -1 if i % 7 == 0 else 0.012,
        -1 if i % 7 == 0 else 0.0,
        502,
        None if i % 7 == 0 else "502",
        120 + i % 900,
        272,
        "GET",
        f"https://shop.example.com:443/api/orders/{i}?page={i % 17}",
        "HTTP/1.1",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLSv1.2",
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067",
        f"Root=1-6561a2b4-{i:024x}",
        "shop.example.com",
        "-" if i % 7 else "TargetConnectionError",
        "",
    ]


def page_like_athena() -> None:
    """moto's GetQueryResults honours MaxResults and NextToken, as Athena's does (see the docstring)."""
    from moto.athena.responses import AthenaResponse

    def get_query_results(self: Any) -> str:
        exec_id = self._get_param("QueryExecutionId")
        size = int(self._get_param("MaxResults") or 1000)
        start = int(self._get_param("NextToken") or 0)
        result = self.athena_backend.get_query_results(exec_id).to_dict()
        rows = result["ResultSet"]["Rows"]
        result["ResultSet"]["Rows"] = rows[start : start + size]
        if start + size < len(rows):
            result["NextToken"] = str(start + size)
        return json.dumps(result)

    AthenaResponse.get_query_results = get_query_results  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import logging

    import boto3
    import requests
    from moto.server import ThreadedMotoServer

    from alb502athena.engines.athena import AthenaEngine, AthenaSettings

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs each request
    page_like_athena()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    os.environ.update(
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
    )
    boto3.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})

    data = [row(i) for i in range(args.rows)]

    def timed(output_location: str | None) -> tuple[float, str]:
        """Seconds to stream every row of one query's result, and how many GetQueryResults calls."""
        requests.post(f"{url}/moto-api/reset", timeout=10)
        boto3.client("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        queue_athena_results(url, COLUMNS, data, timeout=60)
        calls = {"n": 0}
        session = boto3.Session(region_name=REGION)

        def count(**_: Any) -> None:
            calls["n"] += 1

        session.events.register("before-call.athena.GetQueryResults", count)
        settings = AthenaSettings(database="alb", output_location=output_location, poll_seconds=0.01)
        succeeded: list[float] = []

        def progress(message: str) -> None:
            if "SUCCEEDED" in message:
                succeeded.append(time.perf_counter())

        engine = AthenaEngine(settings, progress=progress, aws_session=session)
        n = 0
        with engine.stream("SELECT * FROM alb_logs") as result:
            for batch in result.batches:
                n += len(batch)
        seconds = time.perf_counter() - succeeded[0]
        assert n == args.rows, (n, args.rows)
        return seconds, f"{calls['n']} GetQueryResults calls"

    # Without an output location moto writes no result file: the rows come through GetQueryResults,
    # as from a work group with managed query results, and as the hand-written engine read them always.
    paths = {
        "GetQueryResults, 1,000 rows a call": None,
        "result file on S3 (S3FSCursor)": f"s3://{BUCKET}/alb502/",
    }
    best: dict[str, float] = {}
    for name, location in paths.items():
        runs = [timed(location) for _ in range(args.repeat)]
        best[name] = min(s for s, _ in runs)
        print(f"{name:40s} {args.rows / best[name]:>10,.0f} rows/s  ({runs[0][1]}, best of {args.repeat})")
    server.stop()
    slow, fast = (best[n] for n in paths)
    print(f"ratio (result file / GetQueryResults): {slow / fast:.1f}x the rows per second")


if __name__ == "__main__":
    main()
