"""Warehouse I/O: DuckDB relations to Arrow, progress lines in the dbt log, the serving file for BI tools."""
