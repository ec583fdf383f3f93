"""Choosing and configuring an engine from the user's options."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alb502athena.engines.athena import AthenaSettings
from alb502athena.engines.base import Engine
from alb502athena.errors import UsageError
from alb502athena.logfiles import Discovery, discover
from alb502athena.window import Window


@dataclass(frozen=True, kw_only=True)
class EngineRequest:
    engine: str
    paths: list[Path]
    trino_url: str | None = None
    catalog: str = "hive"
    schema: str = "default"
    user: str | None = None
    password: str | None = None
    ca_bundle: Path | None = None
    insecure: bool = False
    athena: AthenaSettings | None = None
    progress: Callable[[str], None] | None = None


def open_engine(request: EngineRequest, window: Window) -> tuple[Engine, Discovery | None]:
    """The engine, and for the local one what was found on disk (for the notes shown to the user)."""
    if request.engine == "local":
        if not request.paths:
            raise UsageError("the local engine needs log files or folders, e.g. alb502 diagnose ./logs")
        from alb502athena.engines.local import LocalEngine

        found = discover(request.paths, window)
        return LocalEngine(found.files, window, progress=request.progress), found
    if request.paths:
        raise UsageError(f"the {request.engine} engine reads its table, not files: remove the paths")
    if request.engine == "trino":
        if not request.trino_url:
            raise UsageError("the trino engine needs --trino-url (or ALB502_TRINO_URL)")
        from alb502athena.engines.trino import TrinoEngine, TrinoSettings

        verify: bool | str = str(request.ca_bundle) if request.ca_bundle else not request.insecure
        settings = TrinoSettings(
            url=request.trino_url,
            catalog=request.catalog,
            schema=request.schema,
            user=request.user or getpass.getuser(),
            password=request.password,
            verify=verify,
        )
        return TrinoEngine(settings), None
    if request.engine == "athena":
        if request.athena is None:
            raise UsageError("the athena engine needs --database (or ALB502_DATABASE)")
        from alb502athena.engines.athena import AthenaEngine

        return AthenaEngine(request.athena, progress=request.progress), None
    raise UsageError(f"unknown engine {request.engine!r}")
