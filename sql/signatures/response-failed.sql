{#-
id: response-failed
title: The target closed the connection or sent an invalid response
source: load-balancer
evidence: >
  A target ip is logged, target_status_code is '-', the request was dispatched (request_processing_time
  >= 0) but no valid response came back (target or response processing time -1). Inferred, not
  documented field by field: the usual causes are a target keep-alive timeout shorter than the load
  balancer's idle timeout (the target closes a pooled connection while a request is on it), a target
  that crashes mid-request, and malformed response headers or headers over 32 KB.
metric: >
  No metric isolates it; HTTPCode_ELB_502_Count without a matching TargetConnectionErrorCount points
  here.
remediation: >
  Make the target's HTTP keep-alive timeout longer than the load balancer's idle_timeout.timeout_seconds
  (60 s unless changed): for example nginx keepalive_timeout 75s, Node.js server.keepAliveTimeout =
  65000, gunicorn --keep-alive 75. If the keep-alive is already longer, capture the responses on a target
  for the window (tcpdump -i any -s 0 -w response-failed.pcap 'tcp port <target port>') and look for a
  FIN or RST right after a request, or a malformed or oversized header block.
-#}
{%- from "_macros/alb.sql" import signature_rows -%}
SELECT time, elb, client_ip, target_ip, target_port, request_verb, request_url,
       request_processing_time, target_processing_time, response_processing_time, received_bytes,
       sent_bytes, target_group_arn, trace_id
FROM {{ table }}
{{ signature_rows('response-failed', window, elb) }}
