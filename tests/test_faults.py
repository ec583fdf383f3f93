"""Faults a user meets under stress, on the real `alb502` process: Ctrl-C at any moment, outputs that
cannot be written, a closed pipe, a bug. Each ends in one `Error:` line (or quietly, for the pipe)
and a documented exit code, never a traceback."""

from __future__ import annotations

import gzip
import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO

EXAMPLES = REPO / "examples" / "logs"
HANG = 120  # seconds: only to fail rather than hang when something does not stop


@pytest.fixture(scope="module")
def big_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 1 M lines (seconds of scan): the examples' lines, as 8 gzip members per file, in 10
    files (hard links of one, which costs no disk)."""
    folder = tmp_path_factory.mktemp("big")
    text = b"".join(gzip.decompress(p.read_bytes()) for p in sorted(EXAMPLES.rglob("*.log.gz")))
    first = folder / "part00.log.gz"
    first.write_bytes(gzip.compress(text, compresslevel=1) * 8)
    for i in range(1, 10):
        os.link(first, folder / f"part{i:02d}.log.gz")
    return folder


@dataclass
class Run:
    """An `alb502` process whose stderr (and, on a terminal, stdout) is read as it comes."""

    args: list[str]
    tty: bool
    env: dict[str, str] = field(default_factory=dict)
    pause_at: str | None = None  # once this is read, the output is left unread: the writer blocks
    text: list[str] = field(default_factory=list)  # stderr, or the terminal's output

    def __post_init__(self) -> None:
        # Each import's line on stderr tells where the process is: the moments to interrupt at.
        env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1", **self.env}
        command = [sys.executable, "-m", "alb502athena", *self.args]
        self._seen = threading.Condition()
        self._reading = threading.Event()  # cleared: pause_at was seen
        self._reading.set()
        if self.tty:
            master, slave = pty.openpty()
            self.proc = subprocess.Popen(
                command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, start_new_session=True
            )
            os.close(slave)
            source: Callable[[], bytes] = lambda: os.read(master, 65536)  # noqa: E731
            self._close = lambda: os.close(master)
        else:
            self.proc = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=REPO,
                start_new_session=True,
            )
            assert self.proc.stderr is not None
            stderr = self.proc.stderr
            source = lambda: stderr.read1(65536)  # noqa: E731
            self._close = stderr.close
        self._reader = threading.Thread(target=self._read, args=(source,), daemon=True)
        self._reader.start()

    def _read(self, source: Callable[[], bytes]) -> None:
        while True:
            self._reading.wait()
            try:
                chunk = source()
            except OSError:  # the terminal's other end is gone (EIO)
                chunk = b""
            with self._seen:
                if not chunk:
                    self.text.append("\0")  # the end
                    self._seen.notify_all()
                    return
                self.text.append(chunk.decode(errors="replace"))
                if self.pause_at is not None and re.search(self.pause_at, "".join(self.text[-2:])):
                    self.pause_at = None  # once
                    self._reading.clear()
                self._seen.notify_all()

    def wait_for(self, pattern: str) -> None:
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + HANG
        with self._seen:
            while not regex.search("".join(self.text)):
                assert "\0" not in self.text, f"ended before {pattern!r}:\n{''.join(self.text)[-3000:]}"
                assert time.monotonic() < deadline, f"{pattern!r} not seen"
                self._seen.wait(1)

    def interrupt(self) -> tuple[int, str]:
        assert self.proc.poll() is None, "it ended before it was interrupted"
        os.kill(self.proc.pid, signal.SIGINT)
        self._reading.set()
        stdout = self.proc.stdout.read() if self.proc.stdout else b""  # drained: never blocks it
        code = self.proc.wait(HANG)
        self._reader.join(HANG)
        self._close()
        if not self.tty:
            # Nothing of the process is left: no child, no thread holding a pipe open.
            with pytest.raises(ProcessLookupError):
                os.killpg(self.proc.pid, 0)
        del stdout
        return code, "".join(self.text).rstrip("\0")


def assert_interrupted(code: int, err: str) -> None:
    tail = err[-2000:]
    assert code == 130, tail
    assert "Error: interrupted" in err, tail
    assert "Traceback" not in err and "Exception ignored" not in err, tail
    assert err.count("Error:") == 1, tail


def imported(module: str) -> str:
    """The -X importtime line printed once `module` is imported."""
    return rf"\|\s*{re.escape(module)}\r?$"


REPEAT = 2  # runs per moment and mode: the outcome must not depend on timing
MODES = [pytest.param(False, id="piped"), pytest.param(True, id="terminal")]


@pytest.mark.parametrize("tty", MODES)
@pytest.mark.parametrize(
    ("moment", "marker", "delay"),
    [
        ("imports", imported("typer"), 0.0),
        ("decompressing", imported("duckdb"), 0.0),
        ("scan starts", imported("alb502athena.engines.native.kernel"), 0.0),
        ("mid-scan", imported("alb502athena.engines.native.kernel"), 0.5),
        ("later in the scan", imported("alb502athena.engines.native.kernel"), 1.5),
    ],
)
def test_ctrl_c_during_a_diagnosis(
    big_logs: Path, tty: bool, moment: str, marker: str, delay: float
) -> None:
    for _ in range(REPEAT):
        run = Run(["diagnose", str(big_logs)], tty)
        run.wait_for(marker)
        time.sleep(delay)  # aims the signal; nothing is measured
        assert_interrupted(*run.interrupt())


@pytest.mark.parametrize("tty", MODES)
def test_ctrl_c_on_the_sql_reader(big_logs: Path, tty: bool) -> None:
    run = Run(["diagnose", str(big_logs)], tty, env={"ALB502_PARSER": "sql"})
    run.wait_for(imported("alb502athena.engines.local_view"))
    time.sleep(0.5)
    assert_interrupted(*run.interrupt())


@pytest.mark.parametrize("tty", MODES)
def test_ctrl_c_while_writing_the_results(big_logs: Path, tty: bool) -> None:
    # Thousands of rows: the output outgrows the pipe (or terminal) buffer and the writer blocks
    # until the test reads it, so the signal lands while the results are being written.
    for _ in range(REPEAT):
        header = r"time,elb,client_ip,"
        args = ["run", "connect-failed", str(big_logs), "--limit", "0", "--output", "csv"]
        run = Run(args, tty, pause_at=header)
        if tty:
            run.wait_for(header)
        else:
            assert run.proc.stdout is not None
            assert run.proc.stdout.read(1)  # output has begun
        assert_interrupted(*run.interrupt())
