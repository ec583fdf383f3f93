"""AWS sessions and errors, the AWS CLI's way: --profile, --region, the standard AWS_* variables and
credential chain; each failure becomes one line that says what to do."""

from __future__ import annotations

import os
import re
from typing import Any

from alb502athena.errors import AwsError, UsageError
from alb502athena.objectname import REGION

_ACTION = re.compile(r"perform: ([a-z0-9-]+:[A-Za-z0-9]+)")


def session(profile: str | None, region: str | None) -> Any:
    import boto3
    import botocore.exceptions

    # AWS_REGION is the variable the AWS CLI and SDKs document; older botocore reads only AWS_DEFAULT_REGION.
    region = region or os.environ.get("AWS_REGION") or None
    if region is not None and not re.fullmatch(REGION, region):
        raise UsageError(f"invalid --region {region!r}: an AWS region, e.g. eu-west-1")
    try:
        s = boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound:
        raise UsageError(f"no AWS profile named {profile!r} (see ~/.aws/config)") from None
    if s.region_name is None:
        raise UsageError("no AWS region: use --region or set AWS_REGION (or a region in your profile)")
    return s


# An unreachable AWS must not hold up the verdict for long: a call that cannot connect within
# CONNECT_TIMEOUT or gets no answer within READ_TIMEOUT is tried CONNECTION_ATTEMPTS times in all (with
# the standard retries' short backoff between), and once AWS could not be reached, the session's
# later calls fail at once with the same error. Throttling keeps the longer retries below.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
CONNECTION_ATTEMPTS = 2
MAX_ATTEMPTS = 8


def client(sess: Any, service: str) -> Any:
    return guard(sess.client(service, config=client_config(sess)))


def client_config(sess: Any, *, attempts: int = MAX_ATTEMPTS, fail_fast: bool = True) -> Any:
    """The botocore Config of every client of `sess`, its reachability watched from now on (unless not
    `fail_fast`: the watch is the session's, so a session of its own). A client built elsewhere with it
    (pyathena's) then goes through `guard`, as `client` does. `attempts`: unless AWS_MAX_ATTEMPTS says."""
    from botocore.config import Config

    # Standard retries back off on throttling (ThrottlingException, TooManyRequestsException); the
    # AWS_MAX_ATTEMPTS and AWS_RETRY_MODE variables of the AWS CLI and SDKs still decide. Both count
    # attempts, the first included: botocore's `max_attempts` would count retries only.
    attempts = int(os.environ.get("AWS_MAX_ATTEMPTS", attempts))
    mode = os.environ.get("AWS_RETRY_MODE", "standard")
    if fail_fast:
        _Reachability().watch(sess)
    return Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"mode": mode, "total_max_attempts": attempts},
    )


def guard(made: Any) -> Any:
    """The client, refusing answers cut short (awsanswers.py) as they are received, where botocore's
    retries ask again, up to the configured attempts."""
    from alb502athena.awsanswers import WholeAnswers

    # botocore offers no public way to give a client its HTTP session: its endpoint's is wrapped.
    endpoint: Any = getattr(made, "_endpoint", None)
    session = getattr(endpoint, "http_session", None)
    if session is not None and not isinstance(session, WholeAnswers):
        endpoint.http_session = WholeAnswers(session)
    # Still refused before parsing, should an answer come another way (a before-send handler's, or a
    # botocore whose endpoint has no such session): never parsed as a whole one, if not retried.
    made.meta.events.register("before-parse", _whole_answer, unique_id="alb502-whole-answer")
    return made


def _whole_answer(response_dict: dict[str, Any], operation_model: Any = None, **_: Any) -> None:
    """Refuse an answer shorter than its Content-Length before it is parsed (outside the retries)."""
    from alb502athena.awsanswers import AnswerCutShort, cut_short

    method = operation_model.http.get("method", "") if operation_model is not None else ""
    cut = cut_short(response_dict.get("headers"), response_dict.get("body"), method)
    if cut is not None:
        raise AnswerCutShort(endpoint_url="AWS", actual_bytes=cut[0], expected_bytes=cut[1])


def unreachable(exc: BaseException) -> bool:
    """Whether the error says AWS could not be reached (connection refused or failed, timeouts, TLS),
    rather than that it answered (an answer cut short is retried as a connection closed early, but AWS
    was reached: it does not stop the session's other calls)."""
    import botocore.exceptions as bx

    from alb502athena.awsanswers import AnswerCutShort

    return isinstance(exc, bx.ConnectionError | bx.HTTPClientError) and not isinstance(exc, AnswerCutShort)


def endpoint_of(exc: BaseException) -> str:
    kwargs = getattr(exc, "kwargs", {}) or {}
    return str(kwargs.get("endpoint_url") or kwargs.get("proxy_url") or "AWS")


def why_unreachable(exc: BaseException) -> str:
    import botocore.exceptions as bx

    if isinstance(exc, bx.ReadTimeoutError):
        return f"no answer within {READ_TIMEOUT:g} s"
    if isinstance(exc, bx.ConnectTimeoutError):
        return f"no connection within {CONNECT_TIMEOUT:g} s"
    if isinstance(exc, bx.ConnectionClosedError):
        return "the connection was closed before an answer"
    cause = str((getattr(exc, "kwargs", {}) or {}).get("error", "")) or str(exc)
    # urllib3's text ends with the system's reason: "... [Errno 111] Connection refused".
    m = re.search(r"\[Errno -?\d+\] ([^')\]]+)", cause)
    return m.group(1).strip() if m else cause


class _Reachability:
    """Per session (registered once on its events): stops the retries of a call that cannot reach
    AWS after CONNECTION_ATTEMPTS, and fails every later call at once with that error."""

    def __init__(self) -> None:
        self.failure: BaseException | None = None

    def watch(self, sess: Any) -> None:
        events = sess.events
        # The same unique id registers once: the first instance's state is the session's.
        events.register_first("needs-retry", self.needs_retry, unique_id="alb502-reachability-retry")
        events.register_first("before-send", self.before_send, unique_id="alb502-reachability-send")

    def before_send(self, **kwargs: Any) -> None:
        if self.failure is not None:
            raise self.failure

    def needs_retry(
        self, attempts: int, caught_exception: BaseException | None = None, **kwargs: Any
    ) -> None:
        if caught_exception is None or not unreachable(caught_exception):
            return
        if caught_exception is self.failure or attempts >= CONNECTION_ATTEMPTS:
            self.failure = caught_exception
            raise caught_exception


def denied(exc: Any) -> bool:
    """Whether a botocore ClientError is AWS refusing a permission (each service names it its way)."""
    code = exc.response.get("Error", {}).get("Code", "")
    return "AccessDenied" in code or code == "UnauthorizedOperation"


def missing_permission(exc: Any) -> str | None:
    """The IAM action AWS names in an access-denied message ("not authorized to perform: s3:GetObject")."""
    m = _ACTION.search(exc.response.get("Error", {}).get("Message", ""))
    return m.group(1) if m else None


def translate(exc: BaseException, doing: str) -> AwsError | None:
    """The one-line error for a botocore exception, or None when it is not one."""
    import botocore.exceptions as bx

    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return AwsError("no AWS credentials: set AWS_PROFILE, run `aws configure` or `aws sso login`")
    if isinstance(exc, bx.NoRegionError):
        return AwsError("no AWS region: use --region or set AWS_REGION")
    from alb502athena.awsanswers import AnswerCutShort

    if isinstance(exc, AnswerCutShort):
        got, announced = exc.kwargs["actual_bytes"], exc.kwargs["expected_bytes"]
        return AwsError(
            f"the answers of {endpoint_of(exc)} kept being cut short while {doing}, even after retries "
            f"(the last: {got:,} of its {announced:,} bytes): try again later"
        )
    if unreachable(exc):
        return AwsError(
            f"AWS could not be reached ({endpoint_of(exc)}) while {doing}: {why_unreachable(exc)}"
        )
    if isinstance(exc, bx.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", str(exc))
        if denied(exc):
            action = missing_permission(exc)
            needed = f": the {action} permission is missing" if action else ""
            return AwsError(f"access denied while {doing}{needed} ({message})")
        if code in ("ThrottlingException", "TooManyRequestsException"):
            return AwsError(f"AWS kept throttling while {doing}, even after retries: try again later")
        if code == "EntityNotFoundException":
            return AwsError(f"{message} (create the table with `alb502 ddl`)")
        return AwsError(f"AWS {code} while {doing}: {message}")
    if isinstance(exc, bx.BotoCoreError):
        return AwsError(f"AWS error while {doing}: {exc}")
    return None
