"""Athena's result file split record by record (engines/athena_csv.py): what Athena writes is read back
as it was, NULL apart from the empty string, and agrees with pyathena's own reader."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st
from pyathena.s3fs.reader import AthenaCSVReader

from alb502athena.engines.athena_csv import AthenaCsvReader

Row = list[str | None]


def athena_file(rows: list[Row]) -> str:
    """A result file as Athena writes one: each value quoted, quotes inside doubled, NULL empty."""
    return "".join(
        ",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in row) + "\n" for row in rows
    )


def read(text: str, reader: type = AthenaCsvReader) -> list[Row]:
    return list(reader(io.StringIO(text)))


values = st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20))


@given(
    st.integers(min_value=1, max_value=6).flatmap(
        lambda n: st.lists(st.lists(values, min_size=n, max_size=n), max_size=8)
    )
)
def test_what_athena_writes_is_read_back(rows: list[Row]) -> None:
    text = athena_file(rows)
    assert read(text) == rows
    assert read(text) == read(text, AthenaCSVReader)


def test_hard_values() -> None:
    rows: list[Row] = [
        ["", None, '"', 'say "hi"', "a,b", "line\nbreak", "crlf\r\n", "\t"],
        [None, None, None, None, None, None, None, None],
        ["%s", "%(x)s", "100%", "\\", "\x1b[31m", "é", "", ","],
    ]
    assert read(athena_file(rows)) == rows
    assert read("\n") == [[None]]  # a single-column NULL row is an empty line


def test_another_shape_is_read_as_pyathena_reads_it() -> None:
    # Unquoted values, or a quote left unclosed at the end: not Athena's shape, so pyathena's reader
    # reads the record, not a regular expression that would drop or shift a value.
    for text in ('a,"b",,c\n', '"open,x\n', '"a"b",c\n'):
        assert read(text) == read(text, AthenaCSVReader)
    assert read('a,"b",,c\n') == [["a", "b", None, "c"]]


def test_tab_separated_files_are_left_to_pyathena() -> None:
    assert list(AthenaCsvReader(io.StringIO("a\tb\n"), delimiter="\t")) == [["a", "b"]]
