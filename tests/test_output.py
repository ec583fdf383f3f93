"""Output for people: the terminal's width, the verdict's place and colour, log data printed inert, where
the 502s came from, the run hint and the progress of the native reader."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from alb502athena.catalogue import get_signature
from alb502athena.cli.app import app
from alb502athena.cli.logs import _rows_hint
from alb502athena.diagnosis import Diagnosis, Finding, Source, Totals
from alb502athena.diagnosis import diagnose as run_diagnosis
from alb502athena.engines.local import LocalEngine
from alb502athena.logfiles import discover
from alb502athena.output import (
    Screen,
    diagnosis_csv,
    diagnosis_markdown,
    diagnosis_table,
    headline,
    inert,
    render_rows,
)
from alb502athena.render import QueryParams
from alb502athena.window import Window
from tests.conftest import REPO, write_log
from tests.lines import make_line, signature_line

EXAMPLES = REPO / "examples" / "logs"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
runner = CliRunner()


def invoke(args: list[str], **env: str | None) -> tuple[int, str, str]:
    base: dict[str, str | None] = {"COLUMNS": None, "NO_COLOR": None, "FORCE_COLOR": None, "TERM": "xterm"}
    result = runner.invoke(app, args, env={**base, **env})
    return result.exit_code, result.stdout, result.stderr


def widest(text: str) -> int:
    return max(cell_len(ANSI.sub("", line)) for line in text.split("\n"))


def flat(text: str) -> str:
    return " ".join(ANSI.sub("", text).split())


@pytest.fixture(scope="module")
def example_headline() -> str:
    result = runner.invoke(app, ["diagnose", str(EXAMPLES), "-o", "markdown"])
    return result.stdout.splitlines()[0].removeprefix("### ALB HTTP 502: ")


@pytest.mark.parametrize("columns", ["80", "160", None])
def test_the_terminal_table_fits_and_ends_with_the_verdict(
    columns: str | None, example_headline: str
) -> None:
    code, out, err = invoke(["diagnose", str(EXAMPLES)], COLUMNS=columns)
    assert code == 0, err
    assert widest(out) <= int(columns or 100)  # piped without COLUMNS: 100
    assert "\x1b" not in out  # piped: no escape codes
    # First for a reader who starts at the top, and last, still on screen after the long table.
    assert flat(out).endswith("Verdict: " + flat(example_headline))
    assert "502s " in out  # the table's header: what comes before it is the top of the screen
    assert flat(example_headline) in flat(out.split("502s ")[0])
    assert "load balancer app/shop-prod/50dc6c495c0c9188" in out
    assert "shop-img-resize" in out  # the Lambda findings name the function's target group


def test_colour_only_when_asked_and_never_with_no_color() -> None:
    code, out, _ = invoke(["diagnose", str(EXAMPLES)], COLUMNS="80", FORCE_COLOR="1")
    assert code == 0
    assert "\x1b[1;31m" in out  # the verdict, bold red
    assert widest(out) <= 80
    code, out, _ = invoke(["diagnose", str(EXAMPLES)], COLUMNS="80", FORCE_COLOR="1", NO_COLOR="1")
    assert code == 0 and "\x1b" not in out
    code, out, _ = invoke(["diagnose", str(EXAMPLES)], COLUMNS="80", FORCE_COLOR="1", TERM="dumb")
    assert code == 0 and "\x1b" not in out


LONG_LB = "app/" + "checkout-frontend-" * 4 + "prod/0123456789abcdef"
LONG_URL = "https://shop.example.com:443/" + "very/long/path/" * 20 + "?q=" + "x" * 80


def _finding(sig_id: str, count: int, sources: list[Source], targets: list[tuple[str, int]]) -> Finding:
    minutes = [(f"2026-11-20T10:{m:02d}", count // 10) for m in range(10)]
    return Finding(
        get_signature(sig_id),
        count,
        "2026-11-20T10:00:01.000000Z",
        "2026-11-20T10:09:59.000000Z",
        targets,
        sources,
        minutes,
    )


def _tg(name: str, region: str = "eu-west-1") -> str:
    return f"arn:aws:elasticloadbalancing:{region}:123456789012:targetgroup/{name}/73e2d6bc24d8a067"


@pytest.fixture
def spread() -> Diagnosis:
    """Findings over several load balancers, with long names and many targets."""
    long_targets = [
        (f"ip-10-0-{i}-{i}.eu-west-1.compute.internal-with-a-long-name:8443", 10 - i) for i in range(5)
    ]
    findings = [
        _finding(
            "connect-failed",
            80,
            [
                Source(LONG_LB, _tg("checkout-very-long-target-group1"), 50),  # 32: AWS's longest
                Source("app/shop/50dc6c495c0c9188", _tg("web"), 30),
            ],
            long_targets,
        ),
        _finding("lambda-throttled", 20, [Source("app/shop/50dc6c495c0c9188", _tg("img-resize"), 20)], []),
    ]
    totals = Totals(lines=1000, unparsed_lines=0, requests=1000, elb_502=100, lb_generated_502=100,
                    target_generated_502=0)  # fmt: skip
    return Diagnosis("local", QueryParams(Window()), totals, findings)


@pytest.mark.parametrize("width", [80, 160])
def test_long_names_fit_and_every_load_balancer_is_named(spread: Diagnosis, width: int) -> None:
    out = diagnosis_table(spread, Screen(width), rows_hint="alb502 run {id} " + "/a/very/long/folder" * 8)
    assert widest(out) <= width
    # Compared without blanks: at 80 columns an 80-character name pushes its comma to the next line.
    assert "".join(flat(out).split()).endswith("".join(("Verdict: " + headline(spread)).split()))
    text = flat(out)
    folded = "".join(text.split())  # a name longer than the line is folded onto the next, never cut
    assert f"loadbalancers:{LONG_LB}(50),app/shop/50dc6c495c0c9188(50)" in folded
    assert f"Where:{LONG_LB}targetgroup/checkout-" in folded
    assert "shop: img-resize" in text  # the target group, with its load balancer
    # The run command is cut only between words, with a backslash: it pastes as one command.
    rows_lines = [line for line in out.splitlines() if "Rows:" in line]
    assert rows_lines and all(line.rstrip().endswith("\\") for line in rows_lines)


def test_csv_and_markdown_name_load_balancers_and_target_groups(spread: Diagnosis) -> None:
    rows = list(csv.DictReader(io.StringIO(diagnosis_csv(spread))))
    assert rows[0]["load_balancer"] == f"{LONG_LB}=50; app/shop/50dc6c495c0c9188=30"
    assert rows[1]["load_balancer"] == "app/shop/50dc6c495c0c9188"
    assert rows[1]["target_group"] == _tg("img-resize")
    md = diagnosis_markdown(spread)
    assert md.startswith("### ALB HTTP 502: ")  # the verdict first in a ticket
    assert f"`{LONG_LB}` (50)" in md and "img-resize" in md


def test_example_csv_names_the_lambda_target_group() -> None:
    code, out, _ = invoke(["diagnose", str(EXAMPLES), "-o", "csv"])
    assert code == 0
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows["lambda-throttled"]["target_group"].endswith(":targetgroup/shop-img-resize/baec2f8b5a133a94")
    assert {r["load_balancer"] for r in rows.values()} == {"app/shop-prod/50dc6c495c0c9188"}


HOSTILE = "/[bold]x[/bold]\x1b[31mred\x1b]0;pwned\x07"


@pytest.mark.parametrize("copies", [1, 3])  # one row prints as a block, several as a table
def test_log_data_prints_inert(tmp_path: Path, copies: int) -> None:
    lines = [
        signature_line(
            "connect-failed",
            request=f"GET https://shop.example.com:443{HOSTILE}{i} HTTP/1.1",
            user_agent="[red]agent\x1b[2J",
            time=f"2026-11-20T10:15:3{i}.123456Z",
        )
        for i in range(copies)
    ]
    logs = write_log(tmp_path / "a.log", lines)
    for columns in ("80", "160"):
        code, out, err = invoke(["run", "connect-failed", str(logs), "--output", "table"], COLUMNS=columns)
        assert code == 0, err
        assert "\x1b" not in out and "\x07" not in out
        assert "[bold]x[/bold]\\x1b[31" in out  # shown as the characters it is (maybe shortened after)
        assert widest(out) <= int(columns)


def test_inert_escapes_controls_and_keeps_text() -> None:
    assert inert("a\x1b[31mb\nc\u202ed") == "a\\x1b[31mb\\nc\\u202ed"
    assert inert("[bold]ok[/bold] é") == "[bold]ok[/bold] é"


def test_run_rows_shorten_long_values_and_say_so(tmp_path: Path) -> None:
    lines = [
        signature_line(
            "connect-failed",
            request=f"GET {LONG_URL}{i} HTTP/1.1",
            client=f"203.0.113.{i}:5000",
            time=f"2026-11-20T10:15:3{i}.123456Z",
            trace_id=f"Root=1-6b0011bb-3d77c0d55c5a9b9f80aa054{i}",
        )
        for i in range(3)
    ]
    logs = write_log(tmp_path / "a.log", lines)
    code, out, _ = invoke(["run", "connect-failed", str(logs)], COLUMNS="160")
    assert code == 0
    assert widest(out) <= 160
    assert "The same in all 3 rows above:" in out and "app/shop/50dc6c495c0c9188" in out
    assert "…" in out and "Shortened to fit 160 columns (…): request_url" in flat(out)
    code, out, _ = invoke(["run", "connect-failed", str(logs)], COLUMNS="80")
    assert code == 0 and widest(out) <= 80
    assert "1 of 3" in out  # too many columns for 80: one block per row, values folded whole
    assert LONG_URL.replace("/", "") in "".join(out.split()).replace("/", "")


def test_the_run_hint_carries_every_narrowing_option(tmp_path: Path) -> None:
    logs = write_log(tmp_path / "my logs" / "a.log", [signature_line("connect-failed")])
    code, out, _ = invoke(
        [
            "diagnose",
            str(logs),
            "--load-balancer",
            "app/shop/50dc6c495c0c9188",
            "--start",
            "2026-11-20T10:00Z",
        ],
        COLUMNS="200",
    )
    assert code == 0
    hint = next(line for line in out.splitlines() if "Rows:" in line)
    assert (
        f"alb502 run connect-failed '{logs}' --load-balancer app/shop/50dc6c495c0c9188 --start 2026-11-20T10:00Z"
        in hint
    )
    options = {
        "engine": "trino", "paths": None, "load_balancer": "app/a b/1", "last": None, "start": "2026-11-20",
        "end": None, "table": "alb_logs", "trino_url": "https://trino:8443", "catalog": "hive",
        "schema": "prod logs", "user": "me", "password": "secret", "ca_bundle": None, "insecure": True,
        "database": None, "workgroup": None, "output_location": None, "profile": None, "region": None,
    }  # fmt: skip
    hint = _rows_hint(options).format(id="connect-failed")
    assert hint == (
        "alb502 run connect-failed --engine trino --load-balancer 'app/a b/1' --start 2026-11-20 "
        "--trino-url https://trino:8443 --schema 'prod logs' --user me --insecure"
    )
    assert "secret" not in hint


def _native_or_skip() -> None:
    from alb502athena.engines.native.scan import installed

    if not installed():
        pytest.skip("the native reader's libraries are not installed")


def _many_files(tmp_path: Path, n: int) -> list[Path]:
    return [
        write_log(
            tmp_path / f"f{i}.log.gz",
            [make_line(time=f"2026-11-20T10:{i:02d}:00.000000Z")] * 50 + [signature_line("connect-failed")],
        )
        for i in range(n)
    ]


def test_the_native_scan_counts_what_it_has_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _native_or_skip()
    from alb502athena.engines.native import scan as native_scan
    from alb502athena.engines.native.scan import NativeScan

    # One parse per file, so that the count moves file by file (small files that are ready together
    # are otherwise parsed as one, and counted together).
    monkeypatch.setattr(native_scan, "_PACK_BELOW", 0)
    paths = [str(p) for p in _many_files(tmp_path, 6)]
    scan = NativeScan([(None, paths)], threads=1)
    reader = scan.reader(["elb_status_code"])
    seen = [scan.progress().files_done]
    for _ in reader:
        seen.append(scan.progress().files_done)
    final = scan.progress()
    assert seen == sorted(seen) and len(set(seen)) >= 5  # it moves, file by file
    assert (final.files_done, final.files) == (6, 6)
    assert final.bytes_done == final.bytes == sum(Path(p).stat().st_size for p in paths)
    assert final.percent == 100


def test_the_progress_line_moves_with_the_native_reader(tmp_path: Path) -> None:
    _native_or_skip()
    paths = _many_files(tmp_path, 6)
    window = Window()
    messages: list[str] = []
    engine = LocalEngine(discover(paths, window).files, window, progress=messages.append, parser="native")
    engine.poll_seconds = 0.0  # every state the scan passes through, not one every 0.2 s
    assert run_diagnosis(engine, QueryParams(window)).totals.elb_502 == 6
    shares = [int(m) for m in re.findall(r"(\d+)%$", "\n".join(messages), re.M)]
    assert shares == sorted(shares) and shares[-1] == 100
    assert shares[0] < 100 and len(set(shares)) >= 2, shares  # it moved, not only its last state
    assert "6 of 6" in messages[-1]


def test_null_empty_and_dash_read_apart() -> None:
    out = render_rows(["a", "b", "c"], [("x", None, "-"), ("y", "", "-")], "table", Screen(80))
    assert out.splitlines()[-1].split() == ["c", "-"]  # the same in both rows, said once
    assert "NULL" in out and "(empty)" in out


def test_the_native_scan_moves_within_a_big_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _native_or_skip()
    from alb502athena.engines.native import source
    from alb502athena.engines.native.scan import NativeScan

    # A busy node's file is streamed in chunks; small sizes make this one file such a file.
    monkeypatch.setattr(source, "WHOLE_GZIP", 1024)
    monkeypatch.setattr(source, "CHUNK", 64 << 10)
    path = write_log(tmp_path / "big.log.gz", [make_line()] * 5000)
    scan = NativeScan([(None, [str(path)])], threads=1)
    seen = [scan.progress().bytes_done for _ in scan.reader(["elb_status_code"])]
    assert seen == sorted(seen) and len(set(seen)) >= 5 and scan.progress().files_done == 1
    assert 0 < seen[len(seen) // 2] < path.stat().st_size  # partway through the file, partway done


def test_markdown_rows_show_control_characters() -> None:
    out = render_rows(["url"], [("/a\x1b[2J|b\nc",)], "markdown")
    # A code span: the characters exactly, never markup; its pipe escaped, which GitHub reads inside code too.
    assert out.splitlines()[-1] == "| `/a\\x1b[2J\\|b\\nc` |"
