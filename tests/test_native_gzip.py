"""gzip input of the native reader: bombs and lying trailers in bounded memory, and damaged files read as a
careful reader reads them (zcat, then resync at the next member header), every word of the note true.

The careful reader here is zlib fed a byte at a time: every byte it decodes before it finds the damage.
Peak memory is measured from a subprocess running the real command, as benchmarks/bench_local.py does.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from alb502athena.diagnosis import diagnose
from alb502athena.engines.local import LocalEngine
from alb502athena.engines.native import source as native_source
from alb502athena.engines.native.gzip import DamagedGzip, GzipText
from alb502athena.logfiles import discover
from alb502athena.render import QueryParams
from alb502athena.window import Window
from tests.lines import OLD_SHAPES, SHAPES, make_line
from tests.test_native import ALL, native_rows
from tests.typed import typed_row

NULL_ROW = tuple([None] * len(ALL))
GIB = 1 << 30
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # a gzip member header with no optional fields


def corpus(n: int) -> list[str]:
    shapes = [make_line(s) for s in SHAPES]
    return [shapes[i % len(shapes)] for i in range(n)]


def varied(n: int) -> list[str]:
    """Lines that differ (a random trace id and URL each), so that their deflate data is mostly literals,
    where damage shows as an error sooner than in matches."""
    rng = random.Random(n)
    return [
        line.replace("36d228ad5d99923122bbe354", f"{rng.getrandbits(96):024x}").replace(
            "cart?id=1 ", f"cart?id={rng.getrandbits(40)} "
        )
        for line in corpus(n)
    ]


def text(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def member(data: bytes, level: int = 6) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def repeated(block: bytes, copies: int) -> tuple[bytes, int]:
    """A gzip member of `copies` times `block` (quick to write however big its text: after a full flush
    the same compressed bytes decode to the same text wherever they are), and the size of its text."""
    from isal import isal_zlib

    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    flushed = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # a final empty block
    crc = 0
    for _ in range(copies):
        crc = isal_zlib.crc32(block, crc)
    size = copies * len(block)
    return HEADER + flushed * copies + end + struct.pack("<II", crc, size & 0xFFFFFFFF), size


def block_of_lines(size: int) -> bytes:
    """Whole lines, about `size` bytes of them."""
    data = text(corpus(size // 500))[:size]
    return data[: data.rfind(b"\n") + 1]


def careful(data: bytes) -> bytes:
    """What zlib decodes of the first member of `data` before it finds damage, fed a byte at a time."""
    decoder = zlib.decompressobj(-15)
    out = bytearray()
    for i in range(len(HEADER), len(data)):
        try:
            out += decoder.decompress(data[i : i + 1])
        except zlib.error:
            break
        if decoder.eof:
            break
    return bytes(out)


def careful_stop(data: bytes) -> int | None:
    """Where zlib, fed a byte at a time, finds the first member of `data` damaged (None: it does not)."""
    decoder = zlib.decompressobj(-15)
    for i in range(len(HEADER), len(data)):
        try:
            decoder.decompress(data[i : i + 1])
        except zlib.error:
            return i
        if decoder.eof:
            return None
    return None


def whole_lines(data: bytes) -> bytes:
    return data[: data.rfind(b"\n") + 1]


def read(data: bytes, size: int = 1 << 16) -> tuple[bytes, DamagedGzip | None]:
    """GzipText's text of `data`, read into a buffer of `size` bytes, and what it says of damage."""
    stream = GzipText(io.BytesIO(data))
    buffer = bytearray(size)
    out = bytearray()
    while n := stream.readinto(buffer):
        out += buffer[:n]
    try:
        stream.damage()
    except DamagedGzip as exc:
        return bytes(out), exc
    return bytes(out), None


def rows_of(lines: list[str]) -> list[tuple[Any, ...]]:
    return [typed_row(line) for line in lines]


def peak_mib_and_diagnosis(folder: Path) -> tuple[int, dict[str, Any]]:
    """Peak memory of `alb502 diagnose FOLDER --output json` in a fresh process, and its output."""
    probe = (
        "import resource, subprocess, sys; "
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(done.stdout)"
    )
    cmd = [sys.executable, "-m", "alb502athena", "diagnose", str(folder), "--output", "json"]
    out = subprocess.run(
        [sys.executable, "-c", probe, *cmd], capture_output=True, text=True, check=True, env=os.environ.copy()
    )
    kib, _, rest = out.stdout.partition("\n")
    return int(kib) // 1024, json.loads(rest)


def _stream_small(monkeypatch: pytest.MonkeyPatch) -> None:
    # Sizes in bytes rather than megabytes: every file here is "big", streamed in many chunks.
    monkeypatch.setattr(native_source, "WHOLE", 1000)
    monkeypatch.setattr(native_source, "WHOLE_GZIP", 100)
    monkeypatch.setattr(native_source, "CHUNK", 700)


# Bombs and lying trailers


@pytest.mark.slow
def test_a_gzip_bomb_among_normal_files_is_read_in_bounded_memory(tmp_path: Path) -> None:
    # 0.6 MB of gzip, 600 MB of text: three members of 200 MB, then one short line, whose trailer is
    # the only size a reader can see without inflating it all (the review's: 6 MB, 13.2 GiB peak).
    block = block_of_lines(2 << 20)
    bomb, _ = repeated(block, 100)
    last = make_line(SHAPES[0])
    (tmp_path / "bomb.log.gz").write_bytes(bomb * 3 + member(text([last])))
    (tmp_path / "normal.log.gz").write_bytes(member(text(corpus(1000))))
    peak, d = peak_mib_and_diagnosis(tmp_path)
    assert peak < 1024, f"peak {peak} MiB"
    assert d["totals"]["lines"] == 3 * 100 * block.count(b"\n") + 1 + 1000
    assert d["totals"]["unparsed_lines"] == 0 and d["bad_files"] == []


@pytest.mark.slow
def test_a_trailer_that_understates_the_size_loses_no_line(tmp_path: Path) -> None:
    block = block_of_lines(2 << 20)
    member_, size = repeated(block, 150)  # 300 MB of text
    liar = bytearray(member_)
    liar[-4:] = struct.pack("<I", 1000)  # the size it records: 1,000 bytes
    (tmp_path / "liar.log.gz").write_bytes(liar)
    (tmp_path / "normal.log.gz").write_bytes(member(text(corpus(1000))))
    peak, d = peak_mib_and_diagnosis(tmp_path)
    assert peak < 1024, f"peak {peak} MiB"
    assert d["totals"]["lines"] == 150 * block.count(b"\n") + 1000 and d["totals"]["unparsed_lines"] == 0
    [bad] = d["bad_files"]
    assert Path(bad["path"]).name == "liar.log.gz"
    assert bad["reason"] == (
        f"the gzip member at byte 0: its trailer records 1,000 bytes of text (modulo 4 GiB), not the "
        f"{size:,} it holds, whose checksum matches: every line is counted"
    )


_WRAP = """
import resource, sys
from alb502athena.engines.native.pool import Pool
from alb502athena.engines.native.source import CHUNK, chunks

sizes = [len(buf) for buf, _ in chunks(sys.argv[1], Pool())]
print(sum(sizes), max(sizes) <= CHUNK + 65536, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


@pytest.mark.slow
def test_an_honest_trailer_that_wraps_past_4_gib_is_read_in_bounded_chunks(tmp_path: Path) -> None:
    # One member of 65 x 64 MiB of text: its trailer records 64 MiB (4 GiB + 64 MiB, modulo 4 GiB).
    wrap, size = repeated(block_of_lines(64 << 20), 65)
    path = tmp_path / "wrap.log.gz"
    path.write_bytes(wrap)
    assert size > 4 * GIB
    out = subprocess.run(
        [sys.executable, "-c", _WRAP, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    total, bounded, peak = out.stdout.split()
    assert int(total) == size and bounded == "True"  # every byte, in chunks, and no damage raised
    assert int(peak) < 1024, f"peak {peak} MiB"


# Damaged gzip


def test_a_small_truncated_file_keeps_every_line_a_careful_reader_recovers(tmp_path: Path) -> None:
    lines = corpus(1000)
    whole = member(text(lines))
    cut = whole[: len(whole) * 2 // 3]
    recovered = careful(cut).count(b"\n")
    assert 0 < recovered < len(lines)
    (tmp_path / "cut.log.gz").write_bytes(cut)
    rows, scan = native_rows([str(tmp_path / "cut.log.gz")])
    # Every whole line, then one unparsed line for the partial line and everything after it.
    assert rows == [*rows_of(lines[:recovered]), NULL_ROW]
    [(path, reason)] = scan.bad_files
    assert path in scan.partial_files
    assert reason == (
        f"damaged gzip (at byte {len(cut):,} of {len(cut):,}: the file ends inside a gzip member): the "
        "damaged stretch, from the damage to the next gzip member or the end of the file, is counted as "
        "one unparsed line (in place of the partial line decoded before the damage and whatever text it "
        "hid); every other line is counted"
    )


def test_a_partial_line_before_the_damage_is_not_read_as_a_line(tmp_path: Path) -> None:
    # The file ends right after a field of the last line, where what came before would parse as a line
    # of the 2016 shape: a careful reader decodes it, but it is not a whole line.
    lines = corpus(20)
    partial = make_line(OLD_SHAPES[0])  # the start of a newer line
    assert make_line(SHAPES[-1]).startswith(partial + " ") and typed_row(partial) != NULL_ROW
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    cut = c.compress(text(lines) + partial.encode()) + c.flush(zlib.Z_SYNC_FLUSH)
    assert careful(cut).endswith(partial.encode())
    (tmp_path / "cut.log.gz").write_bytes(cut)
    rows, scan = native_rows([str(tmp_path / "cut.log.gz")])
    assert rows == [*rows_of(lines), NULL_ROW]
    assert scan.bad_files


def test_garbage_between_two_members_loses_neither(tmp_path: Path) -> None:
    first, second = corpus(500), corpus(700)[::-1]
    garbage = b"garbage!" * 10 + b"\x1f\x8b\x08 not a member"  # a false header too
    (tmp_path / "g.log.gz").write_bytes(member(text(first)) + garbage + member(text(second)))
    rows, scan = native_rows([str(tmp_path / "g.log.gz")])
    assert rows == [*rows_of(first), NULL_ROW, *rows_of(second)]
    [(_, reason)] = scan.bad_files
    assert reason.startswith(f"damaged gzip (at byte {len(member(text(first))):,} of ")
    assert ": bytes that are not gzip data): the damaged stretch" in reason


def _damaged_midway(lines: list[str], at: float = 0.6) -> tuple[bytes, int]:
    """A member whose deflate data turns invalid (a block of the reserved type) after `at` of its text,
    mid-line, and the offset of the bad byte. What comes before is exact."""
    data = text(lines)
    cut = int(len(data) * at)
    assert data[cut - 1 : cut + 1].count(b"\n") == 0  # mid-line
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    head = c.compress(data[:cut]) + c.flush(zlib.Z_FULL_FLUSH)  # the next block starts on this byte
    tail = c.compress(data[cut:]) + c.flush()
    damaged = head + bytes([tail[0] | 0b110]) + tail[1:]  # BTYPE 11
    assert careful_stop(damaged) == len(head)
    return damaged, len(head)


def test_a_big_damaged_file_keeps_every_line_before_the_damage_and_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stream_small(monkeypatch)  # streamed in chunks of 700 bytes: lines used to be lost up to one
    first, second = varied(300), varied(200)
    damaged, _ = _damaged_midway(first)
    recovered = whole_lines(careful(damaged)).count(b"\n")
    assert 0 < recovered < len(first)
    (tmp_path / "big.log.gz").write_bytes(damaged + member(text(second)))
    rows, scan = native_rows([str(tmp_path / "big.log.gz")])
    # The text decoded just before the damage was found may be garbled (it reads as unparsed lines): the
    # lines before are exact, every line of the next member is read, and the count is the careful one.
    kept = [
        line.decode("utf-8", "replace") for line in re.split(rb"\r\n|\r|\n", whole_lines(careful(damaged)))
    ]
    assert rows[: recovered - 3] == rows_of(first[: recovered - 3])
    assert rows == [*rows_of(kept[:-1]), NULL_ROW, *rows_of(second)]
    [(path, reason)] = scan.bad_files
    assert path in scan.partial_files and reason.endswith(
        "; the lines decoded just before the damage may be garbled"
    )


def test_every_query_reads_a_damaged_file_the_same_way(tmp_path: Path) -> None:
    lines = corpus(400)
    whole = member(text(lines))
    cut = whole[: len(whole) // 2]
    (tmp_path / "cut.log.gz").write_bytes(cut)
    (tmp_path / "g.log.gz").write_bytes(member(text(lines[:50])) + b"junk" + member(text(lines[:70])))
    (tmp_path / "normal.log.gz").write_bytes(member(text(lines[:30])))
    expected = careful(cut).count(b"\n") + 1 + 50 + 1 + 70 + 30  # one unparsed line per damaged stretch
    window = Window(None, None)
    engine = LocalEngine(discover([tmp_path], window).files, window, parser="native")
    first = diagnose(engine, QueryParams(window))
    again = diagnose(engine, QueryParams(window))
    count = engine.run("SELECT count(*), count_if(type IS NULL) FROM alb_logs").rows
    assert (first.totals.lines, first.totals.unparsed_lines) == (expected, 2)
    assert (again.totals.lines, again.totals.unparsed_lines) == (expected, 2)
    assert count == [(expected, 2)]
    assert sorted(Path(p).name for p, _ in first.bad_files) == ["cut.log.gz", "g.log.gz"]


# GzipText itself


def test_damage_in_several_places_is_one_unparsed_line_each_and_said_once() -> None:
    a, b, c = text(corpus(30)), text(corpus(40)), text(corpus(50))
    data = b"junk" + member(a) + b"\0" * 100 + member(b) + member(c)[:-30]
    out, damage = read(data)
    # Junk before the first member owes its line to the first text.
    assert out == b"\n" + a + b"\n" + b + whole_lines(careful(member(c)[:-30])) + b"\n"
    assert damage is not None and damage.read_whole
    assert str(damage).startswith("damaged gzip in 3 places (at byte 0 of ")


def test_a_line_end_of_cr_before_the_damage_keeps_its_line() -> None:
    # After a \r, a \n would join its line end: the unparsed line is then \n\n.
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    cut = c.compress(b"first\rsecond\r") + c.flush(zlib.Z_SYNC_FLUSH)
    assert read(cut)[0] == b"first\rsecond\r\n\n"
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    cut = c.compress(b"first\nsecond par") + c.flush(zlib.Z_SYNC_FLUSH)
    assert read(cut)[0] == b"first\n\n"


@pytest.mark.parametrize("size", [1, 700, 4096, 1 << 20])
def test_the_text_is_the_same_whatever_the_buffer(size: int) -> None:
    a = text(corpus(300))
    damaged, _ = _damaged_midway(varied(300))
    data = member(a) + damaged + member(a)
    expected = a + whole_lines(careful(damaged)) + b"\n" + a
    if size == 1:  # a buffer that holds no whole line: every byte is returned, and the cut ends a line
        expected = a + careful(damaged) + b"\n" + a
    assert read(data, size)[0] == expected


def test_a_file_with_no_whole_line_is_refused() -> None:
    whole = member(text(corpus(10)))
    for data, reason in [
        (b"not gzip at all", "not a gzip file"),
        (whole[:25], "the file ends inside a gzip member at byte 25, before the first whole line"),
    ]:
        out, damage = read(data)
        assert out == b"" and damage is not None and not damage.read_whole and str(damage) == reason
    assert read(b"") == (b"", None)


def test_a_checksum_that_does_not_match_is_said() -> None:
    a = text(corpus(100))
    bad = bytearray(member(a))
    bad[-8] ^= 1
    out, damage = read(bytes(bad) + member(a))
    assert out == a + a
    assert damage is not None and damage.read_whole
    assert str(damage) == (
        "the gzip member at byte 0: its text does not match its checksum: it is counted as decoded, and "
        "some lines may be garbled"
    )


def test_a_careful_reader_gets_the_same_text_wherever_the_damage() -> None:
    # Damage at random places of the first member: whatever ISA-L does, the text is zlib's, byte by
    # byte, up to its last line end before the damage, then one line, then the next member.
    a, b = text(varied(600)), text(corpus(100))
    whole = member(a)
    rng = random.Random(3)
    for i in range(30):
        at = rng.randrange(len(HEADER), len(whole) - 8)
        if i % 3 == 0:  # cut short
            damaged = whole[:at]
        elif i % 3 == 1:  # an invalid block after a random stretch of text
            damaged, _ = _damaged_midway(varied(600), rng.uniform(0.01, 0.99))
        else:  # bytes overwritten: deflate often decodes them as (wrong) text, and stops later or never
            damaged = whole[:at] + bytes(rng.randrange(256) for _ in range(8)) + whole[at + 8 :]
        if i % 3 == 0:  # (a member after it would be read as more of its deflate data)
            kept = whole_lines(careful(damaged))
            assert read(damaged)[0] == (kept + b"\n" if kept else b""), (i, at)  # no line: refused
        elif careful_stop(damaged) is not None:
            assert read(damaged + member(b))[0] == whole_lines(careful(damaged)) + b"\n" + b, (i, at)


def test_the_warnings_say_a_damaged_file_was_read_in_part(tmp_path: Path) -> None:
    from tests.test_cli import invoke

    lines = corpus(400)
    whole = member(text(lines))
    (tmp_path / "cut.log.gz").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "notgzip.log.gz").write_bytes(b"plain text, not gzip\n")
    (tmp_path / "normal.log.gz").write_bytes(member(text(lines[:30])))
    code, out, err = invoke("diagnose", str(tmp_path), "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    counted = {Path(b["path"]).name: b["lines_counted"] for b in data["bad_files"]}
    assert counted == {"cut.log.gz": True, "notgzip.log.gz": False}
    cut, notgzip = str(tmp_path / "cut.log.gz"), str(tmp_path / "notgzip.log.gz")
    assert f"Warning: {cut} is damaged and was read in part: damaged gzip (at byte " in err
    assert f"Warning: could not read {notgzip}: not a gzip file; the other files were analysed" in err
    warnings = data["verdict"]["warnings"]
    assert (
        "1 of 3 files unreadable (33.3%)" in warnings
        and "1 of 3 files damaged, read in part (33.3%)" in warnings
    )


def test_a_member_after_damage_is_found_whatever_its_header_holds() -> None:
    # FEXTRA, FNAME, FCOMMENT and FHCRC, as RFC 1952 has them; the search must step over each.
    a, b = text(corpus(20)), text(corpus(30)[::-1])
    raw = member(b)[len(HEADER) :]
    head = (
        b"\x1f\x8b\x08"
        + bytes([4 | 8 | 16 | 2])
        + HEADER[4:]
        + b"\x04\x00abcd"
        + b"name.log\x00"
        + b"a comment\x00"
    )
    rich = head + struct.pack("<H", zlib.crc32(head) & 0xFFFF) + raw
    assert zlib.decompress(rich, 31) == b
    out, damage = read(member(a) + b"\x1f\x8b\x08\xff junk" + rich)
    assert out == a + b"\n" + b and damage is not None


def test_a_flood_of_false_member_headers_is_not_searched_for_ever() -> None:
    # 100,000 headers that each fail at once: each costs a decoder, so the search stops at a budget
    # proportional to the file's size, and says so.
    a = text(corpus(20))
    data = member(a) + (HEADER + b"\xff\xff") * 100_000
    out, damage = read(data)
    assert out == a + b"\n" and damage is not None
    assert ": too many false gzip member headers: the rest of the file was not searched" in str(damage)
