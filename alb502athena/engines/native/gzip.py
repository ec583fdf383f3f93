"""gzip files decompressed by libdeflate into pooled buffers, member by member.

The `deflate` package links libdeflate into its extension module and exports its C API; the Python
API lacks two things this reader needs: decompressing into a buffer it did not allocate, and saying
where a gzip member ends (files may hold several members, and `gzip_decompress` silently reads only
the first). So the C API is called through ctypes, which releases the GIL for each call.
"""

from __future__ import annotations

import ctypes
import gzip
from functools import cache
from typing import Any

from alb502athena.engines.native.pool import Lease, Pool

_SUCCESS, _BAD_DATA, _SHORT_OUTPUT, _INSUFFICIENT_SPACE = range(4)


@cache
def libdeflate() -> Any:
    """libdeflate's C API; OSError or AttributeError when this build of `deflate` does not export it."""
    import deflate._deflate

    lib = ctypes.CDLL(deflate._deflate.__file__)
    lib.libdeflate_alloc_decompressor.restype = ctypes.c_void_p
    lib.libdeflate_alloc_decompressor.argtypes = []
    lib.libdeflate_free_decompressor.restype = None
    lib.libdeflate_free_decompressor.argtypes = [ctypes.c_void_p]
    size_p = ctypes.POINTER(ctypes.c_size_t)
    lib.libdeflate_gzip_decompress_ex.restype = ctypes.c_int
    lib.libdeflate_gzip_decompress_ex.argtypes = [
        ctypes.c_void_p,  # decompressor
        ctypes.c_void_p,  # in
        ctypes.c_size_t,  # in_nbytes
        ctypes.c_void_p,  # out
        ctypes.c_size_t,  # out_nbytes_avail
        size_p,  # actual_in_nbytes_ret: where the member ended
        size_p,  # actual_out_nbytes_ret
    ]
    return lib


def gunzip(data: bytes, pool: Pool) -> tuple[Lease, int]:
    """Every member of the gzip file `data`, decompressed into a pooled buffer: the lease and the size.
    Damaged data raises the standard library's own error, which names what is wrong."""
    lib = libdeflate()
    decompressor = lib.libdeflate_alloc_decompressor()
    if not decompressor:
        raise MemoryError("libdeflate could not allocate a decompressor")
    try:
        # A member's trailer ends with its size (mod 4 GiB): for the usual one-member file, the last
        # four bytes give the exact size. Several members make it grow below.
        guess = int.from_bytes(data[-4:], "little") if len(data) >= 18 else 0
        lease = pool.lease(max(guess, 2 * len(data), 1 << 16))
        source = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value or 0
        read, written = 0, 0
        used_in, used_out = ctypes.c_size_t(), ctypes.c_size_t()
        while read < len(data):
            status = lib.libdeflate_gzip_decompress_ex(
                decompressor, source + read, len(data) - read, lease.address + written,
                len(lease.array) - written, ctypes.byref(used_in), ctypes.byref(used_out),
            )  # fmt: skip
            if status == _INSUFFICIENT_SPACE:
                bigger = pool.lease(2 * len(lease.array))
                bigger.array[:written] = lease.array[:written]
                lease = bigger
                continue
            if status != _SUCCESS:
                return _by_zlib(data, pool)
            read += used_in.value
            written += used_out.value
        return lease, written
    finally:
        lib.libdeflate_free_decompressor(decompressor)


def _by_zlib(data: bytes, pool: Pool) -> tuple[Lease, int]:
    """What libdeflate refused, read by the standard library: it raises for a damaged file, with its
    own message naming the damage, and reads whatever it accepts."""
    import numpy as np

    raw = gzip.decompress(data)
    lease = pool.lease(len(raw))
    lease.array[: len(raw)] = np.frombuffer(raw, dtype=np.uint8)
    return lease, len(raw)
