"""Scaling out: engine frames in (DuckDB, Spark, Arrow, pandas), batch scoring, data-parallel training."""
