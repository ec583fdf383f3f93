"""The cache of compiled local queries: same text as compiling afresh, values put back in place."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from alb502athena.engines import compiled
from alb502athena.engines.compiled import compile_cached
from alb502athena.render import QueryParams, render_diagnosis, render_signature
from alb502athena.window import Window
from tests.cache_damage import damages
from tests.conftest import REPO


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
    kept = {p.read_text().partition("\n")[2] for p in (tmp_path / "compiled").glob("*.sql")}
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


# The cache under attack or damage: whatever an entry holds, the diagnosis is the one a fresh compile
# gives, and the entry is written again whole.


def _diagnose(logs: Path) -> dict[str, object]:
    import json

    from typer.testing import CliRunner

    from alb502athena.cli.app import app

    result = CliRunner().invoke(app, ["diagnose", str(logs), "--output", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    return {"totals": data["totals"], "signatures": data["signatures"]}


def _valid(entry: Path) -> bool:
    return compiled.load_entry(entry, entry.stem) is not None


def _planted(entry: Path) -> bytes:
    # The compiled diagnosis as an older version stored it (no header), one count changed: runs as SQL.
    body = entry.read_bytes().partition(b"\n")[2]
    assert b"COUNT(*) AS lines" in body
    return body.replace(b"COUNT(*) AS lines", b"COUNT(*) + 1 AS lines")


@damages(edited=(b"COUNT(*) AS lines", b"COUNT(*) + 1 AS lines"), planted=_planted)
def test_a_damaged_entry_is_compiled_again(
    damage: Callable[[Path], bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path / "cache"))
    logs = REPO / "examples" / "logs"
    expected = _diagnose(logs)
    entries = sorted((tmp_path / "cache" / "compiled").glob("*.sql"))
    assert entries and all(_valid(e) for e in entries)
    good = {e: e.read_bytes() for e in entries}
    for e in entries:
        e.write_bytes(damage(e))
    assert _diagnose(logs) == expected
    # Rebuilt, not merely bypassed: the next run reads a whole entry again.
    assert {e: e.read_bytes() for e in entries} == good
    assert not list((tmp_path / "cache" / "compiled").glob("*.tmp"))


def test_an_entry_copied_under_another_name_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A whole, valid entry of another query: its digest holds, its key does not.
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    params = QueryParams(Window())
    first = compile_cached(render_signature("connect-failed", params), "k", str.upper)
    compile_cached(render_signature("response-failed", params), "k", str.upper)
    a, b = sorted((tmp_path / "compiled").glob("*.sql"))
    a.write_bytes(b.read_bytes())
    b.write_bytes(a.read_bytes())
    again = compile_cached(render_signature("connect-failed", params), "k", str.upper)
    assert again == first


def test_stale_temporary_files_are_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    folder = tmp_path / "compiled"
    folder.mkdir()
    stale, young = folder / "x.sql.123.tmp", folder / "y.sql.456.tmp"
    stale.write_text("left by a run that died")
    young.write_text("another run's, being written")
    os.utime(stale, (1_000_000, 1_000_000))
    compile_cached(render_signature("connect-failed", QueryParams(Window())), "k", str.upper)  # a miss
    assert not stale.exists() and young.exists()


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    sql = render_signature("connect-failed", QueryParams(Window()))
    compile_cached(sql, "k", str.upper)
    (entry,) = (tmp_path / "compiled").glob("*.sql")
    entry.unlink()
    entry.mkdir()  # a folder where the entry goes: the rename fails after the temporary file is written
    assert compile_cached(sql, "k", str.upper) == sql.upper()
    assert not list((tmp_path / "compiled").glob("*.tmp"))
