"""Recognising what lines are when they are not ALB access-log lines, from a small sample of the files.

When the diagnosis reads lines it cannot parse, the user needs to know what they are: logs of another
load balancer (Classic, Network), of a web server, of CloudFront, ALB's own connection logs. A few
lines from the head of a few files, read here directly (bounded in files, lines and bytes), are enough
to say which well-known shape they have. Nothing here decides a count: the counts come from the query.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeVar

from alb502athena.logformat import compiled_regex

T = TypeVar("T")

MAX_FILES = 12  # spread over the list, first and last included
MAX_LINES = 20  # per file
MAX_BYTES = 64 * 1024  # per file, decompressed

_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z"
_HOSTPORT = r"[0-9A-Fa-f.:\[\]]+:\d+"
# Each documented shape, by its first fields only (enough to tell them apart, not to parse them).
_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "ALB access log of a shape this version cannot read",
        re.compile(r"(?:http|https|h2|grpcs|ws|wss) " + _TIME + r" app/"),
    ),
    ("Network Load Balancer access log", re.compile(r"tls \d+\.\d+ \S+ net/")),
    ("ALB connection log", re.compile(_TIME + r" [0-9A-Fa-f.:]+ \d+ \d+ (?:TLS|SSL|-)\S* ")),
    (
        "Classic Load Balancer access log",
        re.compile(_TIME + r" [A-Za-z0-9-]{1,32} " + _HOSTPORT + r" (?:" + _HOSTPORT + r"|-) -?[\d.]+ "),
    ),
    (
        "CloudFront access log",
        re.compile(
            r"#Version: 1\.0|#Fields: date time x-edge-location|\d{4}-\d\d-\d\d\t\d\d:\d\d:\d\d\t[A-Z]{3}"
        ),
    ),
    (
        "nginx/Apache access log (common or combined)",
        re.compile(r"\S+ \S+ \S+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] \""),
    ),
    ("W3C extended log", re.compile(r"#(?:Software|Version|Fields|Date):")),
    ("CloudTrail JSON", re.compile(r"\s*\{.*\"(?:Records|eventVersion)\"")),
    ("JSON lines", re.compile(r"\s*[\[{]")),
)
BINARY = "binary data, not text"
UNKNOWN = "an unrecognised format"
# Where each shape carries the name of its load balancer (whitespace-separated field index).
_NAME_FIELD = {
    "ALB access log of a shape this version cannot read": 2,
    "Network Load Balancer access log": 3,
    "Classic Load Balancer access log": 1,
}


@dataclass
class Sniffed:
    """The shapes of the unparsed lines of a sample, most frequent first, and the names they carry."""

    lines: int = 0  # unparsed lines looked at
    formats: list[tuple[str, int]] = field(default_factory=list)
    load_balancers: list[str] = field(default_factory=list)


def recognise(line: str) -> str:
    """The well-known shape a line that is not an ALB access-log line has, or UNKNOWN."""
    if "\x00" in line:
        return BINARY
    for label, pattern in _SHAPES:
        if pattern.match(line):
            return label
    return UNKNOWN


def _head(path: Path) -> list[str]:
    """The first lines of a file, decompressed when it is gzip; nothing when it cannot be read."""
    try:
        with path.open("rb") as raw:
            return head(raw)
    except OSError:
        return []  # the diagnosis names bad files itself


def head(raw: BinaryIO) -> list[str]:
    """The first lines of a file or an object's body (S3's, read in memory: s3read keeps the heads of
    the objects `spread` picks as it reads them), decompressed when it is gzip; nothing when it cannot
    be read."""
    try:
        start = raw.read(2)
        raw.seek(0)
        data = gzip.GzipFile(fileobj=raw).read(MAX_BYTES) if start == b"\x1f\x8b" else raw.read(MAX_BYTES)
    except (OSError, EOFError, zlib.error):
        return []  # the diagnosis names bad files itself
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if len(data) == MAX_BYTES:
        lines = lines[:-1]  # the last one was cut
    return [ln.rstrip("\r") for ln in lines if ln.strip()][:MAX_LINES]


def spread(items: Sequence[T], n: int = MAX_FILES) -> list[T]:
    """At most `n` of the items, spread over them, the first and the last included."""
    if len(items) <= n:
        return list(items)
    step = (len(items) - 1) / (n - 1)
    return [items[round(i * step)] for i in range(n)]


def sniff(paths: Sequence[Path]) -> Sniffed:
    """Look at the head of a few of these files; recognise the lines the ALB format does not parse."""
    return sniff_heads(_head(path) for path in spread(paths))


def sniff_heads(heads: Iterable[Sequence[str]]) -> Sniffed:
    """Recognise the lines the ALB format does not parse among these heads of files (`head`)."""
    kinds: Counter[str] = Counter()
    names: set[str] = set()
    regex = compiled_regex()  # parse_line's own test, without building each parsed line's columns
    for lines in heads:
        for line in lines:
            if regex.fullmatch(line) is not None:
                continue
            label = recognise(line)
            kinds[label] += 1
            at = _NAME_FIELD.get(label)
            if at is not None:
                fields = line.split(" ")
                if len(fields) > at:
                    names.add(fields[at])
    return Sniffed(sum(kinds.values()), sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])), sorted(names))
