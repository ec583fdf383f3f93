"""A PEP 249 (DB-API) connection of the library user's as the engine: pyathena's or trino's, set up
as they like (credentials, roles, work group, session properties), instead of alb502's settings.

The SQL is the same text the Athena and Trino engines send, executed without parameters so that
neither driver formats it (a `%` stays a `%`). Errors are the driver's, in one QueryError line. With a
pyathena connection the query's statistics (data scanned, cost) are read from its cursor.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

from alb502athena.engines.athena import EngineStats
from alb502athena.engines.base import BATCH_ROWS, Engine, QueryResult, RowStream, whole_result
from alb502athena.errors import Interrupted, QueryError

# The engine named for the driver's package, where it is one of those alb502 knows.
_NAMES = {"pyathena": "athena", "trino": "trino"}


def as_engine(source: Engine | Any) -> Engine:
    """An engine as it is; a DB-API connection wrapped in a DbApiEngine."""
    if hasattr(source, "stream") and hasattr(source, "run"):
        return source
    if not callable(getattr(source, "cursor", None)):
        raise TypeError(f"not an engine nor a DB-API connection: {type(source).__name__}")
    return DbApiEngine(source)


class DbApiEngine:
    def __init__(self, connection: Any, name: str | None = None, price_per_tb: float = 5.0) -> None:
        self.connection = connection
        package = type(connection).__module__.split(".")[0]
        self.name = name or _NAMES.get(package, package)
        self.notes: list[str] = []
        self.last_stats: EngineStats | None = None
        session = getattr(connection, "session", None)  # pyathena's boto3 session, for AWS evidence
        self.aws_session: Any = session if package == "pyathena" else None
        self._price_per_tb = price_per_tb
        self._error = _driver_error(type(connection).__module__)

    def log_location(self, table: str | None = None) -> str | None:
        """Unknown: the connection may reach any catalog, so the queries fall back to `day` alone."""
        return None

    def run(self, athena_sql: str) -> QueryResult:
        return whole_result(self, athena_sql)

    @contextlib.contextmanager
    def stream(self, athena_sql: str, batch_rows: int = BATCH_ROWS) -> Iterator[RowStream]:
        cursor = self.connection.cursor()
        try:
            with self._failures(cursor):
                cursor.execute(athena_sql)  # no parameters: the text is sent as it is
                self.last_stats = self._stats(cursor)
                columns = [d[0] for d in cursor.description or []]
            yield RowStream(columns, self._batches(cursor, batch_rows), stats=self.last_stats)
        finally:
            with contextlib.suppress(Exception):
                cursor.close()  # trino's cancels a query whose rows are left

    def _batches(self, cursor: Any, batch_rows: int) -> Iterator[list[tuple[Any, ...]]]:
        while True:
            with self._failures(cursor):
                batch = [tuple(r) for r in cursor.fetchmany(batch_rows)]
            if not batch:
                return
            yield batch

    @contextlib.contextmanager
    def _failures(self, cursor: Any) -> Iterator[None]:
        try:
            yield
        except KeyboardInterrupt:
            # pyathena stops its query on Ctrl-C itself; trino's is cancelled when the cursor closes.
            raise Interrupted("interrupted") from None
        except Exception as exc:
            if not isinstance(exc, self._error):
                raise
            qid = getattr(cursor, "query_id", None)
            which = f"{self.name} query {qid}" if qid else f"{self.name} query"
            raise QueryError(f"the {which} failed: {' '.join(str(exc).split())}") from None

    def _stats(self, cursor: Any) -> EngineStats | None:
        scanned = getattr(cursor, "data_scanned_in_bytes", None)
        if scanned is None:
            return None
        return EngineStats(
            query_id=str(cursor.query_id),
            state=str(getattr(cursor, "state", "SUCCEEDED")),
            data_scanned_bytes=int(scanned),
            engine_ms=int(getattr(cursor, "engine_execution_time_in_millis", 0) or 0),
            reused=bool(getattr(cursor, "reused_previous_result", False)),
            price_per_tb=self._price_per_tb,
        )


def _driver_error(module: str) -> type[BaseException] | tuple[type[BaseException], ...]:
    """PEP 249's Error of the driver that defines `module`: the nearest enclosing package that has one."""
    parts = module.split(".")
    while parts:
        with contextlib.suppress(ImportError):
            found = getattr(importlib.import_module(".".join(parts)), "Error", None)
            if isinstance(found, type) and issubclass(found, BaseException):
                return found
        parts.pop()
    return ()
