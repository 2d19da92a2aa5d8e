"""One adapter from the engines' frames to the Arrow tables and batches the package reads.

The models take Arrow (`pa.Table`). A DuckDB relation, a Spark DataFrame, a pandas DataFrame, an Arrow
record batch reader or table all come in through `to_table` (everything at once) or `iter_batches`
(a DuckDB relation larger than memory streams through in batches). `sorted_by` and `selected` order and
pick columns inside the engine (DuckDB or Spark), before anything is fetched. Nothing here imports
pyspark or pandas: a frame is recognised by the module of its type.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa


def engine_of(frame: Any) -> str:
    """'arrow', 'duckdb', 'spark' or 'pandas': the kind of frame (TypeError for anything else)."""
    if isinstance(frame, pa.Table | pa.RecordBatch | pa.RecordBatchReader):
        return "arrow"
    module = type(frame).__module__
    if module.lstrip("_").startswith("duckdb"):
        return "duckdb"
    if module.startswith("pyspark"):
        return "spark"
    if module.startswith("pandas"):
        return "pandas"
    raise TypeError(
        f"cannot read a {type(frame).__module__}.{type(frame).__name__}: give an Arrow table, a DuckDB "
        "relation, a Spark DataFrame or a pandas DataFrame"
    )


def to_table(frame: Any) -> pa.Table:
    """The whole frame as one Arrow table (collected to this process for a Spark DataFrame)."""
    engine = engine_of(frame)
    if engine == "arrow":
        if isinstance(frame, pa.RecordBatchReader):
            return frame.read_all()
        return frame if isinstance(frame, pa.Table) else pa.Table.from_batches([frame])
    if engine == "duckdb":
        if hasattr(frame, "to_arrow_table"):  # DuckDB 1.4 and 2.x
            return frame.to_arrow_table()
        return frame.fetch_arrow_table()  # pragma: no cover - DuckDB releases before to_arrow_table
    if engine == "spark":
        # Spark 4 collects straight to Arrow; Spark 3.x through pandas (with Arrow enabled).
        return frame.toArrow() if hasattr(frame, "toArrow") else pa.Table.from_pandas(frame.toPandas())
    return pa.Table.from_pandas(frame, preserve_index=False)


def sorted_by(frame: Any, columns: str) -> Any:
    """The frame (DuckDB relation or Spark DataFrame) ordered by columns ("a, b"), still in its engine."""
    engine = _query_engine(frame)
    return frame.orderBy(*_names(columns)) if engine == "spark" else frame.order(columns)


def selected(frame: Any, columns: str) -> Any:
    """The frame's columns ("a, b") only, still in its engine (DuckDB relation or Spark DataFrame)."""
    engine = _query_engine(frame)
    return frame.select(*_names(columns)) if engine == "spark" else frame.select(columns)


def _query_engine(frame: Any) -> str:
    engine = engine_of(frame)
    if engine not in ("duckdb", "spark"):
        raise TypeError(
            f"ordering and selecting need a DuckDB relation or a Spark DataFrame, not {engine} data"
        )
    return engine


def _names(columns: str) -> list[str]:
    return [name.strip() for name in columns.split(",")]


def iter_batches(frame: Any, batch_size: int) -> Iterator[pa.Table]:
    """The frame in tables of at most batch_size rows, in the frame's order. A DuckDB relation streams
    (one batch in memory at a time); a Spark DataFrame is collected first, so on Spark score where the
    data lives instead (scoring.score_spark maps the model over the partitions)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    engine = engine_of(frame)
    if engine == "duckdb":
        reader = frame.fetch_arrow_reader(batch_size)
        yield from _rebatched((pa.Table.from_batches([batch]) for batch in reader), batch_size)
    else:
        table = to_table(frame)
        for start in range(0, table.num_rows, batch_size):
            yield table.slice(start, batch_size)


def _rebatched(tables: Iterator[pa.Table], batch_size: int) -> Iterator[pa.Table]:
    """Tables of exactly batch_size rows (the last one shorter) from tables of any size."""
    pending: list[pa.Table] = []
    held = 0
    for table in tables:
        pending.append(table)
        held += table.num_rows
        while held >= batch_size:
            whole = pa.concat_tables(pending)
            yield whole.slice(0, batch_size)
            rest = whole.slice(batch_size)
            pending, held = [rest], rest.num_rows
    if held:
        yield pa.concat_tables(pending)
