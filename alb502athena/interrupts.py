"""Ctrl-C, acted on at known points only.

Python runs a SIGINT handler in the main thread between any two bytecodes: inside `__del__` and
finalizers, where a KeyboardInterrupt is printed as "Exception ignored" and lost, and inside the
callbacks DuckDB and Arrow make into Python, where it becomes a failed query or a C++ abort. So
while alb502 runs, Ctrl-C is handled by a `CtrlC` object that counts it and:
- during a query (`stoppable`), asks the query to stop and raises nothing; the query's caller
  raises `Interrupted` once the query has stopped and the reader is closed;
- in a command's own code (`raising`), raises KeyboardInterrupt, once;
- elsewhere (imports, option parsing, output), only counts: the entry point ends with exit 130.

The handler itself is the only state, kept where Python keeps it: `signal.getsignal(SIGINT)`.
"""

from __future__ import annotations

import contextlib
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

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count >= _HARD_STOP:
            os.write(2, b"\nError: interrupted\n")
            os._exit(130)
        if self.stops:
            for stop in reversed(self.stops):
                # A stop that fails must not raise here, at a random point of the query's caller.
                with contextlib.suppress(Exception):
                    stop()
            return
        if self.raising:
            self.raising = False  # one KeyboardInterrupt: its own cleanup must not be cut again
            raise KeyboardInterrupt


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
