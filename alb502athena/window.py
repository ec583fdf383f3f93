"""Time windows: --last / --start / --end, as UTC datetimes and as the literals the SQL needs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from alb502athena.errors import UsageError
from alb502athena.sqltext import sql_string

if TYPE_CHECKING:
    from alb502athena.render import SqlPaths

_DURATION = re.compile(r"([0-9]+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# The times a window may hold: every engine, and the day after the end that the SQL's partition filter
# reads, can represent them; nothing in the logs is older than ALB (2016), and --last goes back no
# further than a century.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
LONGEST = timedelta(days=36500)
_RANGE = f"from {EARLIEST:%Y-%m-%d} to {LATEST - timedelta(days=1):%Y-%m-%d} (UTC)"


def parse_duration(text: str) -> timedelta:
    """'90m', '2h', '1d', '1h30m' -> timedelta."""
    compact = text.strip().lower()
    if not compact or _DURATION.sub("", compact).strip():
        raise UsageError(f"invalid duration {text!r}: use a number and a unit, e.g. 30m, 2h, 1d")
    total = timedelta()
    try:
        for amount, unit in _DURATION.findall(compact):
            total += timedelta(**{_UNITS[unit]: int(amount)})
    except OverflowError:
        total = timedelta.max
    if total <= timedelta():
        raise UsageError(f"invalid duration {text!r}: it must be longer than zero")
    if total > LONGEST:
        raise UsageError(f"invalid duration {text!r}: at most {LONGEST.days}d (100 years)")
    return total


def parse_time(text: str, option: str) -> datetime:
    """ISO-8601 date or date-time; a time without a zone is UTC (as the logs are)."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(
            f"invalid {option} {text!r}: use ISO-8601, e.g. 2026-11-20T10:00Z or 2026-11-20"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it
        moment = None
    if moment is None or not EARLIEST <= moment < LATEST:
        raise UsageError(f"invalid {option} {text!r}: use a time {_RANGE}")
    return moment


def log_time(moment: datetime) -> str:
    """A datetime in the logs' own format, so text comparison with `time` is exact."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_log_time(text: str | None) -> datetime | None:
    """A `time` value as the logs write it (2026-11-20T09:24:11.689462Z), or None: it is log data, so
    anything else is no time rather than an error."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        # Year 1 an hour east of UTC is before the first moment Python can hold.
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC; both None means everything that was given to the engine."""

    start: datetime | None = None
    end: datetime | None = None
    # Render as "the last N minutes before the query runs" (saved console queries, schedules) rather
    # than as fixed times; start/end then only describe the window for display.
    relative: bool = False
    # Relative only: the window ends this long before the query runs (a schedule leaves ALB's delivery
    # delay behind it); None ends it when the query runs.
    lag: timedelta | None = None

    @classmethod
    def from_options(
        cls,
        last: str | None,
        start: str | None,
        end: str | None,
        now: datetime | None = None,
    ) -> Window:
        if last is not None and start is not None:
            raise UsageError("--last and --start cannot be used together")
        now = now or datetime.now(UTC)
        end_at = parse_time(end, "--end") if end is not None else None
        if last is not None:
            upper = end_at or now
            duration = parse_duration(last)
            if upper - EARLIEST < duration:
                raise UsageError(
                    f"invalid --last {last!r}: the window would start before {EARLIEST:%Y-%m-%d} "
                    f"(at most {(upper - EARLIEST).days}d before {'--end' if end_at else 'now'})"
                )
            return cls(upper - duration, upper)
        if start is not None:
            start_at = parse_time(start, "--start")
            upper = end_at or now
            if upper <= start_at:
                raise UsageError("--end must be later than --start")
            return cls(start_at, upper)
        if end_at is not None:
            raise UsageError("--end needs --start or --last")
        return cls()

    @classmethod
    def covering(cls, first: str | None, last: str | None) -> Window | None:
        """The whole minutes from log time `first` to log time `last` (both included), or None when
        either is missing or not a time a window may hold: the span a query needs to find those lines
        again."""
        lower, upper = read_log_time(first), read_log_time(last)
        # A time no window may hold (year 1, the end of year 9999) is log data, not a span to query.
        if lower is None or upper is None or not EARLIEST <= lower <= upper < LATEST:
            return None
        return cls(_minute(lower), _minute(upper) + timedelta(minutes=1))

    def as_json(self) -> dict[str, str | None]:
        return {
            "start": self.start.isoformat().replace("+00:00", "Z") if self.start else None,
            "end": self.end.isoformat().replace("+00:00", "Z") if self.end else None,
        }

    def as_relative(self, lag: timedelta | None = None) -> Window:
        """This window's length, counted back from when the query runs (or from `lag` before it)."""
        if self.start is None or self.end is None:
            raise UsageError("a relative window needs --last")
        if lag is None:
            return Window(self.start, self.end, relative=True)
        return Window(self.start - lag, self.end - lag, relative=True, lag=lag)

    def sql(self) -> SqlWindow:
        """The literals the templates use; the templates never quote anything themselves."""
        if self.start is None or self.end is None:
            return SqlWindow(None, None, None, None)
        if self.relative:
            lag = self.lag or timedelta()
            minutes = max(1, round((self.end - self.start + lag).total_seconds() / 60))
            ends = None if self.lag is None else round(self.lag.total_seconds() / 60)
            return SqlWindow(None, None, None, None, relative_minutes=minutes, relative_end_minutes=ends)
        return SqlWindow(
            start=sql_string(log_time(self.start)),
            end=sql_string(log_time(self.end)),
            start_day=sql_string(self.start.strftime("%Y/%m/%d")),
            end_day_plus_one=sql_string((self.end + timedelta(days=1)).strftime("%Y/%m/%d")),
        )

    def day_folders(self) -> list[str]:
        """yyyy/mm/dd of every day folder the partition predicate reads (day_range), in order."""
        if self.start is None or self.end is None:
            return []
        first, last = self.start.date(), (self.end + timedelta(days=1)).date()
        return [(first + timedelta(days=i)).strftime("%Y/%m/%d") for i in range((last - first).days + 1)]

    def day_range(self) -> tuple[str, str] | None:
        if self.start is None or self.end is None:
            return None
        return self.start.strftime("%Y/%m/%d"), (self.end + timedelta(days=1)).strftime("%Y/%m/%d")


@dataclass(frozen=True)
class SqlWindow:
    start: str | None
    end: str | None
    start_day: str | None
    end_day_plus_one: str | None
    relative_minutes: int | None = None  # an int, rendered as a number: never user text
    # Relative windows that end before the query runs: minutes between the end and the run.
    relative_end_minutes: int | None = None
    # The objects' "$path" ranges (render.path_ranges), None to read the `day` partitions whole.
    paths: SqlPaths | None = None
