"""S3 objects read straight into memory and into the native reader, in parallel, a bounded amount ahead.

A scan asks for its files in order; the downloads run ahead of it on a pool of threads (one connection
each), at most AHEAD_OBJECTS objects and AHEAD_BYTES bytes downloaded and not yet taken, so that
decompressing and parsing overlap the downloads and memory stays bounded whatever the window holds.

Every failure to read an object ends in fetch_object, as ObjectReadError (an OSError, so the scan names
the object among its bad files and analyses the others): botocore retries what a request's answer says
is worth retrying (503 SlowDown, 500, throttling, connection errors before an answer); a body cut short
(a connection reset or closed midway, fewer bytes than its length) is retried here, whole; an answer
that no retry changes (403, 404, a KMS key refused) is named at once.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alb502athena.engines.native.pool import Pool
    from alb502athena.engines.native.source import Chunk
    from alb502athena.s3cache import ObjectCache

CONCURRENCY = 16  # downloads at once: S3 answers each GET in tens of milliseconds before its first byte
AHEAD_OBJECTS = 64
AHEAD_BYTES = 256 << 20
BODY_ATTEMPTS = 3  # a body cut short is read again, whole, up to this many times in all
_WAIT_STEP = 0.1  # seconds between two looks, while waiting for a download, at whether the reading stopped
_PIECE = 1 << 20  # bytes read from a body at a time (a cancelled download stops between them)


class ObjectReadError(OSError):
    """An S3 object that could not be read, after the retries that help; the message says why and, where
    a permission is missing, which."""


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int
    etag: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def fetch_object(
    s3: Any,
    obj: S3Object,
    *,
    request_payer: str | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    attempts: int = BODY_ATTEMPTS,
) -> bytes:
    """The object's whole body. The one place an object read fails: ObjectReadError, with the reason.
    IfMatch pins the ETag listed, so an object rewritten since is refused rather than read as the one
    listed (and cached under its ETag)."""
    import botocore.exceptions as bx
    import urllib3.exceptions

    request: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key}
    if obj.etag:
        request["IfMatch"] = obj.etag
    if request_payer:
        request["RequestPayer"] = request_payer
    last = ""
    for _ in range(max(1, attempts)):
        if cancelled():
            raise ObjectReadError("the download was stopped")
        try:
            response = s3.get_object(**request)
            body = response["Body"]
            expected = int(response.get("ContentLength", -1))
            parts = []
            while piece := body.read(_PIECE):
                if cancelled():
                    body.close()
                    raise ObjectReadError("the download was stopped")
                parts.append(piece)
            data = b"".join(parts)
            if 0 <= expected != len(data):
                last = f"the body ended after {len(data):,} of its {expected:,} bytes"
                continue
            return data
        except bx.ClientError as exc:
            raise ObjectReadError(_refused(exc)) from None
        except (
            bx.IncompleteReadError,
            bx.ResponseStreamingError,
            bx.ReadTimeoutError,
            bx.ConnectionClosedError,
            urllib3.exceptions.HTTPError,
        ) as exc:
            last = f"the download was cut short ({exc})"
        except bx.BotoCoreError as exc:
            from alb502athena.aws import translate

            translated = translate(exc, f"reading {obj.url}")
            raise ObjectReadError(str(translated or exc)) from None
    raise ObjectReadError(f"{last}, {attempts} times")


def _refused(exc: Any) -> str:
    """Why S3 refused a GetObject, naming the permission where one is missing."""
    error = exc.response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    # S3 says a KMS refusal its own ways: "not authorized to perform: kms:Decrypt", or "The ciphertext
    # refers to a customer master key that does not exist ... or you are not allowed to access", or a
    # KMS.* code.
    said = (code + " " + message).lower()
    if any(w in said for w in ("kms", "master key", "ciphertext")) and (
        status in (400, 403) or "KMS" in code
    ):
        return (
            f"access denied by KMS: the kms:Decrypt permission on the bucket's encryption key is missing "
            f"({code}: {message})"
        )
    if "AccessDenied" in code or status == 403:
        return f"access denied: the s3:GetObject permission is missing ({code}: {message})"
    if code in ("NoSuchKey", "404") or status == 404:
        return "the object is gone: deleted after it was listed"
    if code == "PreconditionFailed" or status == 412:
        return "the object changed after it was listed (its ETag differs): run again to read the new one"
    if code in ("SlowDown", "ServiceUnavailable", "503") or status == 503:
        return f"S3 kept answering {code or status} (slow down), even after retries"
    return f"S3 answered {code or status}: {message}"


@dataclass
class ReadCounts:
    """What the readings of a run took: objects and bytes downloaded, objects served by the cache."""

    downloaded_objects: int = 0
    downloaded_bytes: int = 0
    cached_objects: int = 0
    cached_bytes: int = 0
    # Why each object that could not be read was not, by URL: an object is one entry however many scans
    # or attempts failed on it.
    failed: dict[str, str] = field(default_factory=dict)


class S3Reader:
    """The objects of a plan, read for the native reader's scans (engines.native.source.ObjectSource).
    Each scan gets its own reading; the cache, counts and progress are the reader's."""

    def __init__(
        self,
        s3: Any,
        objects: Sequence[S3Object],
        *,
        cache: ObjectCache | None = None,
        request_payer: str | None = None,
        concurrency: int = CONCURRENCY,
        ahead_objects: int = AHEAD_OBJECTS,
        ahead_bytes: int = AHEAD_BYTES,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self._s3 = s3
        self.objects = {o.url: o for o in objects}
        self.cache = cache
        self.request_payer = request_payer
        self.concurrency = max(1, concurrency)
        self.ahead_objects = max(1, ahead_objects)
        self.ahead_bytes = ahead_bytes
        self.progress = progress  # called with (objects, bytes) each time an object is in memory
        self.counts = ReadCounts()
        self._lock = threading.Lock()
        # The first lines of a few objects (those the local reading's sample would look at), kept as
        # they are read: what the unparsed lines look like is then said without a second download.
        from alb502athena.sniff import spread

        self._sampled = {o.url for o in spread(list(objects))}
        self._heads: dict[str, list[str]] = {}
        # Set by stop() (Ctrl-C): a plain attribute, written from the signal handler, read by any thread.
        self.stopped = False
        # First, so that a GET refused is not counted as sent (s3source.RequestCounter counts here too).
        s3.meta.events.register_first("before-send.s3.GetObject", self._refuse_when_stopped)

    def stop(self) -> None:
        """Ctrl-C: no GET is sent from now on, not even botocore's retry of one already sent, and every
        wait for a download ends. Called from the signal handler, between two bytecodes of the main
        thread, whatever it is doing (compiling the parser, say): it sets a flag and takes no lock."""
        self.stopped = True

    def _refuse_when_stopped(self, **_: Any) -> None:
        # Raised before the request is sent, so botocore returns it as the attempt's error: not one it
        # retries (a connection error or an HTTP client error), so it ends the call at once. The client
        # is this reader's own (cli.s3 makes it for the reader): every GET on it is one of its objects.
        if self.stopped:
            raise ObjectReadError("the download was stopped")

    def reading(self, paths: Sequence[str]) -> _Reading:
        return _Reading(self, paths)

    def fetch(self, obj: S3Object, cancelled: Callable[[], bool]) -> bytes:
        """The body: from the cache, else from S3 (then kept in the cache)."""
        cache = self.cache
        data = cache.get(obj.bucket, obj.key, obj.etag, obj.size) if cache is not None else None
        if data is not None:
            with self._lock:
                self.counts.cached_objects += 1
                self.counts.cached_bytes += len(data)
        else:
            try:
                data = fetch_object(self._s3, obj, request_payer=self.request_payer, cancelled=cancelled)
            except ObjectReadError as exc:
                with self._lock:
                    self.counts.failed[obj.url] = str(exc)
                raise
            with self._lock:
                self.counts.downloaded_objects += 1
                self.counts.downloaded_bytes += len(data)
            if cache is not None:
                cache.put(obj.bucket, obj.key, obj.etag, data)
        if obj.url in self._sampled and obj.url not in self._heads:
            self._keep_head(obj.url, data)
        if self.progress is not None:
            self.progress(1, len(data))
        return data

    def _keep_head(self, url: str, data: bytes) -> None:
        import io

        from alb502athena.sniff import head

        lines = head(io.BytesIO(data))
        with self._lock:
            self._heads.setdefault(url, lines)

    def heads(self) -> list[list[str]]:
        """The first lines of the sampled objects read (sniff.head), in the objects' order."""
        with self._lock:
            return [self._heads[url] for url in self.objects if url in self._heads]


class _Reading:
    """One scan's objects, downloaded ahead of it in its order (engines.native.source.ObjectReading)."""

    def __init__(self, reader: S3Reader, paths: Sequence[str]) -> None:
        self._reader = reader
        self._order = list(paths)
        self._next = 0  # the first of _order not yet started
        self._started: set[str] = set()
        self._futures: dict[str, Future[bytes]] = {}
        self._ahead = 0  # started and not yet taken: objects and their bytes
        self._ahead_bytes = 0
        self._closed = threading.Event()
        self._lock = threading.Lock()
        # Daemon threads, not an executor's: after Ctrl-C the process must not wait at exit for a
        # download stuck on a connection that answers nothing (an executor's threads are joined).
        self._jobs: queue.SimpleQueue[tuple[S3Object, Future[bytes]] | None] = queue.SimpleQueue()
        for _ in range(min(reader.concurrency, max(1, len(self._order)))):
            threading.Thread(target=self._download, daemon=True, name="alb502-s3").start()
        self._top_up()

    def _stopped(self) -> bool:
        """Closed, or the reader stopped (Ctrl-C, which closes nothing: the scan closes the reading
        only once the main thread gets there, maybe seconds later)."""
        return self._closed.is_set() or self._reader.stopped

    def _download(self) -> None:
        while (job := self._jobs.get()) is not None:
            obj, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                if self._stopped():
                    raise ObjectReadError("the download was stopped")
                future.set_result(self._reader.fetch(obj, self._stopped))
            except BaseException as exc:  # handed to the loader that waits for it
                future.set_exception(exc)

    def size(self, path: str) -> int:
        return self._reader.objects[path].size

    def _start(self, path: str) -> Future[bytes]:
        obj = self._reader.objects[path]
        self._started.add(path)
        self._ahead += 1
        self._ahead_bytes += obj.size
        future: Future[bytes] = Future()
        self._futures[path] = future
        self._jobs.put((obj, future))
        return future

    def _top_up(self) -> None:
        with self._lock:
            r = self._reader
            while self._next < len(self._order) and not self._stopped():
                path = self._order[self._next]
                if path not in self._started:
                    size = r.objects[path].size
                    if self._ahead and (
                        self._ahead >= r.ahead_objects or self._ahead_bytes + size > r.ahead_bytes
                    ):
                        return
                    self._start(path)
                self._next += 1

    def chunks(self, path: str, pool: Pool) -> Iterator[Chunk]:
        from alb502athena.engines.native.source import memory_chunks

        with self._lock:
            if self._stopped():
                raise ObjectReadError("the download was stopped")
            # Asked before the downloads reached it (a loader ahead of the others): started now.
            future = self._futures.pop(path, None) or self._start(path)
            self._futures.pop(path, None)
        size = self._reader.objects[path].size
        try:
            # A download stalled on a silent connection cannot be cancelled (it ends at botocore's read
            # timeout, and its retries after that): the loader waiting for it must not, once stopped.
            while True:
                try:
                    data = future.result(timeout=_WAIT_STEP)
                    break
                except TimeoutError:
                    if self._stopped():
                        raise ObjectReadError("the download was stopped") from None
        except CancelledError:
            raise ObjectReadError("the download was stopped") from None
        finally:
            with self._lock:
                self._ahead -= 1
                self._ahead_bytes -= size
            self._top_up()
        yield from memory_chunks(data, path.endswith(".gz"), pool)

    def close(self) -> None:
        """Stop: downloads not started are dropped, those running stop at their next piece."""
        self._closed.set()
        with self._lock:
            for future in self._futures.values():
                future.cancel()
            self._futures.clear()
        for _ in range(self._reader.concurrency):
            self._jobs.put(None)
