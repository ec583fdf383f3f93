SELECT time, elb, client_ip, request_verb, request_url, target_group_arn, lambda_error_reason, trace_id
FROM ${database}.${table}
WHERE day >= date_format((date_trunc('minute', current_timestamp) - interval '${start_minutes}' minute) AT TIME ZONE 'UTC', '%Y/%m/%d')
  AND time >= date_format((date_trunc('minute', current_timestamp) - interval '${start_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s') AND time < date_format((date_trunc('minute', current_timestamp) - interval '${end_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s')
  AND elb_status_code = 502
  AND CASE
    WHEN lambda_error_reason = 'LambdaResponseTooLarge' THEN 'lambda-response-too-large'
    WHEN lambda_error_reason = 'LambdaUnhandled' THEN 'lambda-unhandled'
    WHEN lambda_error_reason = 'LambdaThrottling' THEN 'lambda-throttled'
    WHEN lambda_error_reason = 'LambdaInvalidResponse' THEN 'lambda-invalid-response'
    WHEN lambda_error_reason LIKE 'Lambda%' THEN 'lambda-other'
    WHEN target_status_code = '502' THEN 'target-502'
    WHEN coalesce(target_ip, '') NOT IN ('', '-') AND target_status_code = '-'
         AND request_processing_time = -1 AND target_processing_time = -1
         AND response_processing_time = -1 THEN 'connect-failed'
    WHEN coalesce(target_ip, '') NOT IN ('', '-') AND target_status_code = '-'
         AND request_processing_time >= 0
         AND (target_processing_time = -1 OR response_processing_time = -1) THEN 'response-failed'
    ELSE 'elb-502-other'
  END = 'lambda-invalid-response'
ORDER BY time
