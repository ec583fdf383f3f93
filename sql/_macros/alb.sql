{#- Fragments shared by every query. Values arrive already rendered as literals by the caller
    (alb502athena/render.py): templates never quote anything themselves. -#}

{#- The partition predicate and the exact time filter. `day` is the S3 delivery date (yyyy/MM/dd), which
    can be a day later than the request near midnight UTC, hence start day .. end day + 1. `time` is
    ISO-8601 with microseconds and a Z, so comparing it as text is exact and runs on every engine. -#}
{#- The relative form ("the last N minutes", for saved queries and schedules) computes its bounds
    from current_timestamp in UTC; engines fold that to a constant before planning, so the `day`
    predicate still prunes partitions (tests/trino shows it with EXPLAIN). A scheduled query's window also
    ends before the run (relative_end_minutes), so the logs ALB has not delivered yet are left to the
    next run rather than missed; its bounds count from the run's minute, so runs that start a few
    seconds after their schedule still meet end to end and count each line once. -#}
{% macro since(w, format, minutes=none) -%}
{%- set now = 'current_timestamp' if w.relative_end_minutes is none else "date_trunc('minute', current_timestamp)" -%}
date_format(({{ now }} - interval '{{ w.relative_minutes if minutes is none else minutes }}' minute) AT TIME ZONE 'UTC', '{{ format }}')
{%- endmacro %}

{#- The objects of the window, by name (alb502athena/render.py path_ranges): per day folder and load
    balancer, the names from the first end time that may hold the window's entries to the last. Names
    sort by end time within a folder, so Trino (and Athena) drop the other objects before reading them;
    the names of other log types (conn_log_, health_check_log_) sort outside every range. -#}
{% macro path_filter(w, t='') -%}
{%- set p = w.paths -%}
{%- if p is not none and p.ranges %}
  AND ({% for lower, upper in p.ranges %}{% if not loop.first %}
    OR {% endif %}{{ t }}"$path" >= {{ lower }} AND {{ t }}"$path" < {{ upper }}{% endfor %})
{%- elif p is not none and p.root is not none -%}
{%- set fmt = "'%Y%m%dT%H%iZ'" %}
{#- The first end time is the window's start rounded up to its minute (objectname.end_time_range). A
    scheduled window starts at a whole minute (since); another at the query's moment, seconds and all. -#}
{%- set start = "(current_timestamp - interval '" ~ p.minutes ~ "' minute) AT TIME ZONE 'UTC'" %}
{%- set first = "date_trunc('minute', " ~ start ~ ")" %}
{%- if w.relative_end_minutes is none %}
{%- set first = first ~ " + CASE WHEN " ~ first ~ " < " ~ start ~ " THEN interval '1' minute ELSE interval '0' minute END" %}
{%- endif %}
  AND ({% for k in range(p.days + 1) %}{% set folder -%}
{{ p.root }}, date_format((current_timestamp - interval '{{ p.minutes }}' minute + interval '{{ k }}' day) AT TIME ZONE 'UTC', '%Y/%m/%d'), '/'
{%- endset %}{% for lower, upper, timed in p.names %}{% if not (loop.first and k == 0) %}
    OR {% endif -%}
{%- if timed -%}
{{ t }}"$path" >= concat({{ folder }}, {{ lower }}, date_format({{ first }}, {{ fmt }}))
     AND {{ t }}"$path" < concat({{ folder }}, {{ upper }}, date_format(date_trunc('minute', (current_timestamp + interval '{{ p.late_minutes }}' minute) AT TIME ZONE 'UTC') + interval '1' minute, {{ fmt }}))
{%- else -%}
{{ t }}"$path" >= concat({{ folder }}, {{ lower }}) AND {{ t }}"$path" < concat({{ folder }}, {{ upper }})
{%- endif -%}
{%- endfor %}{% endfor %})
{%- endif -%}
{%- endmacro %}

{#- The partition predicate alone (and the objects' names, where known): the diagnosis counts every
    line it reads, parsed or not. -#}
{% macro partition_filter(w, t='') -%}
{%- if w.relative_minutes is not none -%}
{{ t }}day >= {{ since(w, '%Y/%m/%d') }}{{ path_filter(w, t) }}
{%- elif w.start is not none -%}
{{ t }}day BETWEEN {{ w.start_day }} AND {{ w.end_day_plus_one }}{{ path_filter(w, t) }}
{%- else -%}
TRUE
{%- endif -%}
{%- endmacro %}

{#- The time filter alone, for rows already limited to the partitions. -#}
{% macro in_window(w, t='') -%}
{%- if w.relative_minutes is not none -%}
{{ t }}time >= {{ since(w, '%Y-%m-%dT%H:%i:%s') }}
{%- if w.relative_end_minutes is not none %} AND {{ t }}time < {{ since(w, '%Y-%m-%dT%H:%i:%s', w.relative_end_minutes) }}{% endif -%}
{%- elif w.start is not none -%}
{{ t }}time >= {{ w.start }} AND {{ t }}time < {{ w.end }}
{%- else -%}
{{ t }}time IS NOT NULL
{%- endif -%}
{%- endmacro %}

{#- Both, for queries that read parsed rows only: the partitions, then the exact times. -#}
{% macro window_filter(w, t='') -%}
{%- if w.relative_minutes is none and w.start is none -%}
TRUE
{%- else -%}
{{ partition_filter(w, t) }}
  AND {{ in_window(w, t) }}
{%- endif -%}
{%- endmacro %}

{#- Optional narrowing to one load balancer (the `elb` field, app/<name>/<id>). -#}
{% macro elb_filter(elb) -%}
{%- if elb is not none %} AND elb = {{ elb }}{% endif -%}
{%- endmacro %}

{#- A target reached at the TCP level: AWS's table (and ours) reads `-` as target_ip ''. -#}
{% macro target_known() -%}
coalesce(target_ip, '') NOT IN ('', '-')
{%- endmacro %}

{#- THE classification rule: every 502 row gets exactly one signature, first match wins. The
    per-signature queries and the diagnosis both call this macro; the order is the catalogue's. -#}
{% macro signature_of() -%}
CASE
    WHEN lambda_error_reason = 'LambdaResponseTooLarge' THEN 'lambda-response-too-large'
    WHEN lambda_error_reason = 'LambdaUnhandled' THEN 'lambda-unhandled'
    WHEN lambda_error_reason = 'LambdaThrottling' THEN 'lambda-throttled'
    WHEN lambda_error_reason = 'LambdaInvalidResponse' THEN 'lambda-invalid-response'
    WHEN lambda_error_reason LIKE 'Lambda%' THEN 'lambda-other'
    WHEN target_status_code = '502' THEN 'target-502'
    WHEN {{ target_known() }} AND target_status_code = '-'
         AND request_processing_time = -1 AND target_processing_time = -1
         AND response_processing_time = -1 THEN 'connect-failed'
    WHEN {{ target_known() }} AND target_status_code = '-'
         AND request_processing_time >= 0
         AND (target_processing_time = -1 OR response_processing_time = -1) THEN 'response-failed'
    ELSE 'elb-502-other'
  END
{%- endmacro %}

{#- The target as ip:port, as AWS prints it. -#}
{% macro target_label() -%}
CASE WHEN {{ target_known() }} THEN concat(target_ip, ':', coalesce(CAST(target_port AS varchar), '')) END
{%- endmacro %}

{#- The 502s a deregistered target (e) got in the logs (l) from its deregistration on: what both
    correlation queries join on. Where the deregistration delay ends is each query's own bound. -#}
{% macro deregistered_502s(w) -%}
l.target_group_arn = e.target_group
  AND l.target_ip = e.target_ip
  AND (e.target_port IS NULL OR l.target_port = e.target_port)
  AND l.time >= e.event_time
  AND l.elb_status_code = 502
  AND {{ window_filter(w, 'l.') }}
{%- endmacro %}

{#- The 502s of the window (and load balancer): the rows every per-signature query starts from. -#}
{% macro window_502s(w, elb) -%}
WHERE {{ window_filter(w) }}{{ elb_filter(elb) }}
  AND elb_status_code = 502
{%- endmacro %}

{#- The WHERE clause of every per-signature query: the window, then the 502s this signature owns. -#}
{% macro signature_rows(id, w, elb) -%}
{{ window_502s(w, elb) }}
  AND {{ signature_of() }} = '{{ id }}'
ORDER BY time
{%- endmacro %}
