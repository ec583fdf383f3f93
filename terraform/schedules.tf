# Scheduled queries: EventBridge Scheduler starts a Step Functions execution, which runs the query in
# the work group (athena:startQueryExecution.sync: retried, results stay in the work group's output
# location), reads the 502 count, and publishes to SNS when it is above the schedule's threshold, or
# when the query failed. No Lambda to maintain; Step Functions keeps every run's history.

locals {
  queries_by_id = { for q in local.manifest.queries : q.id => q }
  schedules_on  = length(var.schedules) > 0
  topic_arn     = var.alert_topic_arn != null ? var.alert_topic_arn : try(aws_sns_topic.alerts[0].arn, null)

  # Each scheduled query counts its 502s in one row: the diagnosis' total, or the signature's rows.
  scheduled_sql = {
    for name, s in var.schedules : name => (
      s.query == "diagnosis"
      ? "SELECT elb_502 FROM (\n${local.rendered[s.query]}) WHERE level = 'total'"
      : "SELECT count(*) AS elb_502 FROM (\n${local.rendered[s.query]})"
    )
  }
  rendered = {
    for id, q in local.queries_by_id : id => templatefile("${path.module}/generated/${q.file}", {
      database = aws_glue_catalog_database.this.name
      table    = aws_glue_catalog_table.this.name
    })
  }
}

resource "aws_sns_topic" "alerts" {
  count = local.schedules_on && var.alert_topic_arn == null ? 1 : 0

  name_prefix       = "alb502-alerts-"
  kms_master_key_id = var.kms_key_arn != null ? var.kms_key_arn : "alias/aws/sns"
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  count = local.schedules_on && var.alert_topic_arn == null && var.alert_email != null ? 1 : 0

  topic_arn = aws_sns_topic.alerts[0].arn
  protocol  = "email"
  endpoint  = var.alert_email
}

resource "aws_cloudwatch_log_group" "schedules" {
  count = local.schedules_on ? 1 : 0

  name_prefix       = "/aws/vendedlogs/states/alb502-"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sfn_state_machine" "schedules" {
  count = local.schedules_on ? 1 : 0

  name_prefix = "alb502-scheduled-query-"
  role_arn    = aws_iam_role.state_machine[0].arn
  tags        = var.tags

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.schedules[0].arn}:*"
    include_execution_data = true
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  definition = jsonencode({
    Comment = "alb502athena: run one query, alert on too many HTTP 502s or on failure"
    StartAt = "Query"
    States = {
      Query = {
        Type     = "Task"
        Resource = "arn:${data.aws_partition.current.partition}:states:::athena:startQueryExecution.sync"
        Parameters = {
          "QueryString.$"       = "$.sql"
          WorkGroup             = aws_athena_workgroup.this.name
          QueryExecutionContext = { Database = aws_glue_catalog_database.this.name }
        }
        ResultPath = "$.execution"
        Retry = [{
          ErrorEquals     = ["Athena.TooManyRequestsException", "Athena.InternalServerException", "States.Timeout"]
          IntervalSeconds = 30
          MaxAttempts     = 3
          BackoffRate     = 2
        }]
        Catch = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "QueryFailed" }]
        Next  = "Results"
      }
      Results = {
        Type     = "Task"
        Resource = "arn:${data.aws_partition.current.partition}:states:::athena:getQueryResults"
        Parameters = {
          "QueryExecutionId.$" = "$.execution.QueryExecution.QueryExecutionId"
          MaxResults           = 2
        }
        ResultSelector = {
          "count.$" = "States.StringToJson($.ResultSet.Rows[1].Data[0].VarCharValue)"
        }
        ResultPath = "$.result"
        Catch      = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "QueryFailed" }]
        Next       = "TooMany"
      }
      TooMany = {
        Type = "Choice"
        Choices = [{
          Variable               = "$.result.count"
          NumericGreaterThanPath = "$.threshold"
          Next                   = "Alert"
        }]
        Default = "Done"
      }
      Alert = {
        Type     = "Task"
        Resource = "arn:${data.aws_partition.current.partition}:states:::sns:publish"
        Parameters = {
          TopicArn    = local.topic_arn
          "Subject.$" = "States.Format('alb502: {} HTTP 502 ({})', $.result.count, $.name)"
          "Message.$" = "States.Format('Scheduled query {} found {} HTTP 502 (threshold {}). Athena query {}. Next: alb502 diagnose --engine athena --database ${aws_glue_catalog_database.this.name} --workgroup ${aws_athena_workgroup.this.name} --last 1h', $.name, $.result.count, $.threshold, $.execution.QueryExecution.QueryExecutionId)"
        }
        End = true
      }
      QueryFailed = {
        Type     = "Task"
        Resource = "arn:${data.aws_partition.current.partition}:states:::sns:publish"
        Parameters = {
          TopicArn    = local.topic_arn
          "Subject.$" = "States.Format('alb502: scheduled query {} failed', $.name)"
          "Message.$" = "States.JsonToString($.error)"
        }
        Next = "Failed"
      }
      Failed = { Type = "Fail", Error = "ScheduledQueryFailed" }
      Done   = { Type = "Succeed" }
    }
  })
}

resource "aws_scheduler_schedule" "this" {
  #checkov:skip=CKV_AWS_297:The schedule's input is query text, not a secret; kms_key_arn is used when given.
  for_each = var.schedules

  kms_key_arn = var.kms_key_arn

  name_prefix                  = "alb502-${each.key}-"
  schedule_expression          = each.value.schedule_expression
  schedule_expression_timezone = each.value.timezone

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sfn_state_machine.schedules[0].arn
    role_arn = aws_iam_role.scheduler[0].arn
    input = jsonencode({
      name      = each.key
      sql       = local.scheduled_sql[each.key]
      threshold = each.value.threshold
    })

    retry_policy {
      maximum_retry_attempts = 3
    }
  }

  lifecycle {
    precondition {
      condition     = contains(keys(local.queries_by_id), each.value.query)
      error_message = "schedules.${each.key}.query must be `diagnosis` or a signature id (alb502 list)."
    }
  }
}
