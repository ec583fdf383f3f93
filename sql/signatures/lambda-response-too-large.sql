{#-
id: lambda-response-too-large
title: Lambda response larger than 1 MB
source: lambda
evidence: >
  error_reason LambdaResponseTooLarge on a 502 (documented by AWS): the function answered, but its
  response (body plus headers, after base64 for binary bodies) exceeds the 1 MB limit of ALB Lambda targets.
metric: LambdaUserError (AWS/ApplicationELB, TargetGroup dimension)
remediation: >
  Shrink the response below 1 MB: paginate or compress large bodies, or return a redirect to an S3
  pre-signed URL for big payloads. Find the offending paths with `alb502 run lambda-response-too-large`
  and log the response size inside the function to confirm.
-#}
{%- from "_macros/alb.sql" import signature_rows -%}
SELECT time, elb, client_ip, request_verb, request_url, target_group_arn, lambda_error_reason,
       sent_bytes, trace_id
FROM {{ table }}
{{ signature_rows('lambda-response-too-large', window, elb) }}
