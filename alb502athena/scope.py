"""Which objects of the log bucket a query may read, beyond its `day` partitions.

ALB names every object with its load balancer and end time, and names sort by end time inside one load
balancer's day folder, so a range on `"$path"` per day folder and load balancer selects the window's
objects before Athena or Trino reads (and bills) a byte. The range needs the table's location (the
folder that holds yyyy/mm/dd, as `"$path"` writes it) and the name prefixes of the load balancers
(objectname.access_log_prefix). The same rule (objectname.may_hold) selects local files and S3 listings.
"""

from __future__ import annotations

from dataclasses import dataclass


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
