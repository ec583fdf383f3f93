output "workgroup_name" {
  description = "Athena work group to run the queries in (alb502 diagnose --engine athena --workgroup ...)."
  value       = aws_athena_workgroup.this.name
}

output "database_name" {
  description = "Glue database of the ALB log table (--database)."
  value       = aws_glue_catalog_database.this.name
}

output "table_name" {
  description = "The ALB log table (--table)."
  value       = aws_glue_catalog_table.this.name
}

output "log_location" {
  description = "S3 folder the table reads (its yyyy/mm/dd partitions are projected under it)."
  value       = "s3://${local.log_root}/"
}

output "results_bucket" {
  description = "Bucket holding the work group's query results."
  value       = local.results_bucket
}

output "named_query_ids" {
  description = "Saved query id by query (the diagnosis and each signature)."
  value       = { for id, q in aws_athena_named_query.this : id => q.id }
}

output "state_machine_arn" {
  description = "Step Functions state machine that runs the scheduled queries (null without schedules)."
  value       = try(aws_sfn_state_machine.schedules[0].arn, null)
}

output "alert_topic_arn" {
  description = "SNS topic the alerts go to (null without schedules)."
  value       = local.schedules_on ? local.topic_arn : null
}

output "schedule_arns" {
  description = "EventBridge Scheduler schedule ARN by schedule name."
  value       = { for name, s in aws_scheduler_schedule.this : name => s.arn }
}

output "cloudtrail_table_name" {
  description = "The CloudTrail table for `alb502 diagnose --cloudtrail-table` (null when not created)."
  value       = try(aws_glue_catalog_table.cloudtrail[0].name, null)
}
