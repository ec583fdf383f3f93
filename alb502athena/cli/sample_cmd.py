"""The sample command: realistic synthetic logs with every signature, for demos and trials."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alb502athena.cli.options import domain_errors
from alb502athena.window import parse_time


@domain_errors
def sample(
    dest: Annotated[Path, typer.Argument(help="Folder to write the logs into (created if missing).")],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 502,
    start: Annotated[str | None, typer.Option("--start", help="First request time, ISO-8601 UTC.")] = None,
    minutes: Annotated[int, typer.Option("--minutes", min=5, help="How many minutes of traffic.")] = 60,
    rate: Annotated[int, typer.Option("--rate", min=1, help="Requests per minute.")] = 200,
    plain: Annotated[bool, typer.Option("--plain", help="Write .log files instead of .log.gz.")] = False,
) -> None:
    """Write synthetic ALB access logs that contain every 502 signature.

    Example: alb502 sample ./demo-logs && alb502 diagnose ./demo-logs
    """
    from alb502athena.cli.faults import check_output_folder
    from alb502athena.sample import write_sample

    check_output_folder(dest, "the folder")
    manifest = write_sample(
        dest,
        seed=seed,
        start=parse_time(start, "--start") if start else None,
        minutes=minutes,
        requests_per_minute=rate,
        gzip_files=not plain,
    )
    typer.echo(
        f"Wrote {manifest.lines:,} lines in {len(manifest.files)} files under {dest} "
        f"({sum(manifest.signatures.values()):,} HTTP 502s)"
    )
