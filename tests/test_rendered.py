"""The cache of rendered templates (alb502athena/rendered.py): the text Jinja gives, whatever the cache holds."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alb502athena import rendered as rendered_module
from alb502athena.render import (
    QueryParams,
    environment,
    load_balancer_literal,
    render_diagnosis,
    render_load_balancers,
    render_macro,
    render_samples,
    render_signature,
    sql_window,
)
from alb502athena.rendered import rendered
from alb502athena.scope import ObjectScope
from alb502athena.window import Window
from tests.cache_damage import damages

ROOT = "s3://logs/AWSLogs/123456789012/elasticloadbalancing/eu-west-1"
PARAMS = [
    QueryParams(Window()),
    QueryParams(
        Window.from_options(None, "2026-11-20T09:00Z", "2026-11-20T10:00Z"), "app/a/0123456789abcdef"
    ),
    QueryParams(Window.from_options("2h", None, None)),
    QueryParams(
        Window.from_options(None, "2026-12-31T23:00Z", "2027-01-01T01:00Z"),
        table="alb.logs",
        scope=ObjectScope(
            root=ROOT, prefixes=("123456789012_elasticloadbalancing_eu-west-1_app.a.0123456789abcdef_",)
        ),
    ),
    QueryParams(
        Window.from_options("90m", None, None),
        scope=ObjectScope(root=ROOT, account="123456789012", region="eu-west-1"),
    ),
]


def _jinja(template: str, params: QueryParams, **extra: object) -> str:
    """The template rendered by Jinja directly, as render.py did before the cache."""
    text = (
        environment()
        .get_template(template)
        .render(
            window=sql_window(params),
            elb=load_balancer_literal(params.load_balancer),
            table=params.table,
            **extra,
        )
    )
    return text.strip() + "\n"


def _every_load_balancer(params: QueryParams) -> QueryParams:
    scope = replace(params.scope, prefixes=()) if params.scope is not None else None
    return QueryParams(params.window, None, params.table, scope)


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "rendered").glob("*.sql"))


@pytest.mark.parametrize("params", PARAMS, ids=range(len(PARAMS)))
def test_cached_text_equals_jinjas(
    params: QueryParams, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    cases: list[tuple[Callable[[], str], str]] = [
        (lambda: render_diagnosis(params), _jinja("diagnosis.sql", params)),
        (lambda: render_signature("connect-failed", params), _jinja("signatures/connect-failed.sql", params)),
        (
            lambda: render_samples(params, ["time", "elb"], 3),
            _jinja("samples.sql", params, columns=["time", "elb"], per_signature=3),
        ),
        (lambda: render_load_balancers(params), _jinja("load_balancers.sql", _every_load_balancer(params))),
    ]
    for render, expected in cases:
        assert render() == expected  # rendered, and stored
        assert render() == expected  # read back
    stored = {e.read_text().partition("\n")[2].strip() + "\n" for e in _entries(tmp_path)}
    assert {expected for _, expected in cases} <= stored


def test_a_hit_needs_no_jinja(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    params = PARAMS[1]
    first = render_diagnosis(params)
    macro = render_macro("signature_of")

    def no_jinja() -> None:
        raise AssertionError("rendered again")

    monkeypatch.setattr("alb502athena.render.environment", no_jinja)
    assert render_diagnosis(params) == first
    assert render_macro("signature_of") == macro
    with pytest.raises(AssertionError, match="rendered again"):  # another window is another entry
        render_diagnosis(PARAMS[2])


def test_a_changed_template_is_rendered_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path / "cache"))
    sql = tmp_path / "sql"
    shutil.copytree(rendered_module.sql_dir(), sql)
    monkeypatch.setattr(rendered_module, "sql_dir", lambda: sql)
    calls: list[str] = []

    def render() -> str:
        calls.append("x")
        return (sql / "_macros" / "alb.sql").read_text()

    rendered_module._stamp.cache_clear()
    try:
        rendered("t", {}, render)
        rendered("t", {}, render)
        assert len(calls) == 1
        macros = sql / "_macros" / "alb.sql"
        macros.write_text(macros.read_text() + "\n{# changed #}\n")
        rendered_module._stamp.cache_clear()  # a new run
        assert rendered("t", {}, render).endswith("{# changed #}\n")
        assert len(calls) == 2
    finally:
        rendered_module._stamp.cache_clear()


@dataclass(frozen=True)
class _WithProperty:
    a: int

    @property
    def doubled(self) -> int:
        return 2 * self.a


class _Str(str):
    pass


@pytest.mark.parametrize(
    "value",
    [object(), _WithProperty(1), _Str("x"), {1, 2}, b"bytes", [object()]],
    ids=["object", "dataclass with a property", "str subclass", "set", "bytes", "in a list"],
)
def test_a_context_it_cannot_write_out_is_rendered_every_time(
    value: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    calls: list[str] = []
    for _ in range(2):
        assert rendered("t", {"v": value}, lambda: calls.append("x") or "text") == "text"
    assert len(calls) == 2 and not _entries(tmp_path)


def test_contexts_that_differ_are_different_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    contexts: list[dict[str, object]] = [
        {},
        {"v": 1},
        {"v": 1.0},
        {"v": True},
        {"v": "1"},
        {"v": None},
        {"v": [1]},
        {"v": (1,)},
        {"v": {"k": 1}},
        {"w": 1},
        {"v": datetime(2026, 11, 20, tzinfo=UTC)},
        {"v": datetime(2026, 11, 20)},
    ]
    texts = [rendered("t", c, lambda i=i: f"text {i}") for i, c in enumerate(contexts)]
    assert texts == [f"text {i}" for i in range(len(contexts))]
    assert len(_entries(tmp_path)) == len(contexts)


@damages(edited=(b"elb_status_code = 502", b"elb_status_code = 503"))
def test_a_damaged_entry_is_rendered_again(
    damage: Callable[[Path], bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    params = PARAMS[1]
    expected = render_diagnosis(params)
    (entry,) = _entries(tmp_path)
    good = entry.read_bytes()
    entry.write_bytes(damage(entry))
    assert render_diagnosis(params) == expected
    assert entry.read_bytes() == good  # written again whole
    assert not list((tmp_path / "rendered").glob("*.tmp"))


def test_an_entry_copied_under_another_name_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    first = render_signature("connect-failed", PARAMS[0])
    render_signature("response-failed", PARAMS[0])
    a, b = _entries(tmp_path)
    a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    a.write_bytes(b_bytes)
    b.write_bytes(a_bytes)
    assert render_signature("connect-failed", PARAMS[0]) == first


def test_an_unwritable_cache_still_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("ALB502_CACHE", str(blocker / "compiled"))  # a file where the folder should be
    assert render_diagnosis(PARAMS[1]) == _jinja("diagnosis.sql", PARAMS[1])


def test_without_jinja_the_renderer_is_called_uncached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Jinja to stamp the key with: the caller's render() decides (it fails as it would uncached),
    nothing is stored, and no error of the cache's own escapes."""
    monkeypatch.setenv("ALB502_CACHE", str(tmp_path))
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "jinja2" else find_spec(name, *a)
    )
    rendered_module._stamp.cache_clear()
    try:
        assert rendered("t", {}, lambda: "text") == "text"
    finally:
        rendered_module._stamp.cache_clear()
    assert not _entries(tmp_path)
