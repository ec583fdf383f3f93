"""Rendering the catalogue's Jinja templates into Athena (Trino-dialect) SQL.

Templates fail loudly (StrictUndefined) and never quote values: every value arrives here already
validated and rendered as a literal by alb502athena.sqltext.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from alb502athena.arn import load_balancer
from alb502athena.catalogue import get_signature
from alb502athena.errors import UsageError
from alb502athena.logformat import log_format
from alb502athena.objectname import (
    ACCOUNT,
    APP_LOAD_BALANCER,
    FILE_SPAN,
    LATE_MARGIN,
    REGION,
    end_time_range,
    end_time_text,
)
from alb502athena.reserved import RESERVED
from alb502athena.resources import sql_dir
from alb502athena.scope import ObjectScope
from alb502athena.sqltext import sql_string
from alb502athena.window import SqlWindow, Window

if TYPE_CHECKING:
    import jinja2

# app/<name>/<id>: the `elb` field and the CloudWatch LoadBalancer dimension; the load balancer's ARN
# ends with it (arn:<partition>:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>).
_LOAD_BALANCER = re.compile(APP_LOAD_BALANCER)
_TABLE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,2}")


@cache
def environment() -> jinja2.Environment:
    import jinja2  # here, not at the top: `alb502 --help` needs no template

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(sql_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )


def table_name(name: str) -> str:
    """[catalog.][schema.]table, identifiers only: a table name cannot be a literal. Each part is a name
    as Glue stores it (lowercase, at most 255 characters) that needs no quotes in Athena's DDL or
    queries, nor in Trino's: it starts with a letter and is no reserved word."""
    if not _TABLE.fullmatch(name) or any(len(part) > 255 for part in name.split(".")):
        raise UsageError(
            f"invalid table name {name!r}: [database.]table, each a lowercase letter then lowercase "
            "letters, digits and underscores (at most 255), e.g. alb.alb_logs"
        )
    reserved = [part for part in name.split(".") if part.upper() in RESERVED]
    if reserved:
        raise UsageError(
            f"invalid table name {name!r}: {reserved[0]!r} is a reserved word of Athena's SQL "
            "(DDL or queries); use another name, e.g. alb_logs"
        )
    return name


def load_balancer_id(value: str) -> str:
    """app/<name>/<id> from itself or from the load balancer's ARN, as the logs' `elb` field has it."""
    if _LOAD_BALANCER.fullmatch(value):
        return value
    arn = load_balancer(value)
    if arn is not None:
        return arn.id
    raise UsageError(
        f"invalid --load-balancer {value!r}: use app/<name>/<16 hex id> (the `elb` field of the logs, "
        "e.g. app/my-alb/50dc6c495c0c9188) or the load balancer's ARN "
        "(arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>)"
    )


def load_balancer_literal(value: str | None) -> str | None:
    """The SQL literal compared with `elb`: the value reduced to app/<name>/<id>, then quoted."""
    if value is None:
        return None
    return sql_string(load_balancer_id(value))


@dataclass(frozen=True)
class QueryParams:
    window: Window
    load_balancer: str | None = None
    table: str = "alb_logs"
    # The objects the query may read beyond its `day` partitions (scope.resolve_scope); None: whole days.
    scope: ObjectScope | None = None
    # The `"$path"` ranges to render as given instead of the scope's (terraform_export renders them with
    # slots for Terraform to fill); None: path_ranges(window, scope).
    paths: SqlPaths | None = None


@dataclass(frozen=True)
class SqlPaths:
    """The `"$path"` ranges of a scope, as the literals sql/_macros/alb.sql puts together.

    A fixed window has one range per day folder of its partitions and per name prefix: the object names
    of every folder carry their own end time, so every folder gets the same name bounds (an object
    delivered the next day is still found). A relative window's bounds are computed by the engine from
    current_timestamp, in the same way, for every day folder the window's partitions may hold."""

    ranges: tuple[tuple[str, str], ...] = ()  # fixed window: ('<root>/<day>/<lower>', '<...upper>')
    root: str | None = None  # relative window: '<root>/'
    # relative window, per prefix: (lower, upper, timed); timed names end with the end time bounds.
    names: tuple[tuple[str, str, bool], ...] = ()
    days: int = 0  # relative window: day folders after the window's first
    minutes: int = 0  # relative window: its length
    late_minutes: int = 0  # relative window: FILE_SPAN + LATE_MARGIN, past its end


# Sorts after every end time, and after `app.` the next name character ('.' < '/'): with an empty upper
# end time, `<prefix>/` bounds the names that start with `<prefix>.`.
_ANY_APP = "app."


def _name_bounds(scope: ObjectScope) -> list[tuple[str, str, bool]]:
    """(lower, upper, timed) per name prefix: a load balancer's prefix gets the end time bounds; without
    prefixes, every ALB access log of the account and region (no time bounds, other log types out)."""
    if scope.prefixes:
        return [(p, p, True) for p in scope.prefixes]
    if scope.account is None or scope.region is None:
        return []
    every = f"{scope.account}_elasticloadbalancing_{scope.region}_{_ANY_APP}"
    return [(every, every[:-1] + "/", False)]


def path_ranges(window: Window, scope: ObjectScope | None) -> SqlPaths | None:
    """The `"$path"` ranges that read the window's objects of the scope, None where nothing narrows
    the `day` partitions (no scope, no window, no prefix nor account)."""
    if scope is None or window.start is None or window.end is None:
        return None
    names = _name_bounds(scope)
    if not names:
        return None
    root = scope.root.rstrip("/")
    if window.relative:
        late = FILE_SPAN + LATE_MARGIN
        minutes = window.sql().relative_minutes or 0
        # day(now - N) .. day(now): no object ends in the future, so no later folder holds any yet.
        days = -(-minutes // (24 * 60))
        return SqlPaths(
            root=sql_string(root + "/"),
            names=tuple((sql_string(lo), sql_string(hi), timed) for lo, hi, timed in names),
            days=days,
            minutes=minutes,
            late_minutes=int(late.total_seconds() // 60),
        )
    first, last = end_time_range(window.start, window.end)
    lower_time, upper_time = end_time_text(first), end_time_text(last + timedelta(minutes=1))
    ranges = []
    for day in window.day_folders():
        folder = f"{root}/{day}/"
        for lo, hi, timed in names:
            lower = folder + lo + (lower_time if timed else "")
            upper = folder + hi + (upper_time if timed else "")
            ranges.append((sql_string(lower), sql_string(upper)))
    return SqlPaths(ranges=tuple(ranges))


def sql_window(params: QueryParams) -> SqlWindow:
    """The window's literals for the templates, with the scope's `"$path"` ranges."""
    paths = params.paths if params.paths is not None else path_ranges(params.window, params.scope)
    return replace(params.window.sql(), paths=paths)


def _render(template: str, params: QueryParams, **extra: object) -> str:
    from alb502athena.rendered import rendered

    context = {
        "window": sql_window(params),
        "elb": load_balancer_literal(params.load_balancer),
        "table": table_name(params.table),
        **extra,
    }
    # From the cache when this context was rendered before: no Jinja to import and compile.
    text = rendered(template, context, lambda: environment().get_template(template).render(**context))
    return text.strip() + "\n"


def render_diagnosis(params: QueryParams) -> str:
    return _render("diagnosis.sql", params)


def render_signature(signature_id: str, params: QueryParams, limit: int | None = None) -> str:
    """A signature's rows; with `limit`, the first that many (in the query: the engine returns no more,
    Athena and Trino alike)."""
    get_signature(signature_id)  # an unknown id is a usage error with the list of known ones
    sql = _render(f"signatures/{signature_id}.sql", params)
    return sql if limit is None else f"{sql.rstrip()}\nLIMIT {int(limit)}\n"


def render_samples(params: QueryParams, columns: Sequence[str], per_signature: int) -> str:
    """The first `per_signature` rows of every signature, with these columns, in one query."""
    known = set(log_format().column_names)
    unknown = [c for c in columns if c not in known]
    if unknown:  # identifiers reach the SQL as they are: only the format's own columns may
        raise UsageError(f"not columns of the log format: {', '.join(unknown)}")
    return _render("samples.sql", params, columns=list(columns), per_signature=int(per_signature))


def render_load_balancers(params: QueryParams) -> str:
    """sql/load_balancers.sql: the load balancers of the window's partitions, whatever --load-balancer
    says (it is what the verdict names when that filter matched no line)."""
    # Every load balancer of the partitions: the scope's prefixes must not narrow it to the one asked for.
    scope = replace(params.scope, prefixes=()) if params.scope is not None else None
    return _render("load_balancers.sql", QueryParams(params.window, None, params.table, scope))


def render_unparsed_share(table: str, root: str | None) -> str:
    """sql/checks/unparsed-share.sql over the last day: with the table's root, its access logs only (the
    connection and health-check logs of the same folders would read as unparsed lines)."""
    from alb502athena.scope import resolve_scope

    window = Window(datetime.now(UTC) - timedelta(days=1), datetime.now(UTC), relative=True)
    params = QueryParams(window, table=table, scope=resolve_scope(root, window, None))
    return _render("checks/unparsed-share.sql", params)


def location_from_template(template: str | None) -> str | None:
    """<root> from a projection's location template <root>/${day} (Athena's storage.location.template,
    Trino's partition_projection_location_template), None for any other layout."""
    root, sep, rest = (template or "").rpartition("/")
    return root if sep and rest == "${day}" and root else None


def render_macro(name: str) -> str:
    from alb502athena.rendered import rendered

    def render() -> str:
        return str(getattr(environment().get_template("_macros/alb.sql").module, name)())

    return rendered(f"_macros/alb.sql {name}()", {}, render)


def _hive_string(value: str) -> str:
    # Hive string literals treat backslash as an escape character (unlike Trino's).
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ACCOUNT = re.compile(ACCOUNT)
_REGION = re.compile(REGION)
_PREFIX = re.compile(r"[A-Za-z0-9!_.*()/-]*")


def s3_log_root(bucket: str, prefix: str, account: str, region: str) -> str:
    if not _BUCKET.fullmatch(bucket):
        raise UsageError(f"invalid --bucket {bucket!r}: an S3 bucket name, e.g. my-alb-logs")
    if not _ACCOUNT.fullmatch(account):
        raise UsageError(f"invalid --account {account!r}: 12 digits")
    if not _REGION.fullmatch(region):
        raise UsageError(f"invalid --region {region!r}: e.g. eu-west-1")
    clean = prefix.strip("/")
    if not _PREFIX.fullmatch(clean):
        raise UsageError(f"invalid --prefix {prefix!r}: letters, digits and !_.*()/- only")
    parts = [bucket, clean, "AWSLogs", account, "elasticloadbalancing", region]
    return "s3://" + "/".join(p for p in parts if p)


_TRINO_LOCATION = re.compile(r"(s3a?|local|gs|abfss?)://[A-Za-z0-9!_.*()/:-]*")


def _check_projection_start(value: str) -> None:
    """A real day, yyyy/MM/dd, from 1970 to today: partition projection lists the days from it to NOW,
    so a day that does not exist, or one in the future, leaves the table with no partition at all."""
    from datetime import UTC, datetime

    problem = "use yyyy/MM/dd, e.g. 2016/08/01"
    if re.fullmatch(r"[0-9]{4}/[0-9]{2}/[0-9]{2}", value):
        try:
            day = datetime.strptime(value, "%Y/%m/%d").replace(tzinfo=UTC)
        except ValueError:
            problem = "no such day; use yyyy/MM/dd, e.g. 2016/08/01"
        else:
            if day.year >= 1970 and day <= datetime.now(UTC):
                return
            problem = "use a day from 1970/01/01 to today"
    raise UsageError(f"invalid --since {value!r}: {problem}")


def render_trino_ddl(*, location: str, table: str, projection_start: str) -> str:
    """The Trino twin of the Athena table, over `location` (the folder that holds yyyy/mm/dd)."""
    _check_projection_start(projection_start)
    root = location.rstrip("/")
    if not _TRINO_LOCATION.fullmatch(root):
        raise UsageError(f"invalid --location {location!r}: e.g. s3://my-alb-logs/AWSLogs/.../eu-west-1")
    fmt = log_format()
    columns = [{"name": c.name, "type": c.trino_type} for c in fmt.columns]
    text = (
        environment()
        .get_template("ddl/trino.sql")
        .render(
            table=table_name(table),
            columns=columns,
            regex=sql_string(fmt.regex()),
            location=sql_string(root),
            location_template=sql_string(root + "/${day}"),
            projection_start=sql_string(projection_start),
        )
    )
    return text.strip() + "\n"


def render_athena_ddl(
    *, bucket: str, prefix: str, account: str, region: str, table: str, projection_start: str
) -> str:
    _check_projection_start(projection_start)
    root = s3_log_root(bucket, prefix, account, region)
    fmt = log_format()
    columns = [{"name": c.name, "type": c.type} for c in fmt.columns]
    text = (
        environment()
        .get_template("ddl/athena.sql")
        .render(
            table=table_name(table),
            columns=columns,
            regex=_hive_string(fmt.regex()),
            location=_hive_string(root + "/"),
            location_template=_hive_string(root + "/${day}"),
            projection_range=_hive_string(f"{projection_start},NOW"),
        )
    )
    return text.strip() + "\n"
