"""Text read from logs, file names or AWS, made safe for each medium it is shown in: a terminal,
markdown, a spreadsheet (CSV) and the HTML report (which also escapes it as HTML).

Control characters (C0, DEL, C1: the escape that starts every terminal sequence among them, OSC 52
clipboard writes and title changes included), the bidirectional controls (U+202A-202E, U+2066-2069 and
the marks U+200E, U+200F, U+061C), which reorder what a reader sees, and the Unicode line separators
(U+2028, U+2029) are shown as Python escapes (\\x1b, \\u202e) in every medium for people: the terminal,
markdown, CSV and the HTML report. JSON is the exact copy: its encoder writes them as \\u escapes.
"""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 control characters (the escape that starts every terminal sequence among them), the
# bidirectional controls that reorder what a reader sees (embeddings, overrides and isolates, and the
# marks LRM, RLM and ALM: the "Trojan Source" set) and the Unicode line and paragraph separators, which
# some readers take as a new line.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_BUT_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
# What markdown (CommonMark and GitHub's) reads as markup anywhere in a line: code, emphasis, links and
# images, raw HTML and autolinks (<...>), entities (&#x202e; would bring an override back), table
# pipes, strikethrough, and the backslash itself.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>&|~!])")
_BACKTICKS = re.compile("`+")
# A spreadsheet takes a cell that starts with one of these as a formula (CSV injection, OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def inert(value: Any, limit: int | None = None) -> str:
    """The value with its control characters shown as escapes (\\x1b), not obeyed, and cut to `limit`
    characters (with "...") when one is given. Rich markup stays literal when printed as Text."""
    text = "" if value is None else str(value)
    if not text.isprintable():  # a fast test: every character escaped here is unprintable
        text = _UNSAFE.sub(_escape, text)
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


def inert_lines(value: Any) -> str:
    """Like inert, but newlines and tabs kept: for text laid out in lines (the report's SQL)."""
    return _UNSAFE_BUT_LINES.sub(_escape, "" if value is None else str(value))


def md_text(value: Any) -> str:
    """A value as literal markdown text, inside a sentence or a table cell: control characters shown
    (a newline would end the row or the paragraph) and every character markdown reads as markup
    backslash-escaped, so no tag, link, image, emphasis, code span or cell boundary comes from it."""
    return _MARKDOWN.sub(r"\\\1", inert(value))


def md_code(value: Any, table: bool = False) -> str:
    """A value as a markdown code span: shown exactly (control characters as escapes), never a link,
    an autolink, HTML or emphasis. The fence is one backtick longer than any run inside the value;
    in a table cell its pipes are escaped (GitHub splits cells on them even inside code)."""
    text = inert(value)
    if not text:
        return ""
    fence = "`" * (max((len(m) for m in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ") else ""
    if table:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def csv_cell(value: Any) -> str:
    """A value made inert for spreadsheets and terminals: control characters shown as escapes, and a
    text that a spreadsheet would take as a formula (it starts with = + - @ tab or CR) gets a leading
    `'`. Numbers (-1, the logs' processing time for "no answer") and the logs' own `-` stay as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return str(value)
    text = inert(value)
    if text.startswith(_FORMULA_START) and text != "-" and not _NUMBER.fullmatch(text):
        return "'" + text
    return text
