"""Every engine offers the same small interface (engines/base.py), so the CLI never probes for attributes."""

from __future__ import annotations

import re
from pathlib import Path

from alb502athena.engines.base import Engine
from alb502athena.engines.local import LocalEngine
from alb502athena.engines.trino import TrinoEngine, TrinoSettings
from alb502athena.logfiles import discover
from alb502athena.window import Window
from tests.conftest import REPO


def _members() -> set[str]:
    return set(Engine.__annotations__) | {"run"}


def test_local_and_trino_engines_carry_every_member_of_the_interface() -> None:
    window = Window.from_options(None, None, None)
    local = LocalEngine(discover([REPO / "examples" / "logs"], window).files, window)
    trino = TrinoEngine(
        TrinoSettings(url="http://127.0.0.1:1", catalog="hive", schema="alb", user="test")
    )  # not connected: the interface is there before any query
    for engine in (local, trino):
        missing = {m for m in _members() if not hasattr(engine, m)}
        assert not missing, f"{type(engine).__name__} lacks {missing}"
        assert engine.notes == []
        assert engine.last_stats is None
        assert engine.aws_session is None


def test_the_cli_does_not_probe_engines_for_attributes() -> None:
    probe = re.compile(r"\b(?:get|has)attr\(\s*[\w.]*engine")
    cli = Path(REPO / "alb502athena" / "cli").rglob("*.py")
    probes = [p.name for p in cli if probe.search(p.read_text())]
    assert probes == []


def test_every_engine_setting_is_an_option_of_diagnose_and_run() -> None:
    """The CLI builds the settings from the options of the same names (cli.options.settings): a setting
    renamed on one side only would silently keep its default."""
    import dataclasses
    import inspect

    from alb502athena.cli import logs
    from alb502athena.engines.athena import AthenaSettings
    from alb502athena.engines.select import EngineRequest

    not_options = {"poll_seconds", "athena", "progress"}  # internal, or built by the CLI itself
    for command in (logs.diagnose, logs.run):
        options = set(inspect.signature(command).parameters)
        for cls in (AthenaSettings, EngineRequest):
            fields = {f.name for f in dataclasses.fields(cls)} - not_options
            assert fields <= options, (command.__name__, cls.__name__, fields - options)
