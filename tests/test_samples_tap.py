"""The report's samples from the diagnosis' own scan (alb502athena/engines/samples_tap.py): each file
read once, the same rows as the samples query run on its own, memory held to a few rows per signature."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from alb502athena.catalogue import catalogue
from alb502athena.diagnosis import diagnose, diagnose_with_samples, signature_samples
from alb502athena.engines import samples_tap
from alb502athena.engines.local import LocalEngine
from alb502athena.engines.native.pool import Pool
from alb502athena.engines.native.source import Chunk, chunks
from alb502athena.engines.samples_tap import STATUS, SamplesTap, may_be_502, take_columns, take_strings
from alb502athena.logfiles import discover
from alb502athena.logformat import log_format
from alb502athena.render import QueryParams
from alb502athena.window import Window
from tests.conftest import REPO, write_log
from tests.lines import make_line, signature_line

SIGNATURES = [s.id for s in catalogue()]


class CountingFiles:
    """The native reader's source over files on disk (as chunks() reads them), counting each file's
    readings: the S3 reader is such a source, where each reading is a download."""

    def __init__(self) -> None:
        self.reads: Counter[str] = Counter()

    def reading(self, paths: Sequence[str]) -> CountingFiles:
        return self

    def size(self, path: str) -> int:
        return Path(path).stat().st_size

    def chunks(self, path: str, pool: Pool) -> Iterator[Chunk]:
        self.reads[path] += 1
        yield from chunks(path, pool)

    def close(self) -> None:
        pass

    def stop(self) -> None:
        pass


def many_502s(root: Path, lines: int = 60_000, seed: int = 5) -> Path:
    """Two days of logs in several files, a 502 in three lines of every signature (each at its own
    time, so that the first rows of a signature are one set whatever the engine), shuffled: more lines
    than one batch of the reader, and first rows found late in the scan."""
    rng = random.Random(seed)
    times = rng.sample(range(2 * 86_400_000), lines)
    out = []
    for i, t in enumerate(times):
        day, ms = divmod(t, 86_400_000)
        at = f"2026-11-{20 + day}T{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}000Z"
        elb = "app/shop/50dc6c495c0c9188" if i % 2 else "app/api/1f2e3d4c5b6a7988"
        if i % 3 == 0:
            out.append(
                signature_line(
                    SIGNATURES[i // 3 % len(SIGNATURES)],
                    time=at,
                    elb=elb,
                    request=f"GET https://shop.example.com:443/u{i} HTTP/1.1",
                )
            )
        else:
            out.append(make_line(time=at, elb=elb))
    for k in range(6):
        day = 20 + k % 2
        write_log(root / f"2026/11/{day}/part{k}.log.gz", out[k * lines // 6 : (k + 1) * lines // 6])
    return root


def test_one_reading_of_each_file_for_the_diagnosis_and_its_samples() -> None:
    window = Window(None, None)
    files = discover([REPO / "examples" / "logs"], window).files
    params = QueryParams(window)
    source = CountingFiles()
    found, samples = diagnose_with_samples(LocalEngine(files, window, source=source), params)
    assert samples is not None and len(found.findings) > 3
    assert set(source.reads) == {f.location for f in files} and set(source.reads.values()) == {1}
    # The same rows as the samples query run on its own, for each signature found, in its columns.
    alone = LocalEngine(files, window)
    ids = [f.signature.id for f in diagnose(alone, params).findings]
    assert samples == signature_samples(alone, params, ids)
    assert all(rows for _, rows in samples.values())


@pytest.fixture(scope="module")
def shuffled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return many_502s(tmp_path_factory.mktemp("many"))


@pytest.mark.parametrize(
    "window",
    [Window(None, None), Window.from_options(None, "2026-11-20T06:00Z", "2026-11-21T03:00Z")],
    ids=["all", "window"],
)
@pytest.mark.parametrize(
    ("direct_share", "reduce_bytes"),
    [
        pytest.param(0, 1, id="copied-each-batch"),
        pytest.param(0, samples_tap.REDUCE_BYTES, id="copied-once"),
        pytest.param(10**9, samples_tap.REDUCE_BYTES, id="batches-queried"),
    ],
)
def test_the_first_rows_of_each_signature_whatever_the_parts(
    shuffled: Path, monkeypatch: pytest.MonkeyPatch, window: Window, direct_share: int, reduce_bytes: int
) -> None:
    """The candidates copied and queried after every batch (the bound reached at once) or once at the
    end, or every batch queried as it passes: the rows are those of the samples query over all the logs,
    on the SQL view."""
    monkeypatch.setattr(samples_tap, "DIRECT_SHARE", direct_share)
    monkeypatch.setattr(samples_tap, "REDUCE_BYTES", reduce_bytes)
    queried: list[int] = []
    query = SamplesTap._query

    def counted(tap: SamplesTap, rows: Any) -> None:
        queried.append(rows.num_rows)
        query(tap, rows)

    monkeypatch.setattr(SamplesTap, "_query", counted)
    files = discover([shuffled], window).files
    for elb in (None, "app/api/1f2e3d4c5b6a7988"):
        queried.clear()
        params = QueryParams(window, load_balancer=elb)
        found, samples = diagnose_with_samples(LocalEngine(files, window, parser="native"), params, 3)
        assert samples is not None
        # What was held at once: a third of a batch (its 502s), all the 502s, or nothing.
        if direct_share:
            assert len(queried) > 4 and set(queried) == {10_000}  # a batch a file
        elif reduce_bytes == 1:
            assert len(queried) > 4 and max(queried) < 4_000
        else:
            assert queried == [20_000]
        ids = [f.signature.id for f in found.findings]
        assert sorted(ids) == sorted(SIGNATURES)
        expected = signature_samples(LocalEngine(files, window, parser="sql"), params, ids, 3)
        assert samples == expected
        assert all(len(rows) == 3 for _, rows in samples.values())


def test_the_sql_view_leaves_the_samples_to_their_own_query() -> None:
    window = Window(None, None)
    files = discover([REPO / "examples" / "logs"], window).files
    found, samples = diagnose_with_samples(LocalEngine(files, window, parser="sql"), QueryParams(window))
    assert samples is None and found.findings


def test_the_status_code_prefilter_keeps_every_502() -> None:
    """The tap keeps the lines whose status code text holds "502": every text of the format's pattern
    that reads as 502 does (digits only: leading zeros at most)."""
    [column] = [c for c in log_format().columns if c.name == STATUS]
    assert column.pattern == "[-0-9]*" and column.type == "int"


def _views(values: list[str | None], chunks_of: int) -> Any:
    """A string_view array of the values, made of several arrays (several data buffers)."""
    parts = [
        pa.array(values[i : i + chunks_of], type=pa.string_view()) for i in range(0, len(values), chunks_of)
    ]
    return pa.concat_arrays(parts) if len(parts) > 1 else parts[0]


def _values(rng: random.Random, n: int) -> list[str | None]:
    """Texts of every size a view holds inline (up to 12 bytes) or not, multi-byte characters, NULLs."""
    sizes = [0, 1, 5, 12, 13, 40, 300]
    alphabet = 'ab\u00e9\u4e2d"x '
    return [
        None if rng.random() < 0.1 else "".join(rng.choice(alphabet) for _ in range(rng.choice(sizes)))
        for _ in range(n)
    ]


@pytest.mark.parametrize("seed", range(5))
def test_take_columns_is_take(seed: int) -> None:
    """Arrays that share their data buffers (slices of one, as the reader's columns share the text) and
    arrays of their own, taken together: the values at the indices, in strings that own their bytes."""
    rng = random.Random(seed)
    one, other = _views(_values(rng, 500), 97), _views(_values(rng, 400), 50)
    arrays = [one.slice(0, 300), one.slice(37, 300), other.slice(0, 300), one.slice(200, 300)]
    indices = sorted(rng.sample(range(300), 120))
    taken = take_columns(arrays, indices)
    for array, got in zip(arrays, taken, strict=True):
        expected = array.to_pylist()
        assert got.type == pa.string() and got.to_pylist() == [expected[i] for i in indices]
        assert take_strings(array, indices).to_pylist() == got.to_pylist()
    assert [a.to_pylist() for a in take_columns(arrays, [])] == [[]] * len(arrays)


@pytest.mark.parametrize("seed", range(3))
def test_may_be_502_keeps_every_text_that_reads_502(seed: int) -> None:
    rng = random.Random(seed)
    texts = ["502", "0502", "00000000502", "5021", "200", "-", "", "50", "02", "1502", "0000000000502", None]
    values = [rng.choice(texts) for _ in range(400)]
    array = _views(values, 77).slice(11)
    holds = [i for i, v in enumerate(values[11:]) if v is not None and ("502" in v or len(v) > 12)]
    assert may_be_502(array).tolist() == holds
