"""The synthetic sample: every count in its manifest is re-derived here from the files it wrote, with
the canonical regex and an independent Python copy of the SQL classification rule."""

from __future__ import annotations

import gzip
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alb502athena.logformat import parse_line
from alb502athena.resources import sql_dir
from alb502athena.sample import SIGNATURE_IDS, SampleManifest, write_sample
from tests.referee import Row, classify

NAME = re.compile(
    r"(?P<account>\d{12})_elasticloadbalancing_(?P<region>[a-z0-9-]+)_app\.(?P<lb>[A-Za-z0-9-]+)\."
    r"(?P<id>[0-9a-f]{16})_(?P<end>\d{8}T\d{4}Z)_(?P<ip>\d+\.\d+\.\d+\.\d+)_[a-z0-9]{8}\.log(?P<gz>\.gz)?"
)


def shape(r: Row) -> str:
    for column, older in (
        ("target_port_list", "2018"),
        ("classification", "2019"),
        ("conn_trace_id", "2020"),
        ("transformed_host", "2024"),
    ):
        if r[column] is None:
            return older
    return "2025"


@dataclass
class Reread:
    rows: list[Row]
    unparsed: int
    names: list[re.Match[str]]


def reread(m: SampleManifest, root: Path) -> Reread:
    rows: list[Row] = []
    unparsed = 0
    names = []
    for path in m.files:
        match = NAME.fullmatch(path.name)
        assert match, path.name
        names.append(match)
        end = datetime.strptime(match["end"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        rel = path.parent.relative_to(root).parts
        assert rel[:4] == ("AWSLogs", match["account"], "elasticloadbalancing", match["region"])
        assert rel[4:] == (f"{end:%Y}", f"{end:%m}", f"{end:%d}")  # delivery date = the name's end time
        data = path.read_bytes()
        text = (gzip.decompress(data) if match["gz"] else data).decode()
        assert text.endswith("\n")
        for line in text.splitlines():
            r = parse_line(line)
            if r is None:
                unparsed += 1
                continue
            t = datetime.strptime(r["time"] or "", "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
            assert end - timedelta(minutes=5) <= t < end  # each file holds exactly its 5 minutes
            rows.append(r)
    return Reread(rows, unparsed, names)


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> tuple[SampleManifest, Reread]:
    root = tmp_path_factory.mktemp("sample")
    m = write_sample(root)
    return m, reread(m, root)


def test_manifest_counts_match_the_files(default: tuple[SampleManifest, Reread]) -> None:
    m, rr = default
    assert rr.unparsed == m.unparsed_lines and 3 <= m.unparsed_lines <= 10
    assert len(rr.rows) == m.requests
    assert m.lines == m.requests + m.unparsed_lines
    got = Counter(classify(r) for r in rr.rows if r["elb_status_code"] == "502")
    assert dict(got) == m.signatures
    assert list(m.signatures) == list(SIGNATURE_IDS)
    assert all(n > 0 for n in m.signatures.values())
    assert {p.stem for p in (sql_dir() / "signatures").glob("*.sql")} == set(SIGNATURE_IDS)


def test_default_window_and_layout(default: tuple[SampleManifest, Reread]) -> None:
    m, rr = default
    assert m.start == datetime(2026, 11, 20, 9, 0, tzinfo=UTC) and m.end == m.start + timedelta(hours=1)
    times = sorted(r["time"] or "" for r in rr.rows)
    assert f"{m.start:%Y-%m-%dT%H:%M:%S}" <= times[0] and times[-1] < f"{m.end:%Y-%m-%dT%H:%M:%S}"
    assert len(m.files) == 12 * 2
    assert len({n["ip"] for n in rr.names}) == 2
    assert all(n["gz"] and n["lb"] == "shop-prod" and n["id"] == "50dc6c495c0c9188" for n in rr.names)
    assert {r["elb"] for r in rr.rows} == {"app/shop-prod/50dc6c495c0c9188"}


def test_every_shape_and_field_variety(default: tuple[SampleManifest, Reread]) -> None:
    _, rr = default
    shapes = Counter(shape(r) for r in rr.rows)
    assert set(shapes) == {"2018", "2019", "2020", "2024", "2025"}
    assert all(n > 100 for n in shapes.values())
    assert {r["type"] for r in rr.rows} == {"http", "https", "h2"}
    assert all(
        re.fullmatch(r"TID_[0-9a-f]{32}", r["conn_trace_id"] or "")
        for r in rr.rows
        if shape(r) in ("2024", "2025")
    )
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", r["time"] or "") for r in rr.rows)
    urls = [r["request_url"] or "" for r in rr.rows]
    assert any(" " in u for u in urls) and any('"' in u for u in urls) and any("?" in u for u in urls)
    bare = [r for r in rr.rows if r["request_verb"] == "-"]  # the "- - - " request of a malformed one
    assert bare and all(r["request_url"] == "-" and r["request_proto"] == "- " for r in bare)
    agents = {r["user_agent"] for r in rr.rows}
    assert len(agents) >= 5 and any("(" in (a or "") and " " in (a or "") for a in agents)
    codes = Counter(r["elb_status_code"] for r in rr.rows)
    assert codes.most_common(1)[0][0] == "200" and {"301", "404", "504", "502"} <= set(codes)


def test_the_incident_story(default: tuple[SampleManifest, Reread]) -> None:
    _, rr = default
    by_sig: dict[str, list[Row]] = {}
    for r in rr.rows:
        if r["elb_status_code"] == "502":
            by_sig.setdefault(classify(r), []).append(r)
    # A restarting target: connect failures on at most two targets, within ten minutes.
    connect = by_sig["connect-failed"]
    assert len({r["target_ip"] for r in connect}) <= 2
    first, last = min(r["time"] or "" for r in connect), max(r["time"] or "" for r in connect)
    span = datetime.fromisoformat(last) - datetime.fromisoformat(first)
    assert span <= timedelta(minutes=10)
    lambda_ids = [s for s in SIGNATURE_IDS if s.startswith("lambda")]
    lambda_rows = [r for s in lambda_ids for r in by_sig[s]]
    assert all(r["target_ip"] == "" and r["target_port"] == "" for r in lambda_rows)
    arns = {r["target_group_arn"] for r in lambda_rows}
    tg = r"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/[a-z-]+/[0-9a-f]{16}"
    assert len(arns) == 1 and re.fullmatch(tg, arns.pop() or "")
    assert {r["target_group_arn"] for r in by_sig["connect-failed"]}.isdisjoint(
        {r["target_group_arn"] for r in lambda_rows}
    )
    other = {r["lambda_error_reason"] for r in by_sig["lambda-other"]}
    assert other and all((o or "").startswith("Lambda") for o in other)
    assert all(r["target_status_code"] == "502" for r in by_sig["target-502"])


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    def snapshot(root: Path, seed: int) -> dict[str, bytes]:
        m = write_sample(root, seed=seed, minutes=10, requests_per_minute=50)
        return {str(p.relative_to(root)): p.read_bytes() for p in m.files}

    a, b = snapshot(tmp_path / "a", 7), snapshot(tmp_path / "b", 7)
    assert a == b
    assert snapshot(tmp_path / "c", 8) != a


def test_plain_log_files_hold_the_same_text(tmp_path: Path) -> None:
    gz = write_sample(tmp_path / "gz", minutes=5, requests_per_minute=20)
    plain = write_sample(tmp_path / "plain", minutes=5, requests_per_minute=20, gzip_files=False)
    assert [p.name for p in plain.files] == [p.name.removesuffix(".gz") for p in gz.files]
    for g, p in zip(gz.files, plain.files, strict=True):
        assert gzip.decompress(g.read_bytes()) == p.read_bytes()
    assert plain.lines == reread_total(plain, tmp_path / "plain")


def reread_total(m: SampleManifest, root: Path) -> int:
    rr = reread(m, root)
    return len(rr.rows) + rr.unparsed


def test_delivery_date_after_midnight(tmp_path: Path) -> None:
    m = write_sample(
        tmp_path,
        start=datetime(2026, 12, 31, 23, 50),
        minutes=20,
        requests_per_minute=10,
        account="210987654321",
        region="us-east-2",
    )
    rr = reread(m, tmp_path)
    folders = {p.parent.relative_to(tmp_path).as_posix().split("/", 4)[4] for p in m.files}
    assert folders == {"2026/12/31", "2027/01/01"}
    # The last minutes of 2026 are delivered in 2027's folder (file end time 00:00Z).
    assert any(n["end"] == "20270101T0000Z" for n in rr.names)
    assert m.start.tzinfo is UTC and m.end == datetime(2027, 1, 1, 0, 10, tzinfo=UTC)


def test_tiny_sample_still_has_every_signature_and_shape(tmp_path: Path) -> None:
    m = write_sample(tmp_path, minutes=1, requests_per_minute=0)
    rr = reread(m, tmp_path)
    assert all(n >= 3 for n in m.signatures.values())
    assert Counter(classify(r) for r in rr.rows if r["elb_status_code"] == "502") == m.signatures
    assert {shape(r) for r in rr.rows} == {"2018", "2019", "2020", "2024", "2025"}


def test_rejects_a_bad_load_balancer(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="app/<name>/<id>"):
        write_sample(tmp_path, load_balancer="shop-prod")
