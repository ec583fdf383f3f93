"""Ctrl-C, acted on at known points only.

Python runs a SIGINT handler in the main thread between any two bytecodes: inside `__del__` and
finalizers, where a KeyboardInterrupt is printed as "Exception ignored" and lost, and inside the
callbacks DuckDB and Arrow make into Python, where it becomes a failed query or a C++ abort. So
while alb502 runs, Ctrl-C is handled by a `CtrlC` object that counts it and:
- during a query (`stoppable`), asks the query to stop and raises nothing; the query's caller
  raises `Interrupted` once the query has stopped and the reader is closed;
- in a command's own code (`raising`), raises KeyboardInterrupt, once;
- elsewhere (imports, option parsing, output), only counts: the entry point ends with exit 130.

Python runs that handler only once the main thread gets back to bytecode: while it waits inside a
native call (DuckDB's query, waiting on a reader whose S3 downloads stall), nothing would stop the
query, and the stall would last as long as the network's. So the process's handler also sees each
SIGINT as it arrives, on a thread of its own woken by Python's C-level handler (`signal.set_wakeup_fd`):
it runs the stops at once (they only set flags, and DuckDB's interrupt is made to be called from
another thread); the handler proper still counts and raises when the main thread gets to it.

The handler itself is the only state, kept where Python keeps it: `signal.getsignal(SIGINT)`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from alb502athena.errors import Interrupted

# A third Ctrl-C ends the process at once, in case stopping itself hangs.
_HARD_STOP = 3


class CtrlC:
    """The SIGINT handler while alb502 runs (see the module's docstring)."""

    def __init__(self) -> None:
        self.count = 0  # Ctrl-C received so far
        self.raising = False  # whether the main thread is in code that a KeyboardInterrupt may cut
        self.stops: list[Callable[[], None]] = []  # what stops the running queries, innermost last
        self.arrived = 0  # SIGINTs seen as they arrived (watch), whatever the main thread was doing
        self._wakeup: tuple[object, object] | None = None  # the pipe's two ends

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count >= _HARD_STOP:
            _hard_stop()
        if self.stops:
            self._stop_queries()
            return
        if self.raising:
            self.raising = False  # one KeyboardInterrupt: its own cleanup must not be cut again
            raise KeyboardInterrupt

    def _stop_queries(self) -> None:
        for stop in reversed(list(self.stops)):  # a copy: the main thread may add or remove one meanwhile
            # A stop that fails must not raise here, at a random point of the query's caller.
            with contextlib.suppress(Exception):
                stop()

    def arrive(self) -> None:
        """A SIGINT as it arrives, on the watching thread: the queries are stopped now, and a third
        Ctrl-C ends the process now, even while the main thread cannot run the handler."""
        self.arrived += 1
        if self.arrived >= _HARD_STOP:
            _hard_stop()
        self._stop_queries()

    def watch(self) -> None:
        """Have each SIGINT seen as it arrives (arrive()): Python's C-level handler writes its number
        to a pipe (set_wakeup_fd; a socket on Windows, where it takes no pipe) that a daemon thread
        reads. Where that cannot be set up, the handler alone acts, as the main thread gets to it."""
        read: Callable[[], bytes]
        try:
            if os.name == "posix":  # a pipe: no import of socket at every start
                out, into = os.pipe()
                os.set_blocking(into, False)  # as set_wakeup_fd requires: a signal never waits for us
                read = functools.partial(os.read, out, 64)
                self._wakeup = (out, into)
            else:
                import socket

                reader, writer = socket.socketpair()
                writer.setblocking(False)
                into, read = writer.fileno(), functools.partial(reader.recv, 64)
                self._wakeup = (reader, writer)  # kept open for the life of the process
            signal.set_wakeup_fd(into, warn_on_full_buffer=False)
        except (OSError, ValueError):
            return

        def watching() -> None:
            while data := read():
                for signum in data:
                    if signum == signal.SIGINT:
                        self.arrive()

        threading.Thread(target=watching, daemon=True, name="alb502-ctrl-c").start()


def _hard_stop() -> None:
    os.write(2, b"\nError: interrupted\n")
    os._exit(130)


def current() -> CtrlC | None:
    handler = signal.getsignal(signal.SIGINT)
    return handler if isinstance(handler, CtrlC) else None


def came() -> bool:
    """Whether Ctrl-C has come during this run: an error raised after it is its consequence (a query
    stopped midway, a reader closed under a statement), not a failure to report as such."""
    handler = current()
    return handler is not None and handler.count > 0


def _can_install() -> bool:
    # Only the main thread may set handlers, and a SIGINT ignored by whoever started us (a
    # background job of a script) stays ignored.
    return (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
    )


def take_over() -> CtrlC | None:
    """Make a CtrlC the SIGINT handler for the rest of the process (the entry point's first step)."""
    existing = current()
    if existing is not None or not _can_install():
        return existing
    handler = CtrlC()
    signal.signal(signal.SIGINT, handler)
    handler.watch()
    return handler


@contextlib.contextmanager
def handled() -> Iterator[CtrlC | None]:
    """A CtrlC as the SIGINT handler for the duration (the one already installed, if any), counting
    only; the previous handler is restored after."""
    existing = current()
    if existing is not None or not _can_install():
        yield existing
        return
    handler = CtrlC()
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield handler
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def raising() -> Iterator[None]:
    """Code a KeyboardInterrupt may cut (a command's own code): Ctrl-C raises it there, at once if
    one came before. Without a CtrlC handler, Python's default already does so."""
    handler = current()
    if handler is None:
        yield
        return
    was = handler.raising
    handler.raising = True
    try:
        if handler.count:
            handler.raising = False
            raise KeyboardInterrupt
        yield
    finally:
        handler.raising = was


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Code inside a command's own code (`raising`) that a KeyboardInterrupt must not cut midway:
    importing a C extension (a KeyboardInterrupt raised in DuckDB's import aborted the process, exit
    -6). Ctrl-C is counted during the block and raised right after it."""
    handler = current()
    if handler is None or not handler.raising:
        yield
        return
    before = handler.count
    handler.raising = False
    try:
        yield
    finally:
        handler.raising = True
    if handler.count > before:
        handler.raising = False  # one KeyboardInterrupt, as `raising` raises it
        raise KeyboardInterrupt


@contextlib.contextmanager
def stoppable(stop: Callable[[], None]) -> Iterator[Callable[[], bool]]:
    """Run a query that `stop` can end from the SIGINT handler (it must only set flags: it runs
    between two bytecodes of this thread). Yields whether Ctrl-C came; raises Interrupted on the way
    out if it did, whatever the query raised because it was stopped."""
    with handled() as handler:
        if handler is None:  # not the main thread, or SIGINT ignored: nothing can interrupt
            yield lambda: False
            return
        before = handler.count
        handler.stops.append(stop)
        try:
            yield lambda: handler.count > before
        finally:
            handler.stops.remove(stop)
            if handler.count > before:
                raise Interrupted("interrupted") from None
