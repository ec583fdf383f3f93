"""AWS calls for evidence: read-only, and a refusal degrades to "not checked: <permission>"."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
_ACTION = re.compile(r"perform: ([a-z0-9-]+:[A-Za-z0-9]+)")


@dataclass
class Unchecked:
    """What could not be read, named by the permission it needs."""

    missing: list[str] = field(default_factory=list)

    def call(self, permission: str, fn: Callable[[], T]) -> T | None:
        import botocore.exceptions as bx

        try:
            return fn()
        except bx.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            message = exc.response.get("Error", {}).get("Message", "")
            if "AccessDenied" in code or code == "UnauthorizedOperation":
                m = _ACTION.search(message)
                self.note(m.group(1) if m else permission)
                return None
            self.note(f"{permission} ({code})")
            return None
        except (bx.NoCredentialsError, bx.EndpointConnectionError) as exc:
            self.note(f"{permission} ({type(exc).__name__})")
            return None

    def note(self, what: str) -> None:
        if what not in self.missing:
            self.missing.append(what)


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items
