{#-
id: target-502
title: The target itself answered 502
source: target
evidence: >
  target_status_code 502 (documented): the load balancer passed on the target's own 502. Typical when
  the target is itself a proxy (nginx, Envoy, an API gateway) whose upstream failed.
metric: HTTPCode_Target_5XX_Count (AWS/ApplicationELB)
remediation: >
  The load balancer is not at fault. Look at the target's own logs for the listed targets and times:
  a proxy on the target reports which upstream failed (for nginx, "upstream prematurely closed" or
  "connect() failed" in error.log). If one target dominates the top targets, drain it and compare.
-#}
{%- from "_macros/alb.sql" import signature_rows -%}
SELECT time, elb, client_ip, target_ip, target_port, request_verb, request_url, target_status_code,
       target_processing_time, target_group_arn, trace_id
FROM {{ table }}
{{ signature_rows('target-502', window, elb) }}
