# The results bucket, when this module creates it: encrypted, private, TLS only, results expire.
resource "aws_s3_bucket" "results" {
  #checkov:skip=CKV_AWS_18:Query results are transient and reproducible; access logs would need a second bucket for no gain.
  #checkov:skip=CKV_AWS_21:Results expire after expiration_days; versioning would keep the expired ones.
  #checkov:skip=CKV_AWS_144:Query results are reproducible by running the query again; no replica is needed.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events about query results.
  count = var.results_bucket.create ? 1 : 0

  bucket_prefix = var.results_bucket.name == null ? "alb502-results-" : null
  bucket        = var.results_bucket.name
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "results" {
  count = var.results_bucket.create ? 1 : 0

  bucket                  = aws_s3_bucket.results[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "results" {
  count = var.results_bucket.create ? 1 : 0

  bucket = aws_s3_bucket.results[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "results" {
  count = var.results_bucket.create ? 1 : 0

  bucket = aws_s3_bucket.results[0].id

  rule {
    id     = "expire-query-results"
    status = "Enabled"

    filter {}

    expiration {
      days = var.results_bucket.expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "results_tls_only" {
  count = var.results_bucket.create ? 1 : 0

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.results[0].arn,
      "${aws_s3_bucket.results[0].arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "results" {
  count = var.results_bucket.create ? 1 : 0

  bucket = aws_s3_bucket.results[0].id
  policy = data.aws_iam_policy_document.results_tls_only[0].json
}
