WITH classified AS (
  SELECT
    type IS NULL AS unparsed,
    time >= date_format((date_trunc('minute', current_timestamp) - interval '${start_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s') AND time < date_format((date_trunc('minute', current_timestamp) - interval '${end_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s') AS in_window,
    CASE WHEN time >= date_format((date_trunc('minute', current_timestamp) - interval '${start_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s') AND time < date_format((date_trunc('minute', current_timestamp) - interval '${end_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s') AND elb_status_code = 502 THEN time END AS time_502,
    CASE WHEN time >= date_format((date_trunc('minute', current_timestamp) - interval '${start_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s') AND time < date_format((date_trunc('minute', current_timestamp) - interval '${end_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s') AND elb_status_code = 502 THEN CASE
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
  END END AS signature,
    CASE WHEN time >= date_format((date_trunc('minute', current_timestamp) - interval '${start_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s') AND time < date_format((date_trunc('minute', current_timestamp) - interval '${end_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s') AND elb_status_code = 502 THEN CASE WHEN coalesce(target_ip, '') NOT IN ('', '-') THEN concat(target_ip, ':', coalesce(CAST(target_port AS varchar), '')) END END AS target,
    CASE WHEN time >= date_format((date_trunc('minute', current_timestamp) - interval '${start_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s') AND time < date_format((date_trunc('minute', current_timestamp) - interval '${end_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s') AND elb_status_code = 502 THEN elb END AS load_balancer,
    CASE WHEN time >= date_format((date_trunc('minute', current_timestamp) - interval '${start_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s') AND time < date_format((date_trunc('minute', current_timestamp) - interval '${end_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s') AND elb_status_code = 502 THEN target_group_arn END AS target_group,
    CASE WHEN time >= date_format((date_trunc('minute', current_timestamp) - interval '${start_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s') AND time < date_format((date_trunc('minute', current_timestamp) - interval '${end_minutes}' minute) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%i:%s') AND elb_status_code = 502 THEN substr(time, 1, 16) END AS minute
  FROM ${database}.${table}
  WHERE day >= date_format((date_trunc('minute', current_timestamp) - interval '${start_minutes}' minute) AT TIME ZONE 'UTC', '%Y/%m/%d')
  AND (%{ if length(load_balancers) > 0 }%{ for i, f in setproduct(range(ceil(start_minutes / 1440) + 1), [for b in load_balancers : split("/", b)]) }%{ if i > 0 }
    OR %{ endif }"$path" >= concat('${log_root}/', date_format((current_timestamp - interval '${start_minutes}' minute + interval '${f[0]}' day) AT TIME ZONE 'UTC', '%Y/%m/%d'), '/', '${account}_elasticloadbalancing_${region}_app.${f[1][1]}.${f[1][2]}_', date_format(date_trunc('minute', (current_timestamp - interval '${start_minutes}' minute) AT TIME ZONE 'UTC'), '%Y%m%dT%H%iZ'))
     AND "$path" < concat('${log_root}/', date_format((current_timestamp - interval '${start_minutes}' minute + interval '${f[0]}' day) AT TIME ZONE 'UTC', '%Y/%m/%d'), '/', '${account}_elasticloadbalancing_${region}_app.${f[1][1]}.${f[1][2]}_', date_format(date_trunc('minute', (current_timestamp + interval '15' minute) AT TIME ZONE 'UTC') + interval '1' minute, '%Y%m%dT%H%iZ'))%{ endfor }%{ else }%{ for k in range(ceil(start_minutes / 1440) + 1) }%{ if k > 0 }
    OR %{ endif }"$path" >= concat('${log_root}/', date_format((current_timestamp - interval '${start_minutes}' minute + interval '${k}' day) AT TIME ZONE 'UTC', '%Y/%m/%d'), '/', '${account}_elasticloadbalancing_${region}_app.') AND "$path" < concat('${log_root}/', date_format((current_timestamp - interval '${start_minutes}' minute + interval '${k}' day) AT TIME ZONE 'UTC', '%Y/%m/%d'), '/', '${account}_elasticloadbalancing_${region}_app/')%{ endfor }%{ endif })
),
-- Lines that are not 502s collapse here into a few rows. The grouping sets below then copy a few
-- thousand rows once per set (Trino's GroupId copies its input that way) rather than every line.
grouped AS (
  SELECT
    signature,
    target,
    load_balancer,
    target_group,
    minute,
    count(*) AS lines,
    count_if(unparsed) AS unparsed_lines,
    count_if(in_window) AS requests,
    min(time_502) AS first_seen,
    max(time_502) AS last_seen
  FROM classified
  GROUP BY signature, target, load_balancer, target_group, minute
)
SELECT
  CASE grouping(signature, target, load_balancer, target_group, minute)
    WHEN 31 THEN 'total' WHEN 15 THEN 'signature' WHEN 7 THEN 'target' WHEN 14 THEN 'minute' ELSE 'source'
  END AS level,
  signature,
  target,
  load_balancer,
  target_group,
  minute,
  -- coalesce: over no rows at all, sum() is NULL where count() was 0.
  coalesce(sum(lines), 0) AS lines,
  coalesce(sum(unparsed_lines), 0) AS unparsed_lines,
  coalesce(sum(requests), 0) AS requests,
  coalesce(sum(CASE WHEN signature IS NOT NULL THEN lines END), 0) AS elb_502,
  min(first_seen) AS first_seen,
  max(last_seen) AS last_seen
FROM grouped
GROUP BY GROUPING SETS (
  (), (signature), (signature, target), (signature, load_balancer, target_group), (signature, minute)
)
