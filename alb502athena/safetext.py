"""Text read from logs, file names or AWS, made safe to print on a terminal."""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 control characters (the escape that starts every terminal sequence among them) and the
# bidirectional overrides that reorder what a terminal shows.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def inert(value: Any, limit: int | None = None) -> str:
    """The value with its control characters shown as escapes (\\x1b), not obeyed, and cut to `limit`
    characters (with "...") when one is given. Rich markup stays literal when printed as Text."""
    text = _UNSAFE.sub(
        lambda m: m.group().encode("unicode_escape").decode("ascii"), "" if value is None else str(value)
    )
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."
