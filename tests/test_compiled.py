"""The cache of compiled local queries: same text as compiling afresh, values put back in place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alb502athena.engines import compiled
from alb502athena.engines.compiled import compile_cached
from alb502athena.render import QueryParams, render_diagnosis, render_signature
from alb502athena.window import Window


def test_cached_text_equals_a_fresh_compile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    calls: list[str] = []

    def compile_(text: str) -> str:
        # Stands for sqlglot + inlining (exercised by every local-engine test): a visible transformation.
        calls.append(text)
        return "-- compiled\n" + text

    first = QueryParams(
        Window.from_options(None, "2026-11-20T09:00Z", "2026-11-20T10:00Z"), "app/a/0123456789abcdef"
    )
    second = QueryParams(
        Window.from_options(None, "2026-12-31T23:00Z", "2027-01-01T01:00Z"), "app/b/fedcba9876543210"
    )
    a = compile_cached(render_diagnosis(first), "k", compile_)
    b = compile_cached(render_diagnosis(second), "k", compile_)
    assert len(calls) == 1, "the second window must come from the cache"
    assert "'2026-11-20T09:00:00.000000Z'" in a and "'2026/11/21'" in a and "'app/a/0123456789abcdef'" in a
    assert "'2026-12-31T23:00:00.000000Z'" in b and "'2027/01/02'" in b and "'app/b/fedcba9876543210'" in b
    assert "__alb502_value" not in a + b
    assert a.startswith("-- compiled\n") and a.removeprefix("-- compiled\n") == render_diagnosis(first)
    # Another query, or other column definitions, is another entry.
    compile_cached(render_signature("connect-failed", first), "k", compile_)
    compile_cached(render_diagnosis(first), "other columns", compile_)
    assert len(calls) == 3


def test_unwritable_cache_still_compiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("ALB502_CACHE", str(blocker))  # a file where the folder should be
    sql = render_diagnosis(QueryParams(Window()))
    assert compile_cached(sql, "k", str.upper) == sql.upper()  # no values in an unwindowed query


def test_the_cache_keeps_the_most_recent_shapes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    monkeypatch.setattr(compiled, "KEEP_QUERIES", 2)
    params = QueryParams(Window())
    for query in ["connect-failed", "response-failed", "target-502"]:
        compile_cached(render_signature(query, params), "k", str.upper)
        for entry in (tmp_path / "compiled").glob("*.sql"):
            os.utime(entry, (1_000_000, 1_000_000))  # older than the next one written
    kept = {p.read_text() for p in (tmp_path / "compiled").glob("*.sql")}
    assert len(kept) == 2
    assert render_signature("target-502", params).upper() in kept  # the newest stays


def test_prune_keeps_the_newest_files(tmp_path: Path) -> None:
    for i in range(5):
        f = tmp_path / f"alb_parser_{i}.o"
        f.write_text(str(i))
        os.utime(f, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "other.txt").write_text("not a parser")
    compiled.prune(tmp_path, "alb_parser_*", 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alb_parser_3.o", "alb_parser_4.o", "other.txt"]
