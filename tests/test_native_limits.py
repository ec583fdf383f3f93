"""The native reader against hostile inputs (issue 13): tens of thousands of small files, a line of
gigabytes, a low limit of open files, a log rotated while it is read. Each is a generated input read
by the real reader; the big ones run `alb502 diagnose` in a child process and measure its peak memory
there, never its time."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from alb502athena.engines.local import _native_view_sql
from alb502athena.engines.native import scan as native
from alb502athena.engines.native import source as native_source
from alb502athena.engines.native.pool import Pool
from alb502athena.engines.native.scan import NativeScan
from tests.conftest import REPO, write_log
from tests.lines import SHAPES, make_line
from tests.test_native import ALL, native_rows
from tests.typed import typed_row

LINES = [make_line(s, time=f"2026-11-20T09:2{i % 10}:00.000000Z") for i, s in enumerate(SHAPES * 2)]
EMPTY = (None,) * len(ALL)  # the row of a line that does not parse


def _diagnose(folder: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "alb502athena", "diagnose", str(folder), "--output", "json"]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, **kwargs)


_PEAK = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(done.returncode)
sys.stderr.write(done.stderr)
sys.stdout.write(done.stdout)
"""


def _peak_diagnose(folder: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    """Peak RSS in bytes of `alb502 diagnose folder`, measured in a fresh probe process (ru_maxrss of
    RUSAGE_CHILDREN is the maximum over every child so far), its JSON result and its stderr."""
    cmd = [sys.executable, "-m", "alb502athena", "diagnose", str(folder), "--output", "json"]
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, *cmd],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, **(env or {})}, check=True,
    )  # fmt: skip
    peak, code, output = done.stdout.split("\n", 2)
    assert code == "0", done.stderr
    return int(peak) * 1024, json.loads(output), done.stderr


def _small_files(folder: Path, count: int, gz: bool = True, lines: int = 10) -> None:
    """`count` files of `lines` lines each, a thousand per folder, as a quiet load balancer writes them."""
    for i in range(count):
        text = "".join(LINES[(i + k) % len(LINES)] + "\n" for k in range(lines)).encode()
        part = folder / f"{i // 1000:03d}"
        if i % 1000 == 0:
            part.mkdir(parents=True, exist_ok=True)
        name = (
            part
            / f"123456789012_elasticloadbalancing_eu-west-1_app.shop.1_20261120T0920Z_10.0.1.1_{i:06d}.log"
        )
        if gz:
            name.with_name(name.name + ".gz").write_bytes(gzip.compress(text, 1))
        else:
            name.write_bytes(text)


# Many small files: their chunks are parsed together, and memory does not grow with their number.


def test_small_files_read_together_give_each_file_its_own_lines(tmp_path: Path) -> None:
    # Small files are parsed as one buffer. A file's last line must still end where the file ends,
    # whatever its line end: none, \r (a \n starting the next file is an empty line there), \r\n.
    a, b, c = (make_line(s) for s in SHAPES[-3:])
    texts = [
        f"{a}\r",
        f"\n{b}",  # an empty line, then b without a line end
        "",
        f"{c}\r\n{a}\n",
        f"{b}\r",
        f"{c}",
        "\n",
    ]
    files = []
    for i, text in enumerate(texts):
        path = tmp_path / f"f{i}.log{'.gz' if i % 2 else ''}"
        path.write_bytes(gzip.compress(text.encode()) if i % 2 else text.encode())
        files.append(str(path))
    scan = NativeScan([(None, files)])
    scan.start()
    time.sleep(0.5)  # every file loaded before the first is taken: they are parsed together
    batches = list(scan.reader(ALL))
    assert len(batches) < len(files)
    con = duckdb.connect()
    con.register("batches", pa.Table.from_batches(batches))
    con.execute(_native_view_sql(ALL, "batches"))
    together = con.execute(f"SELECT {', '.join(ALL)} FROM alb_logs").fetchall()
    one_by_one = [row for path in files for row in native_rows([path])[0]]
    expected = [typed_row(line) for line in (a, "", b, c, a, b, c, "")]
    assert not scan.bad_files
    assert sorted(together, key=repr) == sorted(one_by_one, key=repr) == sorted(expected, key=repr)


def test_small_files_of_different_days_keep_their_day(tmp_path: Path) -> None:
    days = {"2026/11/19": [], "2026/11/20": []}
    for i in range(200):
        day = list(days)[i % 2]
        days[day].append(str(write_log(tmp_path / f"{i}.log", LINES[: 1 + i % 3])))
    scan = NativeScan(list(days.items()))
    con = duckdb.connect()
    con.register("batches", scan.reader(["elb_status_code"]))
    counts = dict(con.execute("SELECT day, count(*) FROM batches GROUP BY day").fetchall())
    expected = {day: sum(1 + i % 3 for i in range(200) if list(days)[i % 2] == day) for day in days}
    assert counts == expected


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_number_of_small_gzip_files(tmp_path: Path) -> None:
    # Every buffer was rounded up to 4 MiB and the read-ahead counted in bytes as stored, so every
    # one of thousands of small files was in flight, each with its buffers: 20,000 files of ten lines
    # took 10.4 GiB (numpy asks for huge pages for arrays of 4 MiB or more, as it does by default).
    peaks = {}
    for count in (2000, 8000):
        folder = tmp_path / str(count)
        _small_files(folder, count)
        peak, result, _ = _peak_diagnose(folder, {"NUMPY_MADVISE_HUGEPAGE": "1"})
        assert result["totals"]["lines"] == 10 * count and not result["bad_files"]
        peaks[count] = peak
    # Four times the files: some kilobytes each for their names in the lists of files, no more.
    assert peaks[8000] - peaks[2000] < 48 << 20, peaks
    assert peaks[8000] < 1 << 30


def test_read_ahead_is_bounded_in_files(tmp_path: Path) -> None:
    _small_files(tmp_path, 3000)
    files = sorted(str(p) for p in tmp_path.rglob("*.gz"))
    scan = NativeScan([(None, files)])
    scan.start()
    try:
        time.sleep(0.5)  # the loaders read ahead as far as they may
        assert len(scan._loads) <= native.READ_AHEAD_FILES < len(files)
    finally:
        scan.close()


# Descriptors: a file is open only while it is read.

_LIMITED = """
import resource, runpy, sys
soft = int(sys.argv.pop(1))
resource.setrlimit(resource.RLIMIT_NOFILE, (soft, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
sys.argv[0] = "alb502"
runpy.run_module("alb502athena", run_name="__main__")
"""


def test_a_thousand_plain_files_are_read_with_256_descriptors(tmp_path: Path) -> None:
    # Plain files were memory-mapped, and each mapping holds its file open until it is parsed: with the
    # usual `ulimit -n 1024`, 2,000 files lost half of them to "Too many open files".
    _small_files(tmp_path, 1000, gz=False, lines=3)
    cmd = [sys.executable, "-c", _LIMITED, "256", "diagnose", str(tmp_path), "--output", "json"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["bad_files"] == [] and result["totals"]["lines"] == 3000
    assert "Too many open files" not in done.stderr


# A file truncated while it is read.


def _open_in(pid: int, path: Path) -> bool:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            continue
    return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="watches the reader's descriptors in /proc")
def test_a_plain_file_truncated_while_it_is_read_is_named_and_the_process_survives(tmp_path: Path) -> None:
    # Log rotation: the file is cut to half its size while the reader has it open. A memory-mapped
    # file cut under the reader killed it with SIGBUS (exit -7), all output lost.
    big = tmp_path / "big.log"
    block = ("".join(line + "\n" for line in LINES) * 2000).encode()
    with big.open("wb") as f:
        while f.tell() < 200 << 20:
            f.write(block)
    size = big.stat().st_size
    write_log(tmp_path / "small.log", LINES)
    cmd = [sys.executable, "-m", "alb502athena", "diagnose", str(tmp_path), "--output", "json"]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    cut = threading.Event()

    def cut_when_open() -> None:
        deadline = time.monotonic() + 120
        while child.poll() is None and time.monotonic() < deadline:
            if _open_in(child.pid, big):
                time.sleep(0.05)  # well into the file, well before its end
                os.truncate(big, size // 2)
                cut.set()
                return
            time.sleep(0.001)

    watcher = threading.Thread(target=cut_when_open)
    watcher.start()
    out, err = child.communicate(timeout=300)
    watcher.join()
    assert cut.is_set(), "the reader never had the file open"
    assert child.returncode == 0, (child.returncode, err[-2000:])
    result = json.loads(out)
    [(path, reason)] = [(b["path"], b["reason"]) for b in result["bad_files"]]
    assert path == str(big) and "while it was read" in reason
    assert f"{big} is damaged and was read in part" in err
    # The lines read before the cut are kept, the other file's too; not the lines after the cut.
    in_big = size // len(block) * 2000 * len(LINES)
    assert len(LINES) <= result["totals"]["lines"] < len(LINES) + in_big


# Lines too long to hold: one unparsed line each, every other line kept.


def _long_line_corpus(long: int, end: str) -> tuple[bytes, list[tuple[Any, ...]]]:
    before, after = LINES[:3], LINES[3:6]
    text = "".join(line + "\n" for line in before) + "x" * long + end + "".join(line + "\n" for line in after)
    rows = [typed_row(line) for line in before] + [EMPTY] + [typed_row(line) for line in after]
    return text.encode(), rows


@pytest.mark.parametrize("name", ["long.log", "long.log.gz"])
@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("long", [5000, 20_000])
def test_a_line_longer_than_the_limit_is_one_unparsed_line_and_the_rest_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, end: str, long: int
) -> None:
    # A 2 GiB line took 45 s and 4 GiB, and then the whole file was refused, its lines after it lost.
    monkeypatch.setattr(native_source, "WHOLE_GZIP", 100)  # gzip streamed too
    monkeypatch.setattr(native_source, "CHUNK", 700)
    monkeypatch.setattr(native_source, "MAX_LINE", 3000)
    data, expected = _long_line_corpus(long, end)
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    rows, scan = native_rows([str(path)])
    assert rows == expected
    [(bad, reason)] = scan.bad_files
    assert bad == str(path)
    assert reason == (
        f"a line of {long:,} bytes is longer than the 3,000-byte limit: it is counted as one unparsed line; "
        "every other line was read"
    )
    assert bad in scan.partial_files  # read again by every query, as this one read it


def test_a_long_last_line_without_line_end_and_lines_within_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(native_source, "CHUNK", 700)
    monkeypatch.setattr(native_source, "MAX_LINE", 3000)
    kept = "y" * 2990  # within the limit: read as it is, over several chunks
    path = tmp_path / "tail.log"
    path.write_bytes(f"{LINES[0]}\n{kept}\n{LINES[1]}\n{'z' * 9000}".encode())
    rows, scan = native_rows([str(path)])
    assert rows == [typed_row(LINES[0]), EMPTY, typed_row(LINES[1]), EMPTY]
    [(_, reason)] = scan.bad_files
    assert "a line of 9,000 bytes" in reason


def test_pieces_refuse_only_a_line_too_long_for_a_string_view() -> None:
    text = b"a\n" + b"x" * 50 + b"\r\nb\n" + b"y" * 30 + b"\nlast"
    cut, refused = native_source.pieces(np.frombuffer(text, dtype=np.uint8), 20)
    parts = [bytes(piece) for _, piece in cut]
    assert refused == [50, 30]
    assert parts == [b"a\n", b"\n", b"b\n", b"\n", b"last"]
    assert [offset for offset, _ in cut] == [0, None, 54, None, 87]


def _sparse_line(path: Path, hole: int) -> None:
    """Lines, a line of `hole` NUL bytes (a hole: no disk used), and lines."""
    head = "".join(line + "\n" for line in LINES[:3]).encode()
    tail = b"\n" + "".join(line + "\n" for line in LINES[3:6]).encode()
    with path.open("wb") as f:
        f.write(head)
        f.seek(len(head) + hole)
        f.write(tail)


def _gzip_line(path: Path, size: int) -> None:
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # gzip framing
    zeros = bytes(64 << 20)
    with path.open("wb") as f:
        f.write(compressor.compress("".join(line + "\n" for line in LINES[:3]).encode()))
        for _ in range(size // len(zeros)):
            f.write(compressor.compress(zeros))
        f.write(compressor.compress(b"\n" + "".join(line + "\n" for line in LINES[3:6]).encode()))
        f.write(compressor.flush())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["huge.log", "huge.log.gz"])
def test_a_two_gib_line_is_refused_in_bounded_memory(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    (_gzip_line if name.endswith(".gz") else _sparse_line)(path, 2 << 30)
    peak, result, _ = _peak_diagnose(tmp_path)
    assert result["totals"]["lines"] == 7 and result["totals"]["unparsed_lines"] == 1
    [bad] = result["bad_files"]
    assert bad["path"] == str(path) and f"a line of {2 << 30:,} bytes is longer than the" in bad["reason"]
    assert peak < 512 << 20, peak  # 4.1 GiB before


@pytest.mark.parametrize("name", ["swapped.log", "swapped.log.gz"])
def test_a_path_swapped_for_a_fifo_after_discovery_is_refused_not_waited_on(
    tmp_path: Path, name: str
) -> None:
    # Discovery hands over regular files only; the reader checks again what it opened, since the path
    # may be replaced in between (a plain open() of a FIFO waits for a writer forever).
    path = tmp_path / name
    os.mkfifo(path)
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            list(native_source.chunks(str(path), Pool()))
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=60)
    assert not reader.is_alive(), "the reader waited on the FIFO"
    [error] = outcome
    assert isinstance(error, OSError)
    assert "not a regular file any more" in str(error)
