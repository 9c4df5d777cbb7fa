"""Benchmarks of the customs chain against DuckDB, pandas and the I/O limit, plus Dagster backfills."""
