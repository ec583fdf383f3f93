{#-
id: lambda-unhandled
title: Lambda function error or timeout
source: lambda
evidence: >
  error_reason LambdaUnhandled on a 502 (documented for function errors). AWS does not document the
  code written when the function times out; LambdaUnhandled is the likely one (inferred), so compare
  the function's Duration with its timeout.
metric: LambdaUserError (AWS/ApplicationELB) and Errors, Duration (AWS/Lambda)
remediation: >
  Read the function's CloudWatch Logs for the failing request ids (the trace_id below is forwarded in
  the X-Amzn-Trace-Id header): an uncaught exception is a code fix; a Duration at the configured timeout
  means raise the function timeout or its memory (which also raises CPU), or make the slow dependency
  time out first and answer with a proper error.
-#}
{%- from "_macros/alb.sql" import signature_rows -%}
SELECT time, elb, client_ip, request_verb, request_url, target_group_arn, lambda_error_reason,
       request_processing_time, trace_id
FROM {{ table }}
{{ signature_rows('lambda-unhandled', window, elb) }}
