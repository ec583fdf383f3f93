"""What every engine offers the library and the CLI: one small typed interface.

The CLI never asks an engine whether it has an attribute: every engine carries its notes for the
user, the statistics of its last query (Athena's bill; None elsewhere) and the AWS session it holds
(None unless it talks to AWS), so commands treat the three engines alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from alb502athena.engines.athena import EngineStats

BATCH_ROWS = 10_000  # rows fetched at a time when a result is streamed


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    bad_files: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    # Of bad_files, those read through their damage: their readable lines are counted, as the reason says.
    damaged_files: list[str] = field(default_factory=list)
    stats: EngineStats | None = None  # what the query cost, where the engine bills by the byte


@dataclass
class RowStream:
    """A query's result as it comes: its rows in batches (each fetched when asked for, so memory holds
    one batch whatever the result's size), valid inside the engine's `stream` block only."""

    columns: list[str]
    batches: Iterator[list[tuple[Any, ...]]]
    bad_files: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    damaged_files: list[str] = field(default_factory=list)  # of bad_files, those read up to their damage
    stats: EngineStats | None = None


class Engine(Protocol):
    name: str
    notes: list[str]  # for the user: what changed how the data was read
    last_stats: EngineStats | None
    aws_session: Any  # a boto3 Session when the engine talks to AWS, else None

    def run(self, athena_sql: str) -> QueryResult: ...

    def stream(self, athena_sql: str, batch_rows: int = BATCH_ROWS) -> AbstractContextManager[RowStream]:
        """The result in batches, fetched while the block runs; the engine's resources (the scan,
        the cursor) are released when it ends."""
        ...


def whole_result(engine: Engine, athena_sql: str) -> QueryResult:
    """Every row of a query, from the engine's stream: `run` for the engines that page their results."""
    with engine.stream(athena_sql) as result:
        rows = [row for batch in result.batches for row in batch]
    return QueryResult(result.columns, rows, stats=engine.last_stats)


@runtime_checkable
class LocatesLogs(Protocol):
    def log_location(self, table: str) -> str | None:
        """The folder of `table` that holds its yyyy/mm/dd folders, as `"$path"` begins (no trailing
        slash), or None when the engine cannot tell: the `"$path"` ranges need it (scope.py)."""
        ...


def log_location(engine: Engine, table: str) -> str | None:
    """The engine's answer to LocatesLogs.log_location, None for an engine that cannot give one: the
    query then reads whole `day` partitions. (A function, not yet a member of Engine, so that each
    engine gains it on its own branch; fold it into Engine once all three have it.)"""
    return engine.log_location(table) if isinstance(engine, LocatesLogs) else None


@runtime_checkable
class SharesScan(Protocol):
    def run_with_samples(
        self, athena_sql: str, samples_sql: str, per_signature: int
    ) -> tuple[QueryResult, QueryResult | None]:
        """`athena_sql`'s result and the samples query's (render_samples) from one reading of the logs,
        or None for the samples where this run could not carry them."""
        ...
