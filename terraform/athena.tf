resource "aws_athena_workgroup" "this" {
  name        = var.workgroup_name
  description = "alb502athena: ALB 502 diagnosis queries."
  state       = "ENABLED"
  tags        = var.tags
  # A work group that has run queries is "not empty": without the recursive delete, destroy fails.
  force_destroy = true

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${local.results_bucket}/results/"

      encryption_configuration {
        encryption_option = var.kms_key_arn == null ? "SSE_S3" : "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }
}

# One saved query per signature plus the diagnosis, over the last saved_query_window_hours before each
# run (stated in the description), so they run as they are from the console's Saved queries tab.
# Adding a signature to sql/ adds its query here with no change to this file.
locals {
  saved_sql = {
    for q in local.manifest.queries : q.id => templatefile("${path.module}/generated/${q.file}", merge(local.query_scope, {
      start_minutes = var.saved_query_window_hours * 60
      end_minutes   = 0
    }))
  }
  # The longest query text Athena takes (StartQueryExecution's and CreateNamedQuery's QueryString).
  athena_query_limit = 262144
}

resource "aws_athena_named_query" "this" {
  for_each = { for q in local.manifest.queries : q.id => q }

  name        = "alb502 ${each.key}"
  description = "${each.value.title} (the last ${var.saved_query_window_hours} h before each run)"
  database    = aws_glue_catalog_database.this.name
  workgroup   = aws_athena_workgroup.this.id
  query       = local.saved_sql[each.key]

  lifecycle {
    # The "$path" ranges repeat per day folder and load balancer: a long window over many load balancers
    # could exceed what Athena takes.
    precondition {
      condition     = length(local.saved_sql[each.key]) <= local.athena_query_limit
      error_message = "The saved query ${each.key} is ${length(local.saved_sql[each.key])} characters, more than Athena's ${local.athena_query_limit}: a shorter saved_query_window_hours or fewer load_balancers."
    }
  }
}
