"""Where the SQL catalogue lives (inside the wheel, or beside the package in a source checkout), and
its YAML read."""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path

from alb502athena import __version__

KEEP_YAML = 50  # the log format and the signatures' metadata: a few entries per version


@cache
def sql_dir() -> Path:
    packaged = Path(__file__).parent / "sql"
    if packaged.is_dir():
        return packaged
    # Editable installs and source checkouts keep sql/ at the repository root.
    return Path(__file__).resolve().parent.parent / "sql"


def load_yaml(text: str) -> object:
    """Safe YAML, through libyaml when PyYAML has it (the pure-Python loader takes a tenth of a second
    for the log format alone). What the text holds is kept in the cache folder as JSON, so that a later
    run reads the same text without importing PyYAML (about 20 ms): keyed by the SHA-256 of the text,
    the package's version and PyYAML's (its `__init__.py`, read without importing it), and verified as
    compiled queries are (engines/compiled.py). Data JSON does not hold exactly (dates, binary, keys
    that are not strings, NaN) is parsed every time."""
    import hashlib  # here, as the cache's own imports: `alb502 --help` imports this module, reads no YAML

    from alb502athena.engines.compiled import cache_root, load_entry, store_entry

    key = hashlib.sha256(f"{__version__}\0{_yaml_stamp()}\0{text}".encode()).hexdigest()
    path = cache_root() / "yaml" / f"{key}.json"
    stored = load_entry(path, key)
    if stored is not None:
        return json.loads(stored)
    import yaml  # here, not at the top: `alb502 --help` reads no YAML

    data: object = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    try:
        written = json.dumps(data)
    except (TypeError, ValueError):
        return data
    if _same(json.loads(written), data):
        store_entry(path, key, written, KEEP_YAML)
    return data


@cache
def _yaml_stamp() -> str:
    spec = importlib.util.find_spec("yaml")
    if spec is None or spec.origin is None:
        return "none"  # the import below fails, with its own message
    import hashlib

    return hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()


def _same(a: object, b: object) -> bool:
    """Equal, with the same types all the way down (1 == 1.0 == True for ==)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b
