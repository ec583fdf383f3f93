data "aws_caller_identity" "current" {}

# The provider's region, read where provider 5.x and 6.x agree: aws_region's `name` is deprecated in
# 6.0 and its `id` in 6.47 (for `region`, which 5.x lacks); a service's `region` is the provider's
# unless set, in both. No API call.
data "aws_service" "athena" {
  service_id = "athena"
}

data "aws_partition" "current" {}

locals {
  # The log format and the queries come from the CLI (`alb502 sql --all --terraform generated`), which
  # renders them from sql/: the regex, the columns and the SQL are never typed a second time here.
  format   = jsondecode(file("${path.module}/generated/log_format.json"))
  manifest = jsondecode(file("${path.module}/generated/manifest.json"))

  account_id = coalesce(var.account_id, data.aws_caller_identity.current.account_id)
  region     = coalesce(var.region, data.aws_service.athena.region)

  # compact() drops an empty prefix, so there is never a double slash.
  log_root = join("/", compact([var.log_bucket, var.log_prefix, "AWSLogs", local.account_id, "elasticloadbalancing", local.region]))

  # What every generated query is filled with besides its window: the objects it may read are named
  # under the table's location (as Athena's "$path" writes it) by account, region and load balancer.
  query_scope = {
    database       = aws_glue_catalog_database.this.name
    table          = aws_glue_catalog_table.this.name
    log_root       = "s3://${local.log_root}"
    account        = local.account_id
    region         = local.region
    load_balancers = var.load_balancers
  }

  results_bucket = var.results_bucket.create ? aws_s3_bucket.results[0].bucket : var.results_bucket.name
}
