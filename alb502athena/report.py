"""The incident report: one self-contained HTML file (inline CSS and SVG, nothing from the network)
with the verdict, a per-minute timeline stacked by signature, and per signature its evidence, top
targets, sample requests, remediation and the Athena SQL that reproduces it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2

from alb502athena import __version__
from alb502athena.diagnosis import Diagnosis, Samples
from alb502athena.output import headline
from alb502athena.render import render_signature

# Colour-blind-safe palette (Okabe-Ito), one colour per signature in catalogue order.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999", "#000000")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 900, 260, 48, 36, 12
METRIC_COLOURS = {"HTTPCode_ELB_502_Count": "#000000", "TargetConnectionErrorCount": "#7f3fbf"}
SAMPLE_COLUMNS = (
    "time", "target_ip", "target_port", "request_verb", "request_url", "lambda_error_reason", "trace_id",
)  # fmt: skip


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    minute: str


def _minutes(d: Diagnosis) -> list[str]:
    w = d.params.window
    if w.start is not None and w.end is not None:
        first, last = w.start.replace(second=0, microsecond=0, tzinfo=None), w.end.replace(tzinfo=None)
    else:
        seen = [m for f in d.findings for m, _ in f.per_minute]
        if not seen:
            return []
        first, last = (
            datetime.strptime(min(seen), "%Y-%m-%dT%H:%M"),
            datetime.strptime(max(seen), "%Y-%m-%dT%H:%M"),
        )
        last += timedelta(minutes=1)
    out: list[str] = []
    t = first
    while t < last and len(out) < 24 * 60 * 7:  # a week of minutes at most on one axis
        out.append(t.strftime("%Y-%m-%dT%H:%M"))
        t += timedelta(minutes=1)
    return out


def chart(d: Diagnosis) -> dict[str, Any]:
    """Geometry of the stacked timeline: bars per signature, axis ticks, event markers."""
    minutes = _minutes(d)
    if not minutes:
        return {
            "series": [],
            "lines": [],
            "ticks": [],
            "events": [],
            "ymax": 0,
            "width": WIDTH,
            "height": HEIGHT,
        }
    index = {m: i for i, m in enumerate(minutes)}
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
    every = max(1, len(minutes) // 8)
    ticks = [
        {"x": LEFT + i * step, "label": m[11:16] if i else m.replace("T", " ")}
        for i, m in enumerate(minutes)
        if i % every == 0
    ]
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
        "ticks": ticks,
        "events": events,
        "ymax": ymax,
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "top": TOP,
        "plot_h": plot_h,
        "plot_w": plot_w,
    }


def write_report(d: Diagnosis, path: Path, samples: Samples) -> None:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    sections = []
    for f in d.findings:
        all_columns, all_rows = samples.get(f.signature.id, ([], []))
        # A few columns that identify a request; the full rows are one `alb502 run` away.
        keep = [i for i, c in enumerate(all_columns) if c in SAMPLE_COLUMNS]
        columns = [all_columns[i] for i in keep]
        rows = [tuple(r[i] for i in keep) for r in all_rows]
        sections.append(
            {
                "finding": f,
                "verdict": (d.evidence or {}).get(f.signature.id, {}).get("verdict"),
                "sql": render_signature(f.signature.id, d.params),
                "sample_columns": columns,
                "sample_rows": rows[:5],
            }
        )
    html = env.get_template("report.html.j2").render(
        d=d,
        headline=headline(d),
        chart=chart(d),
        sections=sections,
        window=d.params.window.as_json(),
        version=__version__,
    )
    path.write_text(html, encoding="utf-8")
