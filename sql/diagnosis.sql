{#-
id: diagnosis
title: Classify every HTTP 502 in the window, in one scan
description: >
  One row for the totals (level 'total'), one per signature ('signature'), one per signature and target
  ('target') and one per signature, load balancer and target group ('source': what CloudWatch and the
  configuration are asked about). Reads each byte of the window once; the per-signature queries return
  the rows behind each count. The columns a 502 needs are read only inside the CASEs that select the 502s, so an
  engine that computes columns lazily (the local one) computes them for the 502s alone.
parameters: [window, elb]
-#}
{%- from "_macros/alb.sql" import partition_filter, in_window, elb_filter, signature_of, target_label -%}
{%- set is_502 -%}
{{ in_window(window) }}{{ elb_filter(elb) }} AND elb_status_code = 502
{%- endset -%}
WITH classified AS (
  SELECT
    type IS NULL AS unparsed,
    {{ in_window(window) }}{{ elb_filter(elb) }} AS in_window,
    CASE WHEN {{ is_502 }} THEN time END AS time_502,
    CASE WHEN {{ is_502 }} THEN {{ signature_of() }} END AS signature,
    CASE WHEN {{ is_502 }} THEN {{ target_label() }} END AS target,
    CASE WHEN {{ is_502 }} THEN elb END AS load_balancer,
    CASE WHEN {{ is_502 }} THEN target_group_arn END AS target_group,
    CASE WHEN {{ is_502 }} THEN substr(time, 1, 16) END AS minute
  FROM {{ table }}
  WHERE {{ partition_filter(window) }}
),
-- Lines that are not 502s collapse here into a few rows. The grouping sets below then copy a few
-- thousand rows once per set (Trino's GroupId copies its input that way) rather than every line.
grouped AS (
  SELECT
    signature,
    target,
    load_balancer,
    target_group,
    minute,
    count(*) AS lines,
    count_if(unparsed) AS unparsed_lines,
    count_if(in_window) AS requests,
    min(time_502) AS first_seen,
    max(time_502) AS last_seen
  FROM classified
  GROUP BY signature, target, load_balancer, target_group, minute
)
SELECT
  CASE grouping(signature, target, load_balancer, target_group, minute)
    WHEN 31 THEN 'total' WHEN 15 THEN 'signature' WHEN 7 THEN 'target' WHEN 14 THEN 'minute' ELSE 'source'
  END AS level,
  signature,
  target,
  load_balancer,
  target_group,
  minute,
  -- coalesce: over no rows at all, sum() is NULL where count() was 0.
  coalesce(sum(lines), 0) AS lines,
  coalesce(sum(unparsed_lines), 0) AS unparsed_lines,
  coalesce(sum(requests), 0) AS requests,
  coalesce(sum(CASE WHEN signature IS NOT NULL THEN lines END), 0) AS elb_502,
  min(first_seen) AS first_seen,
  max(last_seen) AS last_seen
FROM grouped
GROUP BY GROUPING SETS (
  (), (signature), (signature, target), (signature, load_balancer, target_group), (signature, minute)
)
