"""The native reader (numba parser generated from the format) against the canonical regex, line by line.

The same corpora as the SQL view's tests (test_local_view.py), plus what only the native reader does:
Hadoop's line ends and empty lines, gzip members, files cut into pieces, and bad files named.
"""

from __future__ import annotations

import dataclasses
import gc
import gzip
import itertools
import json
import os
import subprocess
import sys
import threading
import time
import weakref
import zlib
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alb502athena.diagnosis import diagnose
from alb502athena.engines.local import LocalEngine, _native_view_sql
from alb502athena.engines.native import kernel as native_kernel
from alb502athena.engines.native import scan as native
from alb502athena.engines.native import source as native_source
from alb502athena.engines.native.codegen import parser_source
from alb502athena.engines.native.program import UnsupportedFormat, char_class, compile_format
from alb502athena.engines.native.scan import NativeScan, installed, referenced_columns, supports_format
from alb502athena.errors import QueryError, UsageError
from alb502athena.logfiles import discover
from alb502athena.logformat import log_format
from alb502athena.render import QueryParams
from alb502athena.window import Window
from tests.conftest import REPO, write_log
from tests.lines import OLD_SHAPES, SHAPES, aws_examples_by_shape, make_line, signature_line, tricky_lines
from tests.test_local_view import lines, same
from tests.typed import typed_row

ALL = list(log_format().column_names)


def native_rows(
    files: list[str], columns: list[str] | None = None
) -> tuple[list[tuple[Any, ...]], NativeScan]:
    cols = ALL if columns is None else columns
    scan = NativeScan([(None, files)])
    con = duckdb.connect()
    con.register("batches", scan.reader(cols))
    con.execute(_native_view_sql(cols, "batches"))
    return con.execute(f"SELECT {', '.join(ALL)} FROM alb_logs").fetchall(), scan


def check(path: Path, corpus: list[str]) -> None:
    got, _ = native_rows([str(path)])
    assert len(got) == len(corpus)
    for line, row in zip(corpus, got, strict=True):
        expected = typed_row(line)
        assert same(row, expected), f"line {line!r}\n native {row}\n regex  {expected}"


def test_runs_here() -> None:
    # The README's install brings the native reader's libraries: the fast path must be the one in use.
    assert installed() and supports_format()
    window = Window(None, None)
    assert LocalEngine(discover([REPO / "examples" / "logs"], window).files, window).parser == "native"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corpus=st.lists(lines(), min_size=1, max_size=40), gz=st.booleans())
def test_native_agrees_with_canonical_regex(tmp_path: Path, corpus: list[str], gz: bool) -> None:
    check(write_log(tmp_path / ("c.log.gz" if gz else "c.log"), corpus), corpus)


def test_fixed_corpus(tmp_path: Path, aws_samples: list[str]) -> None:
    corpus = [*aws_samples, *tricky_lines()]
    check(write_log(tmp_path / "c.log.gz", corpus), corpus)


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape(tmp_path: Path, shape: str) -> None:
    line = make_line(shape)
    rows, _ = native_rows([str(write_log(tmp_path / "a.log", [line]))])
    assert rows == [typed_row(line)] and rows[0][0] is not None


def test_line_ends_and_empty_lines_as_hadoop(tmp_path: Path) -> None:
    # Hadoop's line reader (Athena, Trino) ends a line at \n, \r\n or a lone \r; an empty line is a row
    # that does not match (all NULL); there is no row after the last line end.
    a, b, c = (make_line(s) for s in SHAPES[-3:])
    path = tmp_path / "ends.log"
    path.write_bytes(f"{a}\r\n{b}\r\n\n{c}\r{a}".encode())
    rows, _ = native_rows([str(path)])
    assert rows == [typed_row(a), typed_row(b), typed_row(""), typed_row(c), typed_row(a)]
    assert rows[2] == (None,) * len(ALL)


@pytest.mark.parametrize("gz", [False, True])
def test_invalid_utf8_is_read_as_hadoop_decodes_it(tmp_path: Path, gz: bool) -> None:
    # Hadoop decodes each line as UTF-8 with U+FFFD for what is not; DuckDB would refuse the bytes.
    line = make_line(SHAPES[-1])
    raw = [
        line.replace("Firefox", "Fire\udcfffox").encode("utf-8", "surrogateescape"),
        line.replace("app/", "app/\udcc3x", 1).encode("utf-8", "surrogateescape"),
        line.replace("cart", "caf\u00e9").encode(),  # valid UTF-8 is kept as it is
        b"\xe2\x82 truncated",
    ]
    path = tmp_path / ("bytes.log.gz" if gz else "bytes.log")
    data = b"\n".join(raw) + b"\n"
    path.write_bytes(gzip.compress(data) if gz else data)
    rows, scan = native_rows([str(path)])
    assert not scan.bad_files
    assert rows == [typed_row(r.decode("utf-8", "replace")) for r in raw]
    assert "\ufffd" in rows[1][ALL.index("elb")] and "caf\u00e9" in rows[2][ALL.index("request_url")]


def test_a_query_that_fails_while_fetching_leaves_the_engine_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DuckDB fails while handing Python a string that is not UTF-8, and then keeps the unfinished
    # result. The reader no longer produces such strings: its decoding is switched off here to reach
    # that failure, which must be one QueryError, with the engine still usable after it.
    log = tmp_path / "a.log"
    log.write_bytes(make_line(SHAPES[-1]).replace("app/", "app/\udcff", 1).encode("utf-8", "surrogateescape"))
    monkeypatch.setattr(native_source, "as_athena_reads", lambda buf, lease: (buf, lease))
    window = Window(None, None)
    engine = LocalEngine(discover([log], window).files, window, parser="native")
    with pytest.raises(QueryError, match="Invalid unicode"):
        engine.run("SELECT elb FROM alb_logs")
    assert engine.run("SELECT count(*) FROM alb_logs").rows == [(1,)]


def test_only_named_columns_are_written(tmp_path: Path) -> None:
    line = make_line(SHAPES[-1])
    rows, _ = native_rows([str(write_log(tmp_path / "a.log", [line]))], ["elb_status_code", "time"])
    expected = typed_row(line)
    for name, got, want in zip(ALL, rows[0], expected, strict=True):
        assert got == (want if name in ("elb_status_code", "time") else None)


def test_referenced_columns_are_a_superset() -> None:
    assert referenced_columns("SELECT time, count(*) FROM t WHERE elb_status_code = 502") == [
        "time",
        "elb_status_code",
    ]


def test_several_gzip_members_and_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = [make_line(s) for s in SHAPES] * 50
    path = tmp_path / "multi.log.gz"
    half = len(corpus) // 2
    path.write_bytes(
        gzip.compress(("\n".join(corpus[:half]) + "\n").encode())
        + gzip.compress(("\n".join(corpus[half:]) + "\n").encode())
    )
    check(path, corpus)
    # A big file is parsed in pieces cut at line ends: force small pieces and many batches.
    monkeypatch.setattr(native, "_MAX_PIECE", 5000)
    monkeypatch.setattr(native, "BATCH_ROWS", 7)
    check(path, corpus)


def test_bad_files_are_named_and_the_rest_read(tmp_path: Path) -> None:
    good = write_log(tmp_path / "good.log.gz", [make_line(SHAPES[-1])])
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(good.read_bytes()[:25])
    junk = tmp_path / "junk.log.gz"
    junk.write_bytes(b"not gzip at all")
    rows, scan = native_rows([str(cut), str(good), str(junk)])
    assert len(rows) == 1
    assert [Path(p).name for p, _ in scan.bad_files] == ["cut.log.gz", "junk.log.gz"]
    assert all(reason for _, reason in scan.bad_files)


def test_native_and_sql_parsers_give_the_same_diagnosis() -> None:
    window = Window(None, None)
    files = discover([REPO / "examples" / "logs"], window).files
    results = {}
    for parser in ("native", "sql"):
        engine = LocalEngine(files, window, parser=parser)
        assert engine.parser == parser
        d = diagnose(engine, QueryParams(window))
        results[parser] = (
            d.totals,
            [(f.signature.id, f.count, f.top_targets, f.per_minute) for f in d.findings],
        )
    assert results["native"] == results["sql"]
    assert results["native"][0].elb_502 > 0


def test_char_class() -> None:
    table, plus = char_class("[A-Z0-9_-]+")
    assert plus and table[ord("A")] and table[ord("_")] and table[ord("-")] and not table[ord("a")]
    negated, plus = char_class('[^ "]*')
    assert not plus and negated[0xC3] and not negated[ord(" ")] and not negated[ord("\n")]


def test_a_format_it_cannot_parse_is_refused() -> None:
    fmt = log_format()
    odd = dataclasses.replace(
        fmt.fields[0], columns=(dataclasses.replace(fmt.fields[0].columns[0], pattern="(a|b)"),)
    )
    with pytest.raises(UnsupportedFormat):
        compile_format(dataclasses.replace(fmt, fields=(odd, *fmt.fields[1:])))


def test_an_unknown_parser_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALB502_PARSER", "fast")
    with pytest.raises(UsageError, match="unknown parser 'fast'"):
        LocalEngine([], Window(None, None))


_RUN = """
import json, sys
from alb502athena.cli.app import main
try:
    main()
finally:
    print(json.dumps({"numba": "numba" in sys.modules}), file=sys.stderr)
"""


def _diagnose_in_a_new_process(cache: Path) -> tuple[str, bool]:
    """A whole `alb502 diagnose` run on the examples: its JSON, and whether it imported numba."""
    env = {**os.environ, "ALB502_CACHE": str(cache), "ALB502_PARSER": "native"}
    args = [sys.executable, "-c", _RUN, "diagnose", str(REPO / "examples" / "logs"), "--output", "json"]
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return done.stdout, json.loads(done.stderr.strip().splitlines()[-1])["numba"]


def test_the_compiled_parser_is_cached_and_loaded_without_numba(tmp_path: Path) -> None:
    first, compiled = _diagnose_in_a_new_process(tmp_path)
    assert compiled  # nothing cached yet: numba compiles the parser
    [cached] = (tmp_path / "native").glob("alb_parser_*.o")
    second, compiled = _diagnose_in_a_new_process(tmp_path)
    assert not compiled  # loaded from the cache by llvmlite alone
    assert second == first and json.loads(first)["totals"]["elb_502"] > 0

    # A damaged cache file is never linked: its digest fails, and the parser is compiled again.
    code = bytearray(cached.read_bytes())
    code[-100] ^= 0xFF
    cached.write_bytes(bytes(code))
    third, compiled = _diagnose_in_a_new_process(tmp_path)
    assert compiled and third == first
    name, _ = native_kernel._read(
        cached, native_kernel._cache_key(parser_source(compile_format(log_format())))
    )
    assert name.startswith("cfunc.")


def test_a_parser_that_cannot_be_built_falls_back_to_the_sql_view(tmp_path: Path) -> None:
    # A broken numba install, stood in for by a package of that name that fails to import (no real
    # broken install can be made here). With nothing cached, the parser cannot be compiled: the run
    # must say so in one note and give the SQL view's answer, not a traceback.
    fake = tmp_path / "site" / "numba"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('numba is broken here')\n")
    args = [
        sys.executable,
        "-m",
        "alb502athena",
        "diagnose",
        str(REPO / "examples" / "logs"),
        "--output",
        "json",
    ]
    env = {**os.environ, "ALB502_CACHE": str(tmp_path / "cache")}
    env.pop("ALB502_PARSER", None)
    broken = subprocess.run(
        args, capture_output=True, text=True, cwd=REPO, env={**env, "PYTHONPATH": str(tmp_path / "site")}
    )
    assert broken.returncode == 0, broken.stderr
    assert (
        "Note: the native parser could not be compiled: numba is broken here; "
        "the slower SQL view read the logs instead" in broken.stderr
    )
    sql = subprocess.run(args, capture_output=True, text=True, cwd=REPO, env={**env, "ALB502_PARSER": "sql"})
    assert json.loads(broken.stdout) == json.loads(sql.stdout)


def _stream_small(monkeypatch: pytest.MonkeyPatch) -> None:
    # Sizes in bytes rather than megabytes: every file here is "big" and read in many chunks.
    monkeypatch.setattr(native_source, "WHOLE", 1000)
    monkeypatch.setattr(native_source, "WHOLE_GZIP", 100)
    monkeypatch.setattr(native_source, "CHUNK", 700)


@pytest.mark.parametrize(
    ("name", "ends"),
    [
        ("big.log", ["\n", "\r\n", "\r"]),
        ("big.log.gz", ["\n", "\r\n", "\r"]),
        ("members.log.gz", ["\n", "\r\n", "\r"]),
        ("cr.log", ["\r"]),  # old Mac line ends only: cuts must fall after a \r
    ],
)
def test_big_files_are_streamed_in_chunks_of_whole_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, ends: list[str]
) -> None:
    _stream_small(monkeypatch)
    corpus = [make_line(s) for s in SHAPES] * 4 + ["x" * 3000]  # one line longer than a chunk
    text = "".join(line + ends[i % len(ends)] for i, line in enumerate(corpus)) + make_line(SHAPES[0])
    corpus.append(make_line(SHAPES[0]))  # the last line has no line end
    data = text.encode()
    path = tmp_path / name
    if name == "members.log.gz":
        half = len(data) // 2
        path.write_bytes(gzip.compress(data[:half]) + gzip.compress(data[half:]))
    else:
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    pieces = list(native_source.chunks(str(path), native_source.Pool()))
    assert len(pieces) > 5
    # Each cut is after a line end, and never between the halves of a \r\n.
    for (buf, _), (following, _) in itertools.pairwise(pieces):
        assert bytes(buf[-1:]) == b"\n" or (bytes(buf[-1:]) == b"\r" and bytes(following[:1]) != b"\n")
    assert b"".join(bytes(buf) for buf, _ in pieces) == data
    check(path, corpus)


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_big_file_damaged_midway_names_it_and_keeps_what_came_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    _stream_small(monkeypatch)
    corpus = [make_line(s) for s in SHAPES] * 20
    whole = gzip.compress(("\n".join(corpus) + "\n").encode())
    at = len(whole) * 2 // 3
    bad = tmp_path / "bad.log.gz"
    bad.write_bytes(whole[:at] if damage == "truncated" else whole[:at] + b"\xff" * 64 + whole[at + 64 :])
    rows, scan = native_rows([str(bad)])
    [(path, reason)] = scan.bad_files
    assert Path(path).name == "bad.log.gz" and path in scan.partial_files
    if damage == "truncated":
        # A cut stream is exact up to the cut: every whole line before it, as written, then the one
        # unparsed line that stands for the partial line and the rest.
        recovered = zlib.decompressobj(31).decompress(whole[:at]).count(b"\n")
        assert 0 < recovered < len(corpus)
        assert rows == [typed_row(line) for line in corpus[:recovered]] + [tuple([None] * len(ALL))]
        assert "the file ends inside a gzip member" in reason and "every other line is counted" in reason
    else:
        # deflate may decode some damage as text before it finds it: the last lines may be garbled
        # (they count as unparsed), which is why the note says what was counted.
        assert rows[:10] == [typed_row(line) for line in corpus[:10]]
        assert "garbled" in reason


def test_the_first_compile_is_announced_on_the_progress_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new machine, as far as the parser's cache goes: an empty cache folder, nothing loaded yet.
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    native._parser.cache_clear()
    native_kernel.kernel.cache_clear()
    assert native.needs_compiling()
    shown: list[str] = []
    window = Window(None, None)
    log = write_log(tmp_path / "a.log", [make_line(SHAPES[-1])])
    engine = LocalEngine(discover([log], window).files, window, progress=shown.append, parser="native")
    assert engine.run("SELECT count(*) FROM alb_logs").rows == [(1,)]
    assert shown[0] == "Compiling the log parser for this machine (once, a few seconds)"
    assert not native.needs_compiling()  # loaded now, and cached on disk
    native._parser.cache_clear()
    assert not native.needs_compiling()
    shown.clear()
    engine.run("SELECT count(*) FROM alb_logs")
    assert not any("Compiling" in m for m in shown)


def test_a_damaged_big_file_gives_every_query_the_same_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stream_small(monkeypatch)
    corpus = [make_line(s) for s in SHAPES] * 20
    whole = gzip.compress(("\n".join(corpus) + "\n").encode())
    (tmp_path / "cut.log.gz").write_bytes(whole[: len(whole) * 2 // 3])
    good = write_log(tmp_path / "good.log", corpus[:5])
    window = Window(None, None)
    for files in ([tmp_path / "cut.log.gz"], [tmp_path / "cut.log.gz", good]):
        engine = LocalEngine(discover(files, window).files, window, parser="native")
        first = engine.run("SELECT count(*) FROM alb_logs")  # the only file, yet not "no readable files"
        second = engine.run("SELECT count(*) FROM alb_logs")
        assert first.rows == second.rows and 5 * (len(files) - 1) < first.rows[0][0] < len(corpus)
        [(path, reason)] = second.bad_files
        assert Path(path).name == "cut.log.gz" and reason.endswith("every other line is counted")


_ABANDON = """
import sys
from pathlib import Path
from alb502athena.engines.native import source as native_source
from alb502athena.engines.local import LocalEngine
from alb502athena.logfiles import discover
from alb502athena.window import Window

native_source.WHOLE, native_source.WHOLE_GZIP, native_source.CHUNK = 1000, 100, 700
window = Window(None, None)
engine = LocalEngine(discover([Path(sys.argv[1])], window).files, window, parser="native")
print("engine built; its first query never runs")
"""


def test_a_scan_that_is_never_read_does_not_keep_the_process_alive(tmp_path: Path) -> None:
    # The engine starts reading when it is built. A streamed file's loader then waits for its chunks
    # to be taken, which never happens here; the process must still exit (the timeout catches a hang).
    big = write_log(tmp_path / "big.log.gz", [make_line(s) for s in SHAPES] * 50)
    done = subprocess.run(
        [sys.executable, "-c", _ABANDON, str(big)], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert done.returncode == 0 and "engine built" in done.stdout, done.stderr


def _loaders() -> int:
    return sum(t.name == "alb502-loader" and t.is_alive() for t in threading.enumerate())


def _until_loaders(count: int) -> int:
    for _ in range(100):  # they notice within one wait of 50 ms
        if _loaders() == count:
            break
        time.sleep(0.05)
    return _loaders()


def test_an_engine_dropped_before_its_first_query_stops_its_loaders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stream_small(monkeypatch)
    big = write_log(tmp_path / "big.log.gz", [make_line(s) for s in SHAPES] * 50)
    window = Window(None, None)
    before = _loaders()
    engine = LocalEngine(discover([big], window).files, window, parser="native")
    assert _loaders() > before
    del engine
    assert _until_loaders(before) == before


def test_the_first_scan_is_let_go_once_its_query_is_done(tmp_path: Path) -> None:
    window = Window(None, None)
    log = write_log(tmp_path / "a.log.gz", [make_line(SHAPES[-1])] * 10)
    engine = LocalEngine(discover([log], window).files, window, parser="native")
    first = weakref.ref(engine._next_scan)  # started when the engine was built
    assert engine.run("SELECT count(*) FROM alb_logs").rows == [(10,)]
    gc.collect()
    assert first() is None  # with its buffers, though the engine lives on


def test_a_failing_progress_line_stops_the_query_and_its_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stream_small(monkeypatch)
    big = write_log(tmp_path / "big.log.gz", [make_line(s) for s in SHAPES] * 50)
    failures = [BrokenPipeError("stderr is closed")]

    def show(message: str) -> None:
        if failures:
            raise failures.pop()

    window = Window(None, None)
    before = _loaders()
    engine = LocalEngine(discover([big], window).files, window, progress=show, parser="native")
    engine.poll_seconds = 0.01
    slow = "SELECT count(*) FROM alb_logs, range(3000000) r WHERE r.range % 7 = 0"
    with pytest.raises(BrokenPipeError):  # its own error, not DuckDB's "connection is busy"
        engine.run(slow)
    assert _until_loaders(before) == before
    assert engine.run("SELECT count(*) FROM alb_logs").rows == [(50 * len(SHAPES),)]


def test_a_closed_scan_does_not_end_short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _stream_small(monkeypatch)
    big = write_log(tmp_path / "big.log.gz", [make_line(s) for s in SHAPES] * 50)
    scan = NativeScan([(None, [str(big)])])
    batches = iter(scan.reader(["time"]))
    next(batches)
    scan.close()
    with pytest.raises(native.ScanClosed):
        for _ in batches:
            pass


@pytest.mark.parametrize("version", sorted(aws_examples_by_shape()))
def test_aws_examples_of_every_shape_since_2016_read_natively(tmp_path: Path, version: str) -> None:
    # Before: the lines of 2016 to mid-2018 were all-NULL rows (unparsed).
    lines = aws_examples_by_shape()[version]
    rows, _ = native_rows([str(write_log(tmp_path / "a.log.gz", lines))])
    assert rows == [typed_row(line) for line in lines]
    at = {name: i for i, name in enumerate(ALL)}
    assert [(r[at["type"]], r[at["trace_id"]]) for r in rows] == [
        (x.split(" ")[0], x.split('"')[5]) for x in lines
    ]
    assert all((r[at["domain_name"]] is None) == (version < "2017-10") for r in rows)
    assert all((r[at["lambda_error_reason"]] is None) == (version < "2018-11") for r in rows)


def test_native_reads_the_protocol_followed_by_a_space(tmp_path: Path) -> None:
    requests = {
        "GET http://example.com:80/ HTTP/1.0 ": ("GET", "http://example.com:80/", "HTTP/1.0"),
        "GET http://example.com:80/a b HTTP/1.0 ": ("GET", "http://example.com:80/a b", "HTTP/1.0"),
        'GET https://x.example.com/a b"c HTTP/1.1': ("GET", 'https://x.example.com/a b"c', "HTTP/1.1"),
        "- - - ": ("-", "-", "- "),  # AWS's form for a request it could not parse: read as before
    }
    lines = [make_line(shape, request=r) for r in requests for shape in ("2016", "2025")]
    rows, _ = native_rows(
        [str(write_log(tmp_path / "a.log", lines))], ["request_verb", "request_url", "request_proto"]
    )
    at = [ALL.index(c) for c in ("request_verb", "request_url", "request_proto")]
    assert [tuple(r[i] for i in at) for r in rows] == [v for v in requests.values() for _ in range(2)]


@pytest.mark.parametrize("parser", ["native", "sql"])
def test_old_shapes_are_diagnosed(tmp_path: Path, parser: str) -> None:
    # Fields a shape does not have are NULL (no error_reason before Lambda targets, November 2018): the
    # rule must still put each 502 where it belongs, and nothing counts as unparsed.
    expected = {
        "connect-failed": "2016",
        "target-502": "2017",
        "response-failed": "2018-05",
        "elb-502-other": "2018-07",
    }
    lines = [signature_line(sid, shape) for sid, shape in expected.items()]
    lines += [make_line(shape) for shape in OLD_SHAPES]
    path = write_log(tmp_path / "old.log.gz", lines)
    window = Window(None, None)
    engine = LocalEngine(discover([path], window).files, window, parser=parser)
    assert engine.parser == parser  # the native reader takes every shape: no fallback to SQL
    d = diagnose(engine, QueryParams(window))
    assert sorted((f.signature.id, f.count) for f in d.findings) == sorted((s, 1) for s in expected)
    assert (d.totals.lines, d.totals.unparsed_lines, d.totals.requests) == (8, 0, 8)
