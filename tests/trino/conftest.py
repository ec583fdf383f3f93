"""The `trino` tier: a real Trino server (Athena's engine family) runs the catalogue's SQL text.

The server starts once per session. Every test here is marked `trino`; the tier never skips itself:
without a Trino server in the cache it fails and says how to get one (scripts/fetch-trino), and
`pytest -m "not trino"` leaves it out on purpose.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from alb502athena.render import render_trino_ddl
from tests.trino.server import TrinoServer

PROJECTION_START = "2026/11/01"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.trino)


@dataclass
class TrinoTier:
    server: TrinoServer
    data: Path

    def dataset(self, name: str, source: Path, location_under: str = "") -> str:
        """Copy `source` into the server's data root and create schema `name` with table alb_logs over it.
        `location_under` is the folder under `source` that holds the yyyy/mm/dd partitions."""
        target = self.data / name
        if not target.exists():
            shutil.copytree(source, target)
            self.execute(
                f"CREATE SCHEMA IF NOT EXISTS hive.{name} WITH (location = 'local:///schemas/{name}')"
            )
            location = f"local:///{name}/{location_under}".rstrip("/")
            self.execute(
                render_trino_ddl(
                    location=location, table=f"hive.{name}.alb_logs", projection_start=PROJECTION_START
                )
            )
        return name

    def copy(self, source: Path, name: str) -> None:
        """Put a folder under the server's data root as local:///<name>."""
        if not (self.data / name).exists():
            shutil.copytree(source, self.data / name)

    def execute(self, sql: str, schema: str = "default") -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self.server.connect(schema=schema).cursor()
        cursor.execute(sql)
        rows = [tuple(r) for r in cursor.fetchall()]
        return [d[0] for d in cursor.description or []], rows


@pytest.fixture(scope="session")
def trino(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrinoTier]:
    work = tmp_path_factory.mktemp("trino")
    data = work / "data"
    data.mkdir()
    server = TrinoServer(work, data)
    server.start()
    try:
        yield TrinoTier(server, data)
    finally:
        server.stop()
