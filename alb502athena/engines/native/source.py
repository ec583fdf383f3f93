"""Log files as chunks of whole lines, as Athena reads them, in buffers from the pool.

A gzip file of up to WHOLE bytes of text is one chunk, decompressed at once by libdeflate. A plain
file, or a bigger gzip file, is streamed in chunks of about CHUNK bytes cut after a line end, so
that memory stays bounded whatever a file's size (ALB writes a file per node every five minutes,
and a busy node's file holds millions of lines) and its chunks are parsed in parallel. libdeflate
cannot stream, so big gzip files go through ISA-L's reader (python-isal: 850 MB/s here, twice
zlib's speed, and it holds the GIL less).

Plain files are read, not memory-mapped: a mapping holds a descriptor per file queued (thousands of
small files ran out of them), and a file truncated while mapped (log rotation) kills the process
with SIGBUS when a page past its new end is touched. A file read is open only while it is read.

A line longer than MAX_LINE is refused, not held: it reads as one unparsed line (a row of NULLs, as
an empty line), the rest of the file is read, and the file is named once it is done.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from alb502athena.engines.native.gzip import DamagedGzip, GzipText, gunzip
from alb502athena.engines.native.pool import Lease, Pool
from alb502athena.logfiles import open_regular

WHOLE = 256 << 20  # bytes of text read as one chunk
CHUNK = 32 << 20  # bytes of text per chunk of a bigger file
WHOLE_GZIP = 32 << 20  # bytes of gzip: a bigger file is streamed, whatever its trailer says
# A longer line is refused (found so when more than this much of it is read without its end, so a
# line up to about CHUNK longer may pass). Real ALB lines are kilobytes; the bound keeps a streamed
# file's memory at a few chunks whatever a file holds (a 2 GiB line took 4 GiB and lost the lines
# after it).
MAX_LINE = 16 << 20

Chunk = tuple[Any, Lease | None]  # a uint8 array of whole lines, and the lease that owns it


class ObjectReading(Protocol):
    """The files of one scan read from elsewhere than the file system (S3 objects): fetched ahead in the
    scan's order, each handed over as chunks(). A file that cannot be fetched raises OSError from chunks()."""

    def size(self, path: str) -> int: ...

    def chunks(self, path: str, pool: Pool) -> Iterator[Chunk]: ...

    def close(self) -> None: ...


class ObjectSource(Protocol):
    def reading(self, paths: Sequence[str]) -> ObjectReading:
        """A reading of `paths`, in this order (a scan's)."""
        ...

    def stop(self) -> None:
        """Ctrl-C: fetch nothing more, and end every wait for a fetch (its readings' chunks() raise
        OSError). Called from the signal handler: it only sets flags and takes no lock."""
        ...


class Shrank(OSError):
    """A plain file got shorter while it was read (rotated or truncated): the lines read before are kept."""


class LinesRefused(ValueError):
    """Raised once a file is read to its end, when lines of it were longer than MAX_LINE: each was read
    as one unparsed line, every other line as usual."""

    def __init__(self, count: int, longest: int, limit: int) -> None:
        if count == 1:
            what = f"a line of {longest:,} bytes is longer than the {limit:,}-byte limit: it is"
        else:
            what = (
                f"{count:,} lines (the longest {longest:,} bytes) are longer than the {limit:,}-byte "
                "limit: each is"
            )
        super().__init__(f"{what} counted as one unparsed line; every other line was read")


def chunks(path: str, pool: Pool) -> Iterator[Chunk]:
    """The file's text in chunks of whole lines (the last may lack its line end). Damage raises the
    standard library's own errors (OSError, ValueError), which name it; a gzip file is read through its
    damage first, and then raises DamagedGzip, which says what was counted; Shrank and LinesRefused
    come after every line that could be read."""
    if path.endswith(".gz"):
        with open_regular(path) as raw:
            size = os.fstat(raw.fileno()).st_size
            yield from _gzip_chunks(raw, size, pool)
        return
    stream = _Snapshot(path)
    hint = stream.size
    with stream:
        for chunk in _streamed(stream, pool, hint):
            yield as_athena_reads(*chunk)


def memory_chunks(data: bytes, gzipped: bool, pool: Pool) -> Iterator[Chunk]:
    """As chunks(), for a file's bytes already in memory (an S3 object's body): the same reading, the
    same errors, without a file."""
    if gzipped:
        yield from _gzip_chunks(None, len(data), pool, data)
        return
    for chunk in _streamed(io.BytesIO(data), pool, len(data)):
        yield as_athena_reads(*chunk)


def _gzip_chunks(raw: io.FileIO | None, size: int, pool: Pool, data: bytes | None = None) -> Iterator[Chunk]:
    text = _gzip_stream(raw, size, pool, data)
    if not isinstance(text, GzipText):
        yield as_athena_reads(*text)
        return
    with text:
        refused: LinesRefused | None = None
        try:
            for chunk in _streamed(text, pool):
                yield as_athena_reads(*chunk)
        except LinesRefused as exc:
            refused = exc  # raised after the damage note, which must not be lost
        try:
            text.damage()
        except DamagedGzip as exc:
            if refused is None:
                raise
            raise DamagedGzip(f"{exc}; {refused}", read_whole=exc.read_whole) from None
        if refused is not None:
            raise refused


class _Snapshot:
    """A plain file read once from start to end, open only meanwhile, that raises Shrank at its end
    if it ended before the size it had when opened."""

    def __init__(self, path: str) -> None:
        self._file = open_regular(path)
        self.size = os.fstat(self._file.fileno()).st_size
        self._read = 0

    def readinto(self, buffer: Any) -> int:
        n = self._file.readinto(buffer) or 0
        self._read += n
        if n == 0 and self._read < self.size:
            raise Shrank(
                f"the file ended after {self._read:,} of its {self.size:,} bytes while it was read "
                "(rotated or truncated?)"
            )
        return n

    def __enter__(self) -> _Snapshot:
        return self

    def __exit__(self, *_: object) -> None:
        self._file.close()


def _gzip_stream(
    raw: io.FileIO | None, size: int, pool: Pool, data: bytes | None = None
) -> tuple[Any, Lease] | GzipText:
    """A small gzip file's whole text, decompressed at once (the fast path); or, for a big one, one
    whose text outgrows WHOLE whatever its trailer says, or a damaged one, a stream of its text. The
    bytes are read from `raw`, or given as `data` (already in memory)."""
    if size > WHOLE_GZIP:
        return GzipText(io.BufferedReader(raw) if raw is not None else io.BytesIO(data or b""))
    if data is None:
        assert raw is not None
        data = raw.readall()
    # The trailer holds the last member's size (mod 4 GiB, if it is honest): only a guess of the size,
    # for the buffer; a file it says is big is streamed from the start, rather than after WHOLE bytes.
    if len(data) < 18 or int.from_bytes(data[-4:], "little") <= WHOLE:
        whole = gunzip(data, pool, WHOLE)
        if whole is not None:
            lease, n = whole
            return lease.array[:n], lease
    return GzipText(io.BytesIO(data))


def _streamed(stream: Any, pool: Pool, size: int | None = None) -> Iterator[Chunk]:
    """The text of `stream` (anything with readinto) in chunks of whole lines, in about CHUNK bytes.
    With the expected `size` (a plain file's), a small file takes a buffer of its size, not CHUNK.
    A line longer than MAX_LINE is skipped to its end without being held: it comes as a chunk of one
    empty line (one unparsed row), and LinesRefused is raised after the last chunk."""
    import numpy as np

    limit = MAX_LINE
    carry = np.zeros(0, dtype=np.uint8)  # the start of a line the last chunk cut off
    fresh = 0  # where in carry a line end may be: before it, there is none
    done = 0  # bytes read
    refused: list[int] = []  # the sizes of lines refused
    while True:
        want = max(CHUNK, len(carry))  # a long line doubles the read, so that it is copied O(1) times
        if size is not None:
            # One byte more than is left, to see the end; past it (the file grew), reads that double.
            want = min(want, size - done + 1 if done < size else max(1 << 12, done - size))
        lease = pool.lease(len(carry) + want)
        array = lease.array
        array[: len(carry)] = carry
        read = stream.readinto(memoryview(array)[len(carry) : len(carry) + want])
        done += read
        total = len(carry) + read
        if read == 0:
            if total:
                yield array[:total], lease
            break
        cut = after_last_line_end(array[fresh:total])
        if cut:
            cut += fresh
            start = 0
            if fresh:
                # The line carried over ends in this read: how long it was depends on how much each
                # read returned, so its length is checked here too, and the limit is exact.
                end = fresh + _first_line_end(array[fresh:cut])
                if end > limit:
                    start = end + (2 if array[end] == 13 and end + 1 < cut and array[end + 1] == 10 else 1)
                    refused.append(end)
                    yield np.frombuffer(_LINE_END, dtype=np.uint8), None  # one line, unparsed
            carry = array[cut:total].copy()
            fresh = max(0, len(carry) - 1)  # a final \r may yet be a line end
            if start < cut:
                yield array[start:cut], lease
            continue
        if total <= limit:
            carry = array[:total].copy()
            fresh = max(0, total - 1)
            continue
        # A line too long to hold: drop what was read of it, and the rest up to its end.
        ends_with_cr = bool(array[total - 1] == 13)  # then the line ended there
        del array, lease, carry
        fresh = 0
        yield np.frombuffer(_LINE_END, dtype=np.uint8), None  # it counts as one line, unparsed
        skipped, read, carry = _skip_line(stream, ends_with_cr)
        done += read
        refused.append(total - ends_with_cr + skipped)
    if refused:
        raise LinesRefused(len(refused), max(refused), limit)


_LINE_END = b"\n"  # the stand-in for a refused line (made an array where it is used)


def _skip_line(stream: Any, after_cr: bool) -> tuple[int, int, Any]:
    """Reads past the end of the line being read (after a \r that ended it, a \n is part of its
    line end): how many more bytes of the line there were, how many bytes it read, and a copy of
    what came after the line end. (A bytearray, searched by memchr: numpy compares a byte at a time.)"""
    import numpy as np

    scratch = bytearray(CHUNK)
    skipped = done = 0
    while True:
        read = stream.readinto(scratch)
        done += read
        if read == 0:
            return skipped, done, np.zeros(0, dtype=np.uint8)
        start = 0
        if after_cr:
            start = 1 if scratch[0] == 10 else 0
        else:
            ends = [at for at in (scratch.find(b"\n", 0, read), scratch.find(b"\r", 0, read)) if at >= 0]
            if not ends:
                skipped += read
                continue
            end = min(ends)
            skipped += end
            if scratch[end] == 13 and end + 1 == read:
                after_cr = True  # the \n of a \r\n may come with the next read
                continue
            start = end + (2 if scratch[end] == 13 and scratch[end + 1] == 10 else 1)
        return skipped, done, np.frombuffer(scratch, dtype=np.uint8, count=read - start, offset=start).copy()


def _first_line_end(buf: Any) -> int:
    """Where the first \n or \r of buf is, or -1."""
    import numpy as np

    first = -1
    for byte in (10, 13):
        at = int(np.argmax(buf == byte))
        if buf[at] == byte and (first < 0 or at < first):
            first = at
    return first


def after_last_line_end(buf: Any) -> int:
    """Where to cut buf so that the first part ends with a whole line (0: nowhere): after its last
    line end, \n or \r. A \r as the final byte does not count: it may be the first half of a \r\n,
    and a \r followed by \n is never the last line end."""
    newline = _after_last(buf, 10)
    # Only a \r after the last \n can be a later line end; searching just there keeps it cheap.
    return newline + _after_last(buf[newline:-1], 13)


def _after_last(buf: Any, byte: int) -> int:
    # Searches back from the end in growing windows: lines are short, so the first window nearly
    # always holds one.
    import numpy as np

    end = len(buf)
    window = 1 << 16
    while end > 0:
        start = max(0, end - window)
        hits = np.flatnonzero(buf[start:end] == byte)
        if len(hits):
            return start + int(hits[-1]) + 1
        end = start
        window *= 4
    return 0


def as_athena_reads(buf: Any, lease: Lease | None) -> Chunk:
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


def pieces(buf: Any, limit: int) -> tuple[list[tuple[int | None, Any]], list[int]]:
    """The buffer cut after line ends into pieces of about `limit` bytes at most (what a string view
    can address), with their offsets in it; and the sizes of lines longer than `limit`, each of which is
    a piece of one empty line instead (offset None: not in buf), read as one unparsed row. Only a
    whole-read file of several gzip members can need more than one piece."""
    import numpy as np

    out: list[tuple[int | None, Any]] = []
    refused = []
    offset = 0
    while len(buf) - offset > limit:
        # Two bytes more than the limit: a line of `limit` bytes with its \r\n is one piece.
        cut = after_last_line_end(buf[offset : offset + limit + 2])
        if cut:
            out.append((offset, buf[offset : offset + cut]))
            offset += cut
            continue
        end = _first_line_end(buf[offset + limit + 1 :])
        if end < 0:
            refused.append(len(buf) - offset)
            offset = len(buf)
        else:
            end += offset + limit + 1
            refused.append(end - offset)
            offset = end + (2 if buf[end] == 13 and bytes(buf[end + 1 : end + 2]) == b"\n" else 1)
        out.append((None, np.frombuffer(_LINE_END, dtype=np.uint8)))
    if offset < len(buf) or not out:
        out.append((offset, buf[offset:]))
    return out, refused
