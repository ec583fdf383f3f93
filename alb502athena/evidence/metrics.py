"""CloudWatch metrics over the window, fetched in batches with GetMetricData (1-minute periods)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alb502athena.arn import target_group

ELB = "AWS/ApplicationELB"
LAMBDA = "AWS/Lambda"
# Per load balancer: who produced the 502s, and how connections to targets failed.
LB_METRICS = (
    "HTTPCode_ELB_502_Count",
    "HTTPCode_Target_5XX_Count",
    "TargetConnectionErrorCount",
    "TargetTLSNegotiationErrorCount",
    "RequestCount",
)
# Per Lambda target group (TargetGroup and LoadBalancer dimensions).
TG_METRICS = ("LambdaUserError", "LambdaInternalError")
# Per function: errors and throttles summed; Duration as its maximum, to compare with the timeout.
FUNCTION_METRICS = (("Errors", "Sum"), ("Throttles", "Sum"), ("Duration", "Maximum"))
_BATCH = 500  # GetMetricData's limit of queries per call


@dataclass(frozen=True)
class MetricKey:
    metric: str
    load_balancer: str | None = None
    target_group: str | None = None  # the dimension value, targetgroup/<name>/<id>
    function: str | None = None
    namespace: str = ELB
    stat: str = "Sum"

    def dimensions(self) -> list[dict[str, str]]:
        if self.function is not None:
            return [{"Name": "FunctionName", "Value": self.function}]
        dims = [{"Name": "LoadBalancer", "Value": self.load_balancer or ""}]
        if self.target_group:
            dims.append({"Name": "TargetGroup", "Value": self.target_group})
        return dims


def target_group_dimension(arn: str) -> str | None:
    """arn:aws:elasticloadbalancing:...:targetgroup/name/id -> targetgroup/name/id."""
    tg = target_group(arn)
    return tg.path if tg else None


def metric_keys(
    load_balancers: Iterable[str], lambda_groups: Iterable[tuple[str, str]], functions: Iterable[str] = ()
) -> list[MetricKey]:
    keys = [MetricKey(m, lb) for lb in sorted(set(load_balancers)) for m in LB_METRICS]
    keys += [MetricKey(m, lb, tg) for lb, tg in sorted(set(lambda_groups)) for m in TG_METRICS]
    keys += [
        MetricKey(m, function=f, namespace=LAMBDA, stat=stat)
        for f in sorted(set(functions))
        for m, stat in FUNCTION_METRICS
    ]
    return keys


def _query(i: int, key: MetricKey) -> dict[str, Any]:
    return {
        "Id": f"m{i}",
        "MetricStat": {
            "Metric": {"Namespace": key.namespace, "MetricName": key.metric, "Dimensions": key.dimensions()},
            "Period": 60,
            "Stat": key.stat,
        },
        "ReturnData": True,
    }


def metric_data(
    cloudwatch: Any, keys: list[MetricKey], start: datetime, end: datetime
) -> dict[MetricKey, list[tuple[datetime, float]]]:
    """Each metric's 1-minute datapoints over [start, end), oldest first."""
    data: dict[MetricKey, list[tuple[datetime, float]]] = {k: [] for k in keys}
    for first in range(0, len(keys), _BATCH):
        batch = keys[first : first + _BATCH]
        queries = [_query(i, k) for i, k in enumerate(batch)]
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
            if token:
                kwargs["NextToken"] = token
            page = cloudwatch.get_metric_data(**kwargs)
            for result in page.get("MetricDataResults", []):
                key = batch[int(result["Id"][1:])]
                data[key] += zip(
                    result.get("Timestamps", []), (float(v) for v in result.get("Values", [])), strict=False
                )
            token = page.get("NextToken")
            if not token:
                break
    return {k: sorted(v) for k, v in data.items()}


def summarise(data: dict[MetricKey, list[tuple[datetime, float]]]) -> dict[MetricKey, float]:
    """The sum of each metric's Sums, or its largest Maximum; 0 with no data."""
    return {
        k: (max([0.0, *(v for _, v in points)]) if k.stat == "Maximum" else sum(v for _, v in points))
        for k, points in data.items()
    }


def metric_sums(
    cloudwatch: Any, keys: list[MetricKey], start: datetime, end: datetime
) -> dict[MetricKey, float]:
    return summarise(metric_data(cloudwatch, keys, start, end))
