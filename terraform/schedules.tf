# Scheduled queries: EventBridge Scheduler starts a Step Functions execution, which runs the query in
# the work group (athena:startQueryExecution.sync: results stay in the work group's output location),
# reads the 502 count, and publishes to SNS when it is above the schedule's threshold, or when the query
# failed or returned no count. No Lambda to maintain; Step Functions keeps every run's history. What
# cannot alert through the state machine (a start the scheduler gave up on, an execution that failed,
# an alert SNS refused) is caught by the dead-letter queue and the two alarms below.

locals {
  queries_by_id = { for q in local.manifest.queries : q.id => q }
  schedules_on  = length(var.schedules) > 0
  topic_arn     = var.alert_topic_arn != null ? var.alert_topic_arn : try(aws_sns_topic.alerts[0].arn, null)

  # Each run counts one interval, ending the delivery lag before the run: ALB writes a file every five
  # minutes and delivers it a little late, so the lines of the last minutes are left to the next run,
  # which counts them then; consecutive runs count each line once.
  lag_minutes = local.manifest.delivery_lag_minutes
  rate_minutes = {
    for name, s in var.schedules : name => try(
      tonumber(regex("^rate\\(([0-9]+) minutes?\\)$", s.schedule_expression)[0]),
      tonumber(regex("^rate\\(([0-9]+) hours?\\)$", s.schedule_expression)[0]) * 60,
      tonumber(regex("^rate\\(([0-9]+) days?\\)$", s.schedule_expression)[0]) * 1440,
      null,
    )
  }
  interval_minutes = { for name, s in var.schedules : name => try(coalesce(s.interval_minutes, local.rate_minutes[name]), 0) }

  # One row and a number, whatever the window holds: an aggregate without GROUP BY always returns a
  # row, and coalesce() turns the diagnosis' absent total into 0. An unknown query renders as nothing
  # here, so the schedule's precondition below reports it.
  scheduled_sql = {
    for name, s in var.schedules : name => !contains(keys(local.queries_by_id), s.query) ? "" : (
      s.query == "diagnosis"
      ? "SELECT coalesce(sum(elb_502), 0) AS elb_502 FROM (\n${local.scheduled_rendered[name]}) WHERE level = 'total'"
      : "SELECT count(*) AS elb_502 FROM (\n${local.scheduled_rendered[name]})"
    )
  }
  scheduled_rendered = {
    for name, s in var.schedules : name => !contains(keys(local.queries_by_id), s.query) ? "" : templatefile(
      "${path.module}/generated/${local.queries_by_id[s.query].file}", merge(local.query_scope, {
        start_minutes = local.interval_minutes[name] + local.lag_minutes
        end_minutes   = local.lag_minutes
    }))
  }
}

resource "aws_sns_topic" "alerts" {
  #checkov:skip=CKV_AWS_26:Without kms_key_arn the topic is not encrypted: alerts carry counts and query ids, no log data, and CloudWatch alarms cannot publish to a topic under the AWS managed key.
  count = local.schedules_on && var.alert_topic_arn == null ? 1 : 0

  name_prefix       = "alb502-alerts-"
  kms_master_key_id = var.kms_key_arn
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
        # A query still running after this long is reported as failed (States.Timeout, caught below)
        # rather than run a second time.
        TimeoutSeconds = var.query_timeout_seconds
        Retry = [{
          ErrorEquals     = ["Athena.TooManyRequestsException", "Athena.InternalServerException"]
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
        # The rows as they are: a path into a missing row would be a States.Runtime error, which no
        # Catch handles. HasCount looks before Count reads.
        ResultSelector = { "rows.$" = "$.ResultSet.Rows" }
        ResultPath     = "$.result"
        Retry = [{
          ErrorEquals     = ["Athena.TooManyRequestsException", "Athena.InternalServerException"]
          IntervalSeconds = 5
          MaxAttempts     = 3
          BackoffRate     = 2
        }]
        Catch = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "QueryFailed" }]
        Next  = "HasCount"
      }
      HasCount = {
        Type = "Choice"
        Choices = [{
          Variable  = "$.result.rows[1].Data[0].VarCharValue"
          IsPresent = true
          Next      = "Count"
        }]
        Default = "NoCount"
      }
      Count = {
        Type       = "Pass"
        Parameters = { "value.$" = "States.StringToJson($.result.rows[1].Data[0].VarCharValue)" }
        ResultPath = "$.count"
        Next       = "IsNumber"
      }
      IsNumber = {
        Type = "Choice"
        Choices = [{
          Variable  = "$.count.value"
          IsNumeric = true
          Next      = "TooMany"
        }]
        Default = "NoCount"
      }
      NoCount = {
        Type = "Pass"
        Result = {
          Error = "NoCount"
          Cause = "The query returned no number of HTTP 502s."
        }
        ResultPath = "$.error"
        Next       = "QueryFailed"
      }
      TooMany = {
        Type = "Choice"
        Choices = [{
          Variable               = "$.count.value"
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
          "Subject.$" = "States.Format('alb502: {} HTTP 502 in {} min ({})', $.count.value, $.window_minutes, $.name)"
          "Message.$" = "States.Format('Scheduled query {} found {} HTTP 502 (threshold {}) in the {} minutes ending {} minutes before Athena query {} started. Next: alb502 diagnose --engine athena --database ${aws_glue_catalog_database.this.name} --workgroup ${aws_athena_workgroup.this.name} --last {}', $.name, $.count.value, $.threshold, $.window_minutes, $.lag_minutes, $.execution.QueryExecution.QueryExecutionId, $.last)"
        }
        Retry = [{ ErrorEquals = ["States.ALL"], IntervalSeconds = 10, MaxAttempts = 3, BackoffRate = 2 }]
        # An alert SNS refused fails the execution, which the failed-executions alarm reports.
        Catch = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.publish_error", Next = "AlertNotSent" }]
        End   = true
      }
      QueryFailed = {
        Type     = "Task"
        Resource = "arn:${data.aws_partition.current.partition}:states:::sns:publish"
        Parameters = {
          TopicArn    = local.topic_arn
          "Subject.$" = "States.Format('alb502: scheduled query {} failed', $.name)"
          "Message.$" = "States.JsonToString($.error)"
        }
        Retry = [{ ErrorEquals = ["States.ALL"], IntervalSeconds = 10, MaxAttempts = 3, BackoffRate = 2 }]
        Catch = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.publish_error", Next = "AlertNotSent" }]
        Next  = "Failed"
      }
      AlertNotSent = { Type = "Fail", Error = "AlertNotPublished", Cause = "SNS refused the alert; see the execution history." }
      Failed       = { Type = "Fail", Error = "ScheduledQueryFailed" }
      Done         = { Type = "Succeed" }
    }
  })

  # The role must be allowed to deliver logs before the state machine is created with logging on.
  depends_on = [aws_iam_role_policy.state_machine]
}

# Starts the scheduler gave up on (after its retries) land here instead of vanishing.
resource "aws_sqs_queue" "schedules_dlq" {
  count = local.schedules_on ? 1 : 0

  name_prefix               = "alb502-schedules-dlq-"
  message_retention_seconds = 1209600 # 14 days, SQS's longest
  sqs_managed_sse_enabled   = var.kms_key_arn == null ? true : null
  kms_master_key_id         = var.kms_key_arn
  tags                      = var.tags
}

# Separate names need a group of their own: schedule names (1-64 characters) are unique per group, and
# a name_prefix would be limited to 38 characters where the module allows schedule names of 40.
resource "aws_scheduler_schedule_group" "this" {
  count = local.schedules_on ? 1 : 0

  name_prefix = "alb502-"
  tags        = var.tags
}

resource "aws_scheduler_schedule" "this" {
  #checkov:skip=CKV_AWS_297:The schedule's input is query text, not a secret; kms_key_arn is used when given.
  for_each = var.schedules

  kms_key_arn = var.kms_key_arn

  name                         = each.key
  group_name                   = aws_scheduler_schedule_group.this[0].name
  schedule_expression          = each.value.schedule_expression
  schedule_expression_timezone = each.value.timezone

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sfn_state_machine.schedules[0].arn
    role_arn = aws_iam_role.scheduler[0].arn
    input = jsonencode({
      name           = each.key
      sql            = local.scheduled_sql[each.key]
      threshold      = each.value.threshold
      window_minutes = local.interval_minutes[each.key]
      lag_minutes    = local.lag_minutes
      last           = "${local.interval_minutes[each.key] + local.lag_minutes}m"
    })

    retry_policy {
      maximum_retry_attempts = 3
    }

    dead_letter_config {
      arn = aws_sqs_queue.schedules_dlq[0].arn
    }
  }

  lifecycle {
    precondition {
      condition     = contains(keys(local.queries_by_id), each.value.query)
      error_message = "schedules.${each.key}.query must be `diagnosis` or a signature id (alb502 list): ${jsonencode(keys(local.queries_by_id))}."
    }
    # The "$path" ranges repeat per day folder and load balancer: a long interval over many load
    # balancers could exceed what Athena takes, which would fail every run rather than the plan.
    precondition {
      condition     = length(local.scheduled_sql[each.key]) <= local.athena_query_limit
      error_message = "schedules.${each.key}: its query is ${length(local.scheduled_sql[each.key])} characters, more than Athena's ${local.athena_query_limit}: a shorter interval_minutes or fewer load_balancers."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "failed_executions" {
  count = local.schedules_on ? 1 : 0

  alarm_name          = "${aws_sfn_state_machine.schedules[0].name}-failed"
  alarm_description   = "A scheduled alb502 query's execution failed, timed out or was aborted: its alert may not have been sent (see the execution history)."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.schedules[0].arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  count = local.schedules_on ? 1 : 0

  alarm_name          = "${aws_sqs_queue.schedules_dlq[0].name}-not-empty"
  alarm_description   = "EventBridge Scheduler could not start a scheduled alb502 query (the messages are in the dead-letter queue)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.schedules_dlq[0].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.topic_arn]
  tags                = var.tags
}
