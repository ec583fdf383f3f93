{#-
id: load-balancers
title: Which load balancers the lines of the window's partitions name
description: >
  Run only when the diagnosis found no request to analyse although it parsed lines (a --load-balancer
  that matches none, a window beside the lines): one row per load balancer with its lines, those in the
  window and the first and last time, so the verdict can say what the logs hold instead.
parameters: [window]
-#}
{%- from "_macros/alb.sql" import partition_filter, in_window -%}
SELECT
  elb AS load_balancer,
  count(*) AS lines,
  count_if({{ in_window(window) }}) AS in_window,
  min(time) AS first_seen,
  max(time) AS last_seen
FROM {{ table }}
WHERE {{ partition_filter(window) }} AND type IS NOT NULL
GROUP BY elb
ORDER BY lines DESC, load_balancer
LIMIT 50
