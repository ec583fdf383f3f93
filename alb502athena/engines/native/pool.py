"""Buffers for the native reader that come back when Arrow is done with them.

Every fresh page costs the kernel a fault and a zeroing. A million log lines are about 600 MB of text
and 200 MB of string views: allocated fresh for each file and batch, that was about 0.3 s of kernel
time per run, a tenth of all the work. The pool hands out arrays, and an array returns to it once the
last Arrow buffer over it is released (by DuckDB, from any thread), so a scan reuses a working set
about the size of its read-ahead.

No Python code runs when a lease goes: each lease has a weak reference whose callback is a deque's
`append` (C code, atomic, which no signal handler can interrupt), and the pool takes the arrays of
the leases so queued when it is next asked for one, in time proportional to their number. (A
`__del__` or a Python callback would run wherever the last buffer happens to be released, between any
two bytecodes of that thread, and a Ctrl-C raised inside it is printed as "Exception ignored" and
lost. Scanning every lease for dead ones made a scan of many small files quadratic.)
"""

from __future__ import annotations

import bisect
import threading
import weakref
from collections import deque
from typing import Any

_PAGE = 1 << 12
_CLASS = 1 << 22  # bigger sizes are rounded up to a multiple of 4 MiB, so that similar files share buffers


def rounded(size: int) -> int:
    """The size of array the pool hands out for `size` bytes: a power of two (a page at least) up to
    4 MiB, a multiple of 4 MiB above. A ten-line file takes a few kilobytes, not 4 MiB."""
    if size <= _CLASS:
        return max(_PAGE, 1 << (max(size, 1) - 1).bit_length())
    return -(-size // _CLASS) * _CLASS


class Pool:
    def __init__(self, keep_bytes: int = 1 << 30) -> None:
        self._free: dict[int, list[Any]] = {}  # free arrays by size
        self._sizes: list[int] = []  # the keys of _free, sorted
        self._free_bytes = 0
        self._lent: dict[int, tuple[weakref.ref[Lease], Any]] = {}  # by id of the weak reference
        self._dead: deque[weakref.ref[Lease]] = deque()  # references whose lease is gone
        self._keep = keep_bytes
        self._lock = threading.Lock()

    def lease(self, size: int) -> Lease:
        """An array of at least `size` bytes (contents undefined), held by the returned lease. A free
        array up to twice the rounded size is reused; a bigger one is left for a bigger request."""
        import numpy as np

        want = rounded(size)
        with self._lock:
            self._take_back()
            i = bisect.bisect_left(self._sizes, want)
            if i < len(self._sizes) and self._sizes[i] <= 2 * want:
                got = self._sizes[i]
                arrays = self._free[got]
                array = arrays.pop()
                if not arrays:
                    del self._free[got]
                    del self._sizes[i]
                self._free_bytes -= got
                return self._lend(array)
        array = np.empty(want, dtype=np.uint8)
        with self._lock:
            return self._lend(array)

    def close(self) -> None:
        """Keep nothing from now on: arrays still leased are freed when their leases go."""
        with self._lock:
            self._keep = 0
            self._free.clear()
            self._sizes.clear()
            self._free_bytes = 0
            self._lent.clear()
            self._dead.clear()

    def _lend(self, array: Any) -> Lease:
        lease = Lease(array)
        if self._keep:
            ref = weakref.ref(lease, self._dead.append)
            self._lent[id(ref)] = (ref, array)
        return lease

    def _take_back(self) -> None:
        """The arrays of leases that are gone, into the free lists (as much of them as it keeps)."""
        while self._dead:
            ref = self._dead.popleft()
            entry = self._lent.pop(id(ref), None)
            if entry is None:
                continue
            array = entry[1]
            size = len(array)
            if self._free_bytes + size > self._keep:
                continue
            if size not in self._free:
                bisect.insort(self._sizes, size)
                self._free[size] = []
            self._free[size].append(array)
            self._free_bytes += size


class Lease:
    """Holds a pooled array; the pool takes the array back once the lease and every Arrow buffer made
    from it are gone. Views of `array` must not outlive the lease."""

    __slots__ = ("__weakref__", "address", "array")

    def __init__(self, array: Any) -> None:
        self.array = array
        self.address: int = array.ctypes.data

    def buffer(self, offset: int, size: int) -> Any:
        """An Arrow buffer over `size` bytes of the array from `offset`; it keeps the lease alive."""
        import pyarrow as pa

        return pa.foreign_buffer(self.address + offset, size, base=self)
