{#-
id: lambda-other
title: Other Lambda invocation failure
source: lambda
evidence: >
  Any other Lambda* error_reason on a 502 (documented codes include LambdaConnectionError,
  LambdaConnectionTimeout, LambdaServiceException and LambdaUnhandledException, which are service side,
  and configuration codes such as LambdaAccessDenied, LambdaResourceNotFound, LambdaKMS* and
  LambdaENILimitReachedException). The error_reason column says which.
metric: LambdaInternalError (service side) or LambdaUserError (configuration), AWS/ApplicationELB
remediation: >
  Group the rows by lambda_error_reason. Service-side codes (LambdaConnection*, LambdaService*) are
  transient on AWS's side: retry and open a support case if they persist. Configuration codes name what to
  fix: the resource policy that lets elasticloadbalancing.amazonaws.com invoke the function, a deleted
  function or alias, KMS key access, or VPC subnet and ENI capacity.
-#}
{%- from "_macros/alb.sql" import signature_rows -%}
SELECT time, elb, client_ip, request_verb, request_url, target_group_arn, lambda_error_reason, trace_id
FROM {{ table }}
{{ signature_rows('lambda-other', window, elb) }}
