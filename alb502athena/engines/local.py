"""The embedded engine: DuckDB over local log files, running the catalogue's SQL text."""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from alb502athena.engines.base import BATCH_ROWS, QueryResult, RowStream
from alb502athena.engines.compiled import compile_cached
from alb502athena.engines.inline import inline_table
from alb502athena.engines.local_view import PIECES_VIEW, TABLE_VIEW, LocalView, local_view, typed
from alb502athena.errors import InputError, Interrupted, QueryError, UsageError
from alb502athena.interrupts import held, stoppable
from alb502athena.logfiles import LogFile
from alb502athena.transpile import to_duckdb
from alb502athena.window import Window

if TYPE_CHECKING:
    from alb502athena.engines.athena import EngineStats
    from alb502athena.engines.native.scan import NativeScan
    from alb502athena.engines.native.source import ObjectSource
    from alb502athena.engines.samples_tap import SamplesTap


def _group_by_day(files: Sequence[LogFile], window: Window) -> list[tuple[str | None, list[str]]]:
    # A file with no date in its folders or name gets the window's first day, so the partition
    # predicate keeps it and the exact time filter decides for each line.
    days = window.day_range()
    fallback = days[0] if days else None
    groups: dict[str | None, list[str]] = defaultdict(list)
    for f in files:
        groups[f.day or fallback].append(f.location)
    return sorted(groups.items(), key=lambda kv: kv[0] or "")


def _fetch_all(cursor: Any) -> Any:
    return cursor.fetchall()


def _keep_cursor(cursor: Any) -> Any:
    # The rows stay in DuckDB, to be fetched a batch at a time by the caller.
    return cursor


def _failed_file(message: str, files: Sequence[str]) -> str | None:
    for path in files:
        if path in message:
            return path
    return None


def _compiler(view: LocalView) -> tuple[str, Callable[[str], str]]:
    """What the compiled text depends on besides the query (the column expressions), and the compiler."""

    def compile_(text: str) -> str:
        return inline_table(to_duckdb(text), TABLE_VIEW, view.columns, PIECES_VIEW, view.is_null)

    depends = [f"{k}={v}" for k, v in view.columns.items()] + [
        f"{k} is null={v}" for k, v in view.is_null.items()
    ]
    return "\n".join(depends), compile_


class LocalEngine:
    """Runs Athena SQL on DuckDB over a fixed set of files exposed as the view `alb_logs`."""

    name = "local"
    poll_seconds = 0.2

    def __init__(
        self,
        files: Sequence[LogFile],
        window: Window,
        threads: int | None = None,
        progress: Callable[[str], None] | None = None,
        parser: str | None = None,
        source: ObjectSource | None = None,
    ) -> None:
        self._files = list(files)
        self._window = window
        self._progress = progress
        self._threads = threads or os.cpu_count() or 2
        self.bad_files: list[tuple[str, str]] = []
        self._partial_files: set[str] = set()  # of bad_files, those read up to their damage
        self.notes: list[str] = []  # for the user: what changed how the logs were read
        self.last_stats: EngineStats | None = None  # the local engine bills nothing
        self.aws_session: Any = None
        self._source = source  # where the files are read from, when not the file system (S3)
        self.parser = self._choose_parser(parser)
        # Ctrl-C waits for the import and the connection: a KeyboardInterrupt inside them aborts.
        with held():
            import duckdb  # imported here: `alb502 --help` must not pay for it

            self._duckdb = duckdb
            config: dict[str, Any] = {"threads": threads} if threads else {}
            self._con = duckdb.connect(config=config)
        # DuckDB's own bar would print to stdout, which is for results only; progress is read instead.
        self._con.execute("SET enable_progress_bar = true")
        self._con.execute("SET enable_progress_bar_print = false")

    def _choose_parser(self, parser: str | None) -> str:
        """The reader: native (libdeflate and the compiled parser, the fast path) or sql (the format's
        regex run by DuckDB itself); by default native where it can run. ALB502_PARSER picks one.

        For the native parser the first scan starts here, before DuckDB is even imported: the files
        decompress on worker threads while this thread imports and prepares the query."""
        choice = parser or os.environ.get("ALB502_PARSER") or "auto"
        if choice not in ("auto", "native", "sql"):
            raise UsageError(f"unknown parser {choice!r} (ALB502_PARSER): use native or sql")
        self._next_scan: NativeScan | None = None
        if choice == "sql" and self._source is not None:
            raise UsageError("objects read from S3 need the native reader: unset ALB502_PARSER=sql")
        if choice == "sql":
            return choice
        from alb502athena.engines.native.scan import NativeScan, installed, supports_format

        # The SQL view reads files by path: an object from S3 has none.
        native_only = self._source is not None
        if choice == "auto" and not installed() and not native_only:
            return "sql"
        self._next_scan = NativeScan(
            _group_by_day(self._files, self._window), threads=self._threads, source=self._source
        )
        self._next_scan.start()
        # An engine dropped before its first query must not leave loaders waiting for a reader.
        self._scan_finalizer = weakref.finalize(self, self._next_scan.close)
        if choice == "auto" and not native_only and not supports_format():
            self._scan_finalizer()  # closes it, once
            self._next_scan = None
            return "sql"
        return "native"

    def log_location(self, table: str) -> str | None:
        """The folder that holds the files' yyyy/mm/dd folders, where they all share one (an `aws s3
        sync` of the table's location); None for loose files. The local engine reads a `"$path"` range
        whatever its root (local_paths.py): this says that its files are laid out as the table's."""
        roots = {
            f.path.parent.parent.parent.parent
            for f in self._files
            if f.day and f.path.parent.as_posix().endswith(f.day)
        }
        if len(roots) != 1 or not self._files or any(not f.day for f in self._files):
            return None
        return str(roots.pop())

    def _by_path(self, athena_sql: str) -> tuple[str, list[LogFile] | None]:
        """The query and the files it reads: those its `"$path"` ranges admit (None: all of them)."""
        from alb502athena.engines.local_paths import has_paths, reduce_paths

        if not has_paths(athena_sql):
            return athena_sql, None
        days = self._window.day_range()
        text, kept = reduce_paths(athena_sql, self._files, days[0] if days else None, self._con)
        left = len(self._files) - len(kept)
        given = len(self._files)
        note = f'the query\'s object names ("$path" ranges) leave out {left} of the {given} files given'
        if left and note not in self.notes:
            self.notes.append(note)
        return text, (kept if left else None)

    def add_view(self, create_view_sql: str) -> None:
        """Another table for queries to join (the CloudTrail view, say)."""
        self._con.execute(create_view_sql)

    def _abandon(self) -> None:
        """Drop the result of a query that failed while fetching: DuckDB 2 keeps it, and refuses any
        other work on the connection (even unregistering a table) until it is aborted."""
        abort = getattr(self._con, "abort", None)  # DuckDB 2; older versions keep no such result
        if abort is not None:
            with contextlib.suppress(self._duckdb.Error):
                abort()

    def _execute(
        self, sql: str, scan: NativeScan | None = None, fetch: Callable[[Any], Any] = _fetch_all
    ) -> tuple[list[str], Any]:
        """Run one query and `fetch` from its cursor (all rows, or the cursor itself to fetch from
        later); on a terminal, report its progress while it runs (the native scan's when it reads
        one); Ctrl-C interrupts it."""
        if self._progress is None:
            try:
                cursor = self._con.execute(sql)
                return [d[0] for d in cursor.description], fetch(cursor)
            except self._duckdb.Error:
                self._abandon()
                raise
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                cursor = self._con.execute(sql)
                outcome["result"] = ([d[0] for d in cursor.description], fetch(cursor))
            except BaseException as exc:  # handed to the caller's thread below
                self._abandon()
                outcome["error"] = exc

        worker = threading.Thread(target=work, daemon=True)
        label = f"Reading {len(self._files)} log files ({_size(self._files)})"
        worker.start()
        try:
            while worker.is_alive():
                worker.join(self.poll_seconds)
                line = self._progress_line(label, scan)
                if line is not None:
                    self._progress(line)
            if scan is not None:  # its last state, however short the query was
                self._progress(self._progress_line(label, scan) or "")
        except BaseException as exc:
            # Ctrl-C, or the progress line failing (a closed stderr): the query must not outlive
            # this call, still reading and holding the connection.
            self._con.interrupt()
            worker.join()
            if isinstance(exc, KeyboardInterrupt):
                raise Interrupted("interrupted") from None
            raise
        if "error" in outcome:
            raise outcome["error"]
        result: tuple[list[str], Any] = outcome["result"]
        return result

    def _progress_line(self, label: str, scan: NativeScan | None) -> str | None:
        """The progress line: DuckDB's own measure for the SQL view; for the native reader, whose
        Arrow stream DuckDB cannot measure, the files and bytes the scan has parsed."""
        if scan is None:
            done = self._con.query_progress()
            return None if done < 0 else f"{label} {_bar(done)}"
        p = scan.progress()
        return (
            f"Reading log files: {p.files_done:,} of {p.files:,} ({_human(p.bytes_done)} of "
            f"{_human(p.bytes)}) {_bar(p.percent)}"
        )

    @contextlib.contextmanager
    def _native(
        self, athena_sql: str, fetch: Callable[[Any], Any], tap: _TapRequest | None = None
    ) -> Iterator[tuple[list[str], Any]]:
        """The query on the native reader: (columns, what `fetch` took from the cursor), with the scan
        open and Ctrl-C stopping it until the block ends; with `tap`, the samples query's rows kept
        from the same batches (tap.tap)."""
        from alb502athena.engines.native.kernel import KernelError
        from alb502athena.engines.native.scan import NativeScan, needs_compiling, referenced_columns

        athena_sql, chosen = self._by_path(athena_sql)
        sql = compile_cached(athena_sql, "native", to_duckdb)
        columns = referenced_columns(sql)
        if tap is not None:
            columns = tap.open(columns, _native_view_sql)
        reported = {p for p, _ in self.bad_files}
        # A file damaged midway is read again up to its damage, so that every query sees the same
        # lines; a file that could not be read at all is left out.
        known_bad = reported - self._partial_files
        scan, self._next_scan = self._next_scan, None
        if scan is not None and chosen is not None:  # it reads every file: this query reads fewer
            self._scan_finalizer()
            scan = None
        if scan is None:
            readable = [f for f in (self._files if chosen is None else chosen) if f.location not in known_bad]
            scan = NativeScan(
                _group_by_day(readable, self._window), threads=self._threads, source=self._source
            )
        else:
            self._scan_finalizer.detach()  # this query closes it now
        if self._progress is not None and needs_compiling():
            self._progress("Compiling the log parser for this machine (once, a few seconds)")
        fallback = None
        # Ctrl-C stops the query and the reader, and is raised as Interrupted once both are done
        # with: DuckDB's threads call into the reader, and must not find it gone or cut midway.
        with stoppable(self._stop_query(scan)) as stopped:
            try:
                try:
                    batches = scan.reader(columns)
                    if tap is not None and tap.tap is not None:
                        batches = tap.tap.reader(batches)
                except KernelError as exc:
                    # The results do not depend on the reader, only the time does: say so, and go on.
                    fallback = f"{exc}; the slower SQL view read the logs instead"
                else:
                    self._con.register("alb_native_batches", batches)
                    del batches  # DuckDB holds it until unregistered, below (still inside `stoppable`)
                    try:
                        self._con.execute(_native_view_sql(columns, "alb_native_batches"))
                        if stopped():  # Ctrl-C while the parser loaded: the query is not started
                            raise Interrupted("interrupted")
                        try:
                            columns_out, result = self._execute(sql, scan, fetch)
                        except self._duckdb.Error as exc:
                            first_line = str(exc).splitlines()[0]
                            raise QueryError(f"DuckDB could not run the query: {first_line}") from None
                        self._read_by(scan)
                        yield columns_out, result
                    finally:
                        # Cleanup must not hide the error that got here, nor keep the scan open.
                        with contextlib.suppress(self._duckdb.Error):
                            self._con.unregister("alb_native_batches")
            finally:
                scan.close()
        if fallback is not None:
            self.parser = "sql"
            self.notes.append(fallback)
            with self._query(athena_sql, fetch) as again:
                yield again

    def _read_by(self, scan: NativeScan) -> None:
        """The files a scan could not read (or read up to damage), added to the engine's list once."""
        reported = {p for p, _ in self.bad_files}
        self.bad_files += [(p, r) for p, r in scan.bad_files if p not in reported]
        self._partial_files |= scan.partial_files
        unreadable = [p for p, _ in self.bad_files if p not in self._partial_files]
        if self._files and len(unreadable) == len(self._files):
            raise InputError("no readable log files: " + "; ".join(f"{p}: {r}" for p, r in self.bad_files))

    def _stop_query(self, scan: NativeScan | None = None) -> Callable[[], None]:
        """What Ctrl-C does during a query (from the signal handler: it only sets flags)."""

        def stop() -> None:
            self._con.interrupt()
            if scan is not None:
                scan.stop()

        return stop

    def _create_view(self, paths: set[str], chosen: list[LogFile] | None = None) -> LocalView | None:
        if self._files and not paths:
            return None  # every file given was unreadable
        kept = [f for f in (self._files if chosen is None else chosen) if f.location in paths]
        view = local_view(_group_by_day(kept, self._window))
        for statement in view.statements():
            self._con.execute(statement)
        return view

    def _damaged_files(self) -> list[str]:
        return [p for p, _ in self.bad_files if p in self._partial_files]

    def run(self, athena_sql: str) -> QueryResult:
        with self._query(athena_sql, _fetch_all) as (columns, rows):
            return QueryResult(columns, rows, list(self.bad_files), damaged_files=self._damaged_files())

    def run_with_samples(
        self, athena_sql: str, samples_sql: str, per_signature: int
    ) -> tuple[QueryResult, QueryResult | None]:
        """`athena_sql`'s result and, from the same scan of the logs, the samples query's
        (render_samples, keeping `per_signature` rows of each): the samples cost no second reading of
        the files, nor a second download of S3 objects (samples_tap.py). None for the samples where
        the scan cannot carry them (the SQL view reads the files itself; a query of "$path" ranges
        reads a set of files of its own): the caller then runs the samples query on its own."""
        from alb502athena.engines.local_paths import has_paths

        if self.parser != "native" or has_paths(samples_sql):
            return self.run(athena_sql), None
        request = _TapRequest(samples_sql, per_signature)
        try:
            with self._query(athena_sql, _fetch_all, request) as (columns, rows):
                result = QueryResult(columns, rows, list(self.bad_files), damaged_files=self._damaged_files())
            tap = request.tap
            if tap is None or not tap.complete:  # the slower SQL view read the logs instead
                return result, None
            try:
                sample_columns, sample_rows = tap.result()
            except Exception as exc:  # the verdict stands; the samples' own query reads the logs again
                self.notes.append(f"the report's samples could not be kept from the diagnosis' scan: {exc}")
                return result, None
        finally:
            if request.tap is not None:
                request.tap.close()
        samples = QueryResult(
            sample_columns, sample_rows, list(result.bad_files), damaged_files=list(result.damaged_files)
        )
        return result, samples

    @contextlib.contextmanager
    def stream(self, athena_sql: str, batch_rows: int = BATCH_ROWS) -> Iterator[RowStream]:
        """The result a batch at a time: DuckDB keeps the rows in its own compact form (a query's ORDER
        BY sorts them all first: about 0.4 KiB a row of `alb502 run`) and Python holds one batch.
        Ctrl-C stops the fetching too."""
        with self._query(athena_sql, _keep_cursor) as (columns, cursor):
            try:
                yield RowStream(
                    columns, self._batches(cursor, batch_rows), self.bad_files,
                    damaged_files=self._damaged_files(),
                )  # fmt: skip
            finally:
                self._abandon()  # a result left unread (the block ended early) would hold the connection

    def _batches(self, cursor: Any, batch_rows: int) -> Iterator[list[tuple[Any, ...]]]:
        while True:
            try:
                batch = cursor.fetchmany(batch_rows)
            except self._duckdb.Error as exc:
                self._abandon()
                raise QueryError(f"DuckDB could not run the query: {str(exc).splitlines()[0]}") from None
            if not batch:
                return
            yield batch

    @contextlib.contextmanager
    def _query(
        self, athena_sql: str, fetch: Callable[[Any], Any], tap: _TapRequest | None = None
    ) -> Iterator[tuple[list[str], Any]]:
        if self.parser == "native":
            with self._native(athena_sql, fetch, tap) as result:
                yield result
            return
        athena_sql, chosen = self._by_path(athena_sql)
        paths = {f.location for f in self._files} - {p for p, _ in self.bad_files}
        # A corrupt or unreadable file fails the whole DuckDB query; name it, drop it, run again.
        while True:
            view = self._create_view(paths, chosen)
            if view is None:
                raise InputError(
                    "no readable log files: " + "; ".join(f"{p}: {r}" for p, r in self.bad_files)
                )
            sql = compile_cached(athena_sql, *_compiler(view))
            try:
                with stoppable(self._stop_query()):
                    columns, result = self._execute(sql, fetch=fetch)
                break
            except (self._duckdb.IOException, self._duckdb.InvalidInputException) as exc:
                message = str(exc)
                bad = _failed_file(message, sorted(paths, key=len, reverse=True))
                if bad is None:
                    raise QueryError(f"DuckDB could not run the query: {message.splitlines()[0]}") from None
                reason = message.splitlines()[0]
                reason = reason.split(" Error: ", 1)[-1].replace(bad, "").rstrip(": ").strip()
                self.bad_files.append((bad, reason or "unreadable"))
                paths.discard(bad)
            except self._duckdb.Error as exc:
                raise QueryError(f"DuckDB could not run the query: {str(exc).splitlines()[0]}") from None
        with stoppable(self._stop_query()):  # the rows are fetched here when streamed
            yield columns, result


class _TapRequest:
    """The samples query to answer from a query's scan (LocalEngine.run_with_samples), and the tap
    that answers it once the scan's columns are known."""

    def __init__(self, samples_sql: str, per_signature: int) -> None:
        self.samples_sql = samples_sql
        self.per_signature = per_signature
        self.tap: SamplesTap | None = None

    def open(self, columns: Sequence[str], view_sql: Callable[[Sequence[str], str], str]) -> list[str]:
        """The tap, and the columns the scan must read for both queries (the format's order)."""
        from alb502athena.engines.native.scan import referenced_columns
        from alb502athena.engines.samples_tap import ROWS_TABLE, SamplesTap
        from alb502athena.logformat import log_format

        sql = compile_cached(self.samples_sql, "native", to_duckdb)
        own = referenced_columns(sql)
        self.tap = SamplesTap(sql, view_sql(own, ROWS_TABLE), own, self.per_signature)
        both = {*columns, *own}
        return [c for c in log_format().column_names if c in both]


def _native_view_sql(columns: Sequence[str], source: str) -> str:
    """alb_logs over the native reader's batches: the named columns typed as the SQL view types them,
    every other column NULL, since the query does not read it."""
    from alb502athena.logformat import log_format

    select = [
        f"{typed(col.name, col)} AS {col.name}"
        if col.name in columns
        else f"NULL::{col.duckdb_type} AS {col.name}"
        for col in log_format().columns
    ]
    select.append("day")
    return f"CREATE OR REPLACE TEMP VIEW {TABLE_VIEW} AS SELECT {', '.join(select)} FROM {source}"


def _size(files: Sequence[LogFile]) -> str:
    return _human(sum(f.size for f in files))  # as discovery found them: no second stat per file


def _human(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB" if size >= 2**20 else f"{size / 2**10:,.0f} KiB"


def _bar(percent: float, width: int = 20) -> str:
    filled = int(percent / 100 * width)
    return f"[{'#' * filled}{'-' * (width - filled)}] {percent:.0f}%"
