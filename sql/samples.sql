{#-
id: samples
title: The first requests behind each signature, in one scan
description: >
  For the HTML report: the first `per_signature` 502s of each signature in the window, with the
  columns of every signature's own query (the caller passes their union and picks each signature's
  from it). One scan for all signatures, where running each one's query would read the logs once
  per signature.
parameters: [window, elb, columns, per_signature]
-#}
{%- from "_macros/alb.sql" import window_502s, signature_of -%}
{%- set listed = columns | join(', ') -%}
SELECT {{ listed }}, signature
FROM (
  SELECT {{ listed }}, signature, row_number() OVER (PARTITION BY signature ORDER BY time) AS n
  FROM (
    SELECT {{ listed }}, {{ signature_of() }} AS signature
    FROM {{ table }}
    {{ window_502s(window, elb) }}
  ) AS classified
) AS numbered
WHERE n <= {{ per_signature }}
ORDER BY signature, time
