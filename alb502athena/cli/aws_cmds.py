"""Commands about the AWS side: check-table and metrics."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from alb502athena.cli.options import (
    ATHENA,
    WINDOW,
    EndOpt,
    LastOpt,
    OutputLocationOpt,
    OutputOpt,
    ProfileOpt,
    RegionOpt,
    StartOpt,
    TimeoutOpt,
    WorkgroupOpt,
    domain_errors,
    settings,
)
from alb502athena.errors import UsageError
from alb502athena.output import rows_csv, rows_markdown
from alb502athena.render import QueryParams
from alb502athena.safetext import inert


def _lister(aws: object) -> object:
    """An S3 client whose calls fail softly: without s3:ListBucket the data-start check is skipped."""
    from alb502athena.aws import client

    s3 = client(aws, "s3")

    class Soft:
        def list_objects_v2(self, **kwargs: object) -> dict[str, object]:
            try:
                return dict(s3.list_objects_v2(**kwargs))
            except Exception:  # any AWS refusal: the check is left out, the others stand
                return {}

    return Soft()


@domain_errors
def check_table(
    database: Annotated[
        str,
        typer.Option(
            "--database", help="Glue database of the table.", envvar="ALB502_DATABASE", rich_help_panel=ATHENA
        ),
    ],
    table: Annotated[
        str, typer.Option("--table", help="The table.", envvar="ALB502_TABLE", rich_help_panel=ATHENA)
    ] = QueryParams.table,
    output: OutputOpt = "table",
    workgroup: WorkgroupOpt = None,
    output_location: OutputLocationOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    timeout: TimeoutOpt = 300.0,
    query: Annotated[
        bool,
        typer.Option(
            "--query/--no-query",
            help="Measure unparsed lines over the last day (one small query).",
            rich_help_panel=ATHENA,
        ),
    ] = True,
) -> None:
    """Check an existing Athena table over ALB logs, and say how to fix what is wrong.

    Reads the Glue definition: SerDe, columns, regex (one group per column; every historical line shape),
    partition projection; then counts the last day's lines its regex could not parse. Exit code 1 when
    something is wrong.

    Example: alb502 check-table --database alb --table alb_logs --workgroup alb502
    """
    from alb502athena.aws import client, session, translate
    from alb502athena.checktable import check_table as run_checks
    from alb502athena.engines.athena import AthenaEngine, AthenaSettings
    from alb502athena.render import table_name

    if not table.isidentifier():
        raise UsageError(f"invalid --table {table!r}: letters, digits and underscores only")
    table_name(f"{database}.{table}")  # the name the checks' SQL reads: checked before any AWS call
    aws = session(profile, region)
    engine = None
    if query:
        engine = AthenaEngine(settings(AthenaSettings, locals()), aws_session=aws)
    try:
        checks = run_checks(
            client(aws, "glue"), database, table, engine.run if engine else None, s3=_lister(aws)
        )
    except Exception as exc:
        translated = translate(exc, f"reading the Glue table {database}.{table}")
        if translated is None:
            raise
        raise translated from None
    rows = [[c.name, "ok" if c.ok else "PROBLEM", c.detail, c.fix] for c in checks]
    if output == "json":
        typer.echo(json.dumps([c.as_json() for c in checks], indent=2))
    elif output == "csv":
        typer.echo(rows_csv(["check", "status", "detail", "fix"], rows), nl=False)
    elif output == "markdown":
        typer.echo(rows_markdown(["check", "status", "detail", "fix"], rows), nl=False)
    else:
        for c in checks:
            # The details quote the table's definition (Glue), which whoever may edit it wrote.
            typer.echo(f"{'ok     ' if c.ok else 'PROBLEM'}  {c.name}: {inert(c.detail)}")
            if not c.ok:
                typer.echo(f"         fix: {inert(c.fix)}")
    problems = sum(not c.ok for c in checks)
    if problems:
        typer.echo(f"{problems} problem(s) with {database}.{table}", err=True)
        raise typer.Exit(1)


@domain_errors
def metrics(
    load_balancer: Annotated[
        str,
        typer.Option(
            "--load-balancer",
            help="app/<name>/<id> (the `elb` field of the logs) or the load balancer's ARN.",
            rich_help_panel=WINDOW,
        ),
    ],
    last: LastOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    output: OutputOpt = "table",
    profile: ProfileOpt = None,
    region: RegionOpt = None,
) -> None:
    """Sum the load balancer's 502-related CloudWatch metrics over a window (1-minute Sum).

    Example: alb502 metrics --load-balancer app/shop/50dc6c495c0c9188 --last 3h
    """
    from alb502athena.aws import client, session, translate
    from alb502athena.evidence.metrics import metric_keys, metric_sums
    from alb502athena.render import load_balancer_id
    from alb502athena.window import Window

    load_balancer = load_balancer_id(load_balancer)  # the CloudWatch dimension, from either form
    window = Window.from_options(last or (None if start else "1h"), start, end)
    assert window.start is not None and window.end is not None
    aws = session(profile, region)
    try:
        sums = metric_sums(
            client(aws, "cloudwatch"), metric_keys([load_balancer], []), window.start, window.end
        )
    except Exception as exc:
        translated = translate(exc, "reading CloudWatch metrics")
        if translated is None:
            raise
        raise translated from None
    rows = [[k.metric, f"{v:.0f}"] for k, v in sums.items()]
    if output == "json":
        typer.echo(
            json.dumps(
                {
                    "load_balancer": load_balancer,
                    "window": window.as_json(),
                    "sums": {k.metric: v for k, v in sums.items()},
                },
                indent=2,
            )
        )
    elif output == "csv":
        typer.echo(rows_csv(["metric", "sum"], rows), nl=False)
    elif output == "markdown":
        typer.echo(rows_markdown(["metric", "sum"], rows), nl=False)
    else:
        w = window.as_json()
        typer.echo(f"{load_balancer}, {w['start']} .. {w['end']}")
        for metric, value in rows:
            typer.echo(f"  {metric:32} {value:>10}")
