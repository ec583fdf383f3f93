{#-
id: athena-table
title: CREATE EXTERNAL TABLE for ALB access logs in Athena, with partition projection on `day`
description: >
  Columns, types and regex come from sql/log_format.yaml. The first 34 columns carry AWS's own names,
  so every query in this project also runs on a table created from the AWS documentation (if its regex
  parses your lines: `alb502 check-table` tells). `day` is the delivery date folder, a string.
parameters: [table, location, projection_start]
-#}
CREATE EXTERNAL TABLE IF NOT EXISTS {{ table }} (
{%- for c in columns %}
  {{ c.name }} {{ c.type }}{{ "," if not loop.last }}
{%- endfor %}
)
PARTITIONED BY (day string)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.RegexSerDe'
WITH SERDEPROPERTIES (
  'serialization.format' = '1',
  'input.regex' = {{ regex }}
)
LOCATION {{ location }}
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.day.type' = 'date',
  'projection.day.range' = {{ projection_range }},
  'projection.day.format' = 'yyyy/MM/dd',
  'projection.day.interval' = '1',
  'projection.day.interval.unit' = 'DAYS',
  'storage.location.template' = {{ location_template }}
)
