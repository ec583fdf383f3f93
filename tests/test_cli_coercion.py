"""The CLI's direct coercion of option values (alb502athena/cli/coercion.py) against Typer's own.

Typer coerces through pydantic; the app coerces the plain values itself, to spare the import. For every
parameter of every command and many values (the command line's strings, defaults, paths that exist or
not, values out of bounds), both must give the same result, or both refuse with the same message.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer import _click as click
from typer._coercion import build_runtime_param
from typer.core import TyperGroup

from alb502athena.cli.app import app

VALUES: list[Any] = [
    None, "", "x", " x ", "-", "json", "table", "0", "1", "12", "007", "-3", "1_000", "1.5", "2.0", "nan",
    "inf", "1e3", "true", "no", "x\udcff", "a\x00b", 0, 1, -1, 3, 100, 10**6, 2.5, 0.0, -0.5,
    float("nan"), float("inf"), True, False,
]  # fmt: skip


def _commands() -> list[tuple[str, click.Command]]:
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    return [("alb502", group), *sorted(group.commands.items())]


def _paths(tmp_path: Path) -> list[str]:
    (tmp_path / "file.log").write_text("x\n")
    (tmp_path / "folder").mkdir()
    names = ["file.log", "folder", "missing", "file.log/", "folder/", "./folder", "folder//file"]
    return [str(tmp_path / n) for n in names] + [str(tmp_path) + "/../" + tmp_path.name]


def _outcome(runtime: Any, value: Any, param: Any, ctx: Any) -> tuple[str, Any]:
    try:
        result = runtime.coerce(value, param=param, ctx=ctx)
    except click.exceptions.BadParameter as exc:
        return "refused", exc.format_message()
    except ValueError as exc:  # Typer's own, for a path holding a NUL: the same from both
        return "error", (type(exc), str(exc))
    if isinstance(result, float) and math.isnan(result):
        return "nan", type(result)
    if isinstance(result, list | tuple):
        return "items", (type(result), [(type(r), r) for r in result])
    return "value", (type(result), result)


def test_each_parameter_coerces_as_typer_does(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    direct = typer_only = 0
    for _, command in _commands():
        ctx = command.context_class(command, info_name=command.name)
        params = command.get_params(ctx)  # the app's commands install the direct coercion here
        for param in params:
            descriptor = getattr(param, "type_descriptor", None)
            if descriptor is None:
                continue
            ours = param._runtime_param  # type: ignore[attr-defined]
            assert ours is not None, f"{command.name} {param.name}: no coercion installed"
            typers = build_runtime_param(descriptor)
            is_direct = type(ours).__name__ == "Direct"
            direct += is_direct
            typer_only += not is_direct
            many = [param.default, *VALUES, *paths]
            for value in [*many, tuple(paths[:3]), [paths[0]], (paths[0], "x\udcff")]:
                if param.nargs == -1 or param.multiple:
                    value = value if isinstance(value, list | tuple) or value is None else (value,)
                elif isinstance(value, list | tuple):
                    continue
                param._runtime_param = ours  # Typer's may have replaced it (an unusual value)
                got = _outcome(ours, value, param, ctx)
                want = _outcome(typers, value, param, ctx)
                assert got == want, f"{command.name} {param.name} {value!r}"
    # Most parameters take the direct path; if none did, this test would compare Typer with itself.
    assert direct > 60 and typer_only == 0, (direct, typer_only)


def test_an_unusual_value_goes_to_typers_own_coercion() -> None:
    """A value the module does not decide (a number written with an exponent) is Typer's to read, and
    Typer's coercion stays for the parameter's next value."""
    _, run = next(c for c in _commands() if c[0] == "run")
    ctx = run.context_class(run, info_name="run")
    limit = next(p for p in run.get_params(ctx) if p.name == "limit")
    before = limit._runtime_param  # type: ignore[attr-defined]
    assert type(before).__name__ == "Direct"
    assert limit.process_value(ctx, "12") == 12
    assert limit._runtime_param is before  # type: ignore[attr-defined]
    with pytest.raises(click.exceptions.BadParameter):
        limit.process_value(ctx, "twelve")
    assert limit._runtime_param is not before  # type: ignore[attr-defined]
