data "aws_caller_identity" "current" {}

# `id` is the region's name in provider 5.x and 6.x alike; 6.x deprecates `name` for `region`, which
# 5.x lacks, so either of those would warn or fail on one of the two.
data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  # The log format and the queries come from the CLI (`alb502 sql --all --terraform generated`), which
  # renders them from sql/: the regex, the columns and the SQL are never typed a second time here.
  format   = jsondecode(file("${path.module}/generated/log_format.json"))
  manifest = jsondecode(file("${path.module}/generated/manifest.json"))

  account_id = coalesce(var.account_id, data.aws_caller_identity.current.account_id)
  region     = coalesce(var.region, data.aws_region.current.id)

  # compact() drops an empty prefix, so there is never a double slash.
  log_root = join("/", compact([var.log_bucket, var.log_prefix, "AWSLogs", local.account_id, "elasticloadbalancing", local.region]))

  results_bucket = var.results_bucket.create ? aws_s3_bucket.results[0].bucket : var.results_bucket.name
}
