"""Buffers for the native reader that come back when Arrow is done with them.

Every fresh page costs the kernel a fault and a zeroing. A million log lines are about 600 MB of text
and 200 MB of string views: allocated fresh for each file and batch, that was about 0.3 s of kernel
time per run, a tenth of all the work. The pool hands out arrays, and an array returns to it when the
last Arrow buffer over it is released (by DuckDB, from any thread), so a scan reuses a working set
about the size of its read-ahead.
"""

from __future__ import annotations

import threading
from typing import Any

_CLASS = 1 << 22  # sizes are rounded up to 4 MiB, so that files of similar size share buffers


class Pool:
    def __init__(self, keep_bytes: int = 1 << 30) -> None:
        self._free: list[Any] = []
        self._free_bytes = 0
        self._keep = keep_bytes
        # Reentrant: the cyclic collector may free a Lease (whose __del__ gives its array back)
        # while this thread holds the lock inside lease().
        self._lock = threading.RLock()

    def lease(self, size: int) -> Lease:
        """An array of at least `size` bytes (contents undefined), held by the returned lease."""
        import numpy as np

        with self._lock:
            fits = [i for i, a in enumerate(self._free) if len(a) >= size]
            if fits:
                best = self._free.pop(min(fits, key=lambda i: len(self._free[i])))
                self._free_bytes -= len(best)
                return Lease(self, best)
        return Lease(self, np.empty(-(-max(size, 1) // _CLASS) * _CLASS, dtype=np.uint8))

    def close(self) -> None:
        """Keep nothing from now on: arrays still leased are freed when their leases go."""
        with self._lock:
            self._keep = 0
            self._free.clear()
            self._free_bytes = 0

    def _give(self, array: Any) -> None:
        with self._lock:
            if self._free_bytes + len(array) <= self._keep:
                self._free.append(array)
                self._free_bytes += len(array)


class Lease:
    """Holds a pooled array, and gives it back once the lease and every Arrow buffer made from it are
    gone. Views of `array` must not outlive the lease."""

    __slots__ = ("_pool", "address", "array")

    def __init__(self, pool: Pool, array: Any) -> None:
        self._pool = pool
        self.array = array
        self.address: int = array.ctypes.data

    def buffer(self, offset: int, size: int) -> Any:
        """An Arrow buffer over `size` bytes of the array from `offset`; it keeps the lease alive."""
        import pyarrow as pa

        return pa.foreign_buffer(self.address + offset, size, base=self)

    def __del__(self) -> None:
        self._pool._give(self.array)
