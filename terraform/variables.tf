variable "log_bucket" {
  description = "Name of the S3 bucket the load balancer writes its access logs to."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.log_bucket))
    error_message = "log_bucket must be an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)."
  }
}

variable "log_prefix" {
  description = "Prefix set in the load balancer's access log attribute, without leading or trailing slash; empty for none."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^([A-Za-z0-9!_.*()-]+(/[A-Za-z0-9!_.*()-]+)*)?$", var.log_prefix))
    error_message = "log_prefix must not start or end with '/' nor contain '//' or characters S3 prefixes reject."
  }
}

variable "account_id" {
  description = "AWS account id in the log path (AWSLogs/<account>/...); null for the caller's account."
  type        = string
  default     = null

  validation {
    condition     = var.account_id == null || can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be 12 digits."
  }
}

variable "region" {
  description = "Region of the load balancer in the log path; null for the provider's region."
  type        = string
  default     = null

  validation {
    condition     = var.region == null || can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "load_balancers" {
  description = "Application Load Balancers whose access logs the saved and scheduled queries read, as app/<name>/<id> (the logs' `elb` field, the end of the load balancer's ARN): each run reads only the objects of these load balancers that may hold its window, so Athena scans (and bills) about the window's bytes. Empty: every ALB's access logs of the account and region, whole days (connection and health-check logs left out)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for lb in var.load_balancers : can(regex("^app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$", lb))])
    error_message = "Each load_balancers entry must be app/<name>/<16 hex id>, e.g. app/my-alb/50dc6c495c0c9188 (the last part of the load balancer's ARN)."
  }

  validation {
    condition     = length(distinct(var.load_balancers)) == length(var.load_balancers)
    error_message = "load_balancers must not name a load balancer twice."
  }
}

variable "projection_start" {
  description = "First day of logs (yyyy/MM/dd): the start of the `day` partition projection range, which ends at NOW."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{4}/[0-9]{2}/[0-9]{2}$", var.projection_start))
    error_message = "projection_start must be yyyy/MM/dd, e.g. 2024/01/01."
  }
}

variable "database_name" {
  description = "Glue database that holds the ALB log table."
  type        = string
  default     = "alb502"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,254}$", var.database_name))
    error_message = "database_name must be lowercase letters, digits and underscores."
  }
}

variable "table_name" {
  description = "Name of the ALB log table."
  type        = string
  default     = "alb_logs"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,254}$", var.table_name))
    error_message = "table_name must be lowercase letters, digits and underscores."
  }
}

variable "workgroup_name" {
  description = "Athena work group for the queries (created by this module)."
  type        = string
  default     = "alb502"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,128}$", var.workgroup_name))
    error_message = "workgroup_name must be 1-128 letters, digits, '.', '_' or '-'."
  }
}

variable "results_bucket" {
  description = "Where Athena writes results: create a bucket (create = true, name optional) or use an existing one (create = false, name required); results expire after expiration_days."
  type = object({
    create          = optional(bool, true)
    name            = optional(string)
    expiration_days = optional(number, 30)
  })
  default = {}

  validation {
    condition     = var.results_bucket.create || var.results_bucket.name != null
    error_message = "results_bucket.name is required when results_bucket.create is false."
  }

  validation {
    condition     = var.results_bucket.expiration_days >= 1
    error_message = "results_bucket.expiration_days must be at least 1."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key ARN for query results, the created results bucket and, with schedules, the schedules' payloads, their dead-letter queue, the alert topic and the state machine's log group; null for SSE-S3 and AWS managed encryption. The key policy must allow the CloudWatch Logs service principal (logs.<region>.amazonaws.com, kms:Encrypt*/Decrypt*/ReEncrypt*/GenerateDataKey*/Describe*, for the log group) and cloudwatch.amazonaws.com (kms:Decrypt and kms:GenerateDataKey*, so the failure alarms can publish to the topic); the module's roles get their key permissions from IAM."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "bytes_scanned_cutoff" {
  description = "Athena stops any query of the work group that scans more than this many bytes (minimum 10 MB)."
  type        = number
  default     = 107374182400

  validation {
    condition     = var.bytes_scanned_cutoff >= 10485760
    error_message = "bytes_scanned_cutoff must be at least 10485760 (10 MB), Athena's minimum."
  }
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}

variable "saved_query_window_hours" {
  description = "The saved queries (console, Saved queries tab) count the HTTP 502s of this many hours before each run; their descriptions say so."
  type        = number
  default     = 24

  validation {
    condition     = var.saved_query_window_hours >= 1 && var.saved_query_window_hours <= 8760 && floor(var.saved_query_window_hours) == var.saved_query_window_hours
    error_message = "saved_query_window_hours must be a whole number of hours from 1 to 8760."
  }
}

variable "schedules" {
  description = "Scheduled queries by name: query is `diagnosis` or a signature id, schedule_expression an EventBridge Scheduler expression (rate(1 hour), cron(0/15 * * * ? *)), and an alert goes out when the query finds more 502s than threshold. Each run counts the HTTP 502s of one interval (interval_minutes, or the rate() expression's), ending the log delivery lag (15 minutes) before the run, so consecutive runs count each line once: a cron() or at() schedule must give interval_minutes."
  type = map(object({
    query               = string
    schedule_expression = string
    threshold           = optional(number, 0)
    timezone            = optional(string, "UTC")
    interval_minutes    = optional(number)
  }))
  default = {}

  validation {
    condition     = alltrue([for s in values(var.schedules) : s.interval_minutes != null || can(regex("^rate\\([1-9][0-9]* (minutes?|hours?|days?)\\)$", s.schedule_expression))])
    error_message = "A cron() or at() schedule needs interval_minutes: the minutes between two runs, which each run counts."
  }

  validation {
    condition     = alltrue([for s in values(var.schedules) : s.interval_minutes == null || try(s.interval_minutes >= 1 && s.interval_minutes <= 44640 && floor(s.interval_minutes) == s.interval_minutes, false)])
    error_message = "Each interval_minutes must be a whole number of minutes from 1 to 44640 (31 days)."
  }

  validation {
    condition     = alltrue([for s in values(var.schedules) : can(regex("^(rate|cron|at)\\(.+\\)$", s.schedule_expression))])
    error_message = "Each schedule_expression must be rate(...), cron(...) or at(...)."
  }

  validation {
    condition     = alltrue([for s in values(var.schedules) : s.threshold >= 0])
    error_message = "Each threshold must be zero or more."
  }

  validation {
    condition     = alltrue([for k in keys(var.schedules) : can(regex("^[A-Za-z0-9_-]{1,40}$", k))])
    error_message = "Schedule names must be 1-40 letters, digits, '_' or '-'."
  }
}

variable "query_timeout_seconds" {
  description = "A scheduled query still running after this many seconds is stopped waiting for and reported as failed (an alert), not run again."
  type        = number
  default     = 1800

  validation {
    condition     = var.query_timeout_seconds >= 60 && floor(var.query_timeout_seconds) == var.query_timeout_seconds
    error_message = "query_timeout_seconds must be a whole number of seconds, at least 60."
  }
}

variable "alert_email" {
  description = "E-mail address subscribed to the alert topic this module creates (confirm the subscription mail); null for none."
  type        = string
  default     = null

  validation {
    condition     = var.alert_email == null || can(regex("^[^@ ]+@[^@ ]+\\.[^@ ]+$", var.alert_email))
    error_message = "alert_email must be an e-mail address."
  }
}

variable "alert_topic_arn" {
  description = "An existing SNS topic for alerts instead of the one this module creates; null to create one."
  type        = string
  default     = null

  validation {
    condition     = var.alert_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:", var.alert_topic_arn))
    error_message = "alert_topic_arn must be an SNS topic ARN."
  }
}

variable "log_retention_days" {
  description = "Retention of the scheduled queries' state machine logs, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ..., 365, ...)."
  }
}

variable "cloudtrail" {
  description = "Also create a CloudTrail table (AWS's Athena DDL, partition projection on timestamp) over the trail's bucket and prefix, for `alb502 diagnose --cloudtrail-table`; null for none."
  type = object({
    bucket     = string
    prefix     = optional(string, "")
    table_name = optional(string, "cloudtrail_logs")
    start      = optional(string)
  })
  default = null

  validation {
    condition     = var.cloudtrail == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.cloudtrail.bucket))
    error_message = "cloudtrail.bucket must be an S3 bucket name."
  }

  validation {
    condition     = var.cloudtrail == null || can(regex("^([A-Za-z0-9!_.*()-]+(/[A-Za-z0-9!_.*()-]+)*)?$", var.cloudtrail.prefix))
    error_message = "cloudtrail.prefix must not start or end with '/'."
  }
}
