"""`alb502 diagnose s3://bucket/prefix`: the options to the library's plan and reader, the plan and the
progress on stderr."""

from __future__ import annotations

import re
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from alb502athena.errors import UsageError
from alb502athena.objectname import ACCOUNT
from alb502athena.progress import terminal_line
from alb502athena.safetext import inert

if TYPE_CHECKING:
    from alb502athena.engines.local import LocalEngine
    from alb502athena.inputs import Inputs
    from alb502athena.render import QueryParams
    from alb502athena.s3source import S3Plan


def region_given(ctx: Any) -> bool:
    """Whether --region was on the command line (`ctx`, the command's): AWS_REGION picks the client's
    region, and must not narrow the logs read to that region without the user saying so."""
    source = ctx.get_parameter_source("region") if ctx is not None else None
    return getattr(source, "name", None) == "COMMANDLINE"


def _warn(text: str) -> None:
    typer.echo(f"Warning: {inert(text)}", err=True)


@dataclass
class S3Run:
    plan: S3Plan
    progress: Any = None  # a Rich Progress on a terminal

    def inputs(self) -> tuple[Inputs, list[list[str]]]:
        """What the listing found, and the first lines of the objects sampled as they were read."""
        reader = self.plan.reader
        return self.plan.inputs(), reader.heads() if reader is not None else []

    def finish(self) -> None:
        """The progress bar gone, before anything else is written."""
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def open_s3(o: dict[str, Any], url: str, params: QueryParams) -> tuple[LocalEngine, S3Run]:
    """List the window's objects under `url`, say the plan, refuse above --max-download, and start
    reading them (the engine's scan starts at once)."""
    from alb502athena.aws import session
    from alb502athena.cost import parse_size
    from alb502athena.engines.local import LocalEngine
    from alb502athena.s3cache import DEFAULT_SIZE, ObjectCache, default_dir
    from alb502athena.s3read import CONCURRENCY, S3Reader
    from alb502athena.s3source import RequestCounter, plan, s3_client

    limit = parse_size(o["max_download"], "--max-download") if o.get("max_download") else None
    cache_size = parse_size(o["cache_size"], "--cache-size") if o.get("cache_size") else DEFAULT_SIZE
    account = o.get("account")
    if account is not None and re.fullmatch(ACCOUNT, account) is None:
        raise UsageError(f"invalid --account {account!r}: an AWS account id, 12 digits")
    cache = None
    if not o.get("no_cache"):
        cache = ObjectCache(o.get("cache") or default_dir(), cache_size, warn=_warn)
        if not cache.usable:
            cache = None
    payer = o.get("request_payer")
    aws = session(o.get("profile"), o.get("region"))
    reads = s3_client(aws, CONCURRENCY, payer, reads=True)  # first: see s3_client
    s3 = s3_client(aws, CONCURRENCY, payer)
    counter = RequestCounter()
    counter.attach(s3)
    counter.attach(reads)
    region = o.get("region") if region_given(o.get("ctx")) else None
    found = plan(
        s3, url, params.window, load_balancer=params.load_balancer, account=account, region=region,
        requests=counter, cache=cache, progress=terminal_line(),
    )  # fmt: skip
    typer.echo(inert(found.sentence()), err=True)
    found.refuse_above(limit, o.get("max_download"))
    run = S3Run(found)
    reader = S3Reader(
        reads, found.objects, cache=cache, request_payer=payer, progress=_progress_bar(run, found)
    )
    found.reader = reader
    engine = LocalEngine(found.files, params.window, source=reader)
    return engine, run


def _progress_bar(run: S3Run, found: S3Plan) -> Any:
    """On a terminal, a bar of the objects and bytes read (from S3 or the cache) and the rate; else
    nothing (the plan line said what will be read)."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    total = len(found.objects)
    bar = Progress(
        TextColumn("Reading S3 objects: {task.fields[done]:,} of " + f"{total:,}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("s3", total=found.bytes, done=0)
    lock = threading.Lock()
    done = [0]

    def advance(objects: int, size: int) -> None:
        with lock:
            done[0] += objects
            bar.update(task, advance=size, done=done[0])

    bar.start()
    run.progress = bar
    return advance
