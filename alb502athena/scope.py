"""Which objects of the log bucket a query may read, beyond its `day` partitions.

ALB names every object with its load balancer and end time, and names sort by end time inside one load
balancer's day folder, so a range on `"$path"` per day folder and load balancer selects the window's
objects before Athena or Trino reads (and bills) a byte. The range needs the table's location (the
folder that holds yyyy/mm/dd, as `"$path"` writes it) and the name prefixes of the load balancers
(objectname.access_log_prefix). The same rule (objectname.may_hold) selects local files and S3 listings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from alb502athena.arn import load_balancer as parse_arn
from alb502athena.errors import UsageError
from alb502athena.objectname import ACCOUNT, REGION, access_log_prefix

if TYPE_CHECKING:
    from alb502athena.window import Window


@dataclass(frozen=True, kw_only=True)
class ObjectScope:
    # The table's folder that holds the yyyy/mm/dd folders, exactly as "$path" begins, without the
    # trailing slash: s3://bucket/prefix/AWSLogs/123456789012/elasticloadbalancing/eu-west-1
    root: str
    # objectname.access_log_prefix() of each load balancer to read. Empty: every ALB access log of
    # `account` and `region` (no pruning by time, but connection and health-check logs stay out).
    prefixes: tuple[str, ...] = ()
    account: str | None = None
    region: str | None = None
    # How the load balancers were found, said on stderr: "--load-balancer", "an S3 listing of 2 day
    # folders", ...
    found_by: str = ""


# What a lister answers: the load balancers whose access logs the window's day folders under `root`
# hold (an S3 listing, say), as a scope with its `found_by`; None when it cannot tell.
Lister = Callable[[str, "Window"], "ObjectScope | None"]

# The folder ELB writes to, at the end of a table's location: the account and region of its names.
_AWSLOGS = re.compile(rf"(?:^|/)AWSLogs/(?P<account>{ACCOUNT})/elasticloadbalancing/(?P<region>{REGION})/*$")


def account_region(root: str) -> tuple[str, str] | tuple[None, None]:
    """The account and region a table location's AWSLogs/<account>/elasticloadbalancing/<region> folders
    name, or (None, None) for a location laid out otherwise."""
    at = _AWSLOGS.search(root)
    return (at["account"], at["region"]) if at else (None, None)


def resolve_scope(
    root: str | None,
    window: Window,
    load_balancer: str | None,
    lister: Lister | None = None,
    say: Callable[[str], None] | None = None,
) -> ObjectScope | None:
    """The objects a query of `window` over the table at `root` needs: those of `load_balancer` (a name
    `app/<name>/<id>` or an ARN; its account and region from the ARN or from the root's
    AWSLogs/<account>/elasticloadbalancing/<region> folders), else those `lister` finds, else every
    ALB access log of the root's account and region; None (whole `day` partitions) where none of these
    can be named. `say` is told how the scope was found, or why the days are read whole."""
    from alb502athena.render import load_balancer_id

    tell = say or (lambda _: None)
    if window.start is None or window.end is None:
        return None  # no window: every partition is read anyway
    if root is None:
        tell(
            "the engine cannot tell the table's location, so the query cannot name the window's "
            "objects: it reads the window's `day` partitions whole"
        )
        return None
    root = root.rstrip("/")
    account, region = account_region(root)
    if load_balancer is not None:
        lb = load_balancer_id(load_balancer)  # a usage error for anything else
        arn = parse_arn(load_balancer)
        if arn is not None:
            if account is not None and (arn.account, arn.region) != (account, region):
                raise UsageError(
                    f"--load-balancer is in {arn.account} {arn.region}, but the table's location "
                    f"{root} holds the logs of {account} {region}"
                )
            account, region = arn.account, arn.region
        if account is not None and region is not None:
            tell(f"reading only the window's objects of {lb} (named by --load-balancer)")
            return ObjectScope(
                root=root,
                prefixes=(access_log_prefix(account, region, lb),),
                account=account,
                region=region,
                found_by="--load-balancer",
            )
        tell(
            f"the table's location {root} does not end with AWSLogs/<account>/elasticloadbalancing/"
            f"<region>: give --load-balancer as an ARN to name {lb}'s objects"
        )
    if lister is not None:
        listed = lister(root, window)
        if listed is not None:
            names = ", ".join(listed.prefixes) or "no load balancer"
            tell(f"reading only the window's objects of {names} (found by {listed.found_by})")
            return listed
    if account is not None and region is not None:
        tell(
            "no load balancer named (--load-balancer) nor listed: the query reads the window's `day` "
            "partitions whole, their access logs only (connection and health-check logs left out)"
        )
        return ObjectScope(root=root, account=account, region=region, found_by="the table's location")
    tell(
        f"no load balancer named (--load-balancer) nor listed, and the table's location {root} names no "
        "account and region: the query reads the window's `day` partitions whole"
    )
    return None
