"""A disk cache of queries compiled for the local engine (translated to DuckDB, columns inlined).

Translating with sqlglot costs about 0.2 s a run, mostly importing it, which is a large share of a
diagnosis of a few files. The compiled text does not depend on the window's dates or the load balancer,
so those literals are taken out before the text is hashed and put back into the cached result. Only
what the run would compute anyway is stored; a cache that cannot be written is just not used.

An entry is read back only when its first line names the key it was stored under and the SHA-256 of
the text after it: a truncated, empty or binary file, or one copied or planted under another entry's
name, is compiled again and replaced rather than run (a wrong query would give wrong totals).
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
_MAGIC = "-- alb502athena compiled"
# A temporary file this old was left by a run that died between writing and renaming it.
STALE_TEMP_SECONDS = 3600


def cache_root() -> Path:
    """The cache folder: one folder in it per kind of entry (compiled, rendered, yaml, native)."""
    return Path(os.environ.get("ALB502_CACHE", Path.home() / ".cache" / "alb502athena"))


def cache_dir() -> Path:
    return cache_root() / "compiled"


def compile_cached(athena_sql: str, key_extra: str, compile_: Callable[[str], str]) -> str:
    """compile_(athena_sql), served from the cache when the same query shape was compiled before."""
    values: list[str] = []

    def take(m: re.Match[str]) -> str:
        values.append(m.group(0))
        return _SLOT.format(len(values) - 1)

    shape = _VALUE.sub(take, athena_sql)
    digest = hashlib.sha256(f"{__version__}\0{_sqlglot_version()}\0{key_extra}\0{shape}".encode()).hexdigest()
    compiled = cached(cache_dir() / f"{digest}.sql", digest, lambda: compile_(shape), KEEP_QUERIES)
    for i, value in enumerate(values):
        compiled = compiled.replace(_SLOT.format(i), value)
    return compiled


def _sqlglot_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sqlglot")
    except PackageNotFoundError:
        return "unknown"


def cached(path: Path, key: str, make: Callable[[], str], keep: int) -> str:
    """make(), read from the entry at `path` when one was stored there under `key`, else stored there,
    keeping the `keep` newest entries of its folder."""
    text = load_entry(path, key)
    if text is None:
        text = make()
        store_entry(path, key, text, keep)
    return text


def _header(key: str, body: bytes) -> bytes:
    return f"{_MAGIC} {key} {hashlib.sha256(body).hexdigest()}\n".encode()


def load_entry(path: Path, key: str) -> str | None:
    """The entry's text, or None when there is none or it is not what was stored under `key`."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header, newline, body = data.partition(b"\n")
    if not newline or header + newline != _header(key, body):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def store_entry(path: Path, key: str, text: str, keep: int) -> None:
    """Store `text` under `key` at `path`; keep the `keep` newest entries of its folder (a store follows
    a miss only, so a warm run lists nothing)."""
    body = text.encode("utf-8")
    # A read-only home or a full disk: compute every time.
    with contextlib.suppress(OSError):
        write_whole(path, _header(key, body) + body)
    prune(path.parent, f"*{path.suffix}", keep)
    prune_temporary(path.parent)


def write_whole(path: Path, data: bytes) -> None:
    """Write a cache entry whole or not at all: to a temporary file renamed into place, so that a run
    that dies half-way, or a concurrent one, never leaves a partial entry under the real name; the
    temporary file is removed when the write fails (OSError then)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(tmp, "wb") as out:
            out.write(data)
        tmp.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


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


def prune_temporary(folder: Path, now: float | None = None) -> None:
    """Delete the temporary files of runs that died before renaming them (older than an hour: a
    younger one may be another run's, being written)."""
    import time

    limit = (time.time() if now is None else now) - STALE_TEMP_SECONDS
    try:
        entries = list(folder.glob("*.tmp"))
    except OSError:
        return
    for entry in entries:
        with contextlib.suppress(OSError):
            if entry.stat().st_mtime < limit:
                entry.unlink()
