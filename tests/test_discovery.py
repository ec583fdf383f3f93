"""Finding the log files in folders as users really have them: linked into place, partly unreadable,
with things in them that are not files. Each case lost lines without a word, or hung, before."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alb502athena.cli.app import app
from alb502athena.logfiles import discover
from alb502athena.safetext import md_text
from alb502athena.window import Window
from tests.conftest import REPO, write_log
from tests.lines import make_line, signature_line
from tests.test_inputs import NOTHING, _without_root_powers, alb_object

runner = CliRunner()
ALL = Window(None, None)


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "1000"})
    return result.exit_code, result.stdout, result.stderr


def cli(
    *args: str, parser: str | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """alb502 in a process of its own: a reader stuck on a FIFO must fail the test, not hang the run
    (the timeout only bounds a hang; nothing here is timed)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "1000"}
    if parser is not None:
        env["ALB502_PARSER"] = parser
    command = [*prefix, sys.executable, "-m", "alb502athena", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def linked_tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    """logs/ holding one object of its own, two links to a folder kept elsewhere, a link back to
    itself, a link to one of the other folder's files and a hard link to one of its own."""
    elsewhere = alb_object(tmp_path / "real", [signature_line("connect-failed")] * 3, rnd="a1")
    own = alb_object(tmp_path / "logs", [make_line()] * 2, rnd="b2")
    logs = tmp_path / "logs"
    (logs / "linked").symlink_to(tmp_path / "real", target_is_directory=True)
    (logs / "zz-again").symlink_to(tmp_path / "real", target_is_directory=True)
    (logs / "AWSLogs" / "loop").symlink_to(logs, target_is_directory=True)
    (logs / "zz-one.log.gz").symlink_to(elsewhere)
    os.link(own, own.parent / own.name.replace("b2", "c3"))
    return logs, elsewhere, own


def test_linked_folders_are_read_and_each_file_once(tmp_path: Path) -> None:
    # Before: the linked folders were skipped without a word, and the links and hard link to files
    # counted their lines twice.
    logs, elsewhere, own = linked_tree(tmp_path)
    code, out, err = invoke("diagnose", str(logs), "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["totals"]["lines"] == 5 and data["totals"]["elb_502"] == 3
    assert data["inputs"]["files"] == 2
    loop = f"{logs / 'AWSLogs' / 'loop'} leads back to {logs}, which holds it (a loop): not followed"
    again = f"the same folder as {logs / 'linked'}, read once"
    assert data["inputs"]["folders_not_followed"] == [
        {"path": str(logs / "AWSLogs" / "loop"), "reason": loop.split(" ", 1)[1]},
        {"path": str(logs / "zz-again"), "reason": again},
    ]
    linked_copy = logs / "linked" / elsewhere.relative_to(tmp_path / "real")
    hard = own.parent / own.name.replace("b2", "c3")
    # The first path the walk reaches is the one read: a folder's files before its subfolders.
    assert data["inputs"]["files_read_once"] == [
        {"path": str(hard), "same_as": str(own)},
        {"path": str(linked_copy), "same_as": str(logs / "zz-one.log.gz")},
    ]
    assert f"folder {loop}" in data["verdict"]["details"]
    assert f"Note: folder {loop}" in err.splitlines()
    assert data["verdict"]["warnings"] == [] and data["bad_files"] == []


def test_a_folder_given_twice_is_read_once(tmp_path: Path) -> None:
    logs, _, own = linked_tree(tmp_path)
    code, out, err = invoke("diagnose", str(logs), str(logs / "AWSLogs"), str(own), "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["totals"]["lines"] == 5
    assert {"path": str(logs / "AWSLogs"), "reason": f"the same folder as {logs / 'AWSLogs'}, read once"} in (
        data["inputs"]["folders_not_followed"]
    )
    assert {"path": str(own), "same_as": str(own)} in data["inputs"]["files_read_once"]


def test_discovery_follows_links_by_identity(tmp_path: Path) -> None:
    """The walk alone: a ring of two folders linking to each other ends, and says where."""
    a, b = tmp_path / "a", tmp_path / "b"
    write_log(a / "1.log", [make_line()])
    write_log(b / "2.log", [make_line()])
    (a / "to-b").symlink_to(b, target_is_directory=True)
    (b / "to-a").symlink_to(a, target_is_directory=True)
    (a / "nowhere").symlink_to(tmp_path / "gone")
    found = discover([a], ALL)
    assert [f.path for f in found.files] == [a / "1.log", a / "to-b" / "2.log"]
    assert found.links == [
        (a / "nowhere", "a symbolic link to nothing (its target does not exist): not followed"),
        (a / "to-b" / "to-a", f"leads back to {a}, which holds it (a loop): not followed"),
    ]
    assert found.not_regular == [] and found.duplicates == []


def test_discovery_carries_each_file_size_from_its_one_stat(tmp_path: Path) -> None:
    # The engine's "Reading N log files (size)" line sums these: a second stat per file was a million
    # system calls on the main thread for a month of a quiet load balancer.
    logs = tmp_path / "logs"
    small = write_log(logs / "a.log", [make_line()])
    big = write_log(logs / "deep" / "b.log.gz", [make_line()] * 300)
    (tmp_path / "link").symlink_to(logs, target_is_directory=True)
    found = discover([tmp_path / "link", small], ALL)
    sizes = {f.path.name: f.size for f in found.files}
    assert sizes == {"a.log": small.stat().st_size, "b.log.gz": big.stat().st_size}
    assert all(f.size > 0 for f in found.files)


@pytest.mark.parametrize("parser", ["native", "sql"])
def test_fifos_and_devices_named_like_logs_are_named_never_opened(tmp_path: Path, parser: str) -> None:
    # Before: the FIFO hung the reader (both readers) until the timeout; /dev/zero was read as a file.
    logs = tmp_path / "logs"
    alb_object(logs, [signature_line("connect-failed")] * 4)
    os.mkfifo(logs / "x.log.gz")
    (logs / "zero.log").symlink_to("/dev/zero")
    (logs / "gone.log.gz").symlink_to(tmp_path / "gone.log.gz")
    done = cli("diagnose", str(logs), "-o", "json", parser=parser)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["totals"]["lines"] == 4 and data["totals"]["elb_502"] == 4
    assert data["inputs"]["files"] == 1
    expected = [
        (logs / "gone.log.gz", "a symbolic link to nothing (its target does not exist): not opened"),
        (logs / "x.log.gz", "a FIFO (named pipe), not a regular file: not opened"),
        (logs / "zero.log", "a character device, not a regular file: not opened"),
    ]
    assert data["bad_files"] == [{"path": str(p), "reason": r, "lines_counted": False} for p, r in expected]
    assert "3 of 4 files unreadable (75%)" in data["verdict"]["warnings"]
    for path, reason in expected:
        assert f"Warning: could not read {path}: {reason}; the other files were analysed" in done.stderr


def test_a_fifo_given_alone_is_the_verdict(tmp_path: Path) -> None:
    fifo = tmp_path / "x.log.gz"
    os.mkfifo(fifo)
    done = cli("diagnose", str(fifo), "-o", "json")
    assert done.returncode == 2, done.stderr
    headline = f"{NOTHING}no ALB access-log file could be read: the one file found is not a regular file."
    assert json.loads(done.stdout)["verdict"]["headline"] == headline
    assert done.stderr.rstrip().endswith(f"Error: {headline}")
    rows = cli("run", "connect-failed", str(fifo))
    assert rows.returncode == 2
    assert (
        f"Warning: could not read {fifo}: a FIFO (named pipe), not a regular file: not opened" in rows.stderr
    )


def test_an_unreadable_folder_is_said_in_every_format(tmp_path: Path) -> None:
    """JSON and stderr are test_inputs'; here the table, markdown, CSV (stderr) and the HTML report."""
    prefix = _without_root_powers()
    if prefix is None:
        pytest.skip("running as root without setpriv: root lists a mode-000 folder, so none is unreadable")
    alb_object(tmp_path / "logs" / "ok", [signature_line("connect-failed")])
    locked = tmp_path / "logs" / "locked"
    alb_object(locked, [signature_line("connect-failed")])
    locked.chmod(0)
    report = tmp_path / "report.html"
    try:
        runs = {
            fmt: cli(
                "diagnose", str(tmp_path / "logs"), "-o", fmt, "--report", str(report), prefix=tuple(prefix)
            )
            for fmt in ("table", "markdown", "csv")
        }
    finally:
        locked.chmod(0o755)
    warning = f"folder {locked} could not be read (Permission denied): its logs are not counted"
    for fmt, done in runs.items():
        assert done.returncode == 0, (fmt, done.stderr)
    assert f"Warning: {warning}" in runs["table"].stdout.splitlines()
    assert f"**Warning:** {md_text(warning)}" in runs["markdown"].stdout.split("\n\n")
    assert f"Warning: {warning}" in runs["csv"].stderr.splitlines()
    assert [r[0] for r in csv.reader(io.StringIO(runs["csv"].stdout))][1:] == ["connect-failed"]
    assert f'<p class="warning"><strong>Warning:</strong> {warning}</p>' in report.read_text()


_DISCOVER = """
import json, sys
from pathlib import Path
from alb502athena.logfiles import discover
from alb502athena.window import Window
found = discover([Path(sys.argv[1])], Window(None, None))
print(json.dumps({
    "files": [str(f.path) for f in found.files],
    "unreadable": [[str(p), why] for p, why in found.unreadable],
    "not_regular": [[str(p), why] for p, why in found.not_regular],
}))
"""


def test_a_folder_that_can_be_listed_but_not_entered(tmp_path: Path) -> None:
    """Mode r-- (no x): its names are listed but none can be looked at (the walk's stat fails). Its
    log files are named as unreadable files and never handed to a reader, its subfolders as unreadable
    folders (a warning each), not as mere links not followed."""
    prefix = _without_root_powers()
    if prefix is None:
        pytest.skip("running as root without setpriv: root enters a mode-444 folder")
    write_log(tmp_path / "logs" / "ok.log", [make_line()])
    shut = tmp_path / "logs" / "shut"
    write_log(shut / "a.log", [make_line()])
    write_log(shut / "inner" / "b.log", [make_line()])
    shut.chmod(0o444)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-c", _DISCOVER, str(tmp_path / "logs")],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        shut.chmod(0o755)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["files"] == [str(tmp_path / "logs" / "ok.log")]
    assert found["unreadable"] == [[str(shut / "inner"), "Permission denied"]]
    assert found["not_regular"] == [
        [str(shut / "a.log"), "could not be looked at (Permission denied): not opened"]
    ]
