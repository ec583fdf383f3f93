"""A loopback HTTP proxy in front of moto's S3 server, for the faults moto cannot produce.

moto answers every request whole and at once; a real bucket, reached over a real network, does not
always. This proxy passes each request on to moto and its answer back, over real HTTP, except where a
test asks for a fault, per operation and key:

- `reset`: the answer's headers and half its body, then a TCP reset (a connection cut mid-download);
- `truncate`: the same, then an orderly close: fewer bytes than the Content-Length announced;
- `drop`: the connection closed before any answer (botocore's ConnectionClosedError, which its retries
  and the fail-fast watch of alb502athena.aws take as AWS out of reach);
- `slowdown`: 503 SlowDown, as S3 throttles a prefix;
- `denied`: 403 AccessDenied (no s3:GetObject on the object, or no s3:ListBucket for a listing);
- `missing`: 404 NoSuchKey (an object deleted between the listing and its download, by a lifecycle
  rule, say);
- `kms`: the 403 AccessDenied S3 answers for an SSE-KMS object when the caller may not use the key
  (kms:Decrypt): its message is KMS's "The ciphertext refers to a customer master key ..." and names
  no permission;
- `kms-decrypt`: the same 403 with the newer message that names the action and the key;
- `stall`: the request is held until `release()` (or STALL_LIMIT seconds), then passed on: downloads
  in flight, for Ctrl-C.

It is a fake of these network and S3 faults only: every answer it passes on is moto's. It also counts
the requests by S3 operation (LIST and GET are each billed), the GETs per key, and the faults it made,
so a test can tell that its fault happened. Path-style addressing only (what botocore uses for an
endpoint at an IP address, and for bucket names with dots).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

KINDS = ("reset", "truncate", "drop", "slowdown", "denied", "missing", "kms", "kms-decrypt", "stall")
STALL_LIMIT = 60.0  # seconds: a stalled request goes on by itself, so nothing hangs for ever
KMS_MESSAGE = (
    "The ciphertext refers to a customer master key that does not exist, does not exist in this "
    "region, or you are not allowed to access."
)
KMS_DECRYPT_MESSAGE = (
    "User: arn:aws:iam::123456789012:user/oncall is not authorized to perform: kms:Decrypt on resource: "
    "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab because no "
    "identity-based policy allows the kms:Decrypt action"
)
_ERRORS = {  # kind -> (status, code, message), as S3 words them
    "slowdown": (503, "SlowDown", "Please reduce your request rate."),
    "denied": (403, "AccessDenied", "Access Denied"),
    "missing": (404, "NoSuchKey", "The specified key does not exist."),
    "kms": (403, "AccessDenied", KMS_MESSAGE),
    "kms-decrypt": (403, "AccessDenied", KMS_DECRYPT_MESSAGE),
}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
# Query parameters of a GET that make it another operation than GetObject/ListObjects (ACLs, tags...).
_SUBRESOURCES = {"acl", "tagging", "policy", "location", "versioning", "uploads", "versions", "cors"}


@dataclass
class Fault:
    kind: str
    op: str  # "get" (GetObject) or "list" (ListObjects, ListObjectsV2)
    match: str  # a part of the key (get) or of the listing's prefix (list); "" matches every request
    times: int | None  # faults left to make; None: every time


@dataclass(frozen=True)
class Request:
    op: str  # "list", "get", "head" or "other"
    bucket: str
    key: str  # the object's key (get, head) or the listing's prefix (list)


def classify(method: str, path: str) -> Request:
    """The S3 operation of a path-style request: what S3 bills it as (LIST or GET)."""
    url = urlsplit(path)
    bucket, _, key = url.path.lstrip("/").partition("/")
    query = parse_qs(url.query, keep_blank_values=True)
    if method == "HEAD":
        return Request("head", bucket, unquote(key))
    if method != "GET" or _SUBRESOURCES & set(query):
        return Request("other", bucket, unquote(key))
    if not key:
        return Request("list", bucket, query.get("prefix", [""])[0])
    return Request("get", bucket, unquote(key))


class S3Proxy:
    """`url` is the endpoint to give boto3 (AWS_ENDPOINT_URL); `upstream` is moto's."""

    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self._upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._released = threading.Event()
        self._stalled = threading.Condition(self._lock)
        self.requests: Counter[str] = Counter()  # by operation: list, get, head, other
        self.gets: Counter[str] = Counter()  # GetObject requests per key
        self.names_listed: list[
            int
        ] = []  # the keys each listing answered (what S3 sends, and botocore parses)
        self.list_queries: list[dict[str, str]] = []  # each listing's parameters, as sent
        self.faulted: list[tuple[str, str]] = []  # (kind, key) of each fault made
        self.stalled = 0  # requests being held now
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"

    def add(self, kind: str, match: str = "", *, op: str = "get", times: int | None = None) -> None:
        """Make `kind` of fault on the requests of `op` whose key (or prefix) holds `match`, `times`
        times (then pass them on), or every time."""
        if kind not in KINDS or op not in ("get", "list"):
            raise ValueError(f"no fault {kind!r} on {op!r}")
        with self._lock:
            self._faults.append(Fault(kind, op, match, times))

    def reset(self) -> None:
        """No faults, no counts, nothing held."""
        self.release()
        with self._lock:
            self._faults.clear()
            self.requests.clear()
            self.gets.clear()
            self.names_listed.clear()
            self.list_queries.clear()
            self.faulted.clear()
            self._released.clear()

    def release(self) -> None:
        """Let every stalled request (and every later one) go on."""
        self._released.set()

    def wait_stalled(self, count: int = 1, timeout: float = 60.0) -> bool:
        """Whether `count` requests are being held, within `timeout` seconds."""
        with self._stalled:
            return self._stalled.wait_for(lambda: self.stalled >= count, timeout)

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _fault_for(self, request: Request) -> str | None:
        with self._lock:
            self.requests[request.op] += 1
            if request.op == "get":
                self.gets[request.key] += 1
            for fault in self._faults:
                if fault.op == request.op and fault.match in request.key and fault.times != 0:
                    if fault.times is not None:
                        fault.times -= 1
                    self.faulted.append((fault.kind, request.key))
                    return fault.kind
        return None

    def _stall(self) -> None:
        with self._stalled:
            self.stalled += 1
            self._stalled.notify_all()
        try:
            self._released.wait(STALL_LIMIT)
        finally:
            with self._stalled:
                self.stalled -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet when the client went away (a process interrupted, a reset made here); else as usual."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler(proxy: S3Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects

        def do_GET(self) -> None:
            self._serve()

        def do_HEAD(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: a test's output is its own

        def _serve(self) -> None:
            request = classify(self.command, self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            kind = proxy._fault_for(request)
            if kind in _ERRORS:
                self._error(*_ERRORS[kind])
                return
            if kind == "stall":
                proxy._stall()
            if kind == "drop":
                self.close_connection = True
                return
            status, headers, answer = self._forward(body)
            if request.op == "list":
                query = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
                with proxy._lock:
                    proxy.names_listed.append(answer.count(b"<Key>"))
                    proxy.list_queries.append(query)
            if kind in ("reset", "truncate") and len(answer) > 1:
                self._cut(status, headers, answer, reset=kind == "reset")
                return
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            # A HEAD's Content-Length is the object's; it has no body.
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer)

        def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            conn = http.client.HTTPConnection(*proxy._upstream, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                if body:
                    headers["Content-Length"] = str(len(body))
                conn.request(self.command, self.path, body=body or None, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
                if self.command == "HEAD":
                    kept += [(k, v) for k, v in response.getheaders() if k.lower() == "content-length"]
                return response.status, kept, answer
            finally:
                conn.close()

        def _error(self, status: int, code: str, message: str) -> None:
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{message}</Message>"
                "<RequestId>4442587FB7D0A2F9</RequestId><HostId>s3proxy</HostId></Error>"
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("x-amz-request-id", "4442587FB7D0A2F9")
            self.send_header("Content-Length", str(len(xml)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(xml)

        def _cut(self, status: int, headers: list[tuple[str, str]], answer: bytes, reset: bool) -> None:
            """The whole answer's headers, half its body, then the connection ends."""
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer[: len(answer) // 2])
            self.close_connection = True
            if reset:  # SO_LINGER 0: close sends RST rather than FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_WR)

        def finish(self) -> None:
            with contextlib.suppress(OSError):  # the connection was reset on purpose
                super().finish()

    return Handler
