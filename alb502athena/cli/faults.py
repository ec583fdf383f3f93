"""What the CLI does when the output cannot be written, and with a bug: one line, never a traceback."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import traceback
from pathlib import Path

from alb502athena.errors import UsageError

BUG_EXIT = 3  # documented in the README with the other exit codes
BROKEN_PIPE_EXIT = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away


def check_output_file(path: Path, option: str) -> None:
    """Refuse, before any work, an output file that cannot be written: a folder, a missing folder,
    a place where no file can be created. Nothing is left behind by the check."""
    where = f"{option} {path}"
    if path.is_dir():
        raise UsageError(f"{where} is a folder: give a file name, e.g. {path / 'report.html'}")
    parent = path.parent
    if not parent.exists():
        raise UsageError(f"{where}: the folder {parent} does not exist")
    if not parent.is_dir():
        raise UsageError(f"{where}: {parent} is not a folder")
    existed = path.exists()
    try:
        # Opening to append changes nothing in an existing file; a new one is removed at once.
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise UsageError(f"{where} cannot be written: {exc.strerror or exc}") from None
    if not existed:
        with contextlib.suppress(OSError):
            path.unlink()


def check_output_folder(path: Path, option: str) -> None:
    """Create the output folder (and its parents) now, or say why it cannot be."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"{option} {path} is not a folder") from None
    except OSError as exc:
        raise UsageError(f"{option} {path} cannot be created: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path} cannot be written into")


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush of what is still buffered
    neither fails again nor prints "Exception ignored" at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def output_failed(exc: OSError) -> tuple[str | None, int]:
    """The line to print for an OSError that ended a command (None: end quietly), and the exit code.
    A closed pipe ends quietly, as any Unix filter does when its reader (`| head`) has had enough."""
    stdout_broken = False
    try:
        sys.stdout.flush()
    except OSError:
        stdout_broken = True
    except ValueError:  # closed
        stdout_broken = True
    if exc.errno == errno.EPIPE or isinstance(exc, BrokenPipeError):
        _discard_stdout()
        return None, BROKEN_PIPE_EXIT
    reason = exc.strerror or str(exc)
    if stdout_broken:
        _discard_stdout()
        return f"could not write the results to stdout: {reason}", 2
    if exc.filename is not None:
        return f"{reason}: {exc.filename}", 2
    return f"could not write the output: {reason}", 2


def bug(exc: BaseException, debug: bool) -> str:
    """The line for an exception nothing expected; with debug, its traceback goes to stderr first."""
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    hint = "" if debug else " (a bug: run again with --debug or ALB502_DEBUG=1 for the traceback)"
    return f"{type(exc).__name__}: {exc}{hint}"
