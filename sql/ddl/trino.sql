{#-
id: trino-table
title: CREATE TABLE for ALB access logs in Trino's Hive connector, the twin of the Athena table
description: >
  Same columns, types and regex as ddl/athena.sql, in Trino's syntax: format 'REGEX' (Trino's reader
  mirrors Hive's RegexSerDe: full-line match, an all-NULL row for a line that does not match), `day` a
  varchar partition with date projection. Needs hive.partition-projection-enabled=true in the catalog.
parameters: [table, location, projection_start]
-#}
CREATE TABLE IF NOT EXISTS {{ table }} (
{%- for c in columns %}
  {{ c.name }} {{ c.type }},
{%- endfor %}
  day varchar WITH (
    partition_projection_type = 'date',
    partition_projection_format = 'yyyy/MM/dd',
    partition_projection_range = ARRAY[{{ projection_start }}, 'NOW'],
    partition_projection_interval = 1,
    partition_projection_interval_unit = 'DAYS'
  )
)
WITH (
  format = 'REGEX',
  regex = {{ regex }},
  external_location = {{ location }},
  partitioned_by = ARRAY['day'],
  partition_projection_enabled = true,
  partition_projection_location_template = {{ location_template }}
)
