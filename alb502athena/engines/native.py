"""The native reader: log files to Arrow record batches, parsed by a numba-compiled matcher of the format.

DuckDB reads gzip about three times slower than libdeflate, and matching the format in SQL costs as
much again; this reader decompresses with libdeflate and parses with code generated from
sql/log_format.yaml (native_program.py, native_codegen.py; compiled once per machine by numba and
loaded by native_kernel.py), on worker threads that hold no GIL, and hands
DuckDB Arrow string views that point into the decompressed bytes. Only the columns a query names are
written. Semantics are Hive's: a line that does not match the canonical regex is a row of NULLs, lines
end at \\n, \\r\\n or \\r, and an empty line is a row. The tests hold it to Python's `re` line by line.
"""

from __future__ import annotations

import gzip
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

from alb502athena.logformat import LogFormat, log_format

BATCH_ROWS = 16384
READ_AHEAD_BYTES = 16 << 20  # of files as stored: with gzip, about 160 MB of text
# Offsets in a string view are 32-bit: a larger plain file is parsed in pieces cut at line ends.
_MAX_PIECE = 1 << 30


def available() -> bool:
    """Whether the native reader can run here: numba, libdeflate and pyarrow are installed and the
    format is one it can parse. Nothing heavy is imported: that waits for warm()."""
    from alb502athena.engines.native_program import UnsupportedFormat, compile_format

    if any(importlib.util.find_spec(m) is None for m in ("numba", "llvmlite", "deflate", "pyarrow", "numpy")):
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


def _gunzip(data: bytes) -> bytes | bytearray:
    """Every gzip member of `data`, decompressed with libdeflate. libdeflate reads one member and says
    nothing of bytes after it, so the members are found first: each later member starts with the bytes
    1f 8b 08, and a cut there is a member's end exactly when libdeflate accepts the part before it
    (its CRC and length check the trailer). A cut inside a member is refused and the search goes on."""
    import deflate

    out: list[bytes | bytearray] = []
    start = 0
    at = data.find(b"\x1f\x8b\x08", 1)
    while at >= 0:
        try:
            part = deflate.gzip_decompress(data[start:at])
        except deflate.DeflateError:
            at = data.find(b"\x1f\x8b\x08", at + 1)
            continue
        out.append(part)
        start = at
        at = data.find(b"\x1f\x8b\x08", at + 1)
    out.append(deflate.gzip_decompress(data[start:]))
    return out[0] if len(out) == 1 else b"".join(out)


def _decompress(path: str) -> Any:
    import numpy as np

    if path.endswith(".gz"):
        data = Path(path).read_bytes()
        try:
            raw = _gunzip(data)
        except Exception:
            # A damaged file: the standard library says what is wrong with it.
            raw = gzip.decompress(data)
        return np.frombuffer(raw, dtype=np.uint8)
    if os.path.getsize(path) == 0:
        return np.zeros(0, dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r")


def _pieces(buf: Any) -> list[Any]:
    out = []
    while len(buf) > _MAX_PIECE:
        cut = _last_line_end(buf, _MAX_PIECE)
        out.append(buf[:cut])
        buf = buf[cut:]
    out.append(buf)
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
    and `day`. Files that cannot be read are skipped and listed in bad_files."""

    files_by_day: Sequence[tuple[str | None, Sequence[str]]]
    columns: Sequence[str]
    threads: int = 2
    bad_files: list[tuple[str, str]] = field(default_factory=list)
    _started: bool = False

    def reader(self) -> Any:
        import pyarrow as pa

        self.start()
        return pa.RecordBatchReader.from_batches(self._schema, self._batches())

    def start(self) -> None:
        """Start decompressing the first files on worker threads (libdeflate holds no GIL), so that it
        overlaps with loading the compiled parser, which the caller does next with warm()."""
        if self._started:
            return
        import numpy as np
        import pyarrow as pa

        self._started = True
        self._schema = pa.schema([(c, pa.string_view()) for c in [*self.columns, "day"]])
        # Where each column of the format goes in the batches (-1: not written).
        names = log_format().column_names
        self._slots = np.full(len(names), -1, dtype=np.int64)
        for i, c in enumerate(self.columns):
            self._slots[names.index(c)] = i
        self._sizes: dict[str, int] = {}
        self._loader = ThreadPoolExecutor(max(1, self.threads))
        self._parsers = ThreadPoolExecutor(max(1, self.threads))
        self._jobs = iter([(day, path) for day, paths in self.files_by_day for path in paths])
        self._loads: deque[tuple[str | None, str, Future[Any]]] = deque()
        self._ahead = 0
        self._top_up()

    def _top_up(self) -> None:
        # Read ahead about 256 MB of log text (gzip is about a tenth of it), and at least one file.
        while not self._loads or self._ahead < READ_AHEAD_BYTES:
            job = next(self._jobs, None)
            if job is None:
                return
            day, path = job
            self._sizes[path] = _size(path)
            self._ahead += self._sizes[path]
            self._loads.append((day, path, self._loader.submit(_decompress, path)))

    def warm(self) -> None:
        """Load the compiled parser (compiled with numba on the first run on a machine)."""
        self.start()
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
            self._loader.shutdown(cancel_futures=True)
            self._parsers.shutdown(cancel_futures=True)

    def _parse_file(
        self, day: str | None, path: str, loaded: Future[Any]
    ) -> tuple[str, list[Any], str | None]:
        try:
            buf = loaded.result()
        except (OSError, EOFError, ValueError, zlib.error) as exc:
            return path, [], str(exc) or type(exc).__name__
        try:
            return path, [b for piece in _pieces(buf) for b in self._parse_buffer(piece, day)], None
        except ValueError as exc:
            return path, [], str(exc)

    def _parse_buffer(self, buf: Any, day: str | None) -> Iterator[Any]:
        import numpy as np
        import pyarrow as pa

        parse, classes, levels = _parser(log_format())
        data = pa.py_buffer(buf)
        width = len(self.columns)
        spans = np.empty(2 * len(levels), dtype=np.int64)
        out = np.zeros(1, dtype=np.int64)
        address = buf.ctypes.data
        pos = 0
        n = len(buf)
        while pos < n:
            views = np.empty((width, BATCH_ROWS, 16), dtype=np.uint8)
            valid = np.zeros((width, (BATCH_ROWS + 7) // 8), dtype=np.uint8)
            rows = parse(
                address, pos, n, classes.ctypes.data, self._slots.ctypes.data, levels.ctypes.data,
                views.ctypes.data, views.ctypes.data, valid.ctypes.data, width, BATCH_ROWS,
                spans.ctypes.data, out.ctypes.data,
            )  # fmt: skip
            pos = int(out[0])
            arrays = [
                pa.Array.from_buffers(
                    pa.string_view(), rows, [pa.py_buffer(valid[i]), pa.py_buffer(views[i]), data]
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
