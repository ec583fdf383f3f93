"""Commands that read log files: diagnose and run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alb502athena.cli.options import (
    EndOpt,
    LastOpt,
    LoadBalancerOpt,
    OutputOpt,
    PathsArg,
    StartOpt,
    domain_errors,
    query_params,
)
from alb502athena.diagnosis import diagnose as run_diagnosis
from alb502athena.diagnosis import signature_rows
from alb502athena.engines.local import LocalEngine
from alb502athena.logfiles import Discovery, discover
from alb502athena.output import render_diagnosis, render_rows
from alb502athena.render import QueryParams


def _notes(found: Discovery, bad_files: list[tuple[str, str]]) -> None:
    for ignored, why in found.ignored:
        typer.echo(f"Note: ignored {ignored}: {why}", err=True)
    if found.outside_window:
        typer.echo(
            f"Note: skipped {found.outside_window} files whose names put them outside the window", err=True
        )
    for path, reason in bad_files:
        typer.echo(f"Warning: could not read {path}: {reason}; the other files were analysed", err=True)


def _engine(paths: list[Path], params: QueryParams) -> tuple[LocalEngine, Discovery]:
    found = discover(paths, params.window)
    return LocalEngine(found.files, params.window), found


def _rows_hint(paths: list[Path], last: str | None, start: str | None, end: str | None) -> str:
    """The `alb502 run` command that shows a finding's rows, with the user's own paths and window."""
    import shlex

    parts = ["alb502", "run", "{id}", *(shlex.quote(str(p)) for p in paths)]
    for flag, value in (("--last", last), ("--start", start), ("--end", end)):
        if value is not None:
            parts += [flag, shlex.quote(value)]
    return " ".join(parts).replace("{", "{{").replace("}", "}}").replace("{{id}}", "{id}")


@domain_errors
def diagnose(
    paths: PathsArg,
    output: OutputOpt = "table",
    last: LastOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    load_balancer: LoadBalancerOpt = None,
    fail_on_findings: Annotated[
        bool, typer.Option("--fail-on-findings", help="Exit with code 1 when any 502 is found.")
    ] = False,
) -> None:
    """Classify every HTTP 502 in the logs and say what to do next.

    Example: alb502 diagnose ./logs --last 2h --output json
    """
    params = query_params(last, start, end, load_balancer)
    engine, found = _engine(paths, params)
    if not found.files:
        typer.echo("Note: no log file falls in the window", err=True)
    result = run_diagnosis(engine, params)
    _notes(found, result.bad_files)
    if result.totals.unparsed_lines:
        typer.echo(
            f"Warning: {result.totals.unparsed_lines:,} lines did not match the ALB log format "
            "and were counted as unparsed",
            err=True,
        )
    typer.echo(render_diagnosis(result, output, rows_hint=_rows_hint(paths, last, start, end)), nl=False)
    if fail_on_findings and result.totals.elb_502 > 0:
        raise typer.Exit(1)


@domain_errors
def run(
    signature: Annotated[str, typer.Argument(help="Signature id (see `alb502 list`).")],
    paths: PathsArg,
    output: OutputOpt = "table",
    last: LastOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    load_balancer: LoadBalancerOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Show at most this many rows (0: all).")] = 100,
) -> None:
    """Show the requests behind one signature (its own query, run on the logs).

    Example: alb502 run connect-failed ./logs --start 2026-11-20T10:00Z --end 2026-11-20T11:00Z
    """
    params = query_params(last, start, end, load_balancer)
    engine, found = _engine(paths, params)
    result = signature_rows(engine, signature, params)
    _notes(found, result.bad_files)
    rows = result.rows if limit == 0 else result.rows[:limit]
    if len(rows) < len(result.rows):
        typer.echo(f"Note: showing {len(rows)} of {len(result.rows)} rows (--limit 0 shows all)", err=True)
    typer.echo(render_rows(result.columns, rows, output), nl=False)
