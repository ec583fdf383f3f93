"""The native parser's cache on disk: an entry is loaded only under the key it was stored under, and
writes leave no temporary file behind.

Small stand-ins for the generated parser (same C signature, a body that returns a number that tells
them apart) keep each compile short; the real parser's cache is tested in test_native.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from alb502athena.engines.native import kernel as native_kernel

_SOURCE = """
import numba as nb
from numba import types as t

_u8 = t.CPointer(t.uint8)
_i64 = t.CPointer(t.int64)


@nb.cfunc(t.int64(_u8, t.int64, t.int64, _u8, _i64, _i64, _u8, t.CPointer(t.int32), _u8,
          t.int64, t.int64, _i64, _i64), nopython=True)
def parse(buf_p, start, n, cls_p, slots_p, levels_p, views_p, words_p, valid_p, width, cap, sp_p, pos_p):
    return start + {answer}
"""


def _source(answer: int) -> str:
    return _SOURCE.format(answer=answer)


def _call(source: str) -> int:
    """What the parser built from `source` returns for start=0, as a new run would load it."""
    native_kernel.kernel.cache_clear()
    return native_kernel.kernel(source)(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


@pytest.fixture(autouse=True)
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The parsers' cache folder, empty."""
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    native_kernel.kernel.cache_clear()
    yield tmp_path / "native"
    native_kernel.kernel.cache_clear()


def _entries(folder: Path) -> set[Path]:
    return set(folder.glob("alb_parser_*.o"))


def test_an_entry_copied_under_another_key_is_compiled_again(folder: Path) -> None:
    # Both entries are whole and their code digests hold; only the key tells them apart.
    one, two = _source(1), _source(2)
    assert _call(one) == 1
    (first,) = _entries(folder)
    assert _call(two) == 2
    (second,) = _entries(folder) - {first}
    second.write_bytes(first.read_bytes())
    assert _call(two) == 2  # compiled again, not the other parser's code
    # Rebuilt, not merely bypassed: the entry is its own again, and both load from the cache.
    assert second.read_bytes() != first.read_bytes()
    assert _call(two) == 2 and _call(one) == 1


def test_a_failed_write_leaves_no_temporary_file(folder: Path) -> None:
    source = _source(3)
    assert _call(source) == 3
    (entry,) = _entries(folder)
    entry.unlink()
    entry.mkdir()  # a folder where the entry goes: the rename fails after the temporary file is written
    assert _call(source) == 3  # an unwritable entry costs a compile, not the run
    assert not list(folder.glob("*.tmp"))


def test_stale_temporary_files_are_removed(folder: Path) -> None:
    source = _source(4)
    folder.mkdir(parents=True)
    stale, young = folder / "alb_parser_0123456789abcdef.o.123.tmp", folder / "alb_parser_x.o.456.tmp"
    stale.write_bytes(b"left by a run that died between writing and renaming")
    young.write_bytes(b"another run's, being written")
    os.utime(stale, (1_000_000, 1_000_000))
    assert _call(source) == 4  # a miss: the folder is tidied
    assert not stale.exists() and young.exists()
