"""The files the Terraform module reads: the log format and every query, rendered by the CLI.

Terraform reads them with file()/jsondecode()/templatefile(), so the regex, the columns and the SQL
exist once (sql/) and the module never types a second copy. The files are committed under
terraform/generated/ and a test fails when they drift from the templates.

Each query is rendered once with a relative window whose bounds are Terraform template variables:
`${start_minutes}` and `${end_minutes}` before the query runs. The module fills them per use: a saved
query counts its stated window up to the run, a schedule counts its own interval ending the delivery
lag before the run (the manifest's `delivery_lag_minutes`), so consecutive runs count each line once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alb502athena.catalogue import catalogue
from alb502athena.logformat import log_format
from alb502athena.objectname import FILE_SPAN, LATE_MARGIN
from alb502athena.render import QueryParams, render_diagnosis, render_signature
from alb502athena.window import Window

# Rendered with this table name, then written as Terraform template variables.
_TABLE_SLOT = "alb502_terraform_table"
TABLE_TEMPLATE = "${database}.${table}"
# Rendered with these minute counts (no real window is that long), then written as template variables.
_START_SLOT, _END_SLOT = 9_000_001, 9_000_002
WINDOW_TEMPLATE = {f"interval '{_START_SLOT}'": "interval '${start_minutes}'",
                   f"interval '{_END_SLOT}'": "interval '${end_minutes}'"}  # fmt: skip
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


def export(dest: Path) -> list[Path]:
    """Write log_format.json, queries/<id>.sql (templatefile() sources) and manifest.json into dest."""
    fmt = log_format()
    params = QueryParams(_slotted(), table=_TABLE_SLOT)
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
