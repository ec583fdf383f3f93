"""The native reader's memory: gzip members decompressed by libdeflate into pooled buffers, no bigger
than a bound whatever the trailer says, and buffers returning to the pool when Arrow releases them."""

from __future__ import annotations

import gc
import gzip

from alb502athena.engines.native.gzip import gunzip
from alb502athena.engines.native.pool import Pool


def test_every_member_is_read() -> None:
    first = b"GET / 200\n" * 1_000  # within the first buffer (64 KiB at least)
    data = gzip.compress(first) + gzip.compress(b"last line\n")
    whole = gunzip(data, Pool(), limit=1 << 30)
    assert whole is not None
    lease, size = whole
    assert size == len(first) + 10
    assert bytes(lease.array[:size]) == first + b"last line\n"


def test_text_that_outgrows_the_buffer_is_left_to_the_stream() -> None:
    # The size guess comes from the last member's trailer: here far too small. Growing the buffer
    # would decode again each time and leave the smaller buffers in the pool: GzipText reads it.
    many = gzip.compress(b"GET / 200\n" * 600_000) + gzip.compress(b"last line\n")
    assert gunzip(many, Pool(), limit=1 << 30) is None
    # An honest trailer, but more text than the limit: a gzip bomb, say.
    bomb = gzip.compress(b"GET / 200\n" * 600_000)
    assert gunzip(bomb, Pool(), limit=1 << 30) is not None
    assert gunzip(bomb, Pool(), limit=1 << 20) is None


def test_an_empty_file_is_empty() -> None:
    whole = gunzip(b"", Pool(), limit=1 << 20)
    assert whole is not None and whole[1] == 0


def test_damage_is_left_to_the_stream() -> None:
    # GzipText reads damaged files as a careful reader does (tests/test_native_gzip.py).
    data = gzip.compress(b"a line\n" * 1000)
    for damaged in (data[:-20], b"not gzip at all", data + b"trailing junk"):
        assert gunzip(damaged, Pool(), limit=1 << 20) is None


def test_an_array_returns_when_its_last_arrow_buffer_is_released() -> None:
    pool = Pool()
    lease = pool.lease(100)
    array = lease.array
    lease.array[:5] = list(b"hello")
    buffer = lease.buffer(0, 5)
    del lease
    gc.collect()
    assert buffer.to_pybytes() == b"hello"
    other = pool.lease(100)
    assert other.array is not array  # still held by the Arrow buffer
    del buffer
    again = pool.lease(100)
    assert again.array is array  # back in the pool, and handed out again
    del other, again


def test_the_pool_keeps_no_more_than_it_is_allowed() -> None:
    pool = Pool(keep_bytes=0)
    lease = pool.lease(100)
    array = lease.array
    del lease
    assert pool.lease(100).array is not array


def test_buffers_of_small_files_are_small() -> None:
    # Every buffer was rounded up to 4 MiB: a ten-line file took 4 MiB of text and 4 MiB of views,
    # and tens of thousands of them were in flight.
    pool = Pool()
    assert len(pool.lease(3000).array) == 4096
    assert len(pool.lease(100_000).array) == 128 << 10
    assert len(pool.lease(5 << 20).array) == 8 << 20


def test_each_released_array_is_handed_out_again_once() -> None:
    pool = Pool()
    leases = [pool.lease(3000) for _ in range(2000)]
    released = {id(lease.array) for lease in leases[::2]}
    del leases[::2]
    again = [pool.lease(3000) for _ in range(1000)]
    assert {id(lease.array) for lease in again} == released
    assert id(pool.lease(3000).array) not in released  # each once: the next one is new


def test_a_bigger_free_array_serves_a_request_up_to_half_its_size() -> None:
    pool = Pool()
    big = pool.lease(8 << 20)
    array = big.array
    del big
    assert pool.lease(1 << 20).array is not array  # an 8 MiB array for 1 MiB would be mostly idle
    assert pool.lease(5 << 20).array is array
