"""The configuration a verdict depends on: load balancer and target group attributes (ELBv2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from alb502athena.evidence.calls import Unchecked


@dataclass
class LoadBalancerConfig:
    name: str  # app/<name>/<id>
    arn: str | None = None
    idle_timeout_seconds: int | None = None
    client_keep_alive_seconds: int | None = None
    listener_ssl_policies: list[str] = field(default_factory=list)

    @property
    def backend_tls_policy(self) -> str | None:
        """The policy the load balancer uses towards HTTPS targets. AWS documents that it cannot be
        chosen and follows the HTTPS listeners' policy: a TLS 1.3 one gives
        ELBSecurityPolicy-TLS13-1-0-2021-06, a FIPS one ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04,
        anything else ELBSecurityPolicy-2016-08."""
        if not self.listener_ssl_policies:
            return None
        if any("FIPS" in p for p in self.listener_ssl_policies):
            return "ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04"
        if any("TLS13" in p for p in self.listener_ssl_policies):
            return "ELBSecurityPolicy-TLS13-1-0-2021-06"
        return "ELBSecurityPolicy-2016-08"


@dataclass
class LambdaConfig:
    arn: str
    name: str
    timeout_seconds: int | None = None
    memory_mb: int | None = None


@dataclass
class TargetGroupConfig:
    arn: str
    protocol: str | None = None
    target_type: str | None = None
    deregistration_delay_seconds: int | None = None
    functions: list[LambdaConfig] = field(default_factory=list)


@dataclass
class Configuration:
    load_balancers: dict[str, LoadBalancerConfig] = field(default_factory=dict)
    target_groups: dict[str, TargetGroupConfig] = field(default_factory=dict)


def _attributes(items: list[dict[str, str]]) -> dict[str, str]:
    return {a["Key"]: a["Value"] for a in items}


def _load_balancers(elbv2: Any, name: str) -> list[dict[str, Any]]:
    return list(elbv2.describe_load_balancers(Names=[name])["LoadBalancers"])


def _lb_attributes(elbv2: Any, arn: str) -> dict[str, str]:
    return _attributes(elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"])


def _ssl_policies(elbv2: Any, arn: str) -> list[str]:
    listeners = elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]
    return sorted(
        {str(x["SslPolicy"]) for x in listeners if x.get("Protocol") == "HTTPS" and x.get("SslPolicy")}
    )


def _tg_attributes(elbv2: Any, arn: str) -> dict[str, str]:
    return _attributes(elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"])


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _function_arns(elbv2: Any, tg_arn: str) -> list[str]:
    health = elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
    return [str(h["Target"]["Id"]) for h in health]


def _function(lambda_client: Any, arn: str) -> LambdaConfig:
    cfg = lambda_client.get_function_configuration(FunctionName=arn)
    return LambdaConfig(arn, str(cfg["FunctionName"]), cfg.get("Timeout"), cfg.get("MemorySize"))


def read_configuration(
    elbv2: Any,
    load_balancers: list[str],
    target_groups: list[str],
    unchecked: Unchecked,
    lambda_client: Any = None,
) -> Configuration:
    config = Configuration()
    for name in sorted(set(load_balancers)):
        lb = LoadBalancerConfig(name)
        config.load_balancers[name] = lb
        short = name.split("/")[1] if name.count("/") == 2 else name
        found = unchecked.call(
            "elasticloadbalancing:DescribeLoadBalancers",
            partial(_load_balancers, elbv2, short),
        )
        if not found:
            continue
        # Names are unique per account and region; the id in the logs confirms it is the same one.
        match = next((x for x in found if x["LoadBalancerArn"].endswith("/" + name)), None)
        if match is None:
            continue
        lb.arn = str(match["LoadBalancerArn"])
        attrs = unchecked.call(
            "elasticloadbalancing:DescribeLoadBalancerAttributes", partial(_lb_attributes, elbv2, lb.arn)
        )
        if attrs:
            lb.idle_timeout_seconds = _int(attrs.get("idle_timeout.timeout_seconds"))
            lb.client_keep_alive_seconds = _int(attrs.get("client_keep_alive.seconds"))
        policies = unchecked.call(
            "elasticloadbalancing:DescribeListeners", partial(_ssl_policies, elbv2, lb.arn)
        )
        lb.listener_ssl_policies = policies or []
    arns = sorted({a for a in target_groups if a and a.startswith("arn:")})
    if arns:
        groups = unchecked.call(
            "elasticloadbalancing:DescribeTargetGroups",
            lambda: elbv2.describe_target_groups(TargetGroupArns=arns)["TargetGroups"],
        )
        for tg in groups or []:
            cfg = TargetGroupConfig(tg["TargetGroupArn"], tg.get("Protocol"), tg.get("TargetType"))
            config.target_groups[cfg.arn] = cfg
            attrs = unchecked.call(
                "elasticloadbalancing:DescribeTargetGroupAttributes",
                partial(_tg_attributes, elbv2, cfg.arn),
            )
            if attrs:
                cfg.deregistration_delay_seconds = _int(attrs.get("deregistration_delay.timeout_seconds"))
            if cfg.target_type == "lambda" and lambda_client is not None:
                function_arns = unchecked.call(
                    "elasticloadbalancing:DescribeTargetHealth", partial(_function_arns, elbv2, cfg.arn)
                )
                for fn in function_arns or []:
                    function = unchecked.call(
                        "lambda:GetFunctionConfiguration", partial(_function, lambda_client, fn)
                    )
                    if function is not None:
                        cfg.functions.append(function)
    return config
