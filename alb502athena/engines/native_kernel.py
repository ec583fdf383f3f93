"""The native parser: compiled with numba, it splits a buffer into lines and matches each against the
format program (native_program.py), writing every column as an Arrow string view into the buffer.

Lines end at \\n, \\r\\n or a lone \\r, and an empty line is a row, as Hadoop's line reader (Athena,
Trino) has it. A line that does not match is a row whose every column is NULL (Hive's RegexSerDe).
Compiled code is cached on disk by numba, so only the first run pays for compiling.
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np

from alb502athena.engines.native_program import QUOTED, REQUEST, UNQUOTED, UNQUOTED_SPLIT

_NL = 10
_CR = 13
_SPACE = 32
_QUOTE = 34
_DASH = 45


@nb.njit(cache=True, nogil=True)
def _ends(buf: Any, n: int, pos: int) -> bool:
    # Written with an early return: numba compiles the `or` chain form to far slower code.
    if pos >= n:
        return True
    b = buf[pos]
    return b == _NL or b == _CR


@nb.njit(cache=True, nogil=True)
def _field(buf: Any, n: int, pos: int, fi: int, kinds: Any, first: Any, parts: Any, plus: Any,
           classes: Any, spans: Any) -> int:
    """Match field `fi` at `pos`; the end position, or -1."""
    kind = kinds[fi]
    col = first[fi]
    if kind == UNQUOTED:
        c = parts[fi, 0]
        s = pos
        while pos < n and classes[c, buf[pos]]:
            pos += 1
        if plus[fi, 0] and pos == s:
            return -1
        spans[col, 0] = s
        spans[col, 1] = pos
        return pos
    if kind == QUOTED:
        if pos >= n or buf[pos] != _QUOTE:
            return -1
        pos += 1
        c = parts[fi, 0]
        s = pos
        while pos < n and classes[c, buf[pos]]:
            pos += 1
        if (plus[fi, 0] and pos == s) or pos >= n or buf[pos] != _QUOTE:
            return -1
        spans[col, 0] = s
        spans[col, 1] = pos
        return pos + 1
    if kind == UNQUOTED_SPLIT:
        # [^ "]*, a separator, a class without the separator: the split is at the separator right
        # before the longest run of the second class that ends the field (the greedy regex's choice).
        s = pos
        c_any = parts[fi, 0]
        while pos < n and classes[c_any, buf[pos]]:
            pos += 1
        m = pos
        c2 = parts[fi, 2]
        while m > s and classes[c2, buf[m - 1]]:
            m -= 1
        if m == s or not classes[parts[fi, 1], buf[m - 1]]:
            return -1
        spans[col, 0] = s
        spans[col, 1] = m - 1
        spans[col + 1, 0] = m
        spans[col + 1, 1] = pos
        return pos
    return -1


@nb.njit(cache=True, nogil=True)
def _rest(buf: Any, n: int, pos: int, start_field: int, kinds: Any, first: Any, level: Any,
          parts: Any, plus: Any, classes: Any, spans: Any, levels: int) -> tuple[int, int]:
    """Match the fields from `start_field` to the end of the line: the required ones, the optional
    levels greedily, then the free tail. (line end, optional levels taken), or (-1, 0)."""
    nf = kinds.shape[0]
    fi = start_field
    while fi < nf and level[fi] == 0:
        if pos >= n or buf[pos] != _SPACE:
            return -1, 0
        pos = _field(buf, n, pos + 1, fi, kinds, first, parts, plus, classes, spans)
        if pos < 0:
            return -1, 0
        fi += 1
    taken = 0
    for lv in range(1, levels + 1):
        q = pos
        while fi < nf and level[fi] == lv:
            if q < 0 or q >= n or buf[q] != _SPACE:
                q = -1
            else:
                q = _field(buf, n, q + 1, fi, kinds, first, parts, plus, classes, spans)
            fi += 1
        # Taken only if what follows can still be matched: the next level and the tail both start
        # with a space, so that is the end of the line or a space.
        if q < 0 or not (_ends(buf, n, q) or buf[q] == _SPACE):
            break
        pos = q
        taken = lv
    if _ends(buf, n, pos):
        return pos, taken
    if buf[pos] != _SPACE:
        return -1, 0
    while not _ends(buf, n, pos):
        pos += 1
    return pos, taken


@nb.njit(cache=True, nogil=True)
def _line(buf: Any, n: int, pos: int, kinds: Any, first: Any, level: Any, parts: Any, plus: Any,
          classes: Any, spans: Any, levels: int, request: int) -> tuple[int, int]:
    """Match one line starting at `pos`: (line end, optional levels taken), or (-1, 0)."""
    for fi in range(request):
        if fi > 0:
            if pos >= n or buf[pos] != _SPACE:
                return -1, 0
            pos += 1
        pos = _field(buf, n, pos, fi, kinds, first, parts, plus, classes, spans)
        if pos < 0:
            return -1, 0
    # The request: "verb url proto". The URL is lazy: try its ends from the shortest.
    if pos + 1 >= n or buf[pos] != _SPACE or buf[pos + 1] != _QUOTE:
        return -1, 0
    pos += 2
    col = first[request]
    c = parts[request, 0]
    s = pos
    while pos < n and classes[c, buf[pos]]:
        pos += 1
    if (plus[request, 0] and pos == s) or pos >= n or buf[pos] != _SPACE:
        return -1, 0
    spans[col, 0] = s
    spans[col, 1] = pos
    url = pos + 1
    e = url
    while True:
        while not _ends(buf, n, e) and buf[e] != _SPACE:
            e += 1
        if _ends(buf, n, e):
            return -1, 0
        q = e + 1
        ok = False
        if q + 2 < n and buf[q] == _DASH and buf[q + 1] == _SPACE:
            if buf[q + 2] == _QUOTE:
                spans[col + 2, 0] = q
                spans[col + 2, 1] = q + 2
                q += 3
                ok = True
        else:
            s2 = q
            while q < n and buf[q] != _SPACE and buf[q] != _QUOTE and buf[q] != _NL and buf[q] != _CR:
                q += 1
            if q < n and buf[q] == _QUOTE:
                spans[col + 2, 0] = s2
                spans[col + 2, 1] = q
                q += 1
                ok = True
        if ok:
            end, taken = _rest(buf, n, q, request + 1, kinds, first, level, parts, plus, classes, spans,
                               levels)
            if end >= 0:
                spans[col + 1, 0] = url
                spans[col + 1, 1] = e
                return end, taken
        e += 1


@nb.njit(cache=True, nogil=True)
def _put(views: Any, words: Any, valid: Any, col: int, row: int, buf: Any, s: int, t: int,
         base: int) -> None:
    length = t - s
    words[col, row, 0] = length
    if length <= 12:
        for k in range(length):
            views[col, row, 4 + k] = buf[s + k]
        for k in range(length, 12):
            views[col, row, 4 + k] = 0
    else:
        for k in range(4):
            views[col, row, 4 + k] = buf[s + k]
        words[col, row, 2] = 0
        words[col, row, 3] = s - base
    valid[col, row >> 3] |= np.uint8(1 << (row & 7))


@nb.njit(cache=True, nogil=True)
def parse(buf: Any, start: int, n: int, kinds: Any, first: Any, level: Any, parts: Any, plus: Any,
          classes: Any, levels: int, request: int, views: Any, valid: Any, parsed: Any) -> tuple[int, int]:
    """Parse lines of buf[start:n] into rows of `views` (columns x rows x 16 bytes: Arrow string views
    into buf) until the rows or the buffer run out. `valid` (columns x rows/8) must be zero on
    entry. (rows written, position of the next line)."""
    ncols = views.shape[0]
    cap = views.shape[1]
    words = views.view(np.int32)
    spans = np.zeros((ncols, 2), dtype=np.int64)
    row = 0
    pos = start
    nf = kinds.shape[0]
    while pos < n and row < cap:
        end, taken = _line(buf, n, pos, kinds, first, level, parts, plus, classes, spans, levels, request)
        if end >= 0:
            parsed[row] = True
            for fi in range(nf):
                if level[fi] > taken:
                    break
                last = first[fi + 1] if fi + 1 < nf else ncols
                for col in range(first[fi], last):
                    _put(views, words, valid, col, row, buf, spans[col, 0], spans[col, 1], 0)
        else:
            parsed[row] = False
            end = pos
            while not _ends(buf, n, end):
                end += 1
        row += 1
        pos = end + 1
        if end < n and buf[end] == _CR and pos < n and buf[pos] == _NL:
            pos += 1
    return row, pos
