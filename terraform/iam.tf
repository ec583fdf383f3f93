# Least privilege for the scheduled queries: the scheduler may only start the state machine; the state
# machine may only run queries in this work group, read this table and these log objects, write results
# under results/ and publish to the alert topic. The log-delivery and X-Ray actions take no resource
# ARNs: AWS documents "*" for them.

locals {
  partition          = data.aws_partition.current.partition
  aws_account        = data.aws_caller_identity.current.account_id
  aws_region         = data.aws_service.athena.region
  log_bucket_arn     = "arn:${local.partition}:s3:::${var.log_bucket}"
  results_bucket_arn = "arn:${local.partition}:s3:::${local.results_bucket}"
  log_key_prefix     = trimprefix("${local.log_root}/", "${var.log_bucket}/")
}

data "aws_iam_policy_document" "scheduler_assume" {
  count = local.schedules_on ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.aws_account]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count = local.schedules_on ? 1 : 0

  name_prefix        = "alb502-scheduler-"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  count = local.schedules_on ? 1 : 0

  statement {
    sid       = "StartScheduledQuery"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.schedules[0].arn]
  }

  statement {
    sid       = "DeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.schedules_dlq[0].arn]
  }

  # With kms_key_arn the schedules' payloads and the dead-letter queue are encrypted with the key: the
  # scheduler decrypts the payload, and encrypts what it sends to the queue, as this role.
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "UseTheKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count = local.schedules_on ? 1 : 0

  name_prefix = "start-state-machine-"
  role        = aws_iam_role.scheduler[0].id
  policy      = data.aws_iam_policy_document.scheduler[0].json
}

data "aws_iam_policy_document" "state_machine_assume" {
  count = local.schedules_on ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.aws_account]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  count = local.schedules_on ? 1 : 0

  name_prefix        = "alb502-scheduled-query-"
  assume_role_policy = data.aws_iam_policy_document.state_machine_assume[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "state_machine" {
  count = local.schedules_on ? 1 : 0

  statement {
    sid = "RunQueriesInTheWorkGroup"
    actions = [
      "athena:StartQueryExecution",
      "athena:GetQueryExecution",
      "athena:GetQueryResults",
      "athena:StopQueryExecution",
    ]
    resources = [aws_athena_workgroup.this.arn]
  }

  statement {
    # The Step Functions Athena integration also reads the data catalog it queries through.
    sid       = "UseTheDataCatalog"
    actions   = ["athena:GetDataCatalog"]
    resources = ["arn:${local.partition}:athena:${local.aws_region}:${local.aws_account}:datacatalog/AwsDataCatalog"]
  }

  statement {
    sid     = "ReadTheTableDefinition"
    actions = ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"]
    resources = [
      "arn:${local.partition}:glue:${local.aws_region}:${local.aws_account}:catalog",
      "arn:${local.partition}:glue:${local.aws_region}:${local.aws_account}:database/${aws_glue_catalog_database.this.name}",
      "arn:${local.partition}:glue:${local.aws_region}:${local.aws_account}:table/${aws_glue_catalog_database.this.name}/${aws_glue_catalog_table.this.name}",
    ]
  }

  statement {
    sid       = "ReadTheLogs"
    actions   = ["s3:GetObject"]
    resources = ["${local.log_bucket_arn}/${local.log_key_prefix}*"]
  }

  statement {
    sid       = "ListTheLogs"
    actions   = ["s3:ListBucket"]
    resources = [local.log_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.log_key_prefix}*"]
    }
  }

  # GetBucketLocation carries no s3:prefix: under the condition above it would never be granted.
  statement {
    sid       = "LocateTheLogBucket"
    actions   = ["s3:GetBucketLocation"]
    resources = [local.log_bucket_arn]
  }

  # AWS's documented policy for Step Functions' Athena integration: reading a table whose location Lake
  # Formation governs needs temporary credentials from it; the action takes no resource ARN.
  statement {
    sid       = "LakeFormationData"
    actions   = ["lakeformation:GetDataAccess"]
    resources = ["*"]
  }

  statement {
    sid       = "WriteResults"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${local.results_bucket_arn}/results/*"]
  }

  statement {
    sid       = "ListResults"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
    resources = [local.results_bucket_arn]
  }

  statement {
    sid       = "Alert"
    actions   = ["sns:Publish"]
    resources = [local.topic_arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "UseTheKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }

  statement {
    sid = "DeliverLogsAndTraces"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
    ]
    resources = ["*"] # AWS documents no resource-level permissions for these actions
  }
}

resource "aws_iam_role_policy" "state_machine" {
  count = local.schedules_on ? 1 : 0

  name_prefix = "scheduled-query-"
  role        = aws_iam_role.state_machine[0].id
  policy      = data.aws_iam_policy_document.state_machine[0].json
}
