"""Athena as the engine: one query per call, in the user's work group and database, watched to the end.

The query's life is driven here with boto3 (start, poll, stop, page through results) rather than through
a DB-API cursor, because the user must see its state and the data scanned while it runs, and a Ctrl-C must
stop it: a forgotten Athena query keeps costing money. SQL is sent as text, never with driver parameters.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from alb502athena.aws import client, session, translate
from alb502athena.engines.base import BATCH_ROWS, QueryResult, RowStream
from alb502athena.errors import AwsError, Interrupted, UsageError

TB = 1024**4
_DATABASE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
_WORKGROUP = re.compile(r"[A-Za-z0-9._-]{1,128}")
# s3://bucket[/prefix]: a bucket name, then any printable characters (an object key), no blank.
_OUTPUT_LOCATION = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[!-~]*)?")
_DONE = ("SUCCEEDED", "FAILED", "CANCELLED")


@dataclass(frozen=True, kw_only=True)
class AthenaSettings:
    database: str
    workgroup: str | None = None
    output_location: str | None = None
    profile: str | None = None
    region: str | None = None
    reuse_minutes: int | None = None
    timeout: float = 600.0
    price_per_tb: float = 5.0  # USD per TB scanned, Athena's list price in most regions
    poll_seconds: float = 1.0


@dataclass
class EngineStats:
    query_id: str
    state: str
    data_scanned_bytes: int
    engine_ms: int
    reused: bool
    price_per_tb: float

    @property
    def cost_usd(self) -> float:
        # Athena bills a minimum of 10 MB per query, rounded up to the next MB; a reused result is free.
        if self.reused:
            return 0.0
        billed = max(self.data_scanned_bytes, 10 * 1024**2)
        return billed / TB * self.price_per_tb

    def as_json(self) -> dict[str, Any]:
        return {
            "query_id": self.query_id,
            "state": self.state,
            "data_scanned_bytes": self.data_scanned_bytes,
            "engine_ms": self.engine_ms,
            "reused_previous_result": self.reused,
            "cost_usd": round(self.cost_usd, 6),
            "price_per_tb_usd": self.price_per_tb,
        }


def _value(cell: dict[str, str], athena_type: str) -> Any:
    if "VarCharValue" not in cell:
        return None
    text = cell["VarCharValue"]
    if athena_type in ("tinyint", "smallint", "integer", "bigint"):
        return int(text)
    if athena_type in ("double", "float", "real", "decimal"):
        return float(text)
    if athena_type == "boolean":
        return text == "true"
    return text


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


class AthenaEngine:
    name = "athena"

    def __init__(
        self,
        settings: AthenaSettings,
        progress: Callable[[str], None] | None = None,
        aws_session: Any = None,
    ) -> None:
        if not _DATABASE.fullmatch(settings.database):
            raise UsageError(
                f"invalid --database {settings.database!r}: letters, digits and underscores only"
            )
        if settings.workgroup is not None and not _WORKGROUP.fullmatch(settings.workgroup):
            raise UsageError(f"invalid --workgroup {settings.workgroup!r}: letters, digits, '.', '_' and '-'")
        if settings.output_location is not None and not _OUTPUT_LOCATION.fullmatch(settings.output_location):
            raise UsageError(
                f"invalid --output-location {settings.output_location!r}: an S3 folder, e.g. s3://my-bucket/athena/"
            )
        self.settings = settings
        self._progress = progress or (lambda _: None)
        self.aws_session = aws_session or session(settings.profile, settings.region)
        self._client = client(self.aws_session, "athena")
        self.last_stats: EngineStats | None = None
        self.notes: list[str] = []

    def _start(self, sql: str) -> str:
        s = self.settings
        request: dict[str, Any] = {
            "QueryString": sql,
            "QueryExecutionContext": {"Database": s.database},
        }
        if s.workgroup:
            request["WorkGroup"] = s.workgroup
        if s.output_location:
            request["ResultConfiguration"] = {"OutputLocation": s.output_location}
        if s.reuse_minutes:
            request["ResultReuseConfiguration"] = {
                "ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": s.reuse_minutes}
            }
        return str(self._client.start_query_execution(**request)["QueryExecutionId"])

    def _stop(self, query_id: str) -> None:
        # Best effort: the failure that led here is what the user must see.
        with contextlib.suppress(Exception):
            self._client.stop_query_execution(QueryExecutionId=query_id)

    def _wait(self, query_id: str) -> dict[str, Any]:
        started = time.monotonic()
        delay = min(0.2, self.settings.poll_seconds)
        while True:
            execution = self._client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            state = execution["Status"]["State"]
            scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0))
            elapsed = time.monotonic() - started
            self._progress(f"Athena {query_id}: {state}, {elapsed:.0f} s, {human_bytes(scanned)} scanned")
            if state in _DONE:
                return dict(execution)
            if elapsed > self.settings.timeout:
                self._stop(query_id)
                raise AwsError(
                    f"Athena query {query_id} did not finish in {self.settings.timeout:.0f} s "
                    "(--timeout); it was stopped"
                )
            time.sleep(delay)
            delay = min(delay * 2, self.settings.poll_seconds)

    def run(self, athena_sql: str) -> QueryResult:
        with self.stream(athena_sql) as result:
            rows = [row for batch in result.batches for row in batch]
        return QueryResult(result.columns, rows, stats=self.last_stats)

    @contextlib.contextmanager
    def stream(self, athena_sql: str, batch_rows: int = BATCH_ROWS) -> Iterator[RowStream]:
        """The query run to its end, then its result a page at a time (Athena's pages hold up to
        1,000 rows, whatever `batch_rows` asks)."""
        started: list[str] = []  # the query's id once it is started: Ctrl-C stops it from then on

        def query_id() -> str | None:
            return started[0] if started else None

        with self._failures(query_id):
            started.append(self._start(athena_sql))
            self._finish(started[0])
            pages = self._pages(started[0])
            columns = next(pages, [])
        yield RowStream(columns, self._batches(pages, query_id), stats=self.last_stats)

    def _batches(
        self, pages: Iterator[list[Any]], query_id: Callable[[], str | None]
    ) -> Iterator[list[tuple[Any, ...]]]:
        while True:
            with self._failures(query_id):
                page = next(pages, None)
            if page is None:
                return
            yield page

    @contextlib.contextmanager
    def _failures(self, query_id: Callable[[], str | None]) -> Iterator[None]:
        """Ctrl-C stops the query; AWS's errors become the user's (AwsError)."""
        try:
            yield
        except KeyboardInterrupt:
            qid = query_id()
            if qid is not None:
                self._stop(qid)
            raise Interrupted(
                f"interrupted; Athena query {qid} was stopped" if qid else "interrupted"
            ) from None
        except AwsError:
            raise
        except Exception as exc:
            translated = translate(exc, "running the Athena query")
            if translated is None:
                raise
            raise translated from None

    def _finish(self, query_id: str) -> None:
        """Wait for the query to succeed; its statistics in last_stats."""
        execution = self._wait(query_id)
        status = execution["Status"]
        stats = execution.get("Statistics", {})
        self.last_stats = EngineStats(
            query_id=query_id,
            state=status["State"],
            data_scanned_bytes=int(stats.get("DataScannedInBytes", 0)),
            engine_ms=int(stats.get("EngineExecutionTimeInMillis", 0)),
            reused=bool(stats.get("ResultReuseInformation", {}).get("ReusedPreviousResult", False)),
            price_per_tb=self.settings.price_per_tb,
        )
        if status["State"] != "SUCCEEDED":
            reason = status.get("StateChangeReason", "no reason given")
            hint = (
                " (create the table with `alb502 ddl`)"
                if "TABLE_NOT_FOUND" in reason or "SCHEMA_NOT_FOUND" in reason
                else ""
            )
            raise AwsError(f"Athena query {query_id} {status['State']}: {reason}{hint}")

    def _pages(self, query_id: str) -> Iterator[list[Any]]:
        """The column names, then the rows of each page of results, as they are fetched."""
        paginator = self._client.get_paginator("get_query_results")
        columns: list[str] = []
        types: list[str] = []
        first = True
        for page in paginator.paginate(QueryExecutionId=query_id):
            result = page["ResultSet"]
            if not columns:
                info = result["ResultSetMetadata"]["ColumnInfo"]
                columns = [c["Name"] for c in info]
                types = [c["Type"].lower() for c in info]
                yield columns
            rows: list[tuple[Any, ...]] = []
            for row in result["Rows"]:
                data = row["Data"]
                # The first row of a SELECT's results repeats the column names.
                if first and [d.get("VarCharValue") for d in data] == columns:
                    first = False
                    continue
                first = False
                rows.append(tuple(_value(c, t) for c, t in zip(data, types, strict=True)))
            if rows:
                yield rows
