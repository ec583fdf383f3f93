"""The files the Terraform module reads: the log format and every query, rendered by the CLI.

Terraform reads them with file()/jsondecode()/templatefile(), so the regex, the columns and the SQL
exist once (sql/) and the module never types a second copy. The files are committed under
terraform/generated/ and a test fails when they drift from the templates.

Each query is rendered once with a relative window whose bounds are Terraform template variables:
`${start_minutes}` and `${end_minutes}` before the query runs. The module fills them per use: a saved
query counts its stated window up to the run, a schedule counts its own interval ending the delivery
lag before the run (the manifest's `delivery_lag_minutes`), so consecutive runs count each line once.

The queries read only their window's objects, as the CLI's do (render.path_ranges): the module fills the
table's location (`${log_root}`), `${account}`, `${region}` and `${load_balancers}` (app/<name>/<id>,
validated by the module) once, and the SQL computes each day folder and the names' end time bounds from
current_timestamp when it runs, so a saved query run any day later still reads that day's objects
only. The text is the CLI's, rendered with slots; Terraform's `%{ for }` repeats each range per day
folder and load balancer, in the order render.path_ranges gives them. Without load balancers, every ALB
access log of the account and region (whole days, the other log types left out), as the CLI does.
Terraform puts these values into SQL string literals as they are: the module's validation of the
bucket, prefix, account, region and load balancers lets no quote or backslash through.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alb502athena.catalogue import catalogue
from alb502athena.logformat import log_format
from alb502athena.objectname import FILE_SPAN, LATE_MARGIN, access_log_prefix
from alb502athena.render import (
    QueryParams,
    SqlPaths,
    environment,
    path_ranges,
    render_diagnosis,
    render_signature,
)
from alb502athena.scope import ObjectScope
from alb502athena.window import Window

# Rendered with this table name, then written as Terraform template variables.
_TABLE_SLOT = "alb502_terraform_table"
TABLE_TEMPLATE = "${database}.${table}"
# Rendered with these minute counts (no real window is that long), then written as template variables.
_START_SLOT, _END_SLOT = 9_000_001, 9_000_002
WINDOW_TEMPLATE = {f"interval '{_START_SLOT}'": "interval '${start_minutes}'",
                   f"interval '{_END_SLOT}'": "interval '${end_minutes}'"}  # fmt: skip
# Rendered in place of the table's location, the account, the region and a load balancer's name and id;
# each is valid where it stands (objectname's patterns) and appears in no query otherwise.
_ROOT_SLOT = "s3://alb502-terraform-root"
_ACCOUNT_SLOT, _REGION_SLOT = "987650000123", "zz-terraform-9"
_NAME_SLOTS, _ID_SLOT = ("alb502-terraform-name", "alb502-terraform-other"), "0f1e2d3c4b5a6978"
# The relative day folders the ranges read (path_ranges' `days`, plus the first): day(now - N) .. day(now).
_FOLDERS = f"range(ceil(start_minutes / {24 * 60}) + 1)"
# A schedule's window ends this long before its run: a file holds five minutes of entries and ALB
# delivers it a little late; the same margin decides which objects a window reads (objectname).
DELIVERY_LAG = FILE_SPAN + LATE_MARGIN


def _slotted() -> Window:
    """A relative window whose start and end render as the two slots."""
    now = datetime(2000, 1, 1, tzinfo=UTC)
    return Window(
        now - timedelta(minutes=_START_SLOT),
        now - timedelta(minutes=_END_SLOT),
        relative=True,
        lag=timedelta(minutes=_END_SLOT),
    )


def _path_filter(paths: SqlPaths) -> str:
    """sql/_macros/alb.sql path_filter of the slotted window with these ranges."""
    macro = environment().get_template("_macros/alb.sql").module.path_filter  # type: ignore[attr-defined]
    return str(macro(replace(_slotted().sql(), paths=paths)))


def _slotted_paths(*names: str) -> SqlPaths:
    """The ranges of the first day folder for load balancers app/<name>/<id slot>; none: every ALB's."""
    prefixes = tuple(access_log_prefix(_ACCOUNT_SLOT, _REGION_SLOT, f"app/{n}/{_ID_SLOT}") for n in names)
    scope = ObjectScope(root=_ROOT_SLOT, prefixes=prefixes, account=_ACCOUNT_SLOT, region=_REGION_SLOT)
    paths = path_ranges(_slotted(), scope)
    if paths is None or not paths.names:
        raise RuntimeError("the slotted scope renders no `$path` ranges")
    return replace(paths, days=0)


def _path_template() -> tuple[SqlPaths, str, str]:
    """The slotted ranges to render the queries with, the fragment they render as, and the Terraform
    template that replaces it: the same fragment per day folder and load balancer."""
    one, two, every = _slotted_paths(_NAME_SLOTS[0]), _slotted_paths(*_NAME_SLOTS), _slotted_paths()
    fragment = _path_filter(one)
    # `\n  AND (<range>)`: split off the range, and find what joins two of them.
    m = re.fullmatch(r"(\s*AND \()(.*)(\))", fragment, re.DOTALL)
    every_text = _path_filter(every)
    if m is None or not every_text.startswith(m[1]) or not every_text.endswith(m[3]):
        raise RuntimeError(f"the `$path` filter is not rendered as expected: {fragment!r}")
    head, timed, tail = m[1], m[2], m[3]
    untimed = every_text[len(head) : -len(tail)]
    second = timed.replace(_NAME_SLOTS[0], _NAME_SLOTS[1])
    both = _path_filter(two)
    sep = both[len(head + timed) : len(both) - len(second + tail)]
    if both != head + timed + sep + second + tail or not sep.strip():
        raise RuntimeError(f"two `$path` ranges are not rendered as expected: {both!r}")
    first_day = "interval '0' day"
    if timed.count(first_day) != 2 or untimed.count(first_day) != 2:
        raise RuntimeError(f"the day folder was not rendered where expected ({first_day})")
    # f: [day index, [app, name, id]]
    timed = (
        timed.replace(first_day, "interval '${f[0]}' day")
        .replace(_NAME_SLOTS[0], "${f[1][1]}")
        .replace(_ID_SLOT, "${f[1][2]}")
    )
    untimed = untimed.replace(first_day, "interval '${k}' day")
    template = (
        f"{head}%{{ if length(load_balancers) > 0 }}"
        f'%{{ for i, f in setproduct({_FOLDERS}, [for b in load_balancers : split("/", b)]) }}'
        f"%{{ if i > 0 }}{sep}%{{ endif }}{timed}%{{ endfor }}"
        f"%{{ else }}%{{ for k in {_FOLDERS} }}%{{ if k > 0 }}{sep}%{{ endif }}{untimed}%{{ endfor }}"
        f"%{{ endif }}{tail}"
    )
    template = (
        template.replace(_ROOT_SLOT, "${log_root}")
        .replace(_ACCOUNT_SLOT, "${account}")
        .replace(_REGION_SLOT, "${region}")
    )
    return one, fragment, template


def export(dest: Path) -> list[Path]:
    """Write log_format.json, queries/<id>.sql (templatefile() sources) and manifest.json into dest."""
    fmt = log_format()
    paths, fragment, path_template = _path_template()
    params = QueryParams(_slotted(), table=_TABLE_SLOT, paths=paths)
    queries = [("diagnosis", "Classify every HTTP 502 in the window, in one scan", render_diagnosis(params))]
    queries += [(s.id, s.title, render_signature(s.id, params)) for s in catalogue()]
    files: dict[Path, str] = {
        dest / "log_format.json": json.dumps(
            {
                "name": fmt.name,
                "columns": [{"name": c.name, "type": c.type} for c in fmt.columns],
                "partition": {"name": "day", "type": "string", "format": "yyyy/MM/dd"},
                "regex": fmt.regex(),
            },
            indent=2,
        )
        + "\n",
        dest / "manifest.json": json.dumps(
            {
                "delivery_lag_minutes": int(DELIVERY_LAG.total_seconds()) // 60,
                "queries": [
                    {"id": qid, "title": title, "file": f"queries/{qid}.sql"} for qid, title, _ in queries
                ],
            },
            indent=2,
        )
        + "\n",
    }
    for qid, _, sql in queries:
        # templatefile() reads ${...} and %{...}; the SQL has neither, but escape them to be sure.
        text = sql.replace("${", "$${").replace("%{", "%%{").replace(_TABLE_SLOT, TABLE_TEMPLATE)
        if fragment not in text:
            raise RuntimeError(f"{qid}: the `$path` ranges were not rendered where expected")
        text = text.replace(fragment, path_template)
        for slot, template in WINDOW_TEMPLATE.items():
            if slot not in text:
                raise RuntimeError(f"{qid}: the window was not rendered where expected ({slot})")
            text = text.replace(slot, template)
        files[dest / "queries" / f"{qid}.sql"] = text
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    stale = {p for p in (dest / "queries").glob("*.sql")} - set(files)
    for path in stale:
        path.unlink()
    return sorted(files)
