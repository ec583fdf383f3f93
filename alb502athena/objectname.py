"""The one rule for the names of the objects Elastic Load Balancing writes to a log bucket.

ALB writes three kinds of object to the same `AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/`
folders, told apart by a prefix (AWS's "Access logs", "Connection logs" and "Health check logs" pages):

    <account>_elasticloadbalancing_<region>_app.<name>.<id>_<end YYYYMMDDTHHMMZ>_<node ip>_<random>.log.gz
    conn_log_<the same>           (some AWS pages write `conn_log.`; S3 holds `conn_log_`; both are read)
    health_check_log_<the same>   (since November 2025)

Network and Classic load balancers write their access logs to such folders too, under names with
`net.<name>.<id>` (and no node ip) or the bare Classic name in place of `app.<name>.<id>`. A name that
fits none of these is not an ELB object name (a renamed or hand-made file) and parses to None.

This is a pure function of the name, so the same rule can be rendered into `$path` predicates and S3
listings later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

Kind = Literal["access", "connection", "health_check"]
LoadBalancerType = Literal["application", "network", "classic"]

# The pieces of ELB names and ARNs, written once: object names here, the `--load-balancer` value
# (render.py) and target group ARNs (arn.py) are built from them.
ACCOUNT = r"\d{12}"
REGION = r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}"  # eu-west-1, us-gov-west-1, us-isob-east-1
LB_NAME = r"[A-Za-z0-9-]{1,32}"
LB_ID = r"[0-9a-f]{16}"
APP_LOAD_BALANCER = rf"app/{LB_NAME}/{LB_ID}"  # the `elb` field, CloudWatch's LoadBalancer dimension

# The start of a name, up to the end time: the kind, account and region (the group), then the load
# balancer. Object names and the name prefixes a listing finds are read by the same pattern.
_HEAD = (
    r"(?P<prefix>conn_log[._]|health_check_log_)?"
    rf"(?P<account>{ACCOUNT})_elasticloadbalancing_(?P<region>{REGION})_"
    rf"(?P<lb>app\.(?P<app_name>{LB_NAME})\.(?P<app_id>{LB_ID})"
    rf"|net\.(?P<net_name>{LB_NAME})\.(?P<net_id>{LB_ID})"
    rf"|(?P<classic>{LB_NAME}))_"
)
_PREFIX = re.compile(_HEAD)
_NAME = re.compile(
    _HEAD + r"(?P<end>\d{8}T\d{4}Z)"
    r"(?:_(?P<ip>[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:]*))?"
    r"_(?P<random>[A-Za-z0-9]+)\.log(?:\.gz)?"
)
# A file holds the entries of the five minutes before its end time; the margin covers entries ALB
# writes a little late, so an object is only left out when none of its entries can be in the window.
# Local discovery, the `"$path"` ranges rendered into the SQL and S3 listings all apply this rule.
FILE_SPAN = timedelta(minutes=5)
LATE_MARGIN = timedelta(minutes=10)

_KINDS: dict[str | None, Kind] = {
    None: "access",
    "conn_log_": "connection",
    "conn_log.": "connection",
    "health_check_log_": "health_check",
}
KIND_LABELS: dict[str, str] = {
    "connection": "connection-log",
    "health_check": "health-check-log",
    "network": "Network Load Balancer access-log",
    "classic": "Classic Load Balancer access-log",
}


@dataclass(frozen=True)
class ObjectName:
    kind: Kind
    load_balancer_type: LoadBalancerType
    account: str
    region: str
    load_balancer: str  # app/<name>/<id> (the `elb` field), net/<name>/<id>, or the Classic name
    end_time: datetime  # UTC; the object holds about the five minutes before it
    node_ip: str | None  # the load balancer node; Network Load Balancer names carry none

    @property
    def is_alb_access_log(self) -> bool:
        return self.kind == "access" and self.load_balancer_type == "application"

    @property
    def set_aside_as(self) -> str | None:
        """Why an access-log reader must leave this object out, as a kind ('connection', 'health_check',
        'network', 'classic'); None for an ALB access log."""
        if self.kind != "access":
            return self.kind
        return None if self.load_balancer_type == "application" else self.load_balancer_type


def _load_balancer(m: re.Match[str]) -> tuple[LoadBalancerType, str]:
    """The type and name (`app/<name>/<id>`, `net/<name>/<id>`, the Classic name) a _HEAD match holds."""
    if m["app_name"] is not None:
        return "application", f"app/{m['app_name']}/{m['app_id']}"
    if m["net_name"] is not None:
        return "network", f"net/{m['net_name']}/{m['net_id']}"
    return "classic", m["classic"]


def parse(name: str) -> ObjectName | None:
    """The parts of an ELB log object's name (its last path segment), or None if it is not one."""
    m = _NAME.fullmatch(name)
    if m is None:
        return None
    e = m["end"]  # YYYYMMDDTHHMMZ, digits checked by the pattern; strptime was most of a name's cost
    try:
        end = datetime(int(e[0:4]), int(e[4:6]), int(e[6:8]), int(e[9:11]), int(e[11:13]), tzinfo=UTC)
    except ValueError:  # 20261340T2599Z: digits in the right places, not a time
        return None
    lb_type, lb = _load_balancer(m)
    kind = _KINDS[m["prefix"]]
    if kind != "access" and lb_type != "application":
        return None  # connection and health-check logs are ALB-only
    return ObjectName(kind, lb_type, m["account"], m["region"], lb, end, m["ip"])


def name_prefix(name: str) -> str | None:
    """The part of an ELB object name before its end time (`conn_log_<account>_..._app.<name>.<id>_`):
    the names of one load balancer and kind share it and sort by end time after it. None when the name
    is no ELB object's."""
    m = _NAME.fullmatch(name)
    return name[: m.start("end")] if m is not None else None


def name_group(name: str) -> str | None:
    """The part of an ELB object name before its load balancer (`conn_log_<account>_elasticloadbalancing_
    <region>_`): the names of one kind, account and region share it, and after it each load balancer's
    name prefix runs to the next `_`. None when the name is no ELB object's."""
    m = _NAME.fullmatch(name)
    return name[: m.start("lb")] if m is not None else None


def prefix_load_balancer(prefix: str) -> str | None:
    """The ALB (`app/<name>/<id>`) whose access-log names start with `prefix` (objectname.name_prefix's
    form), or None: another kind, a Network or Classic load balancer, or no ELB name prefix."""
    m = _PREFIX.fullmatch(prefix)
    if m is None or m["prefix"] is not None:
        return None
    lb_type, lb = _load_balancer(m)
    return lb if lb_type == "application" else None


def _ceil_minute(moment: datetime) -> datetime:
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(minutes=1)


def end_time_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The first and last end times (whole minutes, both included) of the objects that may hold entries
    of the window [start, end)."""
    last = (end + FILE_SPAN + LATE_MARGIN).replace(second=0, microsecond=0)
    return _ceil_minute(start), last


def may_hold(end_time: datetime, start: datetime, end: datetime) -> bool:
    """Whether an object with this end time may hold entries of [start, end)."""
    first, last = end_time_range(start, end)
    return first <= end_time <= last


def end_time_text(moment: datetime) -> str:
    """An end time as object names write it: 20261120T0925Z."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def access_log_prefix(account: str, region: str, load_balancer: str) -> str:
    """The start of every access-log object name of one Application Load Balancer, up to its end time:
    `<account>_elasticloadbalancing_<region>_app.<name>.<id>_`. `load_balancer` is app/<name>/<id>."""
    m = re.fullmatch(rf"app/({LB_NAME})/({LB_ID})", load_balancer)
    if m is None or re.fullmatch(ACCOUNT, account) is None or re.fullmatch(REGION, region) is None:
        raise ValueError(f"not an ALB access-log name prefix: {account!r} {region!r} {load_balancer!r}")
    return f"{account}_elasticloadbalancing_{region}_app.{m[1]}.{m[2]}_"
