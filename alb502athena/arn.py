"""The one reading of the target group ARNs the logs carry (the `target_group_arn` field)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from alb502athena.objectname import ACCOUNT, APP_LOAD_BALANCER, LB_ID, LB_NAME, REGION

_TARGET_GROUP = re.compile(
    rf"arn:aws(?:-[a-z]+)*:elasticloadbalancing:(?P<region>{REGION}):(?P<account>{ACCOUNT}):"
    rf"(?P<path>targetgroup/(?P<name>{LB_NAME})/{LB_ID})"
)

_LOAD_BALANCER = re.compile(
    rf"arn:aws(?:-[a-z]+)*:elasticloadbalancing:(?P<region>{REGION}):(?P<account>{ACCOUNT}):"
    rf"loadbalancer/(?P<id>{APP_LOAD_BALANCER})"
)


@dataclass(frozen=True)
class LoadBalancer:
    region: str
    account: str
    id: str  # app/<name>/<id>: the logs' `elb` field


def load_balancer(arn: str) -> LoadBalancer | None:
    """The parts of an Application Load Balancer's ARN; None for anything else."""
    m = _LOAD_BALANCER.fullmatch(arn)
    return LoadBalancer(m["region"], m["account"], m["id"]) if m else None


@dataclass(frozen=True)
class TargetGroup:
    region: str
    account: str
    name: str
    path: str  # targetgroup/<name>/<id>: CloudWatch's TargetGroup dimension value


def target_group(arn: str | None) -> TargetGroup | None:
    """The parts of a target group ARN; None for anything else (a '-' field, a hand-made value)."""
    m = _TARGET_GROUP.fullmatch(arn or "")
    return TargetGroup(m["region"], m["account"], m["name"], m["path"]) if m else None
