"""Where the SQL catalogue lives: inside the wheel, or beside the package in a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def sql_dir() -> Path:
    packaged = Path(__file__).parent / "sql"
    if packaged.is_dir():
        return packaged
    # Editable installs and source checkouts keep sql/ at the repository root.
    return Path(__file__).resolve().parent.parent / "sql"
