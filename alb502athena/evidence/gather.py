"""Gathering the evidence for a diagnosis and turning it into each signature's verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from alb502athena.diagnosis import Diagnosis, Finding
from alb502athena.errors import Interrupted
from alb502athena.evidence.calls import Unchecked, failure
from alb502athena.evidence.config import Configuration, LambdaConfig, read_configuration
from alb502athena.evidence.metrics import (
    MetricKey,
    metric_data,
    metric_keys,
    summarise,
    target_group_dimension,
)
from alb502athena.progress import terminal_line


@dataclass
class Evidence:
    metrics: dict[str, float | None] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    verdict: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"metrics": self.metrics, "config": self.config, "verdict": self.verdict}


def _sum(sums: dict[MetricKey, float], metric: str, lbs: set[str], tg: str | None = None) -> float | None:
    values = [
        v for k, v in sums.items() if k.metric == metric and k.load_balancer in lbs and k.target_group == tg
    ]
    return sum(values) if values else None


def _n(value: float | None) -> str:
    return "not checked" if value is None else f"{value:,.0f}"


def _verdict(f: Finding, sums: dict[MetricKey, float], config: Configuration) -> Evidence:
    lbs = {s.load_balancer for s in f.sources if s.load_balancer}
    tgs = {s.target_group for s in f.sources if s.target_group}
    ev = Evidence()
    sid = f.signature.id
    if sid == "connect-failed":
        tcp = _sum(sums, "TargetConnectionErrorCount", lbs)
        tls = _sum(sums, "TargetTLSNegotiationErrorCount", lbs)
        ev.metrics = {"TargetConnectionErrorCount": tcp, "TargetTLSNegotiationErrorCount": tls}
        protocols = sorted({config.target_groups[t].protocol or "" for t in tgs if t in config.target_groups})
        policies = sorted(
            {p for n, lb in config.load_balancers.items() if n in lbs and (p := lb.backend_tls_policy)}
        )
        ev.config = {"target_group_protocols": protocols, "backend_tls_policies": policies}
        if tls and tls >= (tcp or 0):
            policy = f" ({', '.join(policies)})" if policies else ""
            ev.verdict = (
                f"TLS handshakes to the targets failed ({_n(tls)} TargetTLSNegotiationErrorCount): check the "
                f"targets' TLS versions and ciphers against the load balancer's backend policy{policy}"
            )
        elif tcp:
            ev.verdict = (
                f"TCP connections to the targets failed ({_n(tcp)} TargetConnectionErrorCount): the targets "
                "refused (RST: nothing listening, restarting) or were unreachable (security group, NACL)"
            )
        elif tcp is not None:
            ev.verdict = "CloudWatch shows no target connection errors in the window: the logs alone say so"
    elif sid == "response-failed":
        idle = sorted(
            {
                lb.idle_timeout_seconds
                for n, lb in config.load_balancers.items()
                if n in lbs and lb.idle_timeout_seconds
            }
        )
        keep_alive = sorted(
            {
                lb.client_keep_alive_seconds
                for n, lb in config.load_balancers.items()
                if n in lbs and lb.client_keep_alive_seconds
            }
        )
        ev.config = {"idle_timeout_seconds": idle, "client_keep_alive_seconds": keep_alive}
        if idle:
            longest = max(idle)
            ev.verdict = (
                f"the load balancer's idle timeout is {longest} s: the targets' HTTP keep-alive "
                f"timeout must be longer than {longest} s (for example {longest + 15} s)"
            )
    elif sid == "target-502":
        ev.metrics = {"HTTPCode_Target_5XX_Count": _sum(sums, "HTTPCode_Target_5XX_Count", lbs)}
        ev.verdict = (
            f"CloudWatch counts {_n(ev.metrics['HTTPCode_Target_5XX_Count'])} 5XX answered by the targets"
        )
    elif f.signature.source == "lambda":
        user = sum(v for t in tgs if (v := _tg_sum(sums, "LambdaUserError", lbs, t)) is not None)
        internal = sum(v for t in tgs if (v := _tg_sum(sums, "LambdaInternalError", lbs, t)) is not None)
        ev.metrics = {"LambdaUserError": user, "LambdaInternalError": internal}
        side = (
            "the function or its configuration (LambdaUserError)"
            if user >= internal
            else "the Lambda service (LambdaInternalError)"
        )
        if user or internal:
            ev.verdict = f"CloudWatch puts these on {side}: {_n(user)} user, {_n(internal)} internal errors"
        functions = [fn for t in tgs if t in config.target_groups for fn in config.target_groups[t].functions]
        _lambda_functions(ev, sid, functions, sums)
    else:
        ev.metrics = {"HTTPCode_ELB_502_Count": _sum(sums, "HTTPCode_ELB_502_Count", lbs)}
    return ev


def _lambda_functions(
    ev: Evidence, sid: str, functions: list[LambdaConfig], sums: dict[MetricKey, float]
) -> None:
    """The function's own side: its timeout and memory, and AWS/Lambda Errors, Throttles, Duration."""
    ev.config = {
        "functions": [
            {"name": fn.name, "timeout_seconds": fn.timeout_seconds, "memory_mb": fn.memory_mb}
            for fn in functions
        ]
    }
    for fn in functions:
        errors, throttles = _fn(sums, "Errors", fn.name), _fn(sums, "Throttles", fn.name)
        longest = _fn(sums, "Duration", fn.name)
        ev.metrics |= {
            f"{fn.name}:Errors": errors,
            f"{fn.name}:Throttles": throttles,
            f"{fn.name}:MaxDurationMs": longest,
        }
        if sid == "lambda-unhandled" and longest is not None and fn.timeout_seconds:
            if longest >= 0.95 * fn.timeout_seconds * 1000:
                ev.verdict = (
                    f"{fn.name} ran up to {longest / 1000:.1f} s of its {fn.timeout_seconds} s "
                    f"timeout: these are timeouts; raise the timeout or the memory ({fn.memory_mb} MB), "
                    "or make the slow call fail sooner"
                )
            elif errors:
                ev.verdict = (
                    f"{fn.name} raised {_n(errors)} errors (AWS/Lambda Errors) well within its "
                    f"{fn.timeout_seconds} s timeout: exceptions; read its logs for the failing requests"
                )
        if sid == "lambda-throttled" and throttles:
            ev.verdict = (
                f"{fn.name} was throttled {_n(throttles)} times (AWS/Lambda Throttles): raise its concurrency"
            )


def _fn(sums: dict[MetricKey, float], metric: str, function: str) -> float | None:
    values = [v for k, v in sums.items() if k.metric == metric and k.function == function]
    return max(values) if values else None


def _tg_sum(sums: dict[MetricKey, float], metric: str, lbs: set[str], tg_arn: str) -> float | None:
    dim = target_group_dimension(tg_arn)
    values = [
        v for k, v in sums.items() if k.metric == metric and k.load_balancer in lbs and k.target_group == dim
    ]
    return sum(values) if values else None


def _per_minute(
    data: dict[MetricKey, list[tuple[Any, float]]], metrics: tuple[str, ...]
) -> dict[str, list[list[Any]]]:
    """Load-balancer metrics per minute, summed over the load balancers, for the report's time axis."""
    out: dict[str, dict[str, float]] = {}
    for key, points in data.items():
        if key.metric in metrics and key.target_group is None and key.function is None:
            series = out.setdefault(key.metric, {})
            for when, value in points:
                minute = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
                series[minute] = series.get(minute, 0.0) + value
    return {m: [[k, v] for k, v in sorted(series.items())] for m, series in out.items()}


def gather(diagnosis: Diagnosis, aws_session: Any) -> dict[str, Evidence]:
    """Evidence for each finding, by signature id; notes and what could not be checked go on the
    diagnosis. Every call is read-only and batched: one GetMetricData per 500 metrics. Best effort:
    whatever fails here is a note on the diagnosis, which stands without the evidence."""
    unchecked = Unchecked(progress=terminal_line())
    try:
        return _gather(diagnosis, aws_session, unchecked)
    except Interrupted:
        raise
    except Exception as exc:  # evidence is never the end of the run
        diagnosis.notes.extend(n for n in unchecked.notes() if n not in diagnosis.notes)
        diagnosis.notes.append(f"AWS evidence not complete: {failure(exc)}")
        return {}


def _gather(diagnosis: Diagnosis, aws_session: Any, unchecked: Unchecked) -> dict[str, Evidence]:
    from alb502athena.aws import client

    window = diagnosis.params.window
    lbs = sorted({s.load_balancer for f in diagnosis.findings for s in f.sources if s.load_balancer})
    tgs = sorted({s.target_group for f in diagnosis.findings for s in f.sources if s.target_group})
    lambda_groups = {
        (s.load_balancer, dim)
        for f in diagnosis.findings
        if f.signature.source == "lambda"
        for s in f.sources
        if s.load_balancer and s.target_group and (dim := target_group_dimension(s.target_group))
    }
    config = read_configuration(
        client(aws_session, "elbv2"), lbs, tgs, unchecked, client(aws_session, "lambda")
    )
    functions = [fn.name for tg in config.target_groups.values() for fn in tg.functions]
    sums: dict[MetricKey, float] = {}
    if window.start is not None and window.end is not None and lbs:
        cloudwatch = client(aws_session, "cloudwatch")
        keys = metric_keys(lbs, lambda_groups, functions)
        start, end = window.start, window.end
        data = (
            unchecked.call("cloudwatch:GetMetricData", lambda: metric_data(cloudwatch, keys, start, end))
            or {}
        )
        sums = summarise(data)
        diagnosis.metric_series = _per_minute(data, ("HTTPCode_ELB_502_Count", "TargetConnectionErrorCount"))
    elif lbs:
        diagnosis.notes.append("metrics not checked: they need a window (--last or --start/--end)")
    evidence = {f.signature.id: _verdict(f, sums, config) for f in diagnosis.findings}
    elb_502 = _sum(sums, "HTTPCode_ELB_502_Count", set(lbs))
    target_5xx = _sum(sums, "HTTPCode_Target_5XX_Count", set(lbs))
    if elb_502 is not None and target_5xx is not None:
        diagnosis.notes.append(
            f"CloudWatch: {elb_502:,.0f} HTTP 502 generated by the load balancer (HTTPCode_ELB_502_Count), "
            f"{target_5xx:,.0f} 5XX answered by the targets (HTTPCode_Target_5XX_Count)"
        )
    if elb_502 is not None and round(elb_502) != diagnosis.totals.lb_generated_502:
        diagnosis.notes.append(
            f"CloudWatch counts {elb_502:,.0f} HTTPCode_ELB_502_Count where the logs show "
            f"{diagnosis.totals.lb_generated_502:,}: access logs are best effort, or logging was off "
            "for part of the window"
        )
    diagnosis.notes.extend(n for n in unchecked.notes() if n not in diagnosis.notes)
    diagnosis.evidence = {k: v.as_json() for k, v in evidence.items()}
    return evidence
