"""Engines run the catalogue's SQL text: DuckDB over local files (here), Athena and Trino later."""
