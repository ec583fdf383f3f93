{#-
id: unparsed-share
title: How many lines of the last day the table's regex could not parse
description: >
  RegexSerDe turns a line its regex does not match into a row whose every column is NULL. One cheap
  query over the last day's partition tells whether the table's regex fits the lines AWS writes now.
parameters: [table, window]
-#}
{%- from "_macros/alb.sql" import partition_filter -%}
SELECT
  count(*) AS lines,
  count_if(type IS NULL) AS unparsed_lines
FROM {{ table }}
WHERE {{ partition_filter(window) }}
