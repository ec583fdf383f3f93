"""Diagnosing straight from the log bucket: `alb502 diagnose s3://bucket/prefix --last 1h`.

Given any folder at or above ELB's `AWSLogs/<account>/elasticloadbalancing/<region>` folders, the
accounts and then the regions are found by one delimited listing per level (narrowed by --account and
--region), then in each region's window day folders each load balancer's names in the window are listed
(s3objects.list_window_names: a skip-scan from one log kind to the next, each kind's load balancers
found by one delimited listing, then a range of names by end time; the same name rule as local
discovery and the `"$path"` ranges), and the objects selected are read by the native reader straight
from S3 (s3read), through the cache (s3cache). Other log types are set aside and counted: those whose
names fall in the window.

A window is required: without one, every day folder of the bucket would be listed and read, which at
3 a.m. is never what was meant, and a default window would diagnose an hour the user did not choose.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from alb502athena.errors import AwsError, InputError, UsageError
from alb502athena.objectname import ACCOUNT, REGION, parse

if TYPE_CHECKING:
    from alb502athena.inputs import Inputs
    from alb502athena.logfiles import LogFile
    from alb502athena.s3cache import ObjectCache
    from alb502athena.s3objects import Listing, Tally
    from alb502athena.s3read import S3Object, S3Reader
    from alb502athena.window import Window

# Account/region folders listed at once (an organisation's log bucket holds hundreds); each one lists its
# day folders' groups and ranges on a pool of its own (s3objects.RANGE_LISTINGS).
ROOT_LISTINGS = 4
READ_ATTEMPTS = 5  # tries of each GET (botocore's retries), unless AWS_MAX_ATTEMPTS says otherwise
_URL = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>.*))?")
_ELB = "elasticloadbalancing"
_T = TypeVar("_T")


def is_s3_url(text: str) -> bool:
    return text.startswith("s3://")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # without slashes at either end; "" for the whole bucket

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def parse_url(text: str) -> S3Location:
    m = _URL.fullmatch(text.strip())
    if m is None:
        raise UsageError(f"not an S3 folder: {text!r} (s3://bucket/prefix)")
    prefix = (m["prefix"] or "").strip("/")
    if re.search(r"//|\s", prefix):
        raise UsageError(f"not an S3 folder: {text!r} (an empty folder name or a space in the prefix)")
    return S3Location(m["bucket"], prefix)


class RequestCounter:
    """The S3 requests a client sent (each try of a retried request too): each LIST and GET is billed."""

    def __init__(self) -> None:
        self.list = 0
        self.get = 0
        self._lock = threading.Lock()

    def attach(self, s3: Any) -> None:
        s3.meta.events.register("before-send.s3.ListObjectsV2", self._listed)
        s3.meta.events.register("before-send.s3.GetObject", self._got)

    def _listed(self, **_: Any) -> None:
        with self._lock:
            self.list += 1

    def _got(self, **_: Any) -> None:
        with self._lock:
            self.get += 1


def s3_client(
    session: Any, concurrency: int, request_payer: str | None = None, *, reads: bool = False
) -> Any:
    """An S3 client of the session (the AWS CLI's conventions: profile, region, AWS_ENDPOINT_URL_S3 and
    AWS_ENDPOINT_URL, which botocore reads) with a connection per download.

    The listings' client (`reads` False) fails fast once S3 cannot be reached (aws.client_config). The
    objects' client (`reads`) does not: one connection reset on one object must not fail every other
    object's GET; botocore retries each request (standard mode: connection errors, 500, 503 SlowDown)
    up to READ_ATTEMPTS times. The fail-fast watch is registered on the session, and a client takes
    the session's handlers as they are when it is made: of one session, the objects' client is made
    first (a second session would load botocore's models and resolve the credentials again)."""
    from botocore.config import Config

    from alb502athena.aws import client_config, guard
    from alb502athena.s3objects import RANGE_LISTINGS

    config = (
        client_config(session, attempts=READ_ATTEMPTS, fail_fast=False) if reads else client_config(session)
    )
    # A connection for each request that may run at once: past the pool's size urllib3 warns on stderr.
    connections = concurrency if reads else max(concurrency, ROOT_LISTINGS * RANGE_LISTINGS)
    config = config.merge(Config(max_pool_connections=max(10, connections)))
    s3 = guard(session.client("s3", config=config))
    if request_payer:
        # Every listing of a requester-pays bucket must say it pays (s3objects lists without knowing).
        def pays(params: dict[str, Any], **_: Any) -> None:
            params.setdefault("RequestPayer", request_payer)

        s3.meta.events.register("provide-client-params.s3.ListObjectsV2", pays)
    return s3


def _folders(s3: Any, bucket: str, prefix: str) -> list[str]:
    """The names of the folders S3 delimits right under `prefix` (which ends with a slash)."""
    from alb502athena.s3objects import list_pages

    request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/"}
    return [
        p["Prefix"][len(prefix) :].rstrip("/")
        for page in list_pages(s3, bucket, prefix, request)
        for p in page.get("CommonPrefixes", [])
    ]


def log_roots(s3: Any, where: S3Location, account: str | None, region: str | None) -> list[str]:
    """The AWSLogs/<account>/elasticloadbalancing/<region> folders at or under `where`, as s3:// roots
    (the folders that hold yyyy/mm/dd), of `account` and `region` only when given."""
    parts = where.prefix.split("/") if where.prefix else []
    at = parts.index("AWSLogs") if "AWSLogs" in parts else None
    if at is None:
        base, below = [*parts, "AWSLogs"], []
    else:
        base, below = parts[: at + 1], parts[at + 1 :]
    if len(below) > 3 or (len(below) >= 2 and below[1] != _ELB):
        raise UsageError(
            f"{where.url} is below ELB's log folders: give the folder that holds the day folders "
            "(.../AWSLogs/<account>/elasticloadbalancing/<region>) or one above it; the window chooses "
            "the days"
        )
    accounts = [below[0]] if below else _folders(s3, where.bucket, "/".join(base) + "/")
    accounts = [a for a in accounts if re.fullmatch(ACCOUNT, a) and (account is None or a == account)]
    folders = ["/".join([*base, acct, _ELB]) for acct in accounts]
    if len(below) == 3:
        regions_of = [[below[2]] for _ in folders]
    else:  # an organisation's bucket holds hundreds of accounts: their listings run at once
        regions_of = _at_once(lambda folder: _folders(s3, where.bucket, folder + "/"), folders)
    roots = [
        f"s3://{where.bucket}/{folder}/{r}"
        for folder, regions in zip(folders, regions_of, strict=True)
        for r in regions
        if re.fullmatch(REGION, r) and (region is None or r == region)
    ]
    if not roots:
        narrowed = " and ".join(
            f"{flag} {value}" for flag, value in (("--account", account), ("--region", region)) if value
        )
        found = f" of {narrowed}" if narrowed else ""
        raise InputError(
            f"no ALB log folders{found} under {where.url} (AWSLogs/<account>/elasticloadbalancing/<region>)"
        )
    return sorted(roots)


def _at_once(
    work: Callable[[str], _T],
    folders: list[str],
    progress: Callable[[str], None] | None = None,
    what: str = "folders",
) -> list[_T]:
    """work(folder) of each folder, in their order, ROOT_LISTINGS at a time (each is a few round trips
    in sequence); `progress` says how many are done. The first failure is raised; the others are not
    waited for."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    if len(folders) <= 1:
        return [work(f) for f in folders]
    pool = ThreadPoolExecutor(ROOT_LISTINGS, thread_name_prefix="alb502-roots")
    try:
        futures = [pool.submit(work, f) for f in folders]
        for done, future in enumerate(as_completed(futures), 1):
            future.result()
            if progress is not None:
                progress(f"Listing {len(folders):,} {what}: {done:,} done")
        if progress is not None:
            progress("")
        return [f.result() for f in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class S3Plan:
    """What the listings found and what the diagnosis will read."""

    where: S3Location
    window: Window
    listings: list[Listing]
    objects: list[S3Object]
    files: list[LogFile]
    requests: RequestCounter
    cached: int = 0  # of the objects, those the cache holds (bytes)
    cached_objects: int = 0
    reader: S3Reader | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(o.size for o in self.objects)

    @property
    def to_download(self) -> int:
        return self.bytes - self.cached

    def accounts(self) -> list[str]:
        return sorted({lst.account for lst in self.listings if lst.account})

    def regions(self) -> list[str]:
        return sorted({lst.region for lst in self.listings if lst.region})

    def load_balancers(self) -> list[str]:
        return sorted({lb.load_balancer for lst in self.listings for lb in lst.load_balancers.values()})

    def set_aside(self) -> dict[str, Tally]:
        from alb502athena.s3objects import Tally

        out: dict[str, Tally] = {}
        for lst in self.listings:
            for kind, t in lst.set_aside.items():
                total = out.setdefault(kind, Tally())
                total.objects += t.objects
                total.bytes += t.bytes
        return dict(sorted(out.items()))

    def sentence(self) -> str:
        """The plan, said on stderr before any object is read."""
        from alb502athena.engines.athena import human_bytes
        from alb502athena.s3objects import SET_ASIDE_LABELS

        def n(count: int, what: str) -> str:
            return f"{count:,} {what}{'' if count == 1 else 's'}"

        accounts, regions, lbs = self.accounts(), self.regions(), self.load_balancers()
        days = sum(len(lst.days) for lst in self.listings)
        cached = f", {self.cached_objects:,} of them cached" if self.cached_objects else ""
        text = (
            f"Reading {n(len(self.objects), 'object')} ({human_bytes(self.bytes)}{cached}) "
            f"from {self.where.url}: "
            f"{n(len(lbs), 'load balancer')} in {n(len(accounts), 'account')} ({', '.join(accounts)}) and "
            f"{n(len(regions), 'region')} ({', '.join(regions)}), {n(days, 'day folder')} listed"
        )
        aside = self.set_aside()
        if aside:
            parts = [f"{t.objects:,} {SET_ASIDE_LABELS.get(k, k)}" for k, t in aside.items()]
            plural = "s" if sum(t.objects for t in aside.values()) != 1 else ""
            of = " of the window" if any(lst.coverage == "window" for lst in self.listings) else ""
            text += f"; set aside {', '.join(parts)} object{plural}{of}"
        return text

    def refuse_above(self, limit: int | None, text: str | None = None) -> None:
        """UsageError (exit 2) when more than `limit` bytes are to be downloaded, saying how to narrow."""
        from alb502athena.engines.athena import human_bytes

        if limit is None or self.to_download <= limit:
            return
        raise UsageError(
            f"--max-download {text or limit}: the window needs {human_bytes(self.to_download)} downloaded "
            f"({len(self.objects) - self.cached_objects:,} objects); nothing was read. Narrow it: a shorter "
            "window (--last, --start/--end), --load-balancer, --account or --region; or raise --max-download"
        )

    def none_readable(self) -> AwsError | None:
        """When no object could be read at all: one line with the commonest reason (a missing
        s3:GetObject or kms:Decrypt permission, as a rule), rather than one per object; else None."""
        from collections import Counter

        counts = self.reader.counts if self.reader is not None else None
        failed = counts.failed if counts is not None else {}
        if not self.objects or len(failed) < len(self.objects):
            return None
        if counts is not None and counts.downloaded_objects + counts.cached_objects:
            return None  # each failed once, and read in another scan
        reason, count = Counter(failed.values()).most_common(1)[0]
        n = len(self.objects)
        which = " (every one)" if count == n else f" ({n - count:,} for other reasons)"
        return AwsError(f"none of the {n:,} objects under {self.where.url} could be read: {reason}{which}")

    def as_json(self) -> dict[str, Any]:
        """The `s3` object under `inputs` in the JSON."""
        counts = self.reader.counts if self.reader is not None else None
        return {
            "bucket": self.where.bucket,
            "prefix": self.where.prefix,
            "accounts": self.accounts(),
            "regions": self.regions(),
            "load_balancers": self.load_balancers(),
            "objects": len(self.objects),
            "bytes": self.bytes,
            "downloaded_objects": counts.downloaded_objects if counts else 0,
            "downloaded_bytes": counts.downloaded_bytes if counts else 0,
            "cached_objects": counts.cached_objects if counts else 0,
            "set_aside": {k: {"objects": t.objects, "bytes": t.bytes} for k, t in self.set_aside().items()},
            # What set_aside counts: "window" (other log types whose names fall in the window, and the
            # unrecognised names met), or "day folders" (every object of the folders listed).
            "set_aside_of": sorted({lst.coverage for lst in self.listings}),
            "listed_whole": [f for lst in self.listings for f in [*lst.listed_whole, *sorted(lst.crowded)]],
            "requests": {"list": self.requests.list, "get": self.requests.get},
        }

    def inputs(self) -> Inputs:
        """What the verdict says of the input: the objects read, found, and set aside (counted, not named)."""
        from alb502athena.inputs import OBJECT, Inputs
        from alb502athena.s3objects import UNRECOGNISED

        # A listing by name ranges never sees the access logs outside the window: not counted then.
        whole = all(lst.coverage == "day folders" for lst in self.listings)
        found = sum(lst.access_logs.objects for lst in self.listings) if whole else None
        days = sorted({f.day for f in self.files if f.day})
        return Inputs(
            files=len(self.files),
            files_found=found,
            outside_window=found - len(self.files) if found is not None else 0,
            days=(days[0], days[-1]) if days else None,
            load_balancers_in_names=self.load_balancers(),
            load_balancers_in_all_names=self.load_balancers(),
            s3=self.as_json(),
            # Names that are no ELB object's are not "other ELB logs": counted under s3 only.
            set_aside_counted={k: t.objects for k, t in self.set_aside().items() if k != UNRECOGNISED},
            notes=list(self.notes),
            set_aside_of=(
                "whose names fall in the window"
                if any(lst.coverage == "window" for lst in self.listings)
                else None
            ),
            unit=OBJECT,
        )


def plan(
    s3: Any,
    url: str,
    window: Window,
    *,
    load_balancer: str | None = None,
    account: str | None = None,
    region: str | None = None,
    requests: RequestCounter | None = None,
    cache: ObjectCache | None = None,
    progress: Callable[[str], None] | None = None,
) -> S3Plan:
    """List what the window needs under `url` (`progress` says which day folder is being listed: a
    busy one is tens of listings). Nothing is read yet."""
    from alb502athena.logfiles import LogFile
    from alb502athena.s3objects import GROUP_LIMIT, list_window_names
    from alb502athena.s3read import S3Object

    if window.start is None or window.end is None:
        raise UsageError(
            "reading S3 needs a window, to list only its day folders: --last 1h, or --start (and --end)"
        )
    where = parse_url(url)
    counter = requests or RequestCounter()
    roots = log_roots(s3, where, account, region)
    objects: list[S3Object] = []
    files: list[LogFile] = []
    wanted = [load_balancer] if load_balancer else []

    def listed(root: str, progress: Callable[[str], None] | None = None) -> Listing:
        listing = list_window_names(s3, root, window, wanted, keep_objects=True, progress=progress)
        assert listing is not None and listing.objects is not None  # an s3:// root and a whole window
        return listing

    if len(roots) == 1:
        listings = [listed(roots[0], progress)]
    else:
        listings = _at_once(listed, roots, progress, "account/region folders")
    for listing in listings:
        assert listing.objects is not None
        for key, size, etag in listing.objects:
            path = Path(key)  # a key: its name and folders, never opened
            name = parse(path.name)
            obj = S3Object(where.bucket, key, size, etag)
            objects.append(obj)
            day = "/".join(path.parent.parts[-3:])
            files.append(
                LogFile(
                    path=path,
                    day=day,
                    end_time=name.end_time if name else None,
                    load_balancer=name.load_balancer if name else None,
                    size=size,
                    url=obj.url,
                )
            )
    found = S3Plan(where, window, listings, objects, files, counter)
    for lst in listings:
        for folder in lst.listed_whole:
            found.notes.append(
                f"s3://{where.bucket}/{folder}/ was listed whole: it holds many names that are no ELB "
                "object's (or other accounts' and regions'), which a skip-scan steps over one at a time"
            )
        for group in sorted(lst.crowded):
            found.notes.append(
                f"the names s3://{where.bucket}/{group}* were listed whole past their first "
                f"{GROUP_LIMIT:,} load balancers and other names: AWS allows a region far fewer load "
                "balancers, so most were made or copied there by other means"
            )
    if cache is not None:
        held = [o for o in objects if cache.has(o.bucket, o.key, o.etag, o.size)]
        found.cached, found.cached_objects = sum(o.size for o in held), len(held)
    if not objects:
        access = sum(lst.access_logs.objects for lst in listings)
        seen = sorted({s for lst in listings for s in lst.seen})
        lb = f" of {load_balancer}" if load_balancer else ""
        if access:
            why = f"their {access:,} ALB access logs are all outside it"
        elif seen:  # a skip-scan: names outside the window are not listed, so not counted
            why = f"the ALB access logs of {', '.join(seen)} are all outside it"
        elif load_balancer:
            why = f"no access-log name{lb} falls in it"
        else:
            why = "they hold no ALB access log"
        days = sorted({d for lst in listings for d in lst.days})
        raise InputError(
            f"no ALB access log{lb} in the window under {where.url}: the day folders {days[0]}..{days[-1]} "
            f"of {len(roots)} account/region folder{'s' if len(roots) != 1 else ''} were listed, and {why}"
        )
    return found
