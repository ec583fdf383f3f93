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
{%- from "_macros/alb.sql" import window_filter -%}
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
  ON l.target_group_arn = e.target_group
  AND l.target_ip = e.target_ip
  AND (e.target_port IS NULL OR l.target_port = e.target_port)
  AND l.time >= e.event_time
  AND l.time <= e.until_time
  AND l.elb_status_code = 502
  AND {{ window_filter(window, 'l.') }}
GROUP BY e.event_id
