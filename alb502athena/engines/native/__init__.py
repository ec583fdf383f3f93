"""The native reader: log files to Arrow record batches for DuckDB, without DuckDB's gzip or regex.

scan.py drives it (files in, record batches out, on worker threads); gzip.py decompresses with
libdeflate into buffers from pool.py; source.py streams files too big to hold whole; program.py
compiles sql/log_format.yaml into the tables that codegen.py turns into the parser's source, which
kernel.py compiles once per machine and loads from the cache. Nothing heavy is imported here: the
engine imports scan.py only when it reads with this reader.
"""
