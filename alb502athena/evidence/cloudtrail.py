"""CloudTrail DeregisterTargets events, and the 502s that hit each target until its deregistration
delay ran out. Events come from the LookupEvents API (90 days, no setup) or from CloudTrail's own log
files; either way the count is one SQL query over the logs (sql/correlations/deregistrations.sql)."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alb502athena.errors import InputError
from alb502athena.logfiles import find_files, open_regular
from alb502athena.render import QueryParams, environment, sql_window, table_name
from alb502athena.safetext import inert
from alb502athena.sqltext import sql_string
from alb502athena.window import EARLIEST, LATEST, log_time, read_log_time

EVENT_SOURCE = "elasticloadbalancing.amazonaws.com"
DEFAULT_DELAY = 300  # seconds: the target group default when the real value cannot be read
MARGIN = timedelta(seconds=30)
# Deregistration delays go up to an hour: an event this long before the window can still matter.
LOOKBACK = timedelta(hours=1)


@dataclass(frozen=True)
class Deregistration:
    event_id: str
    event_time: datetime
    target_group: str
    target: str  # an IP for ip target groups, an instance id for instance target groups
    port: int | None
    who: str
    target_ip: str | None = None  # resolved IP, for instance targets

    @property
    def ip(self) -> str | None:
        return self.target_ip or (None if self.target.startswith("i-") else self.target)


def _who(identity: dict[str, Any]) -> str:
    # The same rule as the SQL join: the AWS service that acted (ecs.amazonaws.com,
    # autoscaling.amazonaws.com, ...), else the role behind the session, else the caller's ARN.
    issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
    return str(identity.get("invokedBy") or issuer.get("arn") or identity.get("arn") or "unknown")


class Malformed(ValueError):
    """A CloudTrail record that is not what CloudTrail writes: skipped and counted, like a log line."""


# Control characters (NUL among them) have no place in an id, an ARN or an address, and NUL none in SQL.
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or _CONTROL.search(value):
        raise Malformed(f"{what} is not a name")
    return value


def _port(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdecimal():
        raise Malformed("port is not a number")
    port = int(str(value))
    if not 1 <= port <= 65535:
        raise Malformed("port is out of range")
    return port


def from_record(record: Any) -> list[Deregistration]:
    """The targets of one CloudTrail record, if it is a successful DeregisterTargets. The record is data
    from a file or an API answer: anything it does not hold as CloudTrail writes it raises Malformed."""
    if not isinstance(record, dict):
        raise Malformed("a record is not an object")
    if record.get("eventName") != "DeregisterTargets" or record.get("eventSource") != EVENT_SOURCE:
        return []
    if record.get("errorCode"):
        return []
    params = record.get("requestParameters") or {}
    targets = params.get("targets") if isinstance(params, dict) else None
    if not isinstance(targets, list):
        raise Malformed("no targets")
    time = record.get("eventTime")
    when = read_log_time(time) if isinstance(time, str) else None
    # Times a window can hold: the correlation adds the delay to it and reads the next day's partition.
    if when is None or not EARLIEST <= when < LATEST:
        raise Malformed("no eventTime")
    identity = record.get("userIdentity")
    who = _who(identity if isinstance(identity, dict) else {})
    target_group = _text(params.get("targetGroupArn"), "targetGroupArn")
    found = []
    for t in targets:
        if not isinstance(t, dict):
            raise Malformed("a target is not an object")
        found.append(
            Deregistration(
                str(record.get("eventID", "")),
                when,
                target_group,
                _text(t.get("id"), "target id"),
                _port(t.get("port")),
                who,
            )
        )
    return found


# A CloudTrail file inflated: CloudTrail delivers a file about every 5 minutes per region, a few MB at
# most; a larger one is refused (naming it) before it takes the memory its JSON would.
MAX_FILE_BYTES = 64 * 1024 * 1024
_CHUNK = 1024 * 1024


@dataclass
class Trail:
    """The deregistrations read, and what was not: records skipped as malformed, files not read."""

    events: list[Deregistration] = field(default_factory=list)
    malformed: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    # What finding the files left out (files never opened, folders not listed, links), said as is.
    not_searched: list[str] = field(default_factory=list)

    def add(self, records: Iterable[Any]) -> None:
        for record in records:
            try:
                self.events.extend(from_record(record))
            except Malformed:
                self.malformed += 1

    def notes(self) -> list[str]:
        out = [*self.not_searched]
        out += [f"CloudTrail file {inert(path)} not read: {why}" for path, why in self.unreadable]
        if self.malformed:
            out.append(
                f"{self.malformed:,} CloudTrail record(s) skipped: not as CloudTrail writes them "
                "(eventTime, targetGroupArn, a target's id or port)"
            )
        return out


_SUFFIXES = (".json", ".json.gz")  # CloudTrail's objects in S3 are .json.gz


def _read(path: Path, limit: int) -> bytes:
    """The file's text, inflated in bounded chunks whatever the gzip trailer says; refused beyond
    `limit` bytes, and refused unless a regular file when opened (a FIFO would never end)."""
    parts: list[bytes] = []
    size = 0
    with open_regular(path) as raw:
        stream: Any = gzip.GzipFile(fileobj=raw) if path.name.endswith(".gz") else raw
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise ValueError(f"larger than {limit // (1024 * 1024)} MiB (inflated)")
            parts.append(chunk)
    return b"".join(parts)


def read_files(paths: Sequence[Path], limit: int = MAX_FILE_BYTES) -> Trail:
    """CloudTrail log files as S3 holds them: *.json or *.json.gz with a "Records" list. A file that
    cannot be read is named and the others read; InputError when none can be."""
    # Found by the access logs' walk: links followed, FIFOs and devices named, never opened.
    found = find_files(paths, _SUFFIXES)
    files = found.files
    trail = Trail()
    for noun, missed in (("file", found.not_regular), ("folder", found.unreadable)):
        trail.not_searched += [
            f"CloudTrail {noun} {inert(str(p))} not read: {inert(w, 200)}" for p, w in missed
        ]
    trail.not_searched += [f"CloudTrail folder {inert(str(p))}: {inert(w, 200)}" for p, w in found.links]
    if not files:
        why = f" ({trail.not_searched[0]})" if trail.not_searched else ""
        raise InputError(f"no CloudTrail files (*.json, *.json.gz) in {', '.join(map(str, paths))}{why}")
    for f in files:
        try:
            document = json.loads(_read(f, limit))
            records = document.get("Records", []) if isinstance(document, dict) else None
            if not isinstance(records, list):
                raise ValueError("no Records list")
        except (OSError, ValueError, EOFError, zlib.error) as exc:
            trail.unreadable.append((str(f), inert(str(exc) or type(exc).__name__, 200)))
            continue
        trail.add(records)
    if len(trail.unreadable) == len(files):
        path, why = trail.unreadable[0]
        raise InputError(f"cannot read CloudTrail file {inert(path)}: {why}")
    return trail


def from_files(paths: Sequence[Path]) -> list[Deregistration]:
    return read_files(paths).events


def lookup(cloudtrail: Any, start: datetime, end: datetime) -> Trail:
    """LookupEvents for DeregisterTargets between start and end (the API keeps 90 days)."""
    trail = Trail()
    pages = cloudtrail.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "DeregisterTargets"}],
        StartTime=start,
        EndTime=end,
    )
    for page in pages:
        for event in page.get("Events", []):
            try:
                record = json.loads(event["CloudTrailEvent"])
            except (KeyError, TypeError, ValueError):
                trail.malformed += 1
                continue
            trail.add([record])
    return trail


def from_lookup(cloudtrail: Any, start: datetime, end: datetime) -> list[Deregistration]:
    return lookup(cloudtrail, start, end).events


def resolve_instances(ec2: Any, events: list[Deregistration]) -> list[Deregistration]:
    """Instance-id targets -> their private IPs (the logs name IPs), one DescribeInstances call."""
    ids = sorted({e.target for e in events if e.target.startswith("i-")})
    if not ids:
        return events
    ips: dict[str, str] = {}
    for page in ec2.get_paginator("describe_instances").paginate(InstanceIds=ids):
        for reservation in page.get("Reservations", []):
            for inst in reservation.get("Instances", []):
                if inst.get("PrivateIpAddress"):
                    ips[inst["InstanceId"]] = inst["PrivateIpAddress"]
    return [replace(e, target_ip=ips.get(e.target)) if e.target.startswith("i-") else e for e in events]


def render_correlation(params: QueryParams, events: Iterable[Deregistration], delays: dict[str, int]) -> str:
    rows = []
    for i, e in enumerate(events):
        until = e.event_time + timedelta(seconds=delays.get(e.target_group, DEFAULT_DELAY)) + MARGIN
        rows.append(
            {
                "event_id": sql_string(f"{i}"),
                "event_time": sql_string(log_time(e.event_time)),
                "until_time": sql_string(log_time(until)),
                "target_group": sql_string(e.target_group),
                "target_ip": sql_string(e.ip or ""),
                "target_port": str(int(e.port)) if e.port is not None else "CAST(NULL AS integer)",
            }
        )
    text = (
        environment()
        .get_template("correlations/deregistrations.sql")
        .render(window=sql_window(params), events=rows, table=table_name(params.table))
    )
    return text.strip() + "\n"


def correlate(
    engine: Any, params: QueryParams, events: list[Deregistration], delays: dict[str, int]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The correlations (events whose target got 502s in its delay) and notes on what could not be matched."""
    window = params.window
    if window.start is not None and window.end is not None:
        events = [e for e in events if window.start - LOOKBACK <= e.event_time < window.end]
    notes = [
        f"DeregisterTargets of {e.target} at {log_time(e.event_time)} not matched: its IP is unknown "
        "(ec2:DescribeInstances not allowed or instance gone)"
        for e in events
        if e.ip is None
    ]
    matchable = [e for e in events if e.ip is not None]
    if not matchable:
        return [], notes
    result = engine.run(render_correlation(params, matchable, delays))
    counts = {row[0]: row for row in result.rows}
    out = []
    for i, e in enumerate(matchable):
        _, n, first, last = counts.get(str(i), (str(i), 0, None, None))
        if not n:
            continue
        out.append(
            {
                "kind": "deregistration",
                "event_id": e.event_id,
                "event_time": log_time(e.event_time),
                "who": e.who,
                "target_group": e.target_group,
                "target": f"{e.ip}:{e.port}" if e.port is not None else e.ip,
                "instance_id": e.target if e.target.startswith("i-") else None,
                "deregistration_delay_seconds": delays.get(e.target_group, DEFAULT_DELAY),
                "delay_known": e.target_group in delays,
                "elb_502": int(n),
                "first_seen": first,
                "last_seen": last,
            }
        )
    out.sort(key=lambda c: (-c["elb_502"], c["event_time"]))
    return out, notes


def add_correlations(
    diagnosis: Any,
    engine: Any,
    aws_session: Any | None,
    files: Sequence[Path],
    cloudtrail_table: str | None = None,
) -> None:
    """Find DeregisterTargets events (a CloudTrail table joined in SQL, files, else LookupEvents when
    AWS is reachable), map instance targets to IPs, read the target groups' delays, and put the
    correlations on the diagnosis. Best effort: what fails here is a note, and the diagnosis stands."""
    from alb502athena.errors import Alb502Error, Interrupted
    from alb502athena.evidence.calls import Unchecked, failure
    from alb502athena.progress import terminal_line

    unchecked = Unchecked(progress=terminal_line())
    try:
        _add_correlations(diagnosis, engine, aws_session, files, cloudtrail_table, unchecked)
    except Interrupted:
        raise
    except Exception as exc:  # a correlation is evidence: never the end of the run
        why = str(exc) if isinstance(exc, Alb502Error) else failure(exc)
        diagnosis.notes.extend(n for n in unchecked.notes() if n not in diagnosis.notes)
        diagnosis.notes.append(f"DeregisterTargets not correlated: {why}")


def _add_correlations(
    diagnosis: Any,
    engine: Any,
    aws_session: Any | None,
    files: Sequence[Path],
    cloudtrail_table: str | None,
    unchecked: Any,
) -> None:
    from alb502athena.evidence.config import read_configuration

    window = diagnosis.params.window
    if cloudtrail_table is not None:
        delays: dict[str, int] = {}
        if aws_session is not None:
            from alb502athena.aws import client

            groups = sorted({s.target_group for f in diagnosis.findings for s in f.sources if s.target_group})
            config = read_configuration(client(aws_session, "elbv2"), [], groups, unchecked)
            delays = {
                a: t.deregistration_delay_seconds
                for a, t in config.target_groups.items()
                if t.deregistration_delay_seconds is not None
            }
        diagnosis.correlations = correlate_table(engine, diagnosis.params, cloudtrail_table, delays)
        diagnosis.notes.extend(n for n in unchecked.notes() if n not in diagnosis.notes)
        return
    if files:
        trail = read_files(files)
    elif aws_session is not None and window.start is not None and window.end is not None:
        from alb502athena.aws import client

        api = client(aws_session, "cloudtrail")
        start, end = window.start - LOOKBACK, window.end
        trail = unchecked.call("cloudtrail:LookupEvents", lambda: lookup(api, start, end)) or Trail()
    else:
        return
    diagnosis.notes.extend(trail.notes())
    events = trail.events
    delays = {}
    if aws_session is not None:
        from alb502athena.aws import client

        ec2 = client(aws_session, "ec2")
        events = unchecked.call("ec2:DescribeInstances", lambda: resolve_instances(ec2, events)) or events
        groups = sorted({e.target_group for e in events})
        config = read_configuration(client(aws_session, "elbv2"), [], groups, unchecked)
        delays = {
            arn: tg.deregistration_delay_seconds
            for arn, tg in config.target_groups.items()
            if tg.deregistration_delay_seconds is not None
        }
    found, notes = correlate(engine, diagnosis.params, events, delays)
    diagnosis.correlations = found
    diagnosis.notes.extend(notes)
    diagnosis.notes.extend(n for n in unchecked.notes() if n not in diagnosis.notes)
    if any(not c["delay_known"] for c in found):
        diagnosis.notes.append(f"deregistration delay taken as {DEFAULT_DELAY} s where it could not be read")


def render_correlation_table(params: QueryParams, cloudtrail_table: str, delays: dict[str, int]) -> str:
    """The correlation with the events read from a CloudTrail table (AWS's Athena DDL columns)."""
    window = sql_window(params)
    lookback = (
        sql_string((params.window.start - LOOKBACK).strftime("%Y/%m/%d"))
        if params.window.start is not None
        else None
    )
    text = (
        environment()
        .get_template("correlations/deregistrations-cloudtrail.sql")
        .render(
            window=window,
            lookback_day=lookback,
            cloudtrail=table_name(cloudtrail_table),
            table=table_name(params.table),
            delays=[(sql_string(tg), int(seconds)) for tg, seconds in sorted(delays.items())],
            default_delay=DEFAULT_DELAY,
            margin=int(MARGIN.total_seconds()),
        )
    )
    return text.strip() + "\n"


def correlate_table(
    engine: Any, params: QueryParams, cloudtrail_table: str, delays: dict[str, int]
) -> list[dict[str, Any]]:
    """Correlations from the SQL join with a CloudTrail table: one query, on any engine."""
    result = engine.run(render_correlation_table(params, cloudtrail_table, delays))
    out = [
        {
            "kind": "deregistration",
            "event_id": event_id,
            "event_time": f"{event_time}.000000Z",
            "who": who or "unknown",
            "target_group": tg,
            "target": f"{ip}:{port}" if port is not None else ip,
            "instance_id": None,
            "deregistration_delay_seconds": delays.get(tg, DEFAULT_DELAY),
            "delay_known": tg in delays,
            "elb_502": int(n),
            "first_seen": first,
            "last_seen": last,
        }
        for event_id, event_time, who, tg, ip, port, n, first, last in result.rows
        if n
    ]
    out.sort(key=lambda c: (-c["elb_502"], c["event_time"]))
    return out


def cloudtrail_view_sql(files: Sequence[Path]) -> str:
    """A DuckDB view over CloudTrail's own files with the columns of AWS's CloudTrail table that the
    correlation reads, so the same join runs locally."""
    paths = "[" + ", ".join(sql_string(str(f)) for f in files) + "]"
    return f"""CREATE OR REPLACE TEMP VIEW cloudtrail_logs AS
SELECT
  rec->>'$.eventID' AS eventid,
  rec->>'$.eventTime' AS eventtime,
  rec->>'$.eventSource' AS eventsource,
  rec->>'$.eventName' AS eventname,
  rec->>'$.errorCode' AS errorcode,
  CAST(rec->'$.requestParameters' AS VARCHAR) AS requestparameters,
  struct_pack(
    invokedby := rec->>'$.userIdentity.invokedBy',
    arn := rec->>'$.userIdentity.arn',
    sessioncontext := struct_pack(
      sessionissuer := struct_pack(arn := rec->>'$.userIdentity.sessionContext.sessionIssuer.arn')
    )
  ) AS useridentity,
  strftime(CAST(rec->>'$.eventTime' AS TIMESTAMP), '%Y/%m/%d') AS "timestamp"
FROM (SELECT unnest(Records) AS rec FROM read_json({paths}, columns={{'Records': 'JSON[]'}}))"""
