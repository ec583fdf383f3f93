"""CloudWatch metric sums over the window, fetched in batches with GetMetricData (1-minute Sum)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

NAMESPACE = "AWS/ApplicationELB"
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
_BATCH = 500  # GetMetricData's limit of queries per call


@dataclass(frozen=True)
class MetricKey:
    metric: str
    load_balancer: str
    target_group: str | None = None  # the dimension value, targetgroup/<name>/<id>


def target_group_dimension(arn: str) -> str | None:
    """arn:aws:elasticloadbalancing:...:targetgroup/name/id -> targetgroup/name/id."""
    _, sep, tail = arn.partition(":targetgroup/")
    return f"targetgroup/{tail}" if sep else None


def metric_keys(load_balancers: Iterable[str], lambda_groups: Iterable[tuple[str, str]]) -> list[MetricKey]:
    keys = [MetricKey(m, lb) for lb in sorted(set(load_balancers)) for m in LB_METRICS]
    keys += [MetricKey(m, lb, tg) for lb, tg in sorted(set(lambda_groups)) for m in TG_METRICS]
    return keys


def _query(i: int, key: MetricKey) -> dict[str, Any]:
    dims = [{"Name": "LoadBalancer", "Value": key.load_balancer}]
    if key.target_group:
        dims.append({"Name": "TargetGroup", "Value": key.target_group})
    return {
        "Id": f"m{i}",
        "MetricStat": {
            "Metric": {"Namespace": NAMESPACE, "MetricName": key.metric, "Dimensions": dims},
            "Period": 60,
            "Stat": "Sum",
        },
        "ReturnData": True,
    }


def metric_sums(
    cloudwatch: Any, keys: list[MetricKey], start: datetime, end: datetime
) -> dict[MetricKey, float]:
    """The sum of each metric over [start, end); a metric with no data sums to 0."""
    sums = dict.fromkeys(keys, 0.0)
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
                sums[key] += float(sum(result.get("Values", [])))
            token = page.get("NextToken")
            if not token:
                break
    return sums
