"""Formatting results for people (a terminal verdict) and for programs (JSON, CSV, Markdown).

Only results go to stdout; the CLI writes notes and errors to stderr.

On a terminal the text fits the screen's width (Rich measures and wraps it), the verdict comes first
and again last, where it stays on screen after a long table, and it is in colour on a terminal only.
Everything read from the logs is untrusted: it reaches the screen through `inert` and Rich Text
objects, never as markup, so an escape sequence or `[bold]` in a URL prints as the characters it is.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shlex
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TextIO

from alb502athena.arn import target_group
from alb502athena.safetext import csv_cell, inert, md_code, md_text
from alb502athena.sparkline import Timeline, draw, timeline, untimed

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from alb502athena.catalogue import Signature
    from alb502athena.diagnosis import Diagnosis, Finding

FORMATS = ("table", "json", "csv", "markdown")  # what --output takes

PIPED_WIDTH = 100  # the width of text for people when stdout is no terminal and COLUMNS is unset
MIN_WIDTH = 40  # narrower than this nothing reads; the text is laid out for this width and cropped


@dataclass(frozen=True)
class Screen:
    """Where text for people goes: its width in cells, and Rich's colour system (None: plain text,
    no escape codes at all)."""

    width: int = PIPED_WIDTH
    color_system: str | None = None

    @classmethod
    def detect(cls, stream: TextIO | None = None) -> Screen:
        """The terminal's width, or COLUMNS, or PIPED_WIDTH; colour as Rich decides it from the stream
        and the environment (FORCE_COLOR, TERM=dumb), and none at all with NO_COLOR."""
        from rich.console import Console

        stream = stream if stream is not None else sys.stdout
        console = Console(file=stream)
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        width = console.width if tty else _columns() or PIPED_WIDTH
        plain = console.no_color or not console.is_terminal or console.color_system is None
        return cls(max(width, MIN_WIDTH), None if plain else console.color_system)


def _columns() -> int | None:
    try:
        return int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return None


def _console(screen: Screen) -> Console:
    """A console that writes into a string laid out for the screen."""
    from rich.console import Console

    return Console(
        file=io.StringIO(),
        width=screen.width,
        color_system=screen.color_system,  # type: ignore[arg-type]
        force_terminal=screen.color_system is not None,
        no_color=False,  # decided in Screen.detect
        markup=False,
        emoji=False,
        highlight=False,
        legacy_windows=False,
    )


def _written(console: Console) -> str:
    out = console.file.getvalue()  # type: ignore[attr-defined]
    text: str = out if console.color_system else "\n".join(line.rstrip() for line in out.split("\n"))
    return text


def _text(value: Any, style: str = "") -> Text:
    from rich.text import Text

    return Text(inert(value), style=style)


def _n(value: int) -> str:
    return f"{value:,}"


def _short_time(value: str | None) -> str:
    # 2026-11-20T10:04:05.123456Z -> 2026-11-20 10:04:05
    return value[:19].replace("T", " ") if value else "-"


def _span(d: Diagnosis) -> tuple[str, str] | None:
    """The first and last minute the timelines cover ('yyyy-mm-ddThh:mm')."""
    span = d.span()
    if span is None or span.start is None or span.end is None:
        return None
    last = span.end - timedelta(minutes=1) if span.end - span.start >= timedelta(minutes=1) else span.start
    return span.start.strftime("%Y-%m-%dT%H:%M"), last.strftime("%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class _Trends:
    """The findings' timelines in one set of columns and on one scale, so that rows compare."""

    timeline: Timeline | None
    lines: dict[str, str]
    peak: float
    untimed: int = 0  # 502s whose `time` is not a time: in no column
    untimed_example: str | None = None

    def untimed_note(self, markdown: bool = False) -> str | None:
        """Says that the timelines leave out 502s, how many, and one of their times, escaped (the
        first 16 characters of a log's `time`, control characters shown, markdown marks taken as text)."""
        if not self.untimed:
            return None
        example = inert(self.untimed_example)
        if markdown:
            example = re.sub(r"([\\`*_{}\[\]()#+!|<>~&])", r"\\\1", example)
        return (
            f"{_n(self.untimed)} HTTP 502 with a time that is not a time (such as {example}) are counted, "
            "but in no column of the timelines."
        )


def _trends(d: Diagnosis, width: int) -> _Trends:
    counts = [untimed(f.per_minute) for f in d.findings]
    missing = sum(n for n, _ in counts)
    example = next((e for _, e in counts if e is not None), None)
    span = _span(d)
    if span is None:
        return _Trends(None, {}, 0, missing, example)
    tl = timeline(span[0], span[1], width)
    values = {f.signature.id: tl.values(f.per_minute) for f in d.findings}
    peak = max((v for row in values.values() for v in row), default=0.0)
    return _Trends(tl, {sid: draw(row, peak) for sid, row in values.items()}, peak, missing, example)


def headline(d: Diagnosis) -> str:
    """The verdict's sentence (what most of the 502s are, or that there was nothing to read), then a
    `Warning: ...` line for each share of the input left unread above the threshold (alb502athena.verdict)."""
    return "\n".join(d.verdict().headline_lines())


# Where the 502s came from: the load balancer (app/<name>/<id>) and target group (its ARN) of each.


def _tg_path(arn: str) -> str:
    tg = target_group(arn)
    return tg.path if tg else arn


@dataclass(frozen=True)
class _Names:
    """Short names for the load balancers and target groups of one diagnosis: the name alone where
    no other one in the diagnosis has the same name, else the whole identifier."""

    lbs: dict[str, str]
    tgs: dict[str, str]

    @classmethod
    def of(cls, d: Diagnosis) -> _Names:
        lbs = {s.load_balancer for f in d.findings for s in f.sources if s.load_balancer}
        tgs = {s.target_group for f in d.findings for s in f.sources if s.target_group}

        def short(values: set[str], path: Callable[[str], str]) -> dict[str, str]:
            # app/<name>/<id> and targetgroup/<name>/<id>: the name, else the path, else all of it.
            def name(v: str) -> str:
                parts = path(v).split("/")
                return parts[1] if len(parts) >= 2 else path(v)

            names = Counter(name(v) for v in values)
            paths = Counter(path(v) for v in values)
            return {
                v: name(v) if names[name(v)] == 1 else path(v) if paths[path(v)] == 1 else v for v in values
            }

        return cls(short(lbs, lambda v: v), short(tgs, _tg_path))

    def lb(self, value: str | None) -> str:
        return self.lbs.get(value, value) if value else "-"

    def tg(self, value: str | None) -> str:
        return self.tgs.get(value, value) if value else "-"


def _where(f: Finding, names: _Names, several_lbs: bool) -> str:
    """A finding's target groups (and load balancers, when the logs hold several), with counts when
    there is more than one."""
    if not f.sources:
        return "-"

    def one(s: Any) -> str:
        tg = names.tg(s.target_group)
        return f"{names.lb(s.load_balancer)}: {tg}" if several_lbs else tg

    if len(f.sources) == 1:
        return one(f.sources[0])
    return ", ".join(f"{one(s)} ({_n(s.count)})" for s in f.sources)


def _where_long(f: Finding) -> str:
    """The same, with whole load balancer ids and target group paths: for the detail and tickets."""
    if not f.sources:
        return "not in the logs"
    lbs = {s.load_balancer for s in f.sources}

    def one(s: Any) -> str:
        tg = _tg_path(s.target_group) if s.target_group else "no target group"
        return f"{s.load_balancer or 'no load balancer'} {tg}" if len(lbs) > 1 else tg

    tgs = ", ".join(f"{one(s)} ({_n(s.count)})" if len(f.sources) > 1 else one(s) for s in f.sources)
    if len(lbs) > 1:
        return tgs
    (lb,) = lbs
    return f"{tgs} of {lb or 'a load balancer not named in the logs'}"


def _targets_cell(f: Finding, sep: str = ", ") -> str:
    if f.top_targets:
        return sep.join(f"{t} ({n})" for t, n in f.top_targets[:3])
    return "the Lambda function" if f.signature.id.startswith("lambda-") else "-"


# The terminal


def _table(*columns: tuple[str, dict[str, Any]]) -> Table:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False, padding=(0, 1), header_style="bold")
    for header, options in columns:
        table.add_column(header, **options)
    return table


def _seen(findings: Sequence[Finding]) -> tuple[str, list[str]]:
    """The first-last column: times only when every 502 fell on one day (named in the header)."""
    days = {t[:10] for f in findings for t in (f.first_seen, f.last_seen) if t}
    if len(days) == 1:
        (day,) = days
        cells = [
            f"{(f.first_seen or '')[11:19]}-{(f.last_seen or '')[11:19]}" if f.first_seen else "-"
            for f in findings
        ]
        return f"seen {day}", cells
    return "first - last seen", [
        f"{_short_time(f.first_seen)} - {_short_time(f.last_seen)}" for f in findings
    ]


def _verdict(console: Console, text: str, findings: bool) -> None:
    # The headline, then its warnings, each on a line of its own (inert() would show a newline as \n).
    first, *warnings = text.split("\n")
    console.print(_text(first, "bold red" if findings else "bold green"))
    for warning in warnings:
        console.print(_text(warning, "bold yellow"))


def _command(console: Console, label: str, command: str, indent: int) -> None:
    """A shell command, cut only between words with a backslash, so that it pastes as one command."""
    from rich.padding import Padding
    from rich.text import Text

    words = [shlex.quote(w) for w in shlex.split(command)] if command else []
    lines: list[str] = []
    line = ""
    room = console.width - indent - 2  # two cells for " \"
    for w in words:
        if line and len(line) + 1 + len(w) > room:
            lines.append(line + " \\")
            line = w
        else:
            line = f"{line} {w}" if line else w
    lines.append(line)
    first = Text.assemble((label, "bold"), inert(lines[0]))
    console.print(Padding(first, (0, 0, 0, indent)), overflow="fold")
    for more in lines[1:]:
        console.print(Padding(Text(inert(more)), (0, 0, 0, indent + len(label) + 2)), overflow="fold")


PROSE_WIDTH = 100  # paragraphs wider than this are hard to read, however wide the screen


def _wrapped(console: Console, label: str, text: str, indent: int, hang: int = 0) -> None:
    """A paragraph at `indent`, its wrapped lines `hang` cells further in (an item of a list)."""
    from rich.padding import Padding
    from rich.text import Text

    width = min(console.width, PROSE_WIDTH + indent)
    paragraph = Text.assemble((label, "bold"), inert(text))
    if hang:
        for i, line in enumerate(paragraph.wrap(console, width - indent - hang, overflow="fold")):
            console.print(Padding(line, (0, 0, 0, indent + (hang if i else 0))), width=width)
        return
    console.print(Padding(paragraph, (0, 0, 0, indent)), width=width)


def _detail(console: Console, number: int, f: Finding, rows: str) -> None:
    """A finding explained: a numbered title over what, why, where and next, with a hanging indent."""
    from rich.console import Group
    from rich.text import Text

    sig = f.signature
    width = min(console.width, PROSE_WIDTH + 3)
    lines = [Text.assemble((f"{sig.id} ({_n(f.count)}): ", "bold"), inert(sig.title))]
    for label, text in (
        ("Where: ", _where_long(f)),
        ("Why: ", sig.evidence),
        ("Metric: ", sig.metric),
        ("Next: ", f.remediation),
    ):
        lines.append(Text.assemble((label, "bold"), inert(text)))
    grid = _table(("", {"no_wrap": True, "width": 3}), ("", {"overflow": "fold"}))
    grid.show_header = False
    grid.padding = (0, 0)
    grid.add_row(Text(f"{number}."), Group(*lines))
    console.print(grid, width=width)
    _command(console, "Rows: ", rows, 3)
    console.print()


DETAILED = 3  # findings explained in full on a terminal; the rest are one table row each


def diagnosis_table(
    d: Diagnosis, screen: Screen | None = None, rows_hint: str = "alb502 run {id} ..."
) -> str:
    screen = screen or Screen.detect()
    console = _console(screen)
    t = d.totals
    w = d.params.window.as_json()
    window = f"{w['start']} .. {w['end']}" if w["start"] else "all lines in the files given"
    console.print(_text(f"ALB 502 diagnosis ({d.engine} engine), window: {window}", "bold"))
    for line in (
        f"{_n(t.lines)} lines read, {_n(t.unparsed_lines)} unparsed, {_n(t.requests)} requests in the window",
        f"{_n(t.elb_502)} HTTP 502: {_n(t.lb_generated_502)} generated by the load balancer, "
        f"{_n(t.target_generated_502)} passed on from targets",
    ):
        _wrapped(console, "", line, 2)
    lbs = d.load_balancers()
    if len(lbs) == 1:
        _wrapped(console, "", f"load balancer {lbs[0][0] or 'not named in the logs'}", 2)
    elif lbs:
        _wrapped(console, "", "load balancers: " + ", ".join(f"{lb or '-'} ({_n(n)})" for lb, n in lbs), 2)
    console.print()
    if not d.findings:
        # "No HTTP 502" in green only when requests were read; nothing to diagnose is no all-clear.
        _verdict(console, headline(d), findings=d.verdict().status != "no_502")
        for line in d.verdict().details:
            _wrapped(console, "", line, 2)
        return _written(console)
    _verdict(console, headline(d), findings=True)
    console.print()
    _findings_table(console, d, several_lbs=len(lbs) > 1)
    verdicts = [
        (f.signature.id, (d.evidence or {}).get(f.signature.id, {}).get("verdict")) for f in d.findings
    ]
    if any(v for _, v in verdicts):
        console.print(_text("Evidence from CloudWatch and the configuration:", "bold"))
        for sid, v in verdicts:
            if v:
                _wrapped(console, f"{sid}: ", str(v), 2, hang=2)
        console.print()
    if d.correlations:
        console.print(
            _text("502s after DeregisterTargets (CloudTrail), within the deregistration delay:", "bold")
        )
        for c in d.correlations:
            _wrapped(
                console,
                "",
                f"{_n(c['elb_502'])} on {c['target']} after {_short_time(c['event_time'])} by {c['who']} "
                f"(delay {c['deregistration_delay_seconds']} s)",
                2,
                hang=2,
            )
        console.print()
    for i, f in enumerate(d.findings[:DETAILED], 1):
        _detail(console, i, f, rows_hint.format(id=f.signature.id))
    if len(d.findings) > DETAILED:
        console.print(_text("The other signatures: alb502 list, and the same run command with their id."))
        console.print()
    # Again at the end: after a long table the first lines have scrolled away.
    _verdict(console, "Verdict: " + headline(d), findings=True)
    return _written(console)


def _findings_table(console: Console, d: Diagnosis, several_lbs: bool) -> None:
    """One row per finding; on a narrow screen, where the 502s came from is a second table."""
    from rich.text import Text

    width = console.width
    trends = _trends(d, 24 if width >= 120 else 12)
    seen_header, seen = _seen(d.findings)
    names = _Names.of(d)
    total = d.totals.elb_502
    bucket = trends.timeline.label if trends.timeline else "minute"
    fixed: list[tuple[str, dict[str, Any], list[str]]] = [
        ("502s", {"justify": "right"}, [_n(f.count) for f in d.findings]),
        ("share", {"justify": "right"}, [f"{100 * f.count / total:.0f}%" for f in d.findings]),
        ("signature", {}, [f.signature.id for f in d.findings]),
        ("source", {}, [f.signature.source for f in d.findings]),
        (f"per {bucket}", {"style": "red"}, [trends.lines.get(f.signature.id, "") for f in d.findings]),
        (seen_header, {}, seen),
    ]
    where = [_where(f, names, several_lbs) for f in d.findings]

    def natural(header: str, cells: list[str]) -> int:
        return max(len(header), *(len(c) for c in cells))

    def needed(cols: Sequence[tuple[str, dict[str, Any], list[str]]]) -> int:
        return sum(natural(h, c) + 2 for h, _, c in cols)

    tg_width = min(natural("target group", where), 30)
    targets_width = natural("top targets", [_targets_cell(f) for f in d.findings])
    if needed(fixed) + tg_width + 2 + targets_width > width:
        # Targets on one line each read better than the source: the signature's name says it.
        fixed = [c for c in fixed if c[0] != "source"]
    single = needed(fixed) + tg_width + 2 + 30 <= width
    # In a narrow column a list of targets reads best one a line, never cut inside "ip:port (n)".
    targets = [_targets_cell(f, ", " if single else "\n") for f in d.findings]
    columns = [*fixed, ("target group", {}, where), ("top targets", {}, targets)] if single else fixed
    table = _table(
        *(
            (h, {"no_wrap": h not in ("target group", "top targets"), "overflow": "fold", **o})
            for h, o, _ in columns
        )
    )
    for i in range(len(d.findings)):
        table.add_row(*(_text(c[i]) for _, _, c in columns))
    console.print(table)
    if trends.timeline is not None:
        tl = trends.timeline
        end = tl.start + timedelta(minutes=tl.minutes - 1)
        until = f"{end:%H:%M}" if end.date() == tl.start.date() else f"{end:%Y-%m-%d %H:%M}"
        _wrapped(
            console,
            "",
            f"{tl.label} a column, {tl.start:%Y-%m-%d %H:%M} to {until} UTC, one scale: "
            f"█ = {trends.peak:,.0f} 502s",
            0,
        )
    note = trends.untimed_note()
    if note:
        _wrapped(console, "", note, 0)
    if not single:
        console.print()
        where_table = _table(
            ("signature", {"no_wrap": True}),
            ("target group", {"overflow": "fold"}),
            ("top targets", {"overflow": "fold"}),
        )
        for f, wh, tg in zip(d.findings, where, targets, strict=True):
            where_table.add_row(
                _text(f.signature.id), _text(wh), Text("\n").join(_text(t) for t in tg.split("\n"))
            )
        console.print(where_table)
    console.print()


def diagnosis_json(d: Diagnosis) -> str:
    return json.dumps(d.as_json(), indent=2) + "\n"


_CSV_HEADERS = [
    "id",
    "source",
    "count",
    "first_seen",
    "last_seen",
    "top_target",
    "top_target_count",
    "title",
    "load_balancer",
    "target_group",
]


def _csv_sources(f: Finding, field: str) -> str:
    """One value, or several as 'value=count' joined by '; ' (a finding that spans several)."""
    counts: Counter[str] = Counter()
    for s in f.sources:
        counts[getattr(s, field) or ""] += s.count
    if len(counts) <= 1:
        return next(iter(counts), "")
    return "; ".join(f"{v}={n}" for v, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _diagnosis_records(d: Diagnosis) -> list[list[str]]:
    return [
        [
            f.signature.id,
            f.signature.source,
            str(f.count),
            f.first_seen or "",
            f.last_seen or "",
            f.top_targets[0][0] if f.top_targets else "",
            str(f.top_targets[0][1]) if f.top_targets else "",
            f.signature.title,
            _csv_sources(f, "load_balancer"),
            _csv_sources(f, "target_group"),
        ]
        for f in d.findings
    ]


def diagnosis_csv(d: Diagnosis) -> str:
    return rows_csv(_CSV_HEADERS, _diagnosis_records(d))


def diagnosis_markdown(d: Diagnosis) -> str:
    """A summary ready to paste into an incident ticket."""
    t = d.totals
    w = d.params.window.as_json()
    window = f"{w['start']} to {w['end']}" if w["start"] else "all lines of the files given"
    lbs = d.load_balancers()
    where = ""
    if len(lbs) == 1:
        where = f" Load balancer {md_code(lbs[0][0] or '-')}."
    elif lbs:
        where = " Load balancers: " + ", ".join(f"{md_code(lb or '-')} ({_n(n)})" for lb, n in lbs) + "."
    out = [
        f"### ALB HTTP 502: {md_text(d.verdict().headline)}",
        "",
        # Each warning a paragraph of its own: consecutive lines would join into one in markdown.
        *(line for w in d.verdict().warnings for line in (f"**Warning:** {md_text(w)}", "")),
        f"**{_n(t.elb_502)} HTTP 502** in {_n(t.requests)} requests ({window}; {_n(t.lines)} lines read, "
        f"{_n(t.unparsed_lines)} unparsed). {_n(t.lb_generated_502)} generated by the load balancer, "
        f"{_n(t.target_generated_502)} passed on from targets.{where}",
        "",
    ]
    if d.findings:
        trends = _trends(d, 24)
        names = _Names.of(d)
        bucket = trends.timeline.label if trends.timeline else "minute"
        rows = [
            [
                f"`{f.signature.id}`",
                _n(f.count),
                f"{100 * f.count / t.elb_502:.0f}%",
                f"`{trends.lines.get(f.signature.id, '')}`",  # a code span keeps the blanks: "no 502 then"
                md_text(_short_time(f.first_seen)),
                md_text(_short_time(f.last_seen)),
                md_code(_where(f, names, len(lbs) > 1), table=True),
                md_code(_targets_cell(f), table=True) if f.top_targets else _targets_cell(f),
            ]
            for f in d.findings
        ]
        out.append(
            _markdown_table(
                [
                    "signature",
                    "502s",
                    "share",
                    f"per {bucket}",
                    "first seen",
                    "last seen",
                    "target group",
                    "top targets",
                ],
                rows,
            )
        )
        if trends.timeline is not None:
            out.append(
                f"One scale for all rows, {trends.timeline.label} a column: █ = {trends.peak:,.0f} 502s."
            )
            out.append("")
        note = trends.untimed_note(markdown=True)
        if note:
            out += [note, ""]
        out.append("**Next steps**")
        out.append("")
        for i, f in enumerate(d.findings, 1):
            verdict = (d.evidence or {}).get(f.signature.id, {}).get("verdict")
            evidence = f" Evidence: {md_text(verdict)}." if verdict else ""
            out.append(f"{i}. **{f.signature.id}** ({_n(f.count)}): {f.remediation}{evidence}")
        out.append("")
    if not d.findings:
        details = d.verdict().details
        out += [*(f"- {md_text(line)}" for line in details), *([""] if details else [])]
    if d.correlations:
        out.append("**502s after DeregisterTargets**")
        out.append("")
        out += [
            f"- {_n(c['elb_502'])} on {md_code(c['target'])} after {md_text(_short_time(c['event_time']))} "
            f"by {md_code(c['who'])}"
            for c in d.correlations
        ]
        out.append("")
    return "\n".join(out)


def render_diagnosis(
    d: Diagnosis, fmt: str, rows_hint: str = "alb502 run {id} ...", screen: Screen | None = None
) -> str:
    if fmt == "json":
        return diagnosis_json(d)
    if fmt == "csv":
        return diagnosis_csv(d)
    if fmt == "markdown":
        return diagnosis_markdown(d)
    return diagnosis_table(d, screen, rows_hint=rows_hint)


def rows_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """CSV as OWASP advises against formula injection: every field quoted (a spreadsheet that splits
    on another separator, `;` in many locales, cannot start a new cell inside one), and each value
    through csv_cell (a would-be formula gets a leading `'`, control characters are shown)."""
    return csv_header(columns) + csv_rows(rows)


def csv_header(columns: Sequence[str]) -> str:
    return csv_rows([columns])


def csv_rows(rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerows([csv_cell(v) for v in r] for r in rows)
    return buf.getvalue()


def rows_markdown(columns: Sequence[str], rows: Sequence[Sequence[Any]], code: bool = False) -> str:
    """A markdown table. Every value is shown as it is, never as markup: as escaped text, or as a code
    span with `code` (values read from the logs: no autolink, no HTML, exactly their characters)."""
    return markdown_header(columns) + markdown_rows(rows, code)


def markdown_header(columns: Sequence[str]) -> str:
    return "| " + " | ".join(columns) + " |\n" + "|" + "---|" * len(columns) + "\n"


def markdown_rows(rows: Iterable[Sequence[Any]], code: bool = False) -> str:
    def esc(v: Any) -> str:
        if v is None:
            return ""
        return md_code(v, table=True) if code else md_text(v)

    return "".join("| " + " | ".join(esc(v) for v in r) + " |\n" for r in rows)


def _markdown_table(columns: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    """A table of cells already written as markdown (each value escaped or a code span)."""
    return markdown_header(columns) + "".join("| " + " | ".join(r) + " |\n" for r in cells)


SHORT_CELL = 40  # a column no wider than this (times, addresses, trace ids) is never shortened
LONG_CELL_MIN = 16  # a long column (URLs, ARNs, user agents) is shortened to no less than this


def _fit(widths: Sequence[int], room: int) -> list[int] | None:
    """Column widths that fit `room` cells (gaps included): long columns shortened, the widest first,
    short ones kept; None when even that does not fit."""
    gaps = 2 * (len(widths) - 1)
    if sum(widths) + gaps <= room:
        return list(widths)
    fixed = sum(w for w in widths if w <= SHORT_CELL)
    long = [w for w in widths if w > SHORT_CELL]
    if fixed + gaps + LONG_CELL_MIN * len(long) > room:
        return None
    cap = max(widths)
    while sum(min(w, cap) for w in long) > room - fixed - gaps:
        cap -= 1
    return [w if w <= SHORT_CELL else min(w, cap) for w in widths]


def _rows_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], screen: Screen, first: int | None = None
) -> str:
    """Rows for people: one line per row when that fits (long values shortened with an ellipsis, and
    said so), else one block per row; then the values every row shares, said once, at the end, where
    they stay on screen after many rows. `first`: the number of the first row, when these are a page
    of a longer result."""
    from rich.cells import cell_len
    from rich.rule import Rule
    from rich.text import Text

    console = _console(screen)
    cells: list[list[str | None]] = [[None if v is None else inert(v) for v in r] for r in rows]
    same = [i for i in range(len(columns)) if len(rows) > 1 and len({r[i] for r in cells}) == 1]
    varying = [i for i in range(len(columns)) if i not in same]

    def value(v: str | None) -> Text:
        # A missing value (SQL NULL), an empty string and the "-" the logs write are three things.
        return Text("NULL" if v is None else "(empty)", style="dim") if not v else Text(v)

    natural = [max(cell_len(columns[i]), *(cell_len(r[i] or "(empty)") for r in cells)) for i in varying]
    widths = _fit(natural, screen.width)
    short: list[str] = []
    if widths is not None:
        table = _table(
            *(
                (columns[i], {"no_wrap": True, "overflow": "ellipsis", "width": w})
                for i, w in zip(varying, widths, strict=True)
            )
        )
        for r in cells:
            table.add_row(*(value(r[i]) for i in varying))
        console.print(table)
        short = [columns[i] for i, w, n in zip(varying, widths, natural, strict=True) if w < n]
    else:
        key = max(cell_len(columns[i]) for i in varying)
        for n, r in enumerate(cells, 1):
            label = f"{n} of {len(cells)}" if first is None else f"row {first + n - 1:,}"
            console.print(Rule(Text(label), align="left", characters="-"))
            block = _table(("", {"no_wrap": True, "style": "bold", "width": key}), ("", {"overflow": "fold"}))
            block.show_header = False
            for i in varying:
                block.add_row(_text(columns[i]), value(r[i]))
            console.print(block)
    if same:
        console.print()
        console.print(_text(f"The same in all {len(rows)} rows above:", "bold"))
        grid = _table(("", {"no_wrap": True, "style": "bold"}), ("", {"overflow": "fold"}))
        grid.show_header = False
        for i in same:
            grid.add_row(_text(columns[i]), value(cells[0][i]))
        console.print(grid)
    if short:
        console.print()
        _wrapped(
            console,
            "",
            f"Shortened to fit {screen.width} columns (…): {', '.join(short)}; "
            "--output csv or json shows every value whole.",
            0,
        )
    return _written(console)


def render_rows(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, screen: Screen | None = None
) -> str:
    out: list[str] = []
    write_rows(columns, [rows], fmt, out.append, screen)
    return "".join(out)


TABLE_PAGE = 1_000  # rows laid out together on a terminal when a result is longer than this


def write_rows(
    columns: Sequence[str],
    batches: Iterable[Sequence[Sequence[Any]]],
    fmt: str,
    write: Callable[[str], None],
    screen: Screen | None = None,
) -> int:
    """Rows as they come, batch after batch, written as they are formatted (memory holds a batch, or a
    page of the terminal's table); the number of rows written. The text is the same as for all rows
    at once, except that a terminal table longer than TABLE_PAGE rows is laid out a page at a time."""
    count = 0
    if fmt == "json":
        for batch in batches:
            for r in batch:
                row = json.dumps(dict(zip(columns, r, strict=True)), indent=2, default=str)
                write(("[\n" if count == 0 else ",\n") + "  " + row.replace("\n", "\n  "))
                count += 1
        write("\n]\n" if count else "[]\n")
        return count
    if fmt in ("csv", "markdown"):
        write(csv_header(columns) if fmt == "csv" else markdown_header(columns))
        for batch in batches:
            write(csv_rows(batch) if fmt == "csv" else markdown_rows(batch, code=True))
            count += len(batch)
        return count
    screen = screen or Screen.detect()
    page: list[Sequence[Any]] = []
    paged = False
    for batch in batches:
        page.extend(batch)
        while len(page) > TABLE_PAGE:
            write(_rows_table(columns, page[:TABLE_PAGE], screen, first=count + 1))
            count += TABLE_PAGE
            page = page[TABLE_PAGE:]
            paged = True
    if page:
        write(_rows_table(columns, page, screen, first=count + 1 if paged else None))
        count += len(page)
    elif not count:
        write("No matching rows.\n")
    return count


def render_catalogue(signatures: Sequence[Signature], fmt: str, screen: Screen | None = None) -> str:
    if fmt == "json":
        return json.dumps([s.as_json() for s in signatures], indent=2) + "\n"
    columns = ["id", "source", "title", "metric"]
    rows = [[s.id, s.source, s.title, s.metric] for s in signatures]
    if fmt == "csv":
        return rows_csv(columns, rows)
    if fmt == "markdown":
        return rows_markdown(columns, rows)
    console = _console(screen or Screen.detect())
    table = _table(("id", {"no_wrap": True}), ("source", {"no_wrap": True}), ("title", {}))
    for r in rows:
        table.add_row(*(_text(c) for c in r[:3]))
    console.print(table)
    return _written(console)
