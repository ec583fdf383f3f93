"""Building ALB log lines field by field for tests, in each historical shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alb502athena.logformat import Shape, cut_to_shape, log_format

FIXTURES = Path(__file__).resolve().parent / "fixtures"

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

SHAPES = ("2018", "2019", "2020", "2024", "2025")  # the shapes that carry every column the rule reads
# The shapes from ALB's launch to Lambda targets (no error_reason, so no Lambda signature).
OLD_SHAPES = ("2016", "2017", "2018-05", "2018-07")
ALL_SHAPES = OLD_SHAPES + SHAPES
# The values of the log fields whose name is not a BASE key.
_KEYS = {"client:port": "client", "target:port": "target", "target:port_list": "target_port_list"}


def shape_of(name: str) -> Shape:
    """A format shape by its version (YAML's optional_from, e.g. "2018-07"), or by a year alone: the
    newest shape of that year ("2018" is 2018-11, "2020" is 2020-08)."""
    shapes = [s for s in log_format().shapes if s.version == name or s.version.startswith(f"{name}-")]
    if not shapes:
        raise ValueError(f"no line shape {name!r}")
    return shapes[-1]


def make_line(shape: str = "2025", **fields: Any) -> str:
    f = {**BASE, **{k: str(v) for k, v in fields.items()}}
    return " ".join(
        f'"{f[_KEYS.get(x.name, x.name)]}"' if x.quoted else f[_KEYS.get(x.name, x.name)]
        for x in shape_of(shape).fields
    )


def aws_examples_by_shape() -> dict[str, list[str]]:
    """AWS's own example lines for each historical shape, by version: the ALB user guide's examples of
    2016 (18 fields, fixtures/aws-doc-examples-2016.log) and its later ones (fixtures/aws-doc-examples.log)
    as each version from 2017 on wrote them (cut after that version's last field)."""
    old = (FIXTURES / "aws-doc-examples-2016.log").read_text().splitlines()
    later = (FIXTURES / "aws-doc-examples.log").read_text().splitlines()
    shapes = log_format().shapes
    out = {shapes[0].version: old}
    for shape in shapes[1:]:
        cut = [line for line in (cut_to_shape(x, shape) for x in later) if line is not None]
        if cut:  # the examples predate the 2024 fields
            out[shape.version] = cut
    return out


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
        *(make_line(s) for s in ALL_SHAPES),
        *(make_line(s) + " trailing" for s in OLD_SHAPES),
        # A space after the protocol (non-compliant clients), with and without spaces in the URL.
        make_line(request="GET http://example.com:80/ HTTP/1.0 "),
        make_line("2016", request="GET http://example.com:80/a b HTTP/1.0 "),
        make_line(request="GET /a b "),
        make_line(request="- - -  "),
        make_line(request="GET /x HTTP/1.1  "),
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
