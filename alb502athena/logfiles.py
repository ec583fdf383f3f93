"""Finding ALB access-log files on disk and deciding, from their names alone, which a window needs.

Files arrive as `aws s3 sync` leaves them (AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/
<account>_elasticloadbalancing_<region>_app.<name>.<id>_<end YYYYMMDDTHHMMZ>_<node ip>_<random>.log.gz)
or loose. The folder date is the `day` partition; the end time in the name bounds the file's entries.
Names are read by alb502athena.objectname: connection, health-check, NLB and Classic ELB logs in the
same folders are set aside by name, and a folder that cannot be listed is reported, never skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from alb502athena.errors import InputError
from alb502athena.objectname import ObjectName, parse
from alb502athena.window import Window

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
    load_balancer: str | None = None  # app/<name>/<id> from an ALB object name


@dataclass
class Discovery:
    files: list[LogFile] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)  # (path, why), shown to the user
    # Other ELB logs found by name, by kind (objectname.ObjectName.set_aside_as): never read as access logs.
    set_aside: dict[str, list[Path]] = field(default_factory=dict)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)  # folders that could not be listed
    # Every access-log file found, in the window or not: what the folder holds, to say when none fits.
    all_files: list[LogFile] = field(default_factory=list)

    @property
    def outside_window(self) -> int:
        """Access-log files whose names put them outside the window (not opened)."""
        return len(self.all_files) - len(self.files)

    def load_balancers(self, in_window: bool = True) -> list[str]:
        """The load balancers the access-log files' names carry (in the window, or all)."""
        return sorted(
            {f.load_balancer for f in (self.files if in_window else self.all_files) if f.load_balancer}
        )

    def days(self) -> tuple[str, str] | None:
        """The first and last `day` of every access-log file found."""
        days = sorted(f.day for f in self.all_files if f.day)
        return (days[0], days[-1]) if days else None


def describe(path: Path, name: ObjectName | None = None) -> LogFile:
    name = name or parse(path.name)
    end = name.end_time if name else None
    m = _DAY_DIRS.search(path.parent.as_posix())
    day = "/".join(m.groups()) if m else (end.strftime("%Y/%m/%d") if end else None)
    return LogFile(path, day, end, name.load_balancer if name and name.is_alb_access_log else None)


def _walk(root: Path, unreadable: list[tuple[Path, str]]) -> Iterable[Path]:
    def failed(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        unreadable.append((where, exc.strerror or str(exc)))

    for dirpath, dirnames, filenames in os.walk(root, onerror=failed):
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
        candidates = [root] if root.is_file() else list(_walk(root, found.unreadable))
        for path in candidates:
            name = parse(path.name)
            aside = name.set_aside_as if name else None
            if aside is not None:
                found.set_aside.setdefault(aside, []).append(path)
                continue
            if not path.name.endswith(LOG_SUFFIXES):
                if root.is_file():
                    found.ignored.append((path, "not a .log or .log.gz file"))
                continue
            f = describe(path, name)
            found.all_files.append(f)
            if _in_window(f, window, days, by_name):
                found.files.append(f)
    # A folder holding nothing at all is a wrong path: one error line. Anything else (files outside the
    # window, other ELB logs, folders that could not be listed) is said by the verdict instead.
    if not (found.all_files or found.set_aside or found.unreadable):
        where = ", ".join(str(p) for p in paths)
        raise InputError(f"no ALB access-log files (*.log, *.log.gz) found in {where}")
    return found
