"""The `alb502` application: registers the commands of each module; settings live on ctx.obj."""

from __future__ import annotations

import gc
import os
import re
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import typer
from typer import _click as click  # Typer's own Click: its commands raise these exceptions
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from alb502athena import __version__, interrupts
from alb502athena.cli import aws_cmds, catalogue_cmds, coercion, faults, logs, sample_cmd
from alb502athena.errors import Interrupted

# What Rich would read as a markup tag in help text, e.g. `[database.]` (Typer renders help with Rich).
_RICH_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def _literal(text: str | None) -> str | None:
    """Help text shown as written: brackets escaped so that Rich prints them rather than eating them."""
    if text is None:
        return None
    return _RICH_TAG.sub(lambda m: m[1] * 2 + "\\" + m[2], text)


def _literal_help(command: click.Command) -> None:
    command.help = _literal(command.help)
    command.short_help = _literal(command.short_help)
    for param in command.params:
        if isinstance(param, TyperOption | TyperArgument):
            param.help = _literal(param.help)
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            _literal_help(sub)


def _usage_error(exc: click.ClickException) -> None:
    """A usage error as one `Error:` line and, when there is a command to ask, one hint line."""
    typer.echo(f"Error: {exc.format_message()}", err=True)
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and ctx.command.get_help_option(ctx) is not None:
        typer.echo(f"Try '{ctx.command_path} --help' for help.", err=True)


class Alb502Command(TyperCommand):
    """A command of the app: option values coerced without pydantic where the outcome is plain."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        coercion.install(params)  # its help option included, made by the call above
        return params


class Alb502Group(TyperGroup):
    """The app's command group: help text printed literally, usage errors printed as one line, option
    values coerced without pydantic where the outcome is plain (coercion.py)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _literal_help(self)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        coercion.install(params)
        return params

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            sys.exit(exc.exit_code)  # the help is already printed
        except click.ClickException as exc:
            _usage_error(exc)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("Error: aborted", err=True)
            sys.exit(1)
        # Outside standalone mode Click returns what would have been the exit code.
        sys.exit(code if isinstance(code, int) else 0)


def _typer() -> typer.Typer:
    return typer.Typer(
        name="alb502",
        cls=Alb502Group,
        help="Find why an AWS Application Load Balancer answers HTTP 502, from its access logs.\n\n"
        "Example: alb502 diagnose ./logs --last 2h",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )


app = _typer()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"alb502 {__version__}")
        raise typer.Exit()


@dataclass
class RunOptions:
    """What the root options ask of the whole run; the entry point reads it back after the command."""

    debug: bool = False


@app.callback()
def root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
    debug: bool = typer.Option(
        False,
        "--debug",
        help="Show the traceback of an unexpected error (a bug), instead of one line.",
        envvar="ALB502_DEBUG",
    ),
) -> None:
    """Find why an AWS Application Load Balancer answers HTTP 502, from its access logs."""
    ctx.ensure_object(RunOptions).debug = debug


app.command("diagnose", cls=Alb502Command)(logs.diagnose)
app.command("run", cls=Alb502Command)(logs.run)
app.command("list", cls=Alb502Command)(catalogue_cmds.list_signatures)
app.command("sql", cls=Alb502Command)(catalogue_cmds.sql)
app.command("ddl", cls=Alb502Command)(catalogue_cmds.ddl)
app.command("sample", cls=Alb502Command)(sample_cmd.sample)
app.command("check-table", cls=Alb502Command)(aws_cmds.check_table)
app.command("metrics", cls=Alb502Command)(aws_cmds.metrics)


# Root options that may come before the command's name and print nothing themselves.
_QUIET_ROOT_OPTIONS = ("--debug",)


def app_for(args: Sequence[str]) -> typer.Typer:
    """The app for these arguments: with only the command they name, where they name one. Typer builds
    every command's parameters before it parses (about 20 ms for the seven a run does not use); the
    command's own help, parsing and errors are the same in either. The whole app otherwise: root help
    or version (it lists every command), shell completion, a name that is no command's."""
    name = next((a for a in args if a not in _QUIET_ROOT_OPTIONS), None)
    if name is None or any(key.endswith("_COMPLETE") for key in os.environ):
        return app
    chosen = [c for c in app.registered_commands if c.name == name]
    if not chosen:
        return app
    one = _typer()
    one.registered_callback = app.registered_callback
    one.registered_commands = chosen
    return one


def main() -> None:
    """The `alb502` command: runs the app, then turns what escaped it into one line and an exit code
    (130 whenever Ctrl-C came, wherever it landed; 3 and a hint to --debug for a bug)."""
    # A command is one short process. The cyclic collector finds nothing to free in it, but runs
    # dozens of times while the imports create their objects; without it a diagnosis of a million
    # lines is about 0.04 s faster. Memory is still freed by reference counting.
    gc.disable()
    # numpy's OpenBLAS starts a thread per core that spins for a while after the import, taking CPU
    # from the reader's workers; nothing here does linear algebra.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # numpy asks for transparent huge pages on every array of 4 MiB or more. Where THP defrag is
    # "madvise" (a common default) each such fault may compact memory synchronously: after another
    # process has fragmented it, that was 0.5 s of kernel time per diagnosis of a million lines.
    # The reader's buffers are pooled and reused, so small pages cost little.
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    ctrl_c = interrupts.take_over()  # already taken over by the entry point (alb502athena/__main__.py)
    options = RunOptions(debug=os.environ.get("ALB502_DEBUG", "") not in ("", "0"))
    try:
        app_for(sys.argv[1:])(obj=options)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    except Exception as exc:  # a bug: one line, and the way to see more
        if ctrl_c is not None and ctrl_c.count and not options.debug:
            code = 0  # what stopping the work midway left: the run ends as interrupted, below
        else:
            from alb502athena.safetext import inert_lines  # a bug's message may quote a log's value

            typer.echo(f"Error: {inert_lines(faults.bug(exc, options.debug))}", err=True)
            code = faults.BUG_EXIT
    if ctrl_c is not None:
        # The outcome is decided: a Ctrl-C from here on is ignored, also while the interpreter shuts
        # down (it puts back the default handler, which would kill the process without a word).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if ctrl_c is not None and ctrl_c.count and code != Interrupted.exit_code:
        # It came where nothing could raise it (imports, option parsing, the last output), or
        # something swallowed it: the run still ends as interrupted.
        typer.echo("Error: interrupted", err=True)
        code = Interrupted.exit_code
    sys.exit(code)
