"""The catalogue as SQL: metadata beside each query, and every rendered query valid Athena SQL."""

from __future__ import annotations

import re

import pytest
import sqlglot

from alb502athena.catalogue import SOURCES, catalogue, read_metadata
from alb502athena.errors import UsageError
from alb502athena.render import (
    QueryParams,
    render_athena_ddl,
    render_diagnosis,
    render_samples,
    render_signature,
)
from alb502athena.resources import sql_dir
from alb502athena.window import Window

WINDOW = Window.from_options(None, "2026-11-20T10:00Z", "2026-11-20T12:00Z")
SAMPLE_COLUMNS = sorted({c for s in catalogue() for c in s.columns})
PARAMS = QueryParams(WINDOW, load_balancer="app/shop/50dc6c495c0c9188", table="alb.alb_logs")


def all_queries() -> list[tuple[str, str]]:
    out = [("diagnosis", render_diagnosis(PARAMS))]
    out += [(s.id, render_signature(s.id, PARAMS)) for s in catalogue()]
    out.append(("samples", render_samples(PARAMS, SAMPLE_COLUMNS, 5)))
    return out


def test_file_stem_is_the_id_and_metadata_is_complete() -> None:
    for path in sorted((sql_dir() / "signatures").glob("*.sql")):
        meta = read_metadata(path.read_text())
        assert meta["id"] == path.stem
        for key in ("title", "source", "evidence", "metric", "remediation"):
            assert str(meta[key]).strip(), f"{path.name}: empty {key}"
        assert meta["source"] in SOURCES


def test_inferred_evidence_says_so() -> None:
    for sig in catalogue():
        if sig.id in ("connect-failed", "response-failed", "lambda-unhandled"):
            assert "inferred" in sig.evidence.lower(), sig.id


@pytest.mark.parametrize(("name", "text"), all_queries())
def test_rendered_query_parses_as_athena_sql(name: str, text: str) -> None:
    (tree,) = sqlglot.parse(text, read="athena")
    assert tree is not None
    # Every query prunes partitions and filters time exactly.
    assert "day BETWEEN '2026/11/20' AND '2026/11/21'" in text
    assert "time >= '2026-11-20T10:00:00.000000Z' AND time < '2026-11-20T12:00:00.000000Z'" in text
    assert "elb = 'app/shop/50dc6c495c0c9188'" in text
    assert "alb.alb_logs" in text
    assert "{{" not in text and "{%" not in text


def test_the_classification_rule_is_written_once() -> None:
    texts = [p.read_text() for p in sql_dir().rglob("*.sql")]
    assert sum("THEN 'connect-failed'" in t for t in texts) == 1


def test_athena_ddl() -> None:
    ddl = render_athena_ddl(
        bucket="my-alb-logs", prefix="prod/", account="123456789012", region="eu-west-1",
        table="alb_logs", projection_start="2024/01/01",
    )  # fmt: skip
    assert "LOCATION 's3://my-alb-logs/prod/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/'" in ddl
    assert (
        "'storage.location.template' = 's3://my-alb-logs/prod/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/${day}'"
        in ddl
    )
    assert "'projection.day.range' = '2024/01/01,NOW'" in ddl
    assert "lambda_error_reason string" in ddl and "PARTITIONED BY (day string)" in ddl
    regex = re.search(r"'input.regex' = '(.*)'\n", ddl)
    assert regex is not None
    assert (
        re.compile(regex.group(1)).groups
        == ddl.count(" string,") + ddl.count(" int,") + ddl.count(" bigint,") + ddl.count(" double,") + 1
    )


def test_samples_take_only_the_formats_columns() -> None:
    with pytest.raises(UsageError, match="not columns of the log format: time; DROP TABLE x"):
        render_samples(PARAMS, ["elb", "time; DROP TABLE x"], 5)
