"""alb502athena: find the cause of ALB HTTP 502s from access logs, with Athena SQL."""

from __future__ import annotations

__version__ = "0.1.0"
