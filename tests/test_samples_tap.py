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
from alb502athena.engines.samples_tap import STATUS, SamplesTap, take_strings
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
@pytest.mark.parametrize("reduce_bytes", [1, samples_tap.REDUCE_BYTES], ids=["every-batch", "default"])
def test_the_first_rows_of_each_signature_whatever_the_batches(
    shuffled: Path, monkeypatch: pytest.MonkeyPatch, window: Window, reduce_bytes: int
) -> None:
    """With the candidates reduced after every batch (the bound reached at once), or once at the end,
    the rows are those of the samples query over all the logs, on the SQL view."""
    monkeypatch.setattr(samples_tap, "REDUCE_BYTES", reduce_bytes)
    reductions = []
    reduce = SamplesTap._reduce

    def counted(tap: SamplesTap) -> None:
        reductions.append(len(tap._pending))
        reduce(tap)

    monkeypatch.setattr(SamplesTap, "_reduce", counted)
    files = discover([shuffled], window).files
    for elb in (None, "app/api/1f2e3d4c5b6a7988"):
        reductions.clear()
        params = QueryParams(window, load_balancer=elb)
        found, samples = diagnose_with_samples(LocalEngine(files, window, parser="native"), params, 3)
        assert samples is not None
        # Held: one batch's candidates at most (reduced as each came), or all of them until the end.
        if reduce_bytes == 1:
            assert reductions == [1] * (len(reductions) - 1) + [0] and len(reductions) > 4
        else:
            assert len(reductions) == 1
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


@pytest.mark.parametrize("seed", range(5))
def test_take_strings_is_take(seed: int) -> None:
    rng = random.Random(seed)
    values: list[str | None] = [
        None
        if rng.random() < 0.1
        else "".join(rng.choice('ab\u00e9\u4e2d"x ') for _ in range(rng.choice([0, 1, 5, 12, 13, 40, 300])))
        for _ in range(500)
    ]
    array = _views(values, 97)
    for sliced in (array, array.slice(37, 300)):
        expected = sliced.to_pylist()
        indices = sorted(rng.sample(range(len(sliced)), 120))
        taken = take_strings(sliced, indices)
        assert taken.type == pa.string() and taken.to_pylist() == [expected[i] for i in indices]
    assert take_strings(array, []).to_pylist() == []


def test_a_failing_tap_costs_the_samples_a_scan_not_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """A defect of the tap (made here by a tap that raises: nothing real does) must not cost the
    diagnosis: it is said, and the samples are left to their own query, as before the tap."""

    def broken(tap: SamplesTap, batch: Any) -> None:
        raise ValueError("a defect")

    monkeypatch.setattr(SamplesTap, "_see", broken)
    window = Window(None, None)
    files = discover([REPO / "examples" / "logs"], window).files
    engine = LocalEngine(files, window)
    found, samples = diagnose_with_samples(engine, QueryParams(window))
    assert samples is None
    assert found.totals == diagnose(LocalEngine(files, window), QueryParams(window)).totals
    assert engine.notes == [
        "the report's samples could not be kept from the diagnosis' scan: ValueError: a defect"
    ]
