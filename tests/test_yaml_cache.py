"""The YAML the package reads (the log format, the signatures' metadata), kept as JSON in the cache
folder (alb502athena/resources.load_yaml): the data PyYAML gives, whatever the cache holds."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from alb502athena.resources import load_yaml, sql_dir
from tests.cache_damage import damages

LOG_FORMAT = (sql_dir() / "log_format.yaml").read_text(encoding="utf-8")


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "yaml").glob("*.json"))


def test_the_log_format_reads_as_pyyaml_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    expected = yaml.safe_load(LOG_FORMAT)
    assert load_yaml(LOG_FORMAT) == expected
    assert len(_entries(tmp_path)) == 1
    monkeypatch.setitem(sys.modules, "yaml", None)  # importing PyYAML now fails
    again = load_yaml(LOG_FORMAT)
    assert again == expected and repr(again) == repr(expected)
    with pytest.raises(ImportError):
        load_yaml(LOG_FORMAT + "\n# another text\n")


@pytest.mark.parametrize(
    "text",
    [
        "day: 2026-11-20",
        "1: one",
        "x: .nan",
        "b: !!binary aGk=",
        "s: !!set {a, b}",
        "t: 2026-11-20T10:00:00Z",
    ],
    ids=["date", "int key", "nan", "binary", "set", "timestamp"],
)
def test_data_json_cannot_hold_is_parsed_every_time(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    expected = yaml.safe_load(text)
    got = load_yaml(text)
    assert repr(got) == repr(expected) and type(got) is type(expected)
    assert not _entries(tmp_path)


def test_types_survive_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    text = "a: 1\nb: 1.0\nc: true\nd: null\ne: '1'\nf: [1, 2.5, x]\ng: {h: ~}\n"
    expected = yaml.safe_load(text)
    load_yaml(text)
    again = load_yaml(text)
    assert repr(again) == repr(expected)
    assert [type(v) for v in again.values()] == [type(v) for v in expected.values()]  # type: ignore[attr-defined]


@damages(edited=(b'"request"', b'"requests"'))
def test_a_damaged_entry_is_parsed_again(
    damage: Callable[[Path], bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    expected = yaml.safe_load(LOG_FORMAT)
    load_yaml(LOG_FORMAT)
    (entry,) = _entries(tmp_path)
    good = entry.read_bytes()
    assert b'"request"' in good
    entry.write_bytes(damage(entry))
    assert load_yaml(LOG_FORMAT) == expected
    assert entry.read_bytes() == good  # written again whole
    assert not list((tmp_path / "yaml").glob("*.tmp"))
