"""Is an existing Athena table over ALB logs healthy? Read its Glue definition, check it against the
log format, and measure the share of lines its regex could not parse over the last day."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from alb502athena.logformat import cut_to_shape, log_format
from alb502athena.render import location_from_template, render_unparsed_share

REGEX_SERDE = "org.apache.hadoop.hive.serde2.RegexSerDe"
_AWS_COLUMNS = 34  # the columns of AWS's documented table, which every query here may read
DDL_FIX = "recreate the table with `alb502 ddl` (same columns and names, fixed regex)"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def _check(name: str, ok: bool, detail: str, fix: str) -> Check:
    return Check(name, ok, detail, "" if ok else fix)


def shape_lines() -> dict[str, str]:
    """One realistic line of each historical shape (2016 to now), named by the format version that first
    wrote it: a sample line of the newest shape, cut after each shape's last field."""
    from alb502athena.sample import DEFAULT_START, generate_lines

    fmt = log_format()
    lines = generate_lines(
        random.Random(1), start=DEFAULT_START, minutes=1, requests_per_minute=5,
        load_balancer="app/check/0123456789abcdef", account="123456789012", region="eu-west-1",
    )  # fmt: skip
    newest = fmt.shapes[-1]
    line = next(t for t in (x.text for x in lines) if cut_to_shape(t, newest) is not None)
    return {shape.version: cut_to_shape(line, shape) or "" for shape in fmt.shapes}


def _regex_checks(regex: str | None, columns: list[str]) -> list[Check]:
    if not regex:
        return [Check("regex", False, "the SerDe has no input.regex", DDL_FIX)]
    try:
        compiled = re.compile(regex)
    except re.error as exc:
        return [Check("regex", False, f"the regex does not compile ({exc})", DDL_FIX)]
    groups = compiled.groups
    checks = [
        _check(
            "regex groups",
            groups == len(columns),
            f"{groups} capture groups for {len(columns)} columns",
            "RegexSerDe needs one group per column; " + DDL_FIX,
        )
    ]
    for version, line in shape_lines().items():
        ok = compiled.fullmatch(line) is not None
        detail = (
            "matches"
            if ok
            else f"rejects lines of the shape AWS wrote from {version}: they read as all-NULL rows"
        )
        checks.append(_check(f"parses {version} lines", ok, detail, DDL_FIX))
    return checks


def _projection_checks(table: dict[str, Any], today: datetime) -> list[Check]:
    params = table.get("Parameters", {})
    location = table["StorageDescriptor"].get("Location", "").rstrip("/")
    keys = {k["Name"]: k.get("Type", "") for k in table.get("PartitionKeys", [])}
    checks = [
        _check("day partition", keys.get("day") == "string", f"partition keys {keys or 'none'}",
               "partition by `day string`: " + DDL_FIX)
    ]  # fmt: skip
    enabled = params.get("projection.enabled", "").lower() == "true"
    checks.append(
        _check("partition projection", enabled, f"projection.enabled={params.get('projection.enabled')}",
               "turn on partition projection (without it new days are never read): " + DDL_FIX)
    )  # fmt: skip
    if not enabled:
        return checks
    fmt, kind = params.get("projection.day.format", ""), params.get("projection.day.type", "")
    checks.append(
        _check("day projection", kind == "date" and fmt == "yyyy/MM/dd", f"type={kind}, format={fmt}",
               "use projection.day.type=date and projection.day.format=yyyy/MM/dd")
    )  # fmt: skip
    template = params.get("storage.location.template", "")
    expected = f"{location}/${{day}}"
    checks.append(
        _check("location template", template == expected, f"storage.location.template={template!r}",
               f"set storage.location.template to '{expected}'")
    )  # fmt: skip
    raw_range = params.get("projection.day.range", "")
    start, _, end = raw_range.partition(",")
    checks.append(
        _check("projection range", end.strip().upper().startswith("NOW"), f"range={raw_range!r}",
               "end the range at NOW: days after a fixed end are never read")
    )  # fmt: skip
    try:
        first = datetime.strptime(start.strip(), "%Y/%m/%d").replace(tzinfo=UTC)
    except ValueError:
        checks.append(Check("projection start", False, f"range start {start!r} is not yyyy/MM/dd", "fix it"))
        return checks
    checks.append(
        _check("projection start", first <= today, f"the range starts {start.strip()}",
               "start the range on or before the first day of logs: earlier days are never read")
    )  # fmt: skip
    return checks


def earliest_day(s3: Any, location: str, latest: bool = False) -> str | None:
    """The first (or, with `latest`, the last) yyyy/mm/dd folder under the table's location: three
    small listings, not a scan."""
    m = re.fullmatch(r"s3://([^/]+)/?(.*)", location.rstrip("/"))
    if m is None:
        return None
    bucket, prefix = m.group(1), (m.group(2) + "/" if m.group(2) else "")
    parts = []
    for _ in range(3):
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/")
        names = sorted(
            p["Prefix"][len(prefix) :].rstrip("/")
            for p in listing.get("CommonPrefixes", [])
            if p["Prefix"][len(prefix) :].rstrip("/").isdigit()
        )
        if not names:
            return None
        parts.append(names[-1 if latest else 0])
        prefix += parts[-1] + "/"
    return "/".join(parts)


def _data_start_check(table: dict[str, Any], s3: Any) -> Check | None:
    params = table.get("Parameters", {})
    start = params.get("projection.day.range", "").partition(",")[0].strip()
    first = earliest_day(s3, table["StorageDescriptor"].get("Location", ""))
    if first is None or not start:
        return None
    return _check(
        "projection covers the data",
        start <= first,
        f"the first day of logs is {first}, the range starts {start}",
        f"start projection.day.range at {first} or earlier: the days before {start} are never read",
    )


def _other_logs_check(table: dict[str, Any], s3: Any) -> Check | None:
    """Whether the latest day folder also holds other ELB logs (connection and health-check logs, NLB
    or Classic access logs): a query that reads whole `day` partitions reads them as all-NULL rows."""
    from alb502athena.objectname import KIND_LABELS
    from alb502athena.s3objects import list_day

    location = table["StorageDescriptor"].get("Location", "").rstrip("/")
    day = earliest_day(s3, location, latest=True)
    listing = list_day(s3, location, day) if day is not None else None
    if listing is None or day is None:
        return None
    # Other ELB logs only: a name that is no ELB object's may be anything (a hand-made file).
    aside = listing.set_aside_sentence(tuple(KIND_LABELS))
    return _check(
        "other logs in the location",
        aside is None,
        f"the latest day folder ({day}) holds {aside}"
        if aside
        else f"the latest day folder ({day}) holds ALB access logs only",
        "a query that reads whole `day` partitions reads these objects as all-NULL rows (counted as "
        "unparsed lines, and billed by Athena); alb502's queries keep them out with `$path` ranges. "
        "Give connection and health-check logs a prefix of their own (the load balancer's log "
        "settings) so that only access logs are under the table's location",
    )


def check_table(
    glue: Any,
    database: str,
    table: str,
    run_query: Callable[[str], Any] | None = None,
    today: datetime | None = None,
    s3: Any = None,
) -> list[Check]:
    """Every check, in order; `run_query` (an engine's run) measures the unparsed share, and `s3` (a
    client allowed to list the log bucket) finds the first day of logs and what the latest holds."""
    definition = glue.get_table(DatabaseName=database, Name=table)["Table"]
    sd = definition["StorageDescriptor"]
    columns = [c["Name"] for c in sd.get("Columns", [])]
    serde = sd.get("SerdeInfo", {})
    library = serde.get("SerializationLibrary", "none")
    checks = [_check("SerDe", library == REGEX_SERDE, library, DDL_FIX)]
    missing = [c for c in log_format().column_names[:_AWS_COLUMNS] if c not in columns]
    detail = f"missing: {', '.join(missing)}" if missing else f"{len(columns)} columns"
    checks.append(_check("columns", not missing, detail, DDL_FIX))
    checks += _regex_checks(serde.get("Parameters", {}).get("input.regex"), columns)
    checks += _projection_checks(definition, today or datetime.now(UTC))
    if s3 is not None and definition.get("Parameters", {}).get("projection.enabled", "").lower() == "true":
        data_start = _data_start_check(definition, s3)
        if data_start is not None:
            checks.append(data_start)
    if s3 is not None:
        other_logs = _other_logs_check(definition, s3)
        if other_logs is not None:
            checks.append(other_logs)
    if run_query is not None:
        root = location_from_template(definition.get("Parameters", {}).get("storage.location.template"))
        result = run_query(render_unparsed_share(f"{database}.{table}", root))
        lines, unparsed = (int(v or 0) for v in result.rows[0])
        share = unparsed / lines if lines else 0.0
        detail = f"{unparsed:,} of {lines:,} lines ({share:.2%}) read as all-NULL rows"
        fix = "the regex misses lines: " + DDL_FIX
        checks.append(_check("unparsed lines, last day", unparsed == 0, detail, fix))
    return checks
