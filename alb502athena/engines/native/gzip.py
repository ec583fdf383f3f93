"""gzip files as text: small ones decompressed at once by libdeflate into a pooled buffer, the rest (and
any that libdeflate refuses) read in bounded pieces by ISA-L, member after member, through damage.

The `deflate` package links libdeflate into its extension module and exports its C API; the Python
API lacks two things this reader needs: decompressing into a buffer it did not allocate, and saying
where a gzip member ends (files may hold several members, and `gzip_decompress` silently reads only
the first). So the C API is called through ctypes, which releases the GIL for each call.

Nothing a file says about itself bounds memory: a trailer records the size of its member's text
modulo 4 GiB, and may lie, and a few megabytes of gzip may hold terabytes of text. The trailer is only
the first guess of a buffer's size, capped; a file whose text outgrows the cap is read as a stream.

Damaged files are read as a careful reader (zcat, then resync at the next member header) reads them:
every byte decoded before the damage is kept, and reading goes on at the next gzip member header
(1f 8b 08) after it. GzipText says exactly what it skipped and how it counts it.
"""

from __future__ import annotations

import ctypes
import io
import struct
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, BinaryIO

from alb502athena.engines.native.pool import Lease, Pool

if TYPE_CHECKING:
    from typing_extensions import Buffer

_SUCCESS, _BAD_DATA, _SHORT_OUTPUT, _INSUFFICIENT_SPACE = range(4)

MAGIC = b"\x1f\x8b\x08"  # a gzip member header: ID1, ID2, CM = deflate
_INPUT = 1 << 20  # bytes of gzip handed to the decoder at a time
_OUTPUT = 1 << 20  # bytes of text it may produce at a time: what bounds memory
# After damage, a member header found by searching is taken for real once it decodes this much text
# without error (or decodes to the end that its trailer records): random bytes that happen to start
# with 1f 8b 08 fail long before.
_PROBE = 64 << 10
_SALVAGE_PIECE = 64 << 10  # bytes of gzip zlib decodes between checkpoints, when salvaging
_FIELD_LIMIT = 4 << 10  # a file name or comment in a header longer than this is not a header
_FIRST_INPUT = 4 << 10  # the first read of a member's deflate data: most false headers fail within it
# What searching for a member after damage may cost, in bytes of text decoded by members it rejects
# (each counted as at least _CANDIDATE): beyond that many, a file of false headers is not searched on.
_SEARCH_BUDGET, _SEARCH_PER_BYTE, _CANDIDATE = 64 << 20, 8, 1 << 10
_SHOWN_DAMAGES = 3  # damaged stretches described in the note, at most
_NOT_GZIP = "bytes that are not gzip data"


@cache
def libdeflate() -> Any:
    """libdeflate's C API; OSError or AttributeError when this build of `deflate` does not export it."""
    import deflate._deflate

    lib = ctypes.CDLL(deflate._deflate.__file__)
    lib.libdeflate_alloc_decompressor.restype = ctypes.c_void_p
    lib.libdeflate_alloc_decompressor.argtypes = []
    lib.libdeflate_free_decompressor.restype = None
    lib.libdeflate_free_decompressor.argtypes = [ctypes.c_void_p]
    size_p = ctypes.POINTER(ctypes.c_size_t)
    lib.libdeflate_gzip_decompress_ex.restype = ctypes.c_int
    lib.libdeflate_gzip_decompress_ex.argtypes = [
        ctypes.c_void_p,  # decompressor
        ctypes.c_void_p,  # in
        ctypes.c_size_t,  # in_nbytes
        ctypes.c_void_p,  # out
        ctypes.c_size_t,  # out_nbytes_avail
        size_p,  # actual_in_nbytes_ret: where the member ended
        size_p,  # actual_out_nbytes_ret
    ]
    return lib


def gunzip(data: bytes, pool: Pool, limit: int) -> tuple[Lease, int] | None:
    """Every member of the gzip file `data`, decompressed into a pooled buffer: the lease and the size.
    None when its text outgrows the buffer (`limit` bytes, or the guess its trailer gives), or libdeflate
    finds damage: GzipText reads it then, in bounded pieces, and through the damage. (Growing the buffer
    would decode the member again each time, and leave the smaller buffers in the pool.)"""
    lib = libdeflate()
    decompressor = lib.libdeflate_alloc_decompressor()
    if not decompressor:
        raise MemoryError("libdeflate could not allocate a decompressor")
    try:
        # A member's trailer ends with its size (mod 4 GiB, and it may lie): for the usual one-member
        # file, the last four bytes give the exact size. Several members may need more.
        guess = int.from_bytes(data[-4:], "little") if len(data) >= 18 else 0
        lease = pool.lease(min(max(guess, 2 * len(data), 1 << 16), limit))
        source = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value or 0
        read, written = 0, 0
        used_in, used_out = ctypes.c_size_t(), ctypes.c_size_t()
        while read < len(data):
            status = lib.libdeflate_gzip_decompress_ex(
                decompressor, source + read, len(data) - read, lease.address + written,
                min(len(lease.array), limit) - written, ctypes.byref(used_in), ctypes.byref(used_out),
            )  # fmt: skip
            if status != _SUCCESS:
                return None
            read += used_in.value
            written += used_out.value
        return lease, written
    finally:
        lib.libdeflate_free_decompressor(decompressor)


class DamagedGzip(ValueError):
    """A gzip file read through damage, raised once every line that could be read was (`read_whole`;
    the message says what was counted), or one from which not a single line could be read."""

    def __init__(self, message: str, read_whole: bool) -> None:
        super().__init__(message)
        self.read_whole = read_whole


@dataclass(frozen=True)
class _Damage:
    at: int  # byte offset in the file
    what: str
    cut: bool  # text was lost there: the stretch reads as one unparsed line
    garbled: bool = False  # deflate data was bad there: the text decoded just before may be wrong
    member: bool = True  # `at` is where a member starts (when not `cut`)


# ("end", where the next member may start), ("rejected", bytes of text it decoded), ("cut", 0)
_Outcome = tuple[str, int]


class GzipText(io.BufferedIOBase):
    """The text of a gzip file, read in bounded pieces (about a megabyte of text at a time, however
    much the file inflates to, whatever its trailers say), member after member, through damage.

    Each damaged stretch (from where decoding stops, or from bytes that are not gzip between members,
    to the next gzip member found after it, or the end of the file) reads as one unparsed line: an
    empty line, in place of the partial line decoded before the damage (which is not a whole line).
    So that this partial line can be dropped, readinto() returns text up to a line end, and holds the
    rest back for the next call (unless no line ends in the whole buffer).

    Once read to the end, damage() raises DamagedGzip naming what was skipped, if anything was."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self._size = raw.seek(0, io.SEEK_END)
        self._pieces = self._text()
        self._pending = b""  # text decoded and not yet returned
        self._at = 0
        self._damages: list[_Damage] = []
        self._returned = False  # whether any text was returned
        self._last = 10  # the last byte returned (a line end before the first)
        self._owed = 0  # unparsed lines of damage found before any text, written before the first
        self._window_at, self._window = 0, b""  # bytes of the file read ahead, for searching
        self._budget = _SEARCH_BUDGET + _SEARCH_PER_BYTE * self._size

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        super().close()

    def readinto(self, buffer: Buffer, /) -> int:
        view = memoryview(buffer).cast("B")
        n = 0
        while n < len(view):
            if self._at < len(self._pending):
                k = min(len(view) - n, len(self._pending) - self._at)
                view[n : n + k] = self._pending[self._at : self._at + k]
                n += k
                self._at += k
                continue
            piece = next(self._pieces, None)
            if piece is None:  # the end: the last line goes too, whole or not
                return self._give(view, n)
            if isinstance(piece, _Damage):
                n = self._cut(view, n)
                continue
            if self._owed and piece:
                piece, self._owed = b"\n" * self._owed + piece, 0
            self._pending, self._at = piece, 0
        # Hold back the partial line after the last line end: damage may yet cut it.
        cut = _after_last_line_end(view[:n])
        if 0 < cut < n:
            self._pending, self._at = bytes(view[cut:n]) + self._pending[self._at :], 0
            n = cut
        return self._give(view, n)

    def _give(self, view: memoryview, n: int) -> int:
        if n:
            self._returned = True
            self._last = view[n - 1]
        return n

    def _cut(self, view: memoryview, n: int) -> int:
        """Drop the partial line in view[:n] and put the damaged stretch's one unparsed line in its
        place; before any text, owe it to the first text (a file with no text is refused)."""
        n = _after_last_line_end(view[:n])
        if not n and not self._returned:
            self._owed += 1
            return 0
        before = view[n - 1] if n else self._last
        # After a \r, a \n would only complete its line end: one more makes the empty line.
        self._pending, self._at = (b"\n\n" if before == 13 else b"\n"), 0
        return n

    def damage(self) -> None:
        """Raise DamagedGzip if the file had damage (call once it is read to the end)."""
        if not self._damages:
            return
        first = self._damages[0]
        if not self._returned:
            not_gzip = first.at == 0 and first.what == _NOT_GZIP
            raise DamagedGzip("not a gzip file" if not_gzip else _refusal(first), read_whole=False)
        raise DamagedGzip(_note(self._damages, self._size), read_whole=True)

    # Decoding

    def _read_at(self, at: int, n: int) -> bytes:
        self._raw.seek(at)
        return self._raw.read(n)

    def _window_over(self, at: int, n: int) -> tuple[bytes, int]:
        """Bytes read ahead that hold the file's `n` bytes from `at` (or up to its end), and where `at`
        is in them: searching reads the file once, not once for each header it finds."""
        end = self._window_at + len(self._window)
        if not (self._window_at <= at and (at + n <= end or end >= self._size)):
            self._window_at, self._window = at, self._read_at(at, max(n, _INPUT))
        return self._window, at - self._window_at

    def _text(self) -> Generator[bytes | _Damage, None, None]:
        """The file's text, with a _Damage where a damaged stretch starts."""
        at = 0
        searching = False  # inside a damaged stretch: looking for the next member
        while at < self._size:
            start = self._header_end(at)
            if start is None:
                if not searching:
                    damage = _Damage(at, _NOT_GZIP, cut=True)
                    self._damages.append(damage)
                    yield damage
                    searching = True
                at = self._find(at + 1)
                continue
            outcome, where = yield from self._member(at, start, probe=searching)
            if outcome == "end":
                at, searching = where, False
            elif outcome == "rejected":
                self._budget -= max(where, _CANDIDATE)
                if self._budget < 0:
                    what = "too many false gzip member headers: the rest of the file was not searched"
                    self._damages.append(_Damage(at, what, cut=False, member=False))
                    return
                at = self._find(at + 1)
            else:  # cut: the damage is recorded and yielded; a member may start anywhere after the header
                at, searching = self._find(start), True

    def _find(self, at: int) -> int:
        """Where the next member header may start from `at` on (the file's size when nowhere)."""
        while at < self._size:
            window, offset = self._window_over(at, len(MAGIC))
            hit = window.find(MAGIC, offset)
            if hit >= 0:
                return self._window_at + hit
            end = self._window_at + len(window)
            if end >= self._size:
                break
            at = end - len(MAGIC) + 1
        return self._size

    def _header_end(self, at: int) -> int | None:
        """Where the deflate data of a member whose header starts at `at` begins (RFC 1952), or None
        when there is no valid header there."""
        window, offset = self._window_over(at, 10)
        head = window[offset : offset + 10]
        if len(head) < 10 or head[:3] != MAGIC or head[3] & 0xE0:
            return None
        flags, end = head[3], at + 10
        if flags & 4:  # FEXTRA
            window, offset = self._window_over(end, 2)
            size = window[offset : offset + 2]
            if len(size) < 2:
                return None
            end += 2 + int.from_bytes(size, "little")
        for flag in (8, 16):  # FNAME, FCOMMENT: zero-terminated
            if flags & flag:
                window, offset = self._window_over(end, _FIELD_LIMIT)
                zero = window.find(b"\0", offset, offset + _FIELD_LIMIT)
                if zero < 0:
                    return None
                end += zero - offset + 1
        if flags & 2:  # FHCRC
            end += 2
        return end if end <= self._size else None

    def _member(self, at: int, start: int, probe: bool) -> Generator[bytes | _Damage, None, _Outcome]:
        """The text of the member whose header is at `at` and deflate data at `start`. Its outcome:
        ("end", where the next member may start), ("rejected", the bytes of text it decoded) when
        `probe` (the header was found by searching) and it fails before it has shown it is one, ("cut",
        0) after yielding the text a careful reader gets and the damage."""
        from isal import igzip_lib, isal_zlib

        decoder = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_DEFLATE)
        crc, produced, fed, step = 0, 0, start, _FIRST_INPUT
        held: list[bytes] | None = [] if probe else None  # a probe's text, until it is accepted
        failure = None  # ISA-L's complaint; None: the file ends inside the member
        while True:
            data = b""
            if decoder.needs_input:
                data = self._read_at(fed, step)
                if not data:
                    break
                fed, step = fed + len(data), min(2 * step, _INPUT)
            try:
                out = decoder.decompress(data, _OUTPUT)
            except isal_error() as exc:
                failure = str(exc)
                break
            if out:
                crc = isal_zlib.crc32(out, crc)
                produced += len(out)
                if held is None:
                    yield out
                else:
                    held.append(out)
                    if produced >= _PROBE:
                        yield from held
                        held = None
            if decoder.eof:
                end = fed - len(decoder.unused_data)
                trailer = self._read_at(end, 8)
                if held is not None:
                    if len(trailer) < 8 or int.from_bytes(trailer[4:], "little") != produced & 0xFFFFFFFF:
                        return "rejected", produced
                    yield from held
                damage = _trailer_damage(at, trailer, crc, produced)
                if damage is not None:
                    self._damages.append(damage)
                return "end", end + len(trailer)
        if held is not None:
            return "rejected", produced
        stop, reason = yield from self._salvage(start, produced, fed)
        what = reason or failure or "the file ends inside a gzip member"
        damage = _Damage(stop, what, cut=True, garbled=failure is not None)
        self._damages.append(damage)
        yield damage
        return "cut", 0

    def _salvage(self, start: int, produced: int, fed: int) -> Generator[bytes, None, tuple[int, str | None]]:
        """The member's text that a careful reader gets beyond the `produced` bytes ISA-L gave before
        it stopped: zlib decodes the deflate data from `start` again, and byte by byte near the damage,
        so that every byte decoded before it counts. Returns where it stopped, and zlib's complaint
        (None: it did not stop before `fed`, where ISA-L did). Bounded: ISA-L stopped within its last
        call, which gives at most _OUTPUT bytes of text."""
        decoder = zlib.decompressobj(-15)
        decoded, given = 0, produced  # bytes of text zlib decoded, and given (by either)
        limit = produced + 2 * _OUTPUT
        at, end = start, min(fed, self._size)
        while at < end and given < limit and not decoder.eof:
            piece = self._read_at(at, min(_SALVAGE_PIECE, end - at))
            checkpoint, before = decoder.copy(), decoded
            try:
                for out in _decode(decoder, piece):
                    text, given = _new(out, decoded, given, limit)
                    decoded += len(out)
                    if text:
                        yield text
            except zlib.error:
                # Again from the checkpoint, a byte at a time: every byte before the damage counts.
                decoder, decoded = checkpoint, before
                for i in range(len(piece)):
                    try:
                        outs = list(_decode(decoder, piece[i : i + 1]))
                    except zlib.error as exc:
                        return at + i, str(exc).split(": ", 1)[-1]
                    for out in outs:
                        text, given = _new(out, decoded, given, limit)
                        decoded += len(out)
                        if text:
                            yield text
            at += len(piece)
        return at, None


def isal_error() -> type[Exception]:
    from isal import igzip_lib

    # Its stub declares an instance; it is the exception class that ISA-L's decoder raises.
    error: type[Exception] = igzip_lib.IsalError  # type: ignore[assignment]
    return error


def _decode(decoder: Any, data: bytes) -> Iterator[bytes]:
    """zlib's text for `data`, in pieces of at most _OUTPUT bytes."""
    while True:
        out = decoder.decompress(data, _OUTPUT)
        if out:
            yield out
        data = decoder.unconsumed_tail
        if not data and len(out) < _OUTPUT:
            return


def _new(out: bytes, at: int, given: int, limit: int) -> tuple[bytes, int]:
    """Of `out`, text from offset `at`, the part not given yet and before `limit`; and what is given
    then."""
    lo, hi = max(given, at), min(limit, at + len(out))
    if hi <= lo:
        return b"", given
    return out[lo - at : hi - at], hi


def _after_last_line_end(view: memoryview) -> int:
    """Where the text after the last line end (\\n or \\r) of `view` starts; 0 when it has none.
    Searches back in growing windows: lines are short."""
    end, window = len(view), 1 << 12
    while end > 0:
        lo = max(0, end - window)
        data = bytes(view[lo:end])
        hit = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if hit >= 0:
            return lo + hit + 1
        end, window = lo, window * 4
    return 0


def _trailer_damage(at: int, trailer: bytes, crc: int, produced: int) -> _Damage | None:
    """What is wrong with the trailer of the member at `at` whose text is complete: its checksum
    and its size modulo 4 GiB (a member of 4 GiB or more has an honest trailer that wraps)."""
    if len(trailer) < 8:
        return _Damage(at, "the file ends inside its trailer: its text is counted, unchecked", cut=False)
    want_crc, want_size = struct.unpack("<II", trailer)
    if want_crc != crc:
        what = "its text does not match its checksum: it is counted as decoded, and some lines may be garbled"
        return _Damage(at, what, cut=False)
    if want_size != produced & 0xFFFFFFFF:
        what = (
            f"its trailer records {want_size:,} bytes of text (modulo 4 GiB), not the {produced:,} it "
            "holds, whose checksum matches: every line is counted"
        )
        return _Damage(at, what, cut=False)
    return None


def _refusal(first: _Damage) -> str:
    return f"{first.what} at byte {first.at:,}, before the first whole line"


def _note(damages: list[_Damage], size: int) -> str:
    """What the bad-files note says of a file read through damage: every word true."""
    parts = []
    cuts = [d for d in damages if d.cut]
    if cuts:
        shown = "; ".join(f"at byte {d.at:,} of {size:,}: {d.what}" for d in cuts[:_SHOWN_DAMAGES])
        more = f"; and {len(cuts) - _SHOWN_DAMAGES:,} more" if len(cuts) > _SHOWN_DAMAGES else ""
        where, each = ("", "the damaged stretch") if len(cuts) == 1 else (f" in {len(cuts):,} places", "each")
        parts.append(
            f"damaged gzip{where} ({shown}{more}): {each}, from the damage to the next gzip member or the "
            "end of the file, is counted as one unparsed line (in place of the partial line decoded before "
            "the damage and whatever text it hid); every other line is counted"
        )
    members = [d for d in damages if not d.cut]
    for d in members[:_SHOWN_DAMAGES]:
        parts.append(f"{'the gzip member ' if d.member else ''}at byte {d.at:,}: {d.what}")
    if len(members) > _SHOWN_DAMAGES:
        parts.append(f"and {len(members) - _SHOWN_DAMAGES:,} more gzip members like it")
    if any(d.garbled for d in cuts):
        parts.append("the lines decoded just before the damage may be garbled")
    return "; ".join(parts)
