# The optional CloudTrail table, as AWS's Athena documentation defines it (CloudTrailInputFormat, JSON
# SerDe, partition projection on the delivery day), restricted to the columns the correlation reads and
# their neighbours. The correlation query (sql/correlations/deregistrations-cloudtrail.sql) joins it.

locals {
  cloudtrail_root = var.cloudtrail == null ? null : join("/", compact([
    var.cloudtrail.bucket, var.cloudtrail.prefix, "AWSLogs", local.account_id, "CloudTrail", local.region,
  ]))
}

resource "aws_glue_catalog_table" "cloudtrail" {
  count = var.cloudtrail == null ? 0 : 1

  name          = var.cloudtrail.table_name
  database_name = aws_glue_catalog_database.this.name
  description   = "CloudTrail management events, for the DeregisterTargets correlation of alb502athena."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    "EXTERNAL"                           = "TRUE"
    "projection.enabled"                 = "true"
    "projection.timestamp.type"          = "date"
    "projection.timestamp.format"        = "yyyy/MM/dd"
    "projection.timestamp.range"         = "${coalesce(var.cloudtrail.start, var.projection_start)},NOW"
    "projection.timestamp.interval"      = "1"
    "projection.timestamp.interval.unit" = "DAYS"
    "storage.location.template"          = "s3://${local.cloudtrail_root}/$${timestamp}"
  }

  partition_keys {
    name = "timestamp"
    type = "string"
  }

  storage_descriptor {
    location      = "s3://${local.cloudtrail_root}/"
    input_format  = "com.amazon.emr.cloudtrail.CloudTrailInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hive.hcatalog.data.JsonSerDe"
    }

    columns {
      name = "eventversion"
      type = "string"
    }
    columns {
      name = "useridentity"
      type = "struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,accesskeyid:string,username:string,sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>>>"
    }
    columns {
      name = "eventtime"
      type = "string"
    }
    columns {
      name = "eventsource"
      type = "string"
    }
    columns {
      name = "eventname"
      type = "string"
    }
    columns {
      name = "awsregion"
      type = "string"
    }
    columns {
      name = "sourceipaddress"
      type = "string"
    }
    columns {
      name = "useragent"
      type = "string"
    }
    columns {
      name = "errorcode"
      type = "string"
    }
    columns {
      name = "errormessage"
      type = "string"
    }
    columns {
      name = "requestparameters"
      type = "string"
    }
    columns {
      name = "responseelements"
      type = "string"
    }
    columns {
      name = "requestid"
      type = "string"
    }
    columns {
      name = "eventid"
      type = "string"
    }
    columns {
      name = "eventtype"
      type = "string"
    }
    columns {
      name = "recipientaccountid"
      type = "string"
    }
  }
}
