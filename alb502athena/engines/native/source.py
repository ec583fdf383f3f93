"""Log files as chunks of whole lines, as Athena reads them, in buffers from the pool.

A file of up to WHOLE bytes of text is one chunk: a gzip file decompressed at once by libdeflate, a
plain one memory-mapped. A bigger file is streamed in chunks of about CHUNK bytes cut after a line
end, so that memory stays bounded whatever a file's size (ALB writes a file per node every five
minutes, and a busy node's file holds millions of lines) and its chunks are parsed in parallel.
libdeflate cannot stream, so big gzip files go through ISA-L's reader (python-isal: 850 MB/s here,
twice zlib's speed, and it holds the GIL less).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alb502athena.engines.native.gzip import GzipText, gunzip
from alb502athena.engines.native.pool import Lease, Pool

WHOLE = 256 << 20  # bytes of text read as one chunk
CHUNK = 32 << 20  # bytes of text per chunk of a bigger file
WHOLE_GZIP = 32 << 20  # bytes of gzip: a bigger file is streamed, whatever its trailer says
MAX_LINE = 1 << 30  # a longer line is refused (string view offsets are 32-bit)

Chunk = tuple[Any, Lease | None]  # a uint8 array of whole lines, and the lease that owns it


def chunks(path: str, pool: Pool) -> Iterator[Chunk]:
    """The file's text in chunks of whole lines (the last may lack its line end). Damage raises the
    standard library's own errors (OSError, ValueError), which name it; a gzip file is read through its
    damage first, and then raises DamagedGzip, which says what was counted."""
    size = os.path.getsize(path)
    stream: io.BufferedIOBase
    if path.endswith(".gz"):
        yield from _gzip_chunks(path, size, pool)
        return
    elif size == 0:
        return
    elif size <= WHOLE:
        import numpy as np

        yield as_athena_reads(np.memmap(path, dtype=np.uint8, mode="r"), None)
        return
    else:
        stream = open(path, "rb")  # noqa: SIM115  (closed below)
    with stream:
        for chunk in _streamed(stream, pool):
            yield as_athena_reads(*chunk)


def _gzip_chunks(path: str, size: int, pool: Pool) -> Iterator[Chunk]:
    text = _gzip_stream(path, size, pool)
    if not isinstance(text, GzipText):
        yield as_athena_reads(*text)
        return
    with text:
        for chunk in _streamed(text, pool):
            yield as_athena_reads(*chunk)
        text.damage()


def _gzip_stream(path: str, size: int, pool: Pool) -> tuple[Any, Lease] | GzipText:
    """A small gzip file's whole text, decompressed at once (the fast path); or, for a big one, one
    whose text outgrows WHOLE whatever its trailer says, or a damaged one, a stream of its text."""
    if size > WHOLE_GZIP:
        return GzipText(open(path, "rb"))  # the caller closes it
    data = Path(path).read_bytes()
    # The trailer holds the last member's size (mod 4 GiB, if it is honest): only a guess of the size,
    # for the buffer; a file it says is big is streamed from the start, rather than after WHOLE bytes.
    if len(data) < 18 or int.from_bytes(data[-4:], "little") <= WHOLE:
        whole = gunzip(data, pool, WHOLE)
        if whole is not None:
            lease, n = whole
            return lease.array[:n], lease
    return GzipText(io.BytesIO(data))


def _streamed(stream: io.BufferedIOBase, pool: Pool) -> Iterator[tuple[Any, Lease]]:
    import numpy as np

    carry = np.zeros(0, dtype=np.uint8)  # the start of a line the last chunk cut off
    while True:
        lease = pool.lease(len(carry) + CHUNK)
        lease.array[: len(carry)] = carry
        read = stream.readinto(memoryview(lease.array)[len(carry) : len(carry) + CHUNK])
        total = len(carry) + read
        if read == 0:
            if total:
                yield lease.array[:total], lease
            return
        cut = after_last_line_end(lease.array[:total])
        if cut == 0:
            if total > MAX_LINE:
                raise ValueError("a line longer than 1 GiB")
            carry = lease.array[:total].copy()
            continue
        carry = lease.array[cut:total].copy()
        yield lease.array[:cut], lease


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


def pieces(buf: Any, limit: int) -> list[tuple[int, Any]]:
    """The buffer cut after line ends into pieces of at most `limit` bytes (what a string view can
    address), with their offsets. Only a whole-read file of several gzip members can need more
    than one."""
    out = []
    offset = 0
    while len(buf) - offset > limit:
        cut = after_last_line_end(buf[offset : offset + limit])
        if cut == 0:
            raise ValueError("a line longer than 1 GiB")
        out.append((offset, buf[offset : offset + cut]))
        offset += cut
    out.append((offset, buf[offset:]))
    return out
