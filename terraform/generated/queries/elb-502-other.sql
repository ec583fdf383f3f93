SELECT time, elb, client_ip, target_ip, target_port, request_verb, request_url,
       request_processing_time, target_processing_time, response_processing_time, target_status_code,
       lambda_error_reason, actions_executed, target_group_arn, trace_id
FROM ${database}.${table}
WHERE day >= date_format((date_trunc('minute', current_timestamp) - interval '${start_minutes}' minute) AT TIME ZONE 'UTC', '%Y/%m/%d')
  AND (%{ if length(load_balancers) > 0 }%{ for i, f in setproduct(range(ceil(start_minutes / 1440) + 1), [for b in load_balancers : split("/", b)]) }%{ if i > 0 }
    OR %{ endif }"$path" >= concat('${log_root}/', date_format((current_timestamp - interval '${start_minutes}' minute + interval '${f[0]}' day) AT TIME ZONE 'UTC', '%Y/%m/%d'), '/', '${account}_elasticloadbalancing_${region}_app.${f[1][1]}.${f[1][2]}_', date_format(date_trunc('minute', (current_timestamp - interval '${start_minutes}' minute) AT TIME ZONE 'UTC'), '%Y%m%dT%H%iZ'))
     AND "$path" < concat('${log_root}/', date_format((current_timestamp - interval '${start_minutes}' minute + interval '${f[0]}' day) AT TIME ZONE 'UTC', '%Y/%m/%d'), '/', '${account}_elasticloadbalancing_${region}_app.${f[1][1]}.${f[1][2]}_', date_format(date_trunc('minute', (current_timestamp + interval '15' minute) AT TIME ZONE 'UTC') + interval '1' minute, '%Y%m%dT%H%iZ'))%{ endfor }%{ else }%{ for k in range(ceil(start_minutes / 1440) + 1) }%{ if k > 0 }
    OR %{ endif }"$path" >= concat('${log_root}/', date_format((current_timestamp - interval '${start_minutes}' minute + interval '${k}' day) AT TIME ZONE 'UTC', '%Y/%m/%d'), '/', '${account}_elasticloadbalancing_${region}_app.') AND "$path" < concat('${log_root}/', date_format((current_timestamp - interval '${start_minutes}' minute + interval '${k}' day) AT TIME ZONE 'UTC', '%Y/%m/%d'), '/', '${account}_elasticloadbalancing_${region}_app/')%{ endfor }%{ endif })
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
  END = 'elb-502-other'
ORDER BY time
