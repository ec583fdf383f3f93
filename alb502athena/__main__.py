"""`python -m alb502athena` and the `alb502` command. Ctrl-C is taken over before the application is
imported, so that one during the imports also ends as `Error: interrupted` and exit 130.

Once the command has ended and its output is flushed, the process exits at once: tearing down the
interpreter (numpy, pyarrow, DuckDB and a few hundred other modules) took about 70 ms of CPU and
did nothing the run needs. Every file the run writes is closed by then, and the DuckDB connection with
its engine (reference counting frees them when the command returns). Where a stream cannot be
flushed, the interpreter ends as usual and says what it says."""

from __future__ import annotations

import os
import sys


def main() -> None:
    from alb502athena import interrupts

    interrupts.take_over()
    from alb502athena.cli import app

    try:
        app.main()
    except SystemExit as exc:
        if not isinstance(exc.code, int):
            raise
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            raise exc from None
        os._exit(exc.code)


if __name__ == "__main__":
    main()
