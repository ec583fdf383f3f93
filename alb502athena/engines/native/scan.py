"""The native reader: log files to Arrow record batches, parsed by a numba-compiled matcher of the format.

DuckDB reads gzip about three times slower than libdeflate, and matching the format in SQL costs as
much again. This reader decompresses with libdeflate into pooled buffers (gzip.py,
pool.py) and parses with code generated from sql/log_format.yaml (program.py,
codegen.py; compiled once per machine by numba, loaded by kernel.py), on worker threads
that hold no GIL, and hands DuckDB Arrow string views that point into the decompressed bytes. Only
the columns a query names are written.

Semantics are Hive's: a line that does not match the canonical regex is a row of NULLs, lines end at
\\n, \\r\\n or \\r, an empty line is a row, and bytes that are not UTF-8 read as U+FFFD. The tests hold
it to Python's `re` line by line, and to a real Trino.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import re
import threading
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from alb502athena.engines.native.gzip import DamagedGzip, libdeflate
from alb502athena.engines.native.pool import Lease, Pool
from alb502athena.engines.native.source import (
    Chunk,
    LinesRefused,
    ObjectReading,
    ObjectSource,
    chunks,
    pieces,
)
from alb502athena.logformat import LogFormat, log_format

BATCH_ROWS = 16384
# Read-ahead, bounded in text read but not yet taken by the parsers (what memory holds), and in files
# in flight (each costs a queue and its buffers). It was once counted in bytes of files as stored:
# tens of thousands of small files were in flight at once, with 10 GiB of buffers.
READ_AHEAD_TEXT = 96 << 20
READ_AHEAD_FILES = 64
# Below this many bytes left in a buffer, its line ends are counted so that a batch's string views
# are sized to its rows (a ten-line file takes a few hundred bytes of them, not megabytes).
_COUNT_ROWS_BELOW = 1 << 18
# Chunks up to _PACK_BELOW bytes that are ready are parsed together, up to _PACK_BYTES.
_PACK_BELOW = 1 << 20
_PACK_BYTES = 8 << 20
# Offsets in a string view are 32-bit: a bigger chunk is parsed in pieces cut after line ends.
_MAX_PIECE = 1 << 30


def installed() -> bool:
    """Whether the native reader's libraries are installed, libdeflate's C API included. Nothing heavy
    is imported."""
    modules = ("numba", "llvmlite", "deflate", "isal", "pyarrow", "numpy")
    if any(importlib.util.find_spec(m) is None for m in modules):
        return False
    try:
        libdeflate()
    except (OSError, AttributeError):
        return False
    return True


def supports_format() -> bool:
    """Whether the native parser can match the log format exactly (else the SQL view reads it)."""
    from alb502athena.engines.native.program import UnsupportedFormat, compile_format

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


def _text_size(load: _Load) -> int:
    """About how many bytes of text a file holds: for gzip, the size its trailer records (of its last
    member, modulo 4 GiB: an estimate, for progress only)."""
    if not load.path.endswith(".gz") or load.size < 18:
        return load.size
    try:
        with open(load.path, "rb") as f:
            f.seek(-4, os.SEEK_END)
            return int.from_bytes(f.read(4), "little") or load.size
    except OSError:
        return load.size


@cache
def _parser(fmt: LogFormat) -> tuple[Any, Any, Any]:
    """The compiled parser for the format, the program's class tables and its column levels."""
    import numpy as np

    from alb502athena.engines.native.codegen import parser_source
    from alb502athena.engines.native.kernel import kernel
    from alb502athena.engines.native.program import compile_format

    program = compile_format(fmt)
    classes = np.ascontiguousarray(program.classes, dtype=np.uint8)
    return kernel(parser_source(program)), classes, program.column_levels()


def needs_compiling() -> bool:
    """Whether loading the parser means compiling it first (seconds): it is neither loaded in this
    process nor compiled on this machine before."""
    from alb502athena.engines.native.codegen import parser_source
    from alb502athena.engines.native.kernel import is_compiled
    from alb502athena.engines.native.program import compile_format

    if _parser.cache_info().currsize:
        return False
    return not is_compiled(parser_source(compile_format(log_format())))


def referenced_columns(sql: str, fmt: LogFormat | None = None) -> list[str]:
    """The table's columns whose names occur in the query text: a superset of what it reads."""
    fmt = fmt or log_format()
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql.lower()))
    return [c for c in fmt.column_names if c in words]


_END = object()  # a load's last item
_NOTHING = object()  # no item yet


@dataclass(frozen=True)
class ScanProgress:
    """How far a scan is: files and bytes (as stored, gzip or not) whose every line went to the parser."""

    files_done: int
    files: int
    bytes_done: int
    bytes: int

    @property
    def percent(self) -> float:
        if self.bytes:
            return 100 * self.bytes_done / self.bytes
        return 100 * self.files_done / self.files if self.files else 100.0


class ScanClosed(RuntimeError):
    """Batches were asked of a scan after close()."""


@dataclass
class _Failed:
    reason: str
    read_whole: bool = False  # every line that could be read was (read through damage, a refused line)


@dataclass
class _Crashed:
    error: BaseException


@dataclass
class _Load:
    """A file being read: its chunks arrive in a short queue, so that a big file never waits
    whole in memory."""

    day: str | None
    path: str
    size: int = 0  # as stored, measured by the loader (a stat per file where it runs in parallel)
    chunks: queue.Queue[Any] = field(default_factory=lambda: queue.Queue(maxsize=2))
    dispatched: int = 0  # chunks handed to the parsers so far
    peeked: Any = None  # an item taken from `chunks` but left for the next job
    parsed: int = 0  # bytes of its text parsed so far, for progress() (parsers add, one chunk each)


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
    # Of bad_files, those damaged midway after some of their lines were read and counted.
    partial_files: set[str] = field(default_factory=set)
    # Where the files are read from when not the file system (S3 objects, by their s3:// names).
    source: ObjectSource | None = None
    _started: bool = False
    _stopped: bool = False

    def reader(self, columns: Sequence[str]) -> Any:
        import numpy as np
        import pyarrow as pa

        self.start()
        # The compiled parser: loaded from the cache, or compiled once. Kept here: looking it up
        # hashes the whole format, which cost more than parsing a small file.
        self._compiled = _parser(log_format())
        self._columns = list(columns)
        self._schema = pa.schema([(c, pa.string_view()) for c in [*self._columns, "day"]])
        # Where each column of the format goes in the batches (-1: not written).
        names = log_format().column_names
        self._slots = np.full(len(names), -1, dtype=np.int64)
        for i, c in enumerate(self._columns):
            self._slots[names.index(c)] = i
        return pa.RecordBatchReader.from_batches(self._schema, self._batches())

    def start(self) -> None:
        """Start reading the first files on worker threads (libdeflate and ISA-L hold no GIL)."""
        if self._started:
            return
        self._started = True
        self._pool = Pool()
        self._closing = threading.Event()
        self._reading: ObjectReading | None = None
        if self.source is not None:
            self._reading = self.source.reading([p for _, paths in self.files_by_day for p in paths])
        # Loaders are daemon threads, not an executor's: a loader waits for its file's chunks to be
        # taken, and a scan that is never read (the engine's first query never ran) must not keep
        # the process from exiting, which joins an executor's threads.
        self._load_queue: queue.Queue[_Load | None] = queue.Queue()
        for _ in range(max(1, self.threads)):
            threading.Thread(target=self._loader, daemon=True, name="alb502-loader").start()
        self._parsers = ThreadPoolExecutor(max(1, self.threads))
        # Taken one at a time: a list of a million files was 70 MB of tuples.
        self._jobs = ((day, path) for day, paths in self.files_by_day for path in paths)
        self._loads: deque[_Load] = deque()
        self._named: set[str] = set()  # the paths in bad_files
        # Bytes of text loaded and not yet taken by the parsers; loaders wait while it is over
        # READ_AHEAD_TEXT, except for the file the parsers wait for.
        self._text_ahead = 0
        self._budget = threading.Condition()
        # Progress, written by the thread that reads the batches only, read by any (progress()).
        self._totals: tuple[int, int] | None = None  # files and bytes, measured when first asked
        self._text_sizes: dict[str, int] = {}
        self._shown = 0  # the bytes progress() last said were done
        self._files_done = 0
        self._bytes_done = 0
        self._top_up()

    def progress(self) -> ScanProgress:
        """Files and bytes handed to the parser so far, of all; zero before start(). Read-only, safe
        to call from another thread while the scan runs (DuckDB cannot see an Arrow stream's progress)."""
        if not self._started:
            return ScanProgress(0, 0, 0, 0)
        if self._totals is None:
            paths = [path for _, paths in self.files_by_day for path in paths]
            self._totals = len(paths), sum(self._size_of(path) for path in paths)
        files, size = self._totals
        # A big file is read in chunks: the one being read counts for the share of its text parsed.
        head = next(iter(list(self._loads)), None)
        partial = 0
        if head is not None and head.parsed and self._reading is None:
            text = self._text_sizes.get(head.path) or self._text_sizes.setdefault(head.path, _text_size(head))
            partial = min(head.size, head.size * head.parsed // max(text, 1))
        # Never backwards, whatever the reading thread did between the reads above.
        self._shown = max(self._shown, min(size, self._bytes_done + partial))
        return ScanProgress(self._files_done, files, self._shown, size)

    def stop(self) -> None:
        """Make the batches end with ScanClosed (for Ctrl-C: called from the signal handler, between
        any two bytecodes of the main thread, so it only sets flags and takes no lock). The source stops
        too, at once: the main thread may be busy for seconds before the batches see the flag
        (compiling the parser), and meanwhile its downloads would go on, each GET billed."""
        self._stopped = True
        if self.source is not None:
            self.source.stop()

    def close(self) -> None:
        """Stop the workers and let go of what they read (reader() closes its own scan at the end)."""
        if not self._started:
            return
        self._closing.set()  # a loader waiting to hand over a chunk gives up
        for _ in range(max(1, self.threads)):
            self._load_queue.put(None)
        self._parsers.shutdown(cancel_futures=True)
        self._loads.clear()
        self._pool.close()
        if self._reading is not None:
            self._reading.close()

    def _loader(self) -> None:
        while (load := self._load_queue.get()) is not None and not self._closing.is_set():
            self._load(load)

    def _top_up(self) -> None:
        # READ_AHEAD_FILES files in flight; their loaders wait for room in READ_AHEAD_TEXT.
        while not self._closing.is_set() and len(self._loads) < READ_AHEAD_FILES:
            job = next(self._jobs, None)
            if job is None:
                return
            load = _Load(job[0], job[1])
            self._loads.append(load)
            self._load_queue.put(load)

    def _size_of(self, path: str) -> int:
        return self._reading.size(path) if self._reading is not None else _size(path)

    def _load(self, load: _Load) -> None:
        load.size = self._size_of(load.path)
        try:
            read = self._reading.chunks if self._reading is not None else chunks
            for chunk in read(load.path, self._pool):
                if not self._wait_for_room(load, len(chunk[0])):
                    return
                if not self._hand_over(load.chunks, chunk):
                    return
            self._hand_over(load.chunks, _END)
        except DamagedGzip as exc:
            self._hand_over(load.chunks, _Failed(str(exc), read_whole=exc.read_whole))
        except LinesRefused as exc:
            self._hand_over(load.chunks, _Failed(str(exc), read_whole=True))
        except (OSError, EOFError, ValueError, zlib.error) as exc:
            self._hand_over(load.chunks, _Failed(str(exc) or type(exc).__name__))
        except BaseException as exc:  # a bug: the reader raises it, rather than wait forever
            self._hand_over(load.chunks, _Crashed(exc))

    def _wait_for_room(self, load: _Load, size: int) -> bool:
        """Wait until the text read ahead leaves room for `size` more bytes, then count them in. The
        file the parsers wait for never waits (they would wait for each other), nor does a chunk
        when nothing else is ahead. False when the scan closes meanwhile."""
        with self._budget:
            while self._text_ahead and self._text_ahead + size > READ_AHEAD_TEXT and not self._is_next(load):
                if self._closing.is_set():
                    return False
                self._budget.wait(0.05)
            self._text_ahead += size
        return True

    def _is_next(self, load: _Load) -> bool:
        try:
            return self._loads[0] is load
        except IndexError:  # the scan is closing
            return False

    def _taken(self, size: int) -> None:
        """`size` bytes of text (0 for none) left the read-ahead, or the next file changed."""
        with self._budget:
            self._text_ahead -= size
            self._budget.notify_all()

    def _hand_over(self, chunks: queue.Queue[Any], item: Any) -> bool:
        while not self._closing.is_set():
            try:
                chunks.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _next_job(self) -> list[tuple[_Load, Chunk]] | None:
        """The next chunks for a parser, in file order, once a loader has the first; None when every
        file is read. Small chunks (the whole text of a small file, say) that are ready go together,
        up to _PACK_BYTES of one day: one parse and one batch for many small files, where each
        cost about half a millisecond."""
        if self._closing.is_set() or self._stopped:
            raise ScanClosed("the scan was closed while it was being read")
        job: list[tuple[_Load, Chunk]] = []
        size = 0
        while self._loads:
            load = self._loads[0]
            item = self._take(load, wait=not job)
            if item is _NOTHING:
                break
            if isinstance(item, _Crashed):
                raise item.error
            if item is _END or isinstance(item, _Failed):
                self._loads.popleft()
                self._taken(0)  # another file is next: its loader may go on
                self._files_done += 1
                self._bytes_done += load.size
                self._top_up()
                if isinstance(item, _Failed):
                    self._failed(load, item.reason, item.read_whole)
                continue
            n = len(item[0])
            if job and (n > _PACK_BELOW or size + n > _PACK_BYTES or load.day != job[0][0].day):
                load.peeked = item  # the next job's
                break
            self._taken(n)
            load.dispatched += 1
            job.append((load, item))
            size += n
            if n > _PACK_BELOW:
                break
        return job or None

    def _take(self, load: _Load, wait: bool) -> Any:
        """The file's next item; without `wait`, _NOTHING when the loader has not handed it over yet."""
        if load.peeked is not None:
            item, load.peeked = load.peeked, None
            return item
        # A closed scan has no loaders left to answer: stop rather than wait, or end short.
        while True:
            if self._closing.is_set() or self._stopped:
                raise ScanClosed("the scan was closed while it was being read")
            try:
                return load.chunks.get(timeout=0.05) if wait else load.chunks.get_nowait()
            except queue.Empty:
                if not wait:
                    return _NOTHING

    def _failed(self, load: _Load, reason: str, read_whole: bool = False) -> None:
        if load.path in self._named:
            return
        self._named.add(load.path)
        if read_whole:
            # Every line was read, and counted: later queries read it all again, as this one did.
            self.bad_files.append((load.path, reason))
            self.partial_files.add(load.path)
        elif load.dispatched:
            # Chunks of it were counted already: deflate finds some damage only after decoding
            # bytes from it, so the last of them may be garbled.
            self.bad_files.append(
                (load.path, f"{reason} (the lines read before the damage was found are counted)")
            )
            self.partial_files.add(load.path)
        else:
            self.bad_files.append((load.path, reason))

    def _batches(self) -> Iterator[Any]:
        self.start()
        parses: deque[tuple[_Load, Future[tuple[list[Any], list[int]]]]] = deque()
        try:
            while True:
                while len(parses) < self.threads:
                    job = self._next_job()
                    if job is None:
                        break
                    parses.append((job[0][0], self._parsers.submit(self._parse_job, job)))
                if not parses:
                    return
                load, parsed = parses.popleft()
                batches, refused = parsed.result()
                if refused:  # only a job of one chunk can hold a line too long for a string view
                    self._failed(load, str(LinesRefused(len(refused), max(refused), _MAX_PIECE)), True)
                yield from batches
        finally:
            self.close()

    def _parse_job(self, job: list[tuple[_Load, Chunk]]) -> tuple[list[Any], list[int]]:
        """The batches of a job's chunks, and the sizes of lines refused for being too long."""
        if len(job) == 1:
            load, (buf, lease) = job[0]
            cut, refused = pieces(buf, _MAX_PIECE)
            # A piece with no offset is not in the chunk: it owns its bytes.
            batches = [
                b
                for offset, piece in cut
                for b in self._parse_buffer(piece, lease if offset is not None else None, load.day)
            ]
            load.parsed += len(buf)
            return batches, refused
        buf, lease = self._packed([chunk for _, chunk in job])
        for load, (chunk, _) in job:
            load.parsed += len(chunk)
        return list(self._parse_buffer(buf, lease, job[0][0].day)), []

    def _packed(self, chunks: list[Chunk]) -> Chunk:
        """The chunks one after the other in one buffer, each ended by a \\n if it does not end with
        one: its last line ends there, as at the end of its file (after a \\r, the \\n makes a
        \\r\\n, one line end, so that a \\n starting the next file still ends an empty line)."""
        lease = self._pool.lease(sum(len(buf) + 1 for buf, _ in chunks))
        array = lease.array
        at = 0
        for buf, _ in chunks:
            array[at : at + len(buf)] = buf
            at += len(buf)
            if len(buf) and buf[-1] != 10:
                array[at] = 10
                at += 1
        return array[:at], lease

    def _parse_buffer(self, buf: Any, lease: Lease | None, day: str | None) -> Iterator[Any]:
        """Batches of the lines in `buf`, a part of the lease's array (or an array that owns its
        bytes, when there is no lease). String views point into it."""
        import numpy as np
        import pyarrow as pa

        parse, classes, levels = self._compiled
        address = buf.ctypes.data
        data = lease.buffer(address - lease.address, len(buf)) if lease is not None else pa.py_buffer(buf)
        width = len(self._columns)
        spans = np.empty(2 * len(levels), dtype=np.int64)
        out = np.zeros(1, dtype=np.int64)
        pos = 0
        n = len(buf)
        while pos < n:
            cap = BATCH_ROWS
            if n - pos < _COUNT_ROWS_BELOW:
                rest = buf[pos:]
                cap = min(cap, int(np.count_nonzero(rest == 10)) + int(np.count_nonzero(rest == 13)) + 1)
            stride = cap * 16
            views = self._pool.lease(width * stride)
            valid = np.zeros((width, (cap + 7) // 8), dtype=np.uint8)
            rows = parse(
                address, pos, n, classes.ctypes.data, self._slots.ctypes.data, levels.ctypes.data,
                views.address, views.address, valid.ctypes.data, width, cap,
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
