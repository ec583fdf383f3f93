# Every option of the module. Applying this creates resources that cost money (Athena scans, Step
# Functions transitions, SNS messages): read the cost model in the module's README first.

provider "aws" {
  region = "eu-west-1"
}

module "alb502" {
  source = "../.."

  log_bucket       = "my-alb-logs"
  log_prefix       = "prod"
  projection_start = "2024/01/01"
  # Each query reads only these load balancers' objects of its window (app/<name>/<id>, the end of the
  # ARN); leave it empty to read every load balancer's access logs of the account and region, whole days.
  load_balancers = ["app/shop-prod/50dc6c495c0c9188", "app/api-v2/0f1e2d3c4b5a6978"]

  database_name  = "alb502"
  table_name     = "alb_logs"
  workgroup_name = "alb502"

  results_bucket = {
    create          = true
    expiration_days = 14
  }
  bytes_scanned_cutoff     = 53687091200 # 50 GiB per query
  saved_query_window_hours = 24

  schedules = {
    hourly = {
      query               = "diagnosis"
      schedule_expression = "rate(1 hour)"
      threshold           = 50
    }
    connect-failed = {
      query               = "connect-failed"
      schedule_expression = "cron(0/15 * * * ? *)"
      interval_minutes    = 15 # a cron() expression does not say how much each run counts
      threshold           = 0
    }
  }
  alert_email           = "oncall@example.com"
  query_timeout_seconds = 1800

  tags = {
    team = "platform"
  }
}

output "workgroup" {
  description = "Run `alb502 diagnose --engine athena --workgroup <this>`."
  value       = module.alb502.workgroup_name
}

output "named_queries" {
  description = "Saved query ids in the Athena console."
  value       = module.alb502.named_query_ids
}

output "database" {
  description = "Glue database: `alb502 diagnose --database <this>`."
  value       = module.alb502.database_name
}

output "table" {
  description = "The ALB log table: `alb502 check-table --table <this>`."
  value       = module.alb502.table_name
}

output "state_machine_arn" {
  description = "The state machine that runs the scheduled queries (its executions are every run's history)."
  value       = module.alb502.state_machine_arn
}

output "alert_topic_arn" {
  description = "SNS topic of the alerts and of the failure alarms."
  value       = module.alb502.alert_topic_arn
}
