"""A disk cache of queries compiled for the local engine (translated to DuckDB, columns inlined).

Translating with sqlglot costs about 0.2 s a run, mostly importing it, which is a large share of a
diagnosis of a few files. The compiled text does not depend on the window's dates or the load balancer,
so those literals are taken out before the text is hashed and put back into the cached result. Only
what the run would compute anyway is stored; a cache that cannot be written is just not used.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

from alb502athena import __version__

# Value literals the templates receive from the user (times, days, load balancers): never format strings,
# which the translation may rewrite.
_VALUE = re.compile(r"'(?:\d{4}-\d{2}-\d{2}T[0-9:.]+Z|\d{4}/\d{2}/\d{2}|app/[A-Za-z0-9-]+/[0-9a-f]+)'")
_SLOT = "'__alb502_value_{}__'"
# Each query shape is one small file; the correlation query embeds its events, so shapes accumulate.
KEEP_QUERIES = 500


def cache_dir() -> Path:
    return Path(os.environ.get("ALB502_CACHE", Path.home() / ".cache" / "alb502athena")) / "compiled"


def compile_cached(athena_sql: str, key_extra: str, compile_: Callable[[str], str]) -> str:
    """compile_(athena_sql), served from the cache when the same query shape was compiled before."""
    values: list[str] = []

    def take(m: re.Match[str]) -> str:
        values.append(m.group(0))
        return _SLOT.format(len(values) - 1)

    shape = _VALUE.sub(take, athena_sql)
    digest = hashlib.sha256(f"{__version__}\0{_sqlglot_version()}\0{key_extra}\0{shape}".encode()).hexdigest()
    path = cache_dir() / f"{digest}.sql"
    try:
        compiled = path.read_text(encoding="utf-8")
    except OSError:
        compiled = compile_(shape)
        _store(path, compiled)
        prune(path.parent, "*.sql", KEEP_QUERIES)
    for i, value in enumerate(values):
        compiled = compiled.replace(_SLOT.format(i), value)
    return compiled


def _sqlglot_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sqlglot")
    except PackageNotFoundError:
        return "unknown"


def _store(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only home: compile every time


def prune(folder: Path, pattern: str, keep: int) -> None:
    """Delete all but the `keep` most recently written files of `folder` matching `pattern`. Called
    after a cache miss only, so a warm run lists nothing. Best effort: a concurrent run may have
    deleted a file already, and a file in use stays readable to whoever has it open."""
    try:
        entries = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in entries[keep:]:
        with contextlib.suppress(OSError):
            old.unlink()
