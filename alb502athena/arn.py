"""The one reading of the target group ARNs the logs carry (the `target_group_arn` field)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from alb502athena.objectname import ACCOUNT, LB_ID, LB_NAME, REGION

_TARGET_GROUP = re.compile(
    rf"arn:aws(?:-[a-z]+)*:elasticloadbalancing:(?P<region>{REGION}):(?P<account>{ACCOUNT}):"
    rf"(?P<path>targetgroup/(?P<name>{LB_NAME})/{LB_ID})"
)


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
