"""The native reader: log files to Arrow record batches, parsed by a numba-compiled matcher of the format.

DuckDB reads gzip about three times slower than libdeflate, and matching the format in SQL costs as
much again; this reader decompresses with libdeflate and parses with code generated from
sql/log_format.yaml (native_program.py, native_codegen.py), on worker threads that hold no GIL, and hands
DuckDB Arrow string views that point into the decompressed bytes. Only the columns a query names are
written. Semantics are Hive's: a line that does not match the canonical regex is a row of NULLs, lines
end at \\n, \\r\\n or \\r, and an empty line is a row. The tests hold it to Python's `re` line by line.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import re
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from alb502athena import __version__
from alb502athena.engines.compiled import cache_dir
from alb502athena.logformat import LogFormat, log_format

BATCH_ROWS = 16384
# Offsets in a string view are 32-bit: a larger plain file is parsed in pieces cut at line ends.
_MAX_PIECE = 1 << 30


def available() -> bool:
    """Whether the native reader can run here (numba, libdeflate and pyarrow import, the format compiles)."""
    try:
        _parser(log_format())
    except Exception:
        return False
    return True


@cache
def _parser(fmt: LogFormat) -> tuple[ModuleType, Any]:
    """The generated parser module for the format, and the program's class tables. The source is written
    to the cache folder so that numba can cache its machine code beside it."""
    import numba  # noqa: F401  (fail here, not in the worker threads, when it is missing)

    from alb502athena.engines.native_codegen import parser_source
    from alb502athena.engines.native_program import compile_format

    program = compile_format(fmt)
    source = parser_source(program)
    digest = hashlib.sha256(f"{__version__}\n{source}".encode()).hexdigest()[:16]
    folder = cache_dir().parent / "native"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"alb_parser_{digest}.py"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(source, encoding="utf-8")
        tmp.replace(path)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # numba's cache finds a function's module by name
    spec.loader.exec_module(module)
    return module, program


def referenced_columns(sql: str, fmt: LogFormat | None = None) -> list[str]:
    """The table's columns whose names occur in the query text: a superset of what it reads."""
    fmt = fmt or log_format()
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql.lower()))
    return [c for c in fmt.column_names if c in words]


def _decompress(path: str) -> Any:
    import numpy as np

    if path.endswith(".gz"):
        data = Path(path).read_bytes()
        try:
            import deflate

            raw: bytes = deflate.gzip_decompress(data)
        except Exception:
            # Several gzip members, or a damaged file: the standard library says which.
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

    def schema(self) -> Any:
        import pyarrow as pa

        return pa.schema([(c, pa.string_view()) for c in [*self.columns, "day"]])

    def reader(self) -> Any:
        import pyarrow as pa

        return pa.RecordBatchReader.from_batches(self.schema(), self._batches())

    def _batches(self) -> Iterator[Any]:
        jobs = [(day, path) for day, paths in self.files_by_day for path in paths]
        pending: deque[Future[Any]] = deque()
        with ThreadPoolExecutor(max(1, self.threads)) as pool:
            it = iter(jobs)
            # Only a few files are in memory at once: the next ones start as earlier ones are consumed.
            for job in it:
                pending.append(pool.submit(self._parse_file, *job))
                if len(pending) > self.threads:
                    break
            while pending:
                path, batches, error = pending.popleft().result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.append(pool.submit(self._parse_file, *nxt))
                if error is not None:
                    self.bad_files.append((path, error))
                    continue
                yield from batches

    def _parse_file(self, day: str | None, path: str) -> tuple[str, list[Any], str | None]:
        try:
            buf = _decompress(path)
        except (OSError, EOFError, ValueError, gzip.BadGzipFile) as exc:
            return path, [], str(exc) or type(exc).__name__
        try:
            return path, [b for piece in _pieces(buf) for b in self._parse_buffer(piece, day)], None
        except ValueError as exc:
            return path, [], str(exc)

    def _parse_buffer(self, buf: Any, day: str | None) -> Iterator[Any]:
        import numpy as np
        import pyarrow as pa

        module, program = _parser(log_format())
        names = log_format().column_names
        slots = np.full(len(names), -1, dtype=np.int64)
        for i, c in enumerate(self.columns):
            slots[names.index(c)] = i
        data = pa.py_buffer(buf)
        width = len(self.columns)
        pos = 0
        n = len(buf)
        while pos < n:
            views = np.empty((width, BATCH_ROWS, 16), dtype=np.uint8)
            valid = np.zeros((width, (BATCH_ROWS + 7) // 8), dtype=np.uint8)
            rows, pos = module.parse(buf, pos, n, program.classes, slots, views, valid)
            arrays = [
                pa.Array.from_buffers(
                    pa.string_view(), rows, [pa.py_buffer(valid[i]), pa.py_buffer(views[i]), data]
                )
                for i in range(width)
            ]
            arrays.append(_constant(day, rows))
            yield pa.RecordBatch.from_arrays(arrays, schema=self.schema())


def _constant(value: str | None, rows: int) -> Any:
    import numpy as np
    import pyarrow as pa

    views = np.zeros((rows, 16), dtype=np.uint8)
    if value is None:
        return pa.Array.from_buffers(
            pa.string_view(), rows, [pa.py_buffer(np.zeros((rows + 7) // 8, dtype=np.uint8)), pa.py_buffer(views)]
        )
    raw = value.encode()
    if len(raw) > 12:
        return pa.array([value] * rows, type=pa.string_view())
    views[:, 0:4] = np.frombuffer(len(raw).to_bytes(4, "little"), dtype=np.uint8)
    views[:, 4 : 4 + len(raw)] = np.frombuffer(raw, dtype=np.uint8)
    return pa.Array.from_buffers(pa.string_view(), rows, [None, pa.py_buffer(views)])
