{#-
id: connect-failed
title: The load balancer could not connect to the target
source: load-balancer
evidence: >
  A target ip is logged, target_status_code is '-' and all three processing times are -1: the
  connection to the target failed before the request was sent. AWS documents this for a TCP RST from
  the target; ICMP unreachable and a TLS handshake failure to an HTTPS target are inferred to look the
  same (a handshake timeout is a 504, not a 502).
metric: TargetConnectionErrorCount, or TargetTLSNegotiationErrorCount for HTTPS targets
remediation: >
  Check that the listed targets listen on the port (a process that crashed or is restarting answers
  with RST), that their security groups and network ACLs allow the load balancer's subnets on the
  target port, and for an HTTPS target group that the target's TLS versions and ciphers overlap the
  load balancer's backend policy. Capture on a target for the window:
  tcpdump -i any -w connect-failed.pcap 'tcp port <target port> and tcp[tcpflags] & (tcp-rst|tcp-syn) != 0'.
-#}
{%- from "_macros/alb.sql" import signature_rows -%}
SELECT time, elb, client_ip, target_ip, target_port, request_verb, request_url,
       request_processing_time, target_processing_time, response_processing_time, ssl_protocol,
       target_group_arn, trace_id
FROM {{ table }}
{{ signature_rows('connect-failed', window, elb) }}
