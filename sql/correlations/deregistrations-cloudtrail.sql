{#-
id: deregistrations-cloudtrail
title: HTTP 502s after DeregisterTargets, joined with a CloudTrail table
description: >
  The same correlation as deregistrations.sql, with the events read from a CloudTrail table (AWS's
  Athena DDL for CloudTrail: requestparameters is JSON text, useridentity a struct, `timestamp` the
  yyyy/MM/dd partition) instead of being passed in. Deregistration delays, read from the target
  groups where allowed, arrive as a CASE; unknown ones are 300 s.
parameters: [window, cloudtrail, delays]
-#}
{%- from "_macros/alb.sql" import deregistered_502s -%}
WITH events AS (
  SELECT
    ct.eventid AS event_id,
    substr(ct.eventtime, 1, 19) AS event_time,
    to_unixtime(from_iso8601_timestamp(ct.eventtime)) AS event_seconds,
    coalesce(ct.useridentity.invokedby, ct.useridentity.sessioncontext.sessionissuer.arn, ct.useridentity.arn) AS who,
    json_extract_scalar(ct.requestparameters, '$.targetGroupArn') AS target_group,
    json_extract_scalar(t.target, '$.id') AS target_ip,
    CAST(json_extract_scalar(t.target, '$.port') AS integer) AS target_port
  FROM {{ cloudtrail }} ct
  CROSS JOIN UNNEST(CAST(json_extract(ct.requestparameters, '$.targets') AS array(json))) AS t (target)
  WHERE ct.eventsource = 'elasticloadbalancing.amazonaws.com'
    AND ct.eventname = 'DeregisterTargets'
    AND ct.errorcode IS NULL
{%- if window.start_day is not none %}
    AND ct."timestamp" BETWEEN {{ lookback_day }} AND {{ window.end_day_plus_one }}
{%- endif %}
), bounded AS (
  SELECT
    *,
    event_seconds
{%- if delays %} + CASE target_group
{%- for tg, seconds in delays %}
      WHEN {{ tg }} THEN {{ seconds }}
{%- endfor %}
      ELSE {{ default_delay }} END
{%- else %} + {{ default_delay }}
{%- endif %} + {{ margin }} AS until_seconds
  FROM events
)
SELECT
  e.event_id,
  e.event_time,
  e.who,
  e.target_group,
  e.target_ip,
  e.target_port,
  count(l.time) AS elb_502,
  min(l.time) AS first_seen,
  max(l.time) AS last_seen
FROM bounded e
LEFT JOIN {{ table }} l
  ON {{ deregistered_502s(window) }}
  AND to_unixtime(from_iso8601_timestamp(l.time)) <= e.until_seconds
GROUP BY e.event_id, e.event_time, e.who, e.target_group, e.target_ip, e.target_port
