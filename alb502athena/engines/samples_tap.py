"""The report's samples from the diagnosis' own scan: the native reader's batches pass through a tap on
their way to DuckDB, which keeps the few rows the samples query (sql/samples.sql) can return.

Reading the logs a second time for the samples would download every S3 object again (or read the cache
again). The tap runs the samples query itself, on a DuckDB of its own, over parts of the rows: a batch
where many lines may be 502s is queried as it passes; where few may be, those lines are copied out of
the reader's buffers and queried together once they reach REDUCE_BYTES, and at the end. Between runs it
holds the first rows of each signature so far, at most `per_signature` each. The first rows by time of
the whole are the first of the first of each part (the query's filters are per row), so memory stays
bounded whatever the window holds, and the classification stays the SQL's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

# Candidate rows held before the samples query reduces them to a few per signature.
REDUCE_BYTES = 32 << 20
# A batch where more than one line in this many may be a 502 is queried whole as it passes: copying the
# lines out costs more than the query then (a query costs about a copy of a thousand lines).
DIRECT_SHARE = 16
STATUS = "elb_status_code"  # the samples query reads the rows where it is 502 (_macros window_502s)
ROWS_TABLE = "alb502_sample_rows"  # what the view alb_logs reads, while the samples query runs


def may_be_502(array: Any) -> Any:
    """The indices of a string_view array's values that may read as 502: those whose text holds "502"
    (the format gives the status code as digits, so a number equal to 502 is written "502" after any
    zeros), and any longer than a view holds (12 bytes), left for the query to decide. A numpy pass
    over the views: pyarrow has no string search on string views, and casting first copies them."""
    import numpy as np

    n = len(array)
    buffers = array.buffers()
    views = np.frombuffer(buffers[1], dtype=np.uint8).reshape(-1, 16)[array.offset : array.offset + n]
    lengths = views[:, 0:4].copy().view(np.int32).ravel()
    hit = lengths > 12
    longest = int(min(12, lengths.max())) if n else 0
    for at in range(4, 4 + longest - 2):
        hit |= (
            (views[:, at] == 53) & (views[:, at + 1] == 48) & (views[:, at + 2] == 50) & (lengths >= at - 1)
        )
    found = np.flatnonzero(hit)
    if buffers[0] is not None and len(found):
        bitmap = np.frombuffer(buffers[0], dtype=np.uint8)
        rows = found + array.offset
        found = found[((bitmap[rows >> 3] >> (rows & 7)) & 1).astype(bool)]
    return found


def take_strings(array: Any, indices: Any) -> Any:
    """The values of a string_view array at `indices` (a numpy integer array) as a string array that
    owns its bytes: the reader's buffers go back to its pool, whatever the tap keeps."""
    return take_columns([array], indices)[0]


def take_columns(arrays: Sequence[Any], indices: Any) -> list[Any]:
    """The values of string_view arrays (of one batch) at `indices`, as string arrays that own their
    bytes. pyarrow has no take for string views, and casting a whole column copies every row; the
    reader's columns share their data buffer, so those that do are copied in one numpy pass."""
    import numpy as np

    indices = np.asarray(indices, dtype=np.int64)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, array in enumerate(arrays):
        data = tuple(b.address if b is not None else 0 for b in array.buffers()[2:])
        groups.setdefault(data, []).append(i)
    out: list[Any] = [None] * len(arrays)
    for members in groups.values():
        for i, taken in zip(members, _take_group([arrays[i] for i in members], indices), strict=True):
            out[i] = taken
    return out


def _take_group(arrays: Sequence[Any], indices: Any) -> list[Any]:
    """take_columns for arrays whose views index the same data buffers: their values one after the
    other in one buffer, each array a slice of it."""
    import numpy as np
    import pyarrow as pa

    k = len(indices)
    views_of, valid_of = [], []
    for array in arrays:
        buffers = array.buffers()
        rows = indices + array.offset
        views_of.append(np.frombuffer(buffers[1], dtype=np.uint8).reshape(-1, 16)[rows])
        if buffers[0] is None:
            valid_of.append(np.ones(k, dtype=bool))
        else:
            bitmap = np.frombuffer(buffers[0], dtype=np.uint8)
            valid_of.append(((bitmap[rows >> 3] >> (rows & 7)) & 1).astype(bool))
    views = np.concatenate(views_of) if views_of else np.zeros((0, 16), dtype=np.uint8)
    valid = np.concatenate(valid_of) if valid_of else np.zeros(0, dtype=bool)
    lengths = views[:, 0:4].copy().view(np.int32).ravel().astype(np.int64)
    lengths[~valid] = 0
    offsets = np.zeros(len(views) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    text = np.empty(int(offsets[-1]), dtype=np.uint8)
    inline = lengths <= 12
    # Short strings are inside their views (after the length); the others are in a data buffer.
    if inline.any():
        mask = np.arange(12) < lengths[inline, None]
        text[_ranges(offsets[:-1][inline], lengths[inline])] = views[inline, 4:16][mask]
    where = views[:, 8:12].copy().view(np.int32).ravel()
    at = views[:, 12:16].copy().view(np.int32).ravel().astype(np.int64)
    data_buffers = arrays[0].buffers()[2:] if arrays else []
    for index in np.unique(where[~inline]):
        chosen = ~inline & (where == index)
        data = np.frombuffer(data_buffers[int(index)], dtype=np.uint8)
        text[_ranges(offsets[:-1][chosen], lengths[chosen])] = data[_ranges(at[chosen], lengths[chosen])]
    validity = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    shared = [validity, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(text)]
    return [pa.Array.from_buffers(pa.string(), k, shared, offset=j * k) for j in range(len(arrays))]


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
        self._view_sql = view_sql
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
        import pyarrow as pa

        hits = may_be_502(batch.column(batch.schema.get_field_index(STATUS)))
        if not len(hits):
            return
        if len(hits) * DIRECT_SHARE > batch.num_rows:
            self._query(batch.select(self._columns))
            return
        arrays = take_columns([batch.column(batch.schema.get_field_index(c)) for c in self._columns], hits)
        kept = pa.RecordBatch.from_arrays(arrays, names=self._columns)
        self._pending.append(kept)
        self._pending_bytes += kept.nbytes
        if self._pending_bytes >= REDUCE_BYTES:
            self._reduce()

    def _reduce(self) -> None:
        """The samples query over the candidates held."""
        import pyarrow as pa

        if self._pending:
            table = pa.Table.from_batches(self._pending)
            self._pending, self._pending_bytes = [], 0
            self._query(table)

    def _query(self, rows: Any) -> None:
        """The samples query over these rows (Arrow, the tap's columns); its rows join the first ones
        kept, which keep the first `per_signature` of each signature."""
        self._con.register(ROWS_TABLE, rows)
        try:
            self._con.execute(self._view_sql)  # over what is registered now, string views or not
            cursor = self._con.execute(self._sql)
            self.columns = [d[0] for d in cursor.description]
            found = cursor.fetchall()
        finally:
            self._con.unregister(ROWS_TABLE)
        signature, time = self.columns.index("signature"), self.columns.index("time")
        for row in found:
            self._kept.setdefault(row[signature], []).append(row)
        for kept in self._kept.values():
            # Stable: rows of one time keep the order the query gave them.
            kept.sort(key=lambda r: (r[time] is None, r[time] or ""))
            del kept[self._per_signature :]

    def result(self) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The samples query's columns and rows, as it orders them (by signature, then time)."""
        import pyarrow as pa

        if self.failed is not None:
            raise RuntimeError(self.failed)
        self._reduce()
        if not self.columns:  # no candidate at all: the query's columns over no rows
            self._query(pa.table({c: pa.array([], pa.string()) for c in self._columns}))
        rows = [r for key in sorted(self._kept, key=lambda k: (k is None, k or "")) for r in self._kept[key]]
        return self.columns, rows

    def close(self) -> None:
        self._pending = []
        self._con.close()
