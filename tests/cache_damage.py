"""The ways a cache entry can be damaged on disk, for the tests of each cache that verifies its entries
(compiled queries, rendered SQL, YAML as JSON: engines/compiled.load_entry reads them all)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def _headless(entry: Path) -> bytes:
    return entry.read_bytes().partition(b"\n")[2]  # the text alone, as if written without a header


def damages(edited: tuple[bytes, bytes], planted: Callable[[Path], bytes] = _headless) -> Any:
    """A `damage` parametrisation: each maps the entry to the bytes put in its place. `edited` is a
    change of the text after it was stored (what to replace, with what), `planted` a text written
    there by someone else (by default, the entry's own text without its header)."""
    old, new = edited
    return pytest.mark.parametrize(
        "damage",
        [
            pytest.param(lambda e: e.read_bytes()[: len(e.read_bytes()) // 2], id="truncated"),
            pytest.param(lambda e: b"", id="empty"),
            pytest.param(lambda e: bytes(range(256)) * 8, id="binary"),
            pytest.param(lambda e: e.read_bytes().replace(old, new, 1), id="edited"),
            pytest.param(planted, id="planted"),
        ],
    )
