"""AWS sessions and errors, the AWS CLI's way: --profile, --region, the standard AWS_* variables and
credential chain; each failure becomes one line that says what to do."""

from __future__ import annotations

import os
import re
from typing import Any

from alb502athena.errors import AwsError, UsageError

_ACTION = re.compile(r"perform: ([a-z0-9-]+:[A-Za-z0-9]+)")


def session(profile: str | None, region: str | None) -> Any:
    import boto3
    import botocore.exceptions

    # AWS_REGION is the variable the AWS CLI and SDKs document; older botocore reads only AWS_DEFAULT_REGION.
    region = region or os.environ.get("AWS_REGION") or None
    try:
        s = boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound:
        raise UsageError(f"no AWS profile named {profile!r} (see ~/.aws/config)") from None
    if s.region_name is None:
        raise UsageError("no AWS region: use --region or set AWS_REGION (or a region in your profile)")
    return s


def client(sess: Any, service: str) -> Any:
    from botocore.config import Config

    # Standard retries back off on throttling (ThrottlingException, TooManyRequestsException); the
    # AWS_MAX_ATTEMPTS variable of the AWS CLI and SDKs still decides how many attempts.
    attempts = int(os.environ.get("AWS_MAX_ATTEMPTS", "8"))
    return sess.client(service, config=Config(retries={"mode": "standard", "max_attempts": attempts}))


def translate(exc: BaseException, doing: str) -> AwsError | None:
    """The one-line error for a botocore exception, or None when it is not one."""
    import botocore.exceptions as bx

    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return AwsError("no AWS credentials: set AWS_PROFILE, run `aws configure` or `aws sso login`")
    if isinstance(exc, bx.NoRegionError):
        return AwsError("no AWS region: use --region or set AWS_REGION")
    if isinstance(exc, bx.EndpointConnectionError):
        return AwsError(f"cannot reach AWS while {doing}: {exc}")
    if isinstance(exc, bx.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", str(exc))
        if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
            m = _ACTION.search(message)
            needed = f": the {m.group(1)} permission is missing" if m else ""
            return AwsError(f"access denied while {doing}{needed} ({message})")
        if code in ("ThrottlingException", "TooManyRequestsException"):
            return AwsError(f"AWS kept throttling while {doing}, even after retries: try again later")
        if code == "EntityNotFoundException":
            return AwsError(f"{message} (create the table with `alb502 ddl`)")
        return AwsError(f"AWS {code} while {doing}: {message}")
    if isinstance(exc, bx.BotoCoreError):
        return AwsError(f"AWS error while {doing}: {exc}")
    return None
