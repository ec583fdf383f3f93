"""A disk cache of rendered templates: the SQL text a template gives for a context, kept so that a run
that renders what an earlier run rendered needs no Jinja. Importing Jinja and compiling the templates
took about 0.1 s of every diagnosis, as much as reading a hundred thousand lines.

The key is the SHA-256 of the package's version, Jinja's own (the bytes of its `__init__.py`, read
without importing it), every file under sql/ (paths and bytes: a template imports macros from the
others), the template's name and the context, written out field by field. A context holding a value
that cannot be written out exactly (anything but None, bool, int, float, str, dates and times, and
data-only dataclasses, tuples, lists and dicts of those) is rendered every time. An entry is read back
only when its first line names its key and the digest of its text, as the compiled-query cache checks
its own (engines/compiled.py): a damaged or planted file is rendered again and replaced.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib.util
import os
from collections.abc import Callable, Mapping
from functools import cache

from alb502athena import __version__
from alb502athena.engines.compiled import cache_root, cached
from alb502athena.resources import sql_dir

KEEP_RENDERED = 200  # each window given by dates is one entry per query


class _Opaque(Exception):
    """A context value whose text this module cannot vouch for."""


def rendered(template: str, context: Mapping[str, object], render: Callable[[], str]) -> str:
    """render(), the text of `template` for `context`, from the cache when it was rendered before."""
    try:
        key = hashlib.sha256(f"{_stamp()}\0{template}\0{_written(dict(context))}".encode()).hexdigest()
    except _Opaque:
        return render()
    return cached(cache_root() / "rendered" / f"{key}.sql", key, render, KEEP_RENDERED)


@cache
def _stamp() -> str:
    """What every rendering depends on besides the template's name and context."""
    digest = hashlib.sha256(f"{__version__}\0".encode())
    spec = importlib.util.find_spec("jinja2")
    if spec is None or spec.origin is None:
        raise _Opaque("jinja2 is not installed")  # rendering fails the same way, uncached
    with open(spec.origin, "rb") as f:
        digest.update(f.read())
    root = sql_dir()
    for folder, subfolders, files in os.walk(root):
        subfolders.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                data = f.read()
            digest.update(f"\0{os.path.relpath(path, root)}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


_PLAIN = (type(None), bool, int, float, str)
_TIMES = (datetime.datetime, datetime.date, datetime.time, datetime.timedelta, datetime.timezone)


def _written(value: object) -> str:
    """`value` written out so that two values with the same text render the same: exact types only
    (a subclass may render differently), and dataclasses that hold data only (a property or method
    could compute what a template reads from anything)."""
    kind = type(value)
    if kind in _PLAIN or kind in _TIMES:
        return f"{kind.__name__}:{value!r}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [f.name for f in dataclasses.fields(value)]
        if any(not name.startswith("__") and name not in fields for name in vars(kind)):
            raise _Opaque(kind.__qualname__)
        written = ",".join(f"{name}={_written(getattr(value, name))}" for name in fields)
        return f"{kind.__module__}.{kind.__qualname__}({written})"
    if kind in (list, tuple):
        assert isinstance(value, list | tuple)
        return f"{kind.__name__}[{','.join(_written(v) for v in value)}]"
    if kind is dict:
        assert isinstance(value, dict)
        items = sorted((_written(k), _written(v)) for k, v in value.items())
        return "dict{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    raise _Opaque(kind.__qualname__)
