from __future__ import annotations

import re

import pytest

from alb502athena.logformat import cut_to_shape, log_format, parse_line
from tests.lines import ALL_SHAPES, SHAPES, aws_examples_by_shape, make_line, shape_of

# The columns of AWS's own Athena table, in order: our table keeps them first, with their names.
AWS_COLUMNS = [
    "type",
    "time",
    "elb",
    "client_ip",
    "client_port",
    "target_ip",
    "target_port",
    "request_processing_time",
    "target_processing_time",
    "response_processing_time",
    "elb_status_code",
    "target_status_code",
    "received_bytes",
    "sent_bytes",
    "request_verb",
    "request_url",
    "request_proto",
    "user_agent",
    "ssl_cipher",
    "ssl_protocol",
    "target_group_arn",
    "trace_id",
    "domain_name",
    "chosen_cert_arn",
    "matched_rule_priority",
    "request_creation_time",
    "actions_executed",
    "redirect_url",
    "lambda_error_reason",
    "target_port_list",
    "target_status_code_list",
    "classification",
    "classification_reason",
    "conn_trace_id",
]


def test_capture_groups_equal_columns() -> None:
    fmt = log_format()
    assert re.compile(fmt.regex()).groups == len(fmt.columns)
    assert re.compile(fmt.regex(capture=False)).groups == 0


def test_aws_columns_come_first_with_aws_names() -> None:
    names = log_format().column_names
    assert names[: len(AWS_COLUMNS)] == tuple(AWS_COLUMNS)
    assert names[len(AWS_COLUMNS) :] == ("transformed_host", "transformed_uri", "request_transform_status")


def test_regex_has_no_backslash() -> None:
    # Kept in the subset Java, RE2 and Python read alike, and embeddable in a Hive literal as is.
    assert "\\" not in log_format().regex()


@pytest.mark.parametrize("shape", SHAPES)
def test_every_historical_shape_parses(shape: str) -> None:
    row = parse_line(make_line(shape))
    assert row is not None
    assert row["elb_status_code"] == "200"
    assert row["lambda_error_reason"] == "-"
    newer = {
        "2018": "target_port_list",
        "2019": "classification",
        "2020": "conn_trace_id",
        "2024": "transformed_host",
    }
    if shape in newer:
        assert row[newer[shape]] is None  # a group that did not take part is NULL, as in Hive


def test_unknown_trailing_fields_are_ignored() -> None:
    row = parse_line(make_line("2025") + ' "a future field" 42')
    assert row is not None and row["request_transform_status"] == "-"


def test_aws_documentation_examples_parse(aws_samples: list[str]) -> None:
    rows = [parse_line(line) for line in aws_samples]
    assert all(r is not None for r in rows)
    lambda_row = rows[-1]
    assert lambda_row is not None
    assert lambda_row["lambda_error_reason"] == "LambdaInvalidResponse"
    assert lambda_row["target_ip"] == "" and lambda_row["target_port"] == ""


def test_request_url_with_spaces_and_quotes() -> None:
    row = parse_line(make_line(request='GET https://x.example.com/a b"c HTTP/1.1'))
    assert row is not None
    assert (row["request_verb"], row["request_url"], row["request_proto"]) == (
        "GET",
        'https://x.example.com/a b"c',
        "HTTP/1.1",
    )


def test_malformed_request_form() -> None:
    row = parse_line(make_line(request="- - - "))
    assert row is not None
    assert (row["request_verb"], row["request_url"], row["request_proto"]) == ("-", "-", "- ")


@pytest.mark.parametrize(
    "line",
    ["", "garbage", make_line()[:120], make_line().replace("https ", "https  ", 1), make_line(ssl_cipher="")],
)
def test_lines_that_do_not_parse(line: str) -> None:
    assert parse_line(line) is None


def test_several_targets_in_the_target_list() -> None:
    row = parse_line(make_line(target_port_list="10.0.0.1:80 10.0.0.2:80", target_status_code_list="502 200"))
    assert row is not None and row["target_port_list"] == "10.0.0.1:80 10.0.0.2:80"


def test_shapes_since_2016() -> None:
    shapes = log_format().shapes
    assert [(s.version, len(s.fields)) for s in shapes] == [
        ("2016-08", 18),
        ("2017-10", 20),
        ("2018-05", 23),
        ("2018-07", 24),
        ("2018-11", 25),
        ("2019", 27),
        ("2020-08", 29),
        ("2024-05", 30),
        ("2025-08", 33),
    ]
    assert [s.fields[-1].name for s in shapes[:5]] == [
        "trace_id",
        "chosen_cert_arn",
        "actions_executed",
        "redirect_url",
        "error_reason",
    ]


@pytest.mark.parametrize("shape", ALL_SHAPES)
def test_fields_a_shape_does_not_have_are_null(shape: str) -> None:
    row = parse_line(make_line(shape))
    assert row is not None and row["trace_id"] == "Root=1-58337262-36d228ad5d99923122bbe354"
    names = {f.name for f in shape_of(shape).fields}
    for f in log_format().fields:
        for c in f.columns:
            assert (row[c.name] is None) == (f.name not in names), (shape, c.name)


def test_aws_examples_cover_every_shape_before_2024() -> None:
    # The parametrized tests below run one case per version: none may drop out unnoticed.
    assert sorted(aws_examples_by_shape()) == [
        "2016-08", "2017-10", "2018-05", "2018-07", "2018-11", "2019", "2020-08",
    ]  # fmt: skip


@pytest.mark.parametrize("version", sorted(aws_examples_by_shape()))
def test_aws_examples_of_every_shape_since_2016(version: str) -> None:
    lines = aws_examples_by_shape()[version]
    rows = [parse_line(line) for line in lines]
    got = [(r["type"], r["elb_status_code"], r["trace_id"]) if r else None for r in rows]
    assert got == [(x.split(" ")[0], x.split(" ")[8], x.split('"')[5]) for x in lines]


def test_cut_to_shape() -> None:
    line = make_line("2025")
    assert [cut_to_shape(line, s) for s in log_format().shapes] == [make_line(s) for s in ALL_SHAPES]
    assert cut_to_shape(make_line("2016"), log_format().shapes[1]) is None
    assert cut_to_shape("garbage", log_format().shapes[0]) is None


@pytest.mark.parametrize("shape", ["2016", "2018-07", "2025"])
def test_protocol_followed_by_a_space(shape: str) -> None:
    # Logged for non-compliant clients. Before, the protocol read as part of the URL and the protocol as ''.
    row = parse_line(make_line(shape, request="GET http://example.com:80/ HTTP/1.0 "))
    assert row is not None
    assert (row["request_verb"], row["request_url"], row["request_proto"]) == (
        "GET",
        "http://example.com:80/",
        "HTTP/1.0",
    )
    row = parse_line(make_line(shape, request="GET http://example.com:80/a b HTTP/1.0 "))
    assert row is not None and (row["request_url"], row["request_proto"]) == (
        "http://example.com:80/a b",
        "HTTP/1.0",
    )
