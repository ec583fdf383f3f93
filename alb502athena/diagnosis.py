"""From the diagnosis query's rows to a verdict: totals, then each signature with its evidence."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alb502athena.catalogue import Signature, catalogue, get_signature
from alb502athena.engines.base import Engine, QueryResult, RowStream
from alb502athena.errors import QueryError
from alb502athena.inputs import Inputs
from alb502athena.logformat import log_format
from alb502athena.render import QueryParams, render_diagnosis, render_samples, render_signature
from alb502athena.window import Window, read_log_time

if TYPE_CHECKING:
    from alb502athena.verdict import Verdict

TOP_TARGETS = 5


@dataclass(frozen=True)
class Totals:
    lines: int
    unparsed_lines: int
    requests: int
    elb_502: int
    lb_generated_502: int
    target_generated_502: int


@dataclass(frozen=True)
class Source:
    """Where a signature's 502s came from: the CloudWatch LoadBalancer dimension (the `elb` field) and
    the target group ARN, with the count."""

    load_balancer: str | None
    target_group: str | None
    count: int


@dataclass(frozen=True)
class Finding:
    signature: Signature
    count: int
    first_seen: str | None
    last_seen: str | None
    top_targets: list[tuple[str, int]]
    sources: list[Source] = field(default_factory=list)
    per_minute: list[tuple[str, int]] = field(default_factory=list)  # (yyyy-mm-ddThh:mm, 502s), in order

    @property
    def remediation(self) -> str:
        """The catalogue's remediation, with the busiest target's port filled in where it asks for one."""
        text = self.signature.remediation
        if self.top_targets and "<target port>" in text:
            text = text.replace("<target port>", self.top_targets[0][0].rsplit(":", 1)[-1])
        return text

    def as_json(self) -> dict[str, Any]:
        sig = self.signature
        return {
            "id": sig.id,
            "source": sig.source,
            "count": self.count,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "top_targets": [{"target": t, "count": n} for t, n in self.top_targets],
            "per_minute": [{"minute": m, "count": n} for m, n in self.per_minute],
            "sources": [
                {"load_balancer": s.load_balancer, "target_group": s.target_group, "count": s.count}
                for s in self.sources
            ],
            "title": sig.title,
            "evidence": sig.evidence,
            "metric": sig.metric,
            "remediation": self.remediation,
        }


@dataclass
class Diagnosis:
    engine: str
    params: QueryParams
    totals: Totals
    findings: list[Finding]
    bad_files: list[tuple[str, str]] = field(default_factory=list)
    damaged_files: list[str] = field(default_factory=list)  # of bad_files, those whose readable lines count
    notes: list[str] = field(default_factory=list)
    engine_stats: dict[str, Any] | None = None
    evidence: dict[str, dict[str, Any]] | None = None  # by signature id, when AWS evidence was gathered
    correlations: list[dict[str, Any]] | None = None  # DeregisterTargets events that explain 502s
    metric_series: dict[str, list[list[Any]]] | None = None  # CloudWatch per minute, [[minute, value]]
    inputs: Inputs | None = None  # what the input held besides the counts (alb502athena.inputs.gather)

    def verdict(self) -> Verdict:
        from alb502athena.verdict import verdict

        return verdict(self)

    def span(self) -> Window | None:
        """The window given, else the whole minutes from the first to the last 502 (None without any):
        what the timelines draw and the SQL that finds the 502s again covers."""
        w = self.params.window
        if w.start is not None and w.end is not None:
            return Window(w.start, w.end)
        # Times are log data: one that is no time (or one no window can hold) must not hide the others.
        # A finding's first or last time may be such a value, so its minutes stand in as well.
        times = [
            (moment, t)
            for f in self.findings
            for t in (f.first_seen, f.last_seen, *(m for m, _ in f.per_minute))
            if Window.covering(t, t) is not None and (moment := read_log_time(t)) is not None
        ]
        if not times:
            return None
        return Window.covering(min(times)[1], max(times)[1])

    def load_balancers(self) -> list[tuple[str | None, int]]:
        """The load balancers that logged the 502s, busiest first, with their 502s."""
        counts: dict[str | None, int] = {}
        for f in self.findings:
            for s in f.sources:
                counts[s.load_balancer] = counts.get(s.load_balancer, 0) + s.count
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] or ""))

    def as_json(self) -> dict[str, Any]:
        inputs = self.inputs or Inputs()
        return {
            "verdict": self.verdict().as_json(),
            # Where the logs were read: files on disk, objects straight from S3, or an engine's table.
            "source": "s3" if inputs.s3 is not None else "local" if self.engine == "local" else "table",
            "engine": self.engine,
            "window": self.params.window.as_json(),
            "totals": self.totals.__dict__,
            "signatures": [
                {**f.as_json(), **({"evidence": self.evidence[f.signature.id]} if self.evidence else {})}
                for f in self.findings
            ],
            "bad_files": [
                {"path": p, "reason": r, "lines_counted": p in self.damaged_files} for p, r in self.bad_files
            ],
            "set_aside": inputs.set_aside_json(),
            "unreadable": [{"path": p, "reason": r} for p, r in inputs.unreadable],
            "inputs": inputs.as_json(),
            "notes": list(self.notes),
            **({"engine_stats": self.engine_stats} if self.engine_stats is not None else {}),
            **({"correlations": self.correlations} if self.correlations is not None else {}),
            **({"metric_series": self.metric_series} if self.metric_series is not None else {}),
        }


def _as_int(value: Any) -> int:
    return int(value or 0)


def build(
    engine_name: str, params: QueryParams, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Diagnosis:
    by_name = [dict(zip(columns, r, strict=True)) for r in rows]
    totals_row = next((r for r in by_name if r["level"] == "total"), None)
    if totals_row is None:
        raise QueryError("the diagnosis query returned no totals row")
    per_sig = {r["signature"]: r for r in by_name if r["level"] == "signature" and r["signature"] is not None}
    targets: dict[str, list[tuple[str, int]]] = {}
    for r in by_name:
        if r["level"] == "target" and r["signature"] is not None and r["target"] is not None:
            targets.setdefault(r["signature"], []).append((r["target"], _as_int(r["lines"])))
    minutes: dict[str, list[tuple[str, int]]] = {}
    for r in by_name:
        if r["level"] == "minute" and r["signature"] is not None and r["minute"] is not None:
            minutes.setdefault(r["signature"], []).append((r["minute"], _as_int(r["lines"])))
    sources: dict[str, list[Source]] = {}
    for r in by_name:
        if r["level"] == "source" and r["signature"] is not None:
            src = Source(r["load_balancer"], r["target_group"], _as_int(r["lines"]))
            sources.setdefault(r["signature"], []).append(src)
    findings = []
    for sig in catalogue():
        row = per_sig.get(sig.id)
        if row is None:
            continue
        top = sorted(targets.get(sig.id, []), key=lambda t: (-t[1], t[0]))[:TOP_TARGETS]
        where = sorted(
            sources.get(sig.id, []), key=lambda x: (-x.count, x.load_balancer or "", x.target_group or "")
        )
        timeline = sorted(minutes.get(sig.id, []))
        findings.append(
            Finding(sig, _as_int(row["elb_502"]), row["first_seen"], row["last_seen"], top, where, timeline)
        )
    unknown = set(per_sig) - {s.id for s in catalogue()}
    if unknown:
        raise QueryError(f"the diagnosis query returned unknown signatures: {sorted(unknown)}")
    findings.sort(key=lambda f: -f.count)
    target_502 = sum(f.count for f in findings if f.signature.source == "target")
    elb_502 = _as_int(totals_row["elb_502"])
    totals = Totals(
        lines=_as_int(totals_row["lines"]),
        unparsed_lines=_as_int(totals_row["unparsed_lines"]),
        requests=_as_int(totals_row["requests"]),
        elb_502=elb_502,
        lb_generated_502=elb_502 - target_502,
        target_generated_502=target_502,
    )
    if sum(f.count for f in findings) != elb_502:
        raise QueryError("signature counts do not add up to the 502 total: a classification bug")
    return Diagnosis(engine_name, params, totals, findings)


def diagnose(engine: Engine | Any, params: QueryParams) -> Diagnosis:
    """The diagnosis on `engine`: one of alb502's, or a DB-API connection of the caller's (pyathena's,
    trino's), run as it is set up (engines/dbapi.py)."""
    from alb502athena.engines.dbapi import as_engine

    engine = as_engine(engine)
    return _from_result(engine.name, params, engine.run(render_diagnosis(params)))


def _from_result(engine_name: str, params: QueryParams, result: QueryResult) -> Diagnosis:
    diagnosis = build(engine_name, params, result.columns, result.rows)
    diagnosis.bad_files = list(result.bad_files)
    diagnosis.damaged_files = list(result.damaged_files)
    if result.stats is not None:
        diagnosis.engine_stats = result.stats.as_json()
    return diagnosis


def diagnose_with_samples(
    engine: Engine | Any, params: QueryParams, per_signature: int = 5
) -> tuple[Diagnosis, Samples | None]:
    """The diagnosis and, for the report, the first rows behind each signature it found, from the same
    reading of the logs where the engine can (the local engine's native reader: each S3 object is
    downloaded once). None for the samples elsewhere: they cost a scan of their own
    (signature_samples), which the caller may run or not (Athena bills it)."""
    from alb502athena.engines.base import SharesScan
    from alb502athena.engines.dbapi import as_engine

    engine = as_engine(engine)
    if not isinstance(engine, SharesScan):
        return diagnose(engine, params), None
    # Which signatures are found is known after the scan: the samples carry every one's columns.
    union = _columns_of(catalogue())
    result, samples = engine.run_with_samples(
        render_diagnosis(params), render_samples(params, union, per_signature), per_signature
    )
    diagnosis = _from_result(engine.name, params, result)
    if samples is None:
        return diagnosis, None
    return diagnosis, _picked(samples, [f.signature for f in diagnosis.findings])


def signature_rows(engine: Engine, signature_id: str, params: QueryParams) -> QueryResult:
    return engine.run(render_signature(signature_id, params))


def signature_stream(
    engine: Engine, signature_id: str, params: QueryParams, limit: int | None = None
) -> AbstractContextManager[RowStream]:
    """A signature's rows in time order as the engine fetches them, at most `limit` (in the query)."""
    return engine.stream(render_signature(signature_id, params, limit))


Samples = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


def signature_samples(
    engine: Engine, params: QueryParams, signature_ids: Sequence[str], per_signature: int = 5
) -> Samples:
    """The first rows behind each of these signatures, with each one's own columns: the rows its
    query would list first, from one scan of the logs rather than one per signature."""
    wanted = [get_signature(i) for i in signature_ids]
    if not wanted:
        return {}
    return _picked(engine.run(render_samples(params, _columns_of(wanted), per_signature)), wanted)


def _columns_of(signatures: Sequence[Signature]) -> list[str]:
    """Every column these signatures' queries show, in the format's order."""
    shown = {c for s in signatures for c in s.columns}
    return [c for c in log_format().column_names if c in shown]


def _picked(result: QueryResult, wanted: Sequence[Signature]) -> Samples:
    """Each signature's rows of the samples query, with its own columns."""
    at = {c: i for i, c in enumerate(result.columns)}
    return {
        s.id: (
            list(s.columns),
            [tuple(r[at[c]] for c in s.columns) for r in result.rows if r[at["signature"]] == s.id],
        )
        for s in wanted
    }
