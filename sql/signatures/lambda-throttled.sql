{#-
id: lambda-throttled
title: Lambda throttled (concurrency limit reached)
source: lambda
evidence: error_reason LambdaThrottling on a 502 (documented by AWS).
metric: LambdaUserError (AWS/ApplicationELB) and Throttles (AWS/Lambda)
remediation: >
  The function hit its reserved concurrency or the account's regional concurrency quota. Check the
  function's Throttles and ConcurrentExecutions metrics over the window; raise or remove the reserved
  concurrency, request a quota increase through Service Quotas, or add provisioned concurrency for
  bursts.
-#}
{%- from "_macros/alb.sql" import signature_rows -%}
SELECT time, elb, client_ip, request_verb, request_url, target_group_arn, lambda_error_reason, trace_id
FROM {{ table }}
{{ signature_rows('lambda-throttled', window, elb) }}
