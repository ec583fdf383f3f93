"""What an Athena query will cost, known before it starts, and the cap (`--max-scan`) that refuses it.

Athena bills the bytes it reads from S3: for these tables, the stored (gzip) sizes of the objects the
query selects. An S3 listing of the window's day folders (s3objects) gives those sizes, so the estimate
is the sum of the sizes of the objects the query's predicates keep: every object of the day folders
when the query is pruned by `day` alone, the window's access logs when its `"$path"` ranges apply.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from alb502athena.errors import UsageError
from alb502athena.s3objects import Listing, Tally
from alb502athena.scope import ObjectScope

MB = 1024**2
TB = 1024**4
# Athena bills each query's bytes rounded up to the megabyte, at least 10 MB (Athena's pricing page).
MINIMUM_BILLED = 10 * MB

# As the AWS CLI reads sizes (its s3 transfer settings): KB, MB, GB and TB are powers of 1024, as are
# KiB, MiB, GiB and TiB; Athena's price per TB and the sizes printed here are too.
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1024,
    "mb": 1024**2,
    "gb": 1024**3,
    "tb": 1024**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)")


def parse_size(text: str, option: str = "--max-scan") -> int:
    """'500MB', '1.5GB', '2GiB', '1048576' -> bytes."""
    m = _SIZE.fullmatch(text.strip().lower())
    usage = "a size such as 500MB, 1.5GB, 2GiB or a number of bytes"
    if m is None or m[2] not in _UNITS:
        raise UsageError(f"invalid {option} {text!r}: {usage}")
    if not m[2] and "." in m[1]:
        raise UsageError(f"invalid {option} {text!r}: a number of bytes is a whole number; or {usage}")
    try:
        size = int(Decimal(m[1]) * _UNITS[m[2]])
    except InvalidOperation:
        raise UsageError(f"invalid {option} {text!r}: {usage}") from None
    if size <= 0:
        raise UsageError(f"invalid {option} {text!r}: it must be more than zero bytes")
    return size


def billed_bytes(scanned: int) -> int:
    """The bytes Athena bills for a query that reads `scanned` bytes."""
    return max(math.ceil(scanned / MB) * MB, MINIMUM_BILLED)


def billed_usd(scanned: int, price_per_tb: float) -> float:
    return billed_bytes(scanned) / TB * price_per_tb


def human_size(n: int) -> str:
    from alb502athena.engines.athena import human_bytes

    return human_bytes(n)


@dataclass(frozen=True)
class Estimate:
    bytes: int
    objects: int
    # What the objects are, for the sentence: "2 load balancers", "2 day folders (by `day` alone)".
    of: str
    price_per_tb: float

    @property
    def usd(self) -> float:
        return billed_usd(self.bytes, self.price_per_tb)

    def amount(self) -> str:
        """`about 1.3 GB (USD 0.0065)`, and Athena's minimum where it decides the price."""
        minimum = f", Athena's {human_size(MINIMUM_BILLED)} minimum" if self.bytes < MINIMUM_BILLED else ""
        return f"about {human_size(self.bytes)} (USD {self.usd:.4f}{minimum})"

    def sentence(self) -> str:
        s = "s" if self.objects != 1 else ""
        return f"Athena will read {self.amount()} from {self.objects:,} object{s} of {self.of}"

    def refuse_above(self, max_scan: int | None) -> None:
        """UsageError (exit 2) when the estimate is above the cap; the query is not started."""
        if max_scan is None or self.bytes <= max_scan:
            return
        s = "s" if self.objects != 1 else ""
        raise UsageError(
            f"the query was not started: Athena would read {self.amount()} from {self.objects:,} "
            f"object{s} of {self.of}, above --max-scan {human_size(max_scan)}; narrow it with a "
            "shorter window (--last, --start/--end) or one load balancer (--load-balancer)"
        )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def estimate(listing: Listing, scope: ObjectScope | None, price_per_tb: float) -> Estimate:
    """The bytes a query over the listing's window reads: with `scope` (the query's `"$path"` ranges)
    the access logs of its load balancers that the window needs; without, every object of the day
    folders, as a query pruned by `day` alone reads them."""
    folders = _plural(len(listing.days), "day folder")
    if scope is None:
        t = listing.listed
        return Estimate(t.bytes, t.objects, f"{folders} (the query is pruned by day alone)", price_per_tb)
    if not scope.prefixes:
        t = listing.access_logs
        return Estimate(t.bytes, t.objects, f"{folders} (every ALB access log in them)", price_per_tb)
    total = Tally()
    for prefix in scope.prefixes:
        found = listing.load_balancers.get(prefix)
        if found is not None:
            total.objects += found.tally.objects
            total.bytes += found.tally.bytes
    return Estimate(total.bytes, total.objects, _plural(len(scope.prefixes), "load balancer"), price_per_tb)
