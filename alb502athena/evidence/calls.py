"""AWS calls for evidence: read-only; a refusal degrades to "not checked: <permission>", and an AWS
that cannot be reached to one note for all the calls, which are then not tried. Evidence is best
effort: any other failure of a call (a connection cut in the middle of an answer, an answer that is
not what the API promises) is a note too, never the end of a diagnosis that is already done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from alb502athena.errors import Interrupted

T = TypeVar("T")


@dataclass
class Unchecked:
    """What could not be read: each permission missing, or the AWS endpoint that could not be reached."""

    missing: list[str] = field(default_factory=list)
    unreachable: str | None = None
    progress: Callable[[str], None] | None = None

    def call(self, permission: str, fn: Callable[[], T]) -> T | None:
        import botocore.exceptions as bx

        from alb502athena.aws import denied, endpoint_of, missing_permission, unreachable

        if self.unreachable is not None:
            return None  # it would only wait for the same failure
        if self.progress is not None:
            self.progress(f"Reading the evidence from AWS: {permission}")
        try:
            return fn()
        except bx.ClientError as exc:
            if denied(exc):
                self.note(missing_permission(exc) or permission)
                return None
            self.note(f"{permission} ({exc.response.get('Error', {}).get('Code', '')})")
            return None
        except bx.NoCredentialsError as exc:
            self.note(f"{permission} ({type(exc).__name__})")
            return None
        except bx.BotoCoreError as exc:
            if not unreachable(exc):
                self.note(f"{permission} ({failure(exc)})")
                return None
            self.unreachable = endpoint_of(exc)
            return None
        except Interrupted:
            raise
        except Exception as exc:  # urllib3's own errors, a malformed answer, ...
            self.note(f"{permission} ({failure(exc)})")
            return None

    def note(self, what: str) -> None:
        if what not in self.missing:
            self.missing.append(what)

    def notes(self) -> list[str]:
        """For the diagnosis' notes: the unreachable endpoint once, or each permission missing."""
        if self.progress is not None:
            self.progress("")
        if self.unreachable is not None:
            return [f"AWS could not be reached ({self.unreachable}): the evidence was not checked"]
        return [f"not checked: {m}" for m in self.missing]


def failure(exc: BaseException) -> str:
    """An unexpected failure in a few words for a note: its type and the start of its message, which
    may quote what the answer held (escaped)."""
    from alb502athena.safetext import inert

    text = inert(str(exc), 160)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items
