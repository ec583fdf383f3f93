"""The `alb502` application: registers the commands of each module; settings live on ctx.obj."""

from __future__ import annotations

import gc
import os

import typer

from alb502athena import __version__
from alb502athena.cli import aws_cmds, catalogue_cmds, logs, sample_cmd

app = typer.Typer(
    name="alb502",
    help="Find why an AWS Application Load Balancer answers HTTP 502, from its access logs.\n\n"
    "Example: alb502 diagnose ./logs --last 2h",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"alb502 {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Find why an AWS Application Load Balancer answers HTTP 502, from its access logs."""


app.command("diagnose")(logs.diagnose)
app.command("run")(logs.run)
app.command("list")(catalogue_cmds.list_signatures)
app.command("sql")(catalogue_cmds.sql)
app.command("ddl")(catalogue_cmds.ddl)
app.command("sample")(sample_cmd.sample)
app.command("check-table")(aws_cmds.check_table)
app.command("metrics")(aws_cmds.metrics)


def main() -> None:
    # A command is one short process. The cyclic collector finds nothing to free in it, but runs
    # dozens of times while the imports create their objects; without it a diagnosis of a million
    # lines is about 0.04 s faster. Memory is still freed by reference counting.
    gc.disable()
    # numpy's OpenBLAS starts a thread per core that spins for a while after the import, taking CPU
    # from the reader's workers; nothing here does linear algebra.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    app()
