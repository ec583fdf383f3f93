"""S3 objects kept on disk, so that a second diagnosis of an overlapping window downloads only what is new.

An object is kept under a name made of its bucket, key and ETag: a rewritten object (a new ETag) is a
new entry, and the old one ages out. The cache is bounded in bytes: the entries used longest ago go
first (a hit marks its entry used). Each entry is written to a temporary file and renamed into place,
so a reader never sees half an object, and a run stopped midway leaves no entry behind (its temporary
file is removed, or cleaned up by a later run once it is old). A cache that cannot be written is a
warning, never a failure: the diagnosis reads from S3 without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

DEFAULT_SIZE = 2 << 30  # bytes: about a day of a busy load balancer's logs
_TEMP = ".tmp-"
_STALE_TEMP = 3600.0  # seconds: a temporary file this old is no other run's write in progress


def default_dir() -> Path:
    """~/.cache/alb502athena/s3, or s3 under ALB502_CACHE (as the compiled queries' cache)."""
    return Path(os.environ.get("ALB502_CACHE", Path.home() / ".cache" / "alb502athena")) / "s3"


def entry_name(bucket: str, key: str, etag: str) -> str:
    return hashlib.sha256(f"{bucket}\0{key}\0{etag}".encode()).hexdigest()


class ObjectCache:
    """Object bodies on disk, by bucket, key and ETag, at most `limit` bytes in all. Thread-safe: the
    downloads of a scan read and write it at once."""

    def __init__(
        self, folder: Path, limit: int = DEFAULT_SIZE, warn: Callable[[str], None] | None = None
    ) -> None:
        self.folder = folder
        self.limit = limit
        self.warnings: list[str] = []
        self._warn = warn
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, int]] = {}  # name -> (last used, size)
        self._total = 0
        self.usable = True
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._scan()
            # Listing is not writing: a read-only folder is found now, once, not at every object.
            fd, probe = tempfile.mkstemp(prefix=_TEMP, dir=folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            self._disable(
                f"the S3 cache {folder} cannot be used ({exc.strerror or exc}): objects are read from S3"
            )

    def _disable(self, why: str) -> None:
        self.usable = False
        self.warnings.append(why)
        if self._warn is not None:
            self._warn(why)

    def _scan(self) -> None:
        now = time.time()
        with os.scandir(self.folder) as entries:
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if entry.name.startswith(_TEMP):
                    if now - st.st_mtime > _STALE_TEMP:  # left by a run that was killed
                        with contextlib.suppress(OSError):
                            os.unlink(entry.path)
                    continue
                if entry.is_file(follow_symlinks=False):
                    self._entries[entry.name] = (st.st_mtime, st.st_size)
                    self._total += st.st_size

    @property
    def total(self) -> int:
        """Bytes held."""
        return self._total

    def has(self, bucket: str, key: str, etag: str, size: int) -> bool:
        entry = self._entries.get(entry_name(bucket, key, etag))
        return self.usable and entry is not None and entry[1] == size

    def get(self, bucket: str, key: str, etag: str, size: int) -> bytes | None:
        """The object's body, if kept (whole: an entry of another size is no hit)."""
        if not self.usable:
            return None
        name = entry_name(bucket, key, etag)
        path = self.folder / name
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return None
        if len(data) != size:
            return None
        now = time.time()
        with contextlib.suppress(OSError):
            os.utime(path, (now, now))  # used now: the last to be evicted
        with self._lock:
            if name in self._entries:
                self._entries[name] = (now, self._entries[name][1])
        return data

    def put(self, bucket: str, key: str, etag: str, data: bytes) -> None:
        """Keep the body (not when it alone is above the limit); the oldest entries go to make room."""
        if not self.usable or len(data) > self.limit or not etag:
            return
        name = entry_name(bucket, key, etag)
        temp = None
        try:
            fd, temp = tempfile.mkstemp(prefix=_TEMP, dir=self.folder)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(temp, self.folder / name)
            temp = None
        except OSError as exc:
            with self._lock:
                if self.usable:
                    self._disable(
                        f"the S3 cache {self.folder} could not be written ({exc.strerror or exc}): "
                        "the other objects are not kept"
                    )
            return
        finally:
            if temp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
        with self._lock:
            old = self._entries.get(name)
            self._total += len(data) - (old[1] if old else 0)
            self._entries[name] = (time.time(), len(data))
            if self._total > self.limit:
                self._evict(keep=name)

    def _evict(self, keep: str) -> None:
        # Sorted once per eviction, and enough is removed to be a tenth under the limit: a full cache
        # is not sorted again for every object written.
        target = self.limit - self.limit // 10
        for name, (_, size) in sorted(self._entries.items(), key=lambda kv: kv[1][0]):
            if self._total <= target:
                break
            if name == keep:
                continue
            with contextlib.suppress(OSError):
                os.unlink(self.folder / name)
            del self._entries[name]
            self._total -= size
