"""The classification rule of sql/_macros/alb.sql (`signature_of`), restated in Python by hand, first
match wins. It exists only as a referee for tests and the benchmark: the product has the rule once, in SQL."""

from __future__ import annotations

Row = dict[str, str | None]

_EXACT = {
    "LambdaResponseTooLarge": "lambda-response-too-large",
    "LambdaUnhandled": "lambda-unhandled",
    "LambdaThrottling": "lambda-throttled",
    "LambdaInvalidResponse": "lambda-invalid-response",
}


def classify(r: Row) -> str:
    """The signature of a parsed 502 line (the texts parse_line returns)."""
    reason = r["lambda_error_reason"] or ""
    if reason in _EXACT:
        return _EXACT[reason]
    if reason.startswith("Lambda"):
        return "lambda-other"
    if r["target_status_code"] == "502":
        return "target-502"
    known = (r["target_ip"] or "") not in ("", "-") and r["target_status_code"] == "-"
    req, tgt, resp = (
        float(r[k] or "nan")
        for k in ("request_processing_time", "target_processing_time", "response_processing_time")
    )
    if known and req == tgt == resp == -1:
        return "connect-failed"
    if known and req >= 0 and (tgt == -1 or resp == -1):
        return "response-failed"
    return "elb-502-other"
