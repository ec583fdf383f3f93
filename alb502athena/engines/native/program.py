"""The log format (sql/log_format.yaml) compiled to the tables the native parser interprets.

The canonical regex is a sequence of log fields separated by one space; every field but the request
excludes the quote, and unquoted fields exclude the space, so matching it needs no general regex
engine: a field is a run of bytes of one class, a two-column field splits at the last separator that
leaves the second column whole, the request's URL is lazy (the parser tries its possible ends from the
shortest, as the regex does), and the optional groups are taken greedily. This module turns the format
into those terms, and refuses a format it cannot express exactly (the local engine then uses the SQL
view, which runs the regex itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt  # annotations only: importing it costs about 10 ms a run

from alb502athena.logformat import LogField, LogFormat

# Field kinds the parser knows.
UNQUOTED = 0  # one column: a run of one class
UNQUOTED_SPLIT = 1  # two columns: [^ "]* then a separator class then a class
QUOTED = 2  # one column inside quotes: a run of one class
REQUEST = 3  # "verb url proto": a class, a space, a lazy URL, a space, `- ` or a class, maybe a space

_NOT_SPACE_OR_QUOTE = '[^ "]*'
_LAZY_ANY = ".*?"
_PROTO = '- |[^ "]*'
_PROTO_SPACE = " ?"  # the request's suffix: a space after the protocol, which is not part of it
_TAIL = "(?: .*)?"


class UnsupportedFormat(ValueError):
    """The format uses a regex construct the native parser does not implement."""


def char_class(text: str) -> tuple[npt.NDArray[np.bool_], bool]:
    """A regex character class `[...]`, `[...]*` or `[...]+`, or one literal character, as a table of
    the 256 byte values it matches, and whether it needs one character or more. Bytes from 0x80 up are
    the parts of non-ASCII characters: a negated class matches them all, a positive ASCII class none,
    so matching bytes gives the answer matching characters would."""
    plus = text.endswith("+")
    body = text[:-1] if text.endswith(("*", "+")) else text
    table = np.zeros(256, dtype=np.bool_)
    if len(body) == 1 and body not in "[]()|.*+?\\^$":
        table[ord(body)] = True
        return table, plus
    if not (body.startswith("[") and body.endswith("]")) or "\\" in body:
        raise UnsupportedFormat(f"not a plain character class: {text!r}")
    inner = body[1:-1]
    negated = inner.startswith("^")
    if negated:
        inner = inner[1:]
    i = 0
    while i < len(inner):
        if i + 2 < len(inner) and inner[i + 1] == "-":
            lo, hi = ord(inner[i]), ord(inner[i + 2])
            if lo > hi or hi > 127:
                raise UnsupportedFormat(f"unsupported range in {text!r}")
            table[lo : hi + 1] = True
            i += 3
        else:
            if ord(inner[i]) > 127:
                raise UnsupportedFormat(f"non-ASCII character in {text!r}")
            table[ord(inner[i])] = True
            i += 1
    if negated:
        table = ~table
    # A line never holds its terminators; no class may match them.
    table[ord("\n")] = table[ord("\r")] = False
    return table, plus


@dataclass(frozen=True)
class Program:
    """The format as arrays for the kernel. Per field: kind, first column, class of each part, whether
    a part needs a character, and the optional level the field belongs to (0: always present)."""

    kinds: npt.NDArray[np.int32]
    first_column: npt.NDArray[np.int32]
    level: npt.NDArray[np.int32]
    # Per field, up to three class indexes into `classes` (column classes, or for UNQUOTED_SPLIT:
    # first column, separator, second column), and per field whether each needs a character.
    parts: npt.NDArray[np.int32]
    plus: npt.NDArray[np.bool_]
    classes: npt.NDArray[np.bool_]
    columns: int
    levels: int  # how many optional levels there are
    proto_space: bool = False  # the request may end with a space after the protocol

    def column_levels(self) -> npt.NDArray[np.int64]:
        """The optional level of each column (0: always present)."""
        widths = np.diff(np.append(self.first_column, self.columns))
        return np.repeat(self.level, widths).astype(np.int64)


def _class_index(classes: list[npt.NDArray[np.bool_]], table: npt.NDArray[np.bool_]) -> int:
    for i, known in enumerate(classes):
        if np.array_equal(known, table):
            return i
    classes.append(table)
    return len(classes) - 1


def _excludes(table: npt.NDArray[np.bool_], chars: str) -> bool:
    return not any(table[ord(c)] for c in chars)


@cache
def compile_format(fmt: LogFormat) -> Program:
    # Cached: the engine asks for it when choosing its parser and again when loading the parser.
    if fmt.tail != _TAIL:
        raise UnsupportedFormat(f"tail {fmt.tail!r}")
    classes: list[npt.NDArray[np.bool_]] = []
    kinds, first, levels, parts, plus = [], [], [], [], []
    proto_space = False
    column = 0
    level = 0
    for i, f in enumerate(fmt.fields):
        if f.optional_from is not None:
            level += 1
        kind, field_parts, field_plus = _field(f, classes)
        if kind == REQUEST and (level or i == 0):
            raise UnsupportedFormat("the request must be a required field after the first")
        if f.suffix and not (kind == REQUEST and f.suffix == _PROTO_SPACE):
            raise UnsupportedFormat(f"{f.name}: suffix {f.suffix!r}")
        proto_space = proto_space or (kind == REQUEST and f.suffix == _PROTO_SPACE)
        kinds.append(kind)
        first.append(column)
        levels.append(level)
        parts.append(field_parts + [0] * (3 - len(field_parts)))
        plus.append(field_plus + [False] * (3 - len(field_plus)))
        column += len(f.columns)
    if kinds.count(REQUEST) != 1:
        raise UnsupportedFormat("exactly one request field is expected")
    return Program(
        np.array(kinds, dtype=np.int32),
        np.array(first, dtype=np.int32),
        np.array(levels, dtype=np.int32),
        np.array(parts, dtype=np.int32),
        np.array(plus, dtype=np.bool_),
        np.array(classes, dtype=np.bool_),
        column,
        level,
        proto_space,
    )


def _field(f: LogField, classes: list[npt.NDArray[np.bool_]]) -> tuple[int, list[int], list[bool]]:
    cols = f.columns
    if f.quoted and len(cols) == 3 and cols[1].pattern == _LAZY_ANY and cols[2].pattern == _PROTO:
        if cols[1].sep != " " or cols[2].sep != " ":
            raise UnsupportedFormat(f"{f.name}: request parts must be separated by one space")
        verb, verb_plus = char_class(cols[0].pattern)
        if not _excludes(verb, ' "'):
            raise UnsupportedFormat(f"{f.name}: the verb class must exclude space and quote")
        return REQUEST, [_class_index(classes, verb)], [verb_plus]
    if len(cols) == 1:
        table, needs = char_class(cols[0].pattern)
        if not _excludes(table, '"' if f.quoted else ' "'):
            raise UnsupportedFormat(f"{f.name}: class {cols[0].pattern!r} may hold a separator")
        return (QUOTED if f.quoted else UNQUOTED), [_class_index(classes, table)], [needs]
    if not f.quoted and len(cols) == 2 and cols[0].pattern == _NOT_SPACE_OR_QUOTE:
        sep, _ = char_class(cols[1].sep)
        second, needs = char_class(cols[1].pattern)
        if needs or not _excludes(second, ' "') or np.any(sep & second):
            raise UnsupportedFormat(f"{f.name}: cannot split {cols[1].sep!r} {cols[1].pattern!r} exactly")
        first_table, _ = char_class(_NOT_SPACE_OR_QUOTE)
        indexes = [_class_index(classes, t) for t in (first_table, sep, second)]
        return UNQUOTED_SPLIT, indexes, [False] * 3
    raise UnsupportedFormat(f"{f.name}: unsupported field layout")
