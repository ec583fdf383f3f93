from __future__ import annotations

from alb502athena.cli.app import main

if __name__ == "__main__":
    main()
