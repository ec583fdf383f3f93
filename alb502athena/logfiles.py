"""Finding ALB access-log files on disk and deciding, from their names alone, which a window needs.

Files arrive as `aws s3 sync` leaves them (AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/
<account>_elasticloadbalancing_<region>_app.<name>.<id>_<end YYYYMMDDTHHMMZ>_<node ip>_<random>.log.gz)
or loose. The folder date is the `day` partition; the end time in the name bounds the file's entries.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alb502athena.errors import InputError
from alb502athena.window import Window

_END_TIME = re.compile(r"_(\d{8}T\d{4}Z)_")
_DAY_DIRS = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})$")
LOG_SUFFIXES = (".log", ".log.gz")
# A file holds the entries of the 5 minutes before its end time; the margin covers entries ALB
# writes a little late, so a file is only skipped when none of its entries can be in the window.
_FILE_SPAN = timedelta(minutes=5)
_LATE_MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class LogFile:
    path: Path
    day: str | None  # yyyy/MM/dd from the folders, else from the end time in the name
    end_time: datetime | None


@dataclass
class Discovery:
    files: list[LogFile] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)  # (path, why), shown to the user
    outside_window: int = 0


def _end_time(name: str) -> datetime | None:
    m = _END_TIME.search(name)
    if m is None:
        return None
    try:
        return datetime.strptime(m.group(1), "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def describe(path: Path) -> LogFile:
    end = _end_time(path.name)
    m = _DAY_DIRS.search(path.parent.as_posix())
    day = "/".join(m.groups()) if m else (end.strftime("%Y/%m/%d") if end else None)
    return LogFile(path, day, end)


def _walk(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def _in_window(f: LogFile, window: Window, days: tuple[str, str] | None, by_name: bool) -> bool:
    if window.start is None or window.end is None:
        return True
    if (
        by_name
        and f.end_time is not None
        and (f.end_time < window.start or f.end_time - _FILE_SPAN > window.end + _LATE_MARGIN)
    ):
        return False
    # The same rule as the SQL's partition predicate (day(start) .. day(end) + 1).
    return not (days is not None and f.day is not None and not days[0] <= f.day <= days[1])


def discover(paths: Sequence[Path], window: Window, by_name: bool = True) -> Discovery:
    """Every access-log file under `paths` that the window needs; nothing is opened.

    by_name=False keeps files whose names put them outside the window (only the `day` partition rule
    applies), which makes the local engine read exactly what Athena or Trino would."""
    found = Discovery()
    days = window.day_range()
    for root in paths:
        if not root.exists():
            raise InputError(f"no such file or directory: {root}")
        candidates = [root] if root.is_file() else list(_walk(root))
        for path in candidates:
            name = path.name
            if name.startswith("conn_log."):
                found.ignored.append((path, "connection log, not an access log"))
                continue
            if not name.endswith(LOG_SUFFIXES):
                if root.is_file():
                    found.ignored.append((path, "not a .log or .log.gz file"))
                continue
            f = describe(path)
            if _in_window(f, window, days, by_name):
                found.files.append(f)
            else:
                found.outside_window += 1
    if not found.files and not found.outside_window:
        where = ", ".join(str(p) for p in paths)
        raise InputError(f"no ALB access-log files (*.log, *.log.gz) found in {where}")
    return found
