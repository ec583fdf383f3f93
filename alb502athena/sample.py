"""Synthetic ALB access logs holding every 502 signature, laid out as AWS delivers them to S3.

For demos, tests and benchmarks. The story: mostly healthy shop traffic in which one web target
restarts (a burst of connect-failed, and in-flight responses lost on it), a Lambda image resizer is
throttled and sometimes fails, an nginx proxy tier passes on its upstream's 502s, and the keep-alive
race drips response-failed 502s throughout. Every line shape AWS has written since November 2018 is mixed
in, plus a few junk lines that a reader must count rather than silently drop.
"""

from __future__ import annotations

import gzip
import random
import string
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from alb502athena.logformat import log_format

# The catalogue's order (sql/signatures/), which is also the first-match order of signature_of().
SIGNATURE_IDS = (
    "lambda-response-too-large",
    "lambda-unhandled",
    "lambda-throttled",
    "lambda-invalid-response",
    "lambda-other",
    "target-502",
    "connect-failed",
    "response-failed",
    "elb-502-other",
)
# The line shapes mixed in (Shape.version in log_format().shapes), oldest first: those since Lambda
# targets; the older ones (2016 to mid-2018) are in the tests' fixtures.
SHAPE_NAMES = ("2018-11", "2019", "2020-08", "2024-05", "2025-08")
DEFAULT_START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=5)  # AWS delivers one file per LB node every 5 minutes
NODE_IPS = ("10.0.1.37", "10.0.2.114")  # one LB node per availability zone
DOMAIN = "shop.example.com"

# 502s per request of normal traffic; the floor keeps every signature in a tiny sample.
_RATES = {
    "lambda-response-too-large": 0.0004,
    "lambda-unhandled": 0.0012,
    "lambda-throttled": 0.0025,
    "lambda-invalid-response": 0.0006,
    "lambda-other": 0.0004,
    "target-502": 0.002,
    "connect-failed": 0.006,
    "response-failed": 0.003,
    "elb-502-other": 0.0003,
}
_FLOOR = 3
_LAMBDA_REASONS = {
    "lambda-response-too-large": ("LambdaResponseTooLarge",),
    "lambda-unhandled": ("LambdaUnhandled",),
    "lambda-throttled": ("LambdaThrottling",),
    "lambda-invalid-response": ("LambdaInvalidResponse",),
    "lambda-other": ("LambdaConnectionTimeout", "LambdaServiceException", "LambdaConnectionError"),
}
_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "ShopApp/4.12.1 (Android 14; Pixel 8)",
    "okhttp/4.12.0",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "-",
)
_TLS = (("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2"), ("TLS_AES_128_GCM_SHA256", "TLSv1.3"))
_WORDS = ("boots", "jacket", "wool+socks", "rain+coat", "sneakers", "scarf")


@dataclass(frozen=True)
class _Group:
    name: str
    targets: tuple[str, ...]  # ip:port; empty for a Lambda target group
    priority: str  # matched_rule_priority of the listener rule that forwards to it


_WEB = _Group(
    "shop-web",
    ("10.0.11.21:8080", "10.0.11.87:8080", "10.0.12.14:8080", "10.0.12.203:8080", "10.0.13.45:8080"),
    "0",
)
_API = _Group("shop-api-nginx", ("10.0.21.10:80", "10.0.22.10:80"), "10")
_LAMBDA = _Group("shop-img-resize", (), "20")
_RESTARTING = ("10.0.12.14:8080", "10.0.12.203:8080")  # the target that restarts, and its twin


@dataclass(frozen=True)
class SampleLine:
    time: datetime
    node: int  # index into NODE_IPS
    signature: str | None  # the 502 signature the line was written to show; None for other lines
    text: str


@dataclass(frozen=True)
class SampleManifest:
    files: tuple[Path, ...]  # in delivery order (5-minute interval, then LB node)
    lines: int  # every line written: requests + unparsed_lines
    unparsed_lines: int  # junk lines the canonical regex rejects
    requests: int  # lines that parse
    signatures: dict[str, int]  # 502 lines per signature id, SIGNATURE_IDS order, all > 0
    start: datetime  # UTC
    end: datetime  # exclusive: every request has start <= time < end


@dataclass(frozen=True)
class _Ctx:
    elb: str
    arns: dict[str, str]
    cert: str


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _path(rng: random.Random, group: _Group) -> str:
    if group is _LAMBDA:
        return f"/img/resize?src=products/{rng.randint(1000, 99999)}.jpg&w={rng.choice((160, 320, 640))}"
    if group is _API:
        return rng.choice(
            (
                f"/api/v1/orders/{rng.randint(10**5, 10**6)}?expand=items",
                "/api/v1/cart/items",
                f"/api/v1/stock?sku=SKU-{rng.randint(100, 9999)}&warehouse=dub1",
            )
        )
    roll = rng.random()
    # AWS logs the URL as received: a raw space or double quote does reach the log, rarely.
    if roll < 0.002:
        return "/search?q=red shoes&page=1"
    if roll < 0.004:
        return '/search?q="winter"&sort=price'
    return rng.choice(
        (
            "/",
            "/cart",
            "/account/orders",
            f"/products/{rng.randint(1000, 99999)}?ref=home",
            f"/search?q={rng.choice(_WORDS)}&page={rng.randint(1, 5)}",
            f"/static/js/app.{rng.getrandbits(32):08x}.js",
        )
    )


def _fields(rng: random.Random, c: _Ctx, t: datetime, kind: str, target: str | None = None) -> dict[str, str]:
    """The text of every log field (unquoted) of one request whose outcome is `kind`."""
    lam = kind.startswith("lambda")
    group = (
        _LAMBDA
        if lam
        else _API
        if kind == "target-502"
        else _WEB
        if kind != "ok"
        else (rng.choices((_WEB, _API, _LAMBDA), (7, 2, 1))[0])
    )
    typ = "http" if kind in ("301", "400") else rng.choices(("https", "h2"), (3, 2))[0]
    no_target = group is _LAMBDA or kind in ("301", "400", "elb-502-other")
    tgt = "-" if no_target else target or rng.choice(group.targets)
    rpt = f"0.00{rng.randint(0, 1)}"
    elb_code, tgt_code, reason, actions = "502", "-", "-", "forward"
    if kind in ("ok", "404"):
        elb_code = tgt_code = "200" if kind == "ok" else "404"
        times = (rpt, f"{rng.lognormvariate(-3.5, 1.0):.3f}", "0.000")
    elif kind in ("301", "400", "connect-failed", "elb-502-other"):
        times = ("-1", "-1", "-1")
        elb_code = {"301": "301", "400": "400"}.get(kind, "502")
        other = rng.choice(("forward", "waf,forward"))
        actions = {"301": "redirect", "400": "-", "elb-502-other": other}.get(kind, "forward")
    elif kind in ("504", "response-failed"):
        times, elb_code = (rpt, "-1", "-1"), "504" if kind == "504" else "502"
    elif kind == "target-502":
        times, tgt_code = (rpt, f"{rng.uniform(0.003, 2.0):.3f}", "0.000"), "502"
    else:  # Lambda: the function was invoked, so the times are real even though the answer is a 502
        times, reason = (rpt, f"{rng.uniform(0.004, 3.0):.3f}", "0.000"), rng.choice(_LAMBDA_REASONS[kind])
    path = _path(rng, group)
    verb = "POST" if group is _API and rng.random() < 0.3 else "GET"
    port = "80" if typ == "http" else "443"
    request = (
        "- - - "
        if kind == "400"
        else (
            f"{verb} {'http' if typ == 'http' else 'https'}://{DOMAIN}:{port}{path} "
            f"{'HTTP/2.0' if typ == 'h2' else 'HTTP/1.1'}"
        )
    )
    # 504s are the idle timeout (60 s); other durations are the sum of the processing times.
    spent = 60.0 if kind == "504" else sum(max(float(x), 0.0) for x in times) + rng.uniform(0, 0.002)
    created = t - timedelta(seconds=spent)
    tls = typ != "http"
    cipher, proto = rng.choice(_TLS)
    bare = kind == "400"
    space = " " in path and not bare
    return {
        "type": typ,
        "time": _ts(t),
        "elb": c.elb,
        "client:port": f"{rng.choice((81, 86, 92, 176, 203))}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
        f"{rng.randint(1, 254)}:{rng.randint(1024, 65535)}",
        "target:port": tgt,
        "request_processing_time": times[0],
        "target_processing_time": times[1],
        "response_processing_time": times[2],
        "elb_status_code": elb_code,
        "target_status_code": tgt_code,
        "received_bytes": str(0 if bare else rng.randint(180, 900)),
        # Error pages and redirects, whoever wrote them, are a few hundred bytes.
        "sent_bytes": str(rng.randint(400, 60000) if elb_code == "200" else rng.randint(150, 300)),
        "request": request,
        "user_agent": "-" if bare else rng.choice(_USER_AGENTS),
        "ssl_cipher": cipher if tls else "-",
        "ssl_protocol": proto if tls else "-",
        "target_group_arn": "-" if kind in ("301", "400") else c.arns[group.name],
        "trace_id": "-" if bare else f"Root=1-{int(created.timestamp()):08x}-{rng.getrandbits(96):024x}",
        "domain_name": DOMAIN if tls else "-",
        "chosen_cert_arn": c.cert if tls else "-",
        "matched_rule_priority": "-" if bare else "0" if kind == "301" else group.priority,
        "request_creation_time": _ts(created),
        "actions_executed": actions,
        # The Location header is percent-encoded, unlike the request URL as logged.
        "redirect_url": f"https://{DOMAIN}:443{quote(path, safe='/?&=+')}" if kind == "301" else "-",
        "error_reason": reason,
        "target:port_list": tgt,
        "target_status_code_list": tgt_code,
        # Desync mitigation classifies a raw space in the URI; everything else here is compliant.
        "classification": "Acceptable" if space else "-",
        "classification_reason": "SpaceInUri" if space else "-",
        "conn_trace_id": f"TID_{rng.getrandbits(128):032x}",
        "transformed_host": "-",
        "transformed_uri": "-",
        "request_transform_status": "-",
    }


def _render(values: dict[str, str], shape: int) -> str:
    fields = next(s for s in log_format().shapes if s.version == SHAPE_NAMES[shape]).fields
    return " ".join(f'"{values[f.name]}"' if f.quoted else values[f.name] for f in fields)


def generate_lines(
    rng: random.Random,
    *,
    start: datetime,
    minutes: int,
    requests_per_minute: int,
    load_balancer: str,
    account: str,
    region: str,
) -> list[SampleLine]:
    """Every request line of the sample (no junk), sorted by time; all times in [start, start+minutes)."""
    arn = f"arn:aws:elasticloadbalancing:{region}:{account}:targetgroup"
    ctx = _Ctx(
        load_balancer,
        {g.name: f"{arn}/{g.name}/{rng.getrandbits(64):016x}" for g in (_WEB, _API, _LAMBDA)},
        f"arn:aws:acm:{region}:{account}:certificate/{uuid.UUID(int=rng.getrandbits(128))}",
    )
    total_us = minutes * 60_000_000
    rows: list[tuple[datetime, str | None, dict[str, str]]] = []

    def at(lo: float, length_us: int) -> datetime:
        first = min(int(lo * total_us), total_us - length_us)
        return start + timedelta(microseconds=first + rng.randrange(length_us))

    for minute in range(minutes):
        for _ in range(round(requests_per_minute * rng.uniform(0.85, 1.15))):
            t = start + timedelta(microseconds=minute * 60_000_000 + rng.randrange(60_000_000))
            kind = rng.choices(("ok", "404", "301", "504", "400"), (930, 35, 30, 3, 2))[0]
            rows.append((t, None, _fields(rng, ctx, t, kind)))
    base = len(rows)
    ten, five = min(600_000_000, total_us), min(300_000_000, total_us)
    for sid in SIGNATURE_IDS:
        for i in range(max(_FLOOR, round(base * _RATES[sid]))):
            target = None
            if sid == "connect-failed":  # the restart: refused connections for ten minutes
                t, target = at(0.4, ten), rng.choices(_RESTARTING, (4, 1))[0]
            elif sid == "response-failed" and i % 2 == 0:  # requests in flight when it went down
                t, target = at(0.4, ten), _RESTARTING[0]
            elif sid == "lambda-throttled":
                t = at(0.7, five)
            else:
                t = at(0.0, total_us)
            rows.append((t, sid, _fields(rng, ctx, t, sid, target)))
    rows.sort(key=lambda r: r[0])
    shapes = rng.choices(range(len(SHAPE_NAMES)), (1, 1, 2, 2, 4), k=len(rows))
    shapes[: len(SHAPE_NAMES)] = range(len(SHAPE_NAMES))[: len(rows)]  # every shape, even when tiny
    return [
        SampleLine(t, rng.randrange(len(NODE_IPS)), sid, _render(values, shape))
        for (t, sid, values), shape in zip(rows, shapes, strict=True)
    ]


def _junk(rng: random.Random, near: str) -> str:
    # Each is rejected by the canonical regex: the truncation cuts inside the request field, well
    # before error_reason (a cut after it would still parse, the rest going to the tail).
    return rng.choice(
        (
            near[: near.index('"') + rng.randint(4, 30)],
            "<html><head><title>502 Bad Gateway</title></head></html>",
            "".join(rng.choices(string.ascii_letters + " ", k=rng.randint(20, 80))),
        )
    )


def write_sample(
    dest: Path,
    *,
    seed: int = 502,
    start: datetime | None = None,
    minutes: int = 60,
    requests_per_minute: int = 200,
    load_balancer: str = "app/shop-prod/50dc6c495c0c9188",
    account: str = "123456789012",
    region: str = "eu-west-1",
    gzip_files: bool = True,
) -> SampleManifest:
    """Write the sample under dest/AWSLogs/... and describe what was written.

    A naive `start` is read as UTC; None means DEFAULT_START (never the wall clock, so output is a pure
    function of the arguments). Only non-empty files are written, as AWS does.
    """
    parts = load_balancer.split("/")
    if len(parts) != 3 or parts[0] != "app":
        raise ValueError(f"load_balancer must look like app/<name>/<id>, not {load_balancer!r}")
    if minutes < 1 or requests_per_minute < 0:
        raise ValueError("minutes must be >= 1 and requests_per_minute >= 0")
    start = (
        DEFAULT_START
        if start is None
        else (start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC))
    )
    rng = random.Random(seed)
    lines = generate_lines(
        rng,
        start=start,
        minutes=minutes,
        requests_per_minute=requests_per_minute,
        load_balancer=load_balancer,
        account=account,
        region=region,
    )
    epoch = start.replace(minute=start.minute - start.minute % 5, second=0, microsecond=0)
    files: dict[tuple[int, int], list[str]] = {}
    for line in lines:
        files.setdefault(((line.time - epoch) // INTERVAL, line.node), []).append(line.text)
    keys = sorted(files)
    junk = rng.randint(3, 8)
    for _ in range(junk):
        body = files[rng.choice(keys)]
        body.insert(rng.randint(0, len(body)), _junk(rng, rng.choice(lines).text))
    written: list[Path] = []
    for interval, node in keys:
        end = epoch + (interval + 1) * INTERVAL
        folder = dest / "AWSLogs" / account / "elasticloadbalancing" / region / end.strftime("%Y/%m/%d")
        suffix = "".join(rng.choices(string.ascii_lowercase + string.digits, k=8))
        name = (
            f"{account}_elasticloadbalancing_{region}_app.{parts[1]}.{parts[2]}_{end:%Y%m%dT%H%MZ}_"
            f"{NODE_IPS[node]}_{suffix}.log"
        )
        data = "".join(f"{text}\n" for text in files[interval, node]).encode()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (name + ".gz" if gzip_files else name)
        # mtime=0: the same seed must give the same bytes.
        path.write_bytes(gzip.compress(data, mtime=0) if gzip_files else data)
        written.append(path)
    counts = Counter(line.signature for line in lines)
    return SampleManifest(
        tuple(written),
        len(lines) + junk,
        junk,
        len(lines),
        {sid: counts[sid] for sid in SIGNATURE_IDS},
        start,
        start + timedelta(minutes=minutes),
    )
