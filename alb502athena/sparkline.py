"""502s over time as one line of block characters, for terminals and tickets.

Time is cut into columns of a whole number of minutes (a steady rate then draws a flat line, which
60 minutes in 24 columns, 2.5 minutes a column, cannot), and the rows of one table share one scale,
so that a signature twice as frequent draws twice as high.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from alb502athena.window import EARLIEST, LATEST

BLOCKS = "▁▂▃▄▅▆▇█"
# Minutes per column, round enough to read at a glance; beyond a day, whole days.
NICE_MINUTES = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 720, 1440)


_MINUTE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}")  # ASCII digits only, as logs write


def minute_of(text: str | None) -> datetime | None:
    """The minute a per-minute key names ('yyyy-mm-ddThh:mm', the first 16 characters of a log's
    `time`), or None: the key is log data, and a line's time may be no time at all."""
    if not isinstance(text, str) or not _MINUTE.fullmatch(text[:16]):
        return None
    try:
        moment = datetime.strptime(text[:16], "%Y-%m-%dT%H:%M")
    except ValueError:
        return None
    # As for a window: a minute before 1970 or in year 9999 is no time to draw against the others.
    return moment if EARLIEST.year <= moment.year < LATEST.year else None


def untimed(per_minute: Sequence[tuple[str, int]]) -> tuple[int, str | None]:
    """The 502s whose minute is not a time (left out of every column), and the first such key."""
    bad = [(m, n) for m, n in per_minute if minute_of(m) is None]
    return sum(n for _, n in bad), (bad[0][0] if bad else None)


def _minute(text: str) -> datetime:
    moment = minute_of(text)
    if moment is None:
        raise ValueError(f"not a minute: {text!r}")
    return moment


@dataclass(frozen=True)
class Timeline:
    """The minutes from `start` on, `minutes` long, in columns of `bucket` minutes each."""

    start: datetime
    minutes: int
    bucket: int

    @property
    def columns(self) -> int:
        return math.ceil(self.minutes / self.bucket)

    @property
    def label(self) -> str:
        """The bucket size for a column header: '1 min', '5 min', '2 h', '1 day'."""
        if self.bucket % 1440 == 0:
            days = self.bucket // 1440
            return f"{days} day" if days == 1 else f"{days} days"
        if self.bucket % 60 == 0:
            return f"{self.bucket // 60} h"
        return f"{self.bucket} min"

    def values(self, per_minute: Sequence[tuple[str, int]]) -> list[float]:
        """The count in each column; a last column shorter than the others (the span is not a whole
        number of columns) is scaled up to a full column, so that it draws the same rate as high.
        Minutes that are not a time are in no column (`untimed` counts them)."""
        sums = [0] * self.columns
        for minute, n in per_minute:
            moment = minute_of(minute)
            if moment is None:
                continue
            offset = int((moment - self.start) / timedelta(minutes=1))
            if 0 <= offset < self.minutes:
                sums[offset // self.bucket] += n
        values = [float(n) for n in sums]
        short = self.minutes - (self.columns - 1) * self.bucket
        if short < self.bucket:
            values[-1] *= self.bucket / short
        return values


def timeline(start: str, end: str, width: int = 24) -> Timeline:
    """The minutes from start to end ('yyyy-mm-ddThh:mm', both included) in at most `width` columns
    of a round number of minutes, preferring one that divides the span (no short last column)."""
    first, last = _minute(start), _minute(end)
    minutes = max(int((last - first) / timedelta(minutes=1)) + 1, 1)
    need = math.ceil(minutes / max(width, 1))
    sizes = [m for m in NICE_MINUTES if m >= need] or [math.ceil(need / 1440) * 1440]
    dividing = [m for m in sizes if m <= 2 * need and minutes % m == 0]
    return Timeline(first, minutes, (dividing or sizes)[0])


def draw(values: Sequence[float], peak: float | None = None) -> str:
    """A blank where there were none, else eight heights up to `peak` (default: the row's own)."""
    top = peak if peak else max(values, default=0) or 1
    return "".join(
        " " if v <= 0 else BLOCKS[max(0, min(len(BLOCKS) - 1, math.ceil(v * len(BLOCKS) / top) - 1))]
        for v in values
    )
