"""A 502s-per-minute series as one line of block characters, for terminals and tickets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

BLOCKS = "▁▂▃▄▅▆▇█"


def _minute(text: str) -> datetime:
    return datetime.strptime(text[:16], "%Y-%m-%dT%H:%M")


def sparkline(per_minute: Sequence[tuple[str, int]], start: str, end: str, width: int = 24) -> str:
    """Counts per minute ('yyyy-mm-ddThh:mm', n) between start and end (the same form, inclusive) in
    `width` columns: a blank where there were none, then eight heights scaled to the busiest column."""
    first, last = _minute(start), _minute(end)
    span = max((last - first).total_seconds() / 60 + 1, 1)
    columns = max(1, min(width, int(span)))
    buckets = [0] * columns
    for minute, n in per_minute:
        offset = (_minute(minute) - first) / timedelta(minutes=1)
        if 0 <= offset < span:
            buckets[min(columns - 1, int(offset * columns / span))] += n
    peak = max(buckets) or 1
    return "".join(
        " " if n == 0 else BLOCKS[min(len(BLOCKS) - 1, (n * len(BLOCKS) - 1) // peak)] for n in buckets
    )
