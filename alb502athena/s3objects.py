"""The objects of a log bucket that a window needs, from one S3 listing of the window's day folders.

The listing reads names and sizes only (ListObjectsV2, 1,000 keys a call), never an object. Each name is
read by objectname.parse and kept by objectname.may_hold, the rule local discovery and the `"$path"`
ranges apply, so the objects counted here are the ones a pruned query reads, and their sizes are what
Athena bills. The listing finds the load balancers too, when the user names none: their name prefixes
make the ObjectScope the SQL is pruned with. Other ELB logs in the same folders (connection and
health-check logs, Network and Classic load balancers) and names that are no ELB object's are counted
by kind, never selected.

Counts and sums are kept, not keys: a day folder of a busy load balancer holds tens of thousands of
objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alb502athena.errors import AwsError
from alb502athena.objectname import KIND_LABELS, access_log_prefix, may_hold, parse
from alb502athena.scope import ObjectScope, account_region
from alb502athena.window import Window

_ROOT = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>[^\s]*[^\s/])/*")
UNRECOGNISED = "unrecognised"
SET_ASIDE_LABELS = {**KIND_LABELS, UNRECOGNISED: "unrecognised"}


@dataclass
class Tally:
    objects: int = 0
    bytes: int = 0

    def add(self, size: int) -> None:
        self.objects += 1
        self.bytes += size


@dataclass
class LoadBalancerObjects:
    load_balancer: str  # app/<name>/<id>
    prefix: str  # objectname.access_log_prefix: the start of its access-log names
    tally: Tally = field(default_factory=Tally)


@dataclass
class Listing:
    """What one listing of the window's day folders found: counts and sizes, by what a query does with
    them."""

    root: str  # the table's location, without the trailing slash
    days: tuple[str, ...]  # the yyyy/mm/dd folders listed
    account: str | None
    region: str | None
    # The ALB access logs the window needs, by name prefix (one per load balancer), in name order.
    load_balancers: dict[str, LoadBalancerObjects] = field(default_factory=dict)
    # Every object of the folders: what a query pruned by `day` alone reads.
    listed: Tally = field(default_factory=Tally)
    # The ALB access logs of the folders: what a query reads whose `"$path"` ranges cover every load
    # balancer of the account and region (ObjectScope without prefixes).
    access_logs: Tally = field(default_factory=Tally)
    # Other objects, by kind (connection, health_check, network, classic, unrecognised).
    set_aside: dict[str, Tally] = field(default_factory=dict)
    # The selected keys, only when the caller asked for them (tests, a debugging user): not bounded.
    keys: list[str] | None = None
    # The selected objects as (key below the root, size, ETag), only when asked (to read them): as many
    # as the window needs, which --max-download bounds before any is read.
    objects: list[tuple[str, int, str]] | None = None

    @property
    def selected(self) -> Tally:
        total = Tally()
        for lb in self.load_balancers.values():
            total.objects += lb.tally.objects
            total.bytes += lb.tally.bytes
        return total

    def found_by(self) -> str:
        folders = f"{len(self.days)} day folder{'s' if len(self.days) != 1 else ''}"
        n = len(self.load_balancers)
        found = f"{n} load balancer{'s' if n != 1 else ''}" if n else "no ALB access log in the window"
        return f"an S3 listing of {folders}: {found}"

    @property
    def scope(self) -> ObjectScope:
        """The objects a query over this window needs: the load balancers found with access logs in it.
        Without any, no prefix (every ALB access log of the account and region, and no other object)."""
        return ObjectScope(
            root=self.root,
            prefixes=tuple(self.load_balancers),
            account=self.account,
            region=self.region,
            found_by=self.found_by(),
        )

    def set_aside_sentence(self, kinds: Sequence[str] | None = None) -> str | None:
        """`12 connection-log and 12 health-check-log objects (3.1 MB), not ALB access logs`, of the
        kinds set aside (only `kinds`, when given); None when there are none."""
        from alb502athena.engines.athena import human_bytes

        counted = {k: t for k, t in self.set_aside.items() if kinds is None or k in kinds}
        if not counted:
            return None
        parts = [f"{t.objects:,} {SET_ASIDE_LABELS[k]}" for k, t in sorted(counted.items())]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        size = sum(t.bytes for t in counted.values())
        total = sum(t.objects for t in counted.values())
        return f"{listed} object{'s' if total != 1 else ''} ({human_bytes(size)}), not ALB access logs"


def split_root(root: str) -> tuple[str, str] | None:
    """(bucket, key prefix without a trailing slash) of an s3:// table location, or None."""
    m = _ROOT.fullmatch(root.strip())
    return (m["bucket"], m["key"]) if m else None


def list_window(
    s3: Any,
    root: str,
    window: Window,
    load_balancers: Sequence[str] = (),
    *,
    keep_keys: bool = False,
    progress: Callable[[str], None] | None = None,
    keep_objects: bool = False,
) -> Listing | None:
    """List the window's day folders under `root` (the folder holding yyyy/mm/dd) and select the ALB
    access logs the window needs; of `load_balancers` (app/<name>/<id>) only, when given. None when no
    listing can tell: a root that is not s3://, or a window without both ends (every day folder)."""
    if window.start is None or window.end is None:
        return None
    days, span = window.day_folders(), (window.start, window.end)
    return _list(s3, root, days, span, set(load_balancers), keep_keys, progress, keep_objects)


class WindowLister:
    """The listing behind a query's ObjectScope and its estimate, made once: called as
    `lister(root, window)` (scope.resolve_scope's `lister=`) it lists and answers the scope it found;
    `listing_for` then answers the same listing, or lists when the scope came from elsewhere
    (--load-balancer)."""

    def __init__(self, s3: Any, progress: Callable[[str], None] | None = None) -> None:
        self._s3 = s3
        self._progress = progress
        self._made: tuple[str, Window, Listing | None] | None = None

    def listing_for(self, root: str, window: Window) -> Listing | None:
        where = split_root(root)  # the same folder, with or without its trailing slash
        key = f"s3://{where[0]}/{where[1]}" if where else root
        if self._made is None or self._made[:2] != (key, window):
            self._made = (key, window, list_window(self._s3, root, window, progress=self._progress))
        return self._made[2]

    def __call__(self, root: str, window: Window) -> ObjectScope | None:
        listing = self.listing_for(root, window)
        return listing.scope if listing is not None else None


def list_day(s3: Any, root: str, day: str) -> Listing | None:
    """One day folder (yyyy/mm/dd) under `root`, every ALB access log in it selected; None when `root`
    is not s3://."""
    return _list(s3, root, [day], None, set(), False)


def _list(
    s3: Any,
    root: str,
    days: list[str],
    window: tuple[datetime, datetime] | None,
    wanted: set[str],
    keep_keys: bool,
    progress: Callable[[str], None] | None = None,
    keep_objects: bool = False,
) -> Listing | None:
    where = split_root(root)
    if where is None:
        return None
    bucket, key = where
    account, region = account_region(key)
    listing = Listing(
        root=f"s3://{bucket}/{key}",
        days=tuple(days),
        account=account,
        region=region,
        keys=[] if keep_keys else None,
        objects=[] if keep_objects else None,
    )
    for i, day in enumerate(listing.days, 1):
        folder = f"{key}/{day}/"
        if progress is not None:  # a long window is a listing per day, 1,000 objects a call
            progress(f"Listing s3://{bucket}/{folder} ({i} of {len(listing.days)} day folders)")
        for name, size, etag in _objects(s3, bucket, folder):
            _count(listing, window, wanted, name, size, folder, etag)
    if progress is not None:
        progress("")
    return listing


def _count(
    listing: Listing,
    window: tuple[datetime, datetime] | None,
    wanted: set[str],
    name: str,
    size: int,
    folder: str,
    etag: str = "",
) -> None:
    listing.listed.add(size)
    # A key in a folder below the day folder is no object the `"$path"` ranges select: its name holds a
    # slash, which no ELB object name does.
    parsed = parse(name)
    kind = UNRECOGNISED if parsed is None else parsed.set_aside_as
    if parsed is None or kind is not None:
        listing.set_aside.setdefault(kind or UNRECOGNISED, Tally()).add(size)
        return
    listing.access_logs.add(size)
    if wanted and parsed.load_balancer not in wanted:
        return
    if window is not None and not may_hold(parsed.end_time, *window):
        return
    prefix = access_log_prefix(parsed.account, parsed.region, parsed.load_balancer)
    entry = listing.load_balancers.get(prefix)
    if entry is None:
        entry = listing.load_balancers[prefix] = LoadBalancerObjects(parsed.load_balancer, prefix)
        listing.load_balancers = dict(sorted(listing.load_balancers.items()))
    entry.tally.add(size)
    if listing.keys is not None:
        listing.keys.append(folder + name)
    if listing.objects is not None:
        listing.objects.append((folder + name, size, etag))


def _objects(s3: Any, bucket: str, folder: str) -> Iterator[tuple[str, int, str]]:
    """(name below the folder, size, ETag) of each object under it, a page at a time. Paged here rather than
    by boto3's paginator: check-table hands in a client of its own that has list_objects_v2 only."""
    import botocore.exceptions

    from alb502athena.aws import denied, translate

    doing = f"listing s3://{bucket}/{folder}"
    request = {"Bucket": bucket, "Prefix": folder}
    try:
        while True:  # ListObjectsV2 answers 1,000 keys a call, then a token for the next
            page = s3.list_objects_v2(**request)
            for item in page.get("Contents", []):
                yield item["Key"][len(folder) :], int(item.get("Size", 0)), str(item.get("ETag", ""))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            request["ContinuationToken"] = token
    except botocore.exceptions.ClientError as exc:
        if denied(exc):
            message = exc.response.get("Error", {}).get("Message", "")
            raise AwsError(
                f"access denied while {doing}: the s3:ListBucket permission on bucket {bucket} is "
                f"missing; Athena needs it too, to read the table ({message})"
            ) from None
        raise translate(exc, doing) or exc from None
    except botocore.exceptions.BotoCoreError as exc:
        raise translate(exc, doing) or exc from None
