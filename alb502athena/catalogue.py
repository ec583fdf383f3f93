"""The signature catalogue: the queries in sql/signatures/ and the metadata in their leading comment.

The order in which signatures are tried is the order of the CASE in sql/_macros/alb.sql
(`signature_of`), the one place the classification rule lives; the catalogue reads it from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from alb502athena.errors import UsageError
from alb502athena.resources import load_yaml, sql_dir

_META = re.compile(r"\A\{#-?(.*?)-?#\}", re.S)
# A signature query shows its columns as `SELECT a, b, ...` right before `FROM {{ table }}`.
_COLUMNS = re.compile(r"^SELECT (.*?)\s+FROM \{\{ table \}\}", re.S | re.M)
SOURCES = ("load-balancer", "target", "lambda")


@dataclass(frozen=True)
class Signature:
    id: str
    title: str
    source: str
    evidence: str
    metric: str
    remediation: str
    columns: tuple[str, ...]  # what its query shows of each request, in order

    def as_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "evidence": self.evidence,
            "metric": self.metric,
            "remediation": self.remediation,
        }


def read_metadata(text: str) -> dict[str, object]:
    """The YAML block in a template's leading Jinja comment."""
    m = _META.match(text)
    if m is None:
        raise ValueError("template has no leading {# ... #} metadata block")
    data = load_yaml(m.group(1))
    if not isinstance(data, dict):
        raise ValueError("metadata block is not a YAML mapping")
    return data


def _clean(value: object) -> str:
    return " ".join(str(value).split())


def _columns(text: str, name: str) -> tuple[str, ...]:
    m = _COLUMNS.search(text)
    names = tuple(c.strip() for c in m.group(1).split(",")) if m else ()
    if not names or not all(re.fullmatch(r"[a-z_]+", c) for c in names):
        raise ValueError(f"{name}: expected `SELECT <columns> FROM {{{{ table }}}}` with plain column names")
    return names


@cache
def rule_order() -> tuple[str, ...]:
    """Signature ids in the order the classification CASE tries them."""
    from alb502athena.render import render_macro

    return (*re.findall(r"THEN '([a-z0-9-]+)'", render_macro("signature_of")), "elb-502-other")


@cache
def catalogue() -> tuple[Signature, ...]:
    found = {}
    for path in sorted((sql_dir() / "signatures").glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        meta = read_metadata(text)
        sig = Signature(
            id=str(meta["id"]),
            title=_clean(meta["title"]),
            source=str(meta["source"]),
            evidence=_clean(meta["evidence"]),
            metric=_clean(meta["metric"]),
            remediation=_clean(meta["remediation"]),
            columns=_columns(text, path.name),
        )
        found[sig.id] = sig
    return tuple(found[i] for i in rule_order() if i in found)


def get_signature(signature_id: str) -> Signature:
    for sig in catalogue():
        if sig.id == signature_id:
            return sig
    known = ", ".join(s.id for s in catalogue())
    raise UsageError(f"unknown signature {signature_id!r}; known signatures: {known}")
