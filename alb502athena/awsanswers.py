"""Answers of AWS cut short, refused where botocore's retries can act on them (aws.guard).

botocore reads an answer without enforcing its Content-Length, so a connection closed in the middle of
an answer leaves the shorter text, which may still parse (a JSON or CBOR answer with fewer values: wrong
figures) or not (a cut XML listing). Checked as the answer is received, in the client's HTTP session,
the cut is a failure of that attempt: botocore's retries (standard, adaptive and legacy modes alike)
treat it as a connection closed early and ask again, up to the configured attempts. Imported only
where botocore already is (aws.py imports botocore lazily)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import botocore.exceptions as bx


class AnswerCutShort(bx.ConnectionClosedError):  # type: ignore[misc]  # botocore has no types
    """An answer shorter than its Content-Length. A ConnectionClosedError, so every retry mode retries
    it; but AWS was reached and answered (aws.unreachable says no)."""

    fmt = 'The answer from "{endpoint_url}" was cut short: {actual_bytes} of its {expected_bytes} bytes.'


def cut_short(headers: Any, body: object, method: str) -> tuple[int, int] | None:
    """(bytes received, bytes announced) when `body` is shorter than the Content-Length, else None."""
    if method == "HEAD":
        return None  # the Content-Length of a HEAD is the object's, with no body
    expected = str((headers or {}).get("content-length", ""))
    if isinstance(body, bytes) and expected.isdigit() and len(body) < int(expected):
        return len(body), int(expected)
    return None


class WholeAnswers:
    """A client's HTTP session that refuses an answer cut short as it is received: inside the endpoint's
    attempt, where the retries see it. Streamed answers (an object's body) are the reader's to check."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def send(self, request: Any) -> Any:
        response = self._session.send(request)
        if not request.stream_output:
            cut = cut_short(response.headers, response.content, request.method)
            if cut is not None:
                where = urlsplit(request.url)
                raise AnswerCutShort(
                    endpoint_url=f"{where.scheme}://{where.netloc}/",
                    request=request,
                    actual_bytes=cut[0],
                    expected_bytes=cut[1],
                )
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)  # close() and anything else the endpoint asks of it
