"""`python -m alb502athena` and the `alb502` command. Ctrl-C is taken over before the application is
imported, so that one during the imports also ends as `Error: interrupted` and exit 130."""

from __future__ import annotations


def main() -> None:
    from alb502athena import interrupts

    interrupts.take_over()
    from alb502athena.cli import app

    app.main()


if __name__ == "__main__":
    main()
