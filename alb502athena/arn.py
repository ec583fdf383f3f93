"""The one reading of the target group ARNs the logs carry (the `target_group_arn` field)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TARGET_GROUP = re.compile(
    r"arn:aws[a-z-]*:elasticloadbalancing:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<path>targetgroup/(?P<name>[^/]+)/[0-9a-f]+)"
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
