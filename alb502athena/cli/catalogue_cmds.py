"""Commands that print the catalogue and its SQL: list, sql, ddl."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from alb502athena.catalogue import catalogue
from alb502athena.cli.options import (
    OUTPUT,
    TRINO,
    EndOpt,
    LastOpt,
    LoadBalancerOpt,
    OutputOpt,
    StartOpt,
    TableOpt,
    domain_errors,
    query_params,
)
from alb502athena.errors import UsageError
from alb502athena.output import render_catalogue
from alb502athena.render import (
    QueryParams,
    render_athena_ddl,
    render_diagnosis,
    render_signature,
    render_trino_ddl,
    s3_log_root,
)
from alb502athena.scope import ObjectScope

# A location's characters: those of an S3 key prefix; quotes, blanks and control characters never.
_LOCATION = re.compile(r"(s3a?|local|gs|abfss?)://[A-Za-z0-9!_.*()/:-]+")


@domain_errors
def list_signatures(output: OutputOpt = "table") -> None:
    """List the 502 signatures, in the order they are tried.

    Example: alb502 list --output json
    """
    typer.echo(render_catalogue(catalogue(), output), nl=False)


@domain_errors
def sql(
    query: Annotated[
        str | None, typer.Argument(help="A signature id, or `diagnosis` for the one-scan classification.")
    ] = None,
    last: LastOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    load_balancer: LoadBalancerOpt = None,
    table: TableOpt = QueryParams.table,
    all_queries: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Every query (with --terraform): the diagnosis and each signature.",
            rich_help_panel=OUTPUT,
        ),
    ] = False,
    terraform: Annotated[
        Path | None,
        typer.Option(
            "--terraform",
            help="Write the queries, the log format and a manifest for the Terraform module.",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    bucket: Annotated[
        str | None,
        typer.Option(
            "--bucket", help="S3 bucket of the logs: with --account/--region, the table's location."
        ),
    ] = None,
    prefix: Annotated[
        str, typer.Option("--prefix", help="Prefix set in the load balancer's log attribute.")
    ] = "",
    account: Annotated[str | None, typer.Option("--account", help="AWS account id (12 digits).")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Region of the load balancer.")] = None,
    location: Annotated[
        str | None,
        typer.Option("--location", help="The table's folder that holds yyyy/mm/dd, instead of --bucket/..."),
    ] = None,
) -> None:
    """Print a query as Athena SQL, ready to paste into the Athena console.

    With --last the window is relative (the last N hours before each run: for saved queries and
    schedules); with --start/--end it is fixed. Without either it is the last hour, so it never scans
    the whole bucket.

    Example: alb502 sql connect-failed --start 2026-11-20T10:00Z --end 2026-11-20T11:00Z --table alb.alb_logs

    With the table's location (--bucket/--account/--region, or --location) the query reads only the
    window's objects by name ("$path"), of --load-balancer or of every load balancer there; without it,
    whole `day` partitions.

    For the Terraform module: alb502 sql --all --terraform terraform/generated
    """
    if terraform is not None or all_queries:
        if not (terraform is not None and all_queries and query is None):
            raise UsageError("--all and --terraform DIR go together, without a query id")
        from alb502athena.terraform_export import export

        if last is not None or start is not None or end is not None:
            raise UsageError(
                "--terraform takes no window: the module sets each query's own "
                "(saved_query_window_hours, each schedule's interval)"
            )
        written = export(terraform)
        typer.echo(f"Wrote {len(written)} files under {terraform}", err=True)
        return
    if query is None:
        raise UsageError("name a query (a signature id or `diagnosis`), or use --all --terraform DIR")
    if last is None and start is None:
        last = "1h"
    params = query_params(last, start, end, load_balancer, table)
    if start is None and end is None:
        params = replace(params, window=params.window.as_relative())
    notes: list[str] = []  # said once the text is rendered: an error stays the one line on stderr
    scope = _sql_scope(params, load_balancer, bucket, prefix, account, region, location, notes.append)
    params = replace(params, scope=scope)
    text = render_diagnosis(params) if query == "diagnosis" else render_signature(query, params)
    for note in notes:
        typer.echo(f"Note: {note}", err=True)
    typer.echo(text, nl=False)


def _sql_scope(
    params: QueryParams,
    load_balancer: str | None,
    bucket: str | None,
    prefix: str,
    account: str | None,
    region: str | None,
    location: str | None,
    say: Callable[[str], None],
) -> ObjectScope | None:
    """The objects `alb502 sql` names, from the table's location given as `alb502 ddl` takes it."""
    from alb502athena.scope import resolve_scope

    given = [n for n, v in (("--bucket", bucket), ("--account", account), ("--region", region)) if v]
    if location is not None and given:
        raise UsageError("--location replaces --bucket/--account/--region: give one or the other")
    if location is None and given and len(given) < 3:
        missing = [n for n in ("--bucket", "--account", "--region") if n not in given]
        raise UsageError(f"missing {', '.join(missing)} (the S3 location of the logs)")
    if location is None and not given:
        say(
            "no table location (--bucket/--account/--region or --location): the query reads the window's "
            "`day` partitions whole"
        )
        return None
    if location is not None:
        root = location.rstrip("/")
        if not _LOCATION.fullmatch(root):
            raise UsageError(f"invalid --location {location!r}: e.g. s3://my-alb-logs/AWSLogs/.../eu-west-1")
    else:
        assert bucket and account and region
        root = s3_log_root(bucket, prefix, account, region)
    return resolve_scope(root, params.window, load_balancer, say=say)


@domain_errors
def ddl(
    bucket: Annotated[
        str | None,
        typer.Option(
            "--bucket",
            help="S3 bucket the load balancer logs to.",
            envvar="ALB502_BUCKET",
        ),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option("--account", help="AWS account id (12 digits) in the log path."),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", help="Region of the load balancer.", envvar="AWS_REGION"),
    ] = None,
    prefix: Annotated[
        str,
        typer.Option("--prefix", help="Prefix set in the load balancer's log attribute."),
    ] = "",
    table: TableOpt = QueryParams.table,
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="First day of partition projection, yyyy/MM/dd (default: ALB's launch, so every "
            "line shape the table reads is in range).",
        ),
    ] = "2016/08/01",
    engine: Annotated[
        str,
        typer.Option(
            "--engine", help="athena (Hive DDL for the Athena console) or trino (Trino's Hive connector)."
        ),
    ] = "athena",
    location: Annotated[
        str | None,
        typer.Option(
            "--location",
            help="trino: the folder that holds yyyy/mm/dd, instead of --bucket/--account/--region.",
            rich_help_panel=TRINO,
        ),
    ] = None,
) -> None:
    """Print CREATE TABLE for the ALB logs: Athena (partition projection on `day`) or its Trino twin.

    Example: alb502 ddl --bucket my-alb-logs --prefix prod --account 123456789012 --region eu-west-1

    Trino: alb502 ddl --engine trino --location s3://my-alb-logs/AWSLogs/123456789012/elasticloadbalancing/eu-west-1
    """
    if engine not in ("athena", "trino"):
        raise UsageError(f"invalid --engine {engine!r}: athena or trino")
    if location is not None and engine != "trino":
        raise UsageError(
            "--location goes with --engine trino; Athena reads the S3 layout from --bucket/--account/--region"
        )
    if location is None:
        missing = [
            n for n, v in (("--bucket", bucket), ("--account", account), ("--region", region)) if not v
        ]
        if missing:
            raise UsageError(f"missing {', '.join(missing)} (the S3 location of the logs)")
    if engine == "athena":
        assert bucket and account and region
        text = render_athena_ddl(
            bucket=bucket, prefix=prefix, account=account, region=region, table=table, projection_start=since
        )
    else:
        if location is None:
            assert bucket and account and region
            location = s3_log_root(bucket, prefix, account, region)
        text = render_trino_ddl(location=location, table=table, projection_start=since)
    typer.echo(text, nl=False)
