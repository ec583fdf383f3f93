"""The files the Terraform module reads: the log format and every query, rendered by the CLI.

Terraform reads them with file()/jsondecode()/templatefile(), so the regex, the columns and the SQL
exist once (sql/) and the module never types a second copy. The files are committed under
terraform/generated/ and a test fails when they drift from the templates.
"""

from __future__ import annotations

import json
from pathlib import Path

from alb502athena.catalogue import catalogue
from alb502athena.logformat import log_format
from alb502athena.render import QueryParams, render_diagnosis, render_signature
from alb502athena.window import Window

# Rendered with this table name, then written as Terraform template variables.
_TABLE_SLOT = "alb502_terraform_table"
TABLE_TEMPLATE = "${database}.${table}"


def _relative(hours: int) -> Window:
    return Window.from_options(f"{hours}h", None, None).as_relative()


def export(dest: Path, hours: int = 24) -> list[Path]:
    """Write log_format.json, queries/<id>.sql (templatefile() sources) and manifest.json into dest."""
    fmt = log_format()
    params = QueryParams(_relative(hours), table=_TABLE_SLOT)
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
                "window_hours": hours,
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
        files[dest / "queries" / f"{qid}.sql"] = text
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    stale = {p for p in (dest / "queries").glob("*.sql")} - set(files)
    for path in stale:
        path.unlink()
    return sorted(files)
