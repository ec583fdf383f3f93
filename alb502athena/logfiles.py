"""Finding ALB access-log files on disk and deciding, from their names alone, which a window needs.

Files arrive as `aws s3 sync` leaves them (AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/
<account>_elasticloadbalancing_<region>_app.<name>.<id>_<end YYYYMMDDTHHMMZ>_<node ip>_<random>.log.gz)
or loose. The folder date is the `day` partition; the end time in the name bounds the file's entries.
Names are read by alb502athena.objectname: connection, health-check, NLB and Classic ELB logs in the
same folders are set aside by name, and a folder that cannot be listed is reported, never skipped.

Links are followed (s3 sync targets are often linked into place), each file and folder is read once by
its identity on disk, and only regular files are ever handed to a reader: a FIFO or a device named
`.log.gz` is named, never opened. One stat per folder and per log-named entry, nothing quadratic: a
bucket of a month is tens of thousands of files.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from alb502athena.errors import InputError
from alb502athena.objectname import ObjectName, may_hold, parse
from alb502athena.window import Window

_DAY_DIRS = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})$")
LOG_SUFFIXES = (".log", ".log.gz")


@dataclass(frozen=True)
class LogFile:
    path: Path
    day: str | None  # yyyy/MM/dd from the folders, else from the end time in the name
    end_time: datetime | None
    load_balancer: str | None = None  # app/<name>/<id> from an ALB object name
    size: int = 0  # bytes, as discovery found it (its stat is the only one before reading)
    # An object read from elsewhere (s3://bucket/key): `path` is then its key, for its name and folders.
    url: str | None = None

    @property
    def location(self) -> str:
        """Where the file is read from, as readers and messages name it."""
        return self.url if self.url is not None else str(self.path)


@dataclass
class Discovery:
    files: list[LogFile] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)  # (path, why), shown to the user
    # Other ELB logs found by name, by kind (objectname.ObjectName.set_aside_as): never read as access logs.
    set_aside: dict[str, list[Path]] = field(default_factory=dict)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)  # folders that could not be listed
    # Names that look like log files but are not regular files (FIFOs, devices, sockets, links to
    # nothing) or could not be looked at, with why: never opened (a FIFO waits forever, /dev/zero never
    # ends).
    not_regular: list[tuple[Path, str]] = field(default_factory=list)
    # Folders reached again through links, not read again: (path, why), a loop cut or a second path;
    # and links to nothing whose names are not log names (they may have led to a folder).
    links: list[tuple[Path, str]] = field(default_factory=list)
    # Files reached by a second path (a link, a hard link): (path, the path read), read once.
    duplicates: list[tuple[Path, Path]] = field(default_factory=list)
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


def _day_of(folder: str) -> str | None:
    m = _DAY_DIRS.search(folder)
    return "/".join(m.groups()) if m else None


def describe(
    path: Path, name: ObjectName | None = None, folder_day: str | None = None, size: int = 0
) -> LogFile:
    """A file's `day` from its folders (else from the end time in its name) and its load balancer;
    folder_day, when given, is its folder's day already worked out (once per folder, not per file)."""
    name = name or parse(path.name)
    end = name.end_time if name else None
    day = folder_day or _day_of(path.parent.as_posix())
    day = day or (end.strftime("%Y/%m/%d") if end else None)
    # Interned: thousands of files name the same load balancer, and a bucket of a month is a million.
    lb = sys.intern(name.load_balancer) if name and name.is_alb_access_log else None
    return LogFile(path, day, end, lb, size)


_Identity = tuple[int, int]  # (st_dev, st_ino): a file or folder whatever the path that reaches it


def _identity(st: os.stat_result) -> _Identity:
    return (st.st_dev, st.st_ino)


def _not_regular(mode: int) -> str:
    """Why a name that looks like a log file is not opened: reading a FIFO waits for a writer forever,
    and a device (a link to /dev/zero, say) never ends."""
    kinds = (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    kind = next((label for test, label in kinds if test(mode)), "not a regular file")
    return f"{kind}, not a regular file: not opened"


@dataclass(frozen=True)
class _Folder:
    path: Path
    identity: _Identity
    parent: _Folder | None  # the folder it was reached from: the chain to the root, to tell a loop


class _Walk:
    """Every file under the roots whose name ends in .log or .log.gz and that is a regular file, once
    each (by identity, however many links or hard links reach it), in name order, folders first listed
    first. Links to folders and files are followed like any folder or file; a folder reached again
    (a link to one of its ancestors, two links to one folder) is not read again, and said."""

    def __init__(self, found: Discovery, suffixes: tuple[str, ...] = LOG_SUFFIXES) -> None:
        self.found = found
        self.suffixes = suffixes  # the names of the files looked for
        self.folders: dict[_Identity, Path] = {}
        self.files: dict[_Identity, Path] = {}

    def file(self, path: Path, st: os.stat_result) -> bool:
        """True when the file is to be read: a regular file not reached before."""
        if not stat.S_ISREG(st.st_mode):
            self.found.not_regular.append((path, _not_regular(st.st_mode)))
            return False
        first = self.files.setdefault(_identity(st), path)
        if first is not path:
            self.found.duplicates.append((path, first))
            return False
        return True

    def _again(self, folder: _Folder) -> bool:
        """True (and said) when the folder was reached before: a loop, or a second path to it."""
        first = self.folders.get(folder.identity)
        if first is None:
            self.folders[folder.identity] = folder.path
            return False
        up = folder.parent
        while up is not None and up.identity != folder.identity:
            up = up.parent
        if up is not None:
            why = f"leads back to {up.path}, which holds it (a loop): not followed"
        else:
            why = f"the same folder as {first}, read once"
        self.found.links.append((folder.path, why))
        return True

    def _list(self, folder: Path) -> list[os.DirEntry[str]] | None:
        try:
            with os.scandir(folder) as entries:
                return sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            self.found.unreadable.append((folder, exc.strerror or str(exc)))
            return None

    def _unseen(self, path: Path, entry: os.DirEntry[str], named: bool, exc: OSError) -> None:
        """An entry listed but not looked at, said where it belongs: a log name among the files that
        could not be read, a link to nothing as a link not followed (it may have led to a folder of
        logs), anything else (a folder that can be listed but not entered) as an unreadable folder."""
        try:
            link = entry.is_symlink()
        except OSError:
            link = False
        if link and exc.errno in (errno.ENOENT, errno.ELOOP):
            why = (
                "a symbolic link to nothing (its target does not exist)"
                if exc.errno == errno.ENOENT
                else "a symbolic link that leads back to itself"
            )
            if named:
                self.found.not_regular.append((path, f"{why}: not opened"))
            else:
                self.found.links.append((path, f"{why}: not followed"))
        elif named:
            self.found.not_regular.append(
                (path, f"could not be looked at ({exc.strerror or exc}): not opened")
            )
        elif exc.errno != errno.ENOENT:  # ENOENT: removed since the listing, nothing is there to read
            self.found.unreadable.append((path, exc.strerror or str(exc)))

    def walk(self, root: Path, st: os.stat_result) -> Iterator[tuple[Path, str | None, int]]:
        """(path, its folder's day, its size) for each file to read; one stat per folder and per
        log-named file, none for other names."""
        todo = [_Folder(root, _identity(st), None)]
        while todo:
            folder = todo.pop()
            if self._again(folder):
                continue
            entries = self._list(folder.path)
            if entries is None:
                continue
            day = _day_of(folder.path.as_posix())
            below = []
            for entry in entries:
                named = entry.name.endswith(self.suffixes)
                try:
                    # From the listing alone (no system call): other names are neither looked at nor
                    # said, unless a folder or a link (which may lead to a folder, or nowhere).
                    if not (named or entry.is_symlink() or entry.is_dir()):
                        continue
                    info = entry.stat()  # follows links: the one system call for this entry
                except OSError as exc:
                    self._unseen(folder.path / entry.name, entry, named, exc)
                    continue
                path = folder.path / entry.name
                if stat.S_ISDIR(info.st_mode):
                    below.append(_Folder(path, _identity(info), folder))
                elif named and self.file(path, info):
                    yield path, day, info.st_size
            todo.extend(reversed(below))


def open_regular(path: str | Path) -> io.FileIO:
    """The file, open for reading, if it is a regular file; else OSError. Discovery hands over
    regular files only, but a path may be replaced between then and now (by a FIFO, which a plain
    open() would wait on forever, or a device): opened without blocking, then checked."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(f"not a regular file any more (mode {stat.filemode(mode)}): not read")
        return io.FileIO(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


@dataclass
class Found:
    """Files found by name under folders (by find_files), and what was not read, with why."""

    files: list[Path] = field(default_factory=list)
    not_regular: list[tuple[Path, str]] = field(default_factory=list)  # named like one, never opened
    unreadable: list[tuple[Path, str]] = field(default_factory=list)  # folders (or paths) not listed
    links: list[tuple[Path, str]] = field(default_factory=list)  # folders reached again, links to nothing


def find_files(paths: Sequence[Path], suffixes: tuple[str, ...]) -> Found:
    """Regular files named with one of `suffixes` under `paths` (a path naming a file is taken whatever
    its name), by the access logs' walk: links followed, each file and folder once, loops cut, FIFOs
    and devices named and never opened, folders that cannot be listed named. Nothing is opened."""
    found = Discovery()
    walk = _Walk(found, suffixes)
    out = Found()
    for root in paths:
        try:
            st = root.stat()
        except OSError as exc:
            out.unreadable.append((root, exc.strerror or str(exc)))
            continue
        if stat.S_ISDIR(st.st_mode):
            out.files.extend(path for path, _, _ in walk.walk(root, st))
        elif walk.file(root, st):
            out.files.append(root)
    out.not_regular.extend(found.not_regular)
    out.unreadable.extend(found.unreadable)
    out.links.extend(found.links)
    return out


def _in_window(f: LogFile, window: Window, days: tuple[str, str] | None, by_name: bool) -> bool:
    if window.start is None or window.end is None:
        return True
    if by_name and f.end_time is not None and not may_hold(f.end_time, window.start, window.end):
        return False
    # The same rule as the SQL's partition predicate (day(start) .. day(end) + 1).
    return not (days is not None and f.day is not None and not days[0] <= f.day <= days[1])


def discover(paths: Sequence[Path], window: Window, by_name: bool = True) -> Discovery:
    """Every access-log file under `paths` that the window needs; nothing is opened.

    by_name=False keeps files whose names put them outside the window (only the `day` partition rule
    applies), which makes the local engine read exactly what Athena or Trino would."""
    found = Discovery()
    days = window.day_range()
    walk = _Walk(found)
    for root in paths:
        try:
            st = root.stat()
        except FileNotFoundError:
            raise InputError(f"no such file or directory: {root}") from None
        except OSError as exc:
            raise InputError(f"{root} could not be read: {exc.strerror or exc}") from None
        if stat.S_ISDIR(st.st_mode):
            candidates: Iterable[tuple[Path, str | None, int]] = walk.walk(root, st)
        elif not root.name.endswith(LOG_SUFFIXES):
            found.ignored.append((root, "not a .log or .log.gz file"))
            continue
        else:
            candidates = [(root, None, st.st_size)] if walk.file(root, st) else []
        for path, folder_day, size in candidates:
            name = parse(path.name)
            aside = name.set_aside_as if name else None
            if aside is not None:
                found.set_aside.setdefault(aside, []).append(path)
                continue
            f = describe(path, name, folder_day, size)
            found.all_files.append(f)
            if _in_window(f, window, days, by_name):
                found.files.append(f)
    # A folder holding nothing at all is a wrong path: one error line. Anything else (files outside the
    # window, other ELB logs, folders that could not be listed, files that are not regular files) is
    # said by the verdict instead.
    if not (found.all_files or found.set_aside or found.unreadable or found.not_regular):
        where = ", ".join(str(p) for p in paths)
        raise InputError(f"no ALB access-log files (*.log, *.log.gz) found in {where}")
    return found
