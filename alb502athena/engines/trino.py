"""A self-hosted Trino cluster as the engine: the catalogue's SQL text, untranslated.

The table is the Trino twin of the Athena table (`alb502 ddl --engine trino`). Trino's own failure
message and query id reach the user; nothing is retried behind their back.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from alb502athena.engines.base import BATCH_ROWS, QueryResult, RowStream, whole_result
from alb502athena.errors import QueryError, UsageError

if TYPE_CHECKING:
    from alb502athena.engines.athena import EngineStats


# Catalog and schema names reach Trino in HTTP headers: no blank, quote or line break.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,254}")


@dataclass(frozen=True, kw_only=True)
class TrinoSettings:
    url: str
    catalog: str
    schema: str
    user: str
    password: str | None = None
    verify: bool | str = True  # False with --insecure, or a CA bundle path


class TrinoEngine:
    name = "trino"

    def __init__(self, settings: TrinoSettings) -> None:
        parts = urlsplit(settings.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"invalid --trino-url {settings.url!r}: e.g. https://trino.example.com:8443")
        for option, value in (("--catalog", settings.catalog), ("--schema", settings.schema)):
            if not _NAME.fullmatch(value):
                raise UsageError(f"invalid {option} {value!r}: letters, digits, '_' and '-', e.g. hive")
        if not settings.user or not settings.user.isprintable():
            raise UsageError(f"invalid --user {settings.user!r}: a Trino user name, printable characters")
        if settings.password is not None and parts.scheme != "https":
            raise UsageError("a Trino password is only sent over https: use an https:// --trino-url")
        self._settings = settings
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 8080)
        self._scheme = parts.scheme
        self.notes: list[str] = []
        self.last_stats: EngineStats | None = None  # Trino bills nothing
        self.aws_session: Any = None

    def _connect(self) -> Any:
        import trino  # imported here: `alb502 --help` must not pay for it

        s = self._settings
        auth = trino.auth.BasicAuthentication(s.user, s.password) if s.password is not None else None
        return trino.dbapi.connect(
            host=self._host,
            port=self._port,
            http_scheme=self._scheme,
            user=s.user,
            auth=auth,
            catalog=s.catalog,
            schema=s.schema,
            verify=s.verify,
            source="alb502",
        )

    def run(self, athena_sql: str) -> QueryResult:
        return whole_result(self, athena_sql)

    @contextlib.contextmanager
    def stream(self, athena_sql: str, batch_rows: int = BATCH_ROWS) -> Iterator[RowStream]:
        """The result as Trino sends it, `batch_rows` at a time; the query is cancelled if the block
        ends before its last row."""
        with self._failures():
            cursor = self._connect().cursor()
            cursor.execute(athena_sql)
            columns = [d[0] for d in cursor.description or []]
        try:
            yield RowStream(columns, self._batches(cursor, batch_rows))
        finally:
            with contextlib.suppress(Exception):
                cursor.close()  # cancels the query if rows are left

    def log_location(self, table: str) -> str | None:
        """The table's root from its definition: the partition projection's location template, which
        `alb502 ddl --engine trino` writes as <root>/${day}. None, with a note, for a table laid out
        otherwise or one whose definition cannot be read."""
        from alb502athena.render import table_name

        try:
            [(text,)] = self.run(f"SHOW CREATE TABLE {table_name(table)}").rows
        except QueryError as exc:
            self.notes.append(f"the table's location could not be read: {exc}")
            return None
        return location_from_definition(str(text))

    def _batches(self, cursor: Any, batch_rows: int) -> Iterator[list[tuple[Any, ...]]]:
        while True:
            with self._failures():
                batch = [tuple(r) for r in cursor.fetchmany(batch_rows)]
            if not batch:
                return
            yield batch

    @contextlib.contextmanager
    def _failures(self) -> Iterator[None]:
        """Trino's own failure message and query id, or why it could not be reached, as QueryError."""
        import requests
        import trino

        try:
            yield
        except trino.exceptions.TrinoQueryError as exc:
            raise QueryError(f"Trino query {exc.query_id} failed: {exc.error_name}: {exc.message}") from None
        except trino.exceptions.HttpError as exc:
            raise QueryError(f"Trino at {self._settings.url} refused the request: {exc}") from None
        except (trino.exceptions.TrinoConnectionError, requests.exceptions.RequestException) as exc:
            cause = exc.__cause__ or exc.__context__ or exc
            raise QueryError(f"cannot reach Trino at {self._settings.url} ({type(cause).__name__})") from None


_TEMPLATE = re.compile(r"partition_projection_location_template\s*=\s*'((?:[^']|'')*)'")


def location_from_definition(create_table: str) -> str | None:
    """<root> from a CREATE TABLE whose partition projection reads <root>/${day}."""
    from alb502athena.render import location_from_template

    m = _TEMPLATE.search(create_table)
    return location_from_template(m[1].replace("''", "'")) if m else None
