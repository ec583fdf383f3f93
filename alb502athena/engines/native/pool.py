"""Buffers for the native reader that come back when Arrow is done with them.

Every fresh page costs the kernel a fault and a zeroing. A million log lines are about 600 MB of text
and 200 MB of string views: allocated fresh for each file and batch, that was about 0.3 s of kernel
time per run, a tenth of all the work. The pool hands out arrays, and an array returns to it once the
last Arrow buffer over it is released (by DuckDB, from any thread), so a scan reuses a working set
about the size of its read-ahead.

No Python code runs when a lease goes: the pool keeps a weak reference to each lease and takes the
arrays of dead ones back when it is next asked for one. (A `__del__` would run wherever the last
buffer happens to be released, between any two bytecodes of that thread, and a Ctrl-C raised inside
it is printed as "Exception ignored" and lost.)
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

_CLASS = 1 << 22  # sizes are rounded up to 4 MiB, so that files of similar size share buffers


class Pool:
    def __init__(self, keep_bytes: int = 1 << 30) -> None:
        self._free: list[Any] = []
        self._free_bytes = 0
        self._lent: list[tuple[weakref.ref[Lease], Any]] = []  # each lease, and the array it holds
        self._keep = keep_bytes
        self._lock = threading.Lock()

    def lease(self, size: int) -> Lease:
        """An array of at least `size` bytes (contents undefined), held by the returned lease."""
        import numpy as np

        with self._lock:
            self._take_back()
            fits = [i for i, a in enumerate(self._free) if len(a) >= size]
            if fits:
                best = self._free.pop(min(fits, key=lambda i: len(self._free[i])))
                self._free_bytes -= len(best)
                return self._lend(best)
        array = np.empty(-(-max(size, 1) // _CLASS) * _CLASS, dtype=np.uint8)
        with self._lock:
            return self._lend(array)

    def close(self) -> None:
        """Keep nothing from now on: arrays still leased are freed when their leases go."""
        with self._lock:
            self._keep = 0
            self._free.clear()
            self._free_bytes = 0
            self._lent.clear()

    def _lend(self, array: Any) -> Lease:
        lease = Lease(array)
        if self._keep:
            self._lent.append((weakref.ref(lease), array))
        return lease

    def _take_back(self) -> None:
        """The arrays of leases that are gone, into the free list (as much of them as it keeps)."""
        lent = []
        for ref, array in self._lent:
            if ref() is not None:
                lent.append((ref, array))
            elif self._free_bytes + len(array) <= self._keep:
                self._free.append(array)
                self._free_bytes += len(array)
        self._lent = lent


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
