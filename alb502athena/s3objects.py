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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from alb502athena.errors import AwsError, InputError
from alb502athena.objectname import (
    FILE_SPAN,
    KIND_LABELS,
    access_log_prefix,
    end_time_range,
    end_time_text,
    may_hold,
    name_group,
    parse,
    prefix_load_balancer,
)
from alb502athena.scope import ObjectScope, account_region
from alb502athena.window import Window

_ROOT = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>[^\s]*[^\s/])/*")
UNRECOGNISED = "unrecognised"
# A skip-scan steps over names that are no ELB object's one request each: past this many in one day
# folder, the rest of it is listed whole (1,000 names a request).
UNRECOGNISED_LIMIT = 20
# Past this many load balancers in one group (a log kind of one account and region) of a day folder, the
# rest of the group is listed whole, a page at a time: AWS allows a region far fewer (50 of each type by
# default), so such names were made or copied in bulk, and a listing (and a pending answer) each would
# grow without bound.
GROUP_LIMIT = 1000
# Groups in one day folder past which the rest of it is listed whole: ALB writes four (access logs,
# `conn_log_`, `conn_log.`, health-check logs) of the folder's own account and region.
GROUPS = 8
# What a Listing's counts (listed, access_logs, set_aside) cover: every object of the day folders, or
# (a skip-scan, list_window_names) only the names in the window's end-time range of each load balancer
# and kind, plus the unrecognised names stepped over.
Coverage = Literal["day folders", "window"]
SET_ASIDE_LABELS = {**KIND_LABELS, UNRECOGNISED: "unrecognised"}
MAX_KEYS = 1000  # the most ListObjectsV2 answers in a call
# A name range's listings run this many at once: each is a round trip of tens of milliseconds, and a
# skip-scan finds a range per load balancer and log kind (and a group listing per log kind).
RANGE_LISTINGS = 8
# A name range's first page asks for this many names per end time in it (one object per node and end
# time; a load balancer has a node in each of its two or more zones), then four times more each page:
# the window's names in one call or two, and not the rest of the day's, whose answer and parsing cost
# about as much per name as the ones needed.
NAMES_PER_END_TIME = 4


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
    # The selected objects as (key below the root, size, ETag), only when asked (to read them, or tests):
    # as many as the window needs, which --max-download bounds before any is read.
    objects: list[tuple[str, int, str]] | None = None
    coverage: Coverage = "day folders"
    # A skip-scan: the load balancers with ALB access logs in the folders, in the window or not.
    seen: set[str] = field(default_factory=set)
    # A skip-scan: the day folders listed whole after UNRECOGNISED_LIMIT unrecognised names.
    listed_whole: list[str] = field(default_factory=list)
    # A skip-scan: the groups (folder/group, a name prefix) listed whole past GROUP_LIMIT load balancers.
    crowded: list[str] = field(default_factory=list)

    @property
    def keys(self) -> list[str] | None:
        """The selected keys (below the root), when the objects were kept."""
        return [key for key, _, _ in self.objects] if self.objects is not None else None

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
    athena: bool = True,
) -> Listing | None:
    """List the window's day folders under `root` (the folder holding yyyy/mm/dd) and select the ALB
    access logs the window needs; of `load_balancers` (app/<name>/<id>) only, when given. None when no
    listing can tell: a root that is not s3://, or a window without both ends (every day folder).
    `keep_keys`: the selected objects kept (Listing.objects, .keys). `athena`: Athena reads these
    objects with the same credentials (list_page)."""
    if window.start is None or window.end is None:
        return None
    days, span = window.day_folders(), (window.start, window.end)
    return _list(s3, root, days, span, set(load_balancers), keep_keys, progress, athena)


class WindowLister:
    """The listing behind a query's ObjectScope and its estimate, made once: called as
    `lister(root, window)` (scope.resolve_scope's `lister=`) it lists and answers the scope it found;
    `listing_for` then answers the same listing, or lists when the scope came from elsewhere
    (--load-balancer)."""

    def __init__(
        self, s3: Any, progress: Callable[[str], None] | None = None, *, athena: bool = True
    ) -> None:
        self._s3 = s3
        self._progress = progress
        self._athena = athena  # the engine is Athena, with these credentials (list_page)
        self._made: tuple[str, Window, Listing | None] | None = None

    def listing_for(self, root: str, window: Window) -> Listing | None:
        where = split_root(root)  # the same folder, with or without its trailing slash
        key = f"s3://{where[0]}/{where[1]}" if where else root
        if self._made is None or self._made[:2] != (key, window):
            self._made = (
                key,
                window,
                list_window(self._s3, root, window, progress=self._progress, athena=self._athena),
            )
        return self._made[2]

    def __call__(self, root: str, window: Window) -> ObjectScope | None:
        listing = self.listing_for(root, window)
        return listing.scope if listing is not None else None


def list_day(s3: Any, root: str, day: str) -> Listing | None:
    """One day folder (yyyy/mm/dd) under `root`, every ALB access log in it selected; None when `root`
    is not s3://."""
    return _list(s3, root, [day], None, set(), False, athena=True)


def _list(
    s3: Any,
    root: str,
    days: list[str],
    window: tuple[datetime, datetime] | None,
    wanted: set[str],
    keep_objects: bool,
    progress: Callable[[str], None] | None = None,
    athena: bool = False,
) -> Listing | None:
    where = split_root(root)
    if where is None:
        return None
    bucket, key = where
    listing = _listing(bucket, key, days, keep_objects, "day folders")
    for folder in _folders_said(bucket, key, days, progress):
        for name, size, etag in _objects(s3, bucket, folder, athena=athena):
            _count(listing, window, wanted, name, size, folder, etag)
    return listing


def _listing(bucket: str, key: str, days: list[str], keep_objects: bool, coverage: Coverage) -> Listing:
    account, region = account_region(key)
    return Listing(
        root=f"s3://{bucket}/{key}",
        days=tuple(days),
        account=account,
        region=region,
        objects=[] if keep_objects else None,
        coverage=coverage,
    )


def _folders_said(
    bucket: str, key: str, days: list[str], progress: Callable[[str], None] | None
) -> Iterator[str]:
    """The day folders under `key` (with their trailing slash), each said to `progress` as it is listed
    (a long window is a listing per day, tens of calls in a busy one), the line cleared after the last."""
    for i, day in enumerate(days, 1):
        folder = f"{key}/{day}/"
        if progress is not None:
            progress(f"Listing s3://{bucket}/{folder} ({i} of {len(days)} day folders)")
        yield folder
    if progress is not None:
        progress("")


def source_day_folders(window: Window) -> list[str]:
    """yyyy/mm/dd of the day folders that may hold objects the window needs: from the start's day to the
    day of the last end time that may hold its entries (objectname.end_time_range). Objects are filed by
    the day of their end time, so the next day's folder only when that last end time is past midnight.
    (Window.day_folders, the `day` partitions a query reads, always takes the next day.)"""
    if window.start is None or window.end is None:
        return []
    first, last = window.start.date(), end_time_range(window.start, window.end)[1].date()
    return [(first + timedelta(days=i)).strftime("%Y/%m/%d") for i in range((last - first).days + 1)]


def list_window_names(
    s3: Any,
    root: str,
    window: Window,
    load_balancers: Sequence[str] = (),
    *,
    keep_objects: bool = False,
    progress: Callable[[str], None] | None = None,
    unrecognised_limit: int = UNRECOGNISED_LIMIT,
    group_limit: int = GROUP_LIMIT,
) -> Listing | None:
    """The objects the window needs under `root`, listed by name ranges rather than whole day folders
    (a reader's listing: about one request per load balancer and log kind per day folder, and two per
    log kind, however many objects the folders hold outside the window; not for an estimate, whose
    tallies are of whole folders).

    Within a day folder, the names of one load balancer and kind share a prefix (objectname.name_prefix)
    and sort by end time after it. Each is listed from just before the window's first end time
    (StartAfter) until a name ends after its last. The load balancers are `load_balancers` when given
    (their access logs, connection logs and health-check logs: the latter two set aside and counted);
    otherwise found by a skip-scan from one group of names (objectname.name_group: a log kind of one
    account and region) to the next: the first name after the last group seen (one key), then past all
    names of its group (StartAfter=<group>~: '~' sorts after every character of a load balancer's name).
    Each group is listed delimited at `_` on the pool, which gives its load balancers' name prefixes at
    once: the requests made one after the other do not grow with the load balancers. Names that
    are no ELB object's are stepped over one at a time and counted as unrecognised; past
    `unrecognised_limit` of them the rest of the folder is listed whole (`listed_whole`), and past
    `group_limit` load balancers in a group the rest of the group (`crowded`). Counts cover
    the window's names only (`coverage`): a name that begins as an ELB object's but does not parse is
    counted when it sorts within the window's end times, and otherwise never seen."""
    if window.start is None or window.end is None:
        return None
    where = split_root(root)
    if where is None:
        return None
    bucket, key = where
    account, region = account_region(key)
    days = source_day_folders(window)
    if load_balancers and (account is None or region is None):
        # No name prefix without the account and region: whole folders, as the estimate lists them.
        return _list(s3, root, days, (window.start, window.end), set(load_balancers), keep_objects, progress)
    span = (window.start, window.end)
    listing = _listing(bucket, key, days, keep_objects, "window")
    first, last = end_time_range(*span)
    ends = (end_time_text(first), end_time_text(last))
    # The names found, in the order a listing one range at a time would count them: each group's and
    # range's listing runs on the pool while the skip-scan goes on finding the next.
    found: list[tuple[str, Found]] = []
    pool = ThreadPoolExecutor(RANGE_LISTINGS, thread_name_prefix="alb502-list")
    try:
        for day, folder in zip(days, _folders_said(bucket, key, days, progress), strict=True):
            page = _first_page(day, first, last)

            def listed(prefix: str, folder: str = folder, page: int = page) -> Future[list[Named]]:
                return pool.submit(_range, s3, bucket, folder, prefix, ends, page)

            if load_balancers:
                assert account is not None and region is not None
                for lb in sorted(set(load_balancers)):
                    prefix = access_log_prefix(account, region, lb)
                    for kind in ("", "conn_log_", "health_check_log_"):
                        found.append((folder, listed(kind + prefix)))
            else:
                limits = (unrecognised_limit, group_limit)
                _skip_scan(s3, bucket, folder, listing, found, listed, limits, pool)
        for folder, names in found:
            for name, size, etag in _named(names):
                _count(listing, span, set(), name, size, folder, etag)
    finally:
        # A failed listing (or Ctrl-C) does not wait for the others: they end with the process.
        pool.shutdown(wait=False, cancel_futures=True)
    return listing


Named = tuple[str, int, str]  # an object's name below its day folder, its size and ETag
# What a listing found, in order: names, or the listing that finds them (a range's names; a group's
# names and ranges, see _group; a whole listing's names, an iterator read as they are counted).
Found = list[Named] | Iterator[Named] | Future[list[Named]] | Future[list["Found"]] | list["Found"]


def _named(found: Found) -> Iterator[Named]:
    """The names of `found`, in order, waiting for each listing."""
    items = found.result() if isinstance(found, Future) else found
    for item in items:
        if isinstance(item, tuple):
            yield item
        else:
            yield from _named(item)


def _first_page(day: str, first: datetime, last: datetime) -> int:
    """The first page's size of a name range in the day folder yyyy/mm/dd: NAMES_PER_END_TIME names for
    each end time of [first, last] within that day (objects are filed by their end time's day)."""
    start = datetime.strptime(day, "%Y/%m/%d").replace(tzinfo=UTC)
    lo, hi = max(first, start), min(last, start + timedelta(days=1))
    end_times = max(0, int((hi - lo) / FILE_SPAN)) + 2  # a partial span at each side
    return min(MAX_KEYS, NAMES_PER_END_TIME * end_times)


def _range(s3: Any, bucket: str, folder: str, prefix: str, ends: tuple[str, str], page: int) -> list[Named]:
    """The names under folder + `prefix` whose end time text is within `ends` (both included), asked for
    `page` names first, then more each call."""
    names = []
    # A name ending exactly at the first end time sorts after the bare text: StartAfter keeps it.
    for name, size, etag in _objects(s3, bucket, folder, prefix, after=folder + prefix + ends[0], first=page):
        if name[len(prefix) : len(prefix) + len(ends[1])] > ends[1]:
            break  # sorted by end time: every later name of the prefix ends later still
        names.append((name, size, etag))
    return names


def _skip_scan(
    s3: Any,
    bucket: str,
    folder: str,
    listing: Listing,
    found: list[tuple[str, Found]],
    listed: Callable[[str], Future[list[Named]]],
    limits: tuple[int, int],
    pool: ThreadPoolExecutor,
) -> None:
    """Find the groups of the day folder (objectname.name_group: a kind of log of one account and
    region) one key at a time; each group is listed on the pool, delimited at `_`, for its load
    balancers' name prefixes, whose ranges `listed` lists. Requests in sequence: one per group (three
    as ALB writes: access, connection and health-check logs) and name stepped over, however many load
    balancers the folder holds. What is found is added to `found` in its place."""
    unrecognised_limit, group_limit = limits
    after = ""  # the last name stepped over, or past the last group
    unrecognised = groups = 0

    def rest_whole() -> None:  # read as counted: the folder may hold any number of names
        listing.listed_whole.append(folder.rstrip("/"))
        found.append((folder, _objects(s3, bucket, folder, after=folder + after)))

    while True:
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": folder, "MaxKeys": 1}
        if after:
            request["StartAfter"] = folder + after
        items = list_page(s3, bucket, folder, request).get("Contents", [])
        if not items:
            return
        item = items[0]
        name, size, etag = item["Key"][len(folder) :], int(item.get("Size", 0)), str(item.get("ETag", ""))
        group = name_group(name)
        if group is None:
            found.append((folder, [(name, size, etag)]))  # counted as unrecognised
            unrecognised += 1
            after = name
            if unrecognised >= unrecognised_limit:
                rest_whole()
                return
            continue
        groups += 1
        if groups > GROUPS:  # other accounts' or regions' names, made or copied there: as unrecognised
            rest_whole()
            return
        found.append(
            (folder, pool.submit(_group, s3, bucket, folder, (group, after, group_limit), listing, listed))
        )
        # Past every name of the group: what follows it in them is a load balancer's name, whose
        # characters all sort before '~'; a name that does not is found by the next step.
        after = group + "~"


def _group(
    s3: Any,
    bucket: str,
    folder: str,
    where: tuple[str, str, int],
    listing: Listing,
    listed: Callable[[str], Future[list[Named]]],
) -> list[Found]:
    """The group's load balancers (one listing delimited at `_`, a page per 1,000 of them), each one's
    range started on the pool; the names right under the group that run to no `_` (no ELB object's)
    first, to be counted as unrecognised. `where`: the group, the name the skip-scan stepped over
    last (where it is of the group, a name that is no ELB object's sorting first in it, the listing
    starts after it, so that it is counted once), and the group's limit (GROUP_LIMIT)."""
    group, after, limit = where
    loose: list[Named] = []
    ranges: list[Found] = []
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": folder + group, "Delimiter": "_"}
    if after.startswith(group):
        request["StartAfter"] = folder + after
    resume = ""  # past every name of the group seen so far (a prefix stands for all of its names)
    for page in list_pages(s3, bucket, folder, request, first=min(limit, MAX_KEYS)):
        for item in page.get("Contents", []):
            name = item["Key"][len(folder) :]
            loose.append((name, int(item.get("Size", 0)), str(item.get("ETag", ""))))
            resume = max(resume, name)
        for common in page.get("CommonPrefixes", []):
            prefix = str(common["Prefix"])[len(folder) :]
            lb = prefix_load_balancer(prefix)
            if lb is not None:
                listing.seen.add(lb)  # a set: one add at a time from any thread
            ranges.append(listed(prefix))
            # After a prefix come its names: end times (digits), then '~' and what sorts after it.
            resume = max(resume, prefix + "~")
        if len(loose) + len(ranges) >= limit and page.get("IsTruncated"):
            # The rest of the group whole, read as counted.
            listing.crowded.append(folder + group)
            return [loose, *ranges, _objects(s3, bucket, folder, group, after=folder + resume)]
    return [loose, *ranges]


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
    if listing.objects is not None:
        listing.objects.append((folder + name, size, etag))


def _objects(
    s3: Any,
    bucket: str,
    folder: str,
    within: str = "",
    after: str | None = None,
    athena: bool = False,
    first: int = MAX_KEYS,
) -> Iterator[Named]:
    """(name below the folder, size, ETag) of each object under it (under folder + `within`, after the
    key `after`), a page at a time: `first` names in the first, four times more each next page."""
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": folder + within}
    if after is not None:
        request["StartAfter"] = after
    for page in list_pages(s3, bucket, folder, request, athena=athena, first=first):
        for item in page.get("Contents", []):
            yield item["Key"][len(folder) :], int(item.get("Size", 0)), str(item.get("ETag", ""))


def list_page(s3: Any, bucket: str, prefix: str, request: dict[str, Any], *, athena: bool = False) -> Any:
    """One ListObjectsV2 call under s3://bucket/prefix, its failures as the domain's errors: the one
    translation of every listing's (the S3 source's and the query engines'). A bucket that does not
    exist is the input's (the URL or the table's location names it); `athena`: the objects listed are
    the ones Athena reads with the same credentials, so it needs s3:ListBucket too."""
    import botocore.exceptions

    from alb502athena.aws import denied, translate

    doing = f"listing s3://{bucket}/{prefix}"
    try:
        return s3.list_objects_v2(**request)
    except botocore.exceptions.ClientError as exc:
        if denied(exc):
            message = exc.response.get("Error", {}).get("Message", "")
            too = "; Athena needs it too, to read the table" if athena else ""
            raise AwsError(
                f"access denied while {doing}: the s3:ListBucket permission on bucket {bucket} is "
                f"missing{too} ({message})"
            ) from None
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            raise InputError(f"no such bucket: {bucket}") from None
        raise translate(exc, doing) or exc from None
    except botocore.exceptions.BotoCoreError as exc:
        raise translate(exc, doing) or exc from None


def list_pages(
    s3: Any,
    bucket: str,
    prefix: str,
    request: dict[str, Any],
    *,
    athena: bool = False,
    first: int = MAX_KEYS,
) -> Iterator[Any]:
    """The pages of a listing (list_page), following its continuation tokens: ListObjectsV2 answers
    1,000 keys a call at most; `first` of them in the first call, four times more each next one.
    Paged here rather than by boto3's paginator: check-table hands in a client of its own that has
    list_objects_v2 only."""
    request = dict(request)
    size = first
    while True:
        if size < MAX_KEYS:
            request["MaxKeys"] = size
        else:
            request.pop("MaxKeys", None)
        size *= 4
        page = list_page(s3, bucket, prefix, request, athena=athena)
        yield page
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return
        request["ContinuationToken"] = token


def own_credentials_lister(
    profile: str | None,
    region: str | None,
    say: Callable[[str], None],
    progress: Callable[[str], None] | None = None,
) -> Callable[[str, Window], ObjectScope | None]:
    """The listing for an engine that reads S3 with credentials of its own (Trino over an s3:// table
    location), as scope.resolve_scope's `lister=`: made with boto3's usual configuration (--profile,
    AWS_PROFILE, AWS_ENDPOINT_URL, the credential chain) when the location is s3://. Where boto3 cannot
    list it, `say` is told why and the answer is None: the engine may still read what we cannot list, so
    its query goes on over the account's access logs, whole days, as without a listing."""
    import botocore.exceptions

    def listed(root: str, window: Window) -> ObjectScope | None:
        if split_root(root) is None:
            return None  # local:///, hdfs://: no S3 to list
        try:
            import boto3

            from alb502athena.aws import client

            # The bucket's region where the location names it (S3 answers any region's client anyway).
            where = region or account_region(root)[1] or "us-east-1"
            s3 = client(boto3.Session(profile_name=profile, region_name=where), "s3")
            return WindowLister(s3, progress, athena=False)(root, window)
        except (
            AwsError,
            InputError,
            botocore.exceptions.BotoCoreError,
            botocore.exceptions.ClientError,
        ) as exc:
            say(f"the load balancers of the window could not be listed from {root}: {exc}")
            return None

    return listed
