"""Options shared by several commands, declared once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from alb502athena.errors import Alb502Error, Interrupted
from alb502athena.output import FORMATS
from alb502athena.render import QueryParams
from alb502athena.window import Window


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    """An option callback that accepts only `choices`, and names them when it refuses."""

    def check(value: str) -> str:
        if value not in choices:
            raise typer.BadParameter(f"choose one of {', '.join(choices)}")
        return value

    return check


OutputOpt = Annotated[
    str,
    typer.Option(
        "--output",
        "-o",
        help=f"{', '.join(FORMATS[:-1])} or {FORMATS[-1]}.",
        callback=_one_of(FORMATS),
        envvar="ALB502_OUTPUT",
    ),
]
LastOpt = Annotated[str | None, typer.Option("--last", help="Window ending now (or at --end): 30m, 2h, 1d.")]
StartOpt = Annotated[
    str | None, typer.Option("--start", help="Window start, ISO-8601 UTC: 2026-11-20T10:00Z.")
]
EndOpt = Annotated[str | None, typer.Option("--end", help="Window end (exclusive), ISO-8601 UTC.")]
LoadBalancerOpt = Annotated[
    str | None,
    typer.Option("--load-balancer", help="Only this load balancer: app/<name>/<id>, as in the logs."),
]
TableOpt = Annotated[
    str, typer.Option("--table", help="Athena table to query: [database.]table.", envvar="ALB502_TABLE")
]


def query_params(
    last: str | None,
    start: str | None,
    end: str | None,
    load_balancer: str | None,
    table: str = QueryParams.table,
) -> QueryParams:
    return QueryParams(Window.from_options(last, start, end), load_balancer, table)


F = TypeVar("F", bound=Callable[..., Any])


def domain_errors(func: F) -> F:
    """Turn the library's exceptions into one `Error: ...` line on stderr and the exception's exit code;
    Ctrl-C into `Error: interrupted` and 130; an output that cannot be written into one line too."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from alb502athena import interrupts
        from alb502athena.cli.faults import output_failed

        try:
            with interrupts.raising():
                return func(*args, **kwargs)
        except Alb502Error as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("Error: interrupted", err=True)
            raise typer.Exit(Interrupted.exit_code) from None
        except OSError as exc:
            message, code = output_failed(exc)
            if message is not None:
                typer.echo(f"Error: {message}", err=True)
            raise typer.Exit(code) from None

    return wrapper  # type: ignore[return-value]


ENGINES = ("local", "athena", "trino")
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        help="local: the log files given (DuckDB); athena: an Athena table; trino: a Trino cluster's table.",
        callback=_one_of(ENGINES),
        envvar="ALB502_ENGINE",
    ),
]
OptionalPathsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Log files or folders for the local engine (any mix of .log and .log.gz, nested as "
        "aws s3 sync leaves them).",
        show_default=False,
    ),
]
TrinoUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--trino-url", help="Trino coordinator, e.g. https://trino:8443.", envvar="ALB502_TRINO_URL"
    ),
]
CatalogOpt = Annotated[str, typer.Option("--catalog", help="Trino catalog.", envvar="ALB502_TRINO_CATALOG")]
SchemaOpt = Annotated[str, typer.Option("--schema", help="Trino schema.", envvar="ALB502_TRINO_SCHEMA")]
UserOpt = Annotated[
    str | None, typer.Option("--user", help="Trino user (default: your login).", envvar="ALB502_TRINO_USER")
]
PasswordOpt = Annotated[
    str | None,
    typer.Option(
        "--password",
        help="Trino password (https only); prefer the environment variable.",
        envvar="ALB502_TRINO_PASSWORD",
        show_default=False,
    ),
]
CaBundleOpt = Annotated[
    Path | None,
    typer.Option(
        "--ca-bundle", help="CA certificates to verify Trino's TLS certificate.", envvar="ALB502_CA_BUNDLE"
    ),
]
InsecureOpt = Annotated[bool, typer.Option("--insecure", help="Do not verify Trino's TLS certificate.")]

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database", help="Athena database (Glue) of the table.", envvar="ALB502_DATABASE"),
]
WorkgroupOpt = Annotated[
    str | None, typer.Option("--workgroup", help="Athena work group.", envvar="ALB502_WORKGROUP")
]
OutputLocationOpt = Annotated[
    str | None,
    typer.Option(
        "--output-location",
        help="s3:// folder for Athena's results (if the work group sets none).",
        envvar="ALB502_OUTPUT_LOCATION",
    ),
]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="AWS profile.", envvar="AWS_PROFILE")]
RegionOpt = Annotated[
    str | None, typer.Option("--region", help="AWS region.", envvar=["AWS_REGION", "AWS_DEFAULT_REGION"])
]
ReuseOpt = Annotated[
    int | None,
    typer.Option(
        "--reuse-minutes", min=1, max=10080, help="Reuse an identical Athena query's result this recent."
    ),
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=1, help="Stop the Athena query after this many seconds.")
]
PriceOpt = Annotated[
    float,
    typer.Option(
        "--price-per-tb", min=0, help="USD per TB scanned, for the cost shown.", envvar="ALB502_PRICE_PER_TB"
    ),
]
