"""Options shared by several commands, declared once, each in the help panel of what it is for."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from alb502athena.errors import Alb502Error, Interrupted
from alb502athena.output import FORMATS
from alb502athena.render import QueryParams, load_balancer_id, table_name
from alb502athena.window import Window

# The panels of `--help`, per engine and purpose; an option without one is in the first, "Options".
LOCAL = "Local files"
S3 = "S3 bucket"
ATHENA = "Athena"
TRINO = "Trino"
WINDOW = "Window and filters"
OUTPUT = "Output"


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    """An option callback that accepts only `choices`, and names them when it refuses."""

    def check(value: str) -> str:
        if value not in choices:
            raise typer.BadParameter(f"choose one of {', '.join(choices)}")
        return value

    return check


def _finite(value: float) -> float:
    """An option callback that refuses nan and inf, which pass every `min=` bound or none."""
    import math

    if not math.isfinite(value):
        raise typer.BadParameter("a finite number")
    return value


OutputOpt = Annotated[
    str,
    typer.Option(
        "--output",
        "-o",
        help=f"{', '.join(FORMATS[:-1])} or {FORMATS[-1]}.",
        callback=_one_of(FORMATS),
        envvar="ALB502_OUTPUT",
        rich_help_panel=OUTPUT,
    ),
]
LastOpt = Annotated[
    str | None,
    typer.Option("--last", help="Window ending now (or at --end): 30m, 2h, 1d.", rich_help_panel=WINDOW),
]
StartOpt = Annotated[
    str | None,
    typer.Option("--start", help="Window start, ISO-8601 UTC: 2026-11-20T10:00Z.", rich_help_panel=WINDOW),
]
EndOpt = Annotated[
    str | None, typer.Option("--end", help="Window end (exclusive), ISO-8601 UTC.", rich_help_panel=WINDOW)
]
LoadBalancerOpt = Annotated[
    str | None,
    typer.Option(
        "--load-balancer",
        help="Only this load balancer: app/<name>/<id> as in the logs, or its ARN "
        "(arn:...:loadbalancer/app/<name>/<id>).",
        rich_help_panel=WINDOW,
    ),
]
TableOpt = Annotated[
    str,
    typer.Option(
        "--table",
        help="Table to query on Athena or Trino: [database.]table.",
        envvar="ALB502_TABLE",
        rich_help_panel=ATHENA,
    ),
]


S = TypeVar("S")


def settings(cls: type[S], options: Mapping[str, Any], **given: Any) -> S:
    """A settings dataclass built from the command's options of the same names (the fields no option
    sets keep their defaults), plus `given`: the names are written once, on the dataclass."""
    names = {f.name for f in dataclasses.fields(cls)} - set(given)  # type: ignore[arg-type]
    return cls(**{n: options[n] for n in names if n in options}, **given)


def query_params(
    last: str | None,
    start: str | None,
    end: str | None,
    load_balancer: str | None,
    table: str = QueryParams.table,
) -> QueryParams:
    lb = load_balancer_id(load_balancer) if load_balancer is not None else None
    window = Window.from_options(last, start, end)
    table_name(table)  # a free value, refused before the engine asks Glue or Trino about the table
    return QueryParams(window, lb, table)


F = TypeVar("F", bound=Callable[..., Any])


def domain_errors(func: F) -> F:
    """Turn the library's exceptions into one `Error: ...` line on stderr and the exception's exit code;
    Ctrl-C into `Error: interrupted` and 130; an output that cannot be written into one line too."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from alb502athena import interrupts
        from alb502athena.cli.faults import output_failed
        from alb502athena.safetext import inert_lines  # messages name files and quote engines' errors

        try:
            with interrupts.raising():
                return func(*args, **kwargs)
        except Alb502Error as exc:
            typer.echo(f"Error: {inert_lines(exc)}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("Error: interrupted", err=True)
            raise typer.Exit(Interrupted.exit_code) from None
        except OSError as exc:
            message, code = output_failed(exc)
            if message is not None:
                typer.echo(f"Error: {inert_lines(message)}", err=True)
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
    list[str] | None,
    typer.Argument(
        help="Log files or folders for the local engine (any mix of .log and .log.gz, nested as "
        "aws s3 sync leaves them), or one s3://bucket/prefix to read the log bucket directly.",
        show_default=False,
        rich_help_panel=LOCAL,
    ),
]
TrinoUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--trino-url",
        help="Trino coordinator, e.g. https://trino:8443.",
        envvar="ALB502_TRINO_URL",
        rich_help_panel=TRINO,
    ),
]
CatalogOpt = Annotated[
    str,
    typer.Option("--catalog", help="Trino catalog.", envvar="ALB502_TRINO_CATALOG", rich_help_panel=TRINO),
]
SchemaOpt = Annotated[
    str, typer.Option("--schema", help="Trino schema.", envvar="ALB502_TRINO_SCHEMA", rich_help_panel=TRINO)
]
UserOpt = Annotated[
    str | None,
    typer.Option(
        "--user", help="Trino user (default: your login).", envvar="ALB502_TRINO_USER", rich_help_panel=TRINO
    ),
]
PasswordOpt = Annotated[
    str | None,
    typer.Option(
        "--password",
        help="Trino password (https only); prefer the environment variable.",
        envvar="ALB502_TRINO_PASSWORD",
        show_default=False,
        rich_help_panel=TRINO,
    ),
]
CaBundleOpt = Annotated[
    Path | None,
    typer.Option(
        "--ca-bundle",
        help="CA certificates to verify Trino's TLS certificate.",
        envvar="ALB502_CA_BUNDLE",
        rich_help_panel=TRINO,
    ),
]
InsecureOpt = Annotated[
    bool, typer.Option("--insecure", help="Do not verify Trino's TLS certificate.", rich_help_panel=TRINO)
]

DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="Athena database (Glue) of the table.",
        envvar="ALB502_DATABASE",
        rich_help_panel=ATHENA,
    ),
]
WorkgroupOpt = Annotated[
    str | None,
    typer.Option("--workgroup", help="Athena work group.", envvar="ALB502_WORKGROUP", rich_help_panel=ATHENA),
]
OutputLocationOpt = Annotated[
    str | None,
    typer.Option(
        "--output-location",
        help="s3:// folder for Athena's results (if the work group sets none).",
        envvar="ALB502_OUTPUT_LOCATION",
        rich_help_panel=ATHENA,
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="AWS profile (S3, Athena, AWS evidence).",
        envvar="AWS_PROFILE",
        rich_help_panel=ATHENA,
    ),
]
RegionOpt = Annotated[
    str | None,
    typer.Option(
        "--region",
        help="AWS region (Athena, AWS evidence); with s3://, also only the logs of this region (when "
        "given on the command line).",
        envvar=["AWS_REGION", "AWS_DEFAULT_REGION"],
        rich_help_panel=ATHENA,
    ),
]
ReuseOpt = Annotated[
    int | None,
    typer.Option(
        "--reuse-minutes",
        min=1,
        max=10080,
        help="Reuse an identical Athena query's result this recent.",
        rich_help_panel=ATHENA,
    ),
]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        min=1,
        callback=_finite,
        help="Stop the Athena query after this many seconds.",
        rich_help_panel=ATHENA,
    ),
]
PriceOpt = Annotated[
    float,
    typer.Option(
        "--price-per-tb",
        min=0,
        callback=_finite,
        help="USD per TB scanned, for the cost shown.",
        envvar="ALB502_PRICE_PER_TB",
        rich_help_panel=ATHENA,
    ),
]
MaxScanOpt = Annotated[
    str | None,
    typer.Option(
        "--max-scan",
        help="Do not start an Athena query estimated to read more than this: 500MB, 1.5GB, 2GiB or bytes "
        "(KB, MB, GB, TB are powers of 1024, as in the AWS CLI).",
        envvar="ALB502_MAX_SCAN",
        show_default=False,
        rich_help_panel=ATHENA,
    ),
]

# The options of `diagnose` alone, each in its panel.
FailOnFindingsOpt = Annotated[
    bool,
    typer.Option(
        "--fail-on-findings", help="Exit with code 1 when any 502 is found.", rich_help_panel=OUTPUT
    ),
]
ReportOpt = Annotated[
    Path | None,
    typer.Option(
        "--report",
        help="Also write a self-contained HTML report (timeline, evidence, SQL) here.",
        rich_help_panel=OUTPUT,
    ),
]
AwsEvidenceOpt = Annotated[
    bool | None,
    typer.Option(
        "--aws-evidence/--no-aws-evidence",
        help="Add CloudWatch metrics and load balancer configuration (default: on with --engine athena).",
        show_default=False,
        rich_help_panel=ATHENA,
    ),
]
CloudTrailOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--cloudtrail",
        help="CloudTrail log files or folders (as S3 holds them), for DeregisterTargets events offline.",
        rich_help_panel=LOCAL,
    ),
]
CloudTrailTableOpt = Annotated[
    str | None,
    typer.Option(
        "--cloudtrail-table",
        help="CloudTrail table (AWS's Athena DDL) to join for DeregisterTargets (athena, trino engines).",
        envvar="ALB502_CLOUDTRAIL_TABLE",
        rich_help_panel=ATHENA,
    ),
]
LimitOpt = Annotated[
    int, typer.Option("--limit", min=0, help="Show at most this many rows (0: all).", rich_help_panel=OUTPUT)
]

# Reading the log bucket directly (a path s3://bucket/prefix).
AccountOpt = Annotated[
    str | None,
    typer.Option(
        "--account",
        help="Only the logs of this AWS account (12 digits) under the prefix.",
        rich_help_panel=S3,
    ),
]
RequestPayerOpt = Annotated[
    str | None,
    typer.Option(
        "--request-payer",
        help="requester: read a requester-pays bucket (you pay its requests and transfer).",
        callback=lambda v: v if v is None else _one_of(("requester",))(v),
        rich_help_panel=S3,
    ),
]
MaxDownloadOpt = Annotated[
    str | None,
    typer.Option(
        "--max-download",
        help="Read nothing when the window needs more than this downloaded (cached objects excluded): "
        "500MB, 2GiB or bytes.",
        envvar="ALB502_MAX_DOWNLOAD",
        show_default=False,
        rich_help_panel=S3,
    ),
]
CacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache",
        help="Keep the objects read here, so that a second run downloads only what is new "
        "(default: ~/.cache/alb502athena/s3, under ALB502_CACHE if set).",
        show_default=False,
        rich_help_panel=S3,
    ),
]
NoCacheOpt = Annotated[
    bool,
    typer.Option("--no-cache", help="Keep no object on disk (read from S3 every time).", rich_help_panel=S3),
]
CacheSizeOpt = Annotated[
    str,
    typer.Option(
        "--cache-size",
        help="At most this much in the cache; the objects used longest ago go first.",
        envvar="ALB502_CACHE_SIZE",
        rich_help_panel=S3,
    ),
]
