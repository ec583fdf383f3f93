"""The native reader: log files to Arrow record batches, parsed by a numba-compiled matcher of the format.

DuckDB reads gzip about three times slower than libdeflate, and matching the format in SQL costs as
much again. This reader decompresses with libdeflate into pooled buffers (native_gzip.py,
native_pool.py) and parses with code generated from sql/log_format.yaml (native_program.py,
native_codegen.py; compiled once per machine by numba, loaded by native_kernel.py), on worker threads
that hold no GIL, and hands DuckDB Arrow string views that point into the decompressed bytes. Only
the columns a query names are written.

Semantics are Hive's: a line that does not match the canonical regex is a row of NULLs, lines end at
\\n, \\r\\n or \\r, an empty line is a row, and bytes that are not UTF-8 read as U+FFFD. The tests hold
it to Python's `re` line by line, and to a real Trino.
"""

from __future__ import annotations

import importlib.util
import os
import re
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from alb502athena.engines.native_gzip import gunzip, libdeflate
from alb502athena.engines.native_pool import Lease, Pool
from alb502athena.logformat import LogFormat, log_format

BATCH_ROWS = 16384
READ_AHEAD_BYTES = 16 << 20  # of files as stored: with gzip, about 160 MB of text
# Offsets in a string view are 32-bit: a larger plain file is parsed in pieces cut at line ends.
_MAX_PIECE = 1 << 30


def installed() -> bool:
    """Whether the native reader's libraries are installed, libdeflate's C API included. Nothing heavy
    is imported."""
    modules = ("numba", "llvmlite", "deflate", "pyarrow", "numpy")
    if any(importlib.util.find_spec(m) is None for m in modules):
        return False
    try:
        libdeflate()
    except (OSError, AttributeError):
        return False
    return True


def available() -> bool:
    """Whether the native reader can run here: its libraries are installed and the format is one it
    can parse. The compiled parser is loaded later, by warm()."""
    from alb502athena.engines.native_program import UnsupportedFormat, compile_format

    if not installed():
        return False
    try:
        compile_format(log_format())
    except UnsupportedFormat:
        return False
    return True


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


@cache
def _parser(fmt: LogFormat) -> tuple[Any, Any, Any]:
    """The compiled parser for the format, the program's class tables and its column levels."""
    import numpy as np

    from alb502athena.engines.native_codegen import parser_source
    from alb502athena.engines.native_kernel import kernel
    from alb502athena.engines.native_program import compile_format

    program = compile_format(fmt)
    classes = np.ascontiguousarray(program.classes, dtype=np.uint8)
    return kernel(parser_source(program)), classes, program.column_levels()


def referenced_columns(sql: str, fmt: LogFormat | None = None) -> list[str]:
    """The table's columns whose names occur in the query text: a superset of what it reads."""
    fmt = fmt or log_format()
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql.lower()))
    return [c for c in fmt.column_names if c in words]


def _decompress(path: str, pool: Pool) -> tuple[Any, Lease | None]:
    """The file's bytes as a uint8 array, and the lease that owns them (None for a memory-mapped
    plain file, which the array itself keeps mapped)."""
    import numpy as np

    if path.endswith(".gz"):
        lease, size = gunzip(Path(path).read_bytes(), pool)
        return lease.array[:size], lease
    if os.path.getsize(path) == 0:
        return np.zeros(0, dtype=np.uint8), None
    return np.memmap(path, dtype=np.uint8, mode="r"), None


def _as_athena_reads(buf: Any, lease: Lease | None) -> tuple[Any, Lease | None]:
    """The text as Athena sees it: Hadoop decodes each line as UTF-8 and puts U+FFFD for each byte
    sequence that is not (DuckDB would refuse such strings). A newline is never inside a sequence,
    so decoding the whole buffer is decoding line by line. Pure ASCII, the usual log, costs one
    pass over the bytes."""
    import numpy as np

    if len(buf) == 0 or int(buf.max()) < 0x80:
        return buf, lease
    text = str(memoryview(buf), "utf-8", "replace")
    if "\ufffd" not in text:
        return buf, lease  # valid UTF-8
    fixed = text.encode("utf-8")
    if fixed == memoryview(buf):
        return buf, lease  # valid, U+FFFD included
    return np.frombuffer(fixed, dtype=np.uint8), None


def _pieces(buf: Any) -> list[tuple[int, Any]]:
    """The buffer cut at line ends into pieces a string view can address, with their offsets."""
    out = []
    offset = 0
    while len(buf) - offset > _MAX_PIECE:
        cut = offset + _last_line_end(buf[offset:], _MAX_PIECE)
        out.append((offset, buf[offset:cut]))
        offset = cut
    out.append((offset, buf[offset:]))
    return out


def _last_line_end(buf: Any, limit: int) -> int:
    import numpy as np

    ends = np.flatnonzero(buf[:limit] == 10)
    if len(ends) == 0:
        raise ValueError("a line longer than 1 GiB")
    return int(ends[-1]) + 1


@dataclass
class NativeScan:
    """Parses the given files (grouped by `day` partition value) into Arrow batches of the named columns
    and `day`. Files that cannot be read are skipped and listed in bad_files.

    start() begins decompressing on worker threads, before the columns are known: the engine calls it
    as soon as it has the file list, so that the files are being read while the process imports and
    sets up the rest (work that holds one core)."""

    files_by_day: Sequence[tuple[str | None, Sequence[str]]]
    threads: int = 2
    bad_files: list[tuple[str, str]] = field(default_factory=list)
    _started: bool = False

    def reader(self, columns: Sequence[str]) -> Any:
        import numpy as np
        import pyarrow as pa

        self.start()
        self.warm()
        self._columns = list(columns)
        self._schema = pa.schema([(c, pa.string_view()) for c in [*self._columns, "day"]])
        # Where each column of the format goes in the batches (-1: not written).
        names = log_format().column_names
        self._slots = np.full(len(names), -1, dtype=np.int64)
        for i, c in enumerate(self._columns):
            self._slots[names.index(c)] = i
        return pa.RecordBatchReader.from_batches(self._schema, self._batches())

    def start(self) -> None:
        """Start decompressing the first files on worker threads (libdeflate holds no GIL)."""
        if self._started:
            return
        self._started = True
        self._pool = Pool()
        self._sizes: dict[str, int] = {}
        self._loader = ThreadPoolExecutor(max(1, self.threads))
        self._parsers = ThreadPoolExecutor(max(1, self.threads))
        self._jobs = iter([(day, path) for day, paths in self.files_by_day for path in paths])
        self._loads: deque[tuple[str | None, str, Future[Any]]] = deque()
        self._ahead = 0
        self._top_up()

    def close(self) -> None:
        """Stop the workers of a scan that will not be read (reader() closes its own at the end)."""
        if self._started:
            self._loader.shutdown(cancel_futures=True)
            self._parsers.shutdown(cancel_futures=True)

    def _top_up(self) -> None:
        # Read ahead about 256 MB of log text (gzip is about a tenth of it), and at least one file.
        while not self._loads or self._ahead < READ_AHEAD_BYTES:
            job = next(self._jobs, None)
            if job is None:
                return
            day, path = job
            self._sizes[path] = _size(path)
            self._ahead += self._sizes[path]
            self._loads.append((day, path, self._loader.submit(_decompress, path, self._pool)))

    def warm(self) -> None:
        """Load the compiled parser (compiled with numba on the first run on a machine)."""
        _parser(log_format())

    def _batches(self) -> Iterator[Any]:
        self.start()
        parses: deque[Future[tuple[str, list[Any], str | None]]] = deque()
        try:
            while self._loads or parses:
                while self._loads and len(parses) < self.threads:
                    day, path, loaded = self._loads.popleft()
                    parses.append(self._parsers.submit(self._parse_file, day, path, loaded))
                path, batches, error = parses.popleft().result()
                self._ahead -= self._sizes[path]
                self._top_up()
                if error is not None:
                    self.bad_files.append((path, error))
                    continue
                yield from batches
        finally:
            self.close()

    def _parse_file(
        self, day: str | None, path: str, loaded: Future[tuple[Any, Lease | None]]
    ) -> tuple[str, list[Any], str | None]:
        try:
            buf, lease = loaded.result()
        except (OSError, EOFError, ValueError, zlib.error) as exc:
            return path, [], str(exc) or type(exc).__name__
        buf, lease = _as_athena_reads(buf, lease)
        try:
            batches = [
                b for offset, piece in _pieces(buf) for b in self._parse_buffer(piece, offset, lease, day)
            ]
        except ValueError as exc:
            return path, [], str(exc)
        return path, batches, None

    def _parse_buffer(self, buf: Any, offset: int, lease: Lease | None, day: str | None) -> Iterator[Any]:
        """Batches of the lines in `buf`, which starts at `offset` in the lease's array (or is a
        memory-mapped file when there is no lease). String views point into it."""
        import numpy as np
        import pyarrow as pa

        parse, classes, levels = _parser(log_format())
        data = lease.buffer(offset, len(buf)) if lease is not None else pa.py_buffer(buf)
        width = len(self._columns)
        stride = BATCH_ROWS * 16
        spans = np.empty(2 * len(levels), dtype=np.int64)
        out = np.zeros(1, dtype=np.int64)
        address = buf.ctypes.data
        pos = 0
        n = len(buf)
        while pos < n:
            views = self._pool.lease(width * stride)
            valid = np.zeros((width, (BATCH_ROWS + 7) // 8), dtype=np.uint8)
            rows = parse(
                address, pos, n, classes.ctypes.data, self._slots.ctypes.data, levels.ctypes.data,
                views.address, views.address, valid.ctypes.data, width, BATCH_ROWS,
                spans.ctypes.data, out.ctypes.data,
            )  # fmt: skip
            pos = int(out[0])
            arrays = [
                pa.Array.from_buffers(
                    pa.string_view(),
                    rows,
                    [pa.py_buffer(valid[i]), views.buffer(i * stride, rows * 16), data],
                )
                for i in range(width)
            ]
            arrays.append(_constant(day, rows))
            yield pa.RecordBatch.from_arrays(arrays, schema=self._schema)


def _constant(value: str | None, rows: int) -> Any:
    import numpy as np
    import pyarrow as pa

    views = np.zeros((rows, 16), dtype=np.uint8)
    if value is None:
        nulls = pa.py_buffer(np.zeros((rows + 7) // 8, dtype=np.uint8))
        return pa.Array.from_buffers(pa.string_view(), rows, [nulls, pa.py_buffer(views)])
    raw = value.encode()
    if len(raw) > 12:
        return pa.array([value] * rows, type=pa.string_view())
    views[:, 0:4] = np.frombuffer(len(raw).to_bytes(4, "little"), dtype=np.uint8)
    views[:, 4 : 4 + len(raw)] = np.frombuffer(raw, dtype=np.uint8)
    return pa.Array.from_buffers(pa.string_view(), rows, [None, pa.py_buffer(views)])
