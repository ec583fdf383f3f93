resource "aws_glue_catalog_database" "this" {
  name        = var.database_name
  description = "ALB access logs queried by alb502athena."
  tags        = var.tags
}

resource "aws_glue_catalog_table" "this" {
  name          = var.table_name
  database_name = aws_glue_catalog_database.this.name
  description   = "ALB access logs (every historical line shape), partition projection on day (delivery date)."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    "EXTERNAL"                     = "TRUE"
    "projection.enabled"           = "true"
    "projection.day.type"          = "date"
    "projection.day.format"        = local.format.partition.format
    "projection.day.range"         = "${var.projection_start},NOW"
    "projection.day.interval"      = "1"
    "projection.day.interval.unit" = "DAYS"
    "storage.location.template"    = "s3://${local.log_root}/$${day}"
  }

  partition_keys {
    name = local.format.partition.name
    type = local.format.partition.type
  }

  storage_descriptor {
    location      = "s3://${local.log_root}/"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.serde2.RegexSerDe"
      parameters = {
        "serialization.format" = "1"
        "input.regex"          = local.format.regex
      }
    }

    dynamic "columns" {
      for_each = local.format.columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}
