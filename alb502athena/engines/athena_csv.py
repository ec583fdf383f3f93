"""Athena's result file, record by record, for pyathena's S3FSCursor (its `csv_reader`).

Athena writes each value of a SELECT's result quoted (quotes inside doubled) and NULL as an empty,
unquoted field, so NULL and the empty string differ. pyathena's own reader keeps that difference by
walking each field a character at a time in Python, which made reading the file slower than paging
through GetQueryResults (benchmarks/bench_athena_results.py). Here a record of that shape is split by
one regular expression; a record of any other shape is handed to pyathena's reader, so nothing is read
differently from it.
"""

from __future__ import annotations

import io
import re
from typing import Any

_FIELD = r'(?:"[^"]*(?:""[^"]*)*")?'  # a quoted value, or nothing (NULL)
_RECORD = re.compile(rf"{_FIELD}(?:,{_FIELD})*")
_FIELDS = re.compile(rf",({_FIELD})")  # each field, with the comma before it


class AthenaCsvReader:
    """pyathena's CSVReader protocol: rows of text values, None for NULL."""

    def __init__(self, file_obj: Any, delimiter: str = ",") -> None:
        from pyathena.s3fs.reader import AthenaCSVReader

        self._file: Any = file_obj
        # Tab-separated result files (DDL statements') are not of the shape above.
        self._whole = AthenaCSVReader(file_obj, delimiter) if delimiter != "," else None

    def __iter__(self) -> AthenaCsvReader:
        return self

    def __next__(self) -> list[str | None]:
        if self._whole is not None:
            return self._whole.__next__()
        record = self._record()
        if not _RECORD.fullmatch(record):
            from pyathena.s3fs.reader import AthenaCSVReader

            return next(AthenaCSVReader(io.StringIO(record)))
        return [
            None if not f else f[1:-1].replace('""', '"') if '""' in f else f[1:-1]
            for f in _FIELDS.findall("," + record)
        ]

    def _record(self) -> str:
        """The next record without its line end: lines are joined while a quote is open (a value may
        hold line breaks)."""
        if self._file is None:
            raise StopIteration
        line: str = self._file.readline()
        if not line:
            raise StopIteration
        quotes = line.count('"')
        while quotes % 2:
            more: str = self._file.readline()
            if not more:
                break
            line += more
            quotes += more.count('"')
        return line.rstrip("\r\n")

    def close(self) -> None:
        if self._whole is not None:
            self._whole.close()
        elif self._file is not None:
            self._file.close()
        self._file = None
