{#-
id: diagnosis
title: Classify every HTTP 502 in the window, in one scan
description: >
  One row for the totals (level 3), one per signature (level 1) and one per signature and target
  (level 0). Reads each byte of the window once; the per-signature queries return the rows behind
  each count.
parameters: [window, elb]
-#}
{%- from "_macros/alb.sql" import partition_filter, in_window, elb_filter, signature_of, target_label -%}
WITH scoped AS (
  SELECT
    type IS NULL AS unparsed,
    {{ in_window(window) }}{{ elb_filter(elb) }} AS in_window,
    time,
    elb_status_code,
    target_status_code,
    target_ip,
    target_port,
    request_processing_time,
    target_processing_time,
    response_processing_time,
    lambda_error_reason
  FROM {{ table }}
  WHERE {{ partition_filter(window) }}
), classified AS (
  SELECT
    unparsed,
    in_window,
    CASE WHEN in_window AND elb_status_code = 502 THEN time END AS time_502,
    CASE WHEN in_window AND elb_status_code = 502 THEN {{ signature_of() }} END AS signature,
    CASE WHEN in_window AND elb_status_code = 502 THEN {{ target_label() }} END AS target
  FROM scoped
)
SELECT
  grouping(signature, target) AS level,
  signature,
  target,
  count(*) AS lines,
  count_if(unparsed) AS unparsed_lines,
  count_if(in_window) AS requests,
  count_if(signature IS NOT NULL) AS elb_502,
  min(time_502) AS first_seen,
  max(time_502) AS last_seen
FROM classified
GROUP BY GROUPING SETS ((), (signature), (signature, target))
