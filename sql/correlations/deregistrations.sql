{#-
id: deregistrations
title: HTTP 502s that hit a target after it was deregistered
description: >
  For each DeregisterTargets event (from CloudTrail: the LookupEvents API or CloudTrail's log files),
  the 502s logged for that target of that target group between the deregistration and the end of its
  deregistration delay (plus a margin). In-flight requests still running when the delay ends are cut
  off; 502s there point at a delay shorter than the target's longest requests (inferred).
parameters: [window, events]
-#}
{%- from "_macros/alb.sql" import deregistered_502s -%}
WITH events (event_id, event_time, until_time, target_group, target_ip, target_port) AS (
  VALUES
{%- for e in events %}
    ({{ e.event_id }}, {{ e.event_time }}, {{ e.until_time }}, {{ e.target_group }}, {{ e.target_ip }}, {{ e.target_port }}){{ "," if not loop.last }}
{%- endfor %}
)
SELECT
  e.event_id,
  count(l.time) AS elb_502,
  min(l.time) AS first_seen,
  max(l.time) AS last_seen
FROM events e
LEFT JOIN {{ table }} l
  ON {{ deregistered_502s(window) }}
  AND l.time <= e.until_time
GROUP BY e.event_id
