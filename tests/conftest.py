from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

# The moto server fixtures (moto_server, aws) for the Athena and Glue tests.
pytest_plugins = ["tests.aws"]


_test_cache = Path(__import__("tempfile").mkdtemp(prefix="alb502-test-cache-"))


@pytest.fixture(autouse=True)
def _no_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may reach a real AWS account, whatever the developer's shell has set."""
    import os

    for name in list(os.environ):
        if name.startswith(("AWS_", "ALB502_")):
            monkeypatch.delenv(name, raising=False)
    # Compiled queries go to a cache of the test run's own, not the developer's.
    monkeypatch.setenv("ALB502_CACHE", str(_test_cache))
    yield


def write_log(path: Path, lines: list[str], gz: bool | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = ("\n".join(lines) + "\n").encode()
    if gz if gz is not None else path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "tests" / "fixtures" / "aws-doc-examples.log"  # the example lines of the ALB user guide


@pytest.fixture
def aws_samples() -> list[str]:
    return [line for line in SAMPLES.read_text().splitlines() if line]
