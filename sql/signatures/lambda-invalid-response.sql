{#-
id: lambda-invalid-response
title: Lambda returned a response the load balancer cannot use
source: lambda
evidence: error_reason LambdaInvalidResponse on a 502 (documented by AWS).
metric: LambdaUserError (AWS/ApplicationELB, TargetGroup dimension)
remediation: >
  The function's return value is not a valid ALB response: it must be a JSON object with an integer
  statusCode, string headers (or multiValueHeaders when that is enabled on the target group), a string
  body and isBase64Encoded for binary bodies. Log the returned object for one failing request and fix
  the handler.
-#}
{%- from "_macros/alb.sql" import signature_rows -%}
SELECT time, elb, client_ip, request_verb, request_url, target_group_arn, lambda_error_reason, trace_id
FROM {{ table }}
{{ signature_rows('lambda-invalid-response', window, elb) }}
