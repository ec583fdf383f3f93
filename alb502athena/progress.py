"""The progress line on stderr: one line that rewrites itself, on a terminal only."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


def _stderr_width() -> int:
    """The width of the terminal stderr writes to (stdout may be piped meanwhile)."""
    try:
        return max(20, os.get_terminal_size(sys.stderr.fileno()).columns)
    except (OSError, ValueError, AttributeError):
        return 80


def terminal_line() -> Callable[[str], None] | None:
    """A line on stderr that rewrites itself ("" clears it), or None when stderr is no terminal. It
    stays one cell short of the width: a full line would wrap, and the next rewrite would start a line
    lower."""
    if not sys.stderr.isatty():
        return None

    def show(message: str) -> None:
        width = _stderr_width() - 1
        sys.stderr.write("\r" + message[:width].ljust(width) + ("" if message else "\r"))
        sys.stderr.flush()

    return show
