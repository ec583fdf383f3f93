"""Athena as the engine, through pyathena (a PEP 249 driver): one query per call, in the user's work
group and database, watched to the end.

pyathena starts the query, polls it and converts its rows; this module adds what the user must see
and what a forgotten Athena query would cost: the query's state and the data scanned while it runs
(pyathena's on_poll), its id from the moment it starts (on_start_query_execution), a stop on Ctrl-C
(pyathena's kill_on_interrupt: StopQueryExecution, also when Ctrl-C comes while the start request is
on its way) and on --timeout (cursor.cancel()), and Athena's own reason in every failure.

Rows are read from the result file Athena writes to the output location (pyathena's S3FSCursor,
which streams the CSV from S3 a block at a time, split by athena_csv.py) rather than paged through
GetQueryResults 1,000 rows a call: benchmarks/bench_athena_results.py measures the two.

SQL is sent as text, never with driver parameters: the formatter below returns the query as it is,
so a `%` in it is never a format directive.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alb502athena.aws import client, client_config, guard, session, translate
from alb502athena.engines.athena_csv import AthenaCsvReader
from alb502athena.engines.base import BATCH_ROWS, QueryResult, RowStream, whole_result
from alb502athena.errors import AwsError, Interrupted, UsageError

if TYPE_CHECKING:
    from pyathena.connection import Connection

_DATABASE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
_WORKGROUP = re.compile(r"[A-Za-z0-9._-]{1,128}")
# s3://bucket[/prefix]: a bucket name, then any printable characters (an object key), no blank.
_OUTPUT_LOCATION = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[!-~]*)?")
_DONE = ("SUCCEEDED", "FAILED", "CANCELLED")
# The work group Athena runs a query in when the request names none. pyathena needs a work group or
# an output location, so it is named when the user gives neither: the request means the same.
_DEFAULT_WORKGROUP = "primary"
_DAY = "${day}"
_MANAGED = (
    "Athena gave no result file (managed query results): the rows came through GetQueryResults, 1,000 a call"
)


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
    table: str = "alb_logs"  # [database.]table the queries read; its location comes from Glue


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
        # A reused result is free; otherwise Athena's rule, written once (cost.billed_usd).
        from alb502athena.cost import billed_usd

        return 0.0 if self.reused else billed_usd(self.data_scanned_bytes, self.price_per_tb)

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


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


class _TimedOut(Exception):
    """Raised from the poll callback once --timeout has passed: it ends pyathena's wait."""


def _verbatim_formatter() -> Any:
    """A pyathena formatter that sends the query as it is: no `%` substitution, no stripping (the text
    Athena runs is the text `alb502 sql` prints), and no parameters accepted."""
    from pyathena.error import ProgrammingError
    from pyathena.formatter import Formatter

    class Verbatim(Formatter):
        def __init__(self) -> None:
            super().__init__(mappings={})

        def format(self, operation: str, parameters: dict[str, Any] | None = None) -> str:
            if parameters is not None:
                raise ProgrammingError("alb502 sends SQL as text, without parameters")
            return operation

    return Verbatim()


def connect(settings: AthenaSettings, aws_session: Any) -> Connection[Any]:
    """A pyathena connection for these settings, its clients configured as every other AWS client of
    alb502 (timeouts, retries, reachability, answers cut short refused; aws.py)."""
    from pyathena.common import CursorIterator
    from pyathena.connection import Connection
    from pyathena.s3fs.cursor import S3FSCursor
    from pyathena.util import RetryConfig

    # pyathena logs each failure with its traceback before raising it; alb502 says each in one line
    # (the CLI's rule), so without a handler of the user's its records go nowhere, not to stderr.
    log = logging.getLogger("pyathena")
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    s = settings
    connection: Connection[Any] = Connection(
        session=aws_session,
        region_name=aws_session.region_name,
        schema_name=s.database,
        catalog_name=None,  # Athena's default catalog, as the table name says nothing else
        # Neither is ever None: pyathena would then read AWS_ATHENA_WORK_GROUP or
        # AWS_ATHENA_S3_STAGING_DIR, settings the user never gave alb502 ("" means none).
        work_group=s.workgroup or _DEFAULT_WORKGROUP,
        s3_staging_dir=s.output_location or "",
        poll_interval=s.poll_seconds,
        result_reuse_enable=bool(s.reuse_minutes),
        result_reuse_minutes=s.reuse_minutes or CursorIterator.DEFAULT_RESULT_REUSE_MINUTES,
        formatter=_verbatim_formatter(),
        # botocore's standard retries (aws.client_config) already back off on throttling; a second
        # layer of pyathena's would multiply the attempts and the wait.
        retry_config=RetryConfig(attempt=1),
        config=client_config(aws_session),
        cursor_class=S3FSCursor,
        kill_on_interrupt=True,
    )
    guard(connection.client)
    guard(connection.s3_client)
    return connection


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
        self._connection = connect(settings, self.aws_session)
        self._client = self._connection.client  # the Athena client pyathena calls
        self._glue: Any = None
        self.last_stats: EngineStats | None = None
        self.notes: list[str] = []

    def run(self, athena_sql: str) -> QueryResult:
        return whole_result(self, athena_sql)

    @contextlib.contextmanager
    def stream(self, athena_sql: str, batch_rows: int = BATCH_ROWS) -> Iterator[RowStream]:
        """The query run to its end, then its result `batch_rows` at a time, read from the result file
        as the batches are asked for."""
        watch = _Watch(self.settings, self._progress)
        cursor = self._connection.cursor(arraysize=batch_rows, on_poll=watch.poll, csv_reader=AthenaCsvReader)
        try:
            with self._failures(cursor, watch):
                try:
                    cursor.execute(athena_sql)
                finally:
                    self.last_stats = watch.stats()
                columns = [d[0] for d in cursor.description or []]
                if not cursor.output_location and _MANAGED not in self.notes:
                    self.notes.append(_MANAGED)
            yield RowStream(columns, self._batches(cursor, watch), stats=self.last_stats)
        finally:
            with contextlib.suppress(Exception):
                cursor.close()

    def _batches(self, cursor: Any, watch: _Watch) -> Iterator[list[tuple[Any, ...]]]:
        while True:
            with self._failures(cursor, watch):
                batch = [tuple(r) for r in cursor.fetchmany()]
            if not batch:
                return
            yield batch

    @contextlib.contextmanager
    def _failures(self, cursor: Any, watch: _Watch) -> Iterator[None]:
        """Ctrl-C and --timeout stop the query; Athena's and AWS's errors become the user's (AwsError)."""
        from pyathena.error import Error as PyAthenaError

        try:
            yield
        except KeyboardInterrupt as exc:
            # pyathena has stopped the query already (kill_on_interrupt), or failed to: the cause.
            qid = cursor.query_id
            if qid is None:
                raise Interrupted("interrupted") from None
            if watch.finished():
                raise Interrupted(f"interrupted while {watch.doing()}") from None
            if exc.__cause__ is not None:
                raise Interrupted(
                    f"interrupted; Athena query {qid} may still be running: stopping it failed "
                    f"({_reason(exc.__cause__, 'stopping the Athena query')})"
                ) from None
            raise Interrupted(f"interrupted; Athena query {qid} was stopped") from None
        except _TimedOut:
            late = (
                f"Athena query {cursor.query_id} did not finish in {self.settings.timeout:.0f} s (--timeout)"
            )
            try:
                cursor.cancel()
            except Exception as stop_failure:
                why = _reason(stop_failure, "stopping the Athena query")
                raise AwsError(f"{late}; stopping it failed ({why})") from None
            raise AwsError(f"{late}; it was stopped") from None
        except AwsError:
            raise
        except PyAthenaError as exc:
            failed = watch.failure()
            if failed is not None:
                raise failed from None
            raise AwsError(_reason(exc, watch.doing())) from None
        except Exception as exc:
            translated = translate(exc, watch.doing())
            if translated is None:
                raise
            raise translated from None

    def glue(self) -> Any:
        """The Glue client of the engine's session, made on first use."""
        if self._glue is None:
            self._glue = client(self.aws_session, "glue")
        return self._glue

    def log_location(self, table: str | None = None) -> str | None:
        """The folder that holds the yyyy/mm/dd folders of `table` (default: the settings' table), no
        trailing slash, from Glue: the partition projection's location template before `${day}`, else
        the table's location; None when the table has neither."""
        parts = (table or self.settings.table).split(".")
        database, table = (parts[-2], parts[-1]) if len(parts) > 1 else (self.settings.database, parts[0])
        try:
            found = self.glue().get_table(DatabaseName=database, Name=table)["Table"]
        except Exception as exc:
            translated = translate(exc, f"reading the Glue table {database}.{table}")
            if translated is None:
                raise
            raise translated from None
        return table_location(found)


def table_location(table: dict[str, Any]) -> str | None:
    """The folder of a Glue table's yyyy/mm/dd folders: see AthenaEngine.log_location."""
    template = str((table.get("Parameters") or {}).get("storage.location.template", ""))
    if _DAY in template:
        folder = template[: template.index(_DAY)]
    else:
        folder = str((table.get("StorageDescriptor") or {}).get("Location", ""))
    folder = folder.rstrip("/")
    return folder or None


def _reason(exc: BaseException, doing: str) -> str:
    """What went wrong, from the AWS error pyathena wrapped (its cause), else pyathena's own words."""
    seen: BaseException | None = exc
    while seen is not None:
        translated = translate(seen, doing)
        if translated is not None:
            return str(translated)
        seen = seen.__cause__ or seen.__context__
    return f"error while {doing}: {exc}"


class _Watch:
    """One query as pyathena polls it: the progress line, --timeout, and its last known state."""

    def __init__(self, settings: AthenaSettings, progress: Callable[[str], None]) -> None:
        self._settings = settings
        self._progress = progress
        self._started = time.monotonic()
        self._timed_out = False
        self.last: Any = None  # pyathena's AthenaQueryExecution, as last polled

    def poll(self, execution: Any) -> None:
        self.last = execution
        elapsed = time.monotonic() - self._started
        scanned = int(execution.data_scanned_in_bytes or 0)
        self._progress(
            f"Athena {execution.query_id}: {execution.state}, {elapsed:.0f} s, {human_bytes(scanned)} scanned"
        )
        if execution.state not in _DONE and elapsed > self._settings.timeout and not self._timed_out:
            self._timed_out = True  # once: pyathena polls on while the query is stopped
            raise _TimedOut

    def finished(self) -> bool:
        return self.last is not None and self.last.state == "SUCCEEDED"

    def doing(self) -> str:
        """What the engine was doing, for an error message."""
        if not self.finished():
            return "running the Athena query"
        where = f" at {self.last.output_location}" if self.last.output_location else ""
        return f"reading the result of Athena query {self.last.query_id}{where}"

    def stats(self) -> EngineStats | None:
        e = self.last
        if e is None or e.state not in _DONE:
            return None
        return EngineStats(
            query_id=str(e.query_id),
            state=str(e.state),
            data_scanned_bytes=int(e.data_scanned_in_bytes or 0),
            engine_ms=int(e.engine_execution_time_in_millis or 0),
            reused=bool(e.reused_previous_result),
            price_per_tb=self._settings.price_per_tb,
        )

    def failure(self) -> AwsError | None:
        """Athena's own account of a query that ended without success, else None."""
        e = self.last
        if e is None or e.state not in ("FAILED", "CANCELLED"):
            return None
        reason = e.state_change_reason or "no reason given"
        hint = (
            " (create the table with `alb502 ddl`)"
            if "TABLE_NOT_FOUND" in reason or "SCHEMA_NOT_FOUND" in reason
            else ""
        )
        return AwsError(f"Athena query {e.query_id} {e.state}: {reason}{hint}")
