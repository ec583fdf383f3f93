"""Typer's coercion of option values, without pydantic for the values a command line usually gives.

Typer (0.29) coerces each parameter's value through a pydantic TypeAdapter built when the command line
is parsed: importing pydantic and building the thirty adapters of `diagnose` took about 0.15 s of every
run, a tenth of a diagnosis of a million lines. Here each parameter of the app gets, as its command
parses, a coercion that returns what Typer's would for the values whose outcome is plain: a string for a
`str`, a path that Typer's own checks accept for a `Path`, a default of the annotation's own type within
its bounds. Any other value (and every value Typer would refuse, so that its message is Typer's) goes to
Typer's own coercion, built then. tests/test_cli_coercion.py holds the two to the same results.

The app's commands install it on their parameters as they parse (cli/app.py). It relies on two attributes
Typer keeps (`type_descriptor`, and `_runtime_param`, which Typer builds lazily when it is None): where
they are missing (another Typer), nothing is installed and Typer does it all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args, get_origin

if TYPE_CHECKING:
    from typer import _click as click

# What a plain decimal integer looks like: pydantic reads it as int() does.
_INT = re.compile(r"0|[1-9][0-9]{0,17}")
_TYPER_S = object()  # "ask Typer": the value is not one this module decides


def install(params: Sequence[click.Parameter]) -> None:
    """Give each of these parameters whose annotation this module knows the direct coercion, unless
    its coercion is built already (called again for the same parameters, it changes nothing)."""
    try:
        from typer._coercion import RuntimeParam
    except ImportError:
        return
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", False) is not None:
            continue  # not Typer's, or its coercion is built already
        direct = _coercer(descriptor.annotation, descriptor.parameter_info)
        if direct is not None:
            param._runtime_param = _direct_class(RuntimeParam)(  # type: ignore[attr-defined]
                parameter_info=descriptor.parameter_info, annotation=descriptor.annotation, direct=direct
            )


@cache
def _direct_class(base: type[Any]) -> type[Any]:
    @dataclass(frozen=True)
    class Direct(base):  # type: ignore[misc]
        direct: Coercer

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            result = self.direct(value, param, ctx)
            if result is _TYPER_S:
                from typer._coercion import build_runtime_param

                # Typer's own, kept for the next value: its result, or its error message.
                param._runtime_param = build_runtime_param(param.type_descriptor)
                return param._runtime_param._coerce_value(value, param=param, ctx=ctx)
            return result

    return Direct


Coercer = Callable[[Any, Any, Any], Any]


def _coercer(annotation: Any, info: Any) -> Coercer | None:
    """The direct coercion of `annotation` with these settings (None: Typer's only)."""
    if getattr(info, "parser", None) is not None or getattr(info, "click_type", None) is not None:
        return None
    if annotation is str:
        return _str
    if annotation is bool:
        # Typer passes a flag's bool through uncoerced, but asks for the coercion, building pydantic's,
        # for a flag without a value (None: help, completion, a bool | None default).
        return _bool
    if annotation in (int, float):
        if getattr(info, "clamp", False):
            return None
        return _number(annotation, getattr(info, "min", None), getattr(info, "max", None))
    if _is_path(annotation, info):
        return _path(info)
    args = get_args(annotation)
    if get_origin(annotation) is list and len(args) == 1 and _is_path(args[0], info):
        return _paths(info)
    if get_origin(annotation) is list and args == (str,):
        return _strs
    return None


def _str(value: Any, param: Any, ctx: Any) -> Any:
    return value if type(value) is str else _TYPER_S


def _strs(value: Any, param: Any, ctx: Any) -> Any:
    # A list parameter takes many values: Typer hands them over as a tuple (None and a lone string
    # never reach a coercion), so anything else is Typer's to refuse.
    if not isinstance(value, list | tuple) or any(type(item) is not str for item in value):
        return _TYPER_S
    return list(value)


def _bool(value: Any, param: Any, ctx: Any) -> Any:
    return value if type(value) is bool else _TYPER_S


def _number(kind: type[Any], low: float | None, high: float | None) -> Coercer:
    def coerce(value: Any, param: Any, ctx: Any) -> Any:
        if type(value) is str and kind is int and _INT.fullmatch(value):
            value = int(value)
        elif type(value) is int and kind is float and abs(value) < 2**53:
            value = float(value)  # as pydantic makes an int default of a float option
        if type(value) is not kind or not math.isfinite(value):
            return _TYPER_S
        if (low is not None and value < low) or (high is not None and value > high):
            return _TYPER_S  # refused: in Typer's words
        return value

    return coerce


def _is_path(annotation: Any, info: Any) -> bool:
    path_type = getattr(info, "path_type", None) or annotation
    return (
        annotation is Path
        and path_type is Path
        and not (getattr(info, "allow_dash", False) and getattr(info, "file_okay", True))
    )


def _path(info: Any) -> Coercer:
    def coerce(value: Any, param: Any, ctx: Any) -> Any:
        from typer._click.exceptions import BadParameter
        from typer._param_types import coerce_cli_path

        if type(value) is not str:
            return _TYPER_S
        # Typer makes the Path with pydantic (Path(value), for a string), then checks it as here.
        try:
            return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
        except (BadParameter, ValueError):
            return _TYPER_S  # refused (a NUL in it, say): in Typer's words, naming the value as given

    return coerce


def _paths(info: Any) -> Coercer:
    one = _path(info)

    def coerce(value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, list | tuple):
            return _TYPER_S  # as for _strs
        out = [one(item, param, ctx) for item in value]
        return _TYPER_S if any(item is _TYPER_S for item in out) else out

    return coerce
