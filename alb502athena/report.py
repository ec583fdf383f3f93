"""The incident report: one self-contained HTML file (inline CSS and SVG, nothing from the network)
with the verdict, a per-minute timeline stacked by signature, and per signature its evidence, where
its 502s came from, top targets, sample requests, remediation and the Athena SQL that reproduces it."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from alb502athena import __version__
from alb502athena.arn import target_group
from alb502athena.diagnosis import Diagnosis, Samples
from alb502athena.inputs import FILE
from alb502athena.objectname import KIND_LABELS
from alb502athena.render import render_macro, render_signature
from alb502athena.safetext import inert_lines
from alb502athena.sparkline import minute_of
from alb502athena.window import Window

# Colour-blind-safe palette (Okabe-Ito), one colour per signature in catalogue order.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999", "#000000")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 900, 276, 48, 50, 12
METRIC_COLOURS = {"HTTPCode_ELB_502_Count": "#000000", "TargetConnectionErrorCount": "#7f3fbf"}
SAMPLE_COLUMNS = (
    "time", "target_ip", "target_port", "request_verb", "request_url", "lambda_error_reason", "trace_id",
)  # fmt: skip
# Tick spacings in minutes, all dividing a day: the first that gives at most MAX_TICKS ticks is used.
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)
MAX_TICKS = 10
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


def markdown(text: str | None) -> Markup:
    """The catalogue's inline markdown (`code` and **bold**) as HTML. The text is escaped first, so
    only these two marks become tags and anything else, log data included, stays text."""
    if not text:
        return Markup("")
    # Code spans first, kept aside so that ** inside them stays literal; NUL marks where they go.
    parts = _CODE.split(str(escape(inert_lines(text))))
    codes = parts[1::2]
    body = "\0".join(parts[0::2])
    body = _BOLD.sub(r"<strong>\1</strong>", body)
    pieces = body.split("\0")
    out = [pieces[0]]
    for code, rest in zip(codes, pieces[1:], strict=True):
        out += [f"<code>{code}</code>", rest]
    return Markup("".join(out))


@dataclass(frozen=True)
class Scope:
    """What the report is about, for its title: the load balancers, accounts and regions the 502s came
    from, and the time span (the window, or the whole minutes from the first to the last 502)."""

    load_balancers: list[str]
    accounts: list[str]
    regions: list[str]
    span: Window | None
    span_is_window: bool

    def span_text(self) -> str:
        if self.span is None or self.span.start is None or self.span.end is None:
            return "no time span (nothing found)"
        start, end = self.span.start, self.span.end
        same_day = start.date() == (end - timedelta(microseconds=1)).date()
        to = end.strftime("%H:%M") if same_day else end.strftime("%Y-%m-%d %H:%M")
        return f"{start:%Y-%m-%d %H:%M} to {to} UTC"

    def title(self) -> str:
        lbs = ", ".join(self.load_balancers) or "load balancer not named in the logs"
        accounts = ", ".join(self.accounts) or "account unknown"
        regions = ", ".join(self.regions) or "region unknown"
        return f"{lbs} \u00b7 {accounts} \u00b7 {regions} \u00b7 {self.span_text()}"


def scope(d: Diagnosis) -> Scope:
    counts = {lb: n for lb, n in d.load_balancers() if lb}
    accounts: dict[str, int] = {}
    regions: dict[str, int] = {}
    for f in d.findings:
        for s in f.sources:
            tg = target_group(s.target_group)
            if tg:
                accounts[tg.account] = accounts.get(tg.account, 0) + s.count
                regions[tg.region] = regions.get(tg.region, 0) + s.count
    if not counts and d.params.load_balancer:
        counts[d.params.load_balancer] = 0

    def busiest(c: dict[str, int]) -> list[str]:
        return sorted(c, key=lambda k: (-c[k], k))

    given = d.params.window.start is not None and d.params.window.end is not None
    return Scope(busiest(counts), busiest(accounts), busiest(regions), d.span(), given)


def reproduce_sql(signature_id: str, d: Diagnosis) -> str:
    """A signature's query for the Athena console, always with a window: without one the query would
    read the whole bucket, so the span of the 502s found stands in for it."""
    params = d.params
    if params.window.start is None or params.window.end is None:
        covering = d.span()
        if covering is not None:
            params = replace(params, window=covering)
    return render_signature(signature_id, params)


def split_on_rule(sql: str, rule: str) -> tuple[str, str] | None:
    """The query's text before and after the classification CASE, shown once elsewhere in the report."""
    at = sql.find(rule)
    if at < 0:
        return None
    return sql[:at], sql[at + len(rule) :]


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    minute: str


def _minutes(d: Diagnosis) -> list[datetime]:
    covered = d.span()
    if covered is None or covered.start is None or covered.end is None:
        return []
    first = covered.start.replace(second=0, microsecond=0, tzinfo=None)
    last = covered.end.replace(tzinfo=None)
    out: list[datetime] = []
    t = first
    while t < last and len(out) < 24 * 60 * 7:  # a week of minutes at most on one axis
        out.append(t)
        t += timedelta(minutes=1)
    return out


def ticks(minutes: list[datetime]) -> list[tuple[int, str, str | None]]:
    """(index, HH:MM, date or None) for the minutes on a round time, every 1, 2, 5, ... 60 minutes or
    more as the span needs; the date is under the first tick and under each tick of a new day."""
    if not minutes:
        return []
    step = next((s for s in TICK_STEPS if len(minutes) / s <= MAX_TICKS), TICK_STEPS[-1])
    out: list[tuple[int, str, str | None]] = []
    day = None
    for i, m in enumerate(minutes):
        if (m.hour * 60 + m.minute) % step:
            continue
        date = m.strftime("%Y-%m-%d") if m.date() != day else None
        day = m.date()
        out.append((i, m.strftime("%H:%M"), date))
    return out


def chart(d: Diagnosis) -> dict[str, Any]:
    """Geometry of the stacked timeline: bars per signature, axis ticks, event markers, and the 502s
    drawn nowhere (a time that is not a time, or past the axis's week), with one of those times."""
    minutes = _minutes(d)
    index = {m.strftime("%Y-%m-%dT%H:%M"): i for i, m in enumerate(minutes)}
    untimed = [(m, n) for f in d.findings for m, n in f.per_minute if minute_of(m) is None]
    off_axis = sum(n for f in d.findings for m, n in f.per_minute if m not in index and minute_of(m))
    undrawn = {
        "untimed": sum(n for _, n in untimed),
        "example": untimed[0][0] if untimed else None,
        "off_axis": off_axis,
    }
    if not minutes:
        return {
            "series": [],
            "lines": [],
            "ticks": [],
            "events": [],
            "ymax": 0,
            "width": WIDTH,
            "height": HEIGHT,
            "undrawn": undrawn,
        }
    totals = [0] * len(minutes)
    for f in d.findings:
        for m, n in f.per_minute:
            if m in index:
                totals[index[m]] += n
    metric_points = {
        metric: [(index[m], float(v)) for m, v in points if m in index]
        for metric, points in (d.metric_series or {}).items()
    }
    ymax = max([*totals, *(v for pts in metric_points.values() for _, v in pts)]) or 1
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / len(minutes)
    stacked = [0] * len(minutes)
    series = []
    colours = {sid: PALETTE[i % len(PALETTE)] for i, sid in enumerate(f.signature.id for f in d.findings)}
    for f in d.findings:
        bars = []
        for m, n in f.per_minute:
            if m not in index or n == 0:
                continue
            i = index[m]
            h = n / ymax * plot_h
            y = TOP + plot_h - (stacked[i] / ymax * plot_h) - h
            stacked[i] += n
            bars.append(Bar(LEFT + i * step, y, max(step - 0.5, 0.5), h, n, m))
        series.append(
            {"id": f.signature.id, "colour": colours[f.signature.id], "bars": bars, "count": f.count}
        )
    lines = [
        {
            "metric": metric,
            "colour": METRIC_COLOURS.get(metric, "#444"),
            "points": " ".join(
                f"{LEFT + i * step + step / 2:.1f},{TOP + plot_h - v / ymax * plot_h:.1f}" for i, v in pts
            ),
        }
        for metric, pts in sorted(metric_points.items())
        if pts
    ]
    axis = [{"x": LEFT + i * step, "label": label, "date": date} for i, label, date in ticks(minutes)]
    events = []
    for c in d.correlations or []:
        m = c["event_time"][:16]
        if m in index:
            events.append(
                {"x": LEFT + index[m] * step, "label": f"DeregisterTargets {c['target']} by {c['who']}"}
            )
    return {
        "series": series,
        "lines": lines,
        "ticks": axis,
        "events": events,
        "ymax": ymax,
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "top": TOP,
        "plot_h": plot_h,
        "plot_w": plot_w,
        "undrawn": undrawn,
    }


def _shown(value: Any) -> Any:
    """Every value the template prints, before HTML escaping: control characters and bidirectional
    overrides from the logs shown as escapes (an override would reorder what the reader sees), as on
    the terminal. Markup (the report's own HTML) and numbers pass as they are."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return inert_lines(value)


# The report's own script, inline (the file is self-contained) and allowed by its hash alone: a script
# that escaping let through, or one added to the file later, does not run.
SCRIPT = Path(__file__).with_name("report.js")


def content_security_policy(scripts: list[str]) -> str:
    """Nothing from the network, no plugin, no form, no <base>; inline styles (the chart's colours);
    scripts only those given, by the SHA-256 of their exact text."""
    hashes = [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts]
    allowed = " ".join(hashes) or "'none'"
    return (
        f"default-src 'none'; script-src {allowed}; style-src 'unsafe-inline'; "
        "img-src data:; object-src 'none'; base-uri 'none'; form-action 'none'"
    )


def write_report(d: Diagnosis, path: Path, samples: Samples) -> None:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_shown,
    )
    env.filters["md"] = markdown
    rule = render_macro("signature_of")
    sections = []
    for f in d.findings:
        all_columns, all_rows = samples.get(f.signature.id, ([], []))
        # A few columns that identify a request; the full rows are one `alb502 run` away.
        keep = [i for i, c in enumerate(all_columns) if c in SAMPLE_COLUMNS]
        columns = [all_columns[i] for i in keep]
        rows = [tuple(r[i] for i in keep) for r in all_rows]
        sql = reproduce_sql(f.signature.id, d)
        sources = [
            {"load_balancer": s.load_balancer, "target_group": s.target_group, "count": s.count,
             "name": tg.name if tg else None, "resource": tg.path if tg else s.target_group or ""}
            for s in f.sources
            for tg in [target_group(s.target_group)]
        ]  # fmt: skip
        sections.append(
            {
                "finding": f,
                "verdict": (d.evidence or {}).get(f.signature.id, {}).get("verdict"),
                "sql": sql,
                "sql_parts": split_on_rule(sql, rule),
                "sources": sources,
                "lambda": f.signature.source == "lambda",
                "sample_columns": columns,
                "sample_rows": rows[:5],
            }
        )
    where = scope(d)
    script = SCRIPT.read_text(encoding="utf-8")
    html = env.get_template("report.html.j2").render(
        d=d,
        verdict=d.verdict(),
        scope=where,
        chart=chart(d),
        sections=sections,
        rule=rule,
        window=d.params.window.as_json(),
        bad_files=d.bad_files,
        damaged_files=d.damaged_files,
        unit=d.inputs.unit if d.inputs else FILE,  # "object" for S3's
        # Other ELB logs found next to the access logs (connection, health-check, NLB, Classic): not counted.
        set_aside=[
            (path, KIND_LABELS.get(kind, kind))
            for kind, paths in sorted((d.inputs.set_aside if d.inputs else {}).items())
            for path in paths
        ],
        version=__version__,
        script=Markup(script),
        csp=Markup(content_security_policy([script])),
    )
    path.write_text(html, encoding="utf-8")
