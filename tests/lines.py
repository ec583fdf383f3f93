"""Building ALB log lines field by field for tests, in each historical shape."""

from __future__ import annotations

from typing import Any

BASE: dict[str, str] = {
    "type": "https",
    "time": "2026-11-20T10:15:30.123456Z",
    "elb": "app/shop/50dc6c495c0c9188",
    "client": "203.0.113.9:51234",
    "target": "10.0.1.20:8080",
    "request_processing_time": "0.000",
    "target_processing_time": "0.012",
    "response_processing_time": "0.000",
    "elb_status_code": "200",
    "target_status_code": "200",
    "received_bytes": "320",
    "sent_bytes": "1830",
    "request": "GET https://shop.example.com:443/cart?id=1 HTTP/1.1",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
    "ssl_cipher": "ECDHE-RSA-AES128-GCM-SHA256",
    "ssl_protocol": "TLSv1.2",
    "target_group_arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067",
    "trace_id": "Root=1-58337262-36d228ad5d99923122bbe354",
    "domain_name": "shop.example.com",
    "chosen_cert_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
    "matched_rule_priority": "1",
    "request_creation_time": "2026-11-20T10:15:30.110000Z",
    "actions_executed": "forward",
    "redirect_url": "-",
    "error_reason": "-",
    "target_port_list": "10.0.1.20:8080",
    "target_status_code_list": "200",
    "classification": "-",
    "classification_reason": "-",
    "conn_trace_id": "TID_0123456789abcdef0123456789abcdef",
    "transformed_host": "-",
    "transformed_uri": "-",
    "request_transform_status": "-",
}

SHAPES = ("2018", "2019", "2020", "2024", "2025")


def make_line(shape: str = "2025", **fields: Any) -> str:
    f = {**BASE, **{k: str(v) for k, v in fields.items()}}
    parts = [
        f["type"], f["time"], f["elb"], f["client"], f["target"],
        f["request_processing_time"], f["target_processing_time"], f["response_processing_time"],
        f["elb_status_code"], f["target_status_code"], f["received_bytes"], f["sent_bytes"],
        f'"{f["request"]}"', f'"{f["user_agent"]}"', f["ssl_cipher"], f["ssl_protocol"],
        f["target_group_arn"], f'"{f["trace_id"]}"', f'"{f["domain_name"]}"', f'"{f["chosen_cert_arn"]}"',
        f["matched_rule_priority"], f["request_creation_time"], f'"{f["actions_executed"]}"',
        f'"{f["redirect_url"]}"', f'"{f["error_reason"]}"',
    ]  # fmt: skip
    if shape in ("2019", "2020", "2024", "2025"):
        parts += [f'"{f["target_port_list"]}"', f'"{f["target_status_code_list"]}"']
    if shape in ("2020", "2024", "2025"):
        parts += [f'"{f["classification"]}"', f'"{f["classification_reason"]}"']
    if shape in ("2024", "2025"):
        parts.append(f["conn_trace_id"])
    if shape == "2025":
        parts += [
            f'"{f["transformed_host"]}"',
            f'"{f["transformed_uri"]}"',
            f'"{f["request_transform_status"]}"',
        ]
    return " ".join(parts)


# One 502 per signature, as the load balancer writes them.
SIGNATURE_FIELDS: dict[str, dict[str, str]] = {
    "lambda-response-too-large": {"target": "-", "error_reason": "LambdaResponseTooLarge"},
    "lambda-unhandled": {"target": "-", "error_reason": "LambdaUnhandled"},
    "lambda-throttled": {"target": "-", "error_reason": "LambdaThrottling"},
    "lambda-invalid-response": {"target": "-", "error_reason": "LambdaInvalidResponse"},
    "lambda-other": {"target": "-", "error_reason": "LambdaConnectionTimeout"},
    "target-502": {"target_status_code": "502", "target_processing_time": "0.250"},
    "connect-failed": {
        "target_status_code": "-",
        "request_processing_time": "-1",
        "target_processing_time": "-1",
        "response_processing_time": "-1",
    },
    "response-failed": {
        "target_status_code": "-",
        "request_processing_time": "0.001",
        "target_processing_time": "-1",
        "response_processing_time": "-1",
    },
    "elb-502-other": {"target": "-", "error_reason": "-", "actions_executed": "authenticate,forward"},
}


def signature_line(signature_id: str, shape: str = "2025", **extra: Any) -> str:
    return make_line(shape, elb_status_code="502", **{**SIGNATURE_FIELDS[signature_id], **extra})


def tricky_lines() -> list[str]:
    """Lines that break parsers: URLs with spaces and quotes, the malformed-request form, empty and
    several-target fields, unknown trailing fields, odd numbers, truncation and junk."""
    return [
        *(make_line(s) for s in SHAPES),
        make_line(request='GET https://x.example.com/a b"c HTTP/1.1'),
        make_line(request="- - - "),
        make_line(user_agent=""),
        make_line(user_agent='Mozilla/5.0 (X11; Linux) "quoted"'),
        make_line(target="-", request_processing_time="-1"),
        make_line(target_port_list="10.0.0.1:80 10.0.0.2:80"),
        make_line() + ' "future" 1',
        make_line("2018") + " trailing",
        make_line(elb_status_code="99999999999"),
        make_line(request_processing_time="1."),
        make_line(request_processing_time="."),
        make_line(request_processing_time="-.5"),
        make_line(received_bytes="00012"),
        "garbage line",
        make_line()[:200],
        '"' * 70,
        # Found by hypothesis: a character glued to a quote keeps the space count of the run right.
        make_line().replace(' "Root=', ' 0"Root=', 1),
        make_line().replace("arn:aws:acm", 'x"arn:aws:acm', 1),
        make_line().replace("https 2026", "https 2026-11-20 x", 1),
    ]
