"""The `alb502` command line: a thin layer over the library (parse options, call, format, exit)."""
