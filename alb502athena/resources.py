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


def load_yaml(text: str) -> object:
    """Safe YAML, through libyaml when PyYAML has it: the pure-Python loader takes a tenth of a second
    for the log format alone, on every run."""
    import yaml  # here, not at the top: `alb502 --help` reads no YAML

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)
