"""What a command pays for before it does its work: the modules it imports, the commands Typer builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alb502athena.cli.app import app, app_for
from tests.conftest import REPO

COMMANDS = [c.name for c in app.registered_commands]
_PROBE = """
import sys
from alb502athena.cli.app import main
try:
    main()
except SystemExit as exc:
    heavy = ("pydantic", "jinja2", "yaml", "sqlglot")
    print("exit", exc.code, sorted({m.split(".")[0] for m in sys.modules if m.startswith(heavy)}), file=sys.stderr)
"""


def _diagnose(cache: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, "diagnose", "examples/logs", "./examples/logs/", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        # The SQL view: the native parser would be compiled first in an empty cache (seconds).
        env={**os.environ, "PYTHONPATH": str(REPO), "ALB502_PARSER": "sql", "ALB502_CACHE": str(cache)},
        timeout=300,
    )
    return done.stderr.strip().splitlines()[-1]


def test_a_warm_diagnosis_imports_no_pydantic_jinja_yaml_or_sqlglot(tmp_path: Path) -> None:
    """A first run compiles the queries (sqlglot), renders the templates (Jinja) and reads the YAML; a
    second reads all three from the cache. Typer's pydantic coercion is never needed for these options."""
    assert _diagnose(tmp_path, "-o", "json") == "exit 0 ['jinja2', 'sqlglot', 'yaml']"
    assert _diagnose(tmp_path, "-o", "json") == "exit 0 []"
    # A window: the templates render other text, and the query has another shape.
    assert _diagnose(tmp_path, "--start", "2026-11-20T09:00Z") == "exit 0 ['jinja2', 'sqlglot']"
    # Another start: other text again, but the compiled shape leaves the dates out.
    assert _diagnose(tmp_path, "--start", "2026-11-20T09:30Z") == "exit 0 ['jinja2']"


@pytest.mark.parametrize(
    ("args", "commands"),
    [
        (["diagnose", "logs"], ["diagnose"]),
        (["--debug", "run", "connect-failed"], ["run"]),
        (["metrics", "--help"], ["metrics"]),
        ([], COMMANDS),
        (["--help"], COMMANDS),
        (["-h", "diagnose"], COMMANDS),  # the root's help lists every command
        (["--version"], COMMANDS),
        (["diagnoze", "logs"], COMMANDS),  # "No such command", from the whole list
    ],
)
def test_typer_builds_only_the_command_named(args: list[str], commands: list[str]) -> None:
    assert [c.name for c in app_for(args).registered_commands] == commands


def test_completion_gets_every_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_ALB502_COMPLETE", "bash_complete")
    assert app_for(["diagnose"]) is app


@pytest.mark.parametrize("name", COMMANDS)
def test_a_command_alone_behaves_as_in_the_whole_app(name: str) -> None:
    runner = CliRunner()
    for args in ([name, "--help"], [name, "--no-such-option"], ["--debug", name, "--output", "nope"]):
        alone = runner.invoke(app_for(args), args)
        whole = runner.invoke(app, args)
        assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output), args


_TEARDOWN = """
import atexit, sys
atexit.register(lambda: print("the interpreter was torn down", file=sys.stderr))
from alb502athena.__main__ import main
main()
"""


@pytest.mark.parametrize(
    ("args", "code"), [(["-o", "json"], 0), (["--fail-on-findings"], 1), (["--last", "x"], 2)]
)
def test_the_command_exits_without_tearing_the_interpreter_down(args: list[str], code: int) -> None:
    """Its output whole and its exit code, and no interpreter teardown after them (~70 ms of CPU)."""
    done = subprocess.run(
        [sys.executable, "-c", _TEARDOWN, "diagnose", "examples/logs", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert done.returncode == code, done.stderr
    assert "torn down" not in done.stderr
    if code == 0:
        assert json.loads(done.stdout)["totals"]["elb_502"] > 0  # flushed, whole
    elif code == 1:
        assert "connect-failed" in done.stdout  # the findings that decided the exit code
    else:
        assert done.stderr.splitlines()[-1].startswith("Error:")


def test_a_stream_that_cannot_be_flushed_ends_as_before(tmp_path: Path) -> None:
    """stdout closed by the time the run ends: the interpreter ends the usual way (its exit handlers
    run), with the command's exit code."""
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('the interpreter was torn down', file=sys.stderr))\n"
        "from alb502athena.cli import app\n"
        "def closing():\n"
        "    sys.stdout.close()\n"
        "    raise SystemExit(4)\n"
        "app.main = closing\n"
        "from alb502athena.__main__ import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (4, "the interpreter was torn down\n")
