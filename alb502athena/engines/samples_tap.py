"""The report's samples from the diagnosis' own scan: the native reader's batches pass through a tap on
their way to DuckDB, which keeps the few rows the samples query (sql/samples.sql) can return.

Reading the logs a second time for the samples would download every S3 object again (or read the cache
again). The tap keeps the rows whose status code may be 502 (a superset: the query decides), copied out
of the reader's buffers, and runs the samples query itself on them on a DuckDB of its own whenever they
reach REDUCE_BYTES and once at the end; what it holds between runs is the first rows of each signature
so far, at most `per_signature` each. The first rows by time of the whole are the first of the first of
each part (the query's filters are per row), so memory stays bounded whatever the window holds, and
the classification stays the SQL's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

# Candidate rows held before the samples query reduces them to a few per signature.
REDUCE_BYTES = 32 << 20
STATUS = "elb_status_code"  # the samples query reads the rows where it is 502 (_macros window_502s)
ROWS_TABLE = "alb502_sample_rows"


def take_strings(array: Any, indices: Any) -> Any:
    """The values of a string_view array at `indices` (a numpy integer array) as a string array that
    owns its bytes: the reader's buffers go back to its pool, whatever the tap keeps. (pyarrow has no
    take for string views, and casting a whole column copies every row.)"""
    import numpy as np
    import pyarrow as pa

    indices = np.asarray(indices, dtype=np.int64)
    n = len(indices)
    buffers = array.buffers()
    rows = indices + array.offset
    views = np.frombuffer(buffers[1], dtype=np.uint8).reshape(-1, 16)[rows]
    lengths = views[:, 0:4].copy().view(np.int32).ravel().astype(np.int64)
    valid = np.ones(n, dtype=bool)
    if buffers[0] is not None:
        bits = np.unpackbits(np.frombuffer(buffers[0], dtype=np.uint8), bitorder="little")
        valid = bits[rows].astype(bool)
    lengths[~valid] = 0
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    out = np.empty(int(offsets[-1]), dtype=np.uint8)
    inline = lengths <= 12
    # Short strings are inside their views (after the length); the others are in a data buffer.
    if inline.any():
        mask = np.arange(12) < lengths[inline, None]
        out[_ranges(offsets[:-1][inline], lengths[inline])] = views[inline, 4:16][mask]
    where = views[:, 8:12].copy().view(np.int32).ravel()
    at = views[:, 12:16].copy().view(np.int32).ravel().astype(np.int64)
    for index in np.unique(where[~inline]):
        chosen = ~inline & (where == index)
        data = np.frombuffer(buffers[2 + int(index)], dtype=np.uint8)
        out[_ranges(offsets[:-1][chosen], lengths[chosen])] = data[_ranges(at[chosen], lengths[chosen])]
    validity = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        pa.string(), n, [validity, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(out)]
    )


def _ranges(starts: Any, lengths: Any) -> Any:
    """The indices start..start+length of each pair, one after the other."""
    import numpy as np

    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    before = np.cumsum(lengths) - lengths
    return np.repeat(starts - before, lengths) + np.arange(total, dtype=np.int64)


class SamplesTap:
    """Keeps, from a scan's batches, what `sql` (the samples query compiled for DuckDB, over the view
    alb_logs that `view_sql` makes of the table ROWS_TABLE) returns over all of them: its first
    `per_signature` rows of each signature by time."""

    def __init__(self, sql: str, view_sql: str, columns: Sequence[str], per_signature: int) -> None:
        import duckdb

        self._sql = sql
        self._columns = [*columns, "day"]
        self._per_signature = per_signature
        self._pending: list[Any] = []  # record batches of candidate rows, owning their bytes
        self._pending_bytes = 0
        self._kept: dict[Any, list[tuple[Any, ...]]] = {}  # by signature, in time order
        self.columns: list[str] = []
        self.complete = False  # every batch of the scan went through
        # Why the tap gave up, if it did: the diagnosis must not fail for the report's samples.
        self.failed: str | None = None
        # Its own database: the engine's connection is running the diagnosis meanwhile.
        self._con = duckdb.connect(config={"threads": 1})
        self._con.execute(f"CREATE TABLE {ROWS_TABLE} ({', '.join(f'{c} VARCHAR' for c in self._columns)})")
        self._con.execute(view_sql)

    def reader(self, batches: Any) -> Any:
        """A record batch reader of the same batches, each seen by the tap on its way to DuckDB."""
        import pyarrow as pa

        return pa.RecordBatchReader.from_batches(batches.schema, self._through(batches))

    def _through(self, batches: Any) -> Iterator[Any]:
        # DuckDB takes the batches of a stream one at a time, under its lock: one caller at a time here.
        for batch in batches:
            if self.failed is None:
                try:
                    self._see(batch)
                except Exception as exc:  # said by the engine (result() raises it)
                    self.failed = f"{type(exc).__name__}: {exc}"
                    self._pending = []
            yield batch
        self.complete = True

    def _see(self, batch: Any) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        # The text of a number equal to 502 holds "502" (the format gives the status code as digits).
        status = batch.column(batch.schema.get_field_index(STATUS)).cast(pa.string())
        hits = np.flatnonzero(pc.fill_null(pc.match_substring(status, "502"), False).to_numpy(False))
        if not len(hits):
            return
        arrays = [take_strings(batch.column(batch.schema.get_field_index(c)), hits) for c in self._columns]
        kept = pa.RecordBatch.from_arrays(arrays, names=self._columns)
        self._pending.append(kept)
        self._pending_bytes += kept.nbytes
        if self._pending_bytes >= REDUCE_BYTES:
            self._reduce()

    def _reduce(self) -> None:
        """The samples query over the candidates held; its rows join the first ones kept."""
        import pyarrow as pa

        if not self._pending:
            return
        table = pa.Table.from_batches(self._pending)
        self._pending, self._pending_bytes = [], 0
        self._con.register("alb502_sample_batch", table)
        try:
            self._con.execute(f"DELETE FROM {ROWS_TABLE}")
            self._con.execute(f"INSERT INTO {ROWS_TABLE} SELECT * FROM alb502_sample_batch")
        finally:
            self._con.unregister("alb502_sample_batch")
        cursor = self._con.execute(self._sql)
        self.columns = [d[0] for d in cursor.description]
        signature, time = self.columns.index("signature"), self.columns.index("time")
        for row in cursor.fetchall():
            self._kept.setdefault(row[signature], []).append(row)
        for rows in self._kept.values():
            # Stable: rows of one time keep the order the query gave them.
            rows.sort(key=lambda r: (r[time] is None, r[time] or ""))
            del rows[self._per_signature :]

    def result(self) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The samples query's columns and rows, as it orders them (by signature, then time)."""
        if self.failed is not None:
            raise RuntimeError(self.failed)
        self._reduce()
        if not self.columns:  # no candidate at all: the query's columns over no rows
            cursor = self._con.execute(self._sql)
            self.columns = [d[0] for d in cursor.description]
        rows = [r for key in sorted(self._kept, key=lambda k: (k is None, k or "")) for r in self._kept[key]]
        return self.columns, rows

    def close(self) -> None:
        self._pending = []
        self._con.close()
