"""The one rule for ELB log object names: every kind AWS writes, and names that are not such objects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alb502athena.objectname import ObjectName, name_group, name_prefix, parse, prefix_load_balancer

ACCESS = "123456789012_elasticloadbalancing_eu-west-1_app.shop-prod.50dc6c495c0c9188_20261120T0910Z_10.0.2.114_0vajrhmd.log.gz"


def test_access_log_name() -> None:
    assert parse(ACCESS) == ObjectName(
        kind="access",
        load_balancer_type="application",
        account="123456789012",
        region="eu-west-1",
        load_balancer="app/shop-prod/50dc6c495c0c9188",
        end_time=datetime(2026, 11, 20, 9, 10, tzinfo=UTC),
        node_ip="10.0.2.114",
    )
    name = parse(ACCESS)
    assert name is not None and name.is_alb_access_log and name.set_aside_as is None


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [("conn_log_", "connection"), ("conn_log.", "connection"), ("health_check_log_", "health_check")],
)
def test_connection_and_health_check_names(prefix: str, kind: str) -> None:
    # AWS's pages write `conn_log.`; S3 holds `conn_log_`; health check logs since November 2025.
    name = parse(prefix + ACCESS)
    assert name is not None
    assert (name.kind, name.set_aside_as, name.is_alb_access_log) == (kind, kind, False)
    assert (name.account, name.region, name.load_balancer) == (
        "123456789012",
        "eu-west-1",
        "app/shop-prod/50dc6c495c0c9188",
    )
    assert (name.end_time, name.node_ip) == (datetime(2026, 11, 20, 9, 10, tzinfo=UTC), "10.0.2.114")


def test_network_and_classic_load_balancer_names() -> None:
    nlb = parse(
        "123456789012_elasticloadbalancing_us-east-2_net.my-nlb.1234567890abcdef_20181220T2345Z_a1b2c3d4.log.gz"
    )
    assert nlb is not None
    assert (nlb.load_balancer_type, nlb.load_balancer, nlb.node_ip, nlb.set_aside_as) == (
        "network",
        "net/my-nlb/1234567890abcdef",
        None,
        "network",
    )
    classic = parse(
        "123456789012_elasticloadbalancing_us-west-2_my-loadbalancer_20140215T2340Z_172.160.1.192_20sg8hgm.log"
    )
    assert classic is not None
    assert (classic.load_balancer_type, classic.load_balancer, classic.node_ip, classic.set_aside_as) == (
        "classic",
        "my-loadbalancer",
        "172.160.1.192",
        "classic",
    )


def test_other_regions_and_ipv6_nodes() -> None:
    gov = parse(ACCESS.replace("eu-west-1", "us-gov-west-1"))
    assert gov is not None and gov.region == "us-gov-west-1"
    v6 = parse(ACCESS.replace("10.0.2.114", "2001:db8::1"))
    assert v6 is not None and v6.node_ip == "2001:db8::1"
    plain = parse(ACCESS.removesuffix(".gz"))
    assert plain is not None and plain.is_alb_access_log


@pytest.mark.parametrize(
    "name",
    [
        "access.log",
        "alb.log.gz",
        ACCESS.replace("20261120T0910Z", "20261340T2599Z"),  # digits, not a time
        ACCESS.replace("50dc6c495c0c9188", "50dc6c495c0c918"),  # 15 hex digits
        ACCESS.replace("123456789012", "12345678901"),  # an 11-digit account
        ACCESS + ".tmp",
        "conn_log_" + ACCESS.replace("app.", "net."),  # connection logs are ALB-only
        "x" + ACCESS,
    ],
)
def test_names_that_are_not_elb_objects(name: str) -> None:
    assert parse(name) is None


def test_names_and_arns_read_the_same_accounts_and_regions() -> None:
    """Object names, --load-balancer ARNs and target group ARNs are built from the same pieces, so a
    region one of them takes (GovCloud here) is taken by all."""
    from alb502athena.arn import target_group
    from alb502athena.render import load_balancer_id

    region, account = "us-gov-west-1", "123456789012"
    name = parse(
        f"{account}_elasticloadbalancing_{region}_app.shop.50dc6c495c0c9188_20261120T0905Z_10.0.0.1_ab.log.gz"
    )
    assert name is not None and (name.region, name.account) == (region, account)
    lb = f"arn:aws-us-gov:elasticloadbalancing:{region}:{account}:loadbalancer/app/shop/50dc6c495c0c9188"
    assert load_balancer_id(lb) == "app/shop/50dc6c495c0c9188"
    tg = target_group(
        f"arn:aws-us-gov:elasticloadbalancing:{region}:{account}:targetgroup/web/73e2d6bc24d8a067"
    )
    assert tg is not None and (tg.region, tg.account, tg.name) == (region, account, "web")


@pytest.mark.parametrize("kind", ["", "conn_log_", "conn_log.", "health_check_log_"])
def test_a_names_group_and_prefix(kind: str) -> None:
    # What an S3 listing steps by: the group (a log kind of one account and region), then a load
    # balancer's name prefix, which runs to the `_` before the end time.
    name = kind + ACCESS
    group = f"{kind}123456789012_elasticloadbalancing_eu-west-1_"
    prefix = name_prefix(name)
    assert name_group(name) == group
    assert prefix == group + "app.shop-prod.50dc6c495c0c9188_"
    assert prefix_load_balancer(prefix) == ("app/shop-prod/50dc6c495c0c9188" if not kind else None)


def test_prefixes_that_name_no_alb() -> None:
    base = "123456789012_elasticloadbalancing_eu-west-1_"
    assert prefix_load_balancer(base + "net.my-nlb.1234567890abcdef_") is None
    assert prefix_load_balancer(base + "my-classic_") is None
    assert prefix_load_balancer(base + "app.shop.50dc6c495c0c9188") is None  # no `_`: not a whole prefix
    assert prefix_load_balancer(base + "app.shop.50dc6c495c0c9188_20261120T0910Z_") is None
    assert name_group("notes.txt") is None and name_group(base + "readme.txt") is None
